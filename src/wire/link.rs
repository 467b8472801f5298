//! A wire link: two veth pairs through a hidden wire namespace, and the
//! forwarding thread that carries frames between them through the fault
//! model (ARCHITECTURE.md 2.10).
//!
//! ```text
//!   host A            wire namespace W (anonymous)            host B
//!   link_a  <-veth->  a  ==[ forwarding thread ]==  b  <-veth->  link_b
//! ```
//!
//! - The thread owns two `AF_PACKET` sockets, bound to `a` and `b`, opened
//!   on a thread inside W (a socket stays in the namespace it was made in).
//!   Outgoing copies are ignored (`PACKET_IGNORE_OUTGOING`), so it never
//!   reads back what it wrote.
//! - Offloads are off on all four ends (`ethtool -K tx off sg off tso off gso
//!   off gro off`): every frame read is a real frame with its checksums, so
//!   the fault model counts frames as they would be on a wire.
//! - It stops when the link is dropped (with its `Network`): an eventfd
//!   wakes it, `Drop` joins it. Frames still delayed or queued then are
//!   discarded, as on a cable that is pulled.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::kernel::packet;
use crate::network::carried::{Carrier, End};
use crate::wire::bypass::{self, Bypass};
use crate::wire::faults::{lane_seed, Faults};
use crate::wire::model::Lane;
use crate::wire::tap::Tap;
use crate::Netns;

/// The names of the ends in the wire namespace.
pub(crate) const END_A: &str = "a";
pub(crate) const END_B: &str = "b";

/// The largest frame read: offloads are off, so frames are at most the MTU
/// plus the Ethernet header; a larger MTU set by a test still fits.
const FRAME_MAX: usize = 65_536 + 64;

/// What the forwarding thread and the handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `[A to B, B to A]`.
    pub(crate) lanes: Mutex<[Lane; 2]>,
    /// `"host_a/link_a"`, `"host_b/link_b"`.
    pub(crate) names: [String; 2],
    /// Where frames are recorded for a capture file, while one is taken.
    pub(crate) tap: Mutex<Option<Tap>>,
    /// How many [`CarrierGuard`](crate::wire::handle::CarrierGuard)s keep
    /// the carrier away; it comes back when the last one drops.
    pub(crate) downs: Mutex<usize>,
    /// The kernel fast path while the link is idle (`bypass.rs`).
    pub(crate) bypass: Bypass,
    /// Written when frames were queued from outside the forwarding thread
    /// (a release of held frames): it wakes the thread to send them.
    pub(crate) wake: OwnedFd,
}

impl Shared {
    /// Wakes the forwarding thread, to send what became due.
    pub(crate) fn wake(&self) {
        packet::eventfd_signal(self.wake.as_fd());
    }
}

/// A wire link of a [`Network`](crate::Network), made by
/// [`Topology::wire`](crate::Topology::wire).
#[derive(Debug)]
pub(crate) struct WireLink {
    pub(crate) shared: Arc<Shared>,
    pub(crate) wire_ns: Netns,
    stop: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Carrier for WireLink {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn describer(&self) -> Option<crate::network::carried::Describe> {
        let shared = self.shared.clone();
        Some(Arc::new(move || crate::wire::describe::lanes(&shared)))
    }
}

/// The [`Start`](crate::network::carried::Start) of a wire link.
pub(crate) fn start(a: End<'_>, b: End<'_>) -> Result<Box<dyn Carrier>> {
    Ok(Box::new(WireLink::new(a, b)?))
}

impl WireLink {
    fn new(a: End<'_>, b: End<'_>) -> Result<WireLink> {
        let wire_ns = Netns::new()?;
        a.netns.add_veth(a.link, &wire_ns, END_A)?;
        wire_ns.add_veth(END_B, b.netns, b.link)?;
        a.netns.run(|| packet::offloads_off(a.link))??;
        b.netns.run(|| packet::offloads_off(b.link))??;
        wire_ns.run(|| -> Result<()> {
            packet::offloads_off(END_A)?;
            packet::offloads_off(END_B)
        })??;
        for (ns, link) in [
            (a.netns, a.link),
            (&wire_ns, END_A),
            (&wire_ns, END_B),
            (b.netns, b.link),
        ] {
            ns.set_up(link)?;
        }
        // Bound after the links are up: a packet socket bound to a link that
        // is down starts with a pending ENETDOWN.
        let (sockets, fast) = wire_ns.run(|| -> Result<([OwnedFd; 2], Bypass)> {
            let sockets = [
                packet::packet_socket(END_A, false)?,
                packet::packet_socket(END_B, false)?,
            ];
            for socket in &sockets {
                packet::qdisc_bypass(socket.as_fd())?;
            }
            let fast = Bypass::new([END_A, END_B], [&sockets[0], &sockets[1]])?;
            Ok((sockets, fast))
        })??;
        let names = [
            format!("{}/{}", a.host, a.link),
            format!("{}/{}", b.host, b.link),
        ];
        let base = crate::wire::faults::base_seed();
        let lane = |i: usize| {
            let label = format!("{}>{}", names[i], names[1 - i]);
            Lane::new(Faults::new(), lane_seed(base, &label, 0))
        };
        let shared = Arc::new(Shared {
            lanes: Mutex::new([lane(0), lane(1)]),
            names,
            tap: Mutex::new(None),
            downs: Mutex::new(0),
            bypass: fast,
            wake: packet::eventfd()?,
        });
        let stop = Arc::new(packet::eventfd()?);
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("netns-test-wire".to_owned())
                .spawn(move || forward(&shared, sockets, &stop))
                .map_err(Error::Spawn)?
        };
        bypass::sync(&shared);
        Ok(WireLink {
            shared,
            wire_ns,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for WireLink {
    fn drop(&mut self) {
        packet::eventfd_signal(self.stop.as_fd());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The forwarding loop: send what is due, wait for a frame, the next due
/// time or the stop signal, take in what came. Ends on stop, or on an error
/// of a socket (the link is gone); what is still waiting is dropped.
fn forward(shared: &Shared, sockets: [OwnedFd; 2], stop: &OwnedFd) {
    // Due times are kept to the nanosecond the kernel allows (2.10); a
    // failure leaves the default slack, 50 µs.
    let _ = packet::timer_slack_min();
    let mut buf = vec![0u8; FRAME_MAX];
    let fds = [
        sockets[0].as_fd(),
        sockets[1].as_fd(),
        stop.as_fd(),
        shared.wake.as_fd(),
    ];
    loop {
        let now = Instant::now();
        let next = {
            let mut lanes = shared.lanes.lock();
            let mut next: Option<Instant> = None;
            for (i, lane) in lanes.iter_mut().enumerate() {
                while let Some(frame) = lane.due(now) {
                    deliver(shared, &sockets[1 - i], 1 - i, &frame);
                }
                next = match (next, lane.next_due()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            next
        };
        let timeout = next.map(|t| t.saturating_duration_since(Instant::now()));
        let Ok(ready) = packet::poll_readable(&fds, timeout) else {
            return;
        };
        if ready[2] {
            return;
        }
        if ready[3] {
            packet::eventfd_clear(shared.wake.as_fd());
        }
        for i in 0..2 {
            if !ready[i] {
                continue;
            }
            // A bounded batch, so one busy direction cannot starve the
            // other or the delivery of due frames.
            for _ in 0..64 {
                let frame = match packet::recv_frame(sockets[i].as_fd(), &mut buf) {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(_) => return,
                };
                if frame.outgoing || frame.len > buf.len() {
                    continue;
                }
                let data = &buf[..frame.len];
                if let Some(tap) = shared.tap.lock().as_mut() {
                    tap.record(i, data);
                }
                let mut lanes = shared.lanes.lock();
                let lane = &mut lanes[i];
                if lane.is_idle() {
                    lane.stats.frames += 1;
                    lane.stats.delivered += 1;
                    deliver(shared, &sockets[1 - i], 1 - i, data);
                } else {
                    let before = crate::wire::notes::Before::of(lane);
                    lane.admit(data.to_vec(), Instant::now());
                    // A capture's packet comment: what the wire did to it.
                    if let Some(tap) = shared.tap.lock().as_mut() {
                        crate::wire::notes::after_admit(tap, i, lane, before);
                    }
                }
            }
        }
    }
}

/// Writes `frame` out of the wire namespace's end towards host `to`.
fn deliver(shared: &Shared, socket: &OwnedFd, to: usize, frame: &[u8]) {
    if let Some(tap) = shared.tap.lock().as_mut() {
        tap.record(to, frame);
    }
    let _ = packet::send_frame(socket.as_fd(), frame);
}
