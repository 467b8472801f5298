//! The network namespace every namespace of the crate is made from: one per
//! process, whose `net.ipv4.tcp_child_ehash_entries` gives each namespace
//! made from it a TCP established hash of its own (ARCHITECTURE.md 2.15).
//!
//! A namespace made from one where that sysctl is 0 (the host's, unless its
//! administrator set it) shares the kernel's global established hash, sized
//! by the machine's memory (262,144 buckets on 24 GiB). A `sock_diag` TCP
//! dump walks every bucket of its namespace's hash, however few sockets the
//! namespace holds: about 1 ms per dump on such a machine, against about
//! 15 µs for [`EHASH_ENTRIES`] buckets.
//!
//! The kernel derives two limits from the hash's size when it makes the
//! namespace (net/ipv4/tcp_ipv4.c, `tcp_set_hashinfo`):
//! `net.ipv4.tcp_max_tw_buckets` (half the buckets: 2,048) and
//! `net.ipv4.tcp_max_syn_backlog` (a 128th, at least 128). They are left
//! as the kernel sets them: writing them back costs each namespace about
//! 20 µs, a tenth of making it (ARCHITECTURE.md 2.15).
//!
//! Where the kernel lacks the sysctl (before 6.1) or the nursery cannot be
//! made, namespaces are made from the calling thread's, as before.
//!
//! # References
//! - [ip-sysctl](https://docs.kernel.org/networking/ip-sysctl.html),
//!   `tcp_child_ehash_entries`

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use rustix::thread::UnshareFlags;

use crate::error::{Error, Result};

/// Buckets of each namespace's TCP established hash: 32 KiB of memory per
/// namespace; a test with 10,000 connections finds about 2.5 per bucket;
/// `tcp_max_tw_buckets` 2,048 and `tcp_max_syn_backlog` 128 follow.
const EHASH_ENTRIES: u32 = 4096;

const CHILD_EHASH: &str = "/proc/sys/net/ipv4/tcp_child_ehash_entries";

/// The nursery's namespace.
struct Nursery {
    netns: OwnedFd,
}

static NURSERY: OnceLock<Option<Nursery>> = OnceLock::new();

/// `unshare(CLONE_NEWNET)` from the nursery: `setns` into it, then
/// `unshare`. The calling thread ends in a new network namespace whose only
/// link is `lo`, DOWN; on an error it may be left in the nursery (callers
/// discard such threads, ARCHITECTURE.md 2.1).
///
/// The first call makes the nursery, on a thread of its own (about one
/// namespace's cost, once per process).
///
/// # Errors
/// [`Error::Sys`] naming `unshare(CLONE_NEWNET)` and the errno (`EPERM`
/// without `CAP_SYS_ADMIN`).
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
/// - [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html)
pub(crate) fn unshare_netns() -> Result<()> {
    if let Some(nursery) = NURSERY.get_or_init(make) {
        // Where the move fails, the namespace is made from the thread's.
        let _ = super::setns_net(nursery.netns.as_fd(), None);
    }
    unshare_plain()
}

/// `unshare(CLONE_NEWNET)` from the calling thread's namespace.
///
/// # References
/// - [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html)
/// - [network_namespaces(7)](https://man7.org/linux/man-pages/man7/network_namespaces.7.html)
pub(crate) fn unshare_plain() -> Result<()> {
    // SAFETY: CLONE_NEWNET does not unshare the fd table (CLONE_FILES), the
    // one flag that can break other threads' view of file descriptors.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }
        .map_err(|e| Error::sys("unshare(CLONE_NEWNET)", None, e))
}

/// Whether namespaces are made from the nursery: false where the kernel
/// lacks `net.ipv4.tcp_child_ehash_entries` (before Linux 6.1) or the
/// process may not make namespaces. Makes the nursery if it is not made
/// yet; never fails.
pub fn nursery_in_use() -> bool {
    NURSERY.get_or_init(make).is_some()
}

/// Makes the nursery on a thread of its own, or `None`.
fn make() -> Option<Nursery> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<Nursery> {
                unshare_plain()?;
                super::write_sysctl(Path::new(CHILD_EHASH), &EHASH_ENTRIES.to_string())?;
                let netns = super::open_ns_file(&super::thread_netns_path())?;
                Ok(Nursery { netns })
            })
            .join()
            .ok()?
            .ok()
    })
}
