//! Namespace files and moves: `unshare(2)`, `setns(2)`, nsfs checks
//! (ioctl_ns(2)). New network namespaces are made in `nursery.rs`.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

use crate::error::{Error, Result};

/// `unshare(CLONE_NEWNS)`: gives the calling thread a private copy of the
/// mount table (it also unshares the thread's fs info, CLONE_FS).
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
pub(crate) fn unshare_mountns() -> Result<()> {
    // SAFETY: CLONE_NEWNS implies CLONE_FS, not CLONE_FILES; see above.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .map_err(|e| Error::sys("unshare(CLONE_NEWNS)", None, e))
}

/// `setns(fd, CLONE_NEWNET)`: moves the calling thread into the network
/// namespace `fd` refers to.
///
/// # References
/// - [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html)
pub(crate) fn setns_net(fd: BorrowedFd<'_>, path: Option<&Path>) -> Result<()> {
    rustix::thread::move_into_link_name_space(fd, Some(LinkNameSpaceType::Network))
        .map_err(|e| Error::sys("setns(CLONE_NEWNET)", path.map(Path::to_path_buf), e))
}

/// `open(path, O_RDONLY|O_CLOEXEC)` of a namespace file.
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
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

/// `statfs(path)`: whether an nsfs file is mounted at `path` (a namespace
/// bind mount, not a bare placeholder).
///
/// # References
/// - [statfs(2)](https://man7.org/linux/man-pages/man2/statfs.2.html)
pub(crate) fn is_nsfs_mount(path: &Path) -> Result<bool> {
    let fs = rustix::fs::statfs(path).map_err(|e| Error::sys("statfs", path.to_path_buf(), e))?;
    Ok(fs.f_type as u64 == NSFS_MAGIC)
}

/// `stat("/proc/thread-self/ns/net")`: the nsfs inode of the calling
/// thread's network namespace (what `ls -iL /proc/thread-self/ns/net`
/// prints), or `None` if `/proc` cannot tell (not mounted).
///
/// # References
/// - [proc(5)](https://man7.org/linux/man-pages/man5/proc.5.html), `/proc/pid/ns/`
/// - [stat(2)](https://man7.org/linux/man-pages/man2/stat.2.html)
pub(crate) fn thread_netns_inode() -> Option<u64> {
    rustix::fs::stat(super::thread_netns_path())
        .ok()
        .map(|st| st.st_ino)
}

/// `gettid()`: the calling thread's id, which names it under
/// `/proc/self/task/`.
///
/// # References
/// - [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
pub(crate) fn thread_id() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}

/// `stat("/proc/self/task/TID/ns/net")`: the nsfs inode of the network
/// namespace of this process's thread `tid`, or `None` if that thread is
/// gone (or `/proc` cannot tell).
///
/// # References
/// - [proc(5)](https://man7.org/linux/man-pages/man5/proc.5.html), `/proc/pid/task`
pub(crate) fn task_netns_inode(tid: i32) -> Option<u64> {
    rustix::fs::stat(format!("/proc/self/task/{tid}/ns/net"))
        .ok()
        .map(|st| st.st_ino)
}
