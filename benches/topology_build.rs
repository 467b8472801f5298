//! Cost of topologies and suite fixtures, next to the core per-test cost
//! measured in the same run.
//!
//! Run as root: `cargo bench --bench topology_build`.

use netns_test::__private::{run_test, TestOptions};
use netns_test::{Fixture, Network, Topology};

fn main() {
    divan::main();
}

fn three_hosts() -> Topology {
    Topology::new()
        .host("client")
        .router("router")
        .host("server")
        .link("client", "eth0", "router", "eth0")
        .link("router", "eth1", "server", "eth0")
        .addr("client", "eth0", "192.0.2.2/24")
        .addr("router", "eth0", "192.0.2.1/24")
        .addr("router", "eth1", "198.51.100.1/24")
        .addr("server", "eth0", "198.51.100.2/24")
        .route("client", "default", "192.0.2.1")
        .route("server", "default", "198.51.100.1")
}

/// Build and tear down client -- router -- server (anonymous hosts).
#[divan::bench(sample_count = 30)]
fn build_and_drop_3_hosts() {
    drop(three_hosts().build().unwrap());
}

/// The same with named hosts (bind mounts in /run/netns).
#[divan::bench(sample_count = 30)]
fn build_and_drop_3_named_hosts() {
    drop(three_hosts().named("nt-bench").build().unwrap());
}

static LAB: Fixture<Network> = Fixture::new("nt-bench-lab", || three_hosts().build());

/// Per-test cost of `#[netns_test(fixture = LAB, host = "client")]` once the
/// fixture is built: lock, thread, setns, join.
#[divan::bench]
fn test_in_built_fixture(bencher: divan::Bencher) {
    LAB.get().unwrap();
    let opts = TestOptions {
        fixture: Some(&LAB),
        host: Some("client"),
        ..Default::default()
    };
    bencher.bench(|| run_test(opts, || {}));
}

/// Per-test cost of plain `#[netns_test]`, for comparison.
#[divan::bench]
fn test_in_new_namespace() {
    run_test(TestOptions::default(), || {});
}
