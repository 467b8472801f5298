//! [`Network::partition`] and [`Network::partition_one_way`]: the wire
//! links to cut between two sets of hosts, and the [`Partition`] guard
//! that heals them.

use crate::error::{Error, Result};
use crate::network::topology::Network;
use crate::wire::handle::{FaultGuard, Wire};
use crate::wire::link::WireLink;

impl Network {
    /// Cuts the wire links between the hosts of `side_a` and those of
    /// `side_b`, both ways, until the returned guard drops (or
    /// [`Partition::heal`]).
    ///
    /// Which links: traffic between the sides passes through routers
    /// ([`Topology::router`]) and LAN hosts (their bridge,
    /// [`Topology::lan`]), so the partition cuts the fewest wire links
    /// whose loss leaves no path of links from a host of `side_a` to a
    /// host of `side_b` through hosts that forward (hosts named on neither
    /// side, and neither routers nor LANs, pass nothing on). Among equally
    /// small cuts it takes the one nearest `side_b`: hosts on neither side
    /// stay reachable from `side_a` wherever they can. So across
    /// `client -- router -- server1` (and `router -- server2`),
    /// `partition(&["client"], &["server1"])` cuts `router -- server1`
    /// alone: the client still reaches the router and `server2`. A wire
    /// link directly between the sides is always cut. [`Partition::wires`]
    /// lists what was cut.
    ///
    /// Plain links ([`Topology::link`], and a LAN's ports) cannot be cut: a
    /// path of plain links alone between the sides is an error that names
    /// them; build one of them with [`Topology::wire`].
    ///
    /// Forwarding is as the topology declared it: a host whose forwarding
    /// a test turned on by hand (`Netns::set_forwarding`) is not seen as a
    /// router, nor is a router whose forwarding was turned off.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a host the network does not have, a
    /// host on both sides, a path of plain links between the sides (the
    /// message names them), or no path between the sides at all; nothing
    /// is cut then.
    ///
    /// [`Topology::router`]: crate::Topology::router
    /// [`Topology::lan`]: crate::Topology::lan
    /// [`Topology::link`]: crate::Topology::link
    /// [`Topology::wire`]: crate::Topology::wire
    pub fn partition(&self, side_a: &[&str], side_b: &[&str]) -> Result<Partition<'_>> {
        let crossing = self.crossing(side_a, side_b)?;
        let wires: Vec<Wire<'_>> = crossing.iter().map(|w| Wire { end: 0, ..*w }).collect();
        let cuts = wires.iter().map(Wire::cut).collect();
        Ok(Partition { cuts, wires })
    }

    /// Like [`Network::partition`], one way: frames from the hosts of
    /// `from` towards those of `to` vanish on the same wire links
    /// `partition(from, to)` would cut, while frames the other way still
    /// pass ([`Wire::cut_one_way`] on each, in the direction away from
    /// `from`). The hosts of `from` still receive what those of `to`
    /// send, and nothing they send reaches them: UDP one way only, and a
    /// TCP connect either way times out (a SYN or its SYN-ACK is lost).
    /// [`Partition::wires`] lists each link from its end on `from`'s side.
    ///
    /// # Errors
    /// As [`Network::partition`]; nothing is cut then.
    pub fn partition_one_way(&self, from: &[&str], to: &[&str]) -> Result<Partition<'_>> {
        let wires = self.crossing(from, to)?;
        let cuts = wires
            .iter()
            .map(|w| w.cut_one_way(crate::Direction::Out))
            .collect();
        Ok(Partition { cuts, wires })
    }

    /// The wire links a partition between `side_a` and `side_b` cuts, each
    /// from its end on `side_a`'s side.
    fn crossing(&self, side_a: &[&str], side_b: &[&str]) -> Result<Vec<Wire<'_>>> {
        for host in side_a.iter().chain(side_b) {
            if self.get(host).is_none() {
                return Err(Error::InvalidArgument {
                    what: "host",
                    value: (*host).to_owned(),
                    reason: "no such host in this network",
                });
            }
        }
        if let Some(both) = side_a.iter().find(|h| side_b.contains(h)) {
            return Err(Error::InvalidArgument {
                what: "host",
                value: (*both).to_owned(),
                reason: "on both sides of the partition",
            });
        }
        let hosts: Vec<&str> = self.hosts().collect();
        let index = |host: &str| hosts.iter().position(|h| *h == host);
        let roles: Vec<Role> = hosts
            .iter()
            .map(|h| {
                if side_a.contains(h) {
                    Role::A
                } else if side_b.contains(h) {
                    Role::B
                } else if self.forwarders.iter().any(|f| f == h) {
                    Role::Through
                } else {
                    Role::Off
                }
            })
            .collect();
        // Wire links first (their index is their place in `wires`), then
        // the plain ones.
        let wires: Vec<(&WireLink, [&(String, String); 2])> = self
            .carriers()
            .iter()
            .filter_map(|c| {
                let link = c.carrier.as_any().downcast_ref::<WireLink>()?;
                Some((link, [&c.a, &c.b]))
            })
            .collect();
        let ends = wires
            .iter()
            .map(|(_, ends)| (*ends, true))
            .chain(self.plain.iter().map(|[a, b]| ([a, b], false)));
        let mut edges = Vec::new();
        let mut names = Vec::new();
        for ([a, b], wire) in ends {
            if let (Some(ia), Some(ib)) = (index(&a.0), index(&b.0)) {
                edges.push(Edge { a: ia, b: ib, wire });
                names.push(format!("{}/{} - {}/{}", a.0, a.1, b.0, b.1));
            }
        }
        let sides = || format!("{} | {}", side_a.join(", "), side_b.join(", "));
        match min_cut(&roles, &edges) {
            Cut::Links(cut) => Ok(cut
                .into_iter()
                .map(|(e, end)| Wire {
                    link: wires[e].0,
                    end,
                })
                .collect()),
            Cut::Plain(path) => {
                let path: Vec<&str> = path.iter().map(|e| names[*e].as_str()).collect();
                Err(Error::InvalidArgument {
                    what: "partition",
                    value: format!("{} across the plain links {}", sides(), path.join(", ")),
                    reason: "plain links cannot be cut: build one of them with Topology::wire, \
                             or put the hosts they join on one side",
                })
            }
            Cut::NoPath => Err(Error::InvalidArgument {
                what: "partition",
                value: sides(),
                reason: "no path of links between the two sides through routers or LANs: \
                         nothing to cut",
            }),
        }
    }
}

/// What a host is to a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// On side A.
    A,
    /// On side B.
    B,
    /// On neither side, passes traffic on (a router, a LAN host).
    Through,
    /// On neither side, passes nothing on.
    Off,
}

/// A link between hosts `a` and `b` (indexes into the roles).
#[derive(Debug, Clone, Copy)]
struct Edge {
    a: usize,
    b: usize,
    /// Whether a partition can cut it (a wire link).
    wire: bool,
}

/// What separates the sides.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// These wire links (edge indexes, ascending), each with its end on
    /// side A's side (0: `a`, 1: `b`).
    Links(Vec<(usize, usize)>),
    /// Nothing can: these plain links join the sides (edge indexes, from
    /// side A to side B).
    Plain(Vec<usize>),
    /// They are not joined at all.
    NoPath,
}

/// A capacity no cut can pay: a plain link's.
const UNCUTTABLE: u32 = u32::MAX / 4;

/// The fewest wire edges whose removal leaves no path from a host of role
/// A to one of role B through hosts of role `Through`; the cut nearest B
/// among the smallest. A maximum flow (Edmonds-Karp: each wire edge
/// carries 1, a plain one [`UNCUTTABLE`]) from a source joined to every A
/// to a sink joined to every B; the hosts that can still reach the sink in
/// what the flow leaves form the largest sink side of a minimum cut.
fn min_cut(roles: &[Role], edges: &[Edge]) -> Cut {
    let active = |e: &Edge| roles[e.a] != Role::Off && roles[e.b] != Role::Off;
    if let Some(path) = plain_path(roles, edges) {
        return Cut::Plain(path);
    }
    let (source, sink) = (roles.len(), roles.len() + 1);
    // Arcs in pairs: `2k` and `2k + 1` are each other's reverse.
    let mut arcs: Vec<(usize, usize, u32)> = Vec::new();
    let mut add = |from: usize, to: usize, there: u32, back: u32| {
        arcs.push((from, to, there));
        arcs.push((to, from, back));
    };
    for e in edges.iter().filter(|e| active(e)) {
        let cap = if e.wire { 1 } else { UNCUTTABLE };
        add(e.a, e.b, cap, cap);
    }
    for (host, role) in roles.iter().enumerate() {
        match role {
            Role::A => add(source, host, UNCUTTABLE, 0),
            Role::B => add(host, sink, UNCUTTABLE, 0),
            _ => {}
        }
    }
    let nodes = roles.len() + 2;
    let mut flow = 0u32;
    loop {
        // Breadth-first from the source over arcs with room left.
        let mut via: Vec<Option<usize>> = vec![None; nodes];
        let mut seen = vec![false; nodes];
        seen[source] = true;
        let mut queue = std::collections::VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            for (i, &(from, to, cap)) in arcs.iter().enumerate() {
                if from == node && cap > 0 && !seen[to] {
                    seen[to] = true;
                    via[to] = Some(i);
                    queue.push_back(to);
                }
            }
        }
        if !seen[sink] {
            break;
        }
        let mut path = Vec::new();
        let mut node = sink;
        while let Some(arc) = via[node] {
            path.push(arc);
            node = arcs[arc].0;
        }
        let room = path.iter().map(|&a| arcs[a].2).min().unwrap_or(0);
        for &arc in &path {
            arcs[arc].2 -= room;
            arcs[arc ^ 1].2 += room;
        }
        flow += room;
    }
    if flow == 0 {
        return Cut::NoPath;
    }
    // The hosts that still reach the sink: the sink's side of the cut.
    let mut reaches = vec![false; nodes];
    reaches[sink] = true;
    let mut grew = true;
    while grew {
        grew = false;
        for &(from, to, cap) in &arcs {
            if cap > 0 && reaches[to] && !reaches[from] {
                reaches[from] = true;
                grew = true;
            }
        }
    }
    Cut::Links(
        edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.wire && active(e) && reaches[e.a] != reaches[e.b])
            .map(|(i, e)| (i, usize::from(reaches[e.a])))
            .collect(),
    )
}

/// A path of plain edges from a host of role A to one of role B through
/// hosts of role `Through`, if there is one (edge indexes, in order).
fn plain_path(roles: &[Role], edges: &[Edge]) -> Option<Vec<usize>> {
    let mut via: Vec<Option<usize>> = vec![None; roles.len()];
    let mut seen: Vec<bool> = roles.iter().map(|r| *r == Role::A).collect();
    let mut queue: std::collections::VecDeque<usize> =
        (0..roles.len()).filter(|h| seen[*h]).collect();
    while let Some(host) = queue.pop_front() {
        if roles[host] == Role::B {
            let mut path = Vec::new();
            let mut at = host;
            while let Some(e) = via[at] {
                path.push(e);
                at = if edges[e].a == at {
                    edges[e].b
                } else {
                    edges[e].a
                };
            }
            path.reverse();
            return Some(path);
        }
        if roles[host] != Role::A && roles[host] != Role::Through {
            continue;
        }
        for (i, e) in edges.iter().enumerate().filter(|(_, e)| !e.wire) {
            let next = match (e.a == host, e.b == host) {
                (true, _) => e.b,
                (_, true) => e.a,
                _ => continue,
            };
            if !seen[next] && roles[next] != Role::Off {
                seen[next] = true;
                via[next] = Some(i);
                queue.push_back(next);
            }
        }
    }
    None
}

/// A partition of a network ([`Network::partition`],
/// [`Network::partition_one_way`]): healed on drop.
#[derive(Debug)]
#[must_use = "the partition is healed when this guard drops"]
pub struct Partition<'n> {
    cuts: Vec<FaultGuard<'n>>,
    wires: Vec<Wire<'n>>,
}

impl<'n> Partition<'n> {
    /// Heals the partition (the same as dropping it).
    pub fn heal(self) {
        drop(self);
    }

    /// How many wire links the partition cuts.
    pub fn links_cut(&self) -> usize {
        self.cuts.len()
    }

    /// The wire links the partition cuts, each from its first end (as
    /// [`Network::wires`] lists them); for [`Network::partition_one_way`],
    /// from its end on the `from` side (the direction cut is `Out`).
    pub fn wires(&self) -> &[Wire<'n>] {
        &self.wires
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::{Off, Through, A, B};

    fn wire(a: usize, b: usize) -> Edge {
        Edge { a, b, wire: true }
    }

    fn plain(a: usize, b: usize) -> Edge {
        Edge { a, b, wire: false }
    }

    #[test]
    fn across_a_router_the_link_nearest_side_b() {
        // 0 -- 1 (router) -- 2, and 1 -- 3.
        let edges = [wire(0, 1), wire(1, 2), wire(1, 3)];
        assert_eq!(
            min_cut(&[A, Through, B, Off], &edges),
            Cut::Links(vec![(1, 0)])
        );
        assert_eq!(
            min_cut(&[B, Through, A, Off], &edges),
            Cut::Links(vec![(0, 1)])
        );
        // Host 3 on side A too: the router stays with side A.
        assert_eq!(
            min_cut(&[A, Through, B, A], &edges),
            Cut::Links(vec![(1, 0)])
        );
        // Two hosts on side B behind the router: one link nearer side A.
        assert_eq!(
            min_cut(&[A, Through, B, B], &edges),
            Cut::Links(vec![(0, 0)])
        );
    }

    #[test]
    fn hosts_that_do_not_forward_carry_nothing_across() {
        // A triangle of plain hosts: only the direct link.
        let edges = [wire(0, 1), wire(0, 2), wire(1, 2)];
        assert_eq!(min_cut(&[A, B, Off], &edges), Cut::Links(vec![(0, 0)]));
        assert_eq!(
            min_cut(&[A, Off, B, Off], &[wire(0, 1), wire(1, 2)]),
            Cut::NoPath
        );
    }

    #[test]
    fn plain_links_are_never_cut_and_a_path_of_them_is_named() {
        // 0 -plain- 1 (router) -wire- 2: the wire.
        assert_eq!(
            min_cut(&[A, Through, B], &[plain(0, 1), wire(1, 2)]),
            Cut::Links(vec![(1, 0)])
        );
        // 0 -wire- 1 (router) -plain- 2 and 1 -plain- 3 (B): plain path 1's
        // side cannot be cut, so the wire from 0.
        assert_eq!(
            min_cut(&[A, Through, B, B], &[wire(0, 1), plain(1, 2), plain(1, 3)]),
            Cut::Links(vec![(0, 0)])
        );
        // Plain all the way, through a LAN host: named in order.
        assert_eq!(
            min_cut(&[A, Through, B], &[plain(1, 2), plain(0, 1)]),
            Cut::Plain(vec![1, 0])
        );
    }

    #[test]
    fn parallel_paths_are_all_cut() {
        // 0 -- 1 -- 3 and 0 -- 2 -- 3, both middle hosts routers, plus a
        // direct link.
        let edges = [wire(0, 1), wire(1, 3), wire(0, 2), wire(2, 3), wire(0, 3)];
        assert_eq!(
            min_cut(&[A, Through, Through, B], &edges),
            Cut::Links(vec![(1, 0), (3, 0), (4, 0)])
        );
    }
}
