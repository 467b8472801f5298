//! What a failing `#[netns_test]` leaves for its author (README, "When a
//! test fails"): its namespace's state (`NETNS_TEST_DUMP`, on by default)
//! and, with `NETNS_TEST_KEEP=failed`, the namespace itself, kept in the
//! run directory; what the report page (`NETNS_TEST_REPORT`,
//! `testing/report/`) shows of the namespaces and networks is read with
//! the state, at the same moment.
//!
//! Both happen on the body's thread, inside the namespace, before that
//! thread ends (an anonymous namespace dies with its last thread). For a
//! panic, the state is read in a panic hook, before the unwind drops the
//! body's sockets and networks, and printed to stderr (which libtest
//! captures and shows for a failed test) when the panic leaves the body;
//! for an `Err`, both happen once the body has returned (its locals, so its
//! sockets, are gone then), and the text is appended to the error's. A passing test, a `#[should_panic]` test, and
//! every test with `NETNS_TEST_DUMP=0`, no `NETNS_TEST_KEEP` and no report
//! pay nothing but an environment read.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::context::TestContext;

use crate::namespace::keep::{keep_current, kept_name};
use crate::namespace::rundir::RunDir;
use crate::network::dump::{state_here, State};
use crate::privilege::Privilege;
use crate::testing::runner::TestReturn;
use crate::Netns;

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
    /// A report page may be written (`testing/report/`): the state is read
    /// for it even with the dump off.
    report: bool,
}

fn settings() -> Settings {
    let settings = crate::settings::Settings::get();
    Settings {
        dump: settings.dump,
        keep: settings.keep == crate::settings::KeepMode::Failed,
        report: crate::testing::report::wanted(),
    }
}

/// What the panic hook needs while a body runs with the dump on, kept in
/// the test's context: the hook runs on whichever thread panics first (a
/// `Netns::run` thread in one of the test's hosts, say), where that
/// thread's namespace, and the networks the body holds, are still there.
#[derive(Default)]
struct Watch {
    wanted: Mutex<Option<Wanted>>,
    /// Set while the hook reads: a panic on one of the threads it starts
    /// (a host's state, read in that host) must not read again.
    reading: std::sync::atomic::AtomicBool,
    /// What the hook read at the test's first panic.
    dump: Mutex<Option<Dump>>,
}

#[derive(Clone)]
struct Wanted {
    host: String,
    fixture: Option<FixtureRef>,
    /// The body's thread, whose namespace is the body's own (looked up
    /// only at a failure).
    body_thread: i32,
}

/// Clears the [`Watch`] when the body is over, however it ends.
struct Clear(Option<Arc<Watch>>);

impl Drop for Clear {
    fn drop(&mut self) {
        if let Some(watch) = &self.0 {
            watch.wanted.lock().take();
            watch.dump.lock().take();
        }
    }
}

/// Runs a test body on its (namespace) thread; if it fails, prints the
/// state of its namespaces and keeps its namespace, as the environment
/// asks. `host` names the namespace in the kept name: empty for a test's
/// own anonymous namespace, else the named namespace or the fixture's
/// host; a fixture's other hosts, and the hosts of every network the test
/// built that is still alive, are dumped too (not kept: other tests
/// share a fixture's; a network the body built is not kept).
pub(crate) fn run_body<R: TestReturn>(
    host: &str,
    fixture: Option<FixtureRef>,
    should_panic: bool,
    f: impl FnOnce() -> R,
) -> R::Output {
    let settings = settings();
    // A `#[should_panic]` test passes by panicking: nothing to report.
    if should_panic || !(settings.dump || settings.keep || settings.report) {
        return f().into_output();
    }
    let ctx = crate::context::own();
    let mut clear = Clear(None);
    let read = settings.dump || settings.report;
    if read {
        if let Some(ctx) = &ctx {
            install_panic_hook();
            let watch = ctx.state::<Watch>();
            *watch.wanted.lock() = Some(Wanted {
                host: host.to_owned(),
                fixture,
                body_thread: crate::kernel::thread_id(),
            });
            clear.0 = Some(watch);
        }
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => {
            let mut output = value.into_output();
            if R::failed(&output) {
                let dump = read.then(|| read_dump(host, fixture, ctx.as_deref()));
                let dump = for_report(settings, ctx.as_deref(), dump);
                let text = report(settings, host, fixture, dump);
                R::append_to_failure(&mut output, |_| Some(text));
            } else if crate::settings::Settings::get().report == crate::settings::ReportMode::All {
                let dump = Some(read_dump(host, fixture, ctx.as_deref()));
                for_report(settings, ctx.as_deref(), dump);
            }
            output
        }
        Err(payload) => {
            let dump = read.then(|| {
                clear
                    .0
                    .as_ref()
                    .and_then(|w| w.dump.lock().take())
                    .unwrap_or_else(|| read_dump(host, fixture, ctx.as_deref()))
            });
            let dump = for_report(settings, ctx.as_deref(), dump);
            // One write, so parallel tests' lines do not interleave;
            // eprint!, which libtest captures, not a write to io::stderr().
            eprint!("{}", report(settings, host, fixture, dump));
            resume_unwind(payload)
        }
    }
}

/// Hands the state read (`dump`) and the networks' counters, read now,
/// to the report page if one may be written; returns the dump if the
/// failure prints it (`NETNS_TEST_DUMP`).
fn for_report(settings: Settings, ctx: Option<&TestContext>, dump: Option<Dump>) -> Option<Dump> {
    if let (true, Some(ctx), Some(dump)) = (settings.report, ctx, &dump) {
        let states = dump.iter().map(|(label, state)| {
            let text = match state {
                Ok(state) => state.to_string(),
                Err(e) => format!("no state: {e}"),
            };
            (label.clone(), text)
        });
        crate::testing::report::snapshot(ctx, states.collect());
    }
    dump.filter(|_| settings.dump)
}

/// The calling thread's namespace's state, then each other namespace of
/// the test's: a fixture's other hosts, and the hosts of every live network
/// the test built, each once, read from a thread of its own.
fn read_dump(host: &str, fixture: Option<FixtureRef>, ctx: Option<&TestContext>) -> Dump {
    let label = if host.is_empty() {
        "the test's".to_owned()
    } else {
        host.to_owned()
    };
    let wanted = Wanted {
        host: host.to_owned(),
        fixture,
        body_thread: crate::kernel::thread_id(),
    };
    dump_from_here(&wanted, Some(label), ctx)
}

/// The state of the calling thread's namespace first (`label`, or the name
/// of the host it is, found by its inode), then the others of the test's.
fn dump_from_here(wanted: &Wanted, label: Option<String>, ctx: Option<&TestContext>) -> Dump {
    let here = crate::kernel::thread_netns_inode();
    let body_netns = crate::kernel::task_netns_inode(wanted.body_thread);
    let mut others: Vec<(String, &Netns)> = Vec::new();
    let fixture_hosts = wanted
        .fixture
        .and_then(|fx| fx.hosts().ok())
        .unwrap_or_default();
    for (name, ns) in &fixture_hosts {
        others.push((name.clone(), ns));
    }
    let mut dump = Vec::new();
    let mut run = |others: &[(String, &Netns)]| {
        let named_here = others
            .iter()
            .find(|(_, ns)| Some(ns.inode()) == here)
            .map(|(name, _)| name.clone());
        let label = match named_here {
            Some(name) => name,
            None if here == body_netns => label.clone().unwrap_or_else(|| {
                if wanted.host.is_empty() {
                    "the test's".to_owned()
                } else {
                    wanted.host.clone()
                }
            }),
            None => "the panicking thread's".to_owned(),
        };
        dump.push((label, state_here().map_err(|e| e.to_string())));
        let mut seen = vec![here];
        for (name, ns) in others {
            if seen.contains(&Some(ns.inode())) {
                continue;
            }
            seen.push(Some(ns.inode()));
            dump.push((name.clone(), ns.state().map_err(|e| e.to_string())));
        }
    };
    match ctx {
        Some(ctx) => crate::network::registered::with_hosts(ctx, |hosts| {
            let mut all = others.clone();
            all.extend(hosts.iter().map(|(name, ns)| ((*name).to_owned(), *ns)));
            run(&all)
        }),
        None => run(&others),
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
        match ns.run_bare(|| keep_current(dir, &name)) {
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

/// A panic hook, installed once, in front of the one before it: on a
/// thread that works for a test whose body runs with the dump on, reads
/// the state at the test's first panic, on the panicking thread (its
/// namespace first: the host where the panic happened), before the unwind
/// drops what the body holds (its listening sockets, its networks).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let Some(ctx) = crate::context::own() else {
                return;
            };
            let Some(watch) = ctx.state_if::<Watch>() else {
                return;
            };
            let Some(wanted) = watch.wanted.lock().clone() else {
                return;
            };
            if watch.dump.lock().is_some() || watch.reading.swap(true, Ordering::AcqRel) {
                return; // a later panic (the body's, re-raising): keep the first
            }
            let dump = dump_from_here(&wanted, None, Some(&ctx));
            // The report's view of the networks is read here too, before
            // the unwind drops them.
            let dump = for_report(settings(), Some(&ctx), Some(dump)).unwrap_or_default();
            watch.dump.lock().get_or_insert(dump);
            watch.reading.store(false, Ordering::Release);
        }));
    });
}
