//! One attempt of each kind of readiness ([`Ready`]): the socket table,
//! the log, an HTTP status line, a command's exit status, a predicate.
//! The loop around them is `wait.rs`'s.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::kernel::child::{self, GroupSignal};
use crate::kernel::sock_diag::DiagSocket;
use crate::process::spawner;
use crate::process::wait::{command_line, Kind, Ready, WaitedOn};

/// One attempt of an HTTP or command wait takes at most this long.
const ATTEMPT: Duration = Duration::from_secs(1);

/// A [`Ready`] and what its attempts keep between them.
pub(crate) struct Probe {
    what: String,
    on: WaitedOn,
    kind: Kind,
    /// The socket table's socket, opened in the namespace on first use.
    diag: Option<DiagSocket>,
    /// The log, read from where the last attempt stopped.
    log: Option<File>,
    partial: Vec<u8>,
    seen: usize,
    /// What the last attempt saw (`connection refused`, `exit status: 1`).
    last: Option<String>,
    /// A command's `pre_exec` step is added once, not per attempt.
    prepared: bool,
}

impl Probe {
    pub(crate) fn new(ready: Ready, on: WaitedOn) -> Probe {
        Probe {
            what: ready.to_string(),
            on,
            kind: ready.kind,
            diag: None,
            log: None,
            partial: Vec::new(),
            seen: 0,
            last: None,
            prepared: false,
        }
    }

    /// What is waited for (`Ready`'s `Display`).
    pub(crate) fn ready_what(&self) -> &str {
        &self.what
    }

    /// What a timeout says was not seen, with the last attempt's outcome.
    pub(crate) fn not_yet(&self) -> String {
        let last = match &self.last {
            Some(last) => format!(" (last attempt: {last})"),
            None => String::new(),
        };
        match &self.kind {
            Kind::Listening(_) => format!("{} did not appear in its network namespace", self.what),
            Kind::Log { times, .. } => format!(
                "{} did not appear in its log ({} of {times} seen)",
                self.what, self.seen
            ),
            _ => format!("{} did not happen{last}", self.what),
        }
    }

    /// One attempt: whether it is ready now. An attempt may take until
    /// `deadline` at most.
    pub(crate) fn ready(&mut self, deadline: Instant) -> Result<bool> {
        match &mut self.kind {
            Kind::Listening(listening) => {
                let listening = *listening;
                if self.diag.is_none() {
                    self.diag = Some(in_netns(&self.on, false, DiagSocket::open)?);
                }
                let socket = self.diag.as_mut().expect("opened above");
                let locals = socket.local_addrs(listening.transport)?;
                Ok(locals.iter().any(|local| listening.matches(local)))
            }
            Kind::Log { matches, times, .. } => {
                let (matches, times) = (&**matches, *times);
                scan_log(
                    &self.on.log,
                    &mut self.log,
                    &mut self.partial,
                    &mut self.seen,
                    matches,
                    times,
                )
            }
            Kind::Http { url, status } => {
                let (url, want) = (url.clone(), *status);
                let target = parse_url(&url)?;
                let budget = ATTEMPT.min(deadline.saturating_duration_since(Instant::now()));
                let got = in_netns(&self.on, true, move || Ok(http_status(&target, budget)))?;
                match got {
                    Ok(code) if want.map_or((200..300).contains(&code), |w| w == code) => Ok(true),
                    Ok(code) => {
                        self.last = Some(format!("HTTP status {code}"));
                        Ok(false)
                    }
                    Err(e) => {
                        self.last = Some(e);
                        Ok(false)
                    }
                }
            }
            Kind::Command(command) => {
                if !self.prepared {
                    command
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null());
                    let netns = std::sync::Arc::clone(&self.on.netns);
                    child::enter_netns_before_exec(command, netns);
                    if let Some(etc) = &self.on.etc {
                        child::bind_etc_before_exec(command, std::sync::Arc::clone(&etc.binds));
                    }
                    self.prepared = true;
                }
                run_command(command, deadline, &mut self.last)
            }
            Kind::Predicate(check) => check(),
        }
    }
}

/// `f` on a new thread in the process's network namespace; `names`: with
/// the files it sees over `/etc` (a host of a network resolves names).
fn in_netns<T: Send>(
    on: &WaitedOn,
    names: bool,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let (netns, etc) = (&on.netns, on.etc.as_ref().filter(|_| names));
    crate::namespace::thread::on_new_thread(move || {
        crate::kernel::setns_net(netns.as_fd(), None)?;
        if let Some(etc) = etc {
            etc.enter()?;
        }
        f()
    })
}

/// Reads what the log gained since the last call and counts the matching
/// complete lines; a last line still without its newline counts, but is
/// read again (and not counted twice) once it is complete.
fn scan_log(
    path: &std::path::Path,
    file: &mut Option<File>,
    partial: &mut Vec<u8>,
    seen: &mut usize,
    matches: &(dyn Fn(&str) -> bool + Send),
    times: usize,
) -> Result<bool> {
    if file.is_none() {
        *file = Some(File::open(path).map_err(|e| Error::io("open", path, &e))?);
    }
    let f = file.as_mut().expect("opened above");
    f.read_to_end(partial)
        .map_err(|e| Error::io("read", path, &e))?;
    while let Some(end) = partial.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = partial.drain(..=end).collect();
        if matches(String::from_utf8_lossy(&line[..end]).trim_end_matches('\r')) {
            *seen += 1;
        }
    }
    let tail_counts = !partial.is_empty() && matches(&String::from_utf8_lossy(partial));
    Ok(*seen + usize::from(tail_counts) >= times)
}

/// `http://HOST[:PORT]/PATH`, taken apart.
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target> {
    let bad = |reason| Error::InvalidArgument {
        what: "URL",
        value: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("not http://HOST[:PORT]/PATH (no TLS)"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("no ] after [IPv6"))?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad("the port is not a number"))?,
        None => 80,
    };
    let host = host.to_owned();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Target {
        host,
        port,
        path: path.to_owned(),
    })
}

/// One `GET`: the status code of the answer's status line, or what went
/// wrong, as the last attempt's outcome.
fn http_status(target: &Target, budget: Duration) -> std::result::Result<u16, String> {
    let budget = budget.max(Duration::from_millis(1));
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {}: {e}", target.host))?
        .collect();
    let mut last = format!("{} has no address", target.host);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, budget) {
            Ok(stream) => return get(stream, target, budget).map_err(|e| format!("{addr}: {e}")),
            Err(e) => last = format!("connect {addr}: {e}"),
        }
    }
    Err(last)
}

fn get(mut stream: TcpStream, target: &Target, budget: Duration) -> std::io::Result<u16> {
    stream.set_read_timeout(Some(budget))?;
    stream.set_write_timeout(Some(budget))?;
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {host}:{}\r\nUser-Agent: netns-test\r\nConnection: close\r\n\r\n",
        target.path, target.port
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("");
    // "HTTP/1.1 200 OK" (RFC 9112, 4: status-line).
    let mut parts = line.split(' ');
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(std::io::Error::other(format!(
            "not an HTTP status line: {line:?}"
        ))),
    }
}

/// Runs `command` once, until it exits or `deadline` (then its group is
/// killed). Spawn errors (a missing program) end the wait.
fn run_command(
    command: &mut Command,
    deadline: Instant,
    last: &mut Option<String>,
) -> Result<bool> {
    let line = command_line(command);
    // The command runs under an init of its own, as spawned programs do
    // (ARCHITECTURE.md 2.13): its status comes through the init's pipe.
    let (mut attempt, status_pipe) = spawner::spawn(command).map_err(|e| Error::Process {
        program: line.clone(),
        pid: None,
        message: format!("spawn the readiness command: {e}"),
        errno: child::errno_of(&e),
    })?;
    let io = |e: std::io::Error| Error::Process {
        program: line.clone(),
        pid: None,
        message: format!("waitpid: {e}"),
        errno: child::errno_of(&e),
    };
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = attempt.try_wait().map_err(io)? {
            let status = super::start::program_status(status, &status_pipe);
            let _ = child::signal_group(attempt.id(), GroupSignal::Kill);
            if status.success() {
                return Ok(true);
            }
            *last = Some(status.to_string());
            return Ok(false);
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child::signal_group(attempt.id(), GroupSignal::Kill);
            attempt.wait().map_err(io)?;
            // An earlier attempt's exit says more than this one cut short.
            if last.is_none() {
                *last = Some("still running at the timeout (killed)".to_owned());
            }
            return Ok(false);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 3 / 2).min(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_come_apart() {
        let t = parse_url("http://192.0.2.1:8080/health?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("192.0.2.1", 8080, "/health?x=1")
        );
        let t = parse_url("http://[2001:db8::1]/").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("2001:db8::1", 80, "/")
        );
        let t = parse_url("http://server").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("server", 80, "/")
        );
        for bad in [
            "https://x/",
            "http://:80/",
            "http://x:port/",
            "http://[::1/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
