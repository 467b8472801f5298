//! Per-frame rules and holds on a wire link: [`Wire::rule`] and its
//! [`RuleGuard`], [`Wire::hold`] and its [`HoldGuard`], and the release of
//! held frames. The rule engine and the hold queue are `wire/rules.rs`'s.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::Wire;
use crate::wire::faults::Direction;
use crate::wire::frame::{Frame, Verdict};
use crate::wire::link::WireLink;

impl<'n> Wire<'n> {
    /// Adds a rule that decides, frame by frame, what happens to the frames
    /// of direction `dir`, until the guard drops.
    ///
    /// `rule` sees each frame with its headers parsed ([`Frame`]) and
    /// returns a [`Verdict`]: [`Verdict::Pass`] leaves the frame to the
    /// rules added after it and then to the seeded faults ([`Wire::set`]);
    /// [`Verdict::Drop`] drops it (counted in
    /// [`LaneStats::rule_drops`](crate::LaneStats::rule_drops));
    /// [`Verdict::Delay`] sends it after that long, skipping the faults;
    /// [`Verdict::Hold`] holds it until [`Wire::release`]. Rules are asked
    /// in the order they were added and the first verdict other than
    /// `Pass` decides. A cut ([`Wire::cut`], [`Wire::cut_one_way`]) comes
    /// first, then a [`Wire::hold`], then the rules. Ready-made rules:
    /// [`Match`](crate::Match).
    ///
    /// The rule runs on the link's forwarding thread, for every frame,
    /// while the link's state is locked: it must be quick (the link carries
    /// nothing else meanwhile) and must not call anything on this wire or
    /// its [`Network`](crate::Network) (that would wait for the lock it
    /// runs under: a deadlock). A rule that keeps state (a count) keeps it
    /// in atomics or a mutex of its own. Infallible: adding a rule is no
    /// request to the kernel.
    ///
    /// A capture (`Capture`, feature `capture`; `NETNS_TEST_CAPTURE`) names
    /// the rule in the comment of each frame it dropped, delayed or held:
    /// by its position among the rules of the direction, from 1, and
    /// `Wire::rule` (`dropped by rule #1 (Wire::rule)`); give it a name of
    /// your own with [`Wire::rule_named`].
    ///
    /// ```
    /// # #[cfg(feature = "wire")]
    /// # fn demo(wire: netns_test::Wire<'_>) {
    /// use netns_test::{Direction, Verdict};
    /// // Drops the datagrams to UDP port 53 leaving this end.
    /// let _no_dns = wire.rule(Direction::Out, |frame| match frame.dst_port() {
    ///     Some(53) if frame.protocol() == Some(17) => Verdict::Drop,
    ///     _ => Verdict::Pass,
    /// });
    /// # }
    /// ```
    #[must_use = "the rule is removed when the guard drops"]
    pub fn rule(
        &self,
        dir: Direction,
        rule: impl Fn(&Frame<'_>) -> Verdict + Send + Sync + 'static,
    ) -> RuleGuard<'n> {
        self.add_rule(dir, None, Arc::new(rule))
    }

    /// [`Wire::rule`], with a name a capture's comments give the rule after
    /// its position: `dropped by rule #1 (syn only)`, `delayed 30 ms by
    /// rule #2 (slow replies)`. The name is text of your choosing, shown
    /// as given; it changes nothing about what the rule does.
    ///
    /// ```
    /// # #[cfg(feature = "wire")]
    /// # fn demo(wire: netns_test::Wire<'_>) {
    /// use netns_test::{Direction, Match};
    /// let _no_new = wire.rule_named(
    ///     Direction::Out,
    ///     "syn only",
    ///     Match::tcp().dst_port(80).syn().drop(),
    /// );
    /// # }
    /// ```
    #[must_use = "the rule is removed when the guard drops"]
    pub fn rule_named(
        &self,
        dir: Direction,
        name: impl Into<String>,
        rule: impl Fn(&Frame<'_>) -> Verdict + Send + Sync + 'static,
    ) -> RuleGuard<'n> {
        self.add_rule(dir, Some(name.into().into()), Arc::new(rule))
    }

    fn add_rule(
        &self,
        dir: Direction,
        name: Option<Arc<str>>,
        rule: crate::wire::rules::RuleFn,
    ) -> RuleGuard<'n> {
        let mut lanes = self.link.shared.lanes.lock();
        let ids = self
            .lanes(dir)
            .into_iter()
            .map(|i| (i, lanes[i].rules.add(rule.clone(), name.clone())))
            .collect();
        drop(lanes);
        crate::wire::bypass::sync(&self.link.shared);
        RuleGuard {
            link: self.link,
            ids,
            name,
        }
    }

    /// Holds every frame of direction `dir`, in order, until the guard
    /// drops, which releases them in order (as [`HoldGuard::release`]).
    /// The hold comes after a cut and before the rules ([`Wire::rule`]).
    /// At most [`DEFAULT_HOLD_FRAMES`](crate::DEFAULT_HOLD_FRAMES) frames
    /// and [`DEFAULT_HOLD_BYTES`](crate::DEFAULT_HOLD_BYTES) are held
    /// (see [`Wire::hold_limit`]); frames past that are dropped and counted
    /// in [`LaneStats::hold_drops`](crate::LaneStats::hold_drops). Holds
    /// nest: frames pass again when the last guard drops (each guard's
    /// drop releases what is held then).
    #[must_use = "the held frames are released when the guard drops"]
    pub fn hold(&self, dir: Direction) -> HoldGuard<'n> {
        let mut lanes = self.link.shared.lanes.lock();
        for i in self.lanes(dir) {
            lanes[i].rules.hold_all += 1;
        }
        drop(lanes);
        crate::wire::bypass::sync(&self.link.shared);
        HoldGuard { wire: *self, dir }
    }

    /// Copies of the frames direction `dir` holds now (by [`Wire::hold`]
    /// or a rule's [`Verdict::Hold`]), oldest first; `Both`: those going
    /// out, then those coming in. Parse one with [`Frame::parse`].
    pub fn held(&self, dir: Direction) -> Vec<Vec<u8>> {
        let lanes = self.link.shared.lanes.lock();
        self.lanes(dir)
            .into_iter()
            .flat_map(|i| lanes[i].rules.held.frames())
            .collect()
    }

    /// Sends the frames direction `dir` holds, in the order they came, at
    /// once: a released frame skips the seeded faults and leaves as soon as
    /// the forwarding thread gets to it, after frames already due. Returns
    /// how many were released. What a [`Wire::hold`] still in force
    /// catches after that is held again.
    pub fn release(&self, dir: Direction) -> usize {
        self.release_with(dir, false)
    }

    /// Like [`Wire::release`], in an order drawn from the direction's seed
    /// ([`Wire::seed`]) and how many shuffled releases it made before: with
    /// one seed (`NETNS_TEST_SEED`, or [`Faults::seed`](crate::Faults::seed)
    /// set on the direction) the same held frames leave in the same order
    /// in every run.
    pub fn release_shuffled(&self, dir: Direction) -> usize {
        self.release_with(dir, true)
    }

    fn release_with(&self, dir: Direction, shuffled: bool) -> usize {
        let mut lanes = self.link.shared.lanes.lock();
        let now = Instant::now();
        let mut count = 0;
        for i in self.lanes(dir) {
            let lane = &mut lanes[i];
            let frames = match shuffled {
                true => lane.rules.held.take_shuffled(lane.seed),
                false => lane.rules.held.take(),
            };
            count += frames.len();
            lane.release(frames, now);
        }
        drop(lanes);
        self.link.shared.wake();
        count
    }

    /// Bounds what direction `dir` holds: at most `frames` frames and
    /// `bytes` bytes of them (Ethernet headers included); a frame that
    /// would go past either is dropped and counted in
    /// [`LaneStats::hold_drops`](crate::LaneStats::hold_drops). Frames held
    /// already stay. A bound of 0 holds nothing: every frame to be held is
    /// dropped. Stays until set again.
    pub fn hold_limit(&self, dir: Direction, frames: usize, bytes: usize) {
        let mut lanes = self.link.shared.lanes.lock();
        for i in self.lanes(dir) {
            lanes[i].rules.held.max_frames = frames;
            lanes[i].rules.held.max_bytes = bytes;
        }
    }
}

/// Removes a rule of [`Wire::rule`] when dropped.
#[must_use = "the rule is removed when the guard drops"]
pub struct RuleGuard<'n> {
    link: &'n WireLink,
    /// `(lane, rule id)`.
    ids: Vec<(usize, u64)>,
    /// The name [`Wire::rule_named`] gave it.
    name: Option<Arc<str>>,
}

impl fmt::Debug for RuleGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = &self.link.shared.names;
        let dirs: Vec<String> = self
            .ids
            .iter()
            .map(|(i, _)| format!("{} -> {}", names[*i], names[1 - *i]))
            .collect();
        f.debug_struct("RuleGuard")
            .field("on", &dirs)
            .field("name", &self.name)
            .finish()
    }
}

impl Drop for RuleGuard<'_> {
    fn drop(&mut self) {
        let mut lanes = self.link.shared.lanes.lock();
        for &(i, id) in &self.ids {
            lanes[i].rules.remove(id);
        }
        drop(lanes);
        crate::wire::bypass::sync(&self.link.shared);
    }
}

/// Holds every frame of a direction of a wire link ([`Wire::hold`]); when
/// dropped, stops holding and releases what is held, in order.
#[must_use = "the held frames are released when the guard drops"]
pub struct HoldGuard<'n> {
    wire: Wire<'n>,
    dir: Direction,
}

impl fmt::Debug for HoldGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HoldGuard")
            .field("ends", &self.wire.ends())
            .field("dir", &self.dir)
            .field("held", &self.len())
            .finish()
    }
}

impl HoldGuard<'_> {
    /// How many frames the direction holds now.
    pub fn len(&self) -> usize {
        let lanes = self.wire.link.shared.lanes.lock();
        self.wire
            .lanes(self.dir)
            .into_iter()
            .map(|i| lanes[i].rules.held.len())
            .sum()
    }

    /// Whether the direction holds no frame now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies of the held frames, oldest first ([`Wire::held`]).
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.wire.held(self.dir)
    }

    /// Releases what is held now, in order ([`Wire::release`]); the hold
    /// goes on for the frames that come after.
    pub fn release(&self) -> usize {
        self.wire.release(self.dir)
    }

    /// Releases what is held now in an order drawn from the seed
    /// ([`Wire::release_shuffled`]); the hold goes on.
    pub fn release_shuffled(&self) -> usize {
        self.wire.release_shuffled(self.dir)
    }
}

impl Drop for HoldGuard<'_> {
    fn drop(&mut self) {
        {
            let mut lanes = self.wire.link.shared.lanes.lock();
            for i in self.wire.lanes(self.dir) {
                lanes[i].rules.hold_all = lanes[i].rules.hold_all.saturating_sub(1);
            }
        }
        self.wire.release(self.dir);
        crate::wire::bypass::sync(&self.wire.link.shared);
    }
}
