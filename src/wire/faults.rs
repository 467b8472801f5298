//! What a wire link does to the frames of one direction: [`Faults`], and the
//! seed its random draws start from.

use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{Error, Result};

/// The environment variable that fixes the seed of every fault's random
/// draws (a decimal `u64`): a failing test prints the seed it ran with, and
/// `NETNS_TEST_SEED=N cargo test NAME` replays the same drops.
pub use crate::settings::SEED_ENV;

/// Which frames of a wire link a setting applies to, seen from the end the
/// [`Wire`](crate::Wire) handle was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Frames this end sends.
    Out,
    /// Frames this end receives.
    In,
    /// Both.
    Both,
}

/// Faults for one direction of a wire link: a builder, units in the names.
///
/// The default is a perfect wire. Each frame goes through the faults in
/// this order: loss, corrupt, duplicate, rate limit (with its queue), delay
/// with jitter, reorder.
///
/// ```
/// use netns_test::Faults;
/// use std::time::Duration;
///
/// let lossy = Faults::new()
///     .delay(Duration::from_millis(20))
///     .jitter(Duration::from_millis(5))
///     .loss(0.01)
///     .seed(7);
/// # let _ = lossy;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub(crate) loss: f64,
    pub(crate) loss_burst: Option<f64>,
    pub(crate) delay: Duration,
    pub(crate) jitter: Duration,
    pub(crate) reorder: f64,
    pub(crate) duplicate: f64,
    pub(crate) corrupt: f64,
    pub(crate) rate_bits_per_sec: Option<u64>,
    pub(crate) queue_bytes: Option<usize>,
    pub(crate) seed: Option<u64>,
}

/// The queue of a rate-limited direction when none is given: 64 KiB, about
/// 43 full-size frames.
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024;

/// How long a reordered frame is held back on a direction without delay.
pub const REORDER_HOLD: Duration = Duration::from_millis(1);

impl Faults {
    /// A perfect wire: every frame passes at once, unchanged.
    pub fn new() -> Faults {
        Faults::default()
    }

    /// Drops each frame with probability `fraction` (0.0 to 1.0), each
    /// independently of the others (Bernoulli), unless
    /// [`Faults::loss_burst`] makes the losses come in bursts.
    pub fn loss(mut self, fraction: f64) -> Faults {
        self.loss = fraction;
        self
    }

    /// Makes the losses bursty with the same average rate as
    /// [`Faults::loss`]: a two-state Gilbert–Elliott chain that drops every
    /// frame in its bad state and none in its good one, staying in the bad
    /// state `mean_frames` frames on average (at least 1).
    pub fn loss_burst(mut self, mean_frames: f64) -> Faults {
        self.loss_burst = Some(mean_frames);
        self
    }

    /// Delays every frame by `delay` (one way).
    pub fn delay(mut self, delay: Duration) -> Faults {
        self.delay = delay;
        self
    }

    /// Adds to each frame's delay a uniform random amount in
    /// `-jitter..=jitter` (never below zero). Frames still leave in the order
    /// they came: a frame is never delivered before the one ahead of it, so
    /// jitter alone does not reorder ([`Faults::reorder`] does).
    pub fn jitter(mut self, jitter: Duration) -> Faults {
        self.jitter = jitter;
        self
    }

    /// Sends a `fraction` of the frames out of order: with a delay set, they
    /// skip it and overtake the frames ahead of them (netem's way); without
    /// one, they are held back by [`REORDER_HOLD`] and overtaken.
    pub fn reorder(mut self, fraction: f64) -> Faults {
        self.reorder = fraction;
        self
    }

    /// Sends a `fraction` of the frames twice.
    pub fn duplicate(mut self, fraction: f64) -> Faults {
        self.duplicate = fraction;
        self
    }

    /// Flips one random bit past the Ethernet header in a `fraction` of the
    /// frames (the receiver's checksums then drop most of them).
    pub fn corrupt(mut self, fraction: f64) -> Faults {
        self.corrupt = fraction;
        self
    }

    /// Limits the direction to `bits_per_sec`: frames leave one after the
    /// other at that rate (a token bucket of one frame), waiting in a queue
    /// of [`Faults::queue_bytes`]; a frame that does not fit is dropped
    /// (drop-tail).
    pub fn rate_bits_per_sec(mut self, bits_per_sec: u64) -> Faults {
        self.rate_bits_per_sec = Some(bits_per_sec);
        self
    }

    /// The queue of a rate-limited direction, in bytes of frames waiting
    /// (default [`DEFAULT_QUEUE_BYTES`]).
    pub fn queue_bytes(mut self, bytes: usize) -> Faults {
        self.queue_bytes = Some(bytes);
        self
    }

    /// The seed of the random draws (each direction mixes in its own name).
    /// Without it the seed comes from [`SEED_ENV`] if set, else one random
    /// seed per process; see [`fault_seed`](crate::fault_seed).
    pub fn seed(mut self, seed: u64) -> Faults {
        self.seed = Some(seed);
        self
    }

    /// Whether anything is set: a direction without faults forwards frames
    /// as they come.
    pub fn is_perfect(&self) -> bool {
        Faults {
            seed: None,
            ..self.clone()
        } == Faults::default()
    }

    /// Checks every value; [`Error::InvalidArgument`] names the first bad one.
    pub(crate) fn validate(&self) -> Result<()> {
        let fraction = |what: &'static str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidArgument {
                    what,
                    value: v.to_string(),
                    reason: "not a fraction between 0.0 and 1.0",
                })
            }
        };
        fraction("loss", self.loss)?;
        fraction("reorder", self.reorder)?;
        fraction("duplicate", self.duplicate)?;
        fraction("corrupt", self.corrupt)?;
        if let Some(mean) = self.loss_burst {
            if !(mean >= 1.0 && mean.is_finite()) {
                return Err(Error::InvalidArgument {
                    what: "loss burst",
                    value: mean.to_string(),
                    reason: "the mean burst length must be at least 1 frame",
                });
            }
        }
        if self.rate_bits_per_sec == Some(0) {
            return Err(Error::InvalidArgument {
                what: "rate",
                value: "0".to_owned(),
                reason: "a rate of 0 bits/s carries nothing; cut the link instead",
            });
        }
        if self.queue_bytes == Some(0) {
            return Err(Error::InvalidArgument {
                what: "queue",
                value: "0".to_owned(),
                reason: "a queue of 0 bytes holds no frame",
            });
        }
        if self.jitter > Duration::from_secs(3600) || self.delay > Duration::from_secs(3600) {
            return Err(Error::InvalidArgument {
                what: "delay",
                value: format!("{:?}", self.delay.max(self.jitter)),
                reason: "longer than an hour",
            });
        }
        Ok(())
    }
}

/// The seed that wire links of this process draw from when their
/// [`Faults`] name none: [`SEED_ENV`] if set (to replay a run), else random,
/// drawn once. A failing test prints it.
pub fn fault_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        crate::settings::Settings::get()
            .seed
            .unwrap_or_else(|| fastrand::u64(..))
    })
}

/// A direction's seed: `base` mixed with the direction's name and how many
/// times its faults were set before, so each direction draws its own
/// numbers and a replay with the same base draws the same ones.
pub(crate) fn lane_seed(base: u64, label: &str, generation: u64) -> u64 {
    // FNV-1a: fixed across runs and Rust versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(base ^ splitmix(h ^ generation))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_refused() {
        assert!(Faults::new().loss(1.5).validate().is_err());
        assert!(Faults::new().loss(-0.1).validate().is_err());
        assert!(Faults::new().loss(f64::NAN).validate().is_err());
        assert!(Faults::new().rate_bits_per_sec(0).validate().is_err());
        assert!(Faults::new().queue_bytes(0).validate().is_err());
        assert!(Faults::new().loss(0.1).loss_burst(0.5).validate().is_err());
        assert!(Faults::new().loss(1.0).corrupt(0.5).validate().is_ok());
    }

    #[test]
    fn lane_seeds_differ_by_lane_and_generation() {
        assert_ne!(lane_seed(1, "a", 0), lane_seed(1, "b", 0));
        assert_ne!(lane_seed(1, "a", 0), lane_seed(1, "a", 1));
        assert_eq!(lane_seed(1, "a", 0), lane_seed(1, "a", 0));
    }
}
