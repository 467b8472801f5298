//! The guards of a wire link's changes: [`FaultGuard`] ([`Wire::set`],
//! [`Wire::cut`], [`Wire::cut_one_way`]) and [`CarrierGuard`] ([`Wire::down`]), each undoing its
//! change when dropped (a partition's guard is `wire/partition.rs`'s).

use std::fmt;

use super::Wire;
use crate::wire::faults::Faults;
use crate::wire::link::WireLink;

/// What a [`FaultGuard`] puts back.
pub(super) enum Undo {
    Faults(Vec<(usize, Faults, u64)>),
    /// The lanes cut (both for [`Wire::cut`], one for
    /// [`Wire::cut_one_way`]).
    Cut(Vec<usize>),
}

/// Undoes a [`Wire::set`], [`Wire::cut`] or [`Wire::cut_one_way`] when
/// dropped.
#[must_use = "the change is undone when the guard drops"]
pub struct FaultGuard<'n> {
    pub(super) link: &'n WireLink,
    pub(super) undo: Undo,
}

impl fmt::Debug for FaultGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lanes = self.link.shared.lanes.lock();
        let names = &self.link.shared.names;
        let mut d = f.debug_struct("FaultGuard");
        for (i, lane) in lanes.iter().enumerate() {
            d.field(
                &format!("{} -> {}", names[i], names[1 - i]),
                &format_args!(
                    "{:?}, seed {}, cut {}",
                    lane.faults,
                    lane.seed,
                    lane.cuts > 0
                ),
            );
        }
        d.finish()
    }
}

impl Drop for FaultGuard<'_> {
    fn drop(&mut self) {
        let mut lanes = self.link.shared.lanes.lock();
        match &mut self.undo {
            Undo::Faults(before) => {
                for (i, faults, seed) in before.drain(..) {
                    lanes[i].set(faults, seed);
                }
            }
            Undo::Cut(cut) => {
                for &i in cut.iter() {
                    lanes[i].cuts = lanes[i].cuts.saturating_sub(1);
                }
            }
        }
        drop(lanes);
        crate::wire::bypass::sync(&self.link.shared);
    }
}

/// Gives a wire link its carrier back when dropped ([`Wire::down`]), if
/// it is the last such guard and [`Wire::up`] has not done so already.
#[must_use = "the carrier comes back when the guard drops"]
pub struct CarrierGuard<'n> {
    pub(super) link: &'n WireLink,
}

impl fmt::Debug for CarrierGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarrierGuard")
            .field("link", &self.link.shared.names)
            .field("downs", &*self.link.shared.downs.lock())
            .finish()
    }
}

impl Drop for CarrierGuard<'_> {
    fn drop(&mut self) {
        let mut downs = self.link.shared.downs.lock();
        if *downs == 0 {
            return; // `Wire::up` gave it back already
        }
        *downs -= 1;
        if *downs == 0 {
            drop(downs);
            let wire = Wire {
                link: self.link,
                end: 0,
            };
            if let Err(e) = wire.up_now() {
                eprintln!("netns-test: the carrier of a wire link could not be given back: {e}");
            }
            crate::wire::bypass::sync(&self.link.shared);
        }
    }
}
