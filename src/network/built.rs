//! A built topology, [`Network`]: each host's namespace and addresses, by
//! name ([`Topology::build`](crate::Topology::build) makes it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::network::carried::Carried;
use crate::Netns;

/// A built topology: each host's [`Netns`] and addresses, by name.
///
/// Dropping it removes everything: named hosts leave `/run/netns`, and the
/// namespaces (with their links) go away once no thread runs in them.
#[derive(Debug)]
pub struct Network {
    // First: the test's duplicated handles of the hosts (registered.rs)
    // close before anything else goes.
    pub(crate) registered: Option<crate::network::registered::Registration>,
    // Then carried links stop (their threads are joined) before the hosts
    // go away.
    pub(crate) carried: Vec<Carried>,
    pub(crate) hosts: Vec<(String, Netns)>,
    pub(crate) addrs: Vec<(String, String, IpNet)>,
    /// `(host, alias)`: other names of hosts (network/names.rs).
    pub(crate) aliases: Vec<(String, String)>,
}

impl Network {
    /// The namespace of `host`.
    ///
    /// # Panics
    /// If the topology has no such host (the message lists those it has).
    pub fn host(&self, host: &str) -> &Netns {
        self.get(host).unwrap_or_else(|| {
            let names: Vec<&str> = self.hosts().collect();
            panic!("no host {host:?} in this network; it has {names:?}")
        })
    }

    /// The namespace of `host`, if there is such a host.
    pub fn get(&self, host: &str) -> Option<&Netns> {
        self.hosts.iter().find(|(n, _)| n == host).map(|(_, ns)| ns)
    }

    /// The host names, in the order they were declared (LAN hosts last).
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(|(n, _)| n.as_str())
    }

    /// The addresses (with prefix length) given to `link` of `host`, in the
    /// order they were added.
    pub fn addrs(&self, host: &str, link: &str) -> Vec<IpNet> {
        self.addrs
            .iter()
            .filter(|(h, l, _)| h == host && l == link)
            .map(|(_, _, a)| *a)
            .collect()
    }

    /// The first IPv4 address of `link` on `host`.
    ///
    /// # Panics
    /// If it has none.
    pub fn ipv4(&self, host: &str, link: &str) -> Ipv4Addr {
        self.addrs(host, link)
            .iter()
            .find_map(|a| match a.addr() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .unwrap_or_else(|| panic!("{host}:{link} has no IPv4 address in this network"))
    }

    /// The first IPv6 address of `link` on `host`.
    ///
    /// # Panics
    /// If it has none.
    pub fn ipv6(&self, host: &str, link: &str) -> Ipv6Addr {
        self.addrs(host, link)
            .iter()
            .find_map(|a| match a.addr() {
                IpAddr::V6(v6) => Some(v6),
                IpAddr::V4(_) => None,
            })
            .unwrap_or_else(|| panic!("{host}:{link} has no IPv6 address in this network"))
    }
}
