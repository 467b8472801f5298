//! Wire links under load: eight links with 20 ms delay each way, UDP echoes
//! on all of them at once, with both cores idle (the baseline, same run)
//! and with a busy loop on each core: how far the median round trip moves
//! from the 40 ms asked.
//!
//! Run as root (or rootless): `cargo bench --features wire --bench wire_load`.
//! `NETNS_TEST_BENCH_ECHOES=N` changes the number of echoes per link
//! (default 1000: about 40 s for each of the two runs).

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use netns_test::{Direction, Faults, Network, Topology};

const LINKS: u8 = 8;
const DELAY: Duration = Duration::from_millis(20);

fn network() -> Network {
    let mut t = Topology::new();
    for i in 0..LINKS {
        let (c, s) = (format!("c{i}"), format!("s{i}"));
        t = t
            .host(&c)
            .host(&s)
            .wire(&c, "eth0", &s, "eth0")
            .addr(&c, "eth0", &format!("10.0.{i}.1/24"))
            .addr(&s, "eth0", &format!("10.0.{i}.2/24"));
    }
    t.build()
        .expect("build the topology: run as root, or rootless")
}

/// The median round trip of `n` echoes on each link, all links at once.
fn median_rtts(net: &Network, n: usize) -> Vec<Duration> {
    let threads: Vec<_> = (0..LINKS)
        .map(|i| {
            let server = net
                .host(&format!("s{i}"))
                .run(move || UdpSocket::bind((Ipv4Addr::new(10, 0, i, 2), 7)))
                .unwrap()
                .unwrap();
            let client = net
                .host(&format!("c{i}"))
                .run(move || UdpSocket::bind((Ipv4Addr::new(10, 0, i, 1), 0)))
                .unwrap()
                .unwrap();
            let echo = std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                for _ in 0..n {
                    let (len, from) = server.recv_from(&mut buf).unwrap();
                    server.send_to(&buf[..len], from).unwrap();
                }
            });
            std::thread::spawn(move || {
                client.connect((Ipv4Addr::new(10, 0, i, 2), 7)).unwrap();
                let mut buf = [0u8; 64];
                let mut rtts = Vec::with_capacity(n);
                for k in 0..n as u32 {
                    let t = Instant::now();
                    client.send(&k.to_be_bytes()).unwrap();
                    client.recv(&mut buf).unwrap();
                    rtts.push(t.elapsed());
                }
                echo.join().unwrap();
                rtts.sort();
                rtts[n / 2]
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn report(what: &str, rtts: &[Duration]) {
    let ms: Vec<String> = rtts
        .iter()
        .map(|d| format!("{:.2}", d.as_secs_f64() * 1e3))
        .collect();
    let worst = rtts
        .iter()
        .map(|d| (d.as_secs_f64() * 1e3 - 40.0).abs())
        .fold(0.0, f64::max);
    println!(
        "  {what}: median RTT per link (ms) {}; farthest from 40 ms: {worst:.2} ms",
        ms.join(" ")
    );
}

/// Set in the busy-loop children: they spin until killed.
const SPIN_ENV: &str = "NETNS_TEST_BENCH_SPIN";

fn main() {
    if std::env::var_os(SPIN_ENV).is_some() {
        let mut x = 0u64;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // once, quickly, as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("NETNS_TEST_BENCH_ECHOES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1000 } else { 10 });
    let net = network();
    for i in 0..LINKS {
        let wire = net.wire(&format!("c{i}"), "eth0").unwrap();
        // Kept for the whole run: the guard undoes the faults when dropped.
        std::mem::forget(
            wire.set(Direction::Both, Faults::new().delay(DELAY))
                .unwrap(),
        );
    }
    println!("{LINKS} wire links, delay 20 ms each way, {n} UDP echoes on each at once");
    report("idle", &median_rtts(&net, n));
    // Busy loops in processes of their own, as other programs on the
    // machine would be (this binary again, spinning).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut busy: Vec<_> = (0..cores)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .env(SPIN_ENV, "1")
                .spawn()
                .unwrap()
        })
        .collect();
    report(
        &format!("a busy loop on each of {cores} cores"),
        &median_rtts(&net, n),
    );
    for mut b in busy.drain(..) {
        b.kill().unwrap();
        b.wait().unwrap();
    }
}
