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

/// The seed faults without one of their own draw from, for the test the
/// calling thread works for: its run's seed in a seed sweep
/// (`#[netns_test(seeds = N)]`), else [`fault_seed`].
pub(crate) fn base_seed() -> u64 {
    crate::context::current()
        .and_then(|ctx| ctx.seed())
        .unwrap_or_else(fault_seed)
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

/// The seed of one frame's draws: the direction's seed mixed with the
/// frame's key (`wire/identity.rs`), so a frame's fate depends on the frame,
/// not on how many frames came before it.
pub(crate) fn frame_seed(lane_seed: u64, key: u64) -> u64 {
    splitmix(lane_seed ^ splitmix(key))
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

    /// What `validate` says of `faults`: `Ok`, or the value it names.
    fn refused(faults: Faults) -> Option<&'static str> {
        match faults.validate() {
            Ok(()) => None,
            Err(Error::InvalidArgument { what, .. }) => Some(what),
            Err(e) => panic!("{faults:?}: {e}"),
        }
    }

    #[test]
    fn every_value_is_checked_at_its_bounds() {
        type Set = fn(Faults, f64) -> Faults;
        let fractions: [(&str, Set); 4] = [
            ("loss", Faults::loss),
            ("reorder", Faults::reorder),
            ("duplicate", Faults::duplicate),
            ("corrupt", Faults::corrupt),
        ];
        for (what, set) in fractions {
            for ok in [0.0, 0.5, 1.0] {
                assert_eq!(refused(set(Faults::new(), ok)), None, "{what} {ok}");
            }
            for bad in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
                assert_eq!(refused(set(Faults::new(), bad)), Some(what), "{what} {bad}");
            }
        }
        let burst = |mean| refused(Faults::new().loss(0.1).loss_burst(mean));
        assert_eq!(burst(1.0), None);
        assert_eq!(burst(1e9), None);
        for bad in [0.99, 0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert_eq!(burst(bad), Some("loss burst"), "{bad}");
        }
        assert_eq!(refused(Faults::new().rate_bits_per_sec(1)), None);
        assert_eq!(refused(Faults::new().rate_bits_per_sec(0)), Some("rate"));
        assert_eq!(refused(Faults::new().queue_bytes(1)), None);
        assert_eq!(refused(Faults::new().queue_bytes(0)), Some("queue"));
        let hour = Duration::from_secs(3600);
        let over = hour + Duration::from_nanos(1);
        assert_eq!(refused(Faults::new().delay(hour).jitter(hour)), None);
        assert_eq!(refused(Faults::new().delay(over)), Some("delay"));
        assert_eq!(refused(Faults::new().jitter(over)), Some("delay"));
    }

    #[test]
    fn each_builder_sets_its_own_value() {
        let f = Faults::new()
            .loss(0.25)
            .loss_burst(3.0)
            .delay(Duration::from_millis(20))
            .jitter(Duration::from_millis(5))
            .reorder(0.5)
            .duplicate(0.125)
            .corrupt(0.0625)
            .rate_bits_per_sec(1_000_000)
            .queue_bytes(1500)
            .seed(7);
        let want = Faults {
            loss: 0.25,
            loss_burst: Some(3.0),
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
            reorder: 0.5,
            duplicate: 0.125,
            corrupt: 0.0625,
            rate_bits_per_sec: Some(1_000_000),
            queue_bytes: Some(1500),
            seed: Some(7),
        };
        assert_eq!(f, want);
    }

    #[test]
    fn only_a_wire_with_nothing_but_a_seed_set_is_perfect() {
        assert!(Faults::new().is_perfect());
        assert!(Faults::new().seed(3).is_perfect());
        let ms = Duration::from_millis(1);
        for f in [
            Faults::new().loss(0.1),
            Faults::new().loss_burst(2.0),
            Faults::new().delay(ms),
            Faults::new().jitter(ms),
            Faults::new().reorder(0.1),
            Faults::new().duplicate(0.1),
            Faults::new().corrupt(0.1).seed(3),
            Faults::new().rate_bits_per_sec(1000),
            Faults::new().queue_bytes(100),
        ] {
            assert!(!f.is_perfect(), "{f:?}");
        }
    }

    /// Golden values, recorded once: a seed printed by one version of the
    /// crate must replay the same drops in the next. Change them only with
    /// a note in the changelog that old seeds no longer replay.
    /// In a seed sweep's run, faults without a seed of their own draw from
    /// the run's seed; otherwise from the process's.
    #[test]
    fn a_sweeps_run_seed_is_the_base_of_its_faults() {
        let id = crate::context::TestId::new("faults_tests", "seeded");
        let running = crate::context::start_test(id, Some(0x5eed));
        assert_eq!(base_seed(), 0x5eed);
        drop(running);
        let running = crate::context::start_test(id, None);
        assert_eq!(base_seed(), fault_seed());
        drop(running);
    }

    #[test]
    fn seed_derivation_matches_its_recorded_values() {
        // SplitMix64's reference outputs (the first for state 0 is
        // 0xe220a8397b1dcdaf in every implementation).
        assert_eq!(splitmix(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix(1), 0x910a_2dec_8902_5cc1);
        assert_eq!(splitmix(u64::MAX), 0xe4d9_7177_1b65_2c20);
        assert_eq!(lane_seed(0, "", 0), 0x21fa_69a5_8f3d_62f5);
        let ab = "client/eth0>router/eth0";
        let ba = "router/eth0>client/eth0";
        assert_eq!(lane_seed(7, ab, 0), 0x6dc3_5ae2_74fd_954f);
        assert_eq!(lane_seed(7, ba, 0), 0xc147_47f6_7562_25af);
        assert_eq!(lane_seed(7, ab, 1), 0xb81f_53f3_fa71_9522);
        assert_eq!(lane_seed(u64::MAX, "a", 3), 0xb8ad_0307_d4c0_01f1);
        // And the draws of the lane it seeds (fastrand's): which of 32
        // frames a 50% loss keeps.
        let mut lane = crate::wire::model::Lane::new(Faults::new().loss(0.5), lane_seed(7, ab, 0));
        let now = std::time::Instant::now();
        let kept: Vec<u8> = (0..32u8)
            .filter(|&i| {
                lane.admit(vec![i; 60], now);
                lane.due(now).is_some()
            })
            .collect();
        assert_eq!(
            kept,
            [0, 3, 4, 6, 7, 11, 13, 15, 16, 17, 19, 21, 24, 26, 27, 28, 31]
        );
        // A frame's own seed: the lane's mixed with the frame's key.
        assert_eq!(frame_seed(0, 0), 0xa706_dd2f_4d19_7e6f);
        assert_eq!(frame_seed(7, 0x041c_71c2_51a8_4c09), 0xaf99_49f6_9ea0_75d5);
    }

    /// Runs `the_seed_is_drawn_once_per_process` in a child process of this
    /// test binary, with [`SEED_ENV`] set to `env` or unset: the seed the
    /// child drew.
    fn seed_of_a_child(env: Option<&str>) -> u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child.args([
            "--exact",
            "wire::faults::tests::the_seed_is_drawn_once_per_process",
            "--nocapture",
        ]);
        match env {
            Some(value) => child.env(SEED_ENV, value),
            None => child.env_remove(SEED_ENV),
        };
        let out = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{env:?}: {out:?}");
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("fault seed: ")?.parse().ok())
            .unwrap_or_else(|| panic!("{env:?}: no seed in {stdout}"))
    }

    #[test]
    fn the_seed_is_drawn_once_per_process() {
        let seed = fault_seed();
        assert_eq!(fault_seed(), seed);
        let set = std::env::var(SEED_ENV).ok();
        if let Some(fixed) = set.and_then(|s| s.trim().parse::<u64>().ok()) {
            assert_eq!(seed, fixed);
        }
        println!("fault seed: {seed}");
    }

    #[test]
    fn the_seed_replays_from_the_environment_and_is_random_without() {
        assert_eq!(seed_of_a_child(Some("42")), 42);
        assert_eq!(seed_of_a_child(Some(" 18446744073709551615\n")), u64::MAX);
        assert_ne!(seed_of_a_child(None), seed_of_a_child(None));
        // Not a number: random, as if unset.
        assert_ne!(seed_of_a_child(Some("x")), seed_of_a_child(Some("x")));
    }

    #[test]
    fn lane_seeds_differ_by_lane_and_generation() {
        assert_ne!(lane_seed(1, "a", 0), lane_seed(1, "b", 0));
        assert_ne!(lane_seed(1, "a", 0), lane_seed(1, "a", 1));
        assert_eq!(lane_seed(1, "a", 0), lane_seed(1, "a", 0));
    }
}
