//! The cost of a firewall change: `Network::firewall` + dropping its guard
//! (two `nft -f -` runs in the host, each spawned as `Netns::spawn` spawns
//! every program), next to its baseline measured in the same run:
//! `Netns::spawn` of `true` + wait, twice (the spawn path with a program
//! that does nothing), and the `nft` program alone from the benchmark's
//! thread (`nft -f -` with the same script, `Command::output`).
//!
//! Run as root, with nft installed: `cargo bench --features nftables
//! --bench nft`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use netns_test::{Network, Rule, Topology};

static NET: OnceLock<Network> = OnceLock::new();

fn main() {
    let net = Topology::new()
        .host("server")
        .build()
        .expect("Topology::build: run the benchmark as root");
    NET.get_or_init(|| net);
    divan::main();
}

fn net() -> &'static Network {
    NET.get().unwrap()
}

/// `Netns::spawn` of `true` and its wait, twice: the floor of two spawns.
#[divan::bench]
fn spawn_true_twice() {
    for _ in 0..2 {
        let p = net()
            .host("server")
            .spawn(&mut Command::new("true"))
            .unwrap();
        assert!(p.wait().unwrap().success());
    }
}

/// `nft -f -` with an empty table of ours, from the benchmark's thread in
/// the host (no spawner, no init, no log), twice.
#[divan::bench]
fn nft_command_twice() {
    net()
        .host("server")
        .run(|| {
            for _ in 0..2 {
                let mut child = Command::new("nft")
                    .args(["-f", "-"])
                    .stdin(Stdio::piped())
                    .spawn()
                    .expect("nft: apt-get install nftables");
                let script = "table inet netns_test {}\ndelete table inet netns_test\n";
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(script.as_bytes())
                    .unwrap();
                assert!(child.wait().unwrap().success());
            }
        })
        .unwrap();
}

/// A rule added and removed: two `nft` runs through the crate.
#[divan::bench]
fn firewall_add_and_remove() {
    let guard = net()
        .firewall("server", Rule::reject().tcp().port(8080))
        .unwrap();
    guard.remove().unwrap();
}
