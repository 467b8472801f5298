//! The public face of wire links: [`Topology::wire`], [`Network::wire`],
//! the [`Wire`] handle and its guards.

use std::fmt;

use crate::error::{Error, Result};
use crate::network::topology::{Network, Topology};
use crate::wire::faults::{base_seed, lane_seed, Direction, Faults};
use crate::wire::link::{WireLink, END_A, END_B};
use crate::wire::model::LaneStats;

mod guard;
mod per_frame;
use guard::Undo;
pub use guard::{CarrierGuard, FaultGuard};
pub use per_frame::{HoldGuard, RuleGuard};

impl Topology {
    /// A link like [`Topology::link`] whose frames this crate carries, so
    /// that faults can be set on it ([`Network::wire`]).
    ///
    /// It is two veth pairs through a hidden wire namespace
    /// (`link_a` of `host_a` to `a` there, `b` there to `link_b` of `host_b`)
    /// and a forwarding thread with an `AF_PACKET` socket on each of `a` and
    /// `b`. The hosts see a plain link, up, that passes frames unchanged;
    /// its offloads are off (checksums are computed and TCP segmented by
    /// the sender), so the faults act on real frames. The thread stops, and
    /// frames still in flight are dropped, when the [`Network`] drops.
    ///
    /// While nothing is set on the link either way (no fault, cut, rule,
    /// hold or lost carrier) and no capture records it, the kernel carries
    /// its frames instead of the thread (a traffic-control redirect in the
    /// wire namespace, ARCHITECTURE.md 2.10); setting anything moves them
    /// back to the thread before the call returns. A frame that arrives
    /// during such a switch may be lost, none is delivered twice.
    ///
    /// Links made with [`Topology::link`] keep the kernel's veth fast path:
    /// no thread, no copy.
    pub fn wire(self, host_a: &str, link_a: &str, host_b: &str, link_b: &str) -> Topology {
        self.carried(host_a, link_a, host_b, link_b, crate::wire::link::start)
    }
}

impl Network {
    /// The wire link one of whose ends is `link` of `host` (declared with
    /// [`Topology::wire`]); directions are seen from that end.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if no wire link ends there (a host or link
    /// of another kind, or none at all).
    pub fn wire(&self, host: &str, link: &str) -> Result<Wire<'_>> {
        for carried in self.carriers() {
            let Some(wire) = carried.carrier.as_any().downcast_ref::<WireLink>() else {
                continue;
            };
            let end = if carried.a.0 == host && carried.a.1 == link {
                0
            } else if carried.b.0 == host && carried.b.1 == link {
                1
            } else {
                continue;
            };
            return Ok(Wire { link: wire, end });
        }
        Err(Error::InvalidArgument {
            what: "wire link",
            value: format!("{host}/{link}"),
            reason: "no wire link of this network ends there (see Topology::wire)",
        })
    }

    /// Every wire link of this network, from its first end.
    pub fn wires(&self) -> Vec<Wire<'_>> {
        self.carriers()
            .iter()
            .filter_map(|c| c.carrier.as_any().downcast_ref::<WireLink>())
            .map(|link| Wire { link, end: 0 })
            .collect()
    }
}

/// A handle on a wire link, from one of its ends ([`Network::wire`]).
#[derive(Clone, Copy)]
pub struct Wire<'n> {
    pub(crate) link: &'n WireLink,
    /// 0 if opened from host A's end, 1 from B's.
    pub(super) end: usize,
}

impl fmt::Debug for Wire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lanes = self.link.shared.lanes.lock();
        let names = &self.link.shared.names;
        f.debug_struct("Wire")
            .field("from", &names[self.end])
            .field("to", &names[1 - self.end])
            .field("out", &lanes[self.end].faults)
            .field("out_seed", &lanes[self.end].seed)
            .field("in", &lanes[1 - self.end].faults)
            .field("in_seed", &lanes[1 - self.end].seed)
            .finish()
    }
}

impl<'n> Wire<'n> {
    /// `host/link` of this end and of the other.
    pub fn ends(&self) -> (&'n str, &'n str) {
        let names = &self.link.shared.names;
        (&names[self.end], &names[1 - self.end])
    }

    /// Lane indexes of a direction.
    pub(super) fn lanes(&self, dir: Direction) -> Vec<usize> {
        match dir {
            Direction::Out => vec![self.end],
            Direction::In => vec![1 - self.end],
            Direction::Both => vec![0, 1],
        }
    }

    /// Sets the faults of `dir` until the guard drops, which puts back what
    /// was set before. Takes effect for the next frame; frames already
    /// delayed keep their times.
    ///
    /// Each direction draws its random numbers from its own seed, derived
    /// from the one in `faults` and the direction's name, or without one from
    /// [`fault_seed`](crate::fault_seed) (which `NETNS_TEST_SEED` fixes), the
    /// direction and how often it was set. The guard's `Debug` and
    /// [`Wire::seed`] show the seeds.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a value out of range (a fraction above
    /// 1, a rate of 0); nothing is changed then.
    #[must_use = "the faults are undone when the guard drops"]
    pub fn set(&self, dir: Direction, faults: Faults) -> Result<FaultGuard<'n>> {
        faults.validate()?;
        crate::wire::seeds_used(faults.seed.is_some());
        let mut lanes = self.link.shared.lanes.lock();
        let mut before = Vec::new();
        for i in self.lanes(dir) {
            let lane = &mut lanes[i];
            // Mixed with the direction's name, so the two directions of one
            // setting draw different numbers (losses are not mirrored).
            let names = &self.link.shared.names;
            let label = format!("{}>{}", names[i], names[1 - i]);
            let seed = match faults.seed {
                Some(seed) => lane_seed(seed, &label, 0),
                None => lane_seed(base_seed(), &label, lane.generation + 1),
            };
            before.push((i, lane.faults.clone(), lane.seed));
            lane.set(faults.clone(), seed);
        }
        drop(lanes);
        crate::wire::bypass::sync(&self.link.shared);
        Ok(FaultGuard {
            link: self.link,
            undo: Undo::Faults(before),
        })
    }

    /// Cuts the link both ways (every frame dropped) until the guard drops.
    /// The hosts still see the link up: connections time out, as behind a
    /// broken switch. For a link that goes down, see [`Wire::down`].
    ///
    /// Infallible, so it returns the guard itself (no `Result`, no
    /// `.unwrap()`): a cut is a counter the forwarding thread reads, no
    /// request to the kernel. Cuts nest: the link carries frames again when
    /// the last guard drops.
    #[must_use = "the cut is healed when the guard drops"]
    pub fn cut(&self) -> FaultGuard<'n> {
        self.cut_one_way(Direction::Both)
    }

    /// Cuts the link in direction `dir` only until the guard drops: frames
    /// that way vanish (counted in [`LaneStats::cut`]), frames the other
    /// way still pass; `Direction::Both` is [`Wire::cut`]. A host then
    /// still receives what the other sends, and a TCP connect either way
    /// times out (its SYN or the SYN-ACK is lost). Infallible and nesting
    /// like [`Wire::cut`]; the cut comes before per-frame rules and holds
    /// (`Wire::rule`).
    #[must_use = "the cut is healed when the guard drops"]
    pub fn cut_one_way(&self, dir: Direction) -> FaultGuard<'n> {
        let mut lanes = self.link.shared.lanes.lock();
        let cut = self.lanes(dir);
        for &i in &cut {
            lanes[i].cuts += 1;
        }
        drop(lanes);
        crate::wire::bypass::sync(&self.link.shared);
        FaultGuard {
            link: self.link,
            undo: Undo::Cut(cut),
        }
    }

    /// Takes the link's carrier away, as when its cable is pulled, until
    /// the guard drops (or [`Wire::up`]): the ends in the wire namespace go
    /// down (`RTM_SETLINK` without `IFF_UP`), so both hosts see their link
    /// `NO-CARRIER` (operstate `DOWN`, `LOWER_UP` off).
    ///
    /// What a host's traffic over the link does then: carrier loss does not
    /// remove the host's addresses or routes (only its own end going
    /// administratively down would; they are marked `linkdown` and still
    /// used unless `net.ipv4.conf.*.ignore_routes_with_linkdown` is 1), and
    /// the kernel flushes the link's neighbour entries. So sends still go
    /// out over the link and are lost there: a TCP `connect` fails with
    /// `EHOSTUNREACH` after 3 to 4 s, when neighbour resolution gives up
    /// (ARP/NDP probes), or times out first if its own timeout is shorter;
    /// a UDP `send` succeeds and the datagram vanishes. Not `ENETUNREACH`
    /// at once: that would take the hosts' ends down, which removes their
    /// routes (and IPv6 addresses) and leaves a test to put them back.
    ///
    /// Guards nest: the carrier comes back when the last one drops, or at
    /// once with [`Wire::up`].
    ///
    /// # Errors
    /// [`Error::Netlink`] from the request; the carrier is given back
    /// then.
    #[must_use = "the carrier comes back when the guard drops"]
    pub fn down(&self) -> Result<CarrierGuard<'n>> {
        let mut downs = self.link.shared.downs.lock();
        let result = self
            .link
            .wire_ns
            .set_down(END_A)
            .and_then(|()| self.link.wire_ns.set_down(END_B));
        if let Err(e) = result {
            if *downs == 0 {
                let _ = self.up_now();
            }
            return Err(e);
        }
        *downs += 1;
        drop(downs);
        crate::wire::bypass::sync(&self.link.shared);
        Ok(CarrierGuard { link: self.link })
    }

    /// Gives the carrier back now, whatever [`Wire::down`] guards are still
    /// alive (their drop then changes nothing).
    ///
    /// # Errors
    /// [`Error::Netlink`] from the request.
    pub fn up(&self) -> Result<()> {
        *self.link.shared.downs.lock() = 0;
        let result = self.up_now();
        crate::wire::bypass::sync(&self.link.shared);
        result
    }

    fn up_now(&self) -> Result<()> {
        self.link.wire_ns.set_up(END_A)?;
        self.link.wire_ns.set_up(END_B)
    }

    /// What the direction `Out` or `In` did so far (`Both` adds them up).
    pub fn stats(&self, dir: Direction) -> LaneStats {
        // What the kernel carried on the fast path (bypass.rs), then what
        // the thread did.
        let carried = self.link.shared.bypass.carried();
        let lanes = self.link.shared.lanes.lock();
        let mut total = LaneStats::default();
        for i in self.lanes(dir) {
            let s = lanes[i].stats;
            total.frames += s.frames + carried[i];
            total.delivered += s.delivered + carried[i];
            total.lost += s.lost;
            total.cut += s.cut;
            total.queue_drops += s.queue_drops;
            total.duplicated += s.duplicated;
            total.corrupted += s.corrupted;
            total.reordered += s.reordered;
            total.rule_drops += s.rule_drops;
            total.hold_drops += s.hold_drops;
        }
        total
    }

    /// The seed direction `Out` or `In` draws from now.
    pub fn seed(&self, dir: Direction) -> u64 {
        let lanes = self.link.shared.lanes.lock();
        let i = if dir == Direction::In {
            1 - self.end
        } else {
            self.end
        };
        lanes[i].seed
    }
}
