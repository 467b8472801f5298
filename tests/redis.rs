//! Process faults on a real replicated store: a redis primary and its
//! replica in two hosts. Paused, the primary stops answering and the
//! replica's link to it goes down; resumed, the link comes back. Crashed
//! and restarted, the primary answers again and the replica resyncs.
//! Needs redis-server and redis-cli (`.ci/run` installs them).

use std::process::Command;
use std::time::{Duration, Instant};

use netns_test::{netns_test, Network, Process, Ready, Topology};

fn lab() -> Network {
    Topology::new()
        .host("primary")
        .host("replica")
        .link("primary", "eth0", "replica", "eth0")
        .addr("primary", "eth0", "192.0.2.1/24")
        .addr("replica", "eth0", "192.0.2.2/24")
        .build()
        .unwrap()
}

/// A directory removed when dropped.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn redis(net: &Network, host: &str, args: &[&str]) -> (Process, Dir) {
    // A directory of its own for each server (a replica writes the
    // primary's snapshot there).
    let dir = std::env::temp_dir().join(format!(
        "netns-test-redis-{}-{host}-{}",
        std::process::id(),
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let process = net
        .host(host)
        .spawn(
            Command::new("redis-server")
                .args(["--port", "6379", "--save", "", "--appendonly", "no"])
                .args(["--protected-mode", "no"])
                .args(["--repl-timeout", "2", "--repl-ping-replica-period", "1"])
                .args([
                    "--repl-diskless-sync",
                    "yes",
                    "--repl-diskless-sync-delay",
                    "0",
                ])
                .args(["--dir"])
                .arg(&dir)
                .args(args),
        )
        .unwrap();
    process.wait_tcp(6379, Duration::from_secs(10)).unwrap();
    (process, Dir(dir))
}

/// `redis-cli` in `host` against the server at `addr`: its output.
fn cli(net: &Network, host: &str, addr: &str, args: &[&str]) -> String {
    let out = net
        .host(host)
        .spawn(
            Command::new("redis-cli")
                .args(["-h", addr, "-p", "6379"])
                .args(args),
        )
        .unwrap();
    let _ = out.wait();
    std::fs::read_to_string(out.log_path()).unwrap_or_default()
}

fn link_status(net: &Network) -> String {
    cli(net, "replica", "192.0.2.2", &["info", "replication"])
        .lines()
        .find_map(|l| l.strip_prefix("master_link_status:"))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Waits until the replica's link to the primary is `want`.
fn link_becomes(net: &Network, want: &str, within: Duration) {
    let start = Instant::now();
    while link_status(net) != want {
        assert!(
            start.elapsed() < within,
            "master_link_status never became {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn have_redis() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        eprintln!(
            "skipped: redis-server is not installed (apt-get install redis-server redis-tools)"
        );
    }
    found
}

#[netns_test]
fn a_paused_primary_drops_the_replicas_link_and_resume_brings_it_back() {
    if !have_redis() {
        return;
    }
    let net = lab();
    let (primary, _primary_dir) = redis(&net, "primary", &[]);
    let (_replica, _replica_dir) = redis(&net, "replica", &["--replicaof", "192.0.2.1", "6379"]);
    link_becomes(&net, "up", Duration::from_secs(15));
    assert!(cli(&net, "replica", "192.0.2.1", &["set", "k", "v1"]).contains("OK"));

    let paused = primary.pause().unwrap();
    link_becomes(&net, "down", Duration::from_secs(15));
    drop(paused);
    link_becomes(&net, "up", Duration::from_secs(15));
    assert!(cli(&net, "replica", "192.0.2.2", &["get", "k"]).contains("v1"));
}

#[netns_test]
fn a_crashed_primary_restarts_and_the_replica_resyncs() {
    if !have_redis() {
        return;
    }
    let net = lab();
    let (primary, _primary_dir) = redis(&net, "primary", &[]);
    let (_replica, _replica_dir) = redis(&net, "replica", &["--replicaof", "192.0.2.1", "6379"]);
    link_becomes(&net, "up", Duration::from_secs(15));
    let old = primary.pid();
    let status = primary.crash().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(!std::path::Path::new(&format!("/proc/{old}")).exists() || old != primary.pid());
    link_becomes(&net, "down", Duration::from_secs(15));
    let new = primary.restart().unwrap();
    assert_ne!(new, old);
    primary
        .wait_until(
            Ready::command({
                let mut ping = Command::new("redis-cli");
                ping.args(["-h", "192.0.2.1", "ping"]);
                ping
            }),
            Duration::from_secs(10),
        )
        .unwrap();
    link_becomes(&net, "up", Duration::from_secs(15));
    assert!(cli(&net, "replica", "192.0.2.1", &["set", "after", "restart"]).contains("OK"));
    let start = Instant::now();
    while !cli(&net, "replica", "192.0.2.2", &["get", "after"]).contains("restart") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the write never reached the replica"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
