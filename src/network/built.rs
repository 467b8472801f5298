//! A built topology, [`Network`]: each host's namespace and addresses, by
//! name ([`Topology::build`](crate::Topology::build) makes it); its lookups
//! by name are `hosts.rs`, the processes it owns `owned.rs`.

use ipnet::IpNet;

use crate::network::carried::Carried;
use crate::network::owned::OwnedList;
use crate::Netns;

/// A built topology: each host's [`Netns`] and addresses, by name.
///
/// Dropping it removes everything: the processes it owns
/// ([`Network::spawn`](crate::Network::spawn)) are stopped, last spawned
/// first, then named hosts leave `/run/netns`, and the namespaces (with
/// their links) go away once no thread runs in them.
#[derive(Debug)]
pub struct Network {
    // First: the test's duplicated handles of the hosts (registered.rs)
    // close before anything else goes.
    pub(crate) registered: Option<crate::network::registered::Registration>,
    // Then processes in the hosts stop (reverse order).
    pub(crate) owned: OwnedList,
    // Then carried links stop (their threads are joined) before the hosts
    // go away.
    pub(crate) carried: Vec<Carried>,
    pub(crate) hosts: Vec<(String, Netns)>,
    pub(crate) addrs: Vec<(String, String, IpNet)>,
    /// The veth pairs, `(host, link)` at each end: the topology's links and
    /// its LAN ports (member, then the LAN host's port).
    pub(crate) plain: Vec<[(String, String); 2]>,
    /// The hosts that pass traffic between their links: routers and LAN
    /// hosts (their bridge), as declared.
    pub(crate) forwarders: Vec<String>,
    /// The LAN hosts (each holds a bridge, `step.rs`'s `BRIDGE`), among
    /// the forwarders: the diagram marks them (`diagram.rs`).
    pub(crate) lans: Vec<String>,
    /// The routers that translate (`Topology::nat`, feature `nftables`):
    /// the diagram marks them.
    pub(crate) nats: Vec<String>,
    /// `(host, alias)`: other names of hosts (network/names.rs).
    pub(crate) aliases: Vec<(String, String)>,
    /// The filter rules of each host (network/nft_plan.rs).
    pub(crate) filters: crate::network::nft_plan::Filters,
}
