//! Errnos as man pages name them: `Operation not permitted (EPERM)`.

use std::fmt;

use rustix::io::Errno;

/// The symbolic name of an errno (`EPERM`), as man pages print it.
pub(crate) fn errno_name(e: Errno) -> Option<&'static str> {
    Some(match e {
        Errno::PERM => "EPERM",
        Errno::NOENT => "ENOENT",
        Errno::SRCH => "ESRCH",
        Errno::INTR => "EINTR",
        Errno::IO => "EIO",
        Errno::BADF => "EBADF",
        Errno::AGAIN => "EAGAIN",
        Errno::NOMEM => "ENOMEM",
        Errno::ACCESS => "EACCES",
        Errno::BUSY => "EBUSY",
        Errno::EXIST => "EEXIST",
        Errno::XDEV => "EXDEV",
        Errno::NODEV => "ENODEV",
        Errno::NOTDIR => "ENOTDIR",
        Errno::ISDIR => "EISDIR",
        Errno::INVAL => "EINVAL",
        Errno::NFILE => "ENFILE",
        Errno::MFILE => "EMFILE",
        Errno::NOSPC => "ENOSPC",
        Errno::ROFS => "EROFS",
        Errno::NAMETOOLONG => "ENAMETOOLONG",
        Errno::LOOP => "ELOOP",
        Errno::NOSYS => "ENOSYS",
        Errno::OPNOTSUPP => "EOPNOTSUPP",
        Errno::USERS => "EUSERS",
        Errno::NETUNREACH => "ENETUNREACH",
        Errno::CONNREFUSED => "ECONNREFUSED",
        Errno::ADDRINUSE => "EADDRINUSE",
        Errno::ADDRNOTAVAIL => "EADDRNOTAVAIL",
        Errno::NOBUFS => "ENOBUFS",
        _ => return None,
    })
}

/// `Operation not permitted (EPERM)`.
pub(crate) struct ShowErrno(pub Errno);

impl fmt::Display for ShowErrno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let io = std::io::Error::from_raw_os_error(self.0.raw_os_error());
        // std's message ends in " (os error N)": keep the text, use the name.
        let text = io.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        match errno_name(self.0) {
            Some(name) => write!(f, "{text} ({name})"),
            None => write!(f, "{text} (errno {})", self.0.raw_os_error()),
        }
    }
}
