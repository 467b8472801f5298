//! Suite fixtures: a value built once per test process and shared by tests.

use std::fmt;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::OnceLock;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{Error, Result};
use crate::network::topology::Network;
use crate::Netns;

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
/// Anonymous namespaces vanish with the process. Named ones are removed at
/// normal process exit (an `atexit` handler, so after libtest's last test),
/// or after the last test by the harness of `main!()`. A killed process
/// leaves named ones behind, with owner records naming it; the next build of
/// a topology with the same prefix removes them, and so does
/// [`RunDir::sweep`](crate::RunDir::sweep) (`setns --sweep`). Its lock file
/// stays until a sweep finds no process holding it.
///
/// # Exclusive use
/// `#[netns_test(fixture = LAB, host = "r", exclusive)]` runs while no other
/// test of `LAB` runs, in this process (a read-write lock) and in other
/// processes on this machine (`flock` on `/run/netns-test/fixture-NAME.lock`,
/// shared by ordinary tests and exclusive for this one).
///
/// `T` is what the setup returns, typically a [`Network`]. `E` is its error
/// type (anything `Display`): a failed setup is kept, and every test that
/// uses the fixture fails with its message. A panicking setup counts as a
/// failed one.
pub struct Fixture<T, E = Error> {
    name: &'static str,
    setup: fn() -> std::result::Result<T, E>,
    value: OnceLock<std::result::Result<T, String>>,
    users: RwLock<()>,
}

impl<T, E> Fixture<T, E> {
    /// A fixture called `name` (used in messages and for the cross-process
    /// lock file), built by `setup`.
    pub const fn new(name: &'static str, setup: fn() -> std::result::Result<T, E>) -> Self {
        Fixture {
            name,
            setup,
            value: OnceLock::new(),
            users: RwLock::new(()),
        }
    }

    /// The fixture's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<T, E: fmt::Display> Fixture<T, E> {
    /// The value, built now if this is the first use in this process.
    ///
    /// # Errors
    /// [`Error::Fixture`] with the setup's error or panic message, every time
    /// it is asked for (the setup is not retried).
    pub fn get(&self) -> Result<&T> {
        let built = self.value.get_or_init(|| {
            match std::panic::catch_unwind(AssertUnwindSafe(self.setup)) {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(format!("setup panicked: {}", panic_message(&panic))),
            }
        });
        built.as_ref().map_err(|message| Error::Fixture {
            name: self.name,
            message: message.clone(),
        })
    }

    /// Holds the fixture for one test: shared with other tests, or exclusive
    /// (no other test of this fixture runs, here or in another process).
    /// Dropping the guard releases it.
    ///
    /// # Errors
    /// [`Error::Sys`] if the cross-process lock file cannot be opened or
    /// locked.
    pub fn lock(&self, exclusive: bool) -> Result<FixtureGuard<'_>> {
        let local = if exclusive {
            Local::Exclusive(self.users.write())
        } else {
            Local::Shared(self.users.read())
        };
        let path = lock_path(self.name);
        crate::kernel::mkdir_0755(&lock_dir())?;
        let file = loop {
            let file = File::options()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io("open", &path, &e))?;
            crate::kernel::flock(&file, exclusive, &path)?;
            // `RunDir::sweep` removes a lock file no process holds (locked,
            // then unlinked): if it did after we opened it, this lock is on
            // an orphan. Start again.
            let locked = crate::kernel::ns_id(std::os::fd::AsFd::as_fd(&file))?;
            if crate::kernel::stat_id(&path)? == Some(locked) {
                break file;
            }
        };
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
    // Percent-encoded, so that distinct names never share a lock file.
    let mut file = String::from("fixture-");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
            file.push(char::from(b));
        } else {
            file.push_str(&format!("%{b:02X}"));
        }
    }
    file.push_str(".lock");
    lock_dir().join(file)
}

fn lock_dir() -> PathBuf {
    crate::RunDir::get().coordination_dir()
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-string payload)".to_owned()
    }
}

/// A test's hold on a fixture; see [`Fixture::lock`].
#[must_use = "the fixture is released when the guard drops"]
pub struct FixtureGuard<'a> {
    // Dropped first: the flock, then the in-process lock.
    _file: File,
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
    fn build(&self) -> Result<()>;
    /// Holds the fixture for a test (shared or exclusive).
    fn hold(&self, exclusive: bool) -> Result<FixtureGuard<'_>>;
    /// Builds (once) and finds `host`'s namespace.
    fn host_netns(&self, host: &str) -> Result<&Netns>;
}

impl<T, E> SuiteFixture for Fixture<T, E>
where
    T: Hosts + Send + Sync,
    E: fmt::Display,
{
    fn fixture_name(&self) -> &'static str {
        self.name
    }

    fn build(&self) -> Result<()> {
        self.get().map(|_| ())
    }

    fn hold(&self, exclusive: bool) -> Result<FixtureGuard<'_>> {
        self.lock(exclusive)
    }

    fn host_netns(&self, host: &str) -> Result<&Netns> {
        let value = self.get()?;
        value.netns(host).ok_or_else(|| Error::Fixture {
            name: self.name,
            message: format!(
                "it has no host {host:?}; its hosts are {:?}",
                value.host_names()
            ),
        })
    }
}

/// Removes what suite fixtures left in the run directory. Called by the
/// harness after the last test; under libtest the `atexit` handler of
/// [`Netns::create`] does the same at exit.
#[cfg(feature = "harness")]
pub(crate) fn teardown_all() {
    crate::namespace::registry::remove_all();
}
