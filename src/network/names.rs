//! Host names in a [`Network`]: every host resolves every host (and its
//! aliases) by name, from its [`Netns::run`](crate::Netns::run) threads and
//! the programs [`Netns::spawn`](crate::Netns::spawn) starts there, through
//! files the network writes and binds over `/etc` for them alone
//! (namespace/etc.rs; ARCHITECTURE.md 3.3).

use std::net::IpAddr;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::namespace::etc::EtcFiles;
use crate::network::built::Network;

/// What `resolv.conf` says: a name server on the namespace's own loopback,
/// where nothing listens unless the test runs one, asked once with a 1 s
/// timeout. With `hosts: files` in `nsswitch.conf`, glibc never asks it;
/// resolvers that read `resolv.conf` themselves get `ECONNREFUSED` at
/// once, and no query leaves the lab.
const RESOLV_CONF: &str = "# netns-test: names come from /etc/hosts; no name server.\n\
                           nameserver 127.0.0.1\noptions attempts:1 timeout:1\n";

/// Whether `name` can stand in a hosts file: letters, digits, `-`, `.`,
/// `_`, at most 253 bytes, not starting or ending with `.` or `-`.
pub(crate) fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-'])
}

/// The hosts file of `net`: `localhost` on the loopback addresses, then
/// one line per address of a host, in the order the addresses were added,
/// with the host's name and aliases. Hosts whose names cannot stand in a
/// hosts file (see [`is_host_name`]) are left out.
pub(crate) fn hosts_file(net: &Network) -> String {
    let mut out = String::from(
        "# netns-test: the hosts of this network\n\
         127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    for (host, _) in &net.hosts {
        if !is_host_name(host) {
            continue;
        }
        let names: Vec<&str> = std::iter::once(host.as_str())
            .chain(
                net.aliases
                    .iter()
                    .filter(|(h, _)| h == host)
                    .map(|(_, a)| a.as_str()),
            )
            .collect();
        for addr in net.addrs_of(host) {
            out.push_str(&format!("{addr}\t{}\n", names.join(" ")));
        }
    }
    out
}

/// The host's `nsswitch.conf` with `hosts: files` (no `dns`, no
/// systemd-resolved's `resolve`, which would not read `/etc/hosts`).
fn nsswitch_conf() -> String {
    let host = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    let mut out = String::new();
    for line in host.lines() {
        if line.trim_start().starts_with("hosts:") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("hosts: files\n");
    out
}

/// Writes the network's files and gives them to each host's handle.
pub(crate) fn attach(net: &mut Network) -> Result<()> {
    let files = EtcFiles::write(&[
        ("hosts", hosts_file(net)),
        ("resolv.conf", RESOLV_CONF.to_owned()),
        ("nsswitch.conf", nsswitch_conf()),
    ])?;
    let files = Arc::new(files);
    for (_, ns) in &mut net.hosts {
        ns.set_etc(Arc::clone(&files));
    }
    Ok(())
}

impl Network {
    /// The addresses of `host` (a host's name or one of its aliases,
    /// [`Topology::alias`](crate::Topology::alias)), every link's, in the
    /// order they were added: what its hosts file lists for the name.
    /// `getaddrinfo` (and so `TcpStream::connect("server:80")`) sorts them
    /// again by RFC 6724 destination address selection: an address of the
    /// caller's own subnet (longest matching prefix) before others, and
    /// IPv6 before IPv4 where both are reachable the same way.
    ///
    /// Empty for a name the network does not know.
    pub fn addrs_of(&self, host: &str) -> Vec<IpAddr> {
        let host = self
            .aliases
            .iter()
            .find(|(_, alias)| alias == host)
            .map_or(host, |(h, _)| h.as_str());
        self.addrs
            .iter()
            .filter(|(h, _, _)| h == host)
            .map(|(_, _, a)| a.addr())
            .collect()
    }

    /// The directory of the files this network's hosts see over `/etc`
    /// (`hosts`, `resolv.conf`, `nsswitch.conf`), removed when the network
    /// drops; `None` for a network without them.
    pub fn etc_dir(&self) -> Option<std::path::PathBuf> {
        let (_, ns) = self.hosts.first()?;
        ns.etc_dir()
    }
}

/// An alias's error: not a name a hosts file can hold, or taken.
pub(crate) fn check_alias(alias: &str, taken: bool) -> Result<()> {
    let reason = if !is_host_name(alias) {
        "not a host name (letters, digits, '-', '.', '_'; at most 253 bytes)"
    } else if taken {
        "already a host or an alias of this topology"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument {
        what: "alias",
        value: alias.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_a_hosts_file_can_hold() {
        for good in ["server", "db.example.test", "r1", "a_b", "x-1"] {
            assert!(is_host_name(good), "{good}");
        }
        for bad in ["", "a b", "a\tb", "-a", "a.", "a#b", &"a".repeat(254)] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }
}
