//! A wire link's kernel fast path (ARCHITECTURE.md 2.10): while both
//! directions are idle (no faults, no cut, no per-frame rule or hold, the
//! carrier up, no capture recording the wire), frames go from `a` to `b`
//! and back inside the kernel, not through the forwarding thread.
//!
//! - At the link's start, on `a` and on `b`: an `ingress` qdisc, a
//!   match-all `u32` filter at priority 2 whose `mirred egress redirect`
//!   action sends every frame out of the other end (action 1: `a` to `b`,
//!   2: `b` to `a`), and before it, at priority 1, a match-all filter
//!   without action, which lets every frame pass on to the thread's
//!   sockets. The redirects stay for the link's life, and so do their
//!   actions' packet counters: every frame the kernel carried. (Actions
//!   made on their own would need `CAP_NET_ADMIN` in the initial user
//!   namespace: rootless tests could not.)
//! - On: the thread's `AF_PACKET` sockets get a `ret #0` filter (they queue
//!   no copy), then the pass filters go, so the redirects take every frame,
//!   then what the sockets queued before is thrown away. Off: the pass
//!   filters come back, then the sockets take frames again.
//! - Every change of what makes a link busy calls [`sync`] after it, which
//!   switches under one lock, reading the state under it: two changes at
//!   once cannot leave the fast path on over a fault. The switch is done
//!   when the call that set the fault returns.
//!
//! A frame is never carried twice: the packet tap runs before the ingress
//! qdisc, so a frame the filter redirects was refused by the `ret #0`
//! filter, unless it reached the tap before the filter was attached and the
//! qdisc after the redirect was added, within one softirq pass; the drain
//! after the switch throws such a frame away. A frame that arrives while
//! the switch is under way may be lost (off: between the filters going and
//! the sockets taking frames again; on: queued but not yet read when the
//! drain runs).
//!
//! If the kernel refuses any step (no `sch_ingress`, `cls_u32` or
//! `act_mirred`), the link stays on the forwarding thread for good, the
//! redirects removed.

use std::os::fd::{AsFd, OwnedFd};

use parking_lot::Mutex;

use crate::error::Result;
use crate::kernel::netlink::RouteSocket;
use crate::kernel::{packet, sock_filter, tc};
use crate::wire::link::Shared;
use crate::wire::model::Lane;

/// The wire link's fast path; what [`sync`] switches.
#[derive(Debug)]
pub(crate) struct Bypass {
    inner: Mutex<Inner>,
}

struct Inner {
    /// `NETLINK_ROUTE` in the wire namespace (a socket stays in the
    /// namespace it was opened in); `None` once the kernel refused a step.
    route: Option<RouteSocket>,
    /// The interface indexes of `a` and `b`.
    index: [u32; 2],
    /// The forwarding thread's sockets on `a` and `b` (duplicates).
    sockets: [OwnedFd; 2],
    on: bool,
    /// What the actions had counted when last read, `[a to b, b to a]`.
    counted: [u64; 2],
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bypass")
            .field("on", &self.on)
            .field("available", &self.route.is_some())
            .field("counted", &self.counted)
            .finish()
    }
}

/// The action that carries frames arriving on end `i` (0 `a`, 1 `b`).
fn action(i: usize) -> u32 {
    i as u32 + 1
}

impl Bypass {
    /// Sets up the qdiscs and actions in the calling thread's namespace,
    /// the wire namespace, for ends `a` and `b`, whose forwarding sockets
    /// are `sockets`. The fast path starts off; [`sync`] turns it on. A
    /// kernel that refuses leaves it unavailable, not an error.
    ///
    /// # Errors
    /// [`Error::Sys`](crate::Error::Sys) if a socket cannot be duplicated.
    pub(crate) fn new(names: [&str; 2], sockets: [&OwnedFd; 2]) -> Result<Bypass> {
        let sockets = [
            crate::kernel::dup_cloexec(sockets[0].as_fd())?,
            crate::kernel::dup_cloexec(sockets[1].as_fd())?,
        ];
        let mut index = [0; 2];
        let route = (|| -> Result<RouteSocket> {
            let mut route = RouteSocket::open()?;
            for i in 0..2 {
                index[i] = route
                    .link_by_name(names[i], &|| format!("RTM_GETLINK {}", names[i]))?
                    .header
                    .index;
            }
            for i in 0..2 {
                tc::add_ingress_qdisc(&mut route, index[i], names[i])?;
                tc::add_pass_filter(&mut route, index[i])?;
                tc::add_redirect_filter(&mut route, index[i], action(i), index[1 - i])?;
            }
            Ok(route)
        })()
        .ok();
        Ok(Bypass {
            inner: Mutex::new(Inner {
                route,
                index,
                sockets,
                on: false,
                counted: [0; 2],
            }),
        })
    }

    /// Frames the kernel carried so far, `[a to b, b to a]` (the last
    /// figures read if the reading fails).
    pub(crate) fn carried(&self) -> [u64; 2] {
        let mut inner = self.inner.lock();
        inner.read_counts();
        inner.counted
    }
}

/// What [`fast_path`] reads of a wire link's fast path. Not a public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastPath {
    /// Whether the link set it up (the kernel has what it needs).
    pub available: bool,
    /// Whether it is on now.
    pub on: bool,
    /// The filter priorities on the ingress of `a` and of `b` in the wire
    /// namespace, as the kernel lists them (`tc filter show dev a ingress`).
    pub filters: [Vec<u32>; 2],
    /// Frames the kernel carried, `[A to B, B to A]` from the link's first
    /// end.
    pub carried: [u64; 2],
}

/// The fast path of `wire`'s link, read from the kernel. For the crate's
/// own tests.
///
/// # Errors
/// [`Error::Netlink`](crate::Error::Netlink) from a filter dump.
pub fn fast_path(wire: &crate::Wire<'_>) -> Result<FastPath> {
    let bypass = &wire.link.shared.bypass;
    let carried = bypass.carried();
    let mut inner = bypass.inner.lock();
    let (on, index) = (inner.on, inner.index);
    let filters = match inner.route.as_mut() {
        Some(route) => [
            tc::ingress_filters(route, index[0])?,
            tc::ingress_filters(route, index[1])?,
        ],
        None => [Vec::new(), Vec::new()],
    };
    Ok(FastPath {
        available: inner.route.is_some(),
        on,
        filters,
        carried,
    })
}

impl Inner {
    fn read_counts(&mut self) {
        let Some(route) = self.route.as_mut() else {
            return;
        };
        for i in 0..2 {
            if let Ok(n) = tc::action_packets(route, action(i)) {
                self.counted[i] = n;
            }
        }
    }

    fn turn_on(&mut self) -> Result<()> {
        let Some(route) = self.route.as_mut() else {
            return Ok(());
        };
        for socket in &self.sockets {
            sock_filter::take_nothing(socket.as_fd())?;
        }
        for i in 0..2 {
            tc::del_filter(route, self.index[i], tc::PASS_PRIO)?;
        }
        self.on = true;
        let mut buf = vec![0u8; 2048];
        for socket in &self.sockets {
            while let Ok(Some(_)) = packet::recv_frame(socket.as_fd(), &mut buf) {}
        }
        Ok(())
    }

    fn turn_off(&mut self) -> Result<()> {
        if let Some(route) = self.route.as_mut() {
            for i in 0..2 {
                tc::add_pass_filter(route, self.index[i])?;
            }
        }
        self.on = false;
        for socket in &self.sockets {
            sock_filter::take_all(socket.as_fd())?;
        }
        Ok(())
    }

    /// Gives up the fast path for good after a refused step: the counters
    /// read a last time, the redirects removed (errors ignored: one may
    /// not be there), sockets open.
    fn give_up(&mut self) {
        self.read_counts();
        if let Some(route) = self.route.as_mut() {
            for i in 0..2 {
                let _ = tc::del_filter(route, self.index[i], tc::REDIRECT_PRIO);
            }
        }
        self.route = None;
        self.on = false;
        for socket in &self.sockets {
            let _ = sock_filter::take_all(socket.as_fd());
        }
    }
}

/// Whether `lane` lets frames through untouched: no fault, cut, rule or
/// hold (frames still delayed leave from the thread all the same).
fn passes(lane: &Lane) -> bool {
    lane.cuts == 0 && lane.faults.is_perfect() && lane.rules.is_empty()
}

/// Puts the fast path of `shared`'s link on or off as its state wants,
/// read under the switch's lock. Called after every change of faults,
/// cuts, rules, holds, carrier or capture.
pub(crate) fn sync(shared: &Shared) {
    let mut inner = shared.bypass.inner.lock();
    if inner.route.is_none() {
        return;
    }
    let passing = shared.lanes.lock().iter().all(passes);
    let carrier = *shared.downs.lock() == 0;
    let want = passing && carrier && shared.tap.lock().is_none();
    let result = match (inner.on, want) {
        (false, true) => inner.turn_on(),
        (true, false) => inner.turn_off(),
        _ => Ok(()),
    };
    if let Err(e) = result {
        eprintln!("netns-test: a wire link's kernel fast path is off for good: {e}");
        inner.give_up();
    }
}
