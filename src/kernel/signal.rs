//! Signals to a spawned process's group, any signal: what the process
//! faults (`Process::pause`, `crash`, `signal`) send.

use std::io;

use rustix::io::Errno;
use rustix::process::{Pid, Signal};

/// `kill(-pgid, sig)`: `sig` to every process of the group `pgid`.
/// `Ok(false)` if the group is empty (`ESRCH`).
///
/// A pid namespace's init (pid_namespaces(7)) gets from us, a process
/// of an ancestor namespace, only `SIGKILL`, `SIGSTOP` (both forced),
/// `SIGCONT` (which resumes it whether or not it is caught) and the
/// signals it has a handler for: the others reach the rest of the group.
///
/// # References
/// - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
/// - [pid_namespaces(7)](https://man7.org/linux/man-pages/man7/pid_namespaces.7.html)
#[doc(alias = "killpg")]
pub(crate) fn kill_group(pgid: u32, sig: Signal) -> io::Result<bool> {
    let Some(pid) = Pid::from_raw(pgid as i32) else {
        return Ok(false);
    };
    match rustix::process::kill_process_group(pid, sig) {
        Ok(()) => Ok(true),
        Err(Errno::SRCH) => Ok(false),
        Err(e) => Err(io::Error::from_raw_os_error(e.raw_os_error())),
    }
}
