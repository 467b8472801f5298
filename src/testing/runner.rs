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
}

impl fmt::Debug for TestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestOptions")
            .field("name", &self.name)
            .field("should_panic", &self.should_panic)
            .field("fixture", &self.fixture.map(|fx| fx.fixture_name()))
            .field("host", &self.host)
            .field("exclusive", &self.exclusive)
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
    /// Adds `text()` (the tails of the test's process logs) to a failure.
    fn append_to_failure(_output: &mut Self::Output, _text: impl FnOnce() -> Option<String>) {}
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

    fn append_to_failure(output: &mut Self::Output, text: impl FnOnce() -> Option<String>) {
        if let Err(failure) = output {
            if let Some(text) = text() {
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
    let test = std::thread::current().name().unwrap_or("").to_owned();
    let _running = crate::process::running(test.clone());
    let report = || crate::process::failure_report(&test, opts.fixture.map(|fx| fx.fixture_name()));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match (opts.fixture, opts.name) {
            (Some(fixture), _) => run_in_fixture(fixture, &opts, f),
            (None, None) => run_anonymous(f),
            (None, Some(name)) => run_named(name, f),
        }
    }));
    match outcome.map(crate::privilege::explain) {
        Ok(Ok(mut output)) => {
            R::append_to_failure(&mut output, report);
            output
        }
        Ok(Err(err)) => R::setup_failed(err, &opts),
        Err(payload) => {
            if !opts.should_panic {
                if let Some(text) = report() {
                    // eprint!, not a write to io::stderr(): libtest captures
                    // only the print! family, and shows a failing test's
                    // captured output.
                    eprint!("{text}");
                }
            }
            std::panic::resume_unwind(payload)
        }
    }
}

/// The hot path: one thread, `unshare(CLONE_NEWNET)`, `lo` up, the body. The
/// namespace has no name and no fd: it goes away with the thread (and with
/// anything the body left in it), even if the process is killed.
fn run_anonymous<R, F>(f: F) -> crate::Result<R::Output>
where
    R: TestReturn,
    F: FnOnce() -> R + Send + 'static,
{
    crate::namespace::thread::on_new_thread(move || {
        crate::kernel::unshare_netns()?;
        crate::kernel::netlink::loopback_up()?;
        Ok(f().into_output())
    })
}

fn run_named<R, F>(name: &str, f: F) -> crate::Result<R::Output>
where
    R: TestReturn,
    F: FnOnce() -> R + Send + 'static,
{
    // Tests that name the same namespace take turns: in this process (a
    // mutex), and across processes (cargo-nextest runs one per test) with a
    // flock, which also keeps a process from opening a placeholder another
    // has created but not mounted yet.
    let lock = name_lock(name);
    let _turn = lock.lock();
    let _turn_across_processes = owner::lock(name)?;
    let ns = match create_owned(name) {
        Ok(owned) => owned,
        Err(crate::Error::AlreadyExists { .. }) if owner::is_dead(name) => {
            // Left by a test process that was killed before it could remove
            // it (ARCHITECTURE.md 4.11): remove it, then create it anew.
            remove_leftover(name)?;
            owner::forget(name);
            create_owned(name)?
        }
        // Made by someone else (`ip netns add`, another process): join it,
        // and leave it as it was found.
        Err(crate::Error::AlreadyExists { .. }) => Owned {
            ns: Some(crate::Netns::open(name)?),
            owner: None,
        },
        Err(e) => return Err(e),
    };
    // `ns` drops after the body, pass or fail (a panic resumes after the
    // drop), removing the namespace if it was created here.
    ns.run(f)
}

/// Removes a killed run's `name`: a mounted namespace, or the bare
/// placeholder of a run killed between creating it and mounting onto it.
fn remove_leftover(name: &str) -> crate::Result<()> {
    match crate::Netns::open(name) {
        Ok(ns) => ns.delete(),
        Err(crate::Error::NotNetns { path, .. }) => {
            crate::kernel::unmount_all(&path)?;
            crate::kernel::unlink(&path)
        }
        Err(e) => Err(e),
    }
}

fn create_owned(name: &str) -> crate::Result<Owned> {
    let ns = crate::Netns::create(name)?;
    owner::record(name);
    Ok(Owned {
        ns: Some(ns),
        owner: Some(name.to_owned()),
    })
}

/// A named namespace for one test: removed on drop if this process created
/// it, then its owner record.
struct Owned {
    ns: Option<crate::Netns>,
    owner: Option<String>,
}

impl Owned {
    fn run<R, F>(&self, f: F) -> crate::Result<R::Output>
    where
        R: TestReturn,
        F: FnOnce() -> R + Send + 'static,
    {
        let ns = self.ns.as_ref().expect("present until drop");
        ns.run(move || f().into_output())
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        drop(self.ns.take());
        if let Some(name) = &self.owner {
            owner::forget(name);
        }
    }
}

/// Owner records and locks of the named namespaces that
/// `#[netns_test(name = ..)]` uses, beside the run directory (never in it:
/// iproute2 lists every entry there):
/// - `netns-test/owners/NAME` holds the pid of the process that created the
///   namespace; a record whose process is gone marks a namespace left by a
///   killed run;
/// - `netns-test/locks/NAME` is `flock`ed by the test using the name, and
///   removed when it is done.
mod owner {
    use std::fs::File;
    use std::path::PathBuf;

    fn dir(kind: &str) -> PathBuf {
        crate::RunDir::get().coordination_dir().join(kind)
    }

    fn path(name: &str) -> PathBuf {
        dir("owners").join(name)
    }

    /// Blocks until no other process uses `name`; held until dropped.
    pub(super) fn lock(name: &str) -> crate::Result<NameLock> {
        let dir = dir("locks");
        crate::kernel::mkdir_0755(&dir)?;
        let path = dir.join(name);
        loop {
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| crate::Error::io("open", &path, &e))?;
            crate::kernel::flock(&file, true, &path)?;
            // The holder before us removes the file when it is done: if it
            // did after we opened it, this lock is on an orphan. Start again.
            let locked = crate::kernel::ns_id(std::os::fd::AsFd::as_fd(&file))?;
            if crate::kernel::stat_id(&path)? == Some(locked) {
                return Ok(NameLock { file, path });
            }
        }
    }

    /// The lock on `locks/NAME`. The file is removed on release (while still
    /// locked), so lock files do not pile up; a waiter that then holds the
    /// removed file notices and locks the new one.
    pub(super) struct NameLock {
        #[allow(dead_code)] // held for its flock
        file: File,
        path: PathBuf,
    }

    impl Drop for NameLock {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Best effort: without a record, a leftover is joined, not replaced.
    pub(super) fn record(name: &str) {
        let path = path(name);
        if let Some(dir) = path.parent() {
            let _ = crate::kernel::mkdir_0755(dir);
        }
        let _ = std::fs::write(&path, std::process::id().to_string());
    }

    pub(super) fn forget(name: &str) {
        let _ = std::fs::remove_file(path(name));
    }

    /// The record names a process that no longer exists.
    pub(super) fn is_dead(name: &str) -> bool {
        let Ok(pid) = std::fs::read_to_string(path(name)) else {
            return false;
        };
        crate::kernel::pid_is_gone(pid.trim())
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
    match opts.host {
        Some(host) => fixture.host_netns(host)?.run(move || f().into_output()),
        None => {
            fixture.build()?;
            run_anonymous(f)
        }
    }
}

fn name_lock(name: &str) -> std::sync::Arc<parking_lot::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock};
    static LOCKS: LazyLock<parking_lot::Mutex<HashMap<String, Arc<parking_lot::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    LOCKS.lock().entry(name.to_owned()).or_default().clone()
}
