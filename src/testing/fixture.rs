//! Suite fixtures: a value built once per test process and shared by tests.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use rustix::fs::FlockOperation::{LockExclusive, LockShared};

use crate::error::{Error, Result};
use crate::namespace::lock_file::LockFile;
use crate::network::topology::Network;
use crate::Netns;

use super::teardown::{register_teardown, say, Teardown};

/// A value built once per test process, on first use, by whichever test
/// reaches it first; the others wait for it. Typically a [`Network`] that
/// many tests run in.
///
/// ```no_run
/// use netns_test::{netns_test, Fixture, Network, Topology};
///
/// static LAB: Fixture<Network> = Fixture::new("lab", || {
///     Topology::new()
///         .host("client")
///         .host("server")
///         .link("client", "eth0", "server", "eth0")
///         .addr("client", "eth0", "192.0.2.1/24")
///         .addr("server", "eth0", "192.0.2.2/24")
///         .build()
/// });
///
/// #[netns_test(fixture = LAB, host = "client")]
/// fn client_reaches_server() {
///     let lab = LAB.get().unwrap();
///     let server = lab.host("server");
///     let listener = server.run(|| std::net::TcpListener::bind("192.0.2.2:8080")).unwrap().unwrap();
///     std::net::TcpStream::connect("192.0.2.2:8080").unwrap();
///     listener.accept().unwrap();
/// }
/// ```
///
/// # Once per suite
/// "Once" means once per test *process*. Under `cargo test` each test target
/// is one process, so its tests share one fixture. Under `cargo nextest run`
/// every test is a process of its own, so each test builds its own copy: the
/// tests stay correct, the building is repeated. Two processes never share
/// namespaces: a fixture's hosts are anonymous, or named per process
/// ([`Topology::named`](crate::Topology::named)).
///
/// # Teardown
/// The value is dropped once per process, after the last test that can use
/// it: by the harness of `main!()` after its last test; under libtest
/// and cargo-nextest at normal process exit, by an `atexit` handler (libtest
/// has finished its test threads when `main` returns). The drop runs on a
/// thread of its own and is waited for at most 30 s, so a value holding a
/// runtime or threads cannot hang the exit. Values holding [`Process`]es
/// stop them there; named namespaces are removed (anonymous ones vanish with
/// the process). A killed process drops nothing: its spawned processes die
/// with it all the same (`PR_SET_PDEATHSIG`, see [`Netns::spawn`]); its named
/// namespaces stay, with owner records naming it, and the next build of a
/// topology with the same prefix removes them, as does
/// [`RunDir::sweep`](crate::RunDir::sweep) (`setns --sweep`). Its lock file
/// stays until a sweep finds no process holding it.
///
/// A reference from [`Fixture::get`] is valid until then: keep it within the
/// test that got it, not in a thread that outlives the test.
///
/// [`Process`]: crate::Process
/// [`Netns::spawn`]: crate::Netns::spawn
///
/// # Exclusive use
/// `#[netns_test(fixture = LAB, host = "r", exclusive)]` runs while no other
/// test of `LAB` runs in this process (a read-write lock). Where other
/// processes may use the same namespaces ([`Hosts::shared_across_processes`]:
/// a host with a name, as [`Topology::named`](crate::Topology::named) makes),
/// also while none runs in another process on this machine (`flock` on
/// `/run/netns-test/fixture-NAME.lock`, shared by ordinary tests and
/// exclusive for this one). Anonymous hosts are private to a process: under
/// cargo-nextest each test process has its own copy, and an `exclusive`
/// test does not wait for other processes' tests.
///
/// `T` is what the setup returns, typically a [`Network`]. `E` is its error
/// type (anything `Display`): a failed setup is kept, and every test that
/// uses the fixture fails with its message. A panicking setup counts as a
/// failed one.
pub struct Fixture<T, E = Error> {
    name: &'static str,
    setup: fn() -> std::result::Result<T, E>,
    value: OnceLock<std::result::Result<Slot<T>, String>>,
    users: RwLock<()>,
    /// Set once by the teardown, before the value is dropped: exactly once.
    torn_down: AtomicBool,
}

/// The built value, dropped in place by the teardown (a `static`'s value is
/// otherwise never dropped).
struct Slot<T>(UnsafeCell<ManuallyDrop<T>>);

// SAFETY: a `Slot` is shared like the `T` it holds: `&T` handed out by
// `Fixture::get` (needs `T: Sync`), and the value dropped by whichever thread
// runs the teardown (needs `T: Send`). The only `&mut` access is that drop,
// made once (`torn_down`) while the fixture's write lock is held.
unsafe impl<T: Send + Sync> Sync for Slot<T> {}

impl<T, E> Fixture<T, E> {
    /// A fixture called `name` (used in messages and for the cross-process
    /// lock file), built by `setup`.
    pub const fn new(name: &'static str, setup: fn() -> std::result::Result<T, E>) -> Self {
        Fixture {
            name,
            setup,
            value: OnceLock::new(),
            users: RwLock::new(()),
            torn_down: AtomicBool::new(false),
        }
    }

    /// The fixture's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<T: Send + Sync + 'static, E: fmt::Display + 'static> Fixture<T, E> {
    /// The value, built now if this is the first use in this process.
    ///
    /// The reference is valid until the fixture is torn down, after the last
    /// test (see "Teardown"): do not keep it in a thread that outlives the
    /// test that got it.
    ///
    /// # Errors
    /// [`Error::Fixture`] with the setup's error or panic message, every time
    /// it is asked for (the setup is not retried), or after the teardown.
    pub fn get(&'static self) -> Result<&'static T> {
        if self.torn_down.load(Ordering::Acquire) {
            return Err(self.error("it was torn down after the last test".to_owned()));
        }
        let built = self.value.get_or_init(|| {
            let setup = self.setup;
            let built = crate::context::in_fixture_setup(self.name, || {
                std::panic::catch_unwind(AssertUnwindSafe(setup))
            });
            match built {
                Ok(Ok(value)) => {
                    register_teardown(self);
                    Ok(Slot(UnsafeCell::new(ManuallyDrop::new(value))))
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(format!(
                    "setup panicked: {}",
                    crate::testing::panic_message(&*panic).unwrap_or("(a non-string payload)")
                )),
            }
        });
        match built {
            // SAFETY: only the teardown takes `&mut` (to drop it), after
            // `torn_down` is set, and under the write lock that every
            // running test of this fixture holds the read side of.
            Ok(slot) => Ok(unsafe { &*slot.0.get() }),
            Err(message) => Err(self.error(message.clone())),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Fixture {
            name: self.name,
            message,
        }
    }
}

impl<T, E> Fixture<T, E> {
    /// Holds the fixture for one test: shared with other tests, or exclusive
    /// (no other test of this fixture runs, here or in another process).
    /// Dropping the guard releases it.
    ///
    /// # Errors
    /// [`Error::Sys`] if the cross-process lock file cannot be opened or
    /// locked.
    pub fn lock(&self, exclusive: bool) -> Result<FixtureGuard<'_>> {
        self.lock_with(exclusive, true)
    }

    /// [`Fixture::lock`], with the cross-process `flock` only if
    /// `across_processes`.
    fn lock_with(&self, exclusive: bool, across_processes: bool) -> Result<FixtureGuard<'_>> {
        let local = if exclusive {
            Local::Exclusive(self.users.write())
        } else {
            Local::Shared(self.users.read())
        };
        if !across_processes {
            return Ok(FixtureGuard {
                _file: None,
                _local: local,
            });
        }
        let path = lock_path(self.name);
        let op = if exclusive { LockExclusive } else { LockShared };
        let file = LockFile::lock(&path, op, None)?;
        Ok(FixtureGuard {
            _file: file,
            _local: local,
        })
    }
}

/// `/run/netns-test/fixture-NAME.lock`: beside the run directory, not in it
/// (`/run/netns` must hold namespaces only). Under `/run` rather than the
/// temporary directory so that a root run and a later rootless run do not
/// share a root-owned file: a rootless process has a private `/run`.
fn lock_path(name: &str) -> PathBuf {
    // The one sanitiser: distinct names never share a lock file.
    lock_dir().join(format!("{}.lock", crate::context::fixture_file_name(name)))
}

fn lock_dir() -> PathBuf {
    crate::RunDir::get().coordination_dir()
}

/// A test's hold on a fixture; see [`Fixture::lock`].
#[must_use = "the fixture is released when the guard drops"]
pub struct FixtureGuard<'a> {
    // Dropped first: the flock (if taken), then the in-process lock.
    _file: Option<LockFile>,
    _local: Local<'a>,
}

enum Local<'a> {
    Shared(#[allow(dead_code)] RwLockReadGuard<'a, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'a, ()>),
}

impl<T, E> fmt::Debug for Fixture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("name", &self.name)
            .field("built", &self.value.get().map(|v| v.is_ok()))
            .finish()
    }
}

/// A fixture value whose hosts a test can run in: what
/// `#[netns_test(fixture = F, host = "h")]` needs of `F`'s value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no hosts to run a test in",
    note = "`#[netns_test(fixture = ..)]` takes a `Fixture<T>` whose `T` implements `Hosts`, such as `Network`"
)]
pub trait Hosts {
    /// The namespace of `host`, if there is one.
    fn netns(&self, host: &str) -> Option<&Netns>;
    /// The names of the hosts, for messages.
    fn host_names(&self) -> Vec<String>;

    /// Whether other processes may use the same namespaces, so that an
    /// `exclusive` test must also lock out other processes' tests (the
    /// `flock` of [`Fixture::lock`]). By default: whether a host has a name
    /// in the run directory ([`Topology::named`](crate::Topology::named), a
    /// namespace opened by name). Anonymous hosts are private to the
    /// process: under cargo-nextest each test process has its own copy, and
    /// the copies do not wait for each other.
    fn shared_across_processes(&self) -> bool {
        self.host_names()
            .iter()
            .any(|host| self.netns(host).is_some_and(|ns| ns.name().is_some()))
    }
}

impl Hosts for Network {
    fn netns(&self, host: &str) -> Option<&Netns> {
        self.get(host)
    }

    fn host_names(&self) -> Vec<String> {
        self.hosts().map(str::to_owned).collect()
    }
}

/// What the runner needs of a fixture, whatever its value type.
#[doc(hidden)]
pub trait SuiteFixture: Sync {
    /// The fixture's name, as declared.
    fn fixture_name(&self) -> &'static str;
    /// Builds the fixture if this is its first use.
    fn build(&'static self) -> Result<()>;
    /// Builds the fixture if need be, and holds it for a test (shared or
    /// exclusive; across processes only if the value is
    /// [shared across processes](Hosts::shared_across_processes)).
    fn hold(&'static self, exclusive: bool) -> Result<FixtureGuard<'static>>;
    /// Builds (once) and finds `host`'s namespace.
    fn host_netns(&'static self, host: &str) -> Result<&'static Netns>;
    /// Builds (once) and lists every host with its namespace (what a
    /// fixture test's capture holds).
    fn hosts(&'static self) -> Result<Vec<(String, &'static Netns)>>;
}

impl<T, E> SuiteFixture for Fixture<T, E>
where
    T: Hosts + Send + Sync + 'static,
    E: fmt::Display + 'static,
{
    fn fixture_name(&self) -> &'static str {
        self.name
    }

    fn build(&'static self) -> Result<()> {
        self.get().map(|_| ())
    }

    fn hold(&'static self, exclusive: bool) -> Result<FixtureGuard<'static>> {
        let across_processes = self.get()?.shared_across_processes();
        self.lock_with(exclusive, across_processes)
    }

    fn host_netns(&'static self, host: &str) -> Result<&'static Netns> {
        let value = self.get()?;
        value.netns(host).ok_or_else(|| Error::NoSuchHost {
            fixture: self.name,
            host: host.to_owned(),
            hosts: value.host_names(),
        })
    }

    fn hosts(&'static self) -> Result<Vec<(String, &'static Netns)>> {
        let value = self.get()?;
        Ok(value
            .host_names()
            .into_iter()
            .filter_map(|host| Some((host.clone(), value.netns(&host)?)))
            .collect())
    }
}

impl<T: Send + Sync, E> Teardown for Fixture<T, E> {
    fn teardown(&self) {
        if self.torn_down.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(Ok(slot)) = self.value.get() else {
            return;
        };
        // Running tests of this fixture hold the read side.
        let Some(_alone) = self.users.try_write_for(TEST_WAIT) else {
            say(&format!(
                "netns-test: fixture {} is still in use by a test after {TEST_WAIT:?}; \
                 its value is not dropped",
                self.name
            ));
            return;
        };
        // SAFETY: `torn_down` is now set, so `get` hands out no new
        // reference, and the write lock says no test holds one; this is the
        // only drop (the swap above). See `Fixture::get` for the contract on
        // references kept beyond a test.
        unsafe { ManuallyDrop::drop(&mut *slot.0.get()) };
    }
}

/// How long the teardown waits for a running test to release a fixture.
const TEST_WAIT: Duration = Duration::from_secs(5);
