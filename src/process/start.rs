//! Starting a program in a namespace, shared by [`Netns::spawn`] and
//! [`Process::restart`]: its stdio, the child's steps before `exec`, the
//! spawner thread; and what a restart needs of the command, recorded when
//! it is first spawned.
//!
//! [`Netns::spawn`]: crate::Netns::spawn
//! [`Process::restart`]: crate::Process::restart

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;

use crate::kernel::{child, pid_init};
use crate::process::{spawner, Process, State};

/// Starts `command` in the namespace `netns` with `stdin` (`/dev/null`
/// but for `nft -f -`) and
/// stdout and stderr to `log`, from the spawner thread (`spawner.rs`),
/// under an init of its own (ARCHITECTURE.md 2.13), seeing `etc` over
/// `/etc` if given (a network's names, `/etc/netns/NAME`; bound in the
/// program, after the init's fork). `command` keeps its `pre_exec` steps
/// but gives its copies of the log back, so it may be spawned again.
pub(super) fn start(
    command: &mut Command,
    netns: &Arc<OwnedFd>,
    log: File,
    etc: Option<&crate::namespace::etc::EtcBinds>,
    stdin: Stdio,
) -> io::Result<Started> {
    let stdout = log.try_clone()?;
    command.stdin(stdin).stdout(stdout).stderr(log);
    child::enter_netns_before_exec(command, Arc::clone(netns));
    if let Some(etc) = etc {
        child::bind_etc_before_exec(command, Arc::clone(&etc.binds));
    }
    let spawned = spawner::spawn(command);
    // The command keeps its copies of the log fds until it is dropped or
    // reconfigured; ours are no longer needed.
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (init, status_pipe) = spawned?;
    // The program has exec'd (std's spawn returned): it is the init's
    // child, unless it has exited already.
    let pid = pid_init::program_pid(init.id()).unwrap_or(init.id());
    Ok(Started {
        init,
        pid,
        status_pipe,
    })
}

/// A program started under its init.
pub(super) struct Started {
    /// The init: pid 1 of the program's PID namespace, the leader of its
    /// process group, the process std reaps.
    pub(super) init: Child,
    /// The program's pid in the test's PID namespace.
    pub(super) pid: u32,
    /// Where the init writes the program's wait status before it exits.
    pub(super) status_pipe: OwnedFd,
}

impl From<Started> for State {
    fn from(started: Started) -> State {
        State {
            child: started.init,
            status_pipe: started.status_pipe,
            status: None,
        }
    }
}

impl Process {
    /// The process group the guard signals: its init's, which the program
    /// and what it starts in the group share.
    pub(super) fn group(&self) -> u32 {
        self.state.lock().child.id()
    }
}

/// The status to report for the init's `status`: the program's, if its
/// init wrote it; else the init's own (killed by `SIGKILL`: the group's, or
/// the test process's death).
pub(super) fn program_status(init_status: ExitStatus, status_pipe: &OwnedFd) -> ExitStatus {
    match pid_init::program_status(status_pipe) {
        Some(raw) => ExitStatus::from_raw(raw),
        None => init_status,
    }
}

/// What [`Netns::spawn`](crate::Netns::spawn) received, read back from the
/// `Command` before it is changed (a `Command` cannot be cloned): the
/// program, its arguments, the environment changes and whether the
/// environment was cleared, and the working directory.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    env_clear: bool,
    current_dir: Option<PathBuf>,
}

impl Spec {
    /// Records `command`. std has no getter for `env_clear`: its `Debug`
    /// form (`env -i ...`, after `cd DIR && ` if a directory is set) says
    /// it.
    pub(super) fn of(command: &Command) -> Spec {
        let current_dir = command.get_current_dir().map(PathBuf::from);
        let shown = format!("{command:?}");
        let after_cd = match shown.split_once(" && ") {
            Some((cd, rest)) if current_dir.is_some() && cd.starts_with("cd ") => rest,
            _ => &shown,
        };
        Spec {
            program: command.get_program().to_owned(),
            args: command.get_args().map(ToOwned::to_owned).collect(),
            envs: command
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
                .collect(),
            env_clear: after_cd.starts_with("env -i "),
            current_dir,
        }
    }

    /// A new `Command` like the recorded one.
    pub(super) fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if self.env_clear {
            command.env_clear();
        }
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_rebuilds_program_args_env_and_directory() {
        let mut original = Command::new("/bin/echo");
        original
            .args(["a", "b c"])
            .env_clear()
            .env("X", "1")
            .current_dir("/tmp");
        let spec = Spec::of(&original);
        assert!(spec.env_clear, "{original:?}");
        let rebuilt = spec.command();
        assert_eq!(format!("{rebuilt:?}"), format!("{original:?}"));

        let mut plain = Command::new("sleep");
        plain.arg("1").env_remove("HOME");
        let spec = Spec::of(&plain);
        assert!(!spec.env_clear);
        assert_eq!(format!("{:?}", spec.command()), format!("{plain:?}"));
    }
}
