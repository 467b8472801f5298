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

/// A star: 200 hosts, each linked to one router (`eth0` .. `eth199`), each
/// with an address: divide by 200 for the cost per host.
#[divan::bench(sample_count = 5)]
fn build_and_drop_star_of_200_hosts() {
    let mut t = Topology::new().router("router");
    for i in 0..200u32 {
        let host = format!("h{i}");
        let (hi, lo) = (i / 100, i % 100);
        t = t
            .host(&host)
            .link(&host, "eth0", "router", &format!("eth{i}"))
            .addr(&host, "eth0", &format!("10.{hi}.{lo}.2/24"))
            .addr("router", &format!("eth{i}"), &format!("10.{hi}.{lo}.1/24"));
    }
    drop(t.build().unwrap());
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

static NAMED_LAB: Fixture<Network> = Fixture::new("nt-bench-names", || three_hosts().build());

/// `Netns::run` of an empty closure in a host of a network: the thread
/// also unshares a mount namespace and binds the network's hosts file,
/// resolv.conf and nsswitch.conf over /etc.
#[divan::bench]
fn run_in_a_network_host(bencher: divan::Bencher) {
    let client = NAMED_LAB.get().unwrap().host("client");
    bencher.bench(|| client.run(|| {}).unwrap());
}

/// `Netns::run` of an empty closure in a plain namespace: no mount work.
#[divan::bench]
fn run_in_a_plain_namespace(bencher: divan::Bencher) {
    let ns = netns_test::Netns::new().unwrap();
    bencher.bench(|| ns.run(|| {}).unwrap());
}

/// `getaddrinfo("server")` from a `run` thread of a host (the thread's
/// cost included): what a test pays to reach a host by name.
#[divan::bench]
fn resolve_by_name_in_a_network_host(bencher: divan::Bencher) {
    use std::net::ToSocketAddrs;
    let client = NAMED_LAB.get().unwrap().host("client");
    bencher.bench(|| {
        client
            .run(|| ("server", 80).to_socket_addrs().unwrap().count())
            .unwrap()
    });
}
