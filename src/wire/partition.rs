//! [`Network::partition`]: the wire links to cut between two sets of
//! hosts, and the [`Partition`] guard that heals them.

use crate::error::{Error, Result};
use crate::network::topology::Network;
use crate::wire::handle::{FaultGuard, Wire};
use crate::wire::link::WireLink;

impl Network {
    /// Cuts every wire link between a host of `side_a` and a host of
    /// `side_b`, both ways, until the returned guard drops (or
    /// [`Partition::heal`]).
    ///
    /// Plain links ([`Topology::link`]) cannot be cut: a partition across
    /// one leaves it working, so build the links that may be cut with
    /// [`Topology::wire`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a host the network does not have, a
    /// host on both sides, or no wire link between the two sides; nothing
    /// is cut then.
    pub fn partition(&self, side_a: &[&str], side_b: &[&str]) -> Result<Partition<'_>> {
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
        let mut cuts = Vec::new();
        for carried in self.carriers() {
            let Some(link) = carried.carrier.as_any().downcast_ref::<WireLink>() else {
                continue;
            };
            let (ha, hb) = (carried.a.0.as_str(), carried.b.0.as_str());
            let crosses = (side_a.contains(&ha) && side_b.contains(&hb))
                || (side_b.contains(&ha) && side_a.contains(&hb));
            if crosses {
                cuts.push(Wire { link, end: 0 }.cut());
            }
        }
        if cuts.is_empty() {
            return Err(Error::InvalidArgument {
                what: "partition",
                value: format!("{side_a:?} | {side_b:?}"),
                reason: "no wire link between the two sides",
            });
        }
        Ok(Partition { cuts })
    }
}

/// A partition of a network ([`Network::partition`]): healed on drop.
#[derive(Debug)]
#[must_use = "the partition is healed when this guard drops"]
pub struct Partition<'n> {
    cuts: Vec<FaultGuard<'n>>,
}

impl Partition<'_> {
    /// Heals the partition (the same as dropping it).
    pub fn heal(self) {
        drop(self);
    }

    /// How many wire links the partition cuts.
    pub fn links_cut(&self) -> usize {
        self.cuts.len()
    }
}
