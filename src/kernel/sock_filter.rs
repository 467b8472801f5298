//! Classic BPF socket filters (socket(7) `SO_ATTACH_FILTER`,
//! `SO_DETACH_FILTER`; Documentation/networking/filter.rst): a filter that
//! takes nothing, so an `AF_PACKET` socket receives no copies while a wire
//! link's frames go through the kernel (ARCHITECTURE.md 2.10).
//!
//! rustix has no wrapper for these options: libc's `setsockopt` it is. No
//! privilege beyond the socket's own.

use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::io::Errno;

use crate::error::{Error, Result};

/// `BPF_RET | BPF_K` with `k = 0`: the program `ret #0`, which accepts no
/// byte of any frame.
const RET_ZERO: libc::sock_filter = libc::sock_filter {
    code: 0x06,
    jt: 0,
    jf: 0,
    k: 0,
};

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO)
}

/// `setsockopt(SO_ATTACH_FILTER, ret #0)`: from now on `fd` queues no frame
/// (frames already queued stay). Replaces any filter it had.
///
/// # Errors
/// [`Error::Sys`] naming the option and the errno.
pub(crate) fn take_nothing(fd: BorrowedFd<'_>) -> Result<()> {
    let program = [RET_ZERO];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: SO_ATTACH_FILTER takes a sock_fprog by pointer and size; the
    // kernel copies the program before returning.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::sys(
            "setsockopt(SO_ATTACH_FILTER)",
            None,
            last_errno(),
        ));
    }
    Ok(())
}

/// `setsockopt(SO_DETACH_FILTER)`: `fd` takes every frame again. No filter
/// attached (`ENOENT`) is no error.
///
/// # Errors
/// [`Error::Sys`] naming the option and the errno.
pub(crate) fn take_all(fd: BorrowedFd<'_>) -> Result<()> {
    let zero: libc::c_int = 0;
    // SAFETY: SO_DETACH_FILTER ignores its value; an int is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_DETACH_FILTER,
            (&zero as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let errno = last_errno();
        if errno == Errno::NOENT {
            return Ok(());
        }
        return Err(Error::sys("setsockopt(SO_DETACH_FILTER)", None, errno));
    }
    Ok(())
}
