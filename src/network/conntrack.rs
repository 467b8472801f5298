//! The connection tracking table of a namespace in its state dump
//! ([`Netns::state`](crate::Netns::state)): what a NAT router has
//! translated, one `conntrack` line per entry, read from
//! `/proc/thread-self/net/nf_conntrack` on the thread in the namespace
//! (ARCHITECTURE.md 2.2, 2.14).

use std::path::Path;

use rustix::io::Errno;

use crate::kernel::{read_proc_or_errno, read_sysctl, thread_self};

/// The number of the namespace's conntrack entries (`/proc/sys/net` acts on
/// the namespace of the thread that opens it, ARCHITECTURE.md 2.2).
const COUNT: &str = "/proc/sys/net/netfilter/nf_conntrack_count";

/// The calling thread's namespace's conntrack entries, `conntrack ipv4 2
/// tcp 6 118 TIME_WAIT src=...`, as `nf_conntrack` lists them with the
/// runs of spaces collapsed. Nothing when the table is empty or conntrack
/// is not loaded (`ENOENT`); one line saying why when it cannot be read
/// (`EACCES`: the namespace's owner is not this process's user; the
/// crate's rootless mode owns its hosts and reads it).
pub(crate) fn conntrack_lines() -> Vec<String> {
    // Reading the table walks the conntrack hash every namespace shares
    // (`nf_conntrack_buckets`, 262,144 on a 24 GiB machine: about 0.1 ms)
    // however few entries are this namespace's; the count is per namespace.
    if read_sysctl(Path::new(COUNT)).is_ok_and(|count| count.trim() == "0") {
        return Vec::new();
    }
    let path = thread_self("net/nf_conntrack");
    match read_proc_or_errno(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| {
                format!(
                    "conntrack {}",
                    line.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
            .collect(),
        Err(Errno::NOENT) => Vec::new(),
        Err(Errno::ACCESS) => vec![format!(
            "conntrack: {} cannot be read (EACCES): the namespace's owner is not this \
             process's user; no NAT state to show",
            path.display()
        )],
        Err(e) => vec![format!("conntrack: {}: {e}", path.display())],
    }
}
