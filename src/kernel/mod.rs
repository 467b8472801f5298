//! The kernel layer: the only code that calls the kernel (through rustix and,
//! for `atexit(3)`, libc). Each function is one kernel step, named after the
//! call it makes, and maps the errno to an [`Error`](crate::Error) that says
//! what was done to which path (ARCHITECTURE.md 1).
//!
//! Paths into `/proc` go through [`thread_self`]: a network namespace belongs
//! to a thread, and `/proc/self` names the main thread's (proc(5)).

use std::path::{Path, PathBuf};

pub(crate) mod child;
pub(crate) mod chown;
mod fd;
mod fs;
mod mount;
pub(crate) mod netlink;
mod ns;
pub(crate) mod nursery;
#[cfg(feature = "wire")]
pub(crate) mod packet;
pub(crate) mod pid_init;
pub(crate) mod proc_fd;
mod proc_stat;
mod process;
pub(crate) mod raw;
pub(crate) mod signal;
pub(crate) mod sock_diag;
#[cfg(feature = "wire")]
pub(crate) mod sock_filter;
mod sysctl;
#[cfg(feature = "wire")]
pub(crate) mod tc;

pub(crate) use fd::*;
pub(crate) use fs::*;
pub(crate) use mount::*;
pub(crate) use ns::*;
pub(crate) use nursery::*;
pub(crate) use proc_stat::*;
pub(crate) use process::*;
pub(crate) use sysctl::*;

/// `/proc/thread-self/REL`: the calling thread's view of `/proc`.
pub(crate) fn thread_self(rel: &str) -> PathBuf {
    Path::new("/proc/thread-self").join(rel)
}

/// `/proc/thread-self/ns/net`, the calling thread's network namespace.
pub(crate) fn thread_netns_path() -> PathBuf {
    thread_self("ns/net")
}
