//! Replays that replay: a test that fails for some seeds under loss (or
//! delay with jitter) fails again when its seed is replayed, because a
//! frame's fate depends on the frame and the seed, not on when it came
//! (`src/wire/identity.rs`). For each fault: seeds 1 to 20 are run once,
//! then a failing seed and a passing seed are replayed 10 times each.
//!
//! The test: 5 request/response exchanges over TCP between two hosts joined
//! by a wire link, each on a new connection, each of which must finish
//! within a deadline (a lost SYN waits a second for its retransmission).
//!
//! Run as root (or rootless): `cargo bench --features wire --bench replay`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use netns_test::{Direction, Faults, Topology};

const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PORT: u16 = 8000;
const EXCHANGES: usize = 5;

/// One run of the test with `faults` (seeded): whether it failed.
fn failed(faults: &Faults, deadline: Duration) -> bool {
    let net = Topology::new()
        .host("client")
        .host("server")
        .wire("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
        .expect("build the topology: run as root, or rootless");
    let listener = net
        .host("server")
        .run(|| TcpListener::bind((SERVER, PORT)))
        .unwrap()
        .unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            let _ = conn.set_nonblocking(false);
            let _ = conn.set_read_timeout(Some(Duration::from_millis(800)));
            let mut request = [0u8; 600];
            if conn.read_exact(&mut request).is_ok() {
                let _ = conn.write_all(&[7u8; 3000]);
            }
        }
    });
    let wire = net.wire("client", "eth0").unwrap();
    let _faults = wire.set(Direction::Both, faults.clone()).unwrap();
    let ok = net
        .host("client")
        .run(move || {
            let to = SocketAddr::from((SERVER, PORT));
            (0..EXCHANGES).all(|_| {
                let start = Instant::now();
                let Ok(mut conn) = TcpStream::connect_timeout(&to, deadline) else {
                    return false;
                };
                let left = deadline
                    .saturating_sub(start.elapsed())
                    .max(Duration::from_millis(1));
                conn.set_read_timeout(Some(left)).unwrap();
                let mut response = [0u8; 3000];
                conn.write_all(&[1u8; 600]).is_ok()
                    && conn.read_exact(&mut response).is_ok()
                    && start.elapsed() <= deadline
            })
        })
        .unwrap();
    drop(_faults);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = server.join();
    !ok
}

fn measure(name: &str, faults: impl Fn(u64) -> Faults, deadline: Duration) {
    let runs: Vec<(u64, bool)> = (1..=20)
        .map(|seed| (seed, failed(&faults(seed), deadline)))
        .collect();
    let failing: Vec<u64> = runs.iter().filter(|r| r.1).map(|r| r.0).collect();
    println!("{name}: seeds 1-20, failing: {failing:?}");
    let replay = |seed: u64| (0..10).filter(|_| failed(&faults(seed), deadline)).count();
    match runs.iter().find(|r| r.1) {
        Some(&(seed, _)) => println!(
            "  failing seed {seed}: {} of 10 replays fail (goal: at least 9)",
            replay(seed)
        ),
        None => println!("  no seed failed"),
    }
    match runs.iter().find(|r| !r.1) {
        Some(&(seed, _)) => println!(
            "  passing seed {seed}: {} of 10 replays pass",
            10 - replay(seed)
        ),
        None => println!("  no seed passed"),
    }
}

fn main() {
    // libtest's `--bench` and filters are accepted and ignored.
    measure(
        "loss 10%, deadline 500 ms per exchange",
        |seed| Faults::new().loss(0.10).seed(seed),
        Duration::from_millis(500),
    );
    measure(
        "delay 20 ms with 15 ms jitter, deadline 130 ms per exchange",
        |seed| {
            Faults::new()
                .delay(Duration::from_millis(20))
                .jitter(Duration::from_millis(15))
                .seed(seed)
        },
        Duration::from_millis(130),
    );
}
