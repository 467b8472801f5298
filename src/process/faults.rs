//! Process faults: a process paused ([`Process::pause`], `SIGSTOP` until
//! its guard drops), crashed ([`Process::crash`], `SIGKILL`, no grace),
//! restarted ([`Process::restart`], the same program again, its log
//! continued) or sent any signal ([`Process::signal`]).
//!
//! A failing `#[netns_test]` says which processes it paused and when they
//! were resumed: each pause is recorded in the test's context
//! ([`Pauses`], read by [`paused_report`]).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rustix::fs::OFlags;

use crate::context::TestContext;
use crate::error::Result;
use crate::kernel::signal::kill_group;
use crate::process::{start, Process, State};

/// A signal, by name: `Signal::HUP`, `Signal::USR1`, `Signal::STOP`
/// (rustix's type, re-exported: signal(7)). [`Process::signal`] takes it.
pub use rustix::process::Signal;

impl Process {
    /// Pauses the process: `SIGSTOP` to its process group (the program and
    /// whatever it started in the group). Until the returned guard drops or
    /// [`Paused::resume`] is called (`SIGCONT`), the program runs no code:
    /// a server's sockets stay open, the kernel still completes TCP
    /// handshakes up to the listen backlog, but no request is answered.
    ///
    /// The pause is recorded for the running `#[netns_test]`: if it fails,
    /// its output says which processes it paused and when they were
    /// resumed.
    ///
    /// # Errors
    /// [`Error::Process`](crate::Error::Process) if `kill(-pgid, SIGSTOP)`
    /// fails, or the process has exited (`ESRCH`).
    pub fn pause(&self) -> Result<Paused<'_>> {
        self.send(Signal::STOP, "kill(SIGSTOP)")?;
        let entry = Arc::new(Pause {
            program: self.program.clone(),
            pid: self.pid(),
            at: Instant::now(),
            resumed: Mutex::new(None),
        });
        if let Some(ctx) = crate::context::current() {
            ctx.state::<Pauses>().0.lock().push(Arc::clone(&entry));
        }
        Ok(Paused {
            process: self,
            entry,
            done: false,
        })
    }

    /// Crashes the process: `SIGKILL` to its process group now, no grace
    /// period, then reaps it and returns its exit status (`signal: 9`,
    /// `SIGKILL`, unless it had exited already: then the status it exited
    /// with). Nothing of the group is left: a pid namespace's init, which
    /// every spawned program runs under, takes the namespace's other
    /// processes with it ([services](crate::_topic::services)).
    ///
    /// # Errors
    /// [`Error::Process`](crate::Error::Process) if the signal or `waitpid`
    /// fails.
    pub fn crash(&self) -> Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        self.send(Signal::KILL, "kill(SIGKILL)")?;
        self.wait()
    }

    /// Starts the same program again, after stopping the process if it
    /// still runs ([`Process::stop`]: `SIGTERM`, the grace period,
    /// `SIGKILL`): the program, arguments, environment (cleared or not, and
    /// the variables set and removed) and working directory that
    /// [`Netns::spawn`](crate::Netns::spawn) received, in the same network
    /// namespace. Returns the new pid, which [`Process::pid`] reports from
    /// now on; readiness waits ([`Process::wait_for`]) then wait for the new
    /// process.
    ///
    /// The log continues in the same file ([`Process::log_path`]) after a
    /// line `--- netns-test: restarted at <unix time> (+<s> after the
    /// previous start) ---`.
    ///
    /// What the original `Command` had beyond that (a `pre_exec` step, a
    /// uid, its own stdio) is not repeated: `std` gives no way to read it.
    ///
    /// # Errors
    /// [`Error::Process`](crate::Error::Process) if stopping fails, the log
    /// cannot be reopened (`open` with `O_APPEND|O_NOFOLLOW`) or the
    /// program cannot be started again; the process stays stopped then.
    pub fn restart(&self) -> Result<u32> {
        self.stop()?;
        let mut log = OpenOptions::new()
            .append(true)
            .custom_flags(OFlags::NOFOLLOW.bits() as i32)
            .open(&self.log)
            .map_err(|e| self.io_error(&format!("open {} to append", self.log.display()), e))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let since = self.started.lock().elapsed();
        writeln!(
            log,
            "--- netns-test: restarted at {}.{:03} (unix time, +{:.3} s after the previous \
             start) ---",
            now.as_secs(),
            now.subsec_millis(),
            since.as_secs_f64()
        )
        .map_err(|e| self.io_error(&format!("write {}", self.log.display()), e))?;
        let mut command = self.spec.command();
        let mut state = self.state.lock();
        let started = start::start(
            &mut command,
            &self.netns,
            log,
            self.etc.as_ref(),
            std::process::Stdio::null(),
        )
        .map_err(|e| self.io_error("restart", e))?;
        let pid = started.pid;
        *state = State::from(started);
        self.pid.store(pid, Ordering::Release);
        *self.started.lock() = Instant::now();
        Ok(pid)
    }

    /// Sends `sig` to the process group (the program and whatever it
    /// started in the group), nothing else: no wait, no reaping. For the
    /// common cases there is [`Process::stop`] (`SIGTERM`, then `SIGKILL`),
    /// [`Process::crash`] (`SIGKILL`) and [`Process::pause`] (`SIGSTOP`,
    /// then `SIGCONT`).
    ///
    /// # Errors
    /// [`Error::Process`](crate::Error::Process) if `kill` fails, or the
    /// process has exited (`ESRCH`).
    pub fn signal(&self, sig: Signal) -> Result<()> {
        self.send(sig, &format!("kill({sig:?})"))
    }

    fn send(&self, sig: Signal, op: &str) -> Result<()> {
        if let Some(status) = self.try_wait()? {
            return Err(crate::Error::Process {
                program: self.program.clone(),
                pid: Some(self.pid()),
                message: format!("{op}: the process has exited ({status})"),
                errno: Some(rustix::io::Errno::SRCH),
            });
        }
        match kill_group(self.group(), sig) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.io_error(
                op,
                std::io::Error::from_raw_os_error(rustix::io::Errno::SRCH.raw_os_error()),
            )),
            Err(e) => Err(self.io_error(op, e)),
        }
    }
}

/// A paused process ([`Process::pause`]): resumed (`SIGCONT` to its
/// process group) when this guard drops or by [`Paused::resume`].
#[must_use = "the process is resumed when this guard drops: bind it (`let paused = ...`)"]
#[derive(Debug)]
pub struct Paused<'a> {
    process: &'a Process,
    entry: Arc<Pause>,
    done: bool,
}

impl Paused<'_> {
    /// Resumes the process now (`SIGCONT` to its process group).
    ///
    /// # Errors
    /// [`Error::Process`](crate::Error::Process) if `kill(-pgid, SIGCONT)`
    /// fails (not if the process has exited meanwhile).
    pub fn resume(mut self) -> Result<()> {
        self.done = true;
        self.cont("resume()")
    }

    fn cont(&self, how: &'static str) -> Result<()> {
        *self.entry.resumed.lock() = Some((Instant::now(), how));
        match kill_group(self.process.group(), Signal::CONT) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.process.io_error("kill(SIGCONT)", e)),
        }
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.cont("its guard dropped") {
                let _ = writeln!(std::io::stderr(), "netns-test: resuming {e}");
            }
        }
    }
}

/// One pause of a test's process.
#[derive(Debug)]
struct Pause {
    program: String,
    pid: u32,
    at: Instant,
    resumed: Mutex<Option<(Instant, &'static str)>>,
}

/// The pauses of one test, in its context.
#[derive(Debug, Default)]
pub(crate) struct Pauses(Mutex<Vec<Arc<Pause>>>);

/// What a failing test's output says of the processes it paused: one line
/// each, times counted back from now (the failure); `None` if it paused
/// none.
pub(crate) fn paused_report(ctx: &TestContext) -> Option<String> {
    let pauses = ctx.state_if::<Pauses>()?;
    let pauses = pauses.0.lock();
    if pauses.is_empty() {
        return None;
    }
    let now = Instant::now();
    let ago = |t: Instant| now.saturating_duration_since(t).as_secs_f64();
    let mut out = String::from("netns-test: processes this test paused (SIGSTOP):\n");
    for pause in pauses.iter() {
        let when = match *pause.resumed.lock() {
            None => "still paused at the failure".to_owned(),
            Some((t, how)) => format!("resumed {:.3} s ago ({how})", ago(t)),
        };
        out.push_str(&format!(
            "  {} (pid {}): paused {:.3} s ago, {when}\n",
            pause.program,
            pause.pid,
            ago(pause.at)
        ));
    }
    Some(out)
}
