//! What `NETNS_TEST_CAPTURE` costs a test: an anonymous `#[netns_test]` and
//! a test in a built suite fixture (three hosts, seven links), each with
//! capture off, `=failed` (the test passes: nothing is written) and `=all`
//! (a file per test), measured in the same run, in interleaved rounds so a
//! busy machine moves every figure alike.
//!
//! Run as root (or rootless): `cargo bench --features capture --bench capture`.
//! `NETNS_TEST_BENCH_ROUNDS=N` changes the number of rounds (default 10, of
//! 50 tests each).

use std::time::{Duration, Instant};

use netns_test::__private::{run_test, TestOptions};
use netns_test::{Fixture, Network, Topology};

static LAB: Fixture<Network> = Fixture::new("nt-bench-capture", || {
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
        .build()
});

/// The mean cost of `n` tests run one after another.
fn per_test(n: u32, opts: TestOptions) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        run_test::<(), _>(opts, || {});
    }
    start.elapsed() / n
}

fn set_mode(mode: &str) {
    // SAFETY (edition 2021: safe): one thread runs here.
    std::env::set_var("NETNS_TEST_CAPTURE", mode);
    netns_test::__private::reload_settings();
}

/// How many fds this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // once, quickly, as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("NETNS_TEST_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10 } else { 1 });
    let n = if full { 50 } else { 3 };
    let dir =
        std::env::temp_dir().join(format!("netns-test-bench-captures-{}", std::process::id()));
    std::env::set_var("NETNS_TEST_CAPTURE_DIR", &dir);
    LAB.get()
        .expect("build the fixture: run as root, or rootless");
    let fixture = TestOptions {
        fixture: Some(&LAB),
        host: Some("client"),
        ..Default::default()
    };
    let kinds = [("anonymous", TestOptions::default()), ("fixture", fixture)];
    let modes = ["off", "failed", "all"];
    // [kind][mode] -> per-round means.
    let mut got = vec![vec![Vec::new(); modes.len()]; kinds.len()];
    let mut tails = vec![Vec::new(); modes.len()];
    for _ in 0..rounds {
        for (k, (_, opts)) in kinds.iter().enumerate() {
            for (m, mode) in modes.iter().enumerate() {
                set_mode(mode);
                let fds = open_fds();
                got[k][m].push(per_test(n, *opts));
                // Capture sockets close off the tests' path: how long after
                // the block the last one is closed.
                let end = Instant::now();
                while open_fds() > fds && end.elapsed() < Duration::from_secs(5) {
                    std::thread::sleep(Duration::from_micros(500));
                }
                tails[m].push(end.elapsed());
                // What the block left behind (namespaces going away)
                // settles before the next one.
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    set_mode("off");
    let _ = std::fs::remove_dir_all(&dir);
    println!("per-test cost, median of {rounds} rounds of the mean of {n} tests");
    println!(
        "  {:<10} {:>10} {:>10} {:>10}",
        "test", "off", "=failed", "=all"
    );
    for (k, (kind, _)) in kinds.iter().enumerate() {
        let m: Vec<Duration> = got[k].iter_mut().map(|v| median(v)).collect();
        println!(
            "  {kind:<10} {:>7.0} us {:>7.0} us {:>7.0} us   (=failed {:+.0} us, =all {:.1}x off)",
            m[0].as_secs_f64() * 1e6,
            m[1].as_secs_f64() * 1e6,
            m[2].as_secs_f64() * 1e6,
            (m[1].as_secs_f64() - m[0].as_secs_f64()) * 1e6,
            m[2].as_secs_f64() / m[0].as_secs_f64(),
        );
    }
    let t: Vec<Duration> = tails.iter_mut().map(|v| median(v)).collect();
    println!(
        "  last capture socket closed after a block, median: {:.1} ms | {:.1} ms | {:.1} ms",
        t[0].as_secs_f64() * 1e3,
        t[1].as_secs_f64() * 1e3,
        t[2].as_secs_f64() * 1e3
    );
}
