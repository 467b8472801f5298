//! File descriptors as such.

use std::os::fd::{BorrowedFd, OwnedFd};

use crate::error::{Error, Result};

/// `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: a second descriptor of the same open
/// file (for an nsfs file, the same namespace), closed on `exec`.
///
/// # Errors
/// [`Error::Sys`] naming `fcntl(F_DUPFD_CLOEXEC)`: `EMFILE` when the
/// process is out of descriptors.
///
/// # References
/// - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html), `F_DUPFD_CLOEXEC`
pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0)
        .map_err(|e| Error::sys("fcntl(F_DUPFD_CLOEXEC)", None, e))
}
