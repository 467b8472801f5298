//! Mounts: propagation changes, bind mounts, sysfs, unmounts (mount(2),
//! umount2(2), mount_namespaces(7)).

use std::path::Path;

use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use crate::error::{Error, Result};

/// `mount("", path, NULL, MS_SHARED|MS_REC, NULL)`. The raw errno is
/// returned because `EINVAL` (not a mount point) is a step, not a failure.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn make_shared_rec(path: &Path) -> std::result::Result<(), Errno> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::SHARED | MountPropagationFlags::REC,
    )
}

/// `mount("", path, NULL, MS_PRIVATE|MS_REC, NULL)`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn make_private_rec(path: &Path) -> Result<()> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| Error::sys("mount --make-rprivate", path.to_path_buf(), e))
}

/// `mount("", path, NULL, MS_SLAVE|MS_REC, NULL)`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn make_slave_rec(path: &Path) -> Result<()> {
    rustix::mount::mount_change(
        path,
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| Error::sys("mount --make-rslave", path.to_path_buf(), e))
}

/// `mount(src, dst, NULL, MS_BIND|MS_REC, NULL)`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn bind_mount_rec(src: &Path, dst: &Path) -> Result<()> {
    rustix::mount::mount_bind_recursive(src, dst)
        .map_err(|e| Error::sys("mount --rbind", dst.to_path_buf(), e))
}

/// `mount(src, dst, NULL, MS_BIND, NULL)`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn bind_mount(src: &Path, dst: &Path) -> Result<()> {
    rustix::mount::mount_bind(src, dst)
        .map_err(|e| Error::sys("mount --bind", dst.to_path_buf(), e))
}

/// `mount("sysfs", path, "sysfs", 0, NULL)`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn mount_sysfs(path: &Path) -> Result<()> {
    rustix::mount::mount("sysfs", path, "sysfs", MountFlags::empty(), None)
        .map_err(|e| Error::sys("mount -t sysfs", path.to_path_buf(), e))
}

/// `umount2(path, MNT_DETACH)` until the kernel answers `EINVAL` (nothing
/// mounted there any more), as `ip netns del` does for stacked mounts.
/// Returns how many mounts were removed.
///
/// # References
/// - [umount2(2)](https://man7.org/linux/man-pages/man2/umount.2.html)
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
///
/// # References
/// - [umount2(2)](https://man7.org/linux/man-pages/man2/umount.2.html)
pub(crate) fn unmount_detach(path: &Path) -> Result<()> {
    rustix::mount::unmount(path, UnmountFlags::DETACH)
        .map_err(|e| Error::sys("umount2(MNT_DETACH)", path.to_path_buf(), e))
}

/// `statvfs(path)`: whether the file system mounted at `path` is read-only
/// (`ST_RDONLY`). A fresh mount that shadows it must not be writable where it
/// was not (iproute2 lib/namespace.c, `netns_switch`).
///
/// # References
/// - [statvfs(3)](https://man7.org/linux/man-pages/man3/statvfs.3.html)
pub(crate) fn is_read_only(path: &Path) -> Result<bool> {
    let st = rustix::fs::statvfs(path).map_err(|e| Error::sys("statvfs", path.to_path_buf(), e))?;
    Ok(st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
}

/// `mount("sysfs", path, "sysfs", MS_RDONLY, NULL)`.
///
/// # References
/// - [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
pub(crate) fn mount_sysfs_read_only(path: &Path) -> Result<()> {
    rustix::mount::mount("sysfs", path, "sysfs", MountFlags::RDONLY, None)
        .map_err(|e| Error::sys("mount -t sysfs -o ro", path.to_path_buf(), e))
}

/// `umount2(path, MNT_DETACH|UMOUNT_NOFOLLOW)` until the kernel answers
/// `EINVAL`, as [`unmount_all`], but a symlink at `path` is never followed
/// out of the directory. Returns how many mounts were removed.
///
/// # References
/// - [umount2(2)](https://man7.org/linux/man-pages/man2/umount.2.html)
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
