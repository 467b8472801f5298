//! Waiting until a process is ready: [`Ready`], what to wait for, and the
//! one loop every kind of wait goes through ([`Process::wait_until`],
//! [`Process::wait_async`] with the `tokio` feature).
//!
//! The loop polls a probe (`probe.rs`) with a backoff from 0.5 ms to 20 ms,
//! and checks before each poll whether the process has exited: a process
//! that dies fails the wait at once, with its exit status, and a timeout
//! says the process still runs; both show the tail of its log.

use std::fmt;
use std::os::fd::OwnedFd;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(any(doc, feature = "tokio"))]
use crate::error::Error;
use crate::error::Result;
use crate::process::probe::Probe;
use crate::process::{log, Listening, Process};

/// What [`Process::wait_until`] waits for.
///
/// ```no_run
/// use netns_test::{Netns, Ready};
/// use std::process::Command;
/// use std::time::Duration;
///
/// let ns = Netns::new()?;
/// let mut redis = ns.spawn(Command::new("redis-server").args(["--port", "6379"]))?;
/// redis.wait_until(Ready::log_line("Ready to accept connections"), Duration::from_secs(10))?;
/// redis.wait_until(Ready::tcp(6379), Duration::from_secs(10))?;
/// let mut ping = Command::new("redis-cli");
/// ping.arg("ping");
/// redis.wait_until(Ready::command(ping), Duration::from_secs(10))?;
/// # Ok::<(), netns_test::Error>(())
/// ```
#[must_use = "a Ready does nothing until it is waited for"]
pub struct Ready {
    pub(crate) kind: Kind,
}

pub(crate) enum Kind {
    Listening(Listening),
    Log {
        matches: Box<dyn Fn(&str) -> bool + Send>,
        what: String,
        times: usize,
    },
    Http {
        url: String,
        status: Option<u16>,
    },
    Command(Box<Command>),
    Predicate(Box<dyn FnMut() -> Result<bool> + Send>),
}

impl Ready {
    /// A TCP socket listening on `port` in the process's namespace
    /// ([`Listening::tcp`]).
    pub fn tcp(port: u16) -> Ready {
        Listening::tcp(port).into()
    }

    /// A UDP socket bound to `port` in the process's namespace
    /// ([`Listening::udp`]).
    pub fn udp(port: u16) -> Ready {
        Listening::udp(port).into()
    }

    /// A line of the process's log (its stdout and stderr) that contains
    /// `text`. Lines are read as UTF-8 (invalid bytes replaced); a last line
    /// without its newline counts too. For a pattern, use
    /// [`Ready::log_match`]; for the Nth such line, [`Ready::times`].
    pub fn log_line(text: &str) -> Ready {
        let text = text.to_owned();
        let what = format!("a log line containing {text:?}");
        Ready::log(what, move |line| line.contains(&text))
    }

    /// A line of the process's log for which `matches` is true: any
    /// pattern, without a regex dependency here (`|l| l.starts_with("ok")
    /// && l.ends_with("8080")`, or a `regex::Regex::is_match` of your
    /// own). `what` names it in errors.
    pub fn log_match(what: &str, matches: impl Fn(&str) -> bool + Send + 'static) -> Ready {
        Ready::log(format!("a log line matching {what}"), matches)
    }

    fn log(what: String, matches: impl Fn(&str) -> bool + Send + 'static) -> Ready {
        Ready {
            kind: Kind::Log {
                matches: Box::new(matches),
                what,
                times: 1,
            },
        }
    }

    /// For a log wait: ready at the `n`th matching line since the process
    /// started (`n` = 1 by default; 0 counts as 1). Other waits ignore it.
    pub fn times(mut self, n: usize) -> Ready {
        if let Kind::Log { times, .. } = &mut self.kind {
            *times = n.max(1);
        }
        self
    }

    /// An HTTP answer from `url` (`http://HOST[:PORT]/PATH`; `HOST` an IP
    /// address, `[IPv6]`, or a name the namespace resolves, such as a host
    /// of the [`Network`](crate::Network)), of any 2xx status unless
    /// [`Ready::status`] says which. Each attempt is one `GET` over
    /// HTTP/1.1 (`Connection: close`) on a `TcpStream` made on a thread in
    /// the process's namespace, reading the status line only; it connects
    /// and reads with a timeout of at most 1 s. No TLS.
    pub fn http(url: &str) -> Ready {
        Ready {
            kind: Kind::Http {
                url: url.to_owned(),
                status: None,
            },
        }
    }

    /// For an HTTP wait: exactly this status (`200`, `401`, ...). Other
    /// waits ignore it.
    pub fn status(mut self, code: u16) -> Ready {
        if let Kind::Http { status, .. } = &mut self.kind {
            *status = Some(code);
        }
        self
    }

    /// `command` exits 0 (`pg_isready`, `redis-cli ping`): run in the
    /// process's network namespace as [`Netns::spawn`](crate::Netns::spawn)
    /// runs a program there (by the spawner thread, entering the namespace
    /// before `exec`), with stdin, stdout and stderr on `/dev/null`, again
    /// after each failure until it exits 0. An attempt still running when
    /// the wait times out is killed (its process group).
    pub fn command(command: Command) -> Ready {
        Ready {
            kind: Kind::Command(Box::new(command)),
        }
    }

    /// `check` returns true. It runs on the waiting thread (not in the
    /// namespace: use [`Netns::run`](crate::Netns::run) inside it for
    /// that), between the exit checks of the loop.
    pub fn predicate(mut check: impl FnMut() -> bool + Send + 'static) -> Ready {
        Ready::try_predicate(move || Ok(check()))
    }

    /// `check` returns `Ok(true)`; an `Err` ends the wait at once with that
    /// error. Runs as [`Ready::predicate`].
    pub fn try_predicate(check: impl FnMut() -> Result<bool> + Send + 'static) -> Ready {
        Ready {
            kind: Kind::Predicate(Box::new(check)),
        }
    }
}

impl From<Listening> for Ready {
    fn from(listening: Listening) -> Ready {
        Ready {
            kind: Kind::Listening(listening),
        }
    }
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Listening(l) => write!(f, "{l}"),
            Kind::Log { what, times: 1, .. } => write!(f, "{what}"),
            Kind::Log { what, times, .. } => write!(f, "{what} ({times} times)"),
            Kind::Http { url, status: None } => write!(f, "a 2xx answer from {url}"),
            Kind::Http {
                url,
                status: Some(s),
            } => write!(f, "HTTP status {s} from {url}"),
            Kind::Command(c) => write!(f, "`{}` to exit 0", command_line(c)),
            Kind::Predicate(_) => write!(f, "the predicate to hold"),
        }
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ready({self})")
    }
}

/// `program arg...`, as an error shows a command.
pub(crate) fn command_line(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a wait ended, other than ready.
pub(crate) enum Ended {
    Ready,
    Exited,
    TimedOut,
}

/// The one wait loop: `exited` is asked first, then the probe, then the
/// loop sleeps (a backoff from 0.5 ms to 20 ms, each pause half again the
/// last: a server ready after t is seen by about 1.5 t, not 2 t).
pub(crate) fn poll(
    probe: &mut Probe,
    timeout: Duration,
    mut exited: impl FnMut() -> Result<bool>,
) -> Result<Ended> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut pause = Duration::from_micros(500);
    loop {
        if exited()? {
            return Ok(Ended::Exited);
        }
        if probe.ready(deadline)? {
            return Ok(Ended::Ready);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Ended::TimedOut);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 3 / 2).min(Duration::from_millis(20));
    }
}

impl Process {
    /// Waits until the process is `ready`: a socket listens in its
    /// namespace, a line shows in its log, a URL answers, a command
    /// succeeds, or a predicate holds (see [`Ready`]). Checks before each
    /// attempt whether the process has exited, and polls with a backoff
    /// from 0.5 ms to 20 ms. (Not `wait`: [`Process::wait`] waits for the
    /// process to exit.)
    ///
    /// # Errors
    /// [`Error::Process`] if the process exits first (with its exit status
    /// and the tail of its log), or if `timeout` passes (the process still
    /// runs; with what the last attempt saw and the tail of its log);
    /// [`Error::Netlink`] if a socket table cannot be read; the predicate's
    /// own error for [`Ready::try_predicate`].
    pub fn wait_until(&self, ready: Ready, timeout: Duration) -> Result<()> {
        let mut probe = Probe::new(ready, self.waited_on());
        let ended = poll(&mut probe, timeout, || Ok(self.try_wait()?.is_some()))?;
        self.finish(&probe, ended, timeout)
    }

    /// [`Process::wait_until`] for async code (feature `tokio`): the same
    /// loop on a blocking thread of the runtime
    /// (`tokio::task::spawn_blocking`), so the runtime's own threads never
    /// block. While it runs, whether the process has exited is read from
    /// `/proc/PID/stat` (a zombie) without reaping it; the exit status is
    /// then taken here.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `spawn_blocking` does).
    ///
    /// # Errors
    /// As [`Process::wait_until`]; [`Error::Spawn`] if the blocking task
    /// panicked or was cancelled (the runtime shutting down).
    #[cfg(feature = "tokio")]
    pub async fn wait_async(&self, ready: Ready, timeout: Duration) -> Result<()> {
        let mut probe = Probe::new(ready, self.waited_on());
        let pid = self.pid();
        let exited = self.state.lock().status.is_some();
        let (probe, ended) = tokio::task::spawn_blocking(move || {
            let ended = poll(&mut probe, timeout, || {
                Ok(exited || crate::kernel::proc_stat(pid)?.map_or(true, |s| s.has_exited()))
            });
            (probe, ended)
        })
        .await
        .map_err(|e| Error::Spawn(std::io::Error::other(e)))?;
        self.finish(&probe, ended?, timeout)
    }

    /// What a probe needs of the process.
    fn waited_on(&self) -> WaitedOn {
        WaitedOn {
            netns: Arc::clone(&self.netns),
            etc: self.etc.clone(),
            log: self.log.clone(),
        }
    }

    fn finish(&self, probe: &Probe, ended: Ended, timeout: Duration) -> Result<()> {
        match ended {
            Ended::Ready => Ok(()),
            Ended::Exited => {
                let status = self.wait()?;
                Err(self.error(format!(
                    "exited ({status}) {:.0?} after it was started, before {}\n{}",
                    self.started.lock().elapsed(),
                    probe.ready_what(),
                    log::show_tail(&self.log, log::TAIL_LINES)
                )))
            }
            Ended::TimedOut => Err(self.error(format!(
                "still running, but {} within {timeout:?}\n{}",
                probe.not_yet(),
                log::show_tail(&self.log, log::TAIL_LINES)
            ))),
        }
    }
}

/// The parts of a [`Process`] a probe uses, owned, so that a probe can run
/// on another thread ([`Process::wait_async`]).
pub(crate) struct WaitedOn {
    pub(crate) netns: Arc<OwnedFd>,
    pub(crate) etc: Option<crate::namespace::etc::EtcBinds>,
    pub(crate) log: std::path::PathBuf,
}
