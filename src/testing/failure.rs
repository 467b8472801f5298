//! What a failing `#[netns_test]` leaves for its author (README, "When a
//! test fails"): its namespace's state (`NETNS_TEST_DUMP`, on by default)
//! and, with `NETNS_TEST_KEEP=failed`, the namespace itself, kept in the
//! run directory.
//!
//! Both happen on the body's thread, inside the namespace, before that
//! thread ends (an anonymous namespace dies with its last thread). For a
//! panic, the state is read in a panic hook, before the unwind drops the
//! body's sockets and networks, and printed to stderr (which libtest
//! captures and shows for a failed test) when the panic leaves the body;
//! for an `Err`, both happen once the body has returned (its locals, so its
//! sockets, are gone then), and the text is appended to the error's. A passing test, a `#[should_panic]` test, and
//! every test with `NETNS_TEST_DUMP=0` and no `NETNS_TEST_KEEP` pay nothing
//! but an environment read.

use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::namespace::keep::{keep_current, kept_name};
use crate::namespace::rundir::RunDir;
use crate::network::dump::{state_here, State};
use crate::privilege::Privilege;
use crate::testing::runner::TestReturn;

/// `NETNS_TEST_DUMP=0` (or `off`, `false`, `no`): no state on failure.
pub(crate) const DUMP_ENV: &str = "NETNS_TEST_DUMP";
/// `NETNS_TEST_KEEP=failed`: keep a failed test's namespace.
pub(crate) const KEEP_ENV: &str = "NETNS_TEST_KEEP";

/// Lines of one namespace's state in a failure message, at most.
const MAX_LINES: usize = 60;

#[derive(Clone, Copy)]
struct Settings {
    dump: bool,
    keep: bool,
}

fn settings() -> Settings {
    let dump = !matches!(
        std::env::var(DUMP_ENV).as_deref().map(str::trim),
        Ok("0" | "off" | "false" | "no")
    );
    let keep = matches!(
        std::env::var(KEEP_ENV).as_deref().map(str::trim),
        Ok("failed")
    );
    Settings { dump, keep }
}

/// The test body running on this thread, while a dump is wanted.
struct Body {
    dump: bool,
    /// The state read by the panic hook at the last panic.
    state: Option<Result<State, String>>,
}

thread_local! {
    static BODY: RefCell<Option<Body>> = const { RefCell::new(None) };
}

/// Clears [`BODY`] when the body is over, however it ends.
struct Clear;

impl Drop for Clear {
    fn drop(&mut self) {
        let _ = BODY.try_with(|b| b.borrow_mut().take());
    }
}

/// Runs a test body on its (namespace) thread; if it fails, prints its
/// namespace's state and keeps the namespace, as the environment asks.
/// `host` names the namespace in the kept name: empty for a test's own
/// anonymous namespace, else the named namespace or the fixture's host.
pub(crate) fn run_body<R: TestReturn>(
    host: &str,
    should_panic: bool,
    f: impl FnOnce() -> R,
) -> R::Output {
    let settings = settings();
    // A `#[should_panic]` test passes by panicking: nothing to report.
    if should_panic || !(settings.dump || settings.keep) {
        return f().into_output();
    }
    if settings.dump {
        install_panic_hook();
        BODY.with(|b| {
            *b.borrow_mut() = Some(Body {
                dump: true,
                state: None,
            })
        });
    }
    let _clear = Clear;
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => {
            let mut output = value.into_output();
            if R::failed(&output) {
                let state = settings.dump.then(read_state);
                let text = report(settings, host, state);
                R::append_to_failure(&mut output, || Some(text));
            }
            output
        }
        Err(payload) => {
            let state = settings.dump.then(|| {
                BODY.with(|b| b.borrow_mut().as_mut().and_then(|b| b.state.take()))
                    .unwrap_or_else(read_state)
            });
            // One write, so parallel tests' lines do not interleave;
            // eprint!, which libtest captures, not a write to io::stderr().
            eprint!("{}", report(settings, host, state));
            resume_unwind(payload)
        }
    }
}

fn read_state() -> Result<State, String> {
    state_here().map_err(|e| e.to_string())
}

/// Keeps the namespace (the calling thread's) and returns the text for
/// the failure: the state, then where the namespace was kept.
fn report(settings: Settings, host: &str, state: Option<Result<State, String>>) -> String {
    let mut out = String::new();
    if let Some(state) = state {
        let label = if host.is_empty() { "the test's" } else { host };
        match state {
            Ok(state) => {
                out.push_str(&format!(
                    "netns-test: state of {label} network namespace:\n"
                ));
                out.push_str(&state.bounded("  ", MAX_LINES).0);
            }
            Err(e) => out.push_str(&format!("netns-test: no state of {label} namespace: {e}\n")),
        }
    }
    if settings.keep {
        out.push_str(&keep(host));
        out.push('\n');
    }
    out
}

/// Keeps the calling thread's namespace and says how to enter it, or why
/// it was not kept.
fn keep(host: &str) -> String {
    let test = std::thread::current().name().unwrap_or("test").to_owned();
    if *Privilege::get() == Privilege::Rootless {
        return "netns-test: network namespace not kept (NETNS_TEST_KEEP=failed): in rootless \
                mode the run directory is private to this test process (its own mount \
                namespace), so nothing bound there outlives it"
            .to_owned();
    }
    match keep_current(RunDir::get(), &kept_name(&test, host)) {
        Ok(name) => format!(
            "netns-test: kept network namespace {name}; enter with: ip netns exec {name} sh \
             (or: setns {name} sh); remove with: setns --sweep (after this process exits) or \
             ip netns del {name}"
        ),
        Err(e) => format!("netns-test: network namespace not kept: {e}"),
    }
}

/// A panic hook, installed once, in front of the one before it: on a test
/// body's thread, reads the namespace's state at the panic, before the
/// unwind drops what the body holds (its listening sockets).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let wanted = BODY
                .try_with(|b| b.borrow().as_ref().is_some_and(|b| b.dump))
                .unwrap_or(false);
            if wanted {
                let state = read_state();
                let _ = BODY.try_with(|b| {
                    if let Some(body) = b.borrow_mut().as_mut() {
                        body.state = Some(state);
                    }
                });
            }
        }));
    });
}
