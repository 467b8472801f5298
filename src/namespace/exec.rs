//! [`Netns::enter_for_exec`]: what `ip netns exec NAME` does to itself
//! before it execs the command (iproute2 lib/namespace.c, `netns_switch` and
//! `bind_etc`).
//!
//! Entering the network namespace is not enough for a command: `/sys` shows
//! the namespace of whoever mounted it (so `/sys/class/net` would list the
//! host's links), and `/etc/netns/NAME/` is how iproute2 users give a
//! namespace its own `resolv.conf` or `hosts`. Both need a mount namespace of
//! the command's own, made a slave of the host's so that nothing mounted in it
//! shows on the host.

use std::path::Path;

use crate::error::Result;
use crate::kernel;
use crate::Netns;

/// Where iproute2 looks for a namespace's own configuration files
/// (`NETNS_ETC_DIR`).
const ETC_NETNS_DIR: &str = "/etc/netns";

impl Netns {
    /// Prepares the calling thread to run a command in this namespace, as
    /// `ip netns exec NAME` does before it execs (iproute2 lib/namespace.c,
    /// `netns_switch` and `bind_etc`):
    ///
    /// 1. `setns(fd, CLONE_NEWNET)`, as [`Netns::enter`];
    /// 2. `unshare(CLONE_NEWNS)`: a mount namespace of the thread's own;
    /// 3. `mount("", "/", NULL, MS_SLAVE|MS_REC, NULL)`: host mounts and
    ///    unmounts still reach it, its own never reach the host;
    /// 4. `umount2("/sys", MNT_DETACH)` and a fresh sysfs on `/sys`, so
    ///    `/sys/class/net` lists this namespace's links. It is read-only if
    ///    the old `/sys` was (`statvfs`, `ST_RDONLY`). iproute2 checks that
    ///    only when the unmount fails; checking first means the command never
    ///    gets a writable `/sys` where it had a read-only one;
    /// 5. for a named namespace, each entry `X` of `/etc/netns/NAME/` is
    ///    bind-mounted over `/etc/X` (`MS_BIND`). `/etc/X` must exist: a bind
    ///    mount cannot create it. As in iproute2, a failed bind prints a
    ///    warning on stderr and the others go on.
    ///
    /// # Thread effects
    /// All of it is for good and for the calling thread only: it stays in the
    /// namespace, in a mount namespace of its own and with its own fs info
    /// (root, working directory, umask: `CLONE_NEWNS` implies `CLONE_FS`).
    /// Other threads of the process keep the host's. Child processes and
    /// threads it starts afterwards inherit all of it. Mounts the thread makes
    /// later stay in its mount namespace: to remove a named namespace (an
    /// unmount that must reach the host), use another thread.
    ///
    /// Call it on the thread that will `exec` (the `setns` CLI calls it on its
    /// main thread), or on a thread you own that spawns the command and is
    /// then discarded. Never on a test's or a pool's thread.
    ///
    /// # Errors
    /// [`Error::Sys`](crate::Error::Sys) naming the step that failed:
    /// `setns(CLONE_NEWNET)`, `unshare(CLONE_NEWNS)`, `mount --make-rslave`,
    /// `mount -t sysfs` (`EPERM` without `CAP_SYS_ADMIN`). The steps before
    /// it have been done and are not undone: discard the thread. Problems
    /// with `/etc/netns/NAME/` are warnings, not errors (as in iproute2).
    #[doc(alias = "ip netns exec")]
    #[doc(alias = "netns_switch")]
    pub fn enter_for_exec(&self) -> Result<()> {
        self.enter()?;
        kernel::unshare_mountns()?;
        kernel::make_slave_rec(Path::new("/"))?;
        remount_sys()?;
        if let Some(name) = self.name() {
            bind_etc(name);
        }
        Ok(())
    }
}

/// Step 4: a sysfs of the thread's network namespace on `/sys`.
fn remount_sys() -> Result<()> {
    let sys_dir = Path::new("/sys");
    // No /sys at all (a minimal chroot) is not read-only: the mount below
    // then says what is wrong.
    let read_only = kernel::is_read_only(sys_dir).unwrap_or(false);
    // Failing is fine, as in iproute2: perhaps no sysfs was mounted, or it is
    // locked (a mount namespace owned by another user namespace); the fresh
    // sysfs then goes on top of it.
    let _ = kernel::unmount_detach(sys_dir);
    if read_only {
        kernel::mount_sysfs_read_only(sys_dir)
    } else {
        kernel::mount_sysfs(sys_dir)
    }
}

/// Step 5 (iproute2 `bind_etc`): `/etc/netns/NAME/X` over `/etc/X`. Like
/// iproute2, a missing directory is silently nothing to do and any other
/// failure is a warning: the command still runs, with the host's file.
fn bind_etc(name: &str) {
    let dir = Path::new(ETC_NETNS_DIR).join(name);
    let entries = match kernel::dir_entries(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("netns-test: warning: skipping {}: {e}", dir.display());
            return;
        }
    };
    // `.` and `..` are not among them (std's readdir leaves them out).
    for entry in entries {
        let src = dir.join(&entry);
        let dst = Path::new("/etc").join(&entry);
        if let Err(e) = kernel::bind_mount(&src, &dst) {
            eprintln!("netns-test: warning: skipping {}: {e}", src.display());
        }
    }
}
