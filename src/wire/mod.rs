//! The wire layer (layer 4, beside `process/`): links whose frames this
//! crate carries, with faults set on them (`Topology::wire`, `Wire`,
//! `Faults`), and packet capture of what a test's namespaces saw
//! (`capture`, with the `capture` feature). Above the network layer, below
//! test integration (ARCHITECTURE.md 1 and 2.10).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::context::TestContext;
use crate::Netns;

pub(crate) mod bypass;
#[cfg(feature = "capture")]
pub(crate) mod capture;
pub(crate) mod describe;
pub(crate) mod faults;
pub(crate) mod frame;
pub(crate) mod handle;
pub(crate) mod identity;
pub(crate) mod link;
pub(crate) mod matcher;
pub(crate) mod model;
pub(crate) mod nemesis;
pub(crate) mod notes;
pub(crate) mod partition;
#[cfg(feature = "capture")]
pub(crate) mod per_test;
pub(crate) mod rules;
#[cfg(feature = "capture")]
pub(crate) mod sockets;
pub(crate) mod tap;

/// Which seeds a test's faults ([`Wire::set`](crate::Wire::set)) drew
/// from, so that only its failure names them, truly: kept in the test's
/// context.
#[derive(Default)]
struct Seeded {
    /// Faults without a seed of their own: the process's seed.
    process: AtomicBool,
    /// Faults with `Faults::seed`: the test's own.
    pinned: AtomicBool,
}

/// Called when a fault is set (`pinned`: with a seed of its own): marks the
/// test the calling thread works for (any thread of it: a body's, a
/// runtime's worker, one the body spawned).
pub(crate) fn seeds_used(pinned: bool) {
    if let Some(ctx) = crate::context::current() {
        let seeded = ctx.state::<Seeded>();
        let which = if pinned {
            &seeded.pinned
        } else {
            &seeded.process
        };
        which.store(true, Ordering::Relaxed);
    }
}

/// What a failing test's message gets from this layer: the seed its faults
/// drew from and how to replay it (the test alone, by its libtest name),
/// or that it pinned its seeds; `None` if it set no faults.
pub(crate) fn failure_note(ctx: &TestContext) -> Option<String> {
    let seeded = ctx.state_if::<Seeded>()?;
    let (process, pinned) = (
        seeded.process.load(Ordering::Relaxed),
        seeded.pinned.load(Ordering::Relaxed),
    );
    let test = ctx.test().map(|id| id.libtest_name()).unwrap_or_default();
    let seed = ctx.seed().unwrap_or_else(faults::fault_seed);
    match (process, pinned) {
        (false, false) => None,
        (true, false) => Some(format!(
            "netns-test: link faults drew from seed {seed}; replay with {}={seed} cargo test \
             {test} -- --exact",
            faults::SEED_ENV
        )),
        (true, true) => Some(format!(
            "netns-test: link faults drew from seed {seed} and from the seeds the test pinned \
             (Faults::seed); replay with {}={seed} cargo test {test} -- --exact",
            faults::SEED_ENV
        )),
        (false, true) => Some(format!(
            "netns-test: link faults drew from the seeds the test pinned (Faults::seed), which \
             {} does not change; re-run with: cargo test {test} -- --exact",
            faults::SEED_ENV
        )),
    }
}

/// What the runner holds while a test runs: the test's capture, if
/// `NETNS_TEST_CAPTURE` asks for one (nothing is started otherwise).
pub(crate) struct TestWatch {
    #[cfg(feature = "capture")]
    capture: Option<per_test::TestCapture>,
    /// The test's context, where [`Seeded`] is.
    ctx: Arc<TestContext>,
    done: bool,
}

impl TestWatch {
    /// Called by the runner on the test's thread before the body starts,
    /// with the test's context.
    pub(crate) fn start(ctx: &Arc<TestContext>, _forced: bool) -> TestWatch {
        TestWatch {
            #[cfg(feature = "capture")]
            capture: per_test::start(ctx, _forced),
            ctx: ctx.clone(),
            done: false,
        }
    }

    /// Called by the runner when the test is over (a panic gets here through
    /// `Drop`): writes the capture file if it is kept, and prints to the
    /// test's output where it is and which seed the faults drew from, if the
    /// test failed; returns those lines (for the report page).
    pub(crate) fn finish(mut self, failed: bool) -> Vec<String> {
        self.end(failed)
    }

    fn end(&mut self, failed: bool) -> Vec<String> {
        if std::mem::replace(&mut self.done, true) {
            return Vec::new();
        }
        let mut notes = Vec::new();
        #[cfg(feature = "capture")]
        notes.extend(self.capture.take().and_then(|c| c.finish(failed)));
        if failed {
            notes.extend(failure_note(&self.ctx));
            notes.extend(nemesis::failure_note(&self.ctx));
            for note in &notes {
                eprintln!("{note}");
            }
        }
        notes
    }
}

impl Drop for TestWatch {
    fn drop(&mut self) {
        self.end(std::thread::panicking());
    }
}

/// Adds the calling thread's namespace (a test body's) to its test's
/// capture, if there is one.
pub(crate) fn capture_here(_label: &str) {
    #[cfg(feature = "capture")]
    per_test::here(_label);
}

/// Adds every host of a suite fixture (what `_hosts` returns; called only
/// if the calling thread's test is captured) to the test's capture: a
/// fixture test's capture holds all of its fixture's hosts, whoever built
/// it (README, "Faults and capture").
pub(crate) fn capture_fixture<'a>(
    _hosts: impl FnOnce() -> crate::Result<Vec<(String, &'a Netns)>>,
) {
    #[cfg(feature = "capture")]
    per_test::fixture_hosts(_hosts);
}
