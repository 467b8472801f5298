//! Processes in a network namespace: [`Netns::spawn`] starts a program in a
//! namespace from any thread, without moving the caller, and returns a
//! [`Process`] guard that stops it, logs it and waits until it listens.
//!
//! How a child gets into the namespace and why it cannot outlive the test
//! process (the spawner thread, the steps between `fork` and `exec`, the
//! death signal, what escapes the group signals): "No orphans" in
//! [services](crate::_topic::services); `spawner.rs` and `kernel/child.rs`
//! hold the steps. Process faults (pause, crash, restart, any signal):
//! `faults.rs`.

pub(crate) mod artifacts;
mod faults;
mod log;
#[cfg(feature = "nftables")]
mod nft;
mod owned;
pub(crate) mod private_dir;
mod probe;
mod ready;
mod spawner;
mod start;
mod wait;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use faults::{Paused, Signal};
#[cfg(feature = "nftables")]
pub use nft::FirewallGuard;
pub use ready::Listening;
pub use wait::Ready;

pub(crate) use faults::paused_report;

pub(crate) use log::failure_report;

/// See [`artifacts::Artifacts::clear_previous_run`].
pub(crate) fn clear_previous_run(test: &str) {
    artifacts::Artifacts::get().clear_previous_run(test);
}

/// Removes the directory of the test named `test` if this run left
/// nothing in it (a program whose log went on success): called as the
/// test ends.
pub(crate) fn remove_dir_if_empty(test: &str) {
    artifacts::Artifacts::get().remove_dir_if_empty(test);
}

use crate::error::{Error, Result};
use crate::kernel::child::{self as child, GroupSignal};
use crate::Netns;

/// How long [`Process::stop`] (and the guard's drop) waits after `SIGTERM`
/// before it sends `SIGKILL`, unless [`Process::set_grace`] says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

impl Netns {
    /// Starts `command` in this network namespace and returns its guard.
    ///
    /// Callable from any thread; the caller never changes namespace. The
    /// child enters the namespace itself before `exec`, with the caller's
    /// user and mount namespaces (rootless mode included), in a process
    /// group of its own, and is killed by the kernel if the test process
    /// dies ("No orphans" in [services](crate::_topic::services)). Its stdin is `/dev/null`; its stdout and stderr go to a log file
    /// of the current test, `<target>/netns-test/<test>/<program>-<pid>.log`
    /// ([`Process::log_path`]), whose last lines a failing `#[netns_test]`
    /// shows. `command` is changed accordingly (stdio, a process group, a
    /// `pre_exec` step) and may be spawned again.
    ///
    /// # Where per-test files go and who can read them
    /// In the test's directory under `netns-test/` in the target directory
    /// (`CARGO_TARGET_DIR`, else the one the test binary was built in), with
    /// your umask's modes. Where that cannot be written (a rootless run of
    /// a tree built by root), under `$TMPDIR/netns-test-<PROJECT>-uid<UID>`:
    /// a directory that is yours alone (0700, files 0600), reused only if it
    /// is a real directory, yours, and writable by no one else (else a fresh
    /// one with a random name), its files made with
    /// `O_CREAT|O_EXCL|O_NOFOLLOW`. The whole story:
    /// [files](crate::_topic::files).
    ///
    /// ```no_run
    /// use netns_test::{Listening, Netns};
    /// use std::process::Command;
    /// use std::time::Duration;
    ///
    /// let ns = Netns::new()?;
    /// let server = ns.spawn(Command::new("socat").args(["TCP-LISTEN:8080,fork", "EXEC:cat"]))?;
    /// server.wait_for(Listening::tcp(8080), Duration::from_secs(5))?;
    /// // ... talk to 127.0.0.1:8080 from a thread inside `ns` ...
    /// drop(server); // SIGTERM, a grace period, SIGKILL, reaped
    /// # Ok::<(), netns_test::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Process`]: the log cannot be created, or the program cannot
    /// be started (`ENOENT` for a missing program, `EPERM` for `setns`
    /// without the privilege).
    #[doc(alias = "ip netns exec")]
    pub fn spawn(&self, command: &mut Command) -> Result<Process> {
        self.spawn_with(command, std::process::Stdio::null())
    }

    /// [`Netns::spawn`] with `stdin` as the program's stdin (a pipe for
    /// `nft -f -`, `nft.rs`).
    pub(crate) fn spawn_with(
        &self,
        command: &mut Command,
        stdin: std::process::Stdio,
    ) -> Result<Process> {
        let program = command.get_program().to_string_lossy().into_owned();
        let short = Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.clone());
        let fail = |what: &str, e: std::io::Error| Error::Process {
            program: program.clone(),
            pid: None,
            message: format!("{what}: {e}"),
            errno: child::errno_of(&e),
        };
        let netns: Arc<OwnedFd> = Arc::new(
            self.as_fd()
                .try_clone_to_owned()
                .map_err(|e| fail("dup the namespace fd", e))?,
        );
        let (file, log) = log::create(&short).map_err(|e| Error::Process {
            program: program.clone(),
            pid: None,
            message: format!("create its log: {e}"),
            errno: e.errno(),
        })?;
        let spec = start::Spec::of(command);
        let etc = self.etc_binds(true);
        let spawned = start::start(command, &netns, file, etc.as_ref(), stdin);
        let started = match spawned {
            Ok(started) => started,
            Err(e) => {
                let _ = std::fs::remove_file(&log.path);
                return Err(fail(&format!("spawn in netns {}", self.label()), e));
            }
        };
        let pid = started.pid;
        let log = log.named_after(&short, pid);
        Ok(Process {
            pid: AtomicU32::new(pid),
            spec,
            state: Mutex::new(State::from(started)),
            program: short,
            log: log.path,
            netns,
            etc,
            grace: Mutex::new(DEFAULT_GRACE),
            started: Mutex::new(Instant::now()),
        })
    }
}

/// A process started by [`Netns::spawn`], and the guard that ends it.
///
/// Dropping it stops the process's whole group ([`Process::stop`]): a
/// `#[netns_test]` that holds it stops its daemon however it ends, and a
/// fixture value that holds it stops it at teardown. If the test process
/// dies without dropping it, the kernel kills the process
/// (`PR_SET_PDEATHSIG`; see [`Netns::spawn`]).
///
/// Every method takes `&self` (the state is behind a lock), so a process
/// shared between tests (a fixture's, [`Network::spawn`]'s) can be stopped,
/// killed or waited for by any of them, from any thread; stopping it again
/// returns the same status.
///
/// `ns.spawn(cmd)?;` alone starts the program and stops it at once: bind
/// the guard (`let server = ns.spawn(cmd)?;`) for as long as it must run.
///
/// [`Network::spawn`]: crate::Network::spawn
#[derive(Debug)]
#[must_use = "the process is stopped (SIGTERM, then SIGKILL) when this guard drops: bind it \
              (`let server = ...`) for as long as it must run, or let a network own it: \
              `Network::spawn` (stopped when the network drops, a fixture's at teardown)"]
pub struct Process {
    /// Replaced by [`Process::restart`], which starts `spec` again.
    pid: AtomicU32,
    spec: start::Spec,
    state: Mutex<State>,
    program: String,
    log: PathBuf,
    /// The namespace, for [`Process::wait_for`]: a socket is opened in it.
    netns: Arc<OwnedFd>,
    /// What it sees over `/etc` (a network's names): for readiness
    /// commands and HTTP threads too.
    etc: Option<crate::namespace::etc::EtcBinds>,
    grace: Mutex<Duration>,
    /// When `spawn` or `restart` returned ("after it was started").
    started: Mutex<Instant>,
}

impl Process {
    /// The program's pid as the test sees it (its process's PID
    /// namespace: what `/proc` shows it), not its init's; a new one after
    /// [`Process::restart`]. The program itself sees pid 2 (`getpid`) in
    /// its own PID namespace ([services](crate::_topic::services)).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::Acquire)
    }

    /// The program's file name, as the log is named.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The file the process's stdout and stderr go to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the log (at most the last 4 KiB).
    pub fn log_tail(&self, lines: usize) -> String {
        log::tail(&self.log, lines)
    }

    /// How long [`Process::stop`] waits between `SIGTERM` and `SIGKILL`
    /// ([`DEFAULT_GRACE`] unless set).
    pub fn set_grace(&self, grace: Duration) -> &Self {
        *self.grace.lock() = grace;
        self
    }

    /// The exit status, if the process has exited (it is then reaped); does
    /// not block.
    ///
    /// # Errors
    /// [`Error::Process`] if `waitpid` fails.
    pub fn try_wait(&self) -> Result<Option<ExitStatus>> {
        let mut state = self.state.lock();
        if state.status.is_some() {
            return Ok(state.status);
        }
        match state.child.try_wait() {
            Ok(Some(status)) => {
                let status = start::program_status(status, &state.status_pipe);
                // The leader is reaped: kill what is left of its group (a
                // worker it started), now, while a remaining member keeps
                // the group id from being reused. The guard owns the group.
                state.status = Some(status);
                let _ = child::signal_group(state.child.id(), GroupSignal::Kill);
                Ok(Some(status))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.io_error("waitpid", e)),
        }
    }

    /// Waits for the process to exit by itself and returns its status.
    ///
    /// Polls ([`Process::try_wait`], pauses from 0.1 ms growing to 10 ms)
    /// rather than blocking in `waitpid`, so that another thread may
    /// [`stop`](Process::stop) or [`kill`](Process::kill) the process
    /// meanwhile.
    ///
    /// # Errors
    /// [`Error::Process`] if `waitpid` fails.
    pub fn wait(&self) -> Result<ExitStatus> {
        let mut pause = Duration::from_micros(100);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(Duration::from_millis(10));
        }
    }

    /// `SIGKILL` to the process group, then waits for the process.
    ///
    /// # Errors
    /// [`Error::Process`] if the signal or `waitpid` fails.
    pub fn kill(&self) -> Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        child::signal_group(self.group(), GroupSignal::Kill)
            .map_err(|e| self.io_error("kill(SIGKILL)", e))?;
        self.wait()
    }

    /// Stops the process: `SIGTERM` to its process group, up to the grace
    /// period ([`Process::set_grace`]) for it to exit, then `SIGKILL` to the
    /// group; the process is reaped. What the guard's drop does. Returns the
    /// exit status (a daemon stopped by the signal shows `signal: 15`).
    ///
    /// # Errors
    /// [`Error::Process`] if a signal or `waitpid` fails.
    pub fn stop(&self) -> Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        child::signal_group(self.group(), GroupSignal::Term)
            .map_err(|e| self.io_error("kill(SIGTERM)", e))?;
        let deadline = Instant::now() + *self.grace.lock();
        let mut pause = Duration::from_micros(100);
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 3 / 2).min(Duration::from_millis(10));
        }
        self.kill()
    }

    /// Waits until a socket like `listening` exists in the process's
    /// network namespace, as the kernel's socket table shows it
    /// (`NETLINK_SOCK_DIAG`, read by a socket opened inside the namespace;
    /// nothing connects to the server). Polls with a backoff from 0.5 ms to
    /// 20 ms (each pause half again the last), and checks between polls
    /// whether the process has exited.
    ///
    /// The table is the namespace's, not the process's: a socket of another
    /// process in the same namespace counts too.
    ///
    /// The same wait as [`Process::wait_until`] with [`Ready::tcp`] and
    /// the like, which also waits for log lines, HTTP answers, commands.
    ///
    /// # Errors
    /// [`Error::Process`] if the process exits first (with its exit status
    /// and the tail of its log), or if `timeout` passes (with the tail of its
    /// log); [`Error::Netlink`] if the socket table cannot be read.
    pub fn wait_for(&self, listening: Listening, timeout: Duration) -> Result<()> {
        self.wait_until(listening.into(), timeout)
    }

    /// [`Process::wait_for`] a TCP socket listening on `port`, any address.
    ///
    /// # Errors
    /// As [`Process::wait_for`].
    pub fn wait_tcp(&self, port: u16, timeout: Duration) -> Result<()> {
        self.wait_for(Listening::tcp(port), timeout)
    }

    /// [`Process::wait_for`] a UDP socket bound to `port`, any address.
    ///
    /// # Errors
    /// As [`Process::wait_for`].
    pub fn wait_udp(&self, port: u16, timeout: Duration) -> Result<()> {
        self.wait_for(Listening::udp(port), timeout)
    }

    fn error(&self, message: String) -> Error {
        Error::Process {
            program: self.program.clone(),
            pid: Some(self.pid()),
            message,
            errno: None,
        }
    }

    fn io_error(&self, op: &str, e: std::io::Error) -> Error {
        Error::Process {
            program: self.program.clone(),
            pid: Some(self.pid()),
            message: format!("{op}: {e}"),
            errno: child::errno_of(&e),
        }
    }
}

/// The program's init (ARCHITECTURE.md 2.13), the program's status pipe
/// and, once the init is reaped, the program's exit status.
#[derive(Debug)]
struct State {
    child: Child,
    status_pipe: OwnedFd,
    status: Option<ExitStatus>,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            // Not eprintln!: this may run at exit, with stderr closed.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "netns-test: stopping {e}");
        }
    }
}
