//! [`Netns`], a handle on one network namespace.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::kernel::{self, netlink};
use crate::namespace::crash_points::crash_point;
use crate::namespace::owner;
use crate::namespace::registry;
use crate::namespace::remove::{remove_named, run_dir_of};
use crate::namespace::rundir::RunDir;
use crate::namespace::thread::on_new_thread;
use crate::privilege::explain;

/// A network namespace, held open by a file descriptor of its nsfs file.
///
/// A namespace lives while a thread is in it, an fd refers to it, or a bind
/// mount of it exists (network_namespaces(7)); this handle is such an fd, so
/// the namespace and everything in it (links, sockets' addresses, routes)
/// outlives the threads that ran in it until the handle drops.
///
/// The handle never moves the calling thread, except through [`Netns::enter`]
/// and [`Netns::enter_for_exec`], which exist to do that. [`Netns::run`] runs
/// code on a fresh thread that enters the namespace and is then discarded, so
/// no thread is ever left in the wrong namespace, even after a panic.
///
/// Two handles are equal when they refer to the same namespace (same nsfs
/// device and inode), however they were opened.
///
/// ```no_run
/// use netns_test::Netns;
///
/// let ns = Netns::new()?; // anonymous, loopback up
/// let port = ns.run(|| {
///     let l = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
///     l.local_addr().unwrap().port()
/// })?;
/// assert_eq!(port, 8080);
/// # Ok::<(), netns_test::Error>(())
/// ```
pub struct Netns {
    fd: OwnedFd,
    id: (u64, u64),
    name: Option<String>,
    path: Option<PathBuf>,
    /// Unmount and unlink `path` when dropped: set for namespaces this handle
    /// created by name, cleared by [`Netns::keep`].
    remove_on_drop: bool,
    /// A network host's files over `/etc` (namespace/etc.rs), for `run`.
    pub(super) etc: Option<std::sync::Arc<crate::namespace::etc::EtcFiles>>,
}

impl Netns {
    /// Creates a new anonymous network namespace with `lo` up.
    ///
    /// The namespace is made on a short-lived thread (`unshare(CLONE_NEWNET)`
    /// from the process's nursery namespace, which gives it a TCP hash of its
    /// own, see [decisions](crate::_topic::decisions); then
    /// `RTM_SETLINK lo up`) and held by this handle only: it has no name
    /// and nothing in the file system, so nothing can leak when the process
    /// dies, even by `SIGKILL`. It disappears when the handle and every thread
    /// and socket in it are gone.
    ///
    /// # Errors
    /// [`Error::Sys`] with `EPERM` without `CAP_SYS_ADMIN`; [`Error::Netlink`]
    /// if `lo` cannot be brought up; [`Error::Spawn`] if no thread can be made.
    #[doc(alias = "unshare")]
    pub fn new() -> Result<Netns> {
        let fd = explain(on_new_thread(|| {
            kernel::unshare_netns()?;
            netlink::loopback_up()?;
            kernel::open_ns_file(&kernel::thread_netns_path())
        }))?;
        Netns::from_fd(fd, None, None)
    }

    /// Creates the named network namespace `name` in the run directory
    /// ([`RunDir::get`], normally `/run/netns`), with `lo` up, exactly as
    /// `ip netns add NAME` does (ip/ipnetns.c, `netns_add`):
    ///
    /// 1. validate the name (see [`crate::validate_name`]);
    /// 2. create the run directory, `flock` it and make it a shared mount point;
    /// 3. create the placeholder `NAME` with `O_CREAT|O_EXCL`;
    /// 4. on a new thread, `unshare(CLONE_NEWNET)` and bind-mount
    ///    `/proc/thread-self/ns/net` (that thread's namespace, never the main
    ///    thread's `/proc/self`) onto the placeholder;
    /// 5. on any failure after step 3, remove the placeholder again.
    ///
    /// Around these steps, for crash safety (README, "Decisions"): before
    /// step 3 the process takes the name's lock (`flock` on
    /// `/run/netns-test/locks/NAME`) and writes its owner record
    /// (`/run/netns-test/owners/NAME`: its pid and start time, written to a
    /// temporary file and renamed). If NAME is a leftover whose record names
    /// a process that is gone (a killed run), it is removed first, whatever
    /// state it is in, and created anew. Removing the namespace (drop,
    /// [`Netns::delete`], exit) removes the record after the entry;
    /// [`Netns::keep`] removes it at once, leaving a namespace that, like
    /// one from `ip netns add`, no sweep ever touches. So a process killed
    /// at any instant leaves nothing that the next `Netns::create` of the
    /// same name, or [`RunDir::sweep`], does not remove.
    ///
    /// `ip netns list`, `ip netns exec NAME` and `ip netns del NAME` work on it.
    /// The handle removes it when dropped (as [`Netns::delete`] does) unless
    /// [`Netns::keep`] was called; if it is never dropped (a `static`), it is
    /// removed at normal process exit. Drop it on a thread that shares the
    /// host's mount namespace: an unmount made after
    /// [`Netns::enter_for_exec`] stays in that thread's private mount
    /// namespace, and the name is then left behind (with a message on stderr).
    ///
    /// # Errors
    /// - [`Error::InvalidName`]: nothing was touched.
    /// - [`Error::AlreadyExists`]: the name is taken (by `ip netns add`, or
    ///   by a live process); the existing namespace was not touched. Use
    ///   [`Netns::open`] to join it.
    /// - [`Error::Leftover`]: the name's owner record is not one netns-test
    ///   writes, or a gone owner's entry is a directory or a symlink:
    ///   nothing touched; the message says what to remove by hand.
    /// - [`Error::Sys`] naming the step, the path and the errno (`EPERM`
    ///   without `CAP_SYS_ADMIN`); nothing is left behind.
    #[doc(alias = "ip netns add")]
    pub fn create(name: &str) -> Result<Netns> {
        Netns::create_in(RunDir::get(), name)
    }

    /// [`Netns::create`] in the run directory `dir`.
    pub fn create_in(dir: &RunDir, name: &str) -> Result<Netns> {
        explain(Netns::create_with(dir, name, |path| {
            on_new_thread(|| {
                kernel::unshare_netns()?;
                netlink::loopback_up()?;
                let fd = kernel::open_ns_file(&kernel::thread_netns_path())?;
                kernel::bind_mount(&kernel::thread_netns_path(), path)?;
                Ok(fd)
            })
        }))
    }

    /// Steps 1-3 and 5 of [`Netns::create`] around `make`, which makes the
    /// namespace and bind-mounts it onto the placeholder at the given path.
    pub(crate) fn create_with(
        dir: &RunDir,
        name: &str,
        make: impl FnOnce(&Path) -> Result<OwnedFd>,
    ) -> Result<Netns> {
        let path = dir.entry(name)?;
        dir.prepare()?;
        // What `ip netns del` of a kept namespace left (ARCHITECTURE.md 3.4).
        crate::namespace::sweep::sweep_deleted_records(dir);
        // Intent before action (namespace/owner.rs): the record exists,
        // complete, before the placeholder does.
        let _lock = crate::namespace::name_lock::NameLock::acquire(dir, name)?;
        crash_point("locked");
        owner::claim(dir, name, &path)?;
        if let Err(e) = kernel::create_placeholder(&path) {
            owner::forget_mine(dir, name);
            return Err(e);
        }
        crash_point("placeholder");
        let fd = match make(&path) {
            Ok(fd) => fd,
            Err(e) => {
                // A leftover placeholder makes `ip netns list` and `ip link`
                // print errors host-wide (ip/ipnetns.c, `out_delete`).
                let _ = kernel::unmount_all(&path);
                let _ = kernel::unlink(&path);
                owner::forget_mine(dir, name);
                return Err(e);
            }
        };
        crash_point("mounted");
        let mut ns = Netns::from_fd(fd, Some(name.to_owned()), Some(path.clone()))?;
        ns.remove_on_drop = true;
        registry::add(path, ns.id);
        crash_point("created");
        Ok(ns)
    }

    /// A handle of the namespace `fd` is open on (not removed on drop).
    pub(super) fn from_fd(
        fd: OwnedFd,
        name: Option<String>,
        path: Option<PathBuf>,
    ) -> Result<Netns> {
        let id = kernel::fstat_id(&fd)?;
        Ok(Netns {
            fd,
            id,
            name,
            path,
            remove_on_drop: false,
            etc: None,
        })
    }

    /// Runs `f` on a new thread inside this namespace and returns its value.
    ///
    /// The thread is named like the calling thread (so a test's output and
    /// panic messages carry the test's name), enters the namespace with
    /// `setns(fd, CLONE_NEWNET)` and ends when `f` returns; the calling
    /// thread never changes namespace. Threads and child processes that `f`
    /// starts inherit the namespace. `f` may borrow from the caller (the
    /// thread is scoped).
    ///
    /// A panic in `f` resumes in the caller with its original payload.
    ///
    /// In a host of a [`Network`](crate::Network), the thread also gets a
    /// mount namespace of its own with the network's `/etc/hosts` (every
    /// host by name), `resolv.conf` and `nsswitch.conf` bound over the
    /// host's (see the crate docs' `topology` topic, "Names"); this costs
    /// the thread an `unshare(CLONE_NEWNS)` and three bind mounts
    /// (`benches/README.md`). Other namespaces pay nothing.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `setns(CLONE_NEWNET)` (`EPERM` without
    /// `CAP_SYS_ADMIN`); [`Error::Spawn`]. `f` has not run if an error is
    /// returned.
    pub fn run<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let fd = self.fd.as_fd();
        let path = self.path.as_deref();
        let etc = self.etc_binds(false);
        explain(on_new_thread(move || {
            kernel::setns_net(fd, path)?;
            if let Some(etc) = etc {
                etc.enter()?;
            }
            Ok(f())
        }))
    }

    /// Moves the calling thread into this namespace with
    /// `setns(fd, CLONE_NEWNET)`, for good.
    ///
    /// Meant for a thread you own and will discard, or for a single-threaded
    /// program about to `exec` (the `setns` CLI). In a test, prefer
    /// [`Netns::run`]: a libtest thread or a pool thread moved by this call
    /// stays moved.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `setns(CLONE_NEWNET)`.
    #[doc(alias = "setns")]
    pub fn enter(&self) -> Result<()> {
        explain(kernel::setns_net(self.fd.as_fd(), self.path.as_deref()))
    }

    /// Removes this named namespace now, as `ip netns del NAME` does:
    /// `umount2(path, MNT_DETACH)` until nothing is mounted there (stacked
    /// mounts included), then `unlink(path)`, with the name's lock held
    /// (`/run/netns-test/locks/NAME`); then the name's owner record, if this
    /// process wrote it (README, "After a crash"). The namespace itself
    /// lives on until this handle and every thread and socket in it are
    /// gone.
    ///
    /// It is not an error if the name is already gone (say, after
    /// `ip netns del`). If the name now refers to another namespace, that one
    /// is left alone.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `umount2` or `unlink` and the path. An anonymous
    /// namespace, or one opened by a path outside the run directory, has
    /// nothing to remove: `Ok(())`.
    #[doc(alias = "ip netns del")]
    pub fn delete(mut self) -> Result<()> {
        self.disown();
        match (&self.name, &self.path) {
            (Some(_), Some(path)) => remove_named(path, self.id),
            _ => Ok(()),
        }
    }

    /// Keeps a namespace made by [`Netns::create`] when this handle drops, so
    /// it stays for `ip netns` (remove it with `ip netns del NAME`).
    ///
    /// Its owner record is removed, so it is no longer netns-test's: no
    /// later run or sweep removes it, as after `ip netns add`. (The
    /// namespaces of failed tests kept by `NETNS_TEST_KEEP=failed` keep
    /// their record instead, so that `setns --sweep` removes them.)
    pub fn keep(&mut self) -> &mut Self {
        if self.remove_on_drop {
            if let (Some(name), Some(path)) = (&self.name, &self.path) {
                owner::forget_mine(&run_dir_of(path), name);
            }
        }
        self.disown();
        self
    }

    /// Keeps a namespace made by [`Netns::create`] when this handle drops
    /// and at exit, like [`Netns::keep`], but leaves its owner record: a
    /// kept failed test's namespace (namespace/keep.rs) stays netns-test's,
    /// and [`RunDir::sweep`] removes it once this process is gone.
    pub(crate) fn keep_recorded(&mut self) {
        self.disown();
    }

    /// No longer removed on drop or at exit.
    fn disown(&mut self) {
        if std::mem::take(&mut self.remove_on_drop) {
            if let Some(path) = &self.path {
                registry::forget(path, self.id);
            }
        }
    }

    /// The namespace's name in the run directory, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The path the namespace was opened or created at: `/run/netns/NAME`
    /// for a named namespace, the given path for [`Netns::open`] by path,
    /// `None` for anonymous ones and [`Netns::current`].
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The namespace's nsfs inode number: what `ls -iL /proc/thread-self/ns/net`,
    /// `readlink /proc/PID/ns/net` (`net:[INODE]`) and `lsns` show.
    pub fn inode(&self) -> u64 {
        self.id.1
    }

    /// How errors name this namespace: its name, else `net:[INODE]` as
    /// `readlink /proc/PID/ns/net` prints it.
    pub(crate) fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("net:[{}]", self.id.1),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.remove_on_drop {
            return;
        }
        self.disown();
        if let Some(path) = &self.path {
            if let Err(e) = remove_named(path, self.id) {
                eprintln!(
                    "netns-test: removing network namespace {}: {e}",
                    path.display()
                );
            }
        }
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl PartialEq for Netns {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Netns {}

impl Hash for Netns {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Debug for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Netns")
            .field("inode", &self.id.1)
            .field("name", &self.name)
            .field("path", &self.path)
            .field("remove_on_drop", &self.remove_on_drop)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    /// ARCHITECTURE.md 4.5: a failure after the placeholder exists (here, injected
    /// after the bind mount) leaves neither the mount nor the file.
    #[test]
    fn a_failure_after_the_placeholder_removes_mount_and_placeholder() {
        let dir = RunDir::new(format!(
            "/tmp/netns-test-unit-rollback-{}/netns",
            std::process::id()
        ));
        // The directory is left as `ip netns add` leaves /run/netns: a shared
        // self bind mount. Removed when this test ends, pass or fail.
        struct Cleanup(PathBuf);
        impl Drop for Cleanup {
            fn drop(&mut self) {
                while kernel::unmount_detach(&self.0).is_ok() {}
                let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
            }
        }
        let _cleanup = Cleanup(dir.path().to_path_buf());
        let err = Netns::create_with(&dir, "doomed", |path| {
            on_new_thread(|| {
                kernel::unshare_netns()?;
                kernel::bind_mount(&kernel::thread_netns_path(), path)?;
                Err::<OwnedFd, _>(Error::sys(
                    "injected failure",
                    path.to_path_buf(),
                    rustix::io::Errno::IO,
                ))
            })
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("injected failure"), "{err}");
        let entry = dir.path().join("doomed");
        assert!(!entry.exists(), "placeholder left behind");
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!info.contains(entry.to_str().unwrap()), "mount left behind");
        let record = owner::record_path(&dir, "doomed");
        assert!(!record.exists(), "owner record left behind");
    }
}
