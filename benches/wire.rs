//! Wire links, measured: how close the faults come to what was asked
//! (accuracy), and what carrying frames through the crate costs against the
//! kernel's veth fast path, and capture on against off (cost), each beside
//! its baseline in the same run.
//!
//! Run as root (or rootless): `cargo bench --features capture --bench wire`.
//! `NETNS_TEST_BENCH_ECHOES=N` changes the number of UDP echoes per delay
//! (default 1000: about 2.5 minutes for the two delays).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use netns_test::__private::{run_test, TestOptions};
use netns_test::{Direction, Faults, Network, Topology};

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn pair(wire: bool) -> Network {
    let t = Topology::new().host("client").host("server");
    let t = if wire {
        t.wire("client", "eth0", "server", "eth0")
    } else {
        t.link("client", "eth0", "server", "eth0")
    };
    t.addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
        .expect("build the topology: run as root, or rootless")
}

fn udp(net: &Network, host: &str, addr: Ipv4Addr, port: u16) -> UdpSocket {
    net.host(host)
        .run(move || UdpSocket::bind((addr, port)))
        .unwrap()
        .unwrap()
}

/// Median round trip of `n` UDP echoes.
fn median_rtt(net: &Network, n: usize) -> Duration {
    let server = udp(net, "server", SERVER, 7);
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..n {
            let (len, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..len], from).unwrap();
        }
    });
    let client = udp(net, "client", CLIENT, 0);
    client.connect((SERVER, 7)).unwrap();
    let mut buf = [0u8; 64];
    let mut rtts = Vec::with_capacity(n);
    for i in 0..n as u32 {
        let t = Instant::now();
        client.send(&i.to_be_bytes()).unwrap();
        client.recv(&mut buf).unwrap();
        rtts.push(t.elapsed());
    }
    echo.join().unwrap();
    rtts.sort();
    rtts[n / 2]
}

/// Datagrams received of `n` sent one way, paced so no socket buffer
/// overflows.
fn received_of(net: &Network, n: u32) -> u32 {
    let server = udp(net, "server", SERVER, 9);
    server
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let client = udp(net, "client", CLIENT, 0);
    client.connect((SERVER, 9)).unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut got = 0;
        while server.recv(&mut buf).is_ok() {
            got += 1;
        }
        got
    });
    for i in 0..n {
        client.send(&i.to_be_bytes()).unwrap();
        if i % 64 == 0 {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    counter.join().unwrap()
}

/// TCP goodput client -> server in bits/s: `bytes` sent, or as many as
/// `limit` allows.
fn tcp_goodput(net: &Network, port: u16, limit: Duration) -> f64 {
    let listener = net
        .host("server")
        .run(move || TcpListener::bind((SERVER, port)))
        .unwrap()
        .unwrap();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        let start = Instant::now();
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        (total, start.elapsed())
    });
    let mut conn = net
        .host("client")
        .run(move || TcpStream::connect((SERVER, port)))
        .unwrap()
        .unwrap();
    let chunk = vec![7u8; 1 << 16];
    let start = Instant::now();
    while start.elapsed() < limit {
        conn.write_all(&chunk).unwrap();
    }
    drop(conn);
    let (bytes, took) = reader.join().unwrap();
    bytes as f64 * 8.0 / took.as_secs_f64()
}

/// Small UDP datagrams per second that arrive, one way, flooding for `for_`.
fn packets_per_sec(net: &Network, for_: Duration) -> f64 {
    let server = udp(net, "server", SERVER, 10);
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let client = udp(net, "client", CLIENT, 0);
    client.connect((SERVER, 10)).unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut got = 0u64;
        let mut first = None;
        let mut last = Instant::now();
        while server.recv(&mut buf).is_ok() {
            first.get_or_insert_with(Instant::now);
            last = Instant::now();
            got += 1;
        }
        got as f64 / (last - first.unwrap_or(last)).as_secs_f64().max(1e-9)
    });
    let start = Instant::now();
    while start.elapsed() < for_ {
        let _ = client.send(&[0u8; 18]);
    }
    counter.join().unwrap()
}

fn per_test_cost(n: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        run_test::<(), _>(TestOptions::default(), || {});
    }
    start.elapsed() / n
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // once, quickly, as a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let scale = |n: usize| if full { n } else { (n / 100).max(5) };
    let secs = |s: u64| {
        if full {
            Duration::from_secs(s)
        } else {
            Duration::from_millis(200)
        }
    };
    let echoes: usize = std::env::var("NETNS_TEST_BENCH_ECHOES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(scale(1000));
    println!("accuracy (asked -> measured)");
    for delay_ms in [20u64, 50] {
        let net = pair(true);
        let wire = net.wire("client", "eth0").unwrap();
        let _f = wire
            .set(
                Direction::Both,
                Faults::new()
                    .delay(Duration::from_millis(delay_ms))
                    .jitter(Duration::from_millis(5))
                    .seed(1),
            )
            .unwrap();
        let rtt = median_rtt(&net, echoes);
        println!(
            "  delay {delay_ms} ms +-5 ms each way, {echoes} UDP echoes: median RTT {:.2} ms (2x delay = {} ms, off by {:+.2} ms)",
            rtt.as_secs_f64() * 1e3,
            2 * delay_ms,
            rtt.as_secs_f64() * 1e3 - 2.0 * delay_ms as f64
        );
    }
    {
        let net = pair(true);
        let wire = net.wire("client", "eth0").unwrap();
        let _f = wire
            .set(Direction::Out, Faults::new().loss(0.1).seed(1))
            .unwrap();
        let n = scale(10_000) as u32;
        let got = received_of(&net, n);
        let lost = f64::from(n - got) / f64::from(n) * 100.0;
        println!("  loss 10%, {n} UDP datagrams: {lost:.2}% lost");
    }
    {
        let net = pair(true);
        let wire = net.wire("client", "eth0").unwrap();
        let _f = wire
            .set(
                Direction::Out,
                Faults::new().rate_bits_per_sec(10_000_000).seed(1),
            )
            .unwrap();
        let bps = tcp_goodput(&net, 5001, secs(5));
        println!(
            "  rate 10 Mbit/s: TCP goodput {:.2} Mbit/s ({:+.1}%; payload of full frames is 1448/1514 = 95.6% of the line rate)",
            bps / 1e6,
            (bps / 1e7 - 1.0) * 100.0
        );
    }
    println!("cost (wire link without faults | plain veth, same run)");
    let (wire, plain) = (pair(true), pair(false));
    let pps = [&wire, &plain].map(|n| packets_per_sec(n, secs(2)));
    println!("  UDP 18-byte datagrams/s: {:.0} | {:.0}", pps[0], pps[1]);
    let tcp = [(&wire, 5002), (&plain, 5003)].map(|(n, port)| tcp_goodput(n, port, secs(3)));
    println!(
        "  TCP goodput: {:.0} Mbit/s | {:.0} Mbit/s (the veth with its offloads on)",
        tcp[0] / 1e6,
        tcp[1] / 1e6
    );
    drop((wire, plain));
    let n = scale(200) as u32;
    // SAFETY (edition 2021: safe): one thread runs here.
    std::env::remove_var("NETNS_TEST_CAPTURE");
    netns_test::__private::reload_settings();
    let off = per_test_cost(n);
    std::env::set_var("NETNS_TEST_CAPTURE", "all");
    std::env::set_var(
        "NETNS_TEST_CAPTURE_DIR",
        std::env::temp_dir().join("netns-test-bench-captures"),
    );
    netns_test::__private::reload_settings();
    let on = per_test_cost(n);
    std::env::remove_var("NETNS_TEST_CAPTURE");
    netns_test::__private::reload_settings();
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("netns-test-bench-captures"));
    println!(
        "  anonymous #[netns_test], mean of {n}: capture=all {:.0} us | off {:.0} us",
        on.as_secs_f64() * 1e6,
        off.as_secs_f64() * 1e6
    );
}
