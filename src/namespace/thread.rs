//! Namespace threads: every namespace operation runs on a fresh thread that
//! enters the namespace and is then discarded, so no thread is ever left in
//! the wrong namespace (ARCHITECTURE.md 2.1).

use crate::error::{Error, Result};

/// Runs `f` on a new (scoped) thread named like the calling one, and returns
/// its result; a panic in `f` resumes here with its payload.
pub(crate) fn on_new_thread<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send,
    T: Send,
{
    std::thread::scope(|scope| {
        let handle = thread_builder()
            .spawn_scoped(scope, crate::context::inherit(f))
            .map_err(Error::Spawn)?;
        match handle.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

/// A builder for a namespace thread: named after the calling thread, which
/// under libtest is the test's name (what a panic message shows). Which
/// test the thread works for is not its name but its context: spawn
/// through [`crate::context::inherit`] (as [`on_new_thread`] does).
pub(crate) fn thread_builder() -> std::thread::Builder {
    let builder = std::thread::Builder::new();
    match std::thread::current().name() {
        Some(name) => builder.name(name.to_owned()),
        None => builder,
    }
}
