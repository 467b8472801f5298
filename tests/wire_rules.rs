//! Per-frame rules and holds on a wire link, over real sockets: a one-way
//! cut, a SYN-only drop, a held burst released in order and shuffled, a
//! path-MTU black hole, and the capture naming the rule that dropped,
//! delayed or held a frame.
#![cfg(feature = "wire")]

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use netns_test::{Direction, Faults, Frame, Match, Network};

mod common;

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// A UDP socket on `host` at `addr:port`, connected to `peer:port`.
fn udp(net: &Network, host: &str, addr: Ipv4Addr, peer: Ipv4Addr, port: u16) -> UdpSocket {
    let sock = net
        .host(host)
        .run(move || UdpSocket::bind((addr, port)))
        .unwrap()
        .unwrap();
    sock.connect((peer, port)).unwrap();
    sock
}

/// A client and a server socket on `port`, each having heard the other
/// once (neighbours resolved both ways), then reading with `timeout`.
fn udp_pair(net: &Network, port: u16, timeout: Duration) -> (UdpSocket, UdpSocket) {
    let client = udp(net, "client", CLIENT, SERVER, port);
    let server = udp(net, "server", SERVER, CLIENT, port);
    let mut buf = [0u8; 8];
    for (from, to) in [(&client, &server), (&server, &client)] {
        to.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        from.send(b"hello").unwrap();
        assert_eq!(to.recv(&mut buf).unwrap(), 5);
        to.set_read_timeout(Some(timeout)).unwrap();
    }
    (client, server)
}

/// The numbered datagrams `sock` receives until a read times out.
fn numbers(sock: &UdpSocket) -> Vec<u32> {
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        got.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
        assert!(n >= 4);
    }
    got
}

fn send_numbers(sock: &UdpSocket, range: std::ops::Range<u32>) {
    for i in range {
        sock.send(&i.to_be_bytes()).unwrap();
    }
}

#[test]
fn a_one_way_partition_lets_the_other_way_through() {
    let net = common::wire_pair();
    let (client, server) = udp_pair(&net, 9001, Duration::from_millis(300));
    let cut = net.partition_one_way(&["client"], &["server"]).unwrap();
    assert_eq!(cut.links_cut(), 1);
    assert_eq!(cut.wires()[0].ends().0, "client/eth0");
    send_numbers(&client, 0..5);
    send_numbers(&server, 10..15);
    assert_eq!(numbers(&server), [] as [u32; 0], "client to server is cut");
    assert_eq!(
        numbers(&client),
        [10, 11, 12, 13, 14],
        "server to client passes"
    );
    let wire = net.wire("client", "eth0").unwrap();
    assert!(
        wire.stats(Direction::Out).cut >= 5,
        "ours and any neighbour discovery"
    );
    assert_eq!(wire.stats(Direction::In).cut, 0);
    drop(cut);
    send_numbers(&client, 20..22);
    assert_eq!(numbers(&server), [20, 21]);
    // The same from the wire, the other way round.
    let _cut = wire.cut_one_way(Direction::In);
    send_numbers(&client, 30..32);
    send_numbers(&server, 40..42);
    assert_eq!(numbers(&server), [30, 31]);
    assert_eq!(numbers(&client), [] as [u32; 0]);
}

#[test]
fn dropping_syns_times_a_connect_out_and_leaves_open_connections_alone() {
    let net = common::wire_pair();
    let listener = net
        .host("server")
        .run(|| TcpListener::bind((SERVER, 8090)))
        .unwrap()
        .unwrap();
    let connect = |timeout| {
        net.host("client")
            .run(move || TcpStream::connect_timeout(&SocketAddr::from((SERVER, 8090)), timeout))
            .unwrap()
    };
    let mut open = connect(Duration::from_secs(5)).unwrap();
    let (mut accepted, _) = listener.accept().unwrap();
    let wire = net.wire("client", "eth0").unwrap();
    let rule = wire.rule(Direction::Out, Match::tcp().dst_port(8090).syn().drop());
    let err = connect(Duration::from_millis(500)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(wire.stats(Direction::Out).rule_drops >= 1);
    // The open connection carries data both ways.
    open.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    accepted.read_exact(&mut buf).unwrap();
    accepted.write_all(b"pong").unwrap();
    open.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    drop(rule);
    connect(Duration::from_secs(5)).unwrap();
}

/// Waits until `wire` holds `n` datagrams to UDP port `port` going out.
fn wait_held(wire: &netns_test::Wire<'_>, port: u16, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let held = wire.held(Direction::Out);
        let ours = held
            .iter()
            .filter(|f| Frame::parse(f).dst_port() == Some(port))
            .count();
        if ours == n {
            return;
        }
        assert!(Instant::now() < deadline, "held {ours} of {n}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_held_burst_arrives_after_its_release_in_order() {
    let net = common::wire_pair();
    let (client, server) = udp_pair(&net, 9002, Duration::from_millis(300));
    let wire = net.wire("client", "eth0").unwrap();
    let hold = wire.hold(Direction::Out);
    send_numbers(&client, 0..10);
    wait_held(&wire, 9002, 10);
    assert_eq!(numbers(&server), [] as [u32; 0], "held, not delivered");
    let first = wire.held(Direction::Out);
    let first = first
        .iter()
        .map(|f| Frame::parse(f))
        .find(|f| f.dst_port() == Some(9002));
    assert_eq!(first.unwrap().src(), Some(CLIENT.into()));
    assert!(hold.len() >= 10);
    assert!(hold.release() >= 10);
    assert_eq!(numbers(&server), (0..10).collect::<Vec<u32>>());
    // Still holding; dropping the guard releases in order.
    send_numbers(&client, 10..13);
    wait_held(&wire, 9002, 3);
    drop(hold);
    assert_eq!(numbers(&server), [10, 11, 12]);
    // A bounded hold (of our datagrams only, by a rule) drops what does
    // not fit, and counts it.
    wire.hold_limit(Direction::Out, 4, 1 << 20);
    let rule = wire.rule(Direction::Out, Match::udp().dst_port(9002).hold());
    send_numbers(&client, 20..30);
    let deadline = Instant::now() + Duration::from_secs(5);
    while wire.stats(Direction::Out).hold_drops < 6 {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            wire.stats(Direction::Out)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(wire.held(Direction::Out).len(), 4);
    drop(rule);
    assert_eq!(wire.release(Direction::Out), 4);
    assert_eq!(numbers(&server), [20, 21, 22, 23]);
    assert_eq!(wire.stats(Direction::Out).hold_drops, 6);
}

/// The order a held burst of 20 datagrams arrives in after a shuffled
/// release, on a fresh network whose outgoing direction has seed 5.
fn shuffled_order() -> Vec<u32> {
    let net = common::wire_pair();
    let (client, server) = udp_pair(&net, 9003, Duration::from_millis(300));
    let wire = net.wire("client", "eth0").unwrap();
    let _seed = wire.set(Direction::Out, Faults::new().seed(5)).unwrap();
    // Only our datagrams: other frames (neighbour discovery) pass.
    let rule = wire.rule(Direction::Out, Match::udp().dst_port(9003).hold());
    send_numbers(&client, 0..20);
    wait_held(&wire, 9003, 20);
    assert_eq!(wire.release_shuffled(Direction::Out), 20);
    drop(rule);
    numbers(&server)
}

#[test]
fn a_shuffled_release_gives_the_same_permutation_for_the_same_seed() {
    let a = shuffled_order();
    let b = shuffled_order();
    assert_eq!(a, b);
    assert_ne!(a, (0..20).collect::<Vec<u32>>(), "not shuffled");
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..20).collect::<Vec<u32>>());
}

#[test]
fn a_path_mtu_black_hole_drops_big_unfragmentable_datagrams_only() {
    let net = common::wire_pair();
    let (client, server) = udp_pair(&net, 9004, Duration::from_millis(300));
    let wire = net.wire("client", "eth0").unwrap();
    let _hole = wire.rule(Direction::Both, Match::black_hole(1000).drop());
    // Linux sets DF on UDP by default (IP_PMTUDISC_WANT, ip(7)).
    let mut buf = [0u8; 2048];
    for (i, len) in [(0u32, 100usize), (1, 1200), (2, 900), (3, 1400), (4, 972)] {
        let mut data = vec![0u8; len];
        data[..4].copy_from_slice(&i.to_be_bytes());
        client.send(&data).unwrap();
    }
    // 972 bytes of payload: 1000 bytes of IP packet, not over the MTU.
    let mut got = Vec::new();
    while let Ok(n) = server.recv(&mut buf) {
        got.push((u32::from_be_bytes(buf[..4].try_into().unwrap()), n));
    }
    assert_eq!(got, [(0, 100), (2, 900), (4, 972)]);
    assert_eq!(wire.stats(Direction::Out).rule_drops, 2);
    // No ICMP "fragmentation needed" came back: the sender sees no error
    // and goes on sending big datagrams into the hole.
    assert!(client.take_error().unwrap().is_none());
    client.send(&[9; 1200]).unwrap();
    assert_eq!(numbers(&server), [] as [u32; 0]);
    assert_eq!(wire.stats(Direction::Out).rule_drops, 3);
    assert_eq!(wire.stats(Direction::In).rule_drops, 0);
}

/// Each packet comment that `iface` has in the pcapng file at `path`, with
/// its frame.
#[cfg(feature = "capture")]
fn comments_of(path: &std::path::Path, iface: &str) -> Vec<(String, Vec<u8>)> {
    let (_, packets) = common::read_pcapng(path);
    packets
        .into_iter()
        .filter(|p| p.iface == iface)
        .flat_map(|p| {
            let data = p.data;
            p.comments.into_iter().map(move |c| (c, data.clone()))
        })
        .collect()
}

#[cfg(feature = "capture")]
#[test]
fn the_capture_names_the_rule_that_dropped_delayed_or_held_a_frame() {
    let net = common::wire_pair();
    let capture = netns_test::Capture::new().unwrap();
    capture.network(&net).unwrap();
    let (client, server) = udp_pair(&net, 9050, Duration::from_millis(500));
    let wire = net.wire("client", "eth0").unwrap();
    // Rule #1, unnamed: delays port 9051; rule #2, named: drops port 9052;
    let _slow = wire.rule(
        Direction::Out,
        Match::udp().dst_port(9051).delay(Duration::from_millis(30)),
    );
    let no_9052 = wire.rule_named(
        Direction::Out,
        "no 9052",
        Match::udp().dst_port(9052).drop(),
    );
    // rule #3, named: holds port 9053 (released when its guard drops).
    let _held = wire.rule_named(
        Direction::Out,
        "hold 9053",
        Match::udp().dst_port(9053).hold(),
    );
    let slow = udp(&net, "client", CLIENT, SERVER, 9051);
    let slow_in = udp(&net, "server", SERVER, CLIENT, 9051);
    slow_in
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let dropped = udp(&net, "client", CLIENT, SERVER, 9052);
    let held = udp(&net, "client", CLIENT, SERVER, 9053);
    slow.send(&1u32.to_be_bytes()).unwrap();
    dropped.send(&2u32.to_be_bytes()).unwrap();
    held.send(&4u32.to_be_bytes()).unwrap();
    client.send(&3u32.to_be_bytes()).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        slow_in.recv(&mut buf).unwrap(),
        4,
        "the delayed datagram arrives"
    );
    assert_eq!(numbers(&server), [3], "port 9050 passes untouched");
    assert_eq!(wire.stats(Direction::Out).rule_drops, 1);
    assert_eq!(wire.held(Direction::Out).len(), 1);
    assert!(
        format!("{no_9052:?}").contains("\"no 9052\""),
        "{no_9052:?}"
    );

    let path = std::env::temp_dir().join(format!("netns-test-rules-{}.pcapng", std::process::id()));
    capture.write_pcapng(&path).unwrap();
    let notes = comments_of(&path, "client/eth0");
    std::fs::remove_file(&path).unwrap();
    // IPv4 UDP to `port`, as the client sent it.
    let to = |port: u16| {
        notes
            .iter()
            .filter(|(_, f)| f[12..14] == [8, 0] && f[23] == 17 && f[36..38] == port.to_be_bytes())
            .map(|(note, _)| note.as_str())
            .collect::<Vec<&str>>()
    };
    assert_eq!(
        to(9051),
        ["delayed 30 ms by rule #1 (Wire::rule)"],
        "{notes:?}"
    );
    assert_eq!(to(9052), ["dropped by rule #2 (no 9052)"], "{notes:?}");
    assert_eq!(to(9053), ["held by rule #3 (hold 9053)"], "{notes:?}");
    assert_eq!(to(9050), [] as [&str; 0], "{notes:?}");
}
