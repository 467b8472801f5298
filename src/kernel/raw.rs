//! The calls of the rootless constructor (`privilege::rootless`). They run
//! in an `.init_array` constructor, before `main` and before Rust's runtime
//! is set up: rustix calls only, paths as `&CStr` (no conversion buffers),
//! caller-provided buffers, no allocation, no panics. Errors are the bare
//! errno; the caller records which step failed.

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags};
use rustix::thread::UnshareFlags;

/// `unshare(CLONE_NEWUSER|CLONE_NEWNS)`: the process (it must be
/// single-threaded, or this fails with `EINVAL`) moves into a new user
/// namespace, with full capabilities there, and a new mount namespace owned
/// by it.
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
/// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
pub(crate) fn unshare_user_and_mount_ns() -> std::result::Result<(), Errno> {
    // SAFETY: neither flag unshares the fd table (CLONE_FILES); and the
    // process has a single thread, or the kernel refuses.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNS) }
}

/// `open(path, O_WRONLY|O_CLOEXEC)` and a single `write(data)`: a
/// `/proc/PID/uid_map` must be written in one `write` (user_namespaces(7)).
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
/// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
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
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
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
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
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
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn make_private_rec_raw(path: &CStr) -> std::result::Result<(), Errno> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
}

/// `stat(a)` and `stat(b)`: whether both are the same directory (device and
/// inode), `None` if either is missing.
///
/// # References
/// - [stat(2)](https://man7.org/linux/man-pages/man2/stat.2.html)
pub(crate) fn same_dir(a: &CStr, b: &CStr) -> Option<bool> {
    let a = rustix::fs::stat(a).ok()?;
    let b = rustix::fs::stat(b).ok()?;
    Some((a.st_dev, a.st_ino) == (b.st_dev, b.st_ino))
}

/// `open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC)`.
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn open_dir_raw(path: &CStr) -> std::result::Result<OwnedFd, Errno> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// `mount("tmpfs", target, "tmpfs", MS_NOSUID|MS_NODEV, "mode=0755")`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
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
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn bind_mount_rec_raw(src: &CStr, dst: &CStr) -> std::result::Result<(), Errno> {
    rustix::mount::mount_bind_recursive(src, dst)
}
