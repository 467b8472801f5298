//! The per-frame rules of one direction of a wire link, and the frames it
//! holds. Pure: frames in, a [`Verdict`] out; held frames kept in order,
//! bounded, and handed back in order or shuffled by a seed.
//!
//! Order, for each frame a direction takes in (`model.rs`, `Lane::admit`):
//! 1. a cut (`Wire::cut`, a partition) drops it;
//! 2. a hold (`Wire::hold`) holds it;
//! 3. the rules, in the order they were added: the first verdict other
//!    than [`Verdict::Pass`] decides, and the later rules are not asked;
//! 4. a frame every rule passed meets the seeded faults (loss, delay, ...).
//!
//! A dropped, delayed or held frame never meets the seeded faults; a held
//! frame, once released, leaves at once, in the order of its release.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use crate::wire::frame::{Frame, Verdict};

/// A rule as the forwarding thread calls it.
pub(crate) type RuleFn = Arc<dyn Fn(&Frame<'_>) -> Verdict + Send + Sync>;

/// How many frames a direction holds at most by default.
pub const DEFAULT_HOLD_FRAMES: usize = 1024;
/// How many bytes of frames a direction holds at most by default (1 MiB).
pub const DEFAULT_HOLD_BYTES: usize = 1 << 20;

/// One rule of a direction: its id, what it does, the name it was given.
struct Rule {
    id: u64,
    decide: RuleFn,
    name: Option<Arc<str>>,
}

/// The rules of one direction, and what it holds.
#[derive(Default)]
pub(crate) struct Rules {
    /// In the order they were added.
    list: Vec<Rule>,
    next_id: u64,
    /// The rule that decided the last frame asked about (its index in
    /// `list`) and its verdict; `None` if every rule passed it, or a hold
    /// took it first. Read by `notes.rs` right after, under the same lock.
    pub(crate) decided: Option<(usize, Verdict)>,
    /// Active holds of every frame (`Wire::hold` guards).
    pub(crate) hold_all: u32,
    pub(crate) held: Held,
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("rules", &self.len())
            .field("decided", &self.decided)
            .field("hold_all", &self.hold_all)
            .field("held", &self.held)
            .finish()
    }
}

impl Rules {
    /// Adds `rule` after the others, named `name` if given; returns its
    /// id, for [`Rules::remove`].
    pub(crate) fn add(&mut self, rule: RuleFn, name: Option<Arc<str>>) -> u64 {
        self.next_id += 1;
        self.list.push(Rule {
            id: self.next_id,
            decide: rule,
            name,
        });
        self.next_id
    }

    /// Removes the rule `id`; whether it was there.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let before = self.list.len();
        self.list.retain(|r| r.id != id);
        self.list.len() != before
    }

    /// The rule at `index` as a capture's comment names it: its position
    /// in the direction, from 1, and its name, or `Wire::rule` if it has
    /// none (`rule #2 (syn only)`, `rule #1 (Wire::rule)`).
    pub(crate) fn describe(&self, index: usize) -> String {
        let name = self.list.get(index).and_then(|r| r.name.as_deref());
        format!("rule #{} ({})", index + 1, name.unwrap_or("Wire::rule"))
    }

    /// How many rules there are.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether a frame passes untouched: no rule, no hold.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty() && self.hold_all == 0
    }

    /// What happens to `frame` (see the module for the order); which
    /// rule decided it is kept in [`Rules::decided`].
    pub(crate) fn verdict(&mut self, frame: &[u8]) -> Verdict {
        self.decided = None;
        if self.hold_all > 0 {
            return Verdict::Hold;
        }
        if self.list.is_empty() {
            return Verdict::Pass;
        }
        let parsed = Frame::parse(frame);
        self.decided = self
            .list
            .iter()
            .map(|r| (r.decide)(&parsed))
            .enumerate()
            .find(|(_, v)| *v != Verdict::Pass);
        self.decided.map_or(Verdict::Pass, |(_, v)| v)
    }
}

/// The frames a direction holds, oldest first, within a bound.
#[derive(Debug)]
pub(crate) struct Held {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    /// At most this many frames...
    pub(crate) max_frames: usize,
    /// ...and this many bytes of them.
    pub(crate) max_bytes: usize,
    /// How many shuffled releases there were: each draws anew.
    shuffles: u64,
}

impl Default for Held {
    fn default() -> Held {
        Held {
            frames: VecDeque::new(),
            bytes: 0,
            max_frames: DEFAULT_HOLD_FRAMES,
            max_bytes: DEFAULT_HOLD_BYTES,
            shuffles: 0,
        }
    }
}

impl Held {
    /// Holds `frame` after the others, or drops it if it would take the
    /// hold past its bound; whether it was kept.
    pub(crate) fn push(&mut self, frame: Vec<u8>) -> bool {
        if self.frames.len() >= self.max_frames || self.bytes + frame.len() > self.max_bytes {
            return false;
        }
        self.bytes += frame.len();
        self.frames.push_back(frame);
        true
    }

    /// How many frames are held.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// How many bytes of frames are held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Copies of the held frames, oldest first.
    pub(crate) fn frames(&self) -> Vec<Vec<u8>> {
        self.frames.iter().cloned().collect()
    }

    /// Every held frame, oldest first; none is held after.
    pub(crate) fn take(&mut self) -> Vec<Vec<u8>> {
        self.bytes = 0;
        self.frames.drain(..).collect()
    }

    /// Every held frame in an order drawn from `seed` and how many
    /// shuffled releases came before: the same seed and the same frames
    /// give the same order in every run.
    pub(crate) fn take_shuffled(&mut self, seed: u64) -> Vec<Vec<u8>> {
        let mut rng =
            fastrand::Rng::with_seed(seed ^ self.shuffles.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        self.shuffles += 1;
        let mut frames = self.take();
        rng.shuffle(&mut frames);
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A UDP frame to port `port` (the rest zero).
    fn udp(port: u16) -> Vec<u8> {
        let mut f = vec![0u8; 42];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[23] = 17;
        f[36..38].copy_from_slice(&port.to_be_bytes());
        f
    }

    fn rule(f: impl Fn(&Frame<'_>) -> Verdict + Send + Sync + 'static) -> RuleFn {
        Arc::new(f)
    }

    fn port_is(port: u16, v: Verdict) -> RuleFn {
        rule(move |f| {
            if f.dst_port() == Some(port) {
                v
            } else {
                Verdict::Pass
            }
        })
    }

    #[test]
    fn no_rule_passes_everything() {
        let mut rules = Rules::default();
        assert!(rules.is_empty());
        assert_eq!(rules.verdict(&udp(1)), Verdict::Pass);
        assert_eq!(rules.verdict(&[]), Verdict::Pass);
        assert_eq!(rules.decided, None);
    }

    #[test]
    fn the_first_rule_that_does_not_pass_decides_in_the_order_added() {
        let mut rules = Rules::default();
        let delay = Verdict::Delay(Duration::from_millis(5));
        let a = rules.add(port_is(1, Verdict::Drop), None);
        let b = rules.add(port_is(1, Verdict::Hold), None);
        let c = rules.add(port_is(2, delay), None);
        assert_eq!((rules.len(), rules.is_empty()), (3, false));
        assert_eq!(rules.verdict(&udp(1)), Verdict::Drop);
        assert_eq!(rules.verdict(&udp(2)), delay);
        assert_eq!(rules.verdict(&udp(3)), Verdict::Pass);
        assert!(rules.remove(a));
        assert!(!rules.remove(a), "removed twice");
        assert_eq!(rules.verdict(&udp(1)), Verdict::Hold);
        assert!(rules.remove(b) && rules.remove(c));
        assert!(rules.is_empty());
        assert_eq!(rules.verdict(&udp(1)), Verdict::Pass);
        // Ids are not reused: a new rule is not removed by an old id.
        let d = rules.add(port_is(1, Verdict::Drop), None);
        assert!(d != a && d != b && d != c);
        assert!(!rules.remove(c));
        assert_eq!(rules.verdict(&udp(1)), Verdict::Drop);
    }

    #[test]
    fn the_rule_that_decided_is_kept_with_its_position_and_name() {
        let mut rules = Rules::default();
        let delay = Verdict::Delay(Duration::from_millis(30));
        let a = rules.add(port_is(1, Verdict::Drop), Some("syn only".into()));
        rules.add(port_is(2, delay), None);
        rules.add(port_is(2, Verdict::Drop), Some("never asked".into()));
        assert_eq!(rules.verdict(&udp(1)), Verdict::Drop);
        assert_eq!(rules.decided, Some((0, Verdict::Drop)));
        assert_eq!(rules.describe(0), "rule #1 (syn only)");
        assert_eq!(rules.verdict(&udp(2)), delay);
        assert_eq!(rules.decided, Some((1, delay)));
        assert_eq!(rules.describe(1), "rule #2 (Wire::rule)");
        // A frame every rule passed leaves no stale decision behind.
        assert_eq!(rules.verdict(&udp(3)), Verdict::Pass);
        assert_eq!(rules.decided, None);
        // Positions follow removals: the delay is now the first rule.
        rules.verdict(&udp(1));
        assert!(rules.remove(a));
        assert_eq!(rules.verdict(&udp(2)), delay);
        assert_eq!(rules.decided, Some((0, delay)));
        assert_eq!(rules.describe(0), "rule #1 (Wire::rule)");
        assert_eq!(rules.describe(1), "rule #2 (never asked)");
        // A hold decides before every rule: no rule is named.
        rules.hold_all = 1;
        assert_eq!(rules.verdict(&udp(2)), Verdict::Hold);
        assert_eq!(rules.decided, None);
    }

    #[test]
    fn later_rules_are_not_asked_once_one_decided() {
        let asked = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut rules = Rules::default();
        rules.add(port_is(1, Verdict::Drop), None);
        let counter = asked.clone();
        rules.add(
            rule(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Verdict::Pass
            }),
            None,
        );
        rules.verdict(&udp(1));
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 0);
        rules.verdict(&udp(2));
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn a_hold_comes_before_every_rule() {
        let mut rules = Rules::default();
        rules.add(port_is(1, Verdict::Drop), None);
        rules.hold_all = 1;
        assert!(!rules.is_empty());
        assert_eq!(rules.verdict(&udp(1)), Verdict::Hold);
        assert_eq!(rules.verdict(&udp(2)), Verdict::Hold);
        let holding = Rules {
            hold_all: 2,
            ..Rules::default()
        };
        assert!(!holding.is_empty());
    }

    #[test]
    fn held_frames_are_bounded_in_frames_and_bytes_and_kept_in_order() {
        let mut held = Held::default();
        assert_eq!((held.max_frames, held.max_bytes), (1024, 1 << 20));
        held.max_frames = 3;
        for i in 0..5u8 {
            assert_eq!(held.push(vec![i; 10]), i < 3, "frame {i}");
        }
        assert_eq!((held.len(), held.bytes()), (3, 30));
        assert_eq!(held.frames(), [vec![0; 10], vec![1; 10], vec![2; 10]]);
        assert_eq!(held.take(), [vec![0; 10], vec![1; 10], vec![2; 10]]);
        assert_eq!((held.len(), held.bytes()), (0, 0));
        // Bytes: 25 fit, the frame that would make 35 does not, a smaller
        // one after it does.
        held.max_bytes = 30;
        assert!(held.push(vec![0; 25]));
        assert!(!held.push(vec![1; 10]));
        assert!(held.push(vec![2; 5]));
        assert!(!held.push(vec![3; 1]));
        assert_eq!((held.len(), held.bytes()), (2, 30));
        assert_eq!(held.take(), [vec![0; 25], vec![2; 5]]);
    }

    #[test]
    fn a_shuffled_release_is_a_permutation_fixed_by_the_seed() {
        let fill = |held: &mut Held| {
            for i in 0..20u8 {
                held.push(vec![i]);
            }
        };
        let order = |frames: Vec<Vec<u8>>| frames.into_iter().map(|f| f[0]).collect::<Vec<u8>>();
        let (mut a, mut b, mut c) = (Held::default(), Held::default(), Held::default());
        fill(&mut a);
        fill(&mut b);
        fill(&mut c);
        let first = order(a.take_shuffled(7));
        assert_eq!(first, order(b.take_shuffled(7)));
        assert_ne!(first, order(c.take_shuffled(8)));
        assert_ne!(first, (0..20).collect::<Vec<u8>>());
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<u8>>());
        assert_eq!((a.len(), a.bytes()), (0, 0));
        // The second shuffled release of the same seed draws anew.
        fill(&mut a);
        assert_ne!(order(a.take_shuffled(7)), first);
        fill(&mut b);
        let mut fresh = Held {
            shuffles: 1,
            ..Held::default()
        };
        fill(&mut fresh);
        assert_eq!(order(b.take_shuffled(7)), order(fresh.take_shuffled(7)));
    }

    #[test]
    fn a_lane_applies_verdicts_before_its_faults_and_releases_at_once() {
        use crate::wire::faults::Faults;
        use crate::wire::model::Lane;
        use std::time::Instant;
        let ms = Duration::from_millis(1);
        let t0 = Instant::now();
        // Every frame would be lost: the rules' verdicts come first.
        let mut lane = Lane::new(Faults::new().loss(1.0), 1);
        lane.rules.add(port_is(1, Verdict::Drop), None);
        lane.rules.add(port_is(2, Verdict::Delay(5 * ms)), None);
        lane.rules.add(port_is(3, Verdict::Hold), None);
        lane.rules.held.max_frames = 1;
        for port in [1, 2, 3, 3, 3, 4] {
            lane.admit(udp(port), t0);
        }
        let s = lane.stats;
        assert_eq!((s.frames, s.rule_drops, s.hold_drops, s.lost), (6, 1, 2, 1));
        assert!(!lane.is_idle());
        assert_eq!(lane.next_due(), Some(t0 + 5 * ms));
        assert_eq!(lane.due(t0 + 5 * ms), Some(udp(2)));
        assert_eq!(lane.rules.held.len(), 1);
        let held = lane.rules.held.take();
        lane.release(held, t0 + 6 * ms);
        assert_eq!(lane.due(t0 + 6 * ms), Some(udp(3)));
        assert_eq!(lane.stats.delivered, 2);
        // Released together, frames leave in the order given, whatever
        // their bytes.
        lane.release(vec![udp(7), udp(5), udp(6)], t0 + 7 * ms);
        let out: Vec<Vec<u8>> = std::iter::from_fn(|| lane.due(t0 + 7 * ms)).collect();
        assert_eq!(out, [udp(7), udp(5), udp(6)]);
        // A hold without a rule keeps the lane busy and takes everything.
        let mut lane = Lane::new(Faults::new(), 1);
        assert!(lane.is_idle());
        lane.rules.hold_all = 1;
        assert!(!lane.is_idle());
        lane.admit(udp(9), t0);
        assert_eq!((lane.rules.held.len(), lane.next_due()), (1, None));
    }
}
