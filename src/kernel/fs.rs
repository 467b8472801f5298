//! Files and directories: `stat`, `mkdir`, `flock`, the run directory's
//! placeholder, `unlink`, `readdir`; and what private files in a shared
//! directory need: opens that follow no symbolic link, `fstat` owner and
//! mode, `fchmod`, `O_EXCL` creation with a mode, random names.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// `stat(path)`: device and inode, or `None` when the path does not exist.
///
/// # References
/// - [stat(2)](https://man7.org/linux/man-pages/man2/stat.2.html)
pub(crate) fn stat_id(path: &Path) -> Result<Option<(u64, u64)>> {
    match rustix::fs::stat(path) {
        Ok(st) => Ok(Some((st.st_dev, st.st_ino))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::sys("stat", path.to_path_buf(), e)),
    }
}

/// `mkdir(path, 0755)`, creating missing parents; an existing directory is fine.
///
/// # References
/// - [mkdir(2)](https://man7.org/linux/man-pages/man2/mkdir.2.html)
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
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn lock_dir(path: &Path) -> Result<OwnedFd> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", path.to_path_buf(), e))?;
    flock(&fd, FlockOperation::LockExclusive, path)?;
    Ok(fd)
}

/// `open(path, O_RDONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0)`: the placeholder the
/// namespace is bind-mounted onto. `O_EXCL` makes a taken name an error
/// instead of a second, stacked mount (ip/ipnetns.c, `netns_add`).
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
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
///
/// # References
/// - [unlink(2)](https://man7.org/linux/man-pages/man2/unlink.2.html)
pub(crate) fn unlink(path: &Path) -> Result<()> {
    rustix::fs::unlink(path).map_err(|e| Error::sys("unlink", path.to_path_buf(), e))
}

/// `opendir(path)` and `readdir` until the end: the names of the entries,
/// without `.` and `..`, unsorted. A missing directory has no entries.
///
/// # References
/// - [opendir(3)](https://man7.org/linux/man-pages/man3/opendir.3.html)
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

/// `open(path, O_RDONLY)` and `read` to the end of a small `/proc` file, or
/// `None` if it cannot be read (missing on this kernel, or not permitted).
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn read_proc(path: &str) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// [`read_proc`], with the errno when the file cannot be read (`ENOENT`:
/// not on this kernel; `EACCES`: not permitted).
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn read_proc_or_errno(path: &Path) -> std::result::Result<Vec<u8>, Errno> {
    std::fs::read(path).map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
}

/// `lstat(path)` (no symlink followed): the file's type, or `None` when
/// nothing is there. A mount point reports the mounted file's type.
///
/// # References
/// - [lstat(2)](https://man7.org/linux/man-pages/man2/stat.2.html)
pub(crate) fn lstat_type(path: &Path) -> Result<Option<rustix::fs::FileType>> {
    match rustix::fs::lstat(path) {
        Ok(st) => Ok(Some(rustix::fs::FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::sys("lstat", path.to_path_buf(), e)),
    }
}

/// `flock(fd, op)`—applies or removes an advisory lock on the open file
/// description of `fd`; `path` is the file's, for errors. A blocking `op`
/// waits until the lock is granted; a non-blocking one
/// (`NonBlockingLock*`, `LOCK_NB`) returns `Ok(false)` at once if another
/// open file description holds a conflicting lock (`EWOULDBLOCK`). The lock
/// goes with the open file description: it is released when the last fd of
/// it is closed, and two opens of one file conflict even in one process.
///
/// # Errors
/// [`Error::Sys`] naming `flock(LOCK_EX)` (or the operation) and `path`:
/// `EINTR`, `ENOLCK`, `EBADF`.
///
/// # References
/// - [flock(2)](https://man7.org/linux/man-pages/man2/flock.2.html)
#[doc(alias = "LOCK_EX")]
pub(crate) fn flock(fd: impl AsFd, op: FlockOperation, path: &Path) -> Result<bool> {
    match rustix::fs::flock(fd, op) {
        Ok(()) => Ok(true),
        Err(Errno::WOULDBLOCK) if is_non_blocking(op) => Ok(false),
        Err(e) => Err(Error::sys(flock_name(op), path.to_path_buf(), e)),
    }
}

/// The owner, type and permission bits of an open file, as `fstat` reports
/// them in this process's user namespace (a rootless process, uid 0 inside,
/// sees its real user's files as uid 0 and other users' as the overflow
/// uid; user_namespaces(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileOwner {
    /// `st_uid`.
    pub(crate) uid: u32,
    /// `st_mode & 07777`: permission, set-id and sticky bits.
    pub(crate) mode: u32,
    /// `S_ISDIR(st_mode)`.
    pub(crate) is_dir: bool,
}

/// `open(path, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)`—Opens a
/// directory, never through a symbolic link in its last component.
///
/// What is checked on the returned fd (`fstat_owner`) is the directory
/// itself, not whatever a path names a moment later.
///
/// # Errors
/// [`Error::Sys`] naming `open(O_DIRECTORY|O_NOFOLLOW)` and the path:
/// `ELOOP` if the path is a symbolic link, `ENOTDIR` if it is not a
/// directory, `ENOENT`, `EACCES`.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
#[doc(alias = "open")]
pub(crate) fn open_dir_nofollow(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open(O_DIRECTORY|O_NOFOLLOW)", path.to_path_buf(), e))
}

/// `fstat(fd)`—The owner, type and mode of the open file `fd` (opened
/// from `path`, which only names it in an error).
///
/// # Errors
/// [`Error::Sys`] naming `fstat` and the path (`EBADF`, `EOVERFLOW`: not
/// expected of an fd this crate opened).
///
/// # References
///  - [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
#[doc(alias = "fstat")]
pub(crate) fn fstat_owner(fd: BorrowedFd<'_>, path: &Path) -> Result<FileOwner> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::sys("fstat", path.to_path_buf(), e))?;
    Ok(FileOwner {
        uid: st.st_uid,
        mode: st.st_mode & 0o7777,
        is_dir: rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory,
    })
}

/// `fchmod(fd, mode)`—Sets the permission bits of the open file `fd`
/// (opened from `path`, which only names it in an error).
///
/// # Errors
/// [`Error::Sys`] naming `fchmod` and the path: `EPERM` if the file is not
/// the caller's, `EROFS` on a read-only mount.
///
/// # References
///  - [fchmod(2)](https://man7.org/linux/man-pages/man2/fchmod.2.html)
pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: u32, path: &Path) -> Result<()> {
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))
        .map_err(|e| Error::sys("fchmod", path.to_path_buf(), e))
}

/// `mkdir(path, mode)`—Makes one directory (the mode less the umask);
/// `Ok(false)` if something already has that name (`EEXIST`: a directory,
/// a file or a symbolic link, not looked at here).
///
/// # Errors
/// [`Error::Sys`] naming `mkdir` and the path: `ENOENT` if the parent is
/// missing, `EACCES`, `EROFS`, `ENOSPC`.
///
/// # References
///  - [mkdir(2)](https://man7.org/linux/man-pages/man2/mkdir.2.html)
#[doc(alias = "mkdir")]
pub(crate) fn mkdir_mode(path: &Path, mode: u32) -> Result<bool> {
    match rustix::fs::mkdir(path, Mode::from_raw_mode(mode)) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(Error::sys("mkdir", path.to_path_buf(), e)),
    }
}

/// `open(path, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode)`—Creates
/// a new file (the mode less the umask) and opens it for writing.
///
/// `O_EXCL` fails on any existing name, a symbolic link included (it is
/// never followed, dangling or not), so the file written is always the one
/// just made, never one planted at that name.
///
/// # Errors
/// [`Error::Sys`] naming `open(O_CREAT|O_EXCL|O_NOFOLLOW)` and the path:
/// `EEXIST` if the name is taken, `ENOENT` if the directory is missing,
/// `EACCES`, `EROFS`, `ENOSPC`.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
#[doc(alias = "open")]
pub(crate) fn create_new_file(path: &Path, mode: u32) -> Result<std::fs::File> {
    rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )
    .map(std::fs::File::from)
    .map_err(|e| Error::sys("open(O_CREAT|O_EXCL|O_NOFOLLOW)", path.to_path_buf(), e))
}

/// `getrandom(buf, 0)`—Eight bytes from the kernel's random pool: the
/// unpredictable part of a name made in a shared directory.
///
/// # Errors
/// [`Error::Sys`] naming `getrandom` (`ENOSYS` before Linux 3.17; blocks,
/// rather than fails, until the pool is initialised at boot).
///
/// # References
///  - [getrandom(2)](https://man7.org/linux/man-pages/man2/getrandom.2.html)
#[doc(alias = "getrandom")]
pub(crate) fn random_u64() -> Result<u64> {
    let mut buf = [0u8; 8];
    let mut filled = 0;
    while filled < buf.len() {
        filled +=
            rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty())
                .map_err(|e| Error::sys("getrandom", None, e))?;
    }
    Ok(u64::from_ne_bytes(buf))
}

fn is_non_blocking(op: FlockOperation) -> bool {
    matches!(
        op,
        FlockOperation::NonBlockingLockShared
            | FlockOperation::NonBlockingLockExclusive
            | FlockOperation::NonBlockingUnlock
    )
}

/// The C spelling of `op`, for errors.
fn flock_name(op: FlockOperation) -> &'static str {
    match op {
        FlockOperation::LockShared => "flock(LOCK_SH)",
        FlockOperation::LockExclusive => "flock(LOCK_EX)",
        FlockOperation::Unlock => "flock(LOCK_UN)",
        FlockOperation::NonBlockingLockShared => "flock(LOCK_SH|LOCK_NB)",
        FlockOperation::NonBlockingLockExclusive => "flock(LOCK_EX|LOCK_NB)",
        FlockOperation::NonBlockingUnlock => "flock(LOCK_UN|LOCK_NB)",
    }
}

/// `fstat(fd)`—the device and inode of the file `fd` is open on: what
/// identifies a file across opens (a lock file still the one at its path),
/// or a namespace on nsfs (the inode `ls -i /proc/thread-self/ns/net` and
/// `lsns` print).
///
/// # Errors
/// [`Error::Sys`] naming `fstat` (`EBADF`, `EIO`).
///
/// # References
/// - [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
#[doc(alias = "fstat")]
pub(crate) fn fstat_id(fd: impl AsFd) -> Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::sys("fstat", None, e))?;
    Ok((st.st_dev, st.st_ino))
}
