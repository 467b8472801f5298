//! The named namespaces this process created and still owns: what a handle
//! in a never-dropped `static` (a suite fixture) would otherwise leave in the
//! run directory. They are removed at normal process exit (`atexit(3)`) and
//! by the harness after its last test.

use std::path::PathBuf;

use crate::kernel;
use crate::namespace::remove::remove_named;

/// Named namespaces this process created and has not removed or kept:
/// what a handle in a never-dropped `static` (a suite fixture) would leave in
/// the run directory at exit.
static LIVE_NAMED: parking_lot::Mutex<Vec<(PathBuf, (u64, u64))>> =
    parking_lot::Mutex::new(Vec::new());

/// The process that registered the `atexit` handler: the one whose named
/// namespaces [`LIVE_NAMED`] lists.
static AT_EXIT_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Records the named namespace `id` at `path` as owned by this process.
pub(crate) fn add(path: PathBuf, id: (u64, u64)) {
    live_named(|live| live.push((path, id)));
}

/// Forgets `id` at `path`: removed or kept by its handle.
pub(crate) fn forget(path: &std::path::Path, id: (u64, u64)) {
    live_named(|live| live.retain(|(p, i)| !(p == path && *i == id)));
}

fn live_named<R>(f: impl FnOnce(&mut Vec<(PathBuf, (u64, u64))>) -> R) -> R {
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    AT_EXIT.call_once(|| {
        AT_EXIT_PID.store(std::process::id(), std::sync::atomic::Ordering::Relaxed);
        // The handler touches only process-global state.
        kernel::at_exit(remove_live_named_at_exit);
    });
    f(&mut LIVE_NAMED.lock())
}

extern "C" fn remove_live_named_at_exit() {
    // atexit handlers survive fork(2): a child that calls exit(3) (a forked
    // server in a test) must not remove its parent's namespaces.
    if AT_EXIT_PID.load(std::sync::atomic::Ordering::Relaxed) != std::process::id() {
        return;
    }
    remove_all();
}

/// Removes every named namespace this process still owns (see
/// [`LIVE_NAMED`]); runs at `exit` and after the harness's last test.
pub(crate) fn remove_all() {
    // At exit another thread may still be running; never wait on it forever.
    let Some(mut guard) = LIVE_NAMED.try_lock_for(std::time::Duration::from_secs(1)) else {
        return;
    };
    let live = std::mem::take(&mut *guard);
    drop(guard);
    for (path, id) in live {
        if let Err(e) = remove_named(&path, id) {
            // Not eprintln!: it panics on a closed stderr, and a panic in
            // the extern "C" atexit handler would abort the process.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "netns-test: removing network namespace {}: {e}",
                path.display()
            );
        }
    }
}
