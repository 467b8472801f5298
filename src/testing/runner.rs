//! The per-test runner that `#[netns_test]` expands to.
//!
//! Everything here is `#[doc(hidden)]` API for the macro: the expansion is a
//! single call to [`run_test`], so that all of the logic lives in ordinary Rust
//! that can be unit tested.

use std::fmt;

/// What the macro knows about the test at compile time.
#[doc(hidden)]
#[derive(Clone, Copy, Default)]
pub struct TestOptions {
    /// Which test this is (`module_path!()` and the function's name).
    pub test: Option<crate::context::TestId>,
    /// `name = "..."`: run in this named namespace (iproute2 run directory).
    pub name: Option<&'static str>,
    /// The test carries `#[should_panic]`.
    pub should_panic: bool,
    /// `fixture = PATH`: the suite fixture whose host the test runs in.
    pub fixture: Option<&'static dyn crate::testing::fixture::SuiteFixture>,
    /// `host = "..."`: the fixture's host to run in.
    pub host: Option<&'static str>,
    /// `exclusive`: no other test of the fixture runs meanwhile.
    pub exclusive: bool,
    /// `capture`: keep this test's capture, as `NETNS_TEST_CAPTURE=all`
    /// would (the `capture` feature).
    pub capture: bool,
    /// `seeds = N`: a seed sweep of N runs (`testing/sweep.rs`).
    pub seeds: Option<u32>,
    /// The fault seed of this run of a sweep (set by the sweep).
    pub seed: Option<u64>,
}

impl fmt::Debug for TestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestOptions")
            .field("test", &self.test)
            .field("name", &self.name)
            .field("should_panic", &self.should_panic)
            .field("fixture", &self.fixture.map(|fx| fx.fixture_name()))
            .field("host", &self.host)
            .field("exclusive", &self.exclusive)
            .field("capture", &self.capture)
            .field("seeds", &self.seeds)
            .field("seed", &self.seed)
            .finish()
    }
}

/// The error of a test whose body returned `Err(e)`: it holds `format!("{e:?}")`
/// and prints it verbatim, so libtest shows `Error: <e:?>` exactly as it would
/// for a plain `#[test]`. It exists because `E` itself need not be `Send`.
#[doc(hidden)]
pub struct TestFailure(pub String);

impl fmt::Debug for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Return types a `#[netns_test]` body may have: `()` and `Result<(), E>` with
/// `E: Debug`, as libtest's `Termination` allows for tests.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[netns_test]` functions must return `()` or `Result<(), E>` with `E: Debug`, not `{Self}`"
)]
pub trait TestReturn {
    /// What the generated `#[test]` function returns.
    type Output: Send + 'static;
    /// Converts the body's value on the namespace thread.
    fn into_output(self) -> Self::Output;
    /// The value for a test whose namespace could not be set up.
    fn setup_failed(err: crate::Error, opts: &TestOptions) -> Self::Output;
    /// Whether the output fails the test (a panic fails it too).
    fn failed(_output: &Self::Output) -> bool {
        false
    }
    /// Adds `text(failure)` (the tails of the test's process logs that the
    /// failure's text does not show yet) to a failure.
    fn append_to_failure(_output: &mut Self::Output, _text: impl FnOnce(&str) -> Option<String>) {}
}

impl TestReturn for () {
    type Output = ();

    fn into_output(self) {}

    #[track_caller]
    fn setup_failed(err: crate::Error, opts: &TestOptions) {
        if opts.should_panic {
            // A panic here would make a `#[should_panic]` test pass without
            // having run. Returning makes libtest fail it ("did not panic as
            // expected"); the reason goes to the captured output.
            eprintln!("netns-test: the test did not run: {err}");
        } else {
            panic!("netns-test: {err}");
        }
    }
}

impl<E: fmt::Debug> TestReturn for Result<(), E> {
    type Output = Result<(), TestFailure>;

    fn into_output(self) -> Self::Output {
        self.map_err(|e| TestFailure(format!("{e:?}")))
    }

    fn setup_failed(err: crate::Error, _: &TestOptions) -> Self::Output {
        Err(TestFailure(format!(
            "netns-test: the test did not run: {err}"
        )))
    }

    fn failed(output: &Self::Output) -> bool {
        output.is_err()
    }

    fn append_to_failure(output: &mut Self::Output, text: impl FnOnce(&str) -> Option<String>) {
        if let Err(failure) = output {
            if let Some(text) = text(&failure.0) {
                failure.0.push('\n');
                failure.0.push_str(text.trim_end());
            }
        }
    }
}

/// Runs a `#[netns_test]` body: on a fresh thread named after the test, in a
/// new anonymous network namespace with `lo` up, or in the named namespace
/// `opts.name` (created and removed around the test, or joined and left if
/// it already existed).
///
/// A panic in the body resumes on the calling (libtest) thread with its
/// payload, so `#[should_panic(expected = "...")]` sees the original message.
///
/// A failing test's output ends with the last lines of the logs of the
/// processes it (or its fixture's setup) spawned ([`crate::Netns::spawn`]):
/// printed to stderr before a panic resumes (libtest shows a failing test's
/// captured output), or appended to an `Err`'s text.
#[doc(hidden)]
#[track_caller]
pub fn run_test<R, F>(opts: TestOptions, f: F) -> R::Output
where
    R: TestReturn,
    F: FnOnce() -> R + Send + 'static,
{
    // A misspelt NETNS_TEST_* fails the test before it runs.
    if let Err(err) = crate::settings::Settings::get().check() {
        return R::setup_failed(err, &opts);
    }
    // The test's context: every thread that works for it finds it
    // (context/mod.rs), until the test is over.
    let id = opts
        .test
        .unwrap_or(crate::context::TestId::new("netns_test", "unnamed_test"));
    let running = crate::context::start_test(id, opts.seed);
    let dir_name = running.context().file_name();
    // One run's files in the test's directory: an earlier run's go.
    crate::process::clear_previous_run(&dir_name);
    // What the failure showed (its message and the log tails), for the
    // report page.
    let shown = std::cell::RefCell::new((String::new(), String::new()));
    let report = |message: &str| {
        let paused = crate::process::paused_report(running.context());
        let logs = crate::process::failure_report(
            &dir_name,
            opts.fixture.map(|fx| fx.fixture_name()),
            message,
        );
        let text = match (paused, logs) {
            (None, None) => None,
            (paused, logs) => Some(paused.unwrap_or_default() + &logs.unwrap_or_default()),
        };
        *shown.borrow_mut() = (message.to_owned(), text.clone().unwrap_or_default());
        text
    };
    // The report page, once the test is over (`testing/report/`).
    let page = |failed: bool, notes: &[String]| {
        let (message, logs) = &*shown.borrow();
        if let Some(line) =
            crate::testing::report::write(running.context(), failed, message, logs, notes)
        {
            eprintln!("{line}");
        }
        crate::process::remove_dir_if_empty(&dir_name);
    };
    #[cfg(not(feature = "wire"))]
    let notes: Vec<String> = Vec::new();
    // Capture and fault seeds (NETNS_TEST_CAPTURE): a failing test's output
    // says where its capture is and which seed to replay.
    #[cfg(feature = "wire")]
    let watch = crate::wire::TestWatch::start(running.context(), opts.capture);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match (opts.fixture, opts.name) {
            (Some(fixture), _) => run_in_fixture(fixture, &opts, f),
            (None, None) => run_anonymous(f, opts.should_panic),
            (None, Some(name)) => run_named(name, opts.should_panic, f),
        }
    }));
    match outcome.map(crate::privilege::explain) {
        Ok(Ok(mut output)) => {
            R::append_to_failure(&mut output, report);
            let failed = R::failed(&output);
            #[cfg(feature = "wire")]
            let notes = watch.finish(failed);
            page(failed, &notes);
            output
        }
        Ok(Err(err)) => {
            #[cfg(feature = "wire")]
            let notes = watch.finish(true);
            *shown.borrow_mut() = (err.to_string(), String::new());
            page(true, &notes);
            R::setup_failed(err, &opts)
        }
        Err(payload) => {
            if !opts.should_panic {
                let message = crate::testing::panic_message(&*payload).unwrap_or("");
                if let Some(text) = report(message) {
                    // eprint!, not a write to io::stderr(): libtest captures
                    // only the print! family, and shows a failing test's
                    // captured output.
                    eprint!("{text}");
                }
            }
            #[cfg(feature = "wire")]
            let notes = watch.finish(!opts.should_panic);
            if !opts.should_panic {
                page(true, &notes);
            } else {
                crate::process::remove_dir_if_empty(&dir_name);
            }
            std::panic::resume_unwind(payload)
        }
    }
}

/// The hot path: one thread, `unshare(CLONE_NEWNET)`, `lo` up, the body. The
/// namespace has no name and no fd: it goes away with the thread (and with
/// anything the body left in it), even if the process is killed.
fn run_anonymous<R, F>(f: F, should_panic: bool) -> crate::Result<R::Output>
where
    R: TestReturn,
    F: FnOnce() -> R + Send + 'static,
{
    crate::namespace::thread::on_new_thread(move || {
        crate::kernel::unshare_netns()?;
        crate::kernel::netlink::loopback_up()?;
        #[cfg(feature = "wire")]
        crate::wire::capture_here("");
        Ok(body::<R>("", None, should_panic, f))
    })
}

fn run_named<R, F>(name: &str, should_panic: bool, f: F) -> crate::Result<R::Output>
where
    R: TestReturn,
    F: FnOnce() -> R + Send + 'static,
{
    // Tests that name the same namespace take turns, in this process and
    // across processes (cargo-nextest runs one per test): NAME's lock, held
    // for the whole test. `Netns::create` takes it again (it is re-entrant
    // for this thread) and replaces a leftover of a killed run
    // (ARCHITECTURE.md 3.4, 4.11).
    let dir = crate::RunDir::get();
    let _turn = crate::namespace::name_lock::NameLock::acquire(dir, name)?;
    let ns = match crate::Netns::create(name) {
        Ok(created) => created,
        // Made by someone else (`ip netns add`, a live process): join it,
        // and leave it as it was found.
        Err(crate::Error::AlreadyExists { .. }) => open_existing(dir, name)?,
        Err(e) => return Err(e),
    };
    // `ns` drops after the body, pass or fail (a panic resumes after the
    // drop), removing the namespace (then its record) if it was created here.
    let label = ns.name().unwrap_or_default().to_owned();
    ns.run(move || {
        #[cfg(feature = "wire")]
        crate::wire::capture_here(&label);
        crate::namespace::crash_points::crash_point("body");
        body::<R>(&label, None, should_panic, f)
    })
}

/// Joins a namespace this process did not create. An empty placeholder is
/// never joined: with no owner record, nothing says whose it is.
fn open_existing(dir: &crate::RunDir, name: &str) -> crate::Result<crate::Netns> {
    match crate::Netns::open(name) {
        Err(crate::Error::NotNetns { path, found })
            if found.starts_with("an empty regular file")
                && crate::namespace::owner::read(dir, name)?.is_none() =>
        {
            Err(crate::Error::NotNetns {
                path,
                found: format!(
                    "{found} with no netns-test owner record, which netns-test neither joins \
                     nor removes"
                ),
            })
        }
        other => other,
    }
}

/// A test of a suite fixture: hold it (shared or exclusive), build it on
/// first use, run the body on a fresh thread in the host's namespace (or in a
/// fresh namespace of its own when no host is named).
fn run_in_fixture<R, F>(
    fixture: &'static dyn crate::testing::fixture::SuiteFixture,
    opts: &TestOptions,
    f: F,
) -> crate::Result<R::Output>
where
    R: TestReturn,
    F: FnOnce() -> R + Send + 'static,
{
    let _hold = fixture.hold(opts.exclusive)?;
    // Every host of the fixture, each link once, whoever built it.
    #[cfg(feature = "wire")]
    crate::wire::capture_fixture(|| fixture.hosts());
    match opts.host {
        Some(host) => fixture
            .host_netns(host)?
            // Bare: a failed body's namespace is kept from this thread, by
            // a bind mount that must reach the host's mount namespace.
            .run_bare(move || body::<R>(host, Some(fixture), opts.should_panic, f)),
        None => {
            fixture.build()?;
            run_anonymous(f, opts.should_panic)
        }
    }
}

/// `#[netns_test(capture)]` needs the `capture` feature: without it this
/// bound fails with a message that says so.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[netns_test(capture)]` needs the `capture` feature of netns-test",
    label = "the `capture` option",
    note = "in Cargo.toml: netns-test = {{ version = \"0.1\", features = [\"capture\"] }}"
)]
pub trait CaptureFeatureRequired {}

#[cfg(feature = "capture")]
impl CaptureFeatureRequired for () {}

/// What the `capture` option expands to: `true`, where the feature is on.
#[doc(hidden)]
pub fn capture_option_needs_the_feature<T: CaptureFeatureRequired>() -> bool {
    true
}

/// The body, on its thread in its namespace: a failure prints the
/// namespace's state and keeps it, as the environment asks
/// (`testing/failure.rs`).
fn body<R: TestReturn>(
    host: &str,
    fixture: Option<&'static dyn crate::testing::fixture::SuiteFixture>,
    should_panic: bool,
    f: impl FnOnce() -> R,
) -> R::Output {
    // Threads the body spawns start in this namespace: they are found by it.
    crate::context::body_runs_here();
    crate::testing::failure::run_body::<R>(host, fixture, should_panic, f)
}
