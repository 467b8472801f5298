//! The syscall layer: the only module that talks to the kernel (through
//! rustix). Each function is one kernel step, named after the call it makes,
//! and maps the errno to an [`Error`] that says what was done to which path.
//!
//! Paths into `/proc` go through [`thread_self`]: a network namespace belongs
//! to a thread, and `/proc/self` names the main thread's (proc(5)).

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

use crate::error::{Error, Result};

/// `/proc/thread-self/REL`: the calling thread's view of `/proc`.
pub(crate) fn thread_self(rel: &str) -> PathBuf {
    Path::new("/proc/thread-self").join(rel)
}

/// `/proc/thread-self/ns/net`, the calling thread's network namespace.
pub(crate) fn thread_netns_path() -> PathBuf {
    thread_self("ns/net")
}

/// `unshare(CLONE_NEWNET)`: moves the calling thread (only) into a new network
/// namespace whose only link is `lo`, DOWN. unshare(2), network_namespaces(7).
pub(crate) fn unshare_netns() -> Result<()> {
    // SAFETY: CLONE_NEWNET does not unshare the fd table (CLONE_FILES), the
    // one flag that can break other threads' view of file descriptors.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }
        .map_err(|e| Error::sys("unshare(CLONE_NEWNET)", None, e))
}

/// `unshare(CLONE_NEWNS)`: gives the calling thread a private copy of the
/// mount table (it also unshares the thread's fs info, CLONE_FS).
pub(crate) fn unshare_mountns() -> Result<()> {
    // SAFETY: CLONE_NEWNS implies CLONE_FS, not CLONE_FILES; see above.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .map_err(|e| Error::sys("unshare(CLONE_NEWNS)", None, e))
}

/// `setns(fd, CLONE_NEWNET)`: moves the calling thread into the network
/// namespace `fd` refers to. setns(2).
pub(crate) fn setns_net(fd: BorrowedFd<'_>, path: Option<&Path>) -> Result<()> {
    rustix::thread::move_into_link_name_space(fd, Some(LinkNameSpaceType::Network))
        .map_err(|e| Error::sys("setns(CLONE_NEWNET)", path.map(Path::to_path_buf), e))
}

/// `open(path, O_RDONLY|O_CLOEXEC)` of a namespace file.
pub(crate) fn open_ns_file(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::sys("open", path.to_path_buf(), e))
}

/// `NSFS_MAGIC` (linux/magic.h): the file system of namespace files.
const NSFS_MAGIC: u64 = 0x6e73_6673;

/// `ioctl(fd, NS_GET_NSTYPE)` (ioctl_ns(2)): the `CLONE_NEW*` type of the
/// namespace `fd` refers to, as the call's return value.
struct NsGetNsType;

// SAFETY: NS_GET_NSTYPE takes no argument and does not write through one; its
// result is the return value.
unsafe impl rustix::ioctl::Ioctl for NsGetNsType {
    type Output = i32;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> rustix::ioctl::Opcode {
        // _IO(NSIO, 0x3), NSIO = 0xb7 (linux/nsfs.h).
        rustix::ioctl::opcode::none(0xb7, 0x3)
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        core::ptr::null_mut()
    }

    unsafe fn output_from_ptr(
        out: rustix::ioctl::IoctlOutput,
        _: *mut core::ffi::c_void,
    ) -> rustix::io::Result<i32> {
        Ok(out)
    }
}

/// Checks that `fd` is a network namespace: an nsfs file (`fstatfs`, however
/// it was reached: `/proc/PID/ns/net` or a bind mount of it) whose
/// `NS_GET_NSTYPE` is `CLONE_NEWNET`.
pub(crate) fn check_netns_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let fs = rustix::fs::fstatfs(fd).map_err(|e| Error::sys("fstatfs", path.to_path_buf(), e))?;
    if fs.f_type as u64 != NSFS_MAGIC {
        let found = match rustix::fs::fstat(fd) {
            Ok(st) if st.st_size == 0 && (st.st_mode & 0o170000) == 0o100000 => {
                "an empty regular file, not an nsfs mount".to_owned()
            }
            _ => format!("not an nsfs file (file system magic {:#x})", fs.f_type),
        };
        return Err(Error::NotNetns {
            path: path.to_path_buf(),
            found,
        });
    }
    // SAFETY: NsGetNsType is a valid, argument-less ioctl on nsfs files.
    let ty = unsafe { rustix::ioctl::ioctl(fd, NsGetNsType) }
        .map_err(|e| Error::sys("ioctl(NS_GET_NSTYPE)", path.to_path_buf(), e))?;
    if ty as u32 == UnshareFlags::NEWNET.bits() {
        return Ok(());
    }
    let kind = match UnshareFlags::from_bits_retain(ty as u32) {
        UnshareFlags::NEWNS => "a mount namespace",
        UnshareFlags::NEWUTS => "a UTS namespace",
        UnshareFlags::NEWIPC => "an IPC namespace",
        UnshareFlags::NEWUSER => "a user namespace",
        UnshareFlags::NEWPID => "a PID namespace",
        UnshareFlags::NEWCGROUP => "a cgroup namespace",
        UnshareFlags::NEWTIME => "a time namespace",
        _ => "a namespace of another type",
    };
    Err(Error::NotNetns {
        path: path.to_path_buf(),
        found: kind.to_owned(),
    })
}

/// `fstat(fd)`: the nsfs device and inode that identify a namespace
/// (the inode is what `ls -i /proc/thread-self/ns/net` and `lsns` print).
pub(crate) fn ns_id(fd: BorrowedFd<'_>) -> Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::sys("fstat", None, e))?;
    Ok((st.st_dev, st.st_ino))
}

/// `stat(path)`: device and inode, or `None` when the path does not exist.
pub(crate) fn stat_id(path: &Path) -> Result<Option<(u64, u64)>> {
    match rustix::fs::stat(path) {
        Ok(st) => Ok(Some((st.st_dev, st.st_ino))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::sys("stat", path.to_path_buf(), e)),
    }
}

/// `mkdir(path, 0755)`, creating missing parents; an existing directory is fine.
pub(crate) fn mkdir_0755(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty()
            && rustix::fs::access(parent, rustix::fs::Access::EXISTS).is_err()
        {
            mkdir_0755(parent)?;
        }
    }
    match rustix::fs::mkdir(path, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(Error::sys("mkdir", path.to_path_buf(), e)),
    }
}

/// `open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC)` then `flock(LOCK_EX)`: the
/// lock iproute2 takes on the run directory around its mount setup. It is
/// released when the returned fd is dropped.
pub(crate) fn lock_dir(path: &Path) -> Result<OwnedFd> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", path.to_path_buf(), e))?;
    rustix::fs::flock(&fd, FlockOperation::LockExclusive)
        .map_err(|e| Error::sys("flock(LOCK_EX)", path.to_path_buf(), e))?;
    Ok(fd)
}

/// `mount("", path, NULL, MS_SHARED|MS_REC, NULL)`. The raw errno is
/// returned because `EINVAL` (not a mount point) is a step, not a failure.
pub(crate) fn make_shared_rec(path: &Path) -> std::result::Result<(), Errno> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::SHARED | MountPropagationFlags::REC,
    )
}

/// `mount("", path, NULL, MS_PRIVATE|MS_REC, NULL)`.
pub(crate) fn make_private_rec(path: &Path) -> Result<()> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| Error::sys("mount --make-rprivate", path.to_path_buf(), e))
}

/// `mount("", path, NULL, MS_SLAVE|MS_REC, NULL)`.
pub(crate) fn make_slave_rec(path: &Path) -> Result<()> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| Error::sys("mount --make-rslave", path.to_path_buf(), e))
}

/// `mount(src, dst, NULL, MS_BIND|MS_REC, NULL)`.
pub(crate) fn bind_mount_rec(src: &Path, dst: &Path) -> Result<()> {
    rustix::mount::mount_bind_recursive(src, dst)
        .map_err(|e| Error::sys("mount --rbind", dst.to_path_buf(), e))
}

/// `mount(src, dst, NULL, MS_BIND, NULL)`.
pub(crate) fn bind_mount(src: &Path, dst: &Path) -> Result<()> {
    rustix::mount::mount_bind(src, dst)
        .map_err(|e| Error::sys("mount --bind", dst.to_path_buf(), e))
}

/// `mount("sysfs", path, "sysfs", 0, NULL)`.
pub(crate) fn mount_sysfs(path: &Path) -> Result<()> {
    rustix::mount::mount("sysfs", path, "sysfs", MountFlags::empty(), None)
        .map_err(|e| Error::sys("mount -t sysfs", path.to_path_buf(), e))
}

/// `umount2(path, MNT_DETACH)` until the kernel answers `EINVAL` (nothing
/// mounted there any more), as `ip netns del` does for stacked mounts.
/// Returns how many mounts were removed.
pub(crate) fn unmount_all(path: &Path) -> Result<usize> {
    let mut removed = 0;
    loop {
        match rustix::mount::unmount(path, UnmountFlags::DETACH) {
            Ok(()) => removed += 1,
            Err(Errno::INVAL) => return Ok(removed),
            Err(e) => return Err(Error::sys("umount2(MNT_DETACH)", path.to_path_buf(), e)),
        }
    }
}

/// `umount2(path, MNT_DETACH)` once.
pub(crate) fn unmount_detach(path: &Path) -> Result<()> {
    rustix::mount::unmount(path, UnmountFlags::DETACH)
        .map_err(|e| Error::sys("umount2(MNT_DETACH)", path.to_path_buf(), e))
}

/// `open(path, O_RDONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0)`: the placeholder the
/// namespace is bind-mounted onto. `O_EXCL` makes a taken name an error
/// instead of a second, stacked mount (ip/ipnetns.c, `netns_add`).
pub(crate) fn create_placeholder(path: &Path) -> Result<()> {
    match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(_fd) => Ok(()),
        Err(Errno::EXIST) => Err(Error::AlreadyExists {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(Error::sys("create", path.to_path_buf(), e)),
    }
}

/// `unlink(path)`.
pub(crate) fn unlink(path: &Path) -> Result<()> {
    rustix::fs::unlink(path).map_err(|e| Error::sys("unlink", path.to_path_buf(), e))
}

/// `statvfs(path)`: whether the file system mounted at `path` is read-only
/// (`ST_RDONLY`). A fresh mount that shadows it must not be writable where it
/// was not (iproute2 lib/namespace.c, `netns_switch`).
pub(crate) fn is_read_only(path: &Path) -> Result<bool> {
    let st = rustix::fs::statvfs(path).map_err(|e| Error::sys("statvfs", path.to_path_buf(), e))?;
    Ok(st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
}

/// `mount("sysfs", path, "sysfs", MS_RDONLY, NULL)`.
pub(crate) fn mount_sysfs_read_only(path: &Path) -> Result<()> {
    rustix::mount::mount("sysfs", path, "sysfs", MountFlags::RDONLY, None)
        .map_err(|e| Error::sys("mount -t sysfs -o ro", path.to_path_buf(), e))
}

/// `opendir(path)` and `readdir` until the end: the names of the entries,
/// without `.` and `..`, unsorted. A missing directory has no entries.
pub(crate) fn dir_entries(path: &Path) -> Result<Vec<std::ffi::OsString>> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("opendir", path, &e)),
    };
    entries
        .map(|entry| {
            entry
                .map(|entry| entry.file_name())
                .map_err(|e| Error::io("readdir", path, &e))
        })
        .collect()
}

// Rootless mode (src/rootless.rs). These run in an `.init_array` constructor,
// before `main` and before Rust's runtime is set up: rustix calls only, paths
// as `&CStr` (no conversion buffers), caller-provided buffers, no allocation,
// no panics. Errors are the bare errno; the caller records which step failed.

/// `capget(2)`: whether `CAP_SYS_ADMIN` is in the calling thread's effective
/// set, or `None` if the call fails.
pub(crate) fn has_cap_sys_admin() -> Option<bool> {
    let caps = rustix::thread::capabilities(None).ok()?;
    Some(
        caps.effective
            .contains(rustix::thread::CapabilitySet::SYS_ADMIN),
    )
}

/// `geteuid()` and `getegid()`, as raw ids.
pub(crate) fn effective_ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

/// `unshare(CLONE_NEWUSER|CLONE_NEWNS)`: the process (it must be
/// single-threaded, or this fails with `EINVAL`) moves into a new user
/// namespace, with full capabilities there, and a new mount namespace owned
/// by it. unshare(2), user_namespaces(7).
pub(crate) fn unshare_user_and_mount_ns() -> std::result::Result<(), Errno> {
    // SAFETY: neither flag unshares the fd table (CLONE_FILES); and the
    // process has a single thread, or the kernel refuses.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNS) }
}

/// `open(path, O_WRONLY|O_CLOEXEC)` and a single `write(data)`: a
/// `/proc/PID/uid_map` must be written in one `write` (user_namespaces(7)).
pub(crate) fn write_once(path: &CStr, data: &[u8]) -> std::result::Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    let n = rustix::io::write(&fd, data)?;
    if n == data.len() {
        Ok(())
    } else {
        Err(Errno::IO)
    }
}

/// `open(path, O_RDONLY|O_CLOEXEC)` and `read` into `buf` until it is full or
/// the file ends; the number of bytes read.
pub(crate) fn read_small(path: &CStr, buf: &mut [u8]) -> std::result::Result<usize, Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut len = 0;
    while let Some(rest) = buf.get_mut(len..).filter(|rest| !rest.is_empty()) {
        match rustix::io::read(&fd, rest) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// `open(path, O_RDONLY|O_CLOEXEC)` and `read` to the end, `buf` at a time,
/// handing each chunk to `f`.
pub(crate) fn read_chunks(
    path: &CStr,
    buf: &mut [u8],
    mut f: impl FnMut(&[u8]),
) -> std::result::Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    loop {
        match rustix::io::read(&fd, &mut *buf) {
            Ok(0) => return Ok(()),
            Ok(n) => f(buf.get(..n).unwrap_or_default()),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// `mount("", path, NULL, MS_PRIVATE|MS_REC, NULL)`.
pub(crate) fn make_private_rec_raw(path: &CStr) -> std::result::Result<(), Errno> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
}

/// `stat(a)` and `stat(b)`: whether both are the same directory (device and
/// inode), `None` if either is missing.
pub(crate) fn same_dir(a: &CStr, b: &CStr) -> Option<bool> {
    let a = rustix::fs::stat(a).ok()?;
    let b = rustix::fs::stat(b).ok()?;
    Some((a.st_dev, a.st_ino) == (b.st_dev, b.st_ino))
}

/// `open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC)`.
pub(crate) fn open_dir_raw(path: &CStr) -> std::result::Result<OwnedFd, Errno> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// `mount("tmpfs", target, "tmpfs", MS_NOSUID|MS_NODEV, "mode=0755")`.
pub(crate) fn mount_tmpfs_raw(target: &CStr) -> std::result::Result<(), Errno> {
    rustix::mount::mount(
        c"tmpfs",
        target,
        c"tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(c"mode=0755"),
    )
}

/// `getdents64(dir)` to the end, `buf` at a time: each entry's name and type
/// (`FileType::Unknown` where the file system does not say).
pub(crate) fn for_each_dir_entry(
    dir: BorrowedFd<'_>,
    buf: &mut [std::mem::MaybeUninit<u8>],
    mut f: impl FnMut(&CStr, rustix::fs::FileType),
) -> std::result::Result<(), Errno> {
    let mut entries = rustix::fs::RawDir::new(dir, buf);
    while let Some(entry) = entries.next() {
        let entry = entry?;
        f(entry.file_name(), entry.file_type());
    }
    Ok(())
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the file's type.
pub(crate) fn file_type_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
) -> std::result::Result<rustix::fs::FileType, Errno> {
    let st = rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(rustix::fs::FileType::from_raw_mode(st.st_mode))
}

/// `mkdirat(dir, name, 0755)`.
pub(crate) fn mkdirat_raw(dir: BorrowedFd<'_>, name: &CStr) -> std::result::Result<(), Errno> {
    rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o755))
}

/// `openat(dir, name, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644)`, closed at
/// once: an empty file to mount a file onto.
pub(crate) fn create_file_at(dir: BorrowedFd<'_>, name: &CStr) -> std::result::Result<(), Errno> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map(drop)
}

/// `readlinkat(dir, name, buf)`: the length of the target (not
/// NUL-terminated; equal to `buf.len()` if it may have been cut short).
pub(crate) fn readlinkat_raw(
    dir: BorrowedFd<'_>,
    name: &CStr,
    buf: &mut [u8],
) -> std::result::Result<usize, Errno> {
    rustix::fs::readlinkat_raw(dir, name, buf)
}

/// `symlinkat(target, dir, name)`.
pub(crate) fn symlinkat_raw(
    target: &CStr,
    dir: BorrowedFd<'_>,
    name: &CStr,
) -> std::result::Result<(), Errno> {
    rustix::fs::symlinkat(target, dir, name)
}

/// `mount(src, dst, NULL, MS_BIND|MS_REC, NULL)`.
pub(crate) fn bind_mount_rec_raw(src: &CStr, dst: &CStr) -> std::result::Result<(), Errno> {
    rustix::mount::mount_bind_recursive(src, dst)
}

/// `kill(pid, 0)` (kill(2)): whether the process `pid`, given as the decimal
/// text a record or a name carries, is gone (`ESRCH`). Anything that is not a
/// valid pid, or any other answer (`EPERM`: it exists but is another user's),
/// counts as alive, so nothing of a live process is ever taken for a leftover.
pub(crate) fn pid_is_gone(pid: &str) -> bool {
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some(pid) = pid
        .parse::<i32>()
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::test_kill_process(pid) == Err(Errno::SRCH)
}

// Crash safety (issue 7): owner records, name locks and the sweep
// (src/namespace/owner.rs, src/namespace/sweep.rs).

/// `lstat(path)` (no symlink followed): the file's type, or `None` when
/// nothing is there. A mount point reports the mounted file's type.
pub(crate) fn lstat_type(path: &Path) -> Result<Option<rustix::fs::FileType>> {
    match rustix::fs::lstat(path) {
        Ok(st) => Ok(Some(rustix::fs::FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::sys("lstat", path.to_path_buf(), e)),
    }
}

/// `statfs(path)`: whether an nsfs file is mounted at `path` (a namespace
/// bind mount, not a bare placeholder).
pub(crate) fn is_nsfs_mount(path: &Path) -> Result<bool> {
    let fs = rustix::fs::statfs(path).map_err(|e| Error::sys("statfs", path.to_path_buf(), e))?;
    Ok(fs.f_type as u64 == NSFS_MAGIC)
}

/// `umount2(path, MNT_DETACH|UMOUNT_NOFOLLOW)` until the kernel answers
/// `EINVAL`, as [`unmount_all`], but a symlink at `path` is never followed
/// out of the directory. Returns how many mounts were removed.
pub(crate) fn unmount_all_nofollow(path: &Path) -> Result<usize> {
    let mut removed = 0;
    loop {
        match rustix::mount::unmount(path, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW) {
            Ok(()) => removed += 1,
            Err(Errno::INVAL) => return Ok(removed),
            Err(e) => {
                return Err(Error::sys(
                    "umount2(MNT_DETACH|UMOUNT_NOFOLLOW)",
                    path.to_path_buf(),
                    e,
                ))
            }
        }
    }
}

/// `flock(fd, LOCK_EX)`, or with `wait: false` `flock(fd, LOCK_EX|LOCK_NB)`:
/// `Ok(false)` if another open file description holds a lock on the file.
pub(crate) fn flock_exclusive(fd: BorrowedFd<'_>, path: &Path, wait: bool) -> Result<bool> {
    let (op, name) = if wait {
        (FlockOperation::LockExclusive, "flock(LOCK_EX)")
    } else {
        (
            FlockOperation::NonBlockingLockExclusive,
            "flock(LOCK_EX|LOCK_NB)",
        )
    };
    match rustix::fs::flock(fd, op) {
        Ok(()) => Ok(true),
        Err(Errno::WOULDBLOCK) if !wait => Ok(false),
        Err(e) => Err(Error::sys(name, path.to_path_buf(), e)),
    }
}

/// `kill(getpid(), SIGKILL)`: dies at once, as under `kill -9`: no unwinding,
/// no `atexit` handler, no core file. For the crash points of tests only.
#[cfg(feature = "__crash-points")]
pub(crate) fn kill_self() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    std::process::abort()
}
