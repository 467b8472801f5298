//! Handles of namespaces that exist already: opened by name or path, the
//! calling thread's, a second handle of one held.

use std::os::fd::AsFd;
use std::path::Path;

use crate::error::Result;
use crate::kernel;
use crate::namespace::netns::Netns;
use crate::namespace::rundir::RunDir;

impl Netns {
    /// Opens an existing network namespace. Dropping the handle never
    /// removes it; [`Netns::delete`] does, for a namespace of the run
    /// directory (opened by name, or by a path in that directory).
    ///
    /// `name_or_path` without a `/` is a name in the run directory
    /// ([`RunDir::get`]); with one it is a path: `/proc/PID/ns/net`,
    /// `/proc/PID/task/TID/ns/net`, or any bind mount of a namespace such as
    /// those `ip netns add` and CNI plugins make.
    ///
    /// # Errors
    /// [`Error::InvalidName`](crate::Error::InvalidName) for a bad name; [`Error::Sys`](crate::Error::Sys) naming `open` and
    /// the path (`ENOENT` if there is no such namespace);
    /// [`Error::NotNetns`](crate::Error::NotNetns) if the path is not a network namespace's nsfs file
    /// (for example a placeholder left by a crashed `ip netns add`).
    pub fn open(name_or_path: impl AsRef<Path>) -> Result<Netns> {
        let arg = name_or_path.as_ref();
        let dir = RunDir::get();
        let (name, path) = match arg.to_str() {
            Some(name) if !name.contains('/') => (Some(name.to_owned()), dir.entry(name)?),
            // A path into the run directory is that name: `delete` removes it.
            _ if arg.parent() == Some(dir.path()) => {
                let name = arg.file_name().and_then(|n| n.to_str()).map(str::to_owned);
                (name, arg.to_path_buf())
            }
            _ => (None, arg.to_path_buf()),
        };
        let fd = kernel::open_ns_file(&path)?;
        kernel::check_netns_fd(fd.as_fd(), &path)?;
        Netns::from_fd(fd, name, Some(path))
    }

    /// The calling thread's network namespace (`/proc/thread-self/ns/net`).
    ///
    /// # Errors
    /// [`Error::Sys`](crate::Error::Sys) if `/proc` is not mounted.
    pub fn current() -> Result<Netns> {
        let path = kernel::thread_netns_path();
        let fd = kernel::open_ns_file(&path)?;
        Netns::from_fd(fd, None, None)
    }

    /// A second handle to the same namespace, on a duplicated fd: it keeps
    /// the namespace alive while it lives, and never removes it (no name,
    /// nothing to remove on drop).
    ///
    /// # Errors
    /// [`Error::Sys`](crate::Error::Sys) from `fcntl(F_DUPFD_CLOEXEC)`.
    pub(crate) fn duplicate(&self) -> Result<Netns> {
        Netns::from_fd(kernel::dup_cloexec(self.as_fd())?, None, None)
    }
}
