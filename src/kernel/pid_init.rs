//! Every spawned program runs under a tiny init of ours, pid 1 of a PID
//! namespace of its own, so that nothing it starts outlives it or the test
//! process (ARCHITECTURE.md 2.13):
//!
//! 1. on a fresh thread that forks once and lives until the child has
//!    exited ([`prepare`], [`until_exited`]): `unshare(CLONE_NEWPID)` (the
//!    thread's child is pid 1 of a new namespace; the thread itself stays
//!    where it is), a status pipe, and once, a pidfd of this process;
//! 2. in the child, between `fork` and `exec`, after it has entered the
//!    network namespace and asked for `PR_SET_PDEATHSIG`
//!    ([`run_under_init`]'s step): if this process has exited meanwhile,
//!    fail; else `fork` again: the grandchild (pid 2) returns and `exec`s
//!    the program, the child stays as pid 1 and never returns: it closes
//!    every fd but the status pipe, reaps whatever is reparented to it, and
//!    once the program has exited writes its wait status to the pipe and
//!    exits. Its exit makes the kernel `SIGKILL` every other process of the
//!    namespace (pid_namespaces(7)): daemons that left the process group
//!    included.
//!
//! Between `fork` and `exec` only raw, allocation-free syscalls run (the
//! parent is multithreaded, ARCHITECTURE.md 4.13); the child reads the
//! fds it needs from atomics set before the `fork`, copied with its memory.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};
use rustix::thread::UnshareFlags;

/// The write end of the status pipe of the child about to be forked: set
/// by [`prepare`], read by the child; the caller forks one child at a time
/// between the two.
static STATUS_FD: AtomicI32 = AtomicI32::new(-1);
/// A pidfd of this process, readable once it has exited.
static PARENT_PIDFD: AtomicI32 = AtomicI32::new(-1);

/// What the init writes: the program's wait status, 4 bytes, native order.
const STATUS_LEN: usize = 4;

/// On the thread about to fork, a fresh thread that forks once
/// (`process/spawner.rs`): `unshare(CLONE_NEWPID)`, so that its child is
/// pid 1 of a new PID namespace (the thread itself stays where it is; it
/// may then create no thread, clone(2): `EINVAL`, nor unshare again), and
/// a status pipe (`O_CLOEXEC|O_NONBLOCK`) whose write end the child uses;
/// returns both ends. Drop the write end once the child is forked; read
/// the read end with [`program_status`].
///
/// # Errors
/// `unshare` (`EPERM` without `CAP_SYS_ADMIN` in the user namespace, which
/// rootless mode has; `ENOSPC` at `user.max_pid_namespaces`), `pipe2`,
/// `pidfd_open` (Linux 5.3, `ENOSYS` before).
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html),
///   [pid_namespaces(7)](https://man7.org/linux/man-pages/man7/pid_namespaces.7.html)
/// - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub(crate) fn prepare() -> io::Result<(OwnedFd, OwnedFd)> {
    static PIDFD: OnceLock<OwnedFd> = OnceLock::new();
    if PIDFD.get().is_none() {
        let me = Pid::from_raw(std::process::id() as i32).ok_or(Errno::SRCH)?;
        let fd = rustix::process::pidfd_open(me, PidfdFlags::empty())?;
        let fd = PIDFD.get_or_init(|| fd);
        PARENT_PIDFD.store(fd.as_raw_fd(), Ordering::Release);
    }
    // SAFETY: CLONE_NEWPID changes only which PID namespace this thread's
    // later children are made in; it unshares no memory, fd table or fs
    // info. The thread forks once and creates no thread.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID) }?;
    let mut fds = [-1; 2];
    // SAFETY: pipe2 writes two fds into our array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just made, and are ours alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    STATUS_FD.store(write.as_raw_fd(), Ordering::Release);
    Ok((read, write))
}

/// Blocks until process `pid` (a child of this process) has exited,
/// without reaping it: `poll` on its pidfd (readable once it has exited,
/// pidfd_open(2)). Returns at once if there is no such process.
pub(crate) fn until_exited(pid: u32) {
    let Some(pid) = Pid::from_raw(pid as i32) else {
        return;
    };
    let Ok(fd) = rustix::process::pidfd_open(pid, PidfdFlags::empty()) else {
        return;
    };
    let mut poll = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on our stack, its fd open until `fd` drops.
    while unsafe { libc::poll(&mut poll, 1, -1) } < 0 {
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// In the child, between `fork` and `exec`: becomes the init of its PID
/// namespace and lets a child of its own (pid 2) return to `exec` the
/// program (the module's step 2). Does nothing if the caller is not pid 1
/// (a command spawned without [`prepare`], or this step met a second time
/// in the program's own process).
///
/// # Errors
/// `ESRCH` if this process (the test's) has exited since the `fork`: the
/// death signal asked for before may never come. `fork`'s errno.
///
/// # Safety
/// Only between `fork` and `exec`, after `PR_SET_PDEATHSIG`.
pub(crate) unsafe fn run_under_init() -> io::Result<()> {
    if rustix::process::getpid().as_raw_nonzero().get() != 1 {
        return Ok(());
    }
    let parent = PARENT_PIDFD.load(Ordering::Acquire);
    let status_fd = STATUS_FD.load(Ordering::Acquire);
    let mut poll = libc::pollfd {
        fd: parent,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on our stack; poll(2) is async-signal-safe.
    if parent < 0 || unsafe { libc::poll(&mut poll, 1, 0) } != 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // A raw fork: glibc's fork() runs atfork handlers that take locks other
    // threads of the parent may have held (malloc's).
    // SAFETY: clone with SIGCHLD and no stack is fork(2): the child gets a
    // copy of this single-threaded process and of its stack.
    let program =
        unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_long, 0, 0, 0, 0) };
    match program {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(()), // pid 2: exec the program
        program => unsafe { init(program as libc::pid_t, status_fd) },
    }
}

/// Pid 1's loop: never returns.
///
/// # Safety
/// Only in the init made by [`run_under_init`].
unsafe fn init(program: libc::pid_t, status_fd: RawFd) -> ! {
    // SAFETY (all below): raw syscalls on our own stack, no allocation.
    unsafe {
        libc::prctl(
            libc::PR_SET_NAME,
            c"netns-test-init".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        );
        // Every fd but the status pipe: std's error pipe (the parent's
        // spawn returns once the program has exec'd and we closed ours),
        // the log, the namespace fd.
        let max = libc::c_uint::MAX as libc::c_long;
        let fd = status_fd.max(0) as libc::c_long;
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0, fd - 1, 0);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, max, 0);
        let mut status: libc::c_int = 0;
        loop {
            let reaped = libc::wait4(-1, &mut status, libc::__WALL, std::ptr::null_mut());
            if reaped == program {
                break;
            }
            if reaped == -1 && *libc::__errno_location() == libc::ECHILD {
                libc::_exit(127);
            }
        }
        if status_fd >= 0 {
            let bytes = status.to_ne_bytes();
            libc::write(status_fd, bytes.as_ptr().cast(), STATUS_LEN);
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        libc::_exit(code)
    }
}

/// The program's wait status, as its init wrote it before exiting, if it
/// did (not if the init was killed: `SIGKILL` to the group, the test
/// process's death). Does not block.
pub(crate) fn program_status(pipe: &OwnedFd) -> Option<i32> {
    let mut bytes = [0u8; STATUS_LEN];
    match rustix::io::read(pipe, &mut bytes) {
        Ok(STATUS_LEN) => Some(i32::from_ne_bytes(bytes)),
        _ => None,
    }
}

/// The program's pid as this process sees it (the test's PID namespace):
/// the first child of its init `init`, from
/// `/proc/INIT/task/INIT/children` (proc(5), `CONFIG_PROC_CHILDREN`), else
/// from a scan of `/proc` for a process whose parent is `init`; `None` if
/// it has exited already. `/proc` is this process's mount: its pids are
/// the test's namespace's.
pub(crate) fn program_pid(init: u32) -> Option<u32> {
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")) {
        return text.split_whitespace().next()?.parse().ok();
    }
    super::proc_fd::children_of(init, 1 << 16)
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_written_to_the_pipe_is_read_back_and_none_without_one() {
        let mut fds = [-1; 2];
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK) },
            0
        );
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        assert_eq!(program_status(&read), None);
        rustix::io::write(&write, &(15i32 << 8).to_ne_bytes()).unwrap();
        assert_eq!(program_status(&read), Some(15 << 8));
    }
}
