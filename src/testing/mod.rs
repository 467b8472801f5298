//! The test-integration layer: the runner that `#[netns_test]` expands to,
//! suite fixtures, and the `main!()` harness (ARCHITECTURE.md 1).

pub(crate) mod failure;
pub(crate) mod fixture;
#[cfg(feature = "harness")]
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
pub mod harness;
pub(crate) mod runner;
pub(crate) mod runtime;
pub(crate) mod teardown;
