//! A built network's hosts and their addresses, by name.
//!
//! Lookups that panic on a name the network does not have are
//! `#[track_caller]`: the panic points at the test's line, and its message
//! lists the hosts there are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::network::built::Network;
use crate::Netns;

impl Network {
    /// The namespace of `host`.
    ///
    /// # Panics
    /// If the topology has no such host, at the caller's line, with a
    /// message that lists the hosts it has (`no host "sever" in this
    /// network; hosts: client, router, server`). [`Network::get`] does not
    /// panic.
    #[track_caller]
    pub fn host(&self, host: &str) -> &Netns {
        match self.get(host) {
            Some(ns) => ns,
            None => self.no_such_host(host),
        }
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
    /// At the caller's line, if the network has no such host (the message
    /// lists those it has) or the link has no IPv4 address.
    #[track_caller]
    pub fn ipv4(&self, host: &str, link: &str) -> Ipv4Addr {
        self.host(host);
        match self.addrs(host, link).iter().find_map(|a| v4(a.addr())) {
            Some(addr) => addr,
            None => panic!("{host}:{link} has no IPv4 address in this network"),
        }
    }

    /// The first IPv6 address of `link` on `host`.
    ///
    /// # Panics
    /// At the caller's line, if the network has no such host (the message
    /// lists those it has) or the link has no IPv6 address.
    #[track_caller]
    pub fn ipv6(&self, host: &str, link: &str) -> Ipv6Addr {
        self.host(host);
        match self.addrs(host, link).iter().find_map(|a| v6(a.addr())) {
            Some(addr) => addr,
            None => panic!("{host}:{link} has no IPv6 address in this network"),
        }
    }

    /// The first IPv4 address of `host`, on any of its links but `lo`, in
    /// the order the topology added them ([`Topology::addr`]): for a host
    /// with one link, its address, without naming the link.
    ///
    /// # Panics
    /// At the caller's line, as [`Network::host`] does, if the network has
    /// no such host (the message lists those it has) or the host has no
    /// IPv4 address outside `lo`. [`Network::addrs`] does not panic.
    ///
    /// [`Topology::addr`]: crate::Topology::addr
    #[track_caller]
    pub fn host_ipv4(&self, host: &str) -> Ipv4Addr {
        self.host(host);
        match self.host_addrs(host).find_map(v4) {
            Some(addr) => addr,
            None => panic!("host {host:?} has no IPv4 address in this network (lo aside)"),
        }
    }

    /// The first IPv6 address of `host`, on any of its links but `lo`, in
    /// the order the topology added them: as [`Network::host_ipv4`].
    ///
    /// # Panics
    /// As [`Network::host_ipv4`], for IPv6.
    #[track_caller]
    pub fn host_ipv6(&self, host: &str) -> Ipv6Addr {
        self.host(host);
        match self.host_addrs(host).find_map(v6) {
            Some(addr) => addr,
            None => panic!("host {host:?} has no IPv6 address in this network (lo aside)"),
        }
    }

    /// The addresses the topology gave `host`'s links other than `lo`, in
    /// the order it added them.
    fn host_addrs<'a>(&'a self, host: &'a str) -> impl Iterator<Item = IpAddr> + 'a {
        self.addrs
            .iter()
            .filter(move |(h, l, _)| h == host && l != "lo")
            .map(|(_, _, a)| a.addr())
    }

    /// The panic of a lookup of a host the network does not have.
    #[track_caller]
    fn no_such_host(&self, host: &str) -> ! {
        let names: Vec<&str> = self.hosts().collect();
        panic!(
            "no host {host:?} in this network; hosts: {}",
            names.join(", ")
        )
    }
}

fn v4(addr: IpAddr) -> Option<Ipv4Addr> {
    match addr {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }
}

fn v6(addr: IpAddr) -> Option<Ipv6Addr> {
    match addr {
        IpAddr::V6(v6) => Some(v6),
        IpAddr::V4(_) => None,
    }
}
