//! The wire layer (layer 4, beside `process/`): links whose frames this
//! crate carries, with faults set on them (`Topology::wire`, `Wire`,
//! `Faults`), and packet capture of what a test's namespaces saw
//! (`capture`, with the `capture` feature). Above the network layer, below
//! test integration (ARCHITECTURE.md 1 and 2.10).

use parking_lot::Mutex;

use crate::Netns;

#[cfg(feature = "capture")]
pub(crate) mod capture;
pub(crate) mod faults;
pub(crate) mod handle;
pub(crate) mod link;
pub(crate) mod model;
#[cfg(feature = "capture")]
pub(crate) mod per_test;
pub(crate) mod tap;

/// Tests running now (by the name of their threads: the runner's and the
/// body's), and whether each set a fault ([`Wire::set`](crate::Wire::set))
/// since it started, so that only its failure names the seed.
static SEEDED: Mutex<Vec<(String, bool)>> = Mutex::new(Vec::new());

/// Called when a fault is set: marks the test the calling thread is named
/// after, if one is running.
pub(crate) fn seeds_used() {
    let thread = std::thread::current();
    let Some(name) = thread.name() else { return };
    for (test, used) in SEEDED.lock().iter_mut() {
        if test == name {
            *used = true;
        }
    }
}

/// What a failing test's message gets from this layer: the seed its faults
/// drew from and how to replay it.
pub(crate) fn failure_note() -> String {
    let seed = faults::fault_seed();
    format!(
        "netns-test: link faults drew from seed {seed}; replay with {}={seed}",
        faults::SEED_ENV
    )
}

/// What the runner holds while a test runs: the test's capture, if
/// `NETNS_TEST_CAPTURE` asks for one (nothing is started otherwise).
pub(crate) struct TestWatch {
    #[cfg(feature = "capture")]
    capture: Option<per_test::TestCapture>,
    /// The test's (thread's) name, in [`SEEDED`].
    test: String,
    done: bool,
}

impl TestWatch {
    /// Called by the runner on the test's thread before the body starts.
    pub(crate) fn start(_forced: bool) -> TestWatch {
        let test = std::thread::current().name().unwrap_or("").to_owned();
        SEEDED.lock().push((test.clone(), false));
        TestWatch {
            #[cfg(feature = "capture")]
            capture: per_test::start(_forced),
            test,
            done: false,
        }
    }

    /// Called by the runner when the test is over (a panic gets here through
    /// `Drop`): writes the capture file if it is kept, and prints to the
    /// test's output where it is and which seed the faults drew from, if the
    /// test failed.
    pub(crate) fn finish(mut self, failed: bool) {
        self.end(failed);
    }

    fn end(&mut self, failed: bool) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let seeded = {
            let mut seeded = SEEDED.lock();
            let at = seeded.iter().position(|(t, _)| *t == self.test);
            at.is_some_and(|at| seeded.swap_remove(at).1)
        };
        let mut notes = Vec::new();
        #[cfg(feature = "capture")]
        notes.extend(self.capture.take().and_then(|c| c.finish(failed)));
        if failed {
            if seeded {
                notes.push(failure_note());
            }
            for note in notes {
                eprintln!("{note}");
            }
        }
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
