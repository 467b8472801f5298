//! The kernel steps of a child process started in a network namespace: what
//! it does between `fork` and `exec`, and the signals its guard sends.
//!
//! DESIGN.md 5: `PR_SET_PDEATHSIG` fires when the *thread* that forked the
//! child exits, not the process (prctl(2); golang/go#27505). So the child is
//! forked by a thread that lives as long as the process, and enters the
//! namespace itself, before `exec`, with `setns(2)`: a plain syscall.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;

use rustix::io::Errno;
use rustix::process::{Pid, Signal};
use rustix::thread::LinkNameSpaceType;

/// Makes the child of `command`, between `fork` and `exec`:
/// 1. `setpgid(0, 0)`: a process group of its own, led by it, so that its
///    guard can signal everything it starts (`std` does this step);
/// 2. `setns(netns, CLONE_NEWNET)`: into the namespace;
/// 3. `prctl(PR_SET_PDEATHSIG, SIGKILL)`: killed when the thread that forks
///    it exits;
/// 4. [`run_under_init`](super::pid_init::run_under_init): the child,
///    pid 1 of a PID namespace of its own, fails with `ESRCH` if the test
///    process died between `fork` and step 3 (the signal will never come),
///    else stays as the namespace's init and lets a child of its own `exec`
///    the program (ARCHITECTURE.md 2.13).
///
/// `netns` is kept open by the command (the closure owns it): the fd number
/// the child uses is valid in the child, whose fd table is a copy of ours
/// made by `fork`. It is `O_CLOEXEC`, so the program does not inherit it.
///
/// # References
/// - [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html)
/// - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_SET_PDEATHSIG`)
/// - [setpgid(2)](https://man7.org/linux/man-pages/man2/setpgid.2.html)
#[doc(alias = "setns")]
#[doc(alias = "PR_SET_PDEATHSIG")]
pub(crate) fn enter_netns_before_exec(command: &mut Command, netns: Arc<OwnedFd>) {
    command.process_group(0);
    // SAFETY: the closure runs in the child between `fork` and `exec`, where
    // only async-signal-safe work is allowed (the parent may have had other
    // threads holding the allocator's or stdio's locks at the fork;
    // ARCHITECTURE.md 4.13). It makes raw syscalls (setns, prctl, then
    // pid_init's poll, clone, wait4), which neither allocate nor lock, and turns
    // an errno into an `io::Error` with `from_raw_os_error`, which does not
    // allocate either. It touches no memory shared with other threads: the
    // fd and the pid were captured before the fork.
    unsafe {
        command.pre_exec(move || {
            rustix::thread::move_into_link_name_space(
                netns.as_fd(),
                Some(LinkNameSpaceType::Network),
            )
            .map_err(errno_to_io)?;
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
                .map_err(errno_to_io)?;
            super::pid_init::run_under_init()
        });
    }
}

/// Makes the child of `command`, between `fork` and `exec` (after
/// [`enter_netns_before_exec`]'s steps):
/// 1. `unshare(CLONE_NEWNS)`: a mount namespace of its own;
/// 2. `mount("", "/", NULL, MS_SLAVE|MS_REC, NULL)`: its mounts never
///    reach the host's mount namespace;
/// 3. `mount(src, dst, NULL, MS_BIND, NULL)` for each pair of `binds`, in
///    order (a later bind on the same `dst` shows on top); a `dst` that
///    does not exist (`ENOENT`) is skipped.
///
/// The paths are C strings made before the fork: nothing here allocates
/// (ARCHITECTURE.md 4.13).
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
/// - [mount_namespaces(7)](https://man7.org/linux/man-pages/man7/mount_namespaces.7.html)
pub(crate) fn bind_etc_before_exec(
    command: &mut Command,
    binds: Arc<[(std::ffi::CString, std::ffi::CString)]>,
) {
    use rustix::mount::MountPropagationFlags;
    // SAFETY: as in `enter_netns_before_exec`: raw syscalls only (unshare,
    // mount), on C strings and a slice made before the fork; an errno
    // becomes an `io::Error` without allocating.
    unsafe {
        command.pre_exec(move || {
            // CLONE_NEWNS implies CLONE_FS, not CLONE_FILES; the child is
            // single-threaded anyway.
            rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS)
                .map_err(errno_to_io)?;
            rustix::mount::mount_change(
                c"/",
                MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
            )
            .map_err(errno_to_io)?;
            for (src, dst) in binds.iter() {
                match rustix::mount::mount_bind(src.as_c_str(), dst.as_c_str()) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(errno_to_io(e)),
                }
            }
            Ok(())
        });
    }
}

/// `setns(open("/proc/self/ns/net"), CLONE_NEWNET)`: moves the calling
/// thread into the *main thread's* network namespace (`/proc/self` on
/// purpose: it names the thread-group leader, proc(5)). `EPERM` in rootless
/// mode, where that namespace belongs to the host's user namespace.
///
/// # References
/// - [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html)
/// - [proc(5)](https://man7.org/linux/man-pages/man5/proc.5.html)
pub(crate) fn enter_main_threads_netns() -> crate::Result<()> {
    let path = std::path::Path::new("/proc/self/ns/net");
    let fd = super::open_ns_file(path)?;
    super::setns_net(fd.as_fd(), Some(path))
}

/// The errno an `io::Error` of a process call carries, if any.
pub(crate) fn errno_of(e: &io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw_os_error)
}

fn errno_to_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// `kill(-pgid, sig)`: signals every process of the group `pgid`. `Ok(false)`
/// if the group is empty (`ESRCH`).
///
/// # References
/// - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
#[doc(alias = "killpg")]
pub(crate) fn signal_group(pgid: u32, sig: GroupSignal) -> io::Result<bool> {
    let Some(pid) = Pid::from_raw(pgid as i32) else {
        return Ok(false);
    };
    let sig = match sig {
        GroupSignal::Term => Signal::TERM,
        GroupSignal::Kill => Signal::KILL,
    };
    match rustix::process::kill_process_group(pid, sig) {
        Ok(()) => Ok(true),
        Err(Errno::SRCH) => Ok(false),
        Err(e) => Err(errno_to_io(e)),
    }
}

/// The signals a guard sends to a process group.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GroupSignal {
    /// `SIGTERM`: please stop.
    Term,
    /// `SIGKILL`.
    Kill,
}
