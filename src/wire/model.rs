//! The fault model of one direction of a wire link (a lane): what happens to
//! each frame, and when it leaves. Pure: no sockets, no clock of its own, so
//! it is tested on its own (the tests at the end).
//!
//! Every frame draws the same five random numbers whatever faults are set,
//! from a generator seeded with the direction's seed and the frame's key
//! (`identity.rs`: what identifies it in its flow, and how many times the
//! same was seen): with one seed, a frame meets the same fate whenever it
//! comes, whatever other frames came before it. Only bursty loss (the
//! Gilbert–Elliott chain) follows the order frames arrive in.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::wire::faults::{frame_seed, Faults, DEFAULT_QUEUE_BYTES, REORDER_HOLD};
use crate::wire::frame::Verdict;
use crate::wire::identity::Identities;
use crate::wire::rules::Rules;

/// What a lane did, counted since the wire link was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneStats {
    /// Frames that came in.
    pub frames: u64,
    /// Frames delivered (duplicates included).
    pub delivered: u64,
    /// Frames dropped by loss.
    pub lost: u64,
    /// Frames dropped because the link was cut.
    pub cut: u64,
    /// Frames dropped because the rate limit's queue was full.
    pub queue_drops: u64,
    /// Frames sent twice.
    pub duplicated: u64,
    /// Frames with a bit flipped.
    pub corrupted: u64,
    /// Frames sent out of order.
    pub reordered: u64,
    /// Frames a rule dropped ([`Verdict::Drop`], [`Wire::rule`](crate::Wire::rule)).
    pub rule_drops: u64,
    /// Frames to be held that the hold had no room for: past its bound
    /// ([`Wire::hold_limit`](crate::Wire::hold_limit)), dropped.
    pub hold_drops: u64,
}

/// A frame waiting for its time to leave.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Instant,
    seq: u64,
    frame: Vec<u8>,
}

/// One direction of a wire link.
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) faults: Faults,
    pub(crate) seed: u64,
    /// How many times the faults were set: each setting reseeds.
    pub(crate) generation: u64,
    /// Active cuts (a partition and a `Wire::cut` may overlap).
    pub(crate) cuts: u32,
    pub(crate) stats: LaneStats,
    /// Per-frame rules and held frames (`rules.rs`).
    pub(crate) rules: Rules,
    /// What identifies each frame, since the faults were last set.
    ids: Identities,
    /// Gilbert–Elliott state: in a burst of losses.
    bad: bool,
    /// When the rate limiter finishes sending what it has queued.
    busy_until: Option<Instant>,
    /// Departure times and sizes of frames in the rate limiter's queue.
    backlog: VecDeque<(Instant, usize)>,
    backlog_bytes: usize,
    /// The latest time a FIFO frame is due: later frames never leave before.
    last_due: Option<Instant>,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
}

impl Lane {
    pub(crate) fn new(faults: Faults, seed: u64) -> Lane {
        Lane {
            faults,
            seed,
            generation: 0,
            cuts: 0,
            stats: LaneStats::default(),
            rules: Rules::default(),
            ids: Identities::default(),
            bad: false,
            busy_until: None,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            last_due: None,
            pending: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// New faults and seed; frames already waiting keep their times.
    pub(crate) fn set(&mut self, faults: Faults, seed: u64) {
        self.faults = faults;
        self.seed = seed;
        self.generation += 1;
        self.ids = Identities::default();
        self.bad = false;
    }

    /// Whether a frame can skip the queue: nothing set, nothing waiting.
    pub(crate) fn is_idle(&self) -> bool {
        self.cuts == 0
            && self.pending.is_empty()
            && self.faults.is_perfect()
            && self.rules.is_empty()
    }

    /// Takes in a frame that arrived at `now`.
    pub(crate) fn admit(&mut self, frame: Vec<u8>, now: Instant) {
        self.stats.frames += 1;
        // Always five draws per frame, from the frame's own generator, so a
        // decision depends on the frame, not on which faults happen to be
        // set (nor on other frames).
        let mut rng = fastrand::Rng::with_seed(frame_seed(self.seed, self.ids.key(&frame)));
        let [u_loss, u_corrupt, u_dup, u_jitter, u_reorder] = std::array::from_fn(|_| rng.f64());
        let bit = rng.u64(..);
        if self.cuts > 0 {
            self.stats.cut += 1;
            return;
        }
        let Some(mut frame) = self.ruled(frame, now) else {
            return;
        };
        if self.lost(u_loss) {
            self.stats.lost += 1;
            return;
        }
        let f = &self.faults;
        if u_corrupt < f.corrupt && frame.len() > 14 {
            let bits = (frame.len() - 14) as u64 * 8;
            let at = (bit % bits) as usize;
            frame[14 + at / 8] ^= 1 << (at % 8);
            self.stats.corrupted += 1;
        }
        let copies = if u_dup < f.duplicate {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let reorder = u_reorder < f.reorder;
        let jitter = if f.jitter.is_zero() {
            Duration::ZERO
        } else {
            f.jitter.mul_f64(u_jitter * 2.0)
        };
        for copy in 0..copies {
            let Some(sent) = self.rate_limit(frame.len(), now) else {
                self.stats.queue_drops += 1;
                continue;
            };
            let delay = (self.faults.delay + jitter).saturating_sub(self.faults.jitter);
            let mut at = sent + delay;
            if reorder && copy == 0 {
                self.stats.reordered += 1;
                at = if self.faults.delay.is_zero() {
                    sent + REORDER_HOLD
                } else {
                    sent
                };
            } else {
                // FIFO: jitter never lets a frame overtake the one before.
                if let Some(last) = self.last_due {
                    at = at.max(last);
                }
                self.last_due = Some(at);
            }
            let data = if copy + 1 == copies {
                std::mem::take(&mut frame)
            } else {
                frame.clone()
            };
            self.seq += 1;
            self.pending.push(Reverse(Pending {
                at,
                seq: self.seq,
                frame: data,
            }));
        }
    }

    /// Loss: Bernoulli, or a Gilbert–Elliott chain whose stationary loss
    /// rate is `loss` and whose bad state lasts `mean` frames on average.
    fn lost(&mut self, u: f64) -> bool {
        let p = self.faults.loss;
        match self.faults.loss_burst {
            None => u < p,
            Some(_) if p >= 1.0 => true,
            Some(mean) => {
                let leave = 1.0 / mean;
                let enter = (p * leave / (1.0 - p)).min(1.0);
                self.bad = if self.bad { u >= leave } else { u < enter };
                self.bad
            }
        }
    }

    /// When a frame of `len` bytes arriving at `now` has been sent by the
    /// rate limiter, or `None` if its queue is full.
    fn rate_limit(&mut self, len: usize, now: Instant) -> Option<Instant> {
        let Some(rate) = self.faults.rate_bits_per_sec else {
            return Some(now);
        };
        while let Some(&(done, size)) = self.backlog.front() {
            if done > now {
                break;
            }
            self.backlog.pop_front();
            self.backlog_bytes -= size;
        }
        let limit = self.faults.queue_bytes.unwrap_or(DEFAULT_QUEUE_BYTES);
        if self.backlog_bytes + len > limit && !self.backlog.is_empty() {
            return None;
        }
        let start = self.busy_until.map_or(now, |b| b.max(now));
        let done = start + Duration::from_secs_f64(len as f64 * 8.0 / rate as f64);
        self.busy_until = Some(done);
        self.backlog.push_back((done, len));
        self.backlog_bytes += len;
        Some(done)
    }

    /// The next frame due at or before `now`.
    pub(crate) fn due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.pending.peek()?.0.at > now {
            return None;
        }
        let frame = self.pending.pop()?.0.frame;
        self.stats.delivered += 1;
        Some(frame)
    }

    /// When the next frame is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.pending.peek().map(|p| p.0.at)
    }

    /// The frame back if the rules pass it on to the faults; otherwise
    /// what they decided is done (`rules.rs`).
    fn ruled(&mut self, frame: Vec<u8>, now: Instant) -> Option<Vec<u8>> {
        match self.rules.verdict(&frame) {
            Verdict::Pass => return Some(frame),
            Verdict::Drop => self.stats.rule_drops += 1,
            Verdict::Delay(delay) => self.release(vec![frame], now + delay),
            Verdict::Hold if !self.rules.held.push(frame) => self.stats.hold_drops += 1,
            Verdict::Hold => {}
        }
        None
    }

    /// Sends `frames` in this order at `at`, skipping the faults (and the
    /// order of the frames they delay).
    pub(crate) fn release(&mut self, frames: Vec<Vec<u8>>, at: Instant) {
        for frame in frames {
            self.seq += 1;
            self.pending.push(Reverse(Pending {
                at,
                seq: self.seq,
                frame,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(faults: Faults, seed: u64, n: u32) -> Vec<u32> {
        let mut lane = Lane::new(faults, seed);
        let t0 = Instant::now();
        let mut out = Vec::new();
        for i in 0..n {
            let mut frame = vec![0u8; 60];
            frame[20..24].copy_from_slice(&i.to_be_bytes());
            lane.admit(frame, t0);
        }
        while let Some(f) = lane.due(t0 + Duration::from_secs(3600)) {
            out.push(u32::from_be_bytes(f[20..24].try_into().unwrap()));
            assert!(out.len() <= 2 * n as usize, "more frames out than in");
        }
        out
    }

    #[test]
    fn same_seed_same_drops() {
        let f = Faults::new().loss(0.3);
        assert_eq!(run(f.clone(), 5, 1000), run(f.clone(), 5, 1000));
        assert_ne!(run(f.clone(), 5, 1000), run(f, 6, 1000));
    }

    #[test]
    fn loss_rate_is_close() {
        for burst in [None, Some(5.0)] {
            let mut f = Faults::new().loss(0.1);
            f.loss_burst = burst;
            let got = run(f, 1, 100_000).len() as f64 / 100_000.0;
            assert!((got - 0.9).abs() < 0.01, "{burst:?}: {got}");
        }
    }

    #[test]
    fn jitter_keeps_order_and_reorder_breaks_it() {
        let f = Faults::new()
            .delay(Duration::from_millis(10))
            .jitter(Duration::from_millis(9));
        let got = run(f, 1, 1000);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        let f = Faults::new().delay(Duration::from_millis(10)).reorder(0.2);
        let got = run(f, 1, 1000);
        assert_eq!(got.len(), 1000);
        assert!(got.windows(2).any(|w| w[0] > w[1]));
    }

    #[test]
    fn rate_limit_spaces_frames_and_drops_past_the_queue() {
        let f = Faults::new().rate_bits_per_sec(8 * 1000).queue_bytes(600);
        let mut lane = Lane::new(f, 1);
        let t0 = Instant::now();
        for _ in 0..20 {
            lane.admit(vec![0; 100], t0);
        }
        // 100 bytes at 1000 bytes/s: 100 ms each; 6 fit in 600 bytes.
        assert_eq!(lane.stats.queue_drops, 14);
        assert_eq!(lane.next_due(), Some(t0 + Duration::from_millis(100)));
    }

    const MS: Duration = Duration::from_millis(1);
    const HOUR: Duration = Duration::from_secs(3600);

    /// A 60-byte frame numbered `i` (bytes 20..24); the other bytes have
    /// set and clear bits, so that a flipped bit always shows.
    fn frame(i: u32) -> Vec<u8> {
        let mut f: Vec<u8> = (0..60u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
        f[20..24].copy_from_slice(&i.to_be_bytes());
        f
    }

    fn number(f: &[u8]) -> u32 {
        u32::from_be_bytes(f[20..24].try_into().unwrap())
    }

    /// Every frame the lane holds, with the time it left, in the order the
    /// lane hands them out.
    fn departures(lane: &mut Lane) -> Vec<(Instant, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(at) = lane.next_due() {
            out.push((at, lane.due(at).expect("due at its next_due")));
            assert!(
                out.len() as u64 <= 2 * lane.stats.frames,
                "more out than in"
            );
        }
        out
    }

    #[test]
    fn frames_due_at_the_same_instant_leave_in_arrival_order() {
        // Numbered downwards: an order by content would reverse them.
        for faults in [
            Faults::new().loss(0.0).delay(10 * MS),
            Faults::new().delay(10 * MS).jitter(9 * MS),
            Faults::new().duplicate(1.0),
        ] {
            let mut lane = Lane::new(faults.clone(), 1);
            let t0 = Instant::now();
            for i in (0..200).rev() {
                lane.admit(frame(i), t0);
            }
            let got: Vec<u32> = departures(&mut lane).iter().map(|d| number(&d.1)).collect();
            let mut want: Vec<u32> = (0..200).rev().collect();
            if faults.duplicate == 1.0 {
                want = want.iter().flat_map(|&i| [i, i]).collect();
            }
            assert_eq!(got, want, "{faults:?}");
        }
    }

    #[test]
    fn a_frame_leaves_after_its_delay_and_not_before() {
        let mut lane = Lane::new(Faults::new().delay(10 * MS), 1);
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(5);
        lane.admit(frame(0), t0);
        lane.admit(frame(1), t1);
        assert_eq!(lane.next_due(), Some(t0 + 10 * MS));
        assert_eq!(lane.due(t0), None);
        assert_eq!(lane.due(t0 + 9 * MS), None);
        assert_eq!(lane.due(t0 + 10 * MS), Some(frame(0)));
        assert_eq!(lane.due(t0 + 10 * MS), None);
        assert_eq!(lane.next_due(), Some(t1 + 10 * MS));
        assert_eq!(lane.due(t1 + 9 * MS), None);
        assert_eq!(lane.due(t1 + HOUR), Some(frame(1)));
        assert_eq!(lane.due(t1 + HOUR), None);
        let stats = lane.stats;
        assert_eq!((stats.frames, stats.delivered), (2, 2));
        assert_eq!(stats.reordered + stats.duplicated + stats.corrupted, 0);
    }

    #[test]
    fn jitter_spreads_the_delay_over_delay_plus_or_minus_jitter() {
        for (delay, jitter) in [(100 * MS, 50 * MS), (2 * MS, 5 * MS)] {
            let f = Faults::new().delay(delay).jitter(jitter);
            let mut lane = Lane::new(f, 3);
            let t0 = Instant::now();
            let (mut lo, mut hi) = (HOUR, Duration::ZERO);
            for i in 0..2000 {
                // A second apart: no frame waits for the one before.
                let sent = t0 + Duration::from_secs(i.into());
                lane.admit(frame(i), sent);
                let (at, f) = departures(&mut lane).pop().unwrap();
                assert_eq!(number(&f), i);
                lo = lo.min(at - sent);
                hi = hi.max(at - sent);
            }
            let floor = delay.saturating_sub(jitter);
            assert!(lo >= floor && hi <= delay + jitter, "{lo:?}..{hi:?}");
            assert!(lo < floor + jitter / 10, "{delay:?}±{jitter:?}: min {lo:?}");
            assert!(
                hi > delay + jitter * 9 / 10,
                "{delay:?}±{jitter:?}: max {hi:?}"
            );
        }
    }

    #[test]
    fn a_rate_limited_lane_drains_and_accepts_again() {
        let f = Faults::new().rate_bits_per_sec(8 * 1000).queue_bytes(600);
        let mut lane = Lane::new(f, 1);
        let t0 = Instant::now();
        // 100 bytes at 1000 bytes/s: 100 ms each; 6 fit in 600 bytes.
        for _ in 0..7 {
            lane.admit(vec![0; 100], t0);
        }
        assert_eq!(lane.stats.queue_drops, 1);
        // The first one is sent at 100 ms sharp: room for one more.
        let t1 = t0 + 100 * MS;
        lane.admit(vec![1; 100], t1);
        lane.admit(vec![2; 100], t1);
        assert_eq!(lane.stats.queue_drops, 2);
        // Long after, the queue is empty: six fit again, spaced again.
        let t2 = t0 + Duration::from_secs(10);
        for _ in 0..6 {
            lane.admit(vec![3; 100], t2);
        }
        assert_eq!(lane.stats.queue_drops, 2);
        let times: Vec<Duration> = departures(&mut lane).iter().map(|d| d.0 - t0).collect();
        let want: Vec<Duration> = (1..=7)
            .map(|n| n * 100 * MS)
            .chain((1..=6).map(|n| Duration::from_secs(10) + n * 100 * MS))
            .collect();
        assert_eq!(times, want);
        // A frame larger than the whole queue still goes through an empty one.
        let mut lane = Lane::new(Faults::new().rate_bits_per_sec(8000).queue_bytes(50), 1);
        lane.admit(vec![0; 100], t0);
        lane.admit(vec![0; 10], t0);
        assert_eq!(lane.stats.queue_drops, 1);
        assert_eq!(lane.next_due(), Some(t0 + 100 * MS));
    }

    #[test]
    fn the_default_queue_holds_64_kib() {
        let mut lane = Lane::new(Faults::new().rate_bits_per_sec(8000), 1);
        let t0 = Instant::now();
        for _ in 0..65 {
            lane.admit(vec![0; 1024], t0);
        }
        assert_eq!(lane.stats.queue_drops, 1);
        assert_eq!(departures(&mut lane).len(), 64);
    }

    #[test]
    fn duplicates_are_exact_copies() {
        let mut lane = Lane::new(Faults::new().duplicate(1.0), 1);
        let t0 = Instant::now();
        for i in 0..50 {
            lane.admit(frame(i), t0);
        }
        let got: Vec<Vec<u8>> = departures(&mut lane).into_iter().map(|d| d.1).collect();
        let want: Vec<Vec<u8>> = (0..50).flat_map(|i| [frame(i), frame(i)]).collect();
        assert_eq!(got, want);
        assert_eq!((lane.stats.duplicated, lane.stats.delivered), (50, 100));
    }

    #[test]
    fn corruption_flips_exactly_one_bit_past_the_ethernet_header() {
        let mut lane = Lane::new(Faults::new().corrupt(1.0), 9);
        let t0 = Instant::now();
        let (mut bytes, mut bits) = ([0u32; 60], [0u32; 8]);
        for i in 0..3000 {
            lane.admit(frame(i), t0);
            let got = lane.due(t0).unwrap();
            let diff: Vec<(usize, u8)> = (0..60)
                .map(|b| (b, got[b] ^ frame(i)[b]))
                .filter(|d| d.1 != 0)
                .collect();
            assert_eq!(diff.len(), 1, "frame {i}: {diff:?}");
            let (byte, mask) = diff[0];
            assert!(byte >= 14 && mask.count_ones() == 1, "frame {i}: {diff:?}");
            bytes[byte] += 1;
            bits[mask.trailing_zeros() as usize] += 1;
        }
        assert_eq!(lane.stats.corrupted, 3000);
        assert!(bytes[14..].iter().all(|&n| n > 0), "bytes hit: {bytes:?}");
        assert!(bits.iter().all(|&n| n > 0), "bits hit: {bits:?}");
        // Nothing past the header: nothing to flip. One byte: that one.
        let mut lane = Lane::new(Faults::new().corrupt(1.0), 9);
        for len in [0, 1, 14] {
            lane.admit(vec![0x5a; len], t0);
            assert_eq!(lane.due(t0), Some(vec![0x5a; len]));
        }
        assert_eq!(lane.stats.corrupted, 0);
        lane.admit(vec![0; 15], t0);
        let got = lane.due(t0).unwrap();
        assert!(got[..14].iter().all(|&b| b == 0) && got[14].count_ones() == 1);
    }

    #[test]
    fn each_fault_hits_its_fraction_of_the_frames() {
        let n = 20_000;
        for (faults, what) in [
            (Faults::new().corrupt(0.2), "corrupted"),
            (Faults::new().duplicate(0.2), "duplicated"),
            (Faults::new().delay(MS).reorder(0.2), "reordered"),
        ] {
            let mut lane = Lane::new(faults, 4);
            let t0 = Instant::now();
            for i in 0..n {
                lane.admit(frame(i), t0);
            }
            let s = lane.stats;
            let count = match what {
                "corrupted" => s.corrupted,
                "duplicated" => s.duplicated,
                _ => s.reordered,
            };
            let got = count as f64 / f64::from(n);
            assert!((got - 0.2).abs() < 0.015, "{what}: {got}");
            for (other, c) in [("corrupted", s.corrupted), ("duplicated", s.duplicated)] {
                assert!(other == what || c == 0, "{what}: {other} {c}");
            }
        }
    }

    #[test]
    fn reordered_frames_skip_the_delay_or_are_held_back_without_one() {
        let t0 = Instant::now();
        let mut lane = Lane::new(Faults::new().delay(10 * MS).reorder(1.0), 1);
        lane.admit(frame(0), t0);
        assert_eq!(lane.next_due(), Some(t0));
        let mut lane = Lane::new(Faults::new().reorder(1.0), 1);
        lane.admit(frame(0), t0);
        lane.admit(frame(1), t0 + 10 * MS);
        assert_eq!(lane.next_due(), Some(t0 + REORDER_HOLD));
        assert_eq!(lane.stats.reordered, 2);
        // A duplicate of a reordered frame keeps its place in the queue.
        let mut lane = Lane::new(Faults::new().delay(10 * MS).reorder(1.0).duplicate(1.0), 1);
        lane.admit(frame(0), t0);
        lane.admit(frame(1), t0);
        let got: Vec<(Instant, u32)> = departures(&mut lane)
            .iter()
            .map(|d| (d.0, number(&d.1)))
            .collect();
        let late = t0 + 10 * MS;
        assert_eq!(got, [(t0, 0), (t0, 1), (late, 0), (late, 1)]);
        assert_eq!(lane.stats.reordered, 2);
    }

    /// The draws of a lane's first frame: loss, corrupt, duplicate, jitter,
    /// reorder, then the bit to flip.
    fn first_draws(seed: u64) -> ([f64; 5], u64) {
        let key = Identities::default().key(&frame(0));
        let mut rng = fastrand::Rng::with_seed(frame_seed(seed, key));
        let u = std::array::from_fn(|_| rng.f64());
        (u, rng.u64(..))
    }

    /// The smallest fraction above `u` (`f64::next_up`, Rust 1.86).
    fn above(u: f64) -> f64 {
        f64::from_bits(u.to_bits() + 1)
    }

    #[test]
    fn a_fault_hits_a_frame_when_its_draw_is_below_the_fraction() {
        // What makes a printed seed replay: the draws, in this order.
        let seed = 11;
        let ([loss, corrupt, duplicate, _, reorder], bit) = first_draws(seed);
        let first = |faults: Faults| {
            let mut lane = Lane::new(faults.delay(10 * MS), seed);
            let t0 = Instant::now();
            lane.admit(frame(0), t0);
            let out: Vec<Vec<u8>> = departures(&mut lane).into_iter().map(|d| d.1).collect();
            (lane.stats, out)
        };
        assert_eq!(first(Faults::new().loss(loss)).0.lost, 0);
        assert_eq!(first(Faults::new().loss(above(loss))).0.lost, 1);
        assert_eq!(first(Faults::new().corrupt(corrupt)).1, [frame(0)]);
        let mut flipped = frame(0);
        let at = (bit % (46 * 8)) as usize;
        flipped[14 + at / 8] ^= 1 << (at % 8);
        assert_eq!(first(Faults::new().corrupt(above(corrupt))).1, [flipped]);
        assert_eq!(first(Faults::new().duplicate(duplicate)).0.duplicated, 0);
        assert_eq!(
            first(Faults::new().duplicate(above(duplicate)))
                .0
                .duplicated,
            1
        );
        assert_eq!(first(Faults::new().reorder(reorder)).0.reordered, 0);
        assert_eq!(first(Faults::new().reorder(above(reorder))).0.reordered, 1);
    }

    #[test]
    fn bursty_loss_keeps_its_rate_and_its_burst_length() {
        let f = Faults::new().loss(0.3).loss_burst(4.0);
        let got = run(f, 2, 100_000);
        let lost = 100_000 - got.len();
        // Bursts: runs of missing numbers.
        let mut bursts = usize::from(got.first() != Some(&0));
        bursts += got.windows(2).filter(|w| w[1] != w[0] + 1).count();
        let rate = lost as f64 / 100_000.0;
        let mean = lost as f64 / bursts as f64;
        assert!((rate - 0.3).abs() < 0.02, "rate {rate}");
        assert!((mean - 4.0).abs() < 0.4, "mean burst {mean}");
        // Loss 1.0 in bursts: every frame.
        assert!(run(Faults::new().loss(1.0).loss_burst(4.0), 2, 1000).is_empty());
    }

    #[test]
    fn setting_faults_reseeds_and_keeps_waiting_frames() {
        let t0 = Instant::now();
        let mut lane = Lane::new(Faults::new().delay(10 * MS), 1);
        lane.admit(frame(0), t0);
        let lossy = Faults::new().loss(0.5);
        lane.set(lossy.clone(), 77);
        lane.set(lossy.clone(), 78);
        assert_eq!(lane.generation, 2);
        assert_eq!(lane.next_due(), Some(t0 + 10 * MS));
        let mut fresh = Lane::new(lossy, 78);
        for i in 1..200 {
            lane.admit(frame(i), t0);
            fresh.admit(frame(i), t0);
            assert_eq!(lane.stats.lost, fresh.stats.lost, "frame {i}");
        }
    }

    #[test]
    fn a_lane_is_idle_only_without_faults_cuts_or_waiting_frames() {
        let t0 = Instant::now();
        assert!(Lane::new(Faults::new(), 1).is_idle());
        assert!(Lane::new(Faults::new().seed(3), 1).is_idle());
        assert!(!Lane::new(Faults::new().loss(0.1), 1).is_idle());
        let mut lane = Lane::new(Faults::new(), 1);
        lane.cuts = 1;
        assert!(!lane.is_idle());
        let mut lane = Lane::new(Faults::new().delay(MS), 1);
        lane.admit(frame(0), t0);
        lane.set(Faults::new(), 1);
        assert!(!lane.is_idle(), "a frame is waiting");
        assert!(lane.due(t0 + MS).is_some());
        assert!(lane.is_idle());
    }

    #[test]
    fn cut_drops_everything() {
        let mut lane = Lane::new(Faults::new(), 1);
        lane.cuts = 1;
        lane.admit(vec![0; 60], Instant::now());
        assert_eq!(lane.stats.cut, 1);
        assert_eq!(lane.next_due(), None);
    }
}
