//! Wire links and their faults, over real traffic: a TCP transfer through
//! loss, a partition and its heal, delay in measured round trips, the same
//! drops from the same seed, bad input refused.
#![cfg(feature = "wire")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use netns_test::{netns_test, Direction, Error, Faults, Network, Topology, SEED_ENV};

mod common;

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// Sends `len` bytes from client to server over TCP port `port`; returns
/// what the server read.
fn transfer(net: &Network, port: u16, len: usize) -> usize {
    let listener = net
        .host("server")
        .run(move || TcpListener::bind((SERVER, port)))
        .unwrap()
        .unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        got.len()
    });
    let mut conn = net
        .host("client")
        .run(move || TcpStream::connect((SERVER, port)))
        .unwrap()
        .unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    conn.write_all(&data).unwrap();
    drop(conn);
    server.join().unwrap()
}

#[test]
fn a_wire_link_carries_tcp_like_a_plain_link() {
    let net = common::wire_pair();
    assert_eq!(transfer(&net, 8080, 1 << 20), 1 << 20);
    let wire = net.wire("client", "eth0").unwrap();
    let out = wire.stats(Direction::Out);
    // Offloads are off: a megabyte is hundreds of real frames, not a few
    // 64 KiB super-frames.
    assert!(out.frames > 700, "{out:?}");
    assert_eq!(out.frames, out.delivered);
    assert_eq!(wire.ends(), ("client/eth0", "server/eth0"));
    assert_eq!(net.wire("server", "eth0").unwrap().ends().0, "server/eth0");
}

#[test]
fn tcp_completes_under_ten_percent_loss() {
    let net = common::wire_pair();
    #[cfg(feature = "capture")]
    let capture = {
        let capture = netns_test::Capture::new().unwrap();
        capture.network(&net).unwrap();
        capture
    };
    let wire = net.wire("client", "eth0").unwrap();
    // Neighbours resolved first: three lost ARP exchanges in a row would
    // fail the connect (EHOSTUNREACH) before TCP gets to retransmit.
    assert_eq!(transfer(&net, 8089, 1), 1);
    let _loss = wire
        .set(Direction::Both, Faults::new().loss(0.1).seed(1))
        .unwrap();
    assert_eq!(transfer(&net, 8081, 200_000), 200_000);
    let stats = wire.stats(Direction::Both);
    assert!(stats.lost > 0, "{stats:?}");
    // The wire's capture shows the client sending some data segments twice.
    #[cfg(feature = "capture")]
    {
        let path =
            std::env::temp_dir().join(format!("netns-test-loss-{}.pcapng", std::process::id()));
        capture.write_pcapng(&path).unwrap();
        let retransmitted = retransmissions(&path, "client/eth0", 8081);
        std::fs::remove_file(&path).unwrap();
        assert!(retransmitted > 0, "no retransmission in the capture");
    }
}

/// Data segments sent more than once by `iface` to TCP port `port`, counted
/// by sequence number, in a pcapng file.
#[cfg(feature = "capture")]
fn retransmissions(path: &std::path::Path, iface: &str, port: u16) -> usize {
    let (_, packets) = common::read_pcapng(path);
    let mut seen = std::collections::HashMap::<u32, usize>::new();
    for packet in packets.iter().filter(|p| p.iface == iface) {
        let frame = &packet.data;
        if frame.len() < 54 || frame[12..14] != [8, 0] || frame[14 + 9] != 6 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..];
        let data_len = total - ihl - usize::from(tcp[12] >> 4) * 4;
        if u16::from_be_bytes([tcp[2], tcp[3]]) != port || data_len == 0 {
            continue;
        }
        let seq = u32::from_be_bytes(tcp[4..8].try_into().unwrap());
        *seen.entry(seq).or_default() += 1;
    }
    seen.values().filter(|n| **n > 1).count()
}

#[test]
fn a_partition_times_connect_out_and_heal_lets_it_through() {
    let net = common::wire_pair();
    let listener = net
        .host("server")
        .run(|| TcpListener::bind((SERVER, 8082)))
        .unwrap()
        .unwrap();
    let connect = |timeout| {
        net.host("client")
            .run(move || TcpStream::connect_timeout(&SocketAddr::from((SERVER, 8082)), timeout))
            .unwrap()
    };
    let partition = net.partition(&["client"], &["server"]).unwrap();
    assert_eq!(partition.links_cut(), 1);
    let err = connect(Duration::from_millis(500)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    partition.heal();
    // Seconds, not milliseconds: the client's ARP request for the server
    // failed during the partition and is retried once a second.
    connect(Duration::from_secs(5)).unwrap();
    listener.accept().unwrap();
}

fn ip_link(net: &Network, host: &str) -> String {
    let out = net
        .host(host)
        .run(|| Command::new("ip").args(["link", "show", "eth0"]).output())
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn down_takes_the_carrier_until_its_guard_drops() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    {
        let _down = wire.down().unwrap();
        for host in ["client", "server"] {
            let shown = ip_link(&net, host);
            assert!(shown.contains("NO-CARRIER"), "{shown}");
        }
        // Guards nest: the inner one's drop leaves the carrier away.
        drop(wire.down().unwrap());
        let shown = ip_link(&net, "client");
        assert!(shown.contains("NO-CARRIER"), "{shown}");
    }
    let shown = ip_link(&net, "client");
    assert!(!shown.contains("NO-CARRIER"), "{shown}");
    assert_eq!(transfer(&net, 8083, 1000), 1000);
}

#[test]
fn up_gives_the_carrier_back_before_the_guard_drops() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let down = wire.down().unwrap();
    wire.up().unwrap();
    let shown = ip_link(&net, "client");
    assert!(!shown.contains("NO-CARRIER"), "{shown}");
    drop(down);
    assert_eq!(transfer(&net, 8084, 1000), 1000);
}

/// What `Wire::down`'s docs say: routes stay, a connect fails with
/// `EHOSTUNREACH` once neighbour resolution gives up (seconds, not at
/// once), a UDP send succeeds.
#[test]
fn after_down_a_connect_fails_with_ehostunreach_and_udp_sends_vanish() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let _down = wire.down().unwrap();
    let udp = net
        .host("client")
        .run(|| {
            let socket = UdpSocket::bind((CLIENT, 0))?;
            socket.send_to(b"lost", (SERVER, 9))
        })
        .unwrap();
    assert_eq!(udp.unwrap(), 4);
    let started = Instant::now();
    let err = net
        .host("client")
        .run(|| {
            TcpStream::connect_timeout(&SocketAddr::from((SERVER, 8085)), Duration::from_secs(20))
        })
        .unwrap()
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.raw_os_error(), Some(113), "EHOSTUNREACH wanted: {err}");
    assert!(
        took >= Duration::from_secs(1),
        "failed at once ({took:?}): {err}"
    );
}

/// A UDP socket bound on the server at `port` and one on the client,
/// connected to it (each opened in its host's namespace).
fn udp_pair(net: &Network, port: u16) -> (UdpSocket, UdpSocket) {
    let server = net
        .host("server")
        .run(move || UdpSocket::bind((SERVER, port)))
        .unwrap()
        .unwrap();
    let client = net
        .host("client")
        .run(|| UdpSocket::bind((CLIENT, 0)))
        .unwrap()
        .unwrap();
    client.connect((SERVER, port)).unwrap();
    (client, server)
}

/// One datagram client -> server before any fault is set: it resolves the
/// server's MAC (ARP waits in the queue, so it arrives once, however slow a
/// loaded machine is). Then the server waits 300 ms at most per datagram.
fn warm_up(client: &UdpSocket, server: &UdpSocket) {
    let mut buf = [0u8; 16];
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send(&u32::MAX.to_be_bytes()).unwrap();
    server.recv(&mut buf).unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
}

/// Median round trip of `n` UDP echoes client -> server -> client.
fn median_rtt(net: &Network, port: u16, n: usize) -> Duration {
    let (client, server) = udp_pair(net, port);
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..n {
            let (len, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..len], from).unwrap();
        }
    });
    let mut rtts = Vec::new();
    let mut buf = [0u8; 64];
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

#[test]
fn delay_shows_in_measured_round_trips() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let _delay = wire
        .set(
            Direction::Both,
            Faults::new().delay(Duration::from_millis(10)),
        )
        .unwrap();
    let rtt = median_rtt(&net, 8084, 20);
    assert!(rtt >= Duration::from_millis(20), "{rtt:?}");
    assert!(rtt < Duration::from_millis(60), "{rtt:?}");
}

#[test]
fn a_guard_puts_the_faults_back() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    {
        let _delay = wire
            .set(
                Direction::Out,
                Faults::new().delay(Duration::from_millis(30)),
            )
            .unwrap();
        assert!(median_rtt(&net, 8085, 5) >= Duration::from_millis(30));
    }
    assert!(median_rtt(&net, 8086, 5) < Duration::from_millis(25));
}

/// The sequence numbers of 300 datagrams that got through 30% loss.
fn survivors(seed: u64) -> Vec<u32> {
    let net = common::wire_pair();
    // Only the test's datagrams on the wire while faults are set: no IPv6
    // chatter (router solicitations, MLD), the server's MAC already known.
    for host in ["client", "server"] {
        net.host(host)
            .set_sysctl("net.ipv6.conf.all.disable_ipv6", "1")
            .unwrap();
    }
    let (client, server) = udp_pair(&net, 9000);
    warm_up(&client, &server);
    let mut buf = [0u8; 16];
    let wire = net.wire("client", "eth0").unwrap();
    let _loss = wire
        .set(Direction::Out, Faults::new().loss(0.3).seed(seed))
        .unwrap();
    for i in 0..300u32 {
        client.send(&i.to_be_bytes()).unwrap();
        // Paced: the receiver's socket buffer never overflows.
        if i % 50 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let mut got = Vec::new();
    while let Ok(n) = server.recv(&mut buf) {
        got.push(u32::from_be_bytes(buf[..n].try_into().unwrap()));
    }
    got
}

#[test]
fn one_seed_drops_the_same_datagrams() {
    let first = survivors(42);
    assert!((150..270).contains(&first.len()), "{}", first.len());
    assert_eq!(first, survivors(42));
    assert_ne!(first, survivors(43));
}

#[test]
fn bad_faults_and_unknown_ends_are_refused_and_change_nothing() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let seeds = (wire.seed(Direction::Out), wire.seed(Direction::In));
    for bad in [
        Faults::new().loss(1.5),
        Faults::new().rate_bits_per_sec(0),
        Faults::new().duplicate(-1.0),
    ] {
        let err = wire.set(Direction::Both, bad).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    }
    // Nothing was set: same seeds, every frame delivered.
    assert_eq!(seeds, (wire.seed(Direction::Out), wire.seed(Direction::In)));
    let stats = wire.stats(Direction::Both);
    assert_eq!(stats.frames, stats.delivered, "{stats:?}");
    assert_eq!(transfer(&net, 8087, 10_000), 10_000);
    for (host, link) in [("client", "eth1"), ("nobody", "eth0")] {
        let err = net.wire(host, link).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    }
    let err = net.partition(&["client"], &["ghost"]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
}

#[test]
fn plain_links_have_no_wire() {
    let net = Topology::new()
        .host("a")
        .host("b")
        .link("a", "eth0", "b", "eth0")
        .build()
        .unwrap();
    assert!(net.wire("a", "eth0").is_err());
    assert!(net.wires().is_empty());
    assert!(net.partition(&["a"], &["b"]).is_err());
}

#[test]
fn a_rate_limit_paces_a_tcp_transfer() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let _slow = wire
        .set(Direction::Out, Faults::new().rate_bits_per_sec(2_000_000))
        .unwrap();
    // 250 kB at 2 Mbit/s of frames (about 1.91 Mbit/s of payload): ~1.05 s.
    let start = Instant::now();
    assert_eq!(transfer(&net, 8088, 250_000), 250_000);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(950), "{took:?}");
    // Loose above: a loaded machine is slower, never faster.
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn duplicates_and_reorders_reach_the_receiver() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let (client, server) = udp_pair(&net, 9001);
    warm_up(&client, &server);
    let mut buf = [0u8; 16];
    let _f = wire
        .set(
            Direction::Out,
            Faults::new()
                .delay(Duration::from_millis(5))
                .duplicate(0.2)
                .reorder(0.2)
                .seed(3),
        )
        .unwrap();
    for i in 0..100u32 {
        client.send(&i.to_be_bytes()).unwrap();
    }
    let mut got = Vec::new();
    while let Ok(n) = server.recv(&mut buf) {
        got.push(u32::from_be_bytes(buf[..n].try_into().unwrap()));
    }
    let stats = wire.stats(Direction::Out);
    assert!(got.len() > 100, "no duplicates: {got:?}");
    assert!(
        got.windows(2).any(|w| w[0] > w[1]),
        "no reordering: {got:?}"
    );
    assert!(stats.duplicated > 0 && stats.reordered > 0, "{stats:?}");
}

/// Set in the child only: makes the demo test run (and fail).
const DEMO_ENV: &str = "NETNS_TEST_WIRE_DEMO";

#[netns_test]
fn demo_fails_with_faults_set() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let guard = wire.set(Direction::Both, Faults::new().loss(0.5)).unwrap();
    eprintln!("out seed {}", wire.seed(Direction::Out));
    panic!("failing on purpose with {guard:?}");
}

/// Fails without setting a fault, run after `demo_fails_with_faults_set`
/// in the same process.
#[netns_test]
fn demo_fails_without_faults() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let net = common::wire_pair();
    let _wire = net.wire("client", "eth0").unwrap();
    panic!("failing on purpose without faults");
}

/// Fails with faults whose seed it pinned (`Faults::seed`).
#[netns_test]
fn demo_fails_with_a_pinned_seed() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let _loss = wire
        .set(Direction::Both, Faults::new().loss(0.2).seed(42))
        .unwrap();
    panic!("failing on purpose with a pinned seed");
}

/// A test that pinned its seed is not told a seed it did not use: the
/// line says it pinned its seeds and how to re-run it.
#[test]
fn a_pinned_seed_is_named_as_pinned_not_replaced() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "demo_fails_with_a_pinned_seed", "--nocapture"])
        .env(DEMO_ENV, "1")
        .env_remove(SEED_ENV)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("replay with NETNS_TEST_SEED="), "{text}");
    assert!(
        text.contains(
            "netns-test: link faults drew from the seeds the test pinned (Faults::seed), which \
             NETNS_TEST_SEED does not change; re-run with: cargo test \
             demo_fails_with_a_pinned_seed -- --exact"
        ),
        "{text}"
    );
}

/// Runs the demo in a child; returns its output.
fn run_demo(seed: Option<&str>) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "demo_fails_with_faults_set", "--nocapture"])
        .env(DEMO_ENV, "1")
        .env_remove(SEED_ENV);
    if let Some(seed) = seed {
        cmd.env(SEED_ENV, seed);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_failing_test_prints_its_seed_and_the_variable_replays_it() {
    let first = run_demo(None);
    let seed = first
        .lines()
        .find_map(|l| l.split("replay with NETNS_TEST_SEED=").nth(1))
        .unwrap_or_else(|| panic!("no seed in the output:\n{first}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let out_seed = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("out seed "))
            .map(str::to_owned)
    };
    let replay = run_demo(Some(&seed));
    assert!(
        replay.contains(&format!("NETNS_TEST_SEED={seed}")),
        "{replay}"
    );
    // The same base seed gives each direction the same seed again.
    assert_eq!(out_seed(&first), out_seed(&replay));
    assert!(first.contains("FaultGuard"), "{first}");
}

#[test]
fn a_partition_cuts_only_the_wire_links_between_its_sides() {
    // a -- b -- c, both links carried.
    let net = Topology::new()
        .host("a")
        .router("b")
        .host("c")
        .wire("a", "eth0", "b", "eth0")
        .wire("b", "eth1", "c", "eth0")
        .build()
        .unwrap();
    assert_eq!(net.wires().len(), 2);
    assert_eq!(net.partition(&["a"], &["b", "c"]).unwrap().links_cut(), 1);
    assert_eq!(net.partition(&["a", "c"], &["b"]).unwrap().links_cut(), 2);
    let err = net.partition(&["a"], &["a"]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    // Across the router: one link, the one nearest side B.
    let split = net.partition(&["a"], &["c"]).unwrap();
    let cut: Vec<_> = split.wires().iter().map(|w| w.ends()).collect();
    assert_eq!(cut, [("b/eth1", "c/eth0")]);
    let split = net.partition(&["c"], &["a"]).unwrap();
    let cut: Vec<_> = split.wires().iter().map(|w| w.ends()).collect();
    assert_eq!(cut, [("a/eth0", "b/eth0")]);
}

/// client -- router -- server1 and router -- server2, every link carried,
/// with addresses and routes.
fn failover_lab() -> Network {
    Topology::new()
        .host("client")
        .router("router")
        .host("server1")
        .host("server2")
        .wire("client", "eth0", "router", "eth0")
        .wire("router", "eth1", "server1", "eth0")
        .wire("router", "eth2", "server2", "eth0")
        .addr("client", "eth0", "192.0.2.2/24")
        .addr("router", "eth0", "192.0.2.1/24")
        .addr("router", "eth1", "198.51.100.1/24")
        .addr("server1", "eth0", "198.51.100.2/24")
        .addr("router", "eth2", "203.0.113.1/24")
        .addr("server2", "eth0", "203.0.113.2/24")
        .route("client", "default", "192.0.2.1")
        .route("server1", "default", "198.51.100.1")
        .route("server2", "default", "203.0.113.1")
        .build()
        .unwrap()
}

/// A partition across a router cuts the path between the sides, and only
/// it: the client no longer reaches server1, but still reaches the router
/// and server2 (what a failing-over client needs); healed, server1 again.
#[test]
fn a_partition_across_a_router_cuts_only_the_path_between_the_sides() {
    let net = failover_lab();
    let connect = |host: &str, port: u16, timeout: Duration| {
        let to = SocketAddr::new(net.host_ipv4(host).into(), port);
        let listener = net
            .host(host)
            .run(move || TcpListener::bind(to))
            .unwrap()
            .unwrap();
        let connected = net
            .host("client")
            .run(move || TcpStream::connect_timeout(&to, timeout))
            .unwrap();
        drop(listener);
        connected.map(drop)
    };
    let split = net.partition(&["client"], &["server1"]).unwrap();
    assert_eq!(split.links_cut(), 1);
    let err = connect("server1", 8090, Duration::from_millis(500)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    connect("server2", 8091, Duration::from_secs(3)).unwrap();
    connect("router", 8092, Duration::from_secs(3)).unwrap();
    split.heal();
    connect("server1", 8093, Duration::from_secs(5)).unwrap();
}

/// Plain links cannot be cut: a path of them between the sides is an error
/// that names them, and nothing is cut.
#[test]
fn a_partition_over_plain_links_names_them() {
    let net = Topology::new()
        .host("a")
        .router("r")
        .host("b")
        .host("c")
        .link("a", "eth0", "r", "eth0")
        .link("r", "eth1", "b", "eth0")
        .wire("r", "eth2", "c", "eth0")
        .build()
        .unwrap();
    let err = net.partition(&["a"], &["b", "c"]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{text}");
    assert!(text.contains("a/eth0 - r/eth0"), "{text}");
    assert!(text.contains("r/eth1 - b/eth0"), "{text}");
    assert!(text.contains("Topology::wire"), "{text}");
    // With only the wire link between them, the plain one to the router
    // stays and the wire is cut.
    let split = net.partition(&["a"], &["c"]).unwrap();
    let cut: Vec<_> = split.wires().iter().map(|w| w.ends()).collect();
    assert_eq!(cut, [("r/eth2", "c/eth0")]);
}

#[test]
fn a_failing_test_that_set_no_faults_prints_no_seed() {
    // One process, one thread: the test with faults runs (and fails) first.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "demo_fails_with_faults_set",
            "demo_fails_without_faults",
            "--test-threads=1",
        ])
        .env(DEMO_ENV, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    // libtest shows each failure's output under its own heading.
    let section = |name: &str| {
        let heading = format!("---- {name} stdout ----");
        let start = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no {heading}:\n{text}"));
        let rest = &text[start + heading.len()..];
        let end = rest
            .find("\n---- ")
            .or_else(|| rest.find("\nfailures:"))
            .unwrap_or(rest.len());
        rest[..end].to_owned()
    };
    let with = section("demo_fails_with_faults_set");
    assert!(with.contains("link faults drew from seed"), "{with}");
    let without = section("demo_fails_without_faults");
    assert!(
        without.contains("failing on purpose without faults"),
        "{without}"
    );
    assert!(!without.contains("link faults drew from seed"), "{without}");
}
