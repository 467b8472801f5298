//! Seed sweeps: `#[netns_test(seeds = N)]` runs a body with N fault seeds,
//! stops at the first failure and prints its seed with the command that
//! replays it alone; that command fails the same way, and a seed the
//! sweep passed passes alone too.
#![cfg(feature = "wire")]

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use netns_test::__private::TestId;
use netns_test::{netns_test, Direction, Faults, Topology, SEEDS_ENV, SEED_ENV};

/// Set in the child only: the demo runs (and fails for some seeds).
const DEMO_ENV: &str = "NETNS_TEST_SWEEP_DEMO";

/// A client with a bug that shows under some loss patterns only: it
/// sends 10 numbered datagrams over a lossy wire link and assumes at most
/// two are lost.
#[netns_test(seeds = 20)]
fn demo_flaky_client() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let net = Topology::new()
        .host("client")
        .host("server")
        .wire("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
        .unwrap();
    let server = net
        .host("server")
        .run(|| UdpSocket::bind((Ipv4Addr::new(192, 0, 2, 2), 9000)))
        .unwrap()
        .unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let client = net
        .host("client")
        .run(|| UdpSocket::bind((Ipv4Addr::new(192, 0, 2, 1), 0)))
        .unwrap()
        .unwrap();
    client.connect((Ipv4Addr::new(192, 0, 2, 2), 9000)).unwrap();
    // Neighbours resolved before the faults: only the datagrams draw.
    client.send(b"warm-up").unwrap();
    let mut buf = [0u8; 64];
    server.recv(&mut buf).unwrap();
    let wire = net.wire("client", "eth0").unwrap();
    let _loss = wire.set(Direction::Out, Faults::new().loss(0.3)).unwrap();
    for i in 0..10u8 {
        client.send(&[b'd', i]).unwrap();
    }
    let mut got = 0;
    while server.recv(&mut buf).is_ok() {
        got += 1;
    }
    assert!(
        got >= 8,
        "the client's bug: {} of 10 datagrams lost",
        10 - got
    );
}

fn run(env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "demo_flaky_client", "--nocapture"])
        .env(DEMO_ENV, "1")
        .env_remove(SEED_ENV)
        .env_remove(SEEDS_ENV)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_sweep_finds_the_failing_seed_and_its_command_replays_it() {
    let (passed, text) = run(&[]);
    assert!(!passed, "no seed of 20 failed:\n{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("netns-test: seed sweep: run "))
        .unwrap_or_else(|| panic!("no sweep line:\n{text}"));
    // "run K of 20 failed with seed S; replay it alone with: NETNS_TEST_SEED=S cargo test NAME -- --exact"
    let words: Vec<&str> = line.split_whitespace().collect();
    let run_no: u32 = words[4].parse().unwrap();
    let seed = words[10].trim_end_matches(';');
    assert!(
        line.ends_with(&format!(
            "replay it alone with: NETNS_TEST_SEED={seed} cargo test demo_flaky_client -- --exact"
        )),
        "{line}"
    );
    let id = TestId::new("sweep", "demo_flaky_client");
    assert_eq!(seed, id.sweep_seed(run_no - 1).to_string(), "{line}");
    // The printed command fails the same way, every time.
    for _ in 0..3 {
        let (passed, replay) = run(&[(SEED_ENV, seed)]);
        assert!(!passed, "the replay of seed {seed} passed:\n{replay}");
        assert!(replay.contains("the client's bug"), "{replay}");
        assert!(!replay.contains("seed sweep"), "one run only:\n{replay}");
    }
    // A seed the sweep passed before it passes alone.
    if run_no > 1 {
        let good = id.sweep_seed(0).to_string();
        let (passed, again) = run(&[(SEED_ENV, &good)]);
        assert!(
            passed,
            "seed {good} passed in the sweep, not alone:\n{again}"
        );
    }
    // NETNS_TEST_SEEDS=1 turns the sweep into one run of the process seed.
    let (_, single) = run(&[(SEEDS_ENV, "1")]);
    assert!(!single.contains("seed sweep"), "{single}");
}
