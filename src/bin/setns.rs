//! `setns [--rm] NAME [CMD [ARG...]]`: `ip netns add NAME` (unless it exists)
//! and `ip netns exec NAME CMD` in one command, over the netns-test library.
//! `setns --sweep [--dry-run]`: `RunDir::sweep`, what killed test runs left.
//!
//! All namespace work is the library's ([`Netns::create`], [`Netns::open`],
//! [`Netns::enter_for_exec`], [`Netns::delete`]); this file parses the
//! command line, runs the command and turns the outcome into an exit status.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitCode, ExitStatus};
use std::sync::mpsc;

use netns_test::{validate_name, Error, Netns};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

// setns works on the host's namespaces (`/run/netns`, `ip netns`). Started
// without root it must fail with the privilege error, not go rootless like a
// test binary and make namespaces that nobody else can see.
netns_test::no_rootless!();

const USAGE: &str = "usage: setns [--rm] NAME [CMD [ARG...]] | setns --sweep [--dry-run]";

const HELP: &str = "\
setns: run a command in a named network namespace, creating it if needed.

Usage: setns [--rm] NAME [CMD [ARG...]]
       setns --sweep [--dry-run]

Creates the network namespace NAME (with lo up) if it does not exist, as
`ip netns add NAME` does, or joins it if it does; then runs CMD in it as
`ip netns exec NAME CMD` does. Without CMD it runs $SHELL (or /bin/sh).
Options stop at NAME: everything after it is CMD and its arguments, as in
`setns ns0 ip -br addr`.

The namespace:
  NAME is a bind mount in /run/netns (or $NETNS_TEST_RUN_DIR if set, which
  `ip netns` does not see), iproute2's run directory, so
  `ip netns list`, `ip netns exec NAME` and `ip netns del NAME` work on it,
  and setns joins namespaces made by `ip netns add`. Without --rm it persists
  after CMD exits (CMD replaces setns, no process is left waiting): remove it
  with `ip netns del NAME`.

What CMD sees, as with `ip netns exec`:
  - a mount namespace of its own, a slave of the host's: what it mounts never
    reaches the host;
  - a fresh /sys, so /sys/class/net lists the namespace's links, not the
    host's (read-only if the host's /sys is);
  - each entry X of /etc/netns/NAME/ bind-mounted over /etc/X, for example
    /etc/netns/NAME/resolv.conf over /etc/resolv.conf. /etc/X must exist; a
    bind that fails is a warning.

Options:
  --rm           remove NAME after CMD exits, if this call created it (a
                 namespace that already existed is left alone). setns then
                 waits for CMD instead of becoming it: Ctrl-C and Ctrl-\\ are
                 left to CMD, SIGTERM and SIGHUP sent to setns are passed on
                 to CMD, and NAME is removed once CMD has exited.
  --sweep        remove what netns-test processes that are gone (killed test
                 runs) left behind, and print one line per thing removed:
                 namespaces and placeholders in /run/netns whose owner record
                 in /run/netns-test/owners names a gone process, those
                 records, and lock files in /run/netns-test that no process
                 holds. Nothing else is touched: namespaces without a record
                 (from `ip netns add`) and those of live processes stay.
                 What it finds but leaves (an empty placeholder with no
                 record, a record it did not write) is listed with the reason.
  --dry-run      with --sweep: list what would be removed, remove nothing
  -h, --help     show this help
  -V, --version  show the version
  --             end of options, for a NAME that starts with '-'

Needs root (CAP_SYS_ADMIN), as `ip netns` does.

Exit status: CMD's (without --rm setns becomes CMD; with --rm, 128+N if CMD
was killed by signal N, as shells report it); 126 if CMD could not be
executed, 127 if it was not found; 2 for a usage error (nothing is created
then); 1 for any other error.
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Request {
    Help,
    Version,
    Sweep {
        dry_run: bool,
    },
    Run {
        rm: bool,
        name: String,
        cmd: Vec<OsString>,
    },
}

/// Parses the arguments after the program name. `Err` is a usage error: the
/// message for `setns: ...`.
fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Request, String> {
    let mut args = args.into_iter();
    let mut rm = false;
    let name = loop {
        let arg = args.next().ok_or("missing NAME")?;
        match arg.to_str() {
            Some("--rm") => rm = true,
            Some("--sweep") if !rm => return parse_sweep(args),
            Some("-h" | "--help") => return Ok(Request::Help),
            Some("-V" | "--version") => return Ok(Request::Version),
            Some("--") => break args.next().ok_or("missing NAME")?,
            Some(opt) if opt.starts_with('-') && opt != "-" => {
                return Err(format!("unknown option '{opt}'"));
            }
            _ => break arg,
        }
    };
    let name = name
        .into_string()
        .map_err(|name| format!("invalid network namespace name {name:?}: it is not UTF-8"))?;
    // Checked here, before anything is touched, so that a bad name is a usage
    // error (exit 2) and never a half-made namespace.
    validate_name(&name).map_err(|e| e.to_string())?;
    Ok(Request::Run {
        rm,
        name,
        cmd: args.collect(),
    })
}

/// `--sweep [--dry-run]`: nothing may follow.
fn parse_sweep(args: impl Iterator<Item = OsString>) -> Result<Request, String> {
    let mut dry_run = false;
    for arg in args {
        match arg.to_str() {
            Some("--dry-run") if !dry_run => dry_run = true,
            _ => {
                return Err(format!(
                    "unexpected '{}' after --sweep",
                    arg.to_string_lossy()
                ))
            }
        }
    }
    Ok(Request::Sweep { dry_run })
}

/// `--sweep`: the library's `RunDir::sweep`, one line per leftover.
fn sweep(dry_run: bool) -> ExitCode {
    let dir = netns_test::RunDir::get();
    match dir.sweep(dry_run) {
        Ok(found) => {
            for leftover in &found {
                println!("{leftover}");
            }
            let acted = found
                .iter()
                .filter(|l| !matches!(l.outcome, netns_test::Outcome::Left(_)))
                .count();
            if acted == 0 {
                println!(
                    "setns: nothing to sweep in {} and {}",
                    dir.path().display(),
                    dir.path().with_file_name("netns-test").display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn main() -> ExitCode {
    match parse(std::env::args_os().skip(1)) {
        Ok(Request::Help) => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Request::Version) => {
            println!("setns {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Request::Sweep { dry_run }) => sweep(dry_run),
        Ok(Request::Run { rm, name, cmd }) => run(rm, &name, &cmd),
        Err(msg) => {
            eprintln!("setns: {msg}");
            eprintln!("{USAGE}; see 'setns --help'");
            ExitCode::from(2)
        }
    }
}

fn run(rm: bool, name: &str, cmd: &[OsString]) -> ExitCode {
    let (mut ns, created) = match create_or_open(name) {
        Ok(found) => found,
        Err(e) => return fail(&e),
    };
    let shell;
    let (program, args) = match cmd.split_first() {
        Some((program, args)) => (program.as_os_str(), args),
        None => {
            shell = std::env::var_os("SHELL").filter(|s| !s.is_empty());
            (shell.as_deref().unwrap_or(OsStr::new("/bin/sh")), &[][..])
        }
    };
    let mut command = Command::new(program);
    command.args(args);
    if rm && created {
        return run_then_remove(ns, command, program);
    }
    // From here on the main thread is in the namespace's private mount
    // namespace, where removing NAME could not reach the host: it stays, as
    // after `ip netns add`, whatever happens next.
    ns.keep();
    if let Err(e) = ns.enter_for_exec() {
        return fail(&e);
    }
    let err = command.exec();
    exec_failed(program, &err)
}

/// `ip netns add NAME`, or `Netns::open` if the name is taken. Creating first
/// makes "does it exist?" and "make it" one step (`O_EXCL`).
fn create_or_open(name: &str) -> Result<(Netns, bool), Error> {
    match Netns::create(name) {
        Ok(ns) => Ok((ns, true)),
        Err(Error::AlreadyExists { .. }) => Ok((Netns::open(name)?, false)),
        Err(e) => Err(e),
    }
}

/// `--rm` for a namespace this call created. The command is spawned from a
/// thread of its own, whose private mount namespace dies with it, so that
/// the main thread, still in the host's mount namespace, can remove NAME
/// afterwards (an unmount in the slave mount namespace would not reach the
/// host).
fn run_then_remove(ns: Netns, mut command: Command, program: &OsStr) -> ExitCode {
    // Handlers rather than SIG_IGN: exec resets handled signals to their
    // default but keeps ignored ones ignored, and CMD must get its Ctrl-C.
    // While CMD runs, setns survives SIGINT and SIGQUIT like system(3) does
    // (the terminal sends them to CMD too), and passes SIGTERM and SIGHUP
    // on to CMD, so that NAME is removed however CMD ends.
    let mut signals = match Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("setns: installing signal handlers: {e}");
            return remove(ns, ExitCode::FAILURE);
        }
    };
    let signals_handle = signals.handle();
    let outcome = std::thread::scope(|scope| {
        let (child_tx, child_rx) = mpsc::channel();
        let ns = &ns;
        let command = &mut command;
        let worker = scope.spawn(move || -> Result<ExitStatus, Failed> {
            ns.enter_for_exec().map_err(Failed::Setup)?;
            let mut child = command.spawn().map_err(Failed::Spawn)?;
            // A pidfd, not the pid: after the wait below reaps CMD, its pid
            // may be another process's; the pidfd then just fails (ESRCH).
            let _ = child_tx.send(PidFd::open(&child));
            child.wait().map_err(Failed::Wait)
        });
        if let Ok(Some(pidfd)) = child_rx.recv() {
            scope.spawn(move || {
                for sig in signals.forever() {
                    if sig == SIGTERM || sig == SIGHUP {
                        pidfd.signal(sig);
                    }
                }
            });
        }
        let outcome = worker.join();
        signals_handle.close();
        outcome
    });
    let code = match outcome {
        Ok(Ok(status)) => exit_code(status),
        Ok(Err(Failed::Setup(e))) => fail(&e),
        Ok(Err(Failed::Spawn(e))) => exec_failed(program, &e),
        Ok(Err(Failed::Wait(e))) => {
            eprintln!("setns: waiting for {}: {e}", program.to_string_lossy());
            ExitCode::FAILURE
        }
        Err(_panic) => ExitCode::FAILURE,
    };
    remove(ns, code)
}

/// A pidfd (pidfd_open(2)): a handle on one process that never names another,
/// even after the process is reaped and its pid reused; a signal sent through
/// it then fails with `ESRCH` instead of reaching a stranger. The binary calls
/// rustix itself: it is a user of the library's public API, which has no
/// business offering pidfds.
struct PidFd(std::os::fd::OwnedFd);

impl PidFd {
    /// `pidfd_open(pid, 0)` on `child`; `None` where the kernel has no
    /// pidfds (before Linux 5.3) or the child is gone.
    fn open(child: &std::process::Child) -> Option<PidFd> {
        let pid = rustix::process::Pid::from_child(child);
        rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .ok()
            .map(PidFd)
    }

    /// `pidfd_send_signal(fd, sig, NULL, 0)` (pidfd_send_signal(2)) with the
    /// raw signal number `sig`; whether it was sent.
    fn signal(&self, sig: i32) -> bool {
        rustix::process::Signal::from_named_raw(sig)
            .is_some_and(|sig| rustix::process::pidfd_send_signal(&self.0, sig).is_ok())
    }
}

/// Why `--rm`'s command did not run to its end.
enum Failed {
    Setup(Error),
    Spawn(io::Error),
    Wait(io::Error),
}

/// `ip netns del NAME`, then `code`; a failed removal is reported and turns
/// a success into a failure.
fn remove(ns: Netns, code: ExitCode) -> ExitCode {
    let name = ns.name().unwrap_or_default().to_owned();
    match ns.delete() {
        Ok(()) => code,
        Err(e) => {
            eprintln!("setns: removing network namespace {name}: {e}");
            if code == ExitCode::SUCCESS {
                ExitCode::FAILURE
            } else {
                code
            }
        }
    }
}

fn fail(e: &Error) -> ExitCode {
    eprintln!("setns: {e}");
    ExitCode::FAILURE
}

/// The shell's statuses: 127 when CMD was not found, 126 when it was but
/// could not be executed.
fn exec_failed(program: &OsStr, e: &io::Error) -> ExitCode {
    eprintln!("setns: {}: {e}", program.to_string_lossy());
    ExitCode::from(if e.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    })
}

/// CMD's exit status, or 128+N for a CMD killed by signal N, as shells do.
fn exit_code(status: ExitStatus) -> ExitCode {
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code as u8),
        (None, Some(sig)) => ExitCode::from(128u8.saturating_add(sig as u8)),
        (None, None) => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Request, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn options_stop_at_name() {
        let request = parse_strs(&["--rm", "ns0", "ls", "-l", "--rm"]).unwrap();
        let cmd = ["ls", "-l", "--rm"].map(OsString::from).to_vec();
        assert_eq!(
            request,
            Request::Run {
                rm: true,
                name: "ns0".into(),
                cmd
            }
        );
    }

    #[test]
    fn double_dash_allows_a_dash_name() {
        let request = parse_strs(&["--", "-ns"]).unwrap();
        assert!(matches!(request, Request::Run { ref name, rm: false, .. } if name == "-ns"));
    }

    #[test]
    fn sweep_takes_only_dry_run() {
        assert_eq!(
            parse_strs(&["--sweep"]).unwrap(),
            Request::Sweep { dry_run: false }
        );
        assert_eq!(
            parse_strs(&["--sweep", "--dry-run"]).unwrap(),
            Request::Sweep { dry_run: true }
        );
        for bad in [
            &["--sweep", "ns0"][..],
            &["--sweep", "--dry-run", "--dry-run"],
        ] {
            assert!(parse_strs(bad).unwrap_err().contains("after --sweep"));
        }
        // After NAME, `--sweep` is the command's.
        assert!(matches!(
            parse_strs(&["ns0", "--sweep"]).unwrap(),
            Request::Run { .. }
        ));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(parse_strs(&[]).unwrap_err(), "missing NAME");
        assert_eq!(parse_strs(&["--rm"]).unwrap_err(), "missing NAME");
        assert_eq!(
            parse_strs(&["-x", "ns0"]).unwrap_err(),
            "unknown option '-x'"
        );
        for bad in ["", ".", "..", "a/b"] {
            let msg = parse_strs(&[bad]).unwrap_err();
            assert!(msg.starts_with("invalid network namespace name"), "{msg}");
        }
    }
}
