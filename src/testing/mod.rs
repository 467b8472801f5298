//! The test-integration layer: the runner that `#[netns_test]` expands to,
//! suite fixtures, and the `main!()` harness (ARCHITECTURE.md, "Layers").

pub(crate) mod fixture;
pub mod harness;
pub(crate) mod runner;
pub(crate) mod runtime;
