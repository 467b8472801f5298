//! Work at normal process exit: `atexit(3)`.

/// `atexit(f)`: runs `f` when the process calls `exit(3)` (libtest's `main`
/// returning, or `std::process::exit`), in reverse order of registration;
/// never after `SIGKILL` or an abort. atexit(3).
#[doc(alias = "atexit")]
pub(crate) fn at_exit(f: extern "C" fn()) {
    // SAFETY: registers a plain `extern "C" fn()`, as atexit(3) requires;
    // what it may touch at exit is the caller's to keep sound (process-global
    // state only, no panic across the C boundary).
    unsafe { libc::atexit(f) };
}
