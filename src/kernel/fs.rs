//! Files and directories: `stat`, `mkdir`, `flock`, the run directory's
//! placeholder, `unlink`, `readdir`.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

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

/// `flock(fd, LOCK_EX)` or `flock(fd, LOCK_SH)` (flock(2)): blocks until the
/// lock is granted; it is released when the file is closed.
pub(crate) fn flock(file: &impl AsFd, exclusive: bool, path: &Path) -> Result<()> {
    let (op, name) = if exclusive {
        (FlockOperation::LockExclusive, "flock(LOCK_EX)")
    } else {
        (FlockOperation::LockShared, "flock(LOCK_SH)")
    };
    rustix::fs::flock(file, op).map_err(|e| Error::sys(name, path.to_path_buf(), e))
}

/// `open(path, O_RDONLY)` and `read` to the end of a small `/proc` file, or
/// `None` if it cannot be read (missing on this kernel, or not permitted).
pub(crate) fn read_proc(path: &str) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// `lstat(path)` (no symlink followed): the file's type, or `None` when
/// nothing is there. A mount point reports the mounted file's type.
pub(crate) fn lstat_type(path: &Path) -> Result<Option<rustix::fs::FileType>> {
    match rustix::fs::lstat(path) {
        Ok(st) => Ok(Some(rustix::fs::FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::sys("lstat", path.to_path_buf(), e)),
    }
}

/// `flock(fd, LOCK_EX)`, or with `wait: false` `flock(fd, LOCK_EX|LOCK_NB)`:
/// `Ok(false)` if another open file description holds a lock on the file.
pub(crate) fn flock_exclusive(
    fd: std::os::fd::BorrowedFd<'_>,
    path: &Path,
    wait: bool,
) -> Result<bool> {
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
