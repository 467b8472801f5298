//! The teardown of suite fixtures: each built fixture's value is dropped
//! once per process, after the last test that can use it (README, "Fixtures
//! tear down what they hold").

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// What the teardown needs of a built fixture, whatever its value type.
pub(super) trait Teardown: Sync {
    /// Drops the value, once; a second call does nothing.
    fn teardown(&self);
}

/// How long the teardown of all fixtures may take (each spawned process gets
/// its grace period, `DEFAULT_GRACE`): after that, exit goes on without it;
/// spawned processes still die with the process (`PR_SET_PDEATHSIG`).
const TEARDOWN_LIMIT: Duration = Duration::from_secs(30);

/// Fixtures built in this process, in build order.
static BUILT: parking_lot::Mutex<Vec<&'static dyn Teardown>> = parking_lot::Mutex::new(Vec::new());

/// The process that registered the `atexit` teardown (a forked child that
/// calls `exit` must not tear down its parent's fixtures).
static AT_EXIT_PID: AtomicU32 = AtomicU32::new(0);

pub(super) fn register_teardown(fixture: &'static dyn Teardown) {
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    AT_EXIT.call_once(|| {
        AT_EXIT_PID.store(std::process::id(), Ordering::Relaxed);
        crate::kernel::at_exit(teardown_at_exit);
    });
    BUILT.lock().push(fixture);
}

extern "C" fn teardown_at_exit() {
    if AT_EXIT_PID.load(Ordering::Relaxed) != std::process::id() {
        return;
    }
    // A panic must not cross the C boundary (it would abort the process).
    let _ = std::panic::catch_unwind(teardown_all);
}

/// Tears down every suite fixture built in this process, newest first: drops
/// its value (stopping the processes it holds, removing its named
/// namespaces), then removes what is left in the run directory. Called by the
/// harness after the last test, and at normal exit (`atexit`) under libtest
/// and nextest, where libtest's test threads are done by the time `main` has
/// returned. Each value is dropped once; the whole teardown runs on a thread
/// of its own and is waited for at most [`TEARDOWN_LIMIT`], so a value whose
/// drop blocks (a runtime waiting for a stuck task) cannot hang the exit.
pub(crate) fn teardown_all() {
    let fixtures: Vec<&'static dyn Teardown> = BUILT.lock().drain(..).rev().collect();
    if !fixtures.is_empty() {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("netns-test-teardown".to_owned())
            .spawn(move || {
                for fixture in fixtures {
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| fixture.teardown()));
                }
                let _ = done.send(());
            });
        match spawned {
            Ok(_) => {
                if finished.recv_timeout(TEARDOWN_LIMIT).is_err() {
                    say(&format!(
                        "netns-test: tearing down suite fixtures took more than \
                         {TEARDOWN_LIMIT:?}; going on without waiting"
                    ));
                }
            }
            Err(e) => say(&format!("netns-test: tearing down suite fixtures: {e}")),
        }
    }
    crate::namespace::registry::remove_all();
}

/// A line on stderr that cannot panic (stderr may be closed at exit).
pub(super) fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
