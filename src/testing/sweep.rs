//! Seed sweeps: `#[netns_test(seeds = N)]` and `NETNS_TEST_SEEDS=N` run a
//! test's body N times, each in fresh namespaces with a fault seed of its
//! own (`TestId::sweep_seed`: the same seeds every time the sweep runs),
//! and stop at the first failure, which names its seed and the one command
//! that replays it alone. With `NETNS_TEST_SEED` set the test runs once,
//! with that seed, as every test does.
//!
//! The seed of a run is what faults without a seed of their own
//! (`Faults::seed`) draw from, in place of the process's (`fault_seed`);
//! faults that pinned a seed draw from it in every run.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::context::TestId;
use crate::testing::runner::{run_test, TestOptions, TestReturn};

/// What `#[netns_test]` expands to: [`run_test`] once, or once per seed of
/// a sweep (see the module). `f` is the test's function (or the closure
/// that runs an `async` one), called once per run.
#[doc(hidden)]
#[track_caller]
pub fn run_test_seeds<R, F>(opts: TestOptions, f: F) -> R::Output
where
    R: TestReturn,
    F: Fn() -> R + Send + Sync + Copy + 'static,
{
    let settings = crate::settings::Settings::get();
    // The variable, set for a run, wins over the attribute.
    let runs = settings.seeds.or(opts.seeds).unwrap_or(1);
    // A `#[should_panic]` test passes by panicking: one run says it all.
    if runs <= 1 || settings.seed.is_some() || opts.should_panic {
        return run_test(opts, f);
    }
    let id = opts
        .test
        .unwrap_or(TestId::new("netns_test", "unnamed_test"));
    let mut last = None;
    for run in 0..runs {
        let seed = id.sweep_seed(run);
        let note = || {
            format!(
                "netns-test: seed sweep: run {} of {runs} failed with seed {seed}; replay it \
                 alone with: {}={seed} cargo test {} -- --exact",
                run + 1,
                crate::settings::SEED_ENV,
                id.libtest_name()
            )
        };
        let opts = TestOptions {
            seed: Some(seed),
            ..opts
        };
        match catch_unwind(AssertUnwindSafe(|| run_test::<R, F>(opts, f))) {
            Ok(mut output) if R::failed(&output) => {
                R::append_to_failure(&mut output, |_| Some(note()));
                return output;
            }
            Ok(output) => last = Some(output),
            Err(payload) => {
                // eprint!, which libtest captures and shows for a failure.
                eprintln!("{}", note());
                resume_unwind(payload)
            }
        }
    }
    last.unwrap_or_else(|| run_test(opts, f))
}
