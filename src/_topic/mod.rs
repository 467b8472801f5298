//! Topics: the reference of netns-test, one page a topic, beside the API.
//!
//! The README is the front door (what the crate is, installing it, one
//! example of each kind, running the tests as root, through `sudo -E`,
//! rootless and under cargo-nextest); these pages are the rest. Their
//! examples are compiled and run as doc tests, as root in CI.
//!
//! | topic | what |
//! | --- | --- |
//! | [`attribute`] | `#[netns_test]`: threads, return values, panics, `async fn`, named namespaces, options |
//! | [`composition`] | with other test attributes: tokio, serial_test, test-log, rstest, proptest |
//! | [`harness`] | `main!()` (feature `harness`): a test that cannot run is ignored, with the reason |
//! | [`nextest`] | cargo-nextest: a process per test, partitions |
//! | [`rootless`] | no root at all: a user namespace entered before `main` |
//! | [`netns`] | the library: `Netns`, the run directory, counters and which views follow the thread |
//! | [`topology`] | topologies and suite fixtures, and what fixtures tear down |
//! | [`services`] | processes in a namespace: stopping, faults (pause, crash, restart, signals), readiness, logs, no orphans (an init per program) |
//! | [`faults_and_capture`] | wire links with seeded faults (feature `wire`) and pcapng capture (feature `capture`) |
//! | [`firewalls`] | per-host firewalls and NAT routers over `nft` (feature `nftables`): rules, mappings, port forwards, hairpinning |
//! | [`failures`] | when a test fails: its namespace's state, and the namespace kept |
//! | [`cli`] | the `setns` CLI (feature `cli`) |
//! | [`decisions`] | decisions a user should know: threads, anonymous namespaces, after a crash, `/run/netns` |
//! | [`settings`] | every `NETNS_TEST_*` environment variable, its values and its default |
//! | [`files`] | per-test files: a test's identity, its directory (logs, capture), who can read them |
//!
//! This module holds documentation only: no item of the API lives here.

#[doc = include_str!("attribute.md")]
pub mod attribute {}

// Its proptest example writes `#[test]` inside `proptest!`, as proptest's
// users do; the doc test compiles it, and rustdoc runs no unit test.
#[doc = include_str!("composition.md")]
#[allow(clippy::test_attr_in_doctest)]
pub mod composition {}

#[doc = include_str!("harness.md")]
pub mod harness {}

#[doc = include_str!("nextest.md")]
pub mod nextest {}

#[doc = include_str!("rootless.md")]
pub mod rootless {}

#[doc = include_str!("netns.md")]
pub mod netns {}

#[doc = include_str!("topology.md")]
pub mod topology {}

#[doc = include_str!("services.md")]
pub mod services {}

#[doc = include_str!("faults_and_capture.md")]
pub mod faults_and_capture {}

#[doc = include_str!("firewalls.md")]
pub mod firewalls {}

#[doc = include_str!("failures.md")]
pub mod failures {}

#[doc = include_str!("cli.md")]
pub mod cli {}

#[doc = include_str!("files.md")]
pub mod files {}

#[doc = include_str!("decisions.md")]
pub mod decisions {}

#[doc = include_str!("settings.md")]
pub mod settings {}
