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

/// Lines of one namespace's state in a failure message, at most, and of
/// all of them (a fixture's hosts).
const MAX_LINES: usize = 60;
const MAX_TOTAL_LINES: usize = 200;

/// What the dump read: each namespace's label and state (or why not).
type Dump = Vec<(String, Result<State, String>)>;

/// The fixture a test runs in, for its other hosts' state.
type FixtureRef = &'static dyn crate::testing::fixture::SuiteFixture;

#[derive(Clone, Copy)]
struct Settings {
    dump: bool,
    keep: bool,
}

fn settings() -> Settings {
    let settings = crate::settings::Settings::get();
    Settings {
        dump: settings.dump,
        keep: settings.keep == crate::settings::KeepMode::Failed,
    }
}

/// The test body running on this thread, while a dump is wanted.
struct Body {
    host: String,
    fixture: Option<FixtureRef>,
    /// What the panic hook read at the last panic.
    dump: Option<Dump>,
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
/// anonymous namespace, else the named namespace or the fixture's host;
/// a fixture's other hosts are dumped after it (not kept: other tests
/// share them).
pub(crate) fn run_body<R: TestReturn>(
    host: &str,
    fixture: Option<FixtureRef>,
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
                host: host.to_owned(),
                fixture,
                dump: None,
            })
        });
    }
    let _clear = Clear;
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => {
            let mut output = value.into_output();
            if R::failed(&output) {
                let dump = settings.dump.then(|| read_dump(host, fixture));
                let text = report(settings, host, fixture, dump);
                R::append_to_failure(&mut output, |_| Some(text));
            }
            output
        }
        Err(payload) => {
            let dump = settings.dump.then(|| {
                BODY.with(|b| b.borrow_mut().as_mut().and_then(|b| b.dump.take()))
                    .unwrap_or_else(|| read_dump(host, fixture))
            });
            // One write, so parallel tests' lines do not interleave;
            // eprint!, which libtest captures, not a write to io::stderr().
            eprint!("{}", report(settings, host, fixture, dump));
            resume_unwind(payload)
        }
    }
}

/// The calling thread's namespace's state, then (for a fixture's host)
/// each other host's, read from a thread of its own.
fn read_dump(host: &str, fixture: Option<FixtureRef>) -> Dump {
    let label = if host.is_empty() {
        "the test's".to_owned()
    } else {
        host.to_owned()
    };
    let mut dump = vec![(label, state_here().map_err(|e| e.to_string()))];
    for (other, ns) in fixture.and_then(|fx| fx.hosts().ok()).unwrap_or_default() {
        if other != host {
            dump.push((other, ns.state().map_err(|e| e.to_string())));
        }
    }
    dump
}

/// Keeps the namespace (the calling thread's) and returns the text for
/// the failure: the state, then where the namespace was kept.
fn report(
    settings: Settings,
    host: &str,
    fixture: Option<FixtureRef>,
    dump: Option<Dump>,
) -> String {
    let mut out = String::new();
    let mut room = MAX_TOTAL_LINES;
    for (label, state) in dump.unwrap_or_default() {
        match state {
            Ok(_) if room < 2 => {
                out.push_str(&format!(
                    "netns-test: state of {label} network namespace: left out (over \
                     {MAX_TOTAL_LINES} lines)\n"
                ));
            }
            Ok(state) => {
                out.push_str(&format!(
                    "netns-test: state of {label} network namespace:\n"
                ));
                let (text, lines) = state.bounded("  ", MAX_LINES.min(room));
                out.push_str(&text);
                room -= lines;
            }
            Err(e) => out.push_str(&format!("netns-test: no state of {label} namespace: {e}\n")),
        }
    }
    if settings.keep {
        out.push_str(&keep(host, fixture));
        out.push('\n');
    }
    out
}

/// Keeps the calling thread's namespace and, for a fixture's host, every
/// other host of the fixture (a veth is destroyed with either end's
/// namespace: a host kept alone would lose its links when the process
/// exits), and says how to enter them, or why they were not kept.
fn keep(host: &str, fixture: Option<FixtureRef>) -> String {
    let test = crate::context::current()
        .map(|ctx| ctx.file_name())
        .unwrap_or_else(|| "test".to_owned());
    if *Privilege::get() == Privilege::Rootless {
        return "netns-test: network namespace not kept (NETNS_TEST_KEEP=failed): in rootless \
                mode the run directory is private to this test process (its own mount \
                namespace), so nothing bound there outlives it"
            .to_owned();
    }
    let dir = RunDir::get();
    let mut kept = Vec::new();
    let mut failed = Vec::new();
    match keep_current(dir, &kept_name(&test, host)) {
        Ok(name) => kept.push(name),
        Err(e) => failed.push(e.to_string()),
    }
    for (other, ns) in fixture.and_then(|fx| fx.hosts().ok()).unwrap_or_default() {
        if other == host {
            continue;
        }
        let name = kept_name(&test, &other);
        match ns.run(|| keep_current(dir, &name)) {
            Ok(Ok(name)) => kept.push(name),
            Ok(Err(e)) | Err(e) => failed.push(format!("{other}: {e}")),
        }
    }
    let mut out = String::new();
    if let Some(first) = kept.first() {
        out.push_str(&format!(
            "netns-test: kept network namespace{} {}; enter with: ip netns exec {first} sh \
             (or: setns {first} sh); remove with: setns --sweep after this process exits (it \
             also removes the owner record that ip netns del leaves in {}/owners, as does the \
             next namespace netns-test creates), or: ip netns del {}",
            if kept.len() > 1 { "s" } else { "" },
            kept.join(", "),
            dir.coordination_dir().display(),
            kept.join(" && ip netns del "),
        ));
    }
    for why in failed {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("netns-test: network namespace not kept: {why}"));
    }
    out
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
                .try_with(|b| b.borrow().as_ref().map(|b| (b.host.clone(), b.fixture)))
                .ok()
                .flatten();
            if let Some((host, fixture)) = wanted {
                let dump = read_dump(&host, fixture);
                let _ = BODY.try_with(|b| {
                    if let Some(body) = b.borrow_mut().as_mut() {
                        body.dump = Some(dump);
                    }
                });
            }
        }));
    });
}
