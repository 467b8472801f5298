//! The fault model of one direction of a wire link (a lane): what happens to
//! each frame, and when it leaves. Pure: no sockets, no clock of its own, so
//! it is tested on its own (the tests at the end).
//!
//! Every frame draws the same five random numbers, in the order frames
//! arrive, whatever faults are set: with one seed and the same frames, the
//! same frames are dropped, corrupted, duplicated, delayed and reordered.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::wire::faults::{Faults, DEFAULT_QUEUE_BYTES, REORDER_HOLD};

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
    rng: fastrand::Rng,
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
            rng: fastrand::Rng::with_seed(seed),
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
        self.rng = fastrand::Rng::with_seed(seed);
        self.bad = false;
    }

    /// Whether a frame can skip the queue: nothing set, nothing waiting.
    pub(crate) fn is_idle(&self) -> bool {
        self.cuts == 0 && self.pending.is_empty() && self.faults.is_perfect()
    }

    /// Takes in a frame that arrived at `now`.
    pub(crate) fn admit(&mut self, mut frame: Vec<u8>, now: Instant) {
        self.stats.frames += 1;
        // Always five draws per frame, so decisions depend on the order of
        // frames only, not on which faults happen to be set.
        let [u_loss, u_corrupt, u_dup, u_jitter, u_reorder] =
            std::array::from_fn(|_| self.rng.f64());
        let bit = self.rng.u64(..);
        if self.cuts > 0 {
            self.stats.cut += 1;
            return;
        }
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

    #[test]
    fn cut_drops_everything() {
        let mut lane = Lane::new(Faults::new(), 1);
        lane.cuts = 1;
        lane.admit(vec![0; 60], Instant::now());
        assert_eq!(lane.stats.cut, 1);
        assert_eq!(lane.next_due(), None);
    }
}
