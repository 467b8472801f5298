//! `#[netns_test]`s under the `main!()` harness that tests/crash.rs kills at
//! the crash points and runs again (needs the `__crash-points` feature).
//! Every test is `#[ignore]`d: it runs only when tests/crash.rs asks for it
//! (`--ignored`), so that no other run makes these names meanwhile.
//!
//! The fixture's hosts are named namespaces, `nt-crash-fx-PID-HOST`: built
//! before the first test, removed by the harness after the last one.

mod common;

use netns_test::{netns_test, Fixture, Network, Topology};

static LAB: Fixture<Network> = Fixture::new("nt-crash-lab", || {
    Topology::new()
        .host("a")
        .host("b")
        .link("a", "eth0", "b", "eth0")
        .addr("a", "eth0", "192.0.2.1/24")
        .addr("b", "eth0", "192.0.2.2/24")
        .named("nt-crash-fx")
        .build()
});

/// The namespace the test runs in is the host's, made by this process (its
/// owner record says so): not a leftover of a killed run, joined.
fn runs_in_own_host(host: &str) {
    let lab = LAB.get().unwrap();
    let name = lab.host(host).name().unwrap().to_owned();
    assert_eq!(name, format!("nt-crash-fx-{}-{host}", std::process::id()));
    let record = std::fs::read_to_string(common::owner_record(&name)).unwrap();
    assert!(
        record.contains(&format!(" pid={} ", std::process::id())),
        "{record}"
    );
    assert_eq!(
        common::inode_of(netns_test::RunDir::get().path().join(&name)),
        common::thread_netns_inode()
    );
}

#[netns_test(fixture = LAB, host = "a")]
#[ignore = "run by tests/crash.rs"]
fn fixture_host_a() {
    runs_in_own_host("a");
    std::net::TcpListener::bind("192.0.2.1:7100").unwrap();
}

#[netns_test(fixture = LAB, host = "b", exclusive)]
#[ignore = "run by tests/crash.rs"]
fn fixture_host_b_exclusive() {
    runs_in_own_host("b");
}

#[netns_test(name = "nt-crash-hnamed")]
#[ignore = "run by tests/crash.rs"]
fn named_under_the_harness() {
    let record = std::fs::read_to_string(common::owner_record("nt-crash-hnamed")).unwrap();
    assert!(
        record.contains(&format!(" pid={} ", std::process::id())),
        "{record}"
    );
}

netns_test::main!();
