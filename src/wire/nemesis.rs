//! A seeded fault schedule (a nemesis, as Jepsen calls it) for a test:
//! while a workload runs, at seeded moments it applies one of the faults
//! the test declared (a partition into random halves, a cut wire link, a
//! pause of a random process, a crash and restart), holds it a seeded
//! while, heals it, and at the end heals everything; the timeline goes to
//! the failure message of a failing test. One seed, one schedule: the
//! test's seed (a sweep's run, `NETNS_TEST_SEED`, or the process's).

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::network::topology::Network;
use crate::process::Process;

/// A fault schedule over a network and its processes: see the module.
///
/// ```no_run
/// # use std::time::Duration;
/// # fn demo(net: &netns_test::Network, server: &netns_test::Process) {
/// use netns_test::Nemesis;
///
/// let done = Nemesis::new(net)
///     .partitions()
///     .cuts()
///     .pauses(&[server])
///     .run(Duration::from_secs(2), || {
///         // the workload: clients that must survive the faults
///     });
/// # }
/// ```
#[must_use = "a nemesis does nothing until `run`"]
pub struct Nemesis<'n> {
    net: &'n Network,
    partitions: bool,
    cuts: bool,
    pauses: Vec<&'n Process>,
    crashes: Vec<&'n Process>,
    gap: Range<Duration>,
    hold: Range<Duration>,
    seed: u64,
}

/// What a nemesis did, in order: time since its start, the fault, its
/// target; shown in a failing test's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline(pub Vec<(Duration, String)>);

impl std::fmt::Display for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (at, what) in &self.0 {
            writeln!(f, "  {:>8.3}s {what}", at.as_secs_f64())?;
        }
        Ok(())
    }
}

/// The timelines of a test's nemeses, in its context.
#[derive(Default)]
pub(crate) struct Timelines(pub(crate) Mutex<Vec<Arc<Mutex<Timeline>>>>);

impl<'n> Nemesis<'n> {
    /// A schedule over `net` with no fault yet: declare them, then `run`.
    /// Between faults it waits 100 to 500 ms, and holds each 100 to 500 ms
    /// ([`Nemesis::every`], [`Nemesis::holding`]).
    pub fn new(net: &'n Network) -> Nemesis<'n> {
        // The schedule draws from the test's seed: a failure names it.
        crate::wire::seeds_used(false);
        Nemesis {
            net,
            partitions: false,
            cuts: false,
            pauses: Vec::new(),
            crashes: Vec::new(),
            gap: Duration::from_millis(100)..Duration::from_millis(500),
            hold: Duration::from_millis(100)..Duration::from_millis(500),
            seed: crate::wire::faults::base_seed() ^ 0x6e65_6d65_7369_7321,
        }
    }

    /// Partitions the hosts into two random non-empty halves
    /// ([`Network::partition`]: the wire links between them are cut).
    pub fn partitions(mut self) -> Self {
        self.partitions = true;
        self
    }

    /// Cuts one random wire link ([`Wire::cut`](crate::Wire::cut)).
    pub fn cuts(mut self) -> Self {
        self.cuts = true;
        self
    }

    /// Pauses one of `processes` at random ([`Process::pause`]).
    pub fn pauses(mut self, processes: &[&'n Process]) -> Self {
        self.pauses.extend_from_slice(processes);
        self
    }

    /// Crashes one of `processes` at random and restarts it when the fault
    /// is healed ([`Process::crash`], [`Process::restart`]).
    pub fn crashes(mut self, processes: &[&'n Process]) -> Self {
        self.crashes.extend_from_slice(processes);
        self
    }

    /// How long to wait between faults: a seeded duration in `gap`.
    pub fn every(mut self, gap: Range<Duration>) -> Self {
        self.gap = gap;
        self
    }

    /// How long each fault holds: a seeded duration in `hold`.
    pub fn holding(mut self, hold: Range<Duration>) -> Self {
        self.hold = hold;
        self
    }

    /// Runs `workload` on a thread of its own while the schedule runs on
    /// the calling thread, for at most `for_at_most` or until the workload
    /// returns; heals every fault, then returns the workload's value and
    /// the timeline. A workload that panics panics here, after the heal.
    /// The workload's thread is in the calling thread's network namespace
    /// and works for the same test.
    pub fn run<T: Send>(
        self,
        for_at_most: Duration,
        workload: impl FnOnce() -> T + Send,
    ) -> (T, Timeline) {
        let timeline = Arc::new(Mutex::new(Timeline::default()));
        if let Some(ctx) = crate::context::current() {
            ctx.state::<Timelines>().0.lock().push(timeline.clone());
        }
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let start = Instant::now();
        let result = std::thread::scope(|scope| {
            let work = scope.spawn(crate::context::inherit(workload));
            while !work.is_finished() && start.elapsed() < for_at_most {
                let gap = draw(&mut rng, &self.gap);
                if !sleep_unless(&work, gap, start, for_at_most) {
                    break;
                }
                self.one_fault(&mut rng, &work, start, for_at_most, &timeline);
            }
            work.join()
        });
        let timeline = timeline.lock().clone();
        match result {
            Ok(value) => (value, timeline),
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }

    /// Applies one fault drawn from those declared, holds it, heals it.
    fn one_fault<T>(
        &self,
        rng: &mut fastrand::Rng,
        work: &std::thread::ScopedJoinHandle<'_, T>,
        start: Instant,
        until: Duration,
        timeline: &Mutex<Timeline>,
    ) {
        let mut kinds = Vec::new();
        if self.partitions {
            kinds.push(0);
        }
        if self.cuts && !self.net.wires().is_empty() {
            kinds.push(1);
        }
        if !self.pauses.is_empty() {
            kinds.push(2);
        }
        if !self.crashes.is_empty() {
            kinds.push(3);
        }
        let Some(&kind) = kinds.get(rng.usize(..kinds.len().max(1))) else {
            return;
        };
        let hold = draw(rng, &self.hold);
        let note = |what: String| timeline.lock().0.push((start.elapsed(), what));
        match kind {
            0 => {
                let mut hosts: Vec<&str> = self.net.hosts().collect();
                rng.shuffle(&mut hosts);
                let cut = 1 + rng.usize(..hosts.len().saturating_sub(1).max(1));
                let (a, b) = hosts.split_at(cut.min(hosts.len()));
                match self.net.partition(a, b) {
                    Ok(partition) => {
                        note(format!("partition {a:?} | {b:?}"));
                        sleep_unless(work, hold, start, until);
                        drop(partition);
                        note("heal the partition".to_owned());
                    }
                    Err(e) => note(format!("partition {a:?} | {b:?} not made: {e}")),
                }
            }
            1 => {
                let wires = self.net.wires();
                let wire = &wires[rng.usize(..wires.len())];
                let (x, y) = wire.ends();
                let cut = wire.cut();
                note(format!("cut {x} - {y}"));
                sleep_unless(work, hold, start, until);
                drop(cut);
                note(format!("heal {x} - {y}"));
            }
            2 => {
                let process = self.pauses[rng.usize(..self.pauses.len())];
                match process.pause() {
                    Ok(paused) => {
                        note(format!(
                            "pause {} (pid {})",
                            process.program(),
                            process.pid()
                        ));
                        sleep_unless(work, hold, start, until);
                        drop(paused);
                        note(format!(
                            "resume {} (pid {})",
                            process.program(),
                            process.pid()
                        ));
                    }
                    Err(e) => note(format!("pause {} failed: {e}", process.program())),
                }
            }
            _ => {
                let process = self.crashes[rng.usize(..self.crashes.len())];
                let pid = process.pid();
                let status = process.crash();
                note(format!(
                    "crash {} (pid {pid}): {status:?}",
                    process.program()
                ));
                sleep_unless(work, hold, start, until);
                match process.restart() {
                    Ok(new) => note(format!("restart {} (pid {new})", process.program())),
                    Err(e) => note(format!("restart {} failed: {e}", process.program())),
                }
            }
        }
    }
}

/// A seeded duration in `range` (its start if it is empty).
fn draw(rng: &mut fastrand::Rng, range: &Range<Duration>) -> Duration {
    let (lo, hi) = (range.start.as_micros() as u64, range.end.as_micros() as u64);
    Duration::from_micros(if hi > lo { rng.u64(lo..hi) } else { lo })
}

/// Sleeps `d` in small steps; `false` if the workload finished or the time
/// ran out first.
fn sleep_unless<T>(
    work: &std::thread::ScopedJoinHandle<'_, T>,
    d: Duration,
    start: Instant,
    until: Duration,
) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if work.is_finished() || start.elapsed() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5).min(end - Instant::now()));
    }
    true
}

/// A failing test's nemesis timelines, if it ran any.
pub(crate) fn failure_note(ctx: &crate::context::TestContext) -> Option<String> {
    let timelines = ctx.state_if::<Timelines>()?;
    let timelines = timelines.0.lock();
    if timelines.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, timeline) in timelines.iter().enumerate() {
        let _ = write!(
            out,
            "netns-test: nemesis {} timeline (time since it started, fault, target):\n{}",
            i + 1,
            timeline.lock()
        );
    }
    Some(out.trim_end().to_owned())
}
