//! The wire layer (layer 4, beside `process/`): links whose frames this
//! crate carries, with faults set on them (`Topology::wire`, `Wire`,
//! `Faults`), and packet capture of what a test's namespaces saw
//! (`capture`, with the `capture` feature). Above the network layer, below
//! test integration (ARCHITECTURE.md 1 and 2.10).

use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "capture")]
pub(crate) mod capture;
pub(crate) mod faults;
pub(crate) mod handle;
pub(crate) mod link;
pub(crate) mod model;
pub(crate) mod tap;

/// Whether a fault was set in this process, so a failing test's message
/// names the seed.
static SEEDS_USED: AtomicBool = AtomicBool::new(false);

pub(crate) fn seeds_used() {
    SEEDS_USED.store(true, Ordering::Relaxed);
}

/// What a failing test's message gets from this layer: the seed its faults
/// drew from (if it set any) and how to replay it.
pub(crate) fn failure_note() -> Option<String> {
    SEEDS_USED.load(Ordering::Relaxed).then(|| {
        let seed = faults::fault_seed();
        format!(
            "netns-test: link faults drew from seed {seed}; replay with {}={seed}",
            faults::SEED_ENV
        )
    })
}
