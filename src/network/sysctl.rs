//! Per-namespace sysctls: what `sysctl net.*` does, through `/proc/sys/net`
//! (proc(5)), which acts on the namespace of the thread that opens the file.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::kernel;
use crate::Netns;

/// The path of a `net.*` sysctl key under `/proc/sys`, or why the key is
/// refused.
fn sysctl_path(key: &str) -> Result<PathBuf> {
    let reason = if key.contains('/') {
        Some("a sysctl key here is written with `.`, not `/` (net.ipv4.ip_forward)")
    } else if !key.starts_with("net.") {
        Some("a sysctl key here must start with `net.` (only /proc/sys/net is per namespace)")
    } else if key.contains('\0') {
        Some("a sysctl key must not contain a NUL byte")
    } else if key.split('.').any(str::is_empty) {
        Some("a sysctl key must not have an empty segment (`..`, or a `.` at the end)")
    } else {
        None
    };
    match reason {
        None => Ok(Path::new("/proc/sys").join(key.replace('.', "/"))),
        Some(reason) => Err(Error::InvalidArgument {
            what: "sysctl key",
            value: key.to_owned(),
            reason,
        }),
    }
}

impl Netns {
    /// Reads the sysctl `key` of this namespace, as `sysctl KEY` does inside
    /// it: `net.ipv4.ip_forward` is `/proc/sys/net/ipv4/ip_forward`, read on a
    /// fresh thread inside the namespace (a `/proc/sys/net` file shows the
    /// namespace of the thread that opens it). The trailing newline is
    /// removed: `"0"`, or `"4096\t131072\t6291456"` for `net.ipv4.tcp_rmem`.
    ///
    /// Only `net.*` keys are per namespace; others are refused. A key uses
    /// `.` as separator, so a link whose name has a `.` (a VLAN `eth0.10`)
    /// cannot be named.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key that is not `net.` followed by
    /// non-empty segments without `/`; [`Error::Sys`] naming `open` or `read`
    /// and the `/proc/sys` path (`ENOENT` for a key the kernel does not have).
    ///
    /// # References
    /// proc(5) (`/proc/sys/net`), sysctl(8).
    pub fn sysctl(&self, key: &str) -> Result<String> {
        let path = sysctl_path(key)?;
        self.run_bare(|| kernel::read_sysctl(&path))?
    }

    /// Writes `value` to the sysctl `key` of this namespace, as
    /// `sysctl -w KEY=VALUE` does inside it: the write goes to
    /// `/proc/sys/net/...` opened on a fresh thread inside the namespace, so
    /// the host's value and every other namespace's stay as they were.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad key (nothing written); [`Error::Sys`]
    /// naming `open` or `write` and the path: `ENOENT` for an unknown key,
    /// `EINVAL` for a value the kernel refuses, `EPERM`/`EACCES` without
    /// `CAP_NET_ADMIN` or for a read-only key.
    ///
    /// # References
    /// proc(5), sysctl(8), Documentation/networking/ip-sysctl.rst.
    #[doc(alias = "sysctl -w")]
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = sysctl_path(key)?;
        self.run_bare(|| kernel::write_sysctl(&path, value))?
    }

    /// Makes this namespace a router, or stops it being one: IPv4 and IPv6
    /// forwarding on (`net.ipv4.ip_forward=1`,
    /// `net.ipv6.conf.all.forwarding=1`) or off (`0`). Both also apply to
    /// the namespace's existing and future links. Off, a packet for another
    /// host is dropped without an ICMP error, so a connection through this
    /// namespace times out.
    ///
    /// An IPv6 router asks for a forwarded packet's next hop (neighbour
    /// solicitation) from its link-local address, which is tentative for a
    /// second or two after the link comes up; until then the first
    /// forwarded packets wait. To skip that, turn duplicate address
    /// detection off before the links exist:
    /// `set_sysctl("net.ipv6.conf.all.accept_dad", "0")` and the same for
    /// `net.ipv6.conf.default.accept_dad` (net/ipv6/ndisc.c,
    /// `ndisc_send_ns`).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// On a kernel booted with `ipv6.disable=1` there is no
    /// `/proc/sys/net/ipv6`: only IPv4 forwarding is set, and that is not an
    /// error.
    ///
    /// # Errors
    /// [`Error::Sys`] naming the `/proc/sys` path and the errno; the IPv4
    /// setting is made first.
    ///
    /// # References
    /// proc(5), Documentation/networking/ip-sysctl.rst (`ip_forward`,
    /// `conf/all/forwarding`).
    pub fn set_forwarding(&self, on: bool) -> Result<()> {
        let value = if on { "1" } else { "0" };
        let v4 = sysctl_path("net.ipv4.ip_forward")?;
        let v6 = sysctl_path("net.ipv6.conf.all.forwarding")?;
        self.run_bare(|| {
            kernel::write_sysctl(&v4, value)?;
            match kernel::write_sysctl(&v6, value) {
                Err(e) if e.errno() == Some(rustix::io::Errno::NOENT) => Ok(()),
                other => other,
            }
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_map_to_proc_sys_net() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_forward")
        );
        for bad in [
            "kernel.hostname",
            "net",
            "net.",
            "net..ipv4",
            "net.ipv4.",
            "net/../x",
            "net.ipv4/../../kernel",
            ".net.ipv4",
        ] {
            assert!(sysctl_path(bad).is_err(), "{bad:?}");
        }
    }
}
