//! A wire link's kernel fast path (ARCHITECTURE.md 2.10): an idle link has
//! its redirect filters and carries frames without the forwarding thread;
//! a fault, cut, rule, hold or lost carrier removes them, and the fault then
//! applies; the guard's drop puts them back; `Wire::stats` counts the
//! frames of both paths.
#![cfg(feature = "wire")]

use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use netns_test::__private::fast_path;
use netns_test::{Direction, Faults, Network, Verdict, Wire};

mod common;

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// A connected client socket and the server's, after one datagram
/// (so ARP is done), the server waiting 300 ms at most per datagram.
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
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send(b"warm").unwrap();
    server.recv(&mut [0u8; 16]).unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    (client, server)
}

/// Sends `n` datagrams; returns how many the server received.
fn send(client: &UdpSocket, server: &UdpSocket, n: u32) -> u32 {
    for i in 0..n {
        client.send(&i.to_be_bytes()).unwrap();
    }
    let mut got = 0;
    let mut buf = [0u8; 16];
    while got < n && server.recv(&mut buf).is_ok() {
        got += 1;
    }
    got
}

/// What the forwarding thread counted out of `wire`'s first end: the
/// stats less what the kernel carried.
fn thread_frames(wire: &Wire<'_>) -> u64 {
    let carried = fast_path(wire).unwrap().carried[0];
    wire.stats(Direction::Out).frames - carried
}

/// On: only the redirect (priority 2) on each end's ingress.
fn assert_on(wire: &Wire<'_>) {
    let fast = fast_path(wire).unwrap();
    assert!(fast.available && fast.on, "{fast:?}");
    assert_eq!(fast.filters, [vec![2], vec![2]], "{fast:?}");
}

/// Off: the pass filter (priority 1) before each redirect.
fn assert_off(wire: &Wire<'_>) {
    let fast = fast_path(wire).unwrap();
    assert!(fast.available && !fast.on, "{fast:?}");
    assert_eq!(fast.filters, [vec![1, 2], vec![1, 2]], "{fast:?}");
}

#[test]
fn an_idle_link_carries_frames_in_the_kernel() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    assert_on(&wire);
    let (client, server) = udp_pair(&net, 7001);
    let before = fast_path(&wire).unwrap().carried[0];
    let thread_before = thread_frames(&wire);
    assert_eq!(send(&client, &server, 200), 200);
    // Every datagram went through the kernel's redirect, none through the
    // thread.
    assert!(fast_path(&wire).unwrap().carried[0] - before >= 200);
    assert_eq!(thread_frames(&wire), thread_before);
    assert!(wire.stats(Direction::Out).delivered >= 200);
}

#[test]
fn faults_take_the_fast_path_away_until_their_guard_drops() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let (client, server) = udp_pair(&net, 7002);
    let guard = wire.set(Direction::Out, Faults::new().loss(1.0)).unwrap();
    assert_off(&wire);
    let carried = fast_path(&wire).unwrap().carried;
    assert_eq!(send(&client, &server, 20), 0);
    assert!(wire.stats(Direction::Out).lost >= 20);
    assert_eq!(fast_path(&wire).unwrap().carried, carried);
    drop(guard);
    assert_on(&wire);
    assert_eq!(send(&client, &server, 20), 20);
}

#[test]
fn one_faulty_direction_takes_both_off() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let guard = wire
        .set(Direction::In, Faults::new().delay(Duration::from_millis(1)))
        .unwrap();
    assert_off(&wire);
    drop(guard);
    assert_on(&wire);
}

#[test]
fn cuts_rules_holds_and_carrier_loss_take_it_away() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let cut = wire.cut_one_way(Direction::Out);
    assert_off(&wire);
    drop(cut);
    assert_on(&wire);
    let rule = wire.rule(Direction::In, |_| Verdict::Pass);
    assert_off(&wire);
    drop(rule);
    assert_on(&wire);
    let hold = wire.hold(Direction::Out);
    assert_off(&wire);
    drop(hold);
    assert_on(&wire);
    let down = wire.down().unwrap();
    assert_off(&wire);
    drop(down);
    assert_on(&wire);
    let _down = wire.down().unwrap();
    wire.up().unwrap();
    assert_on(&wire);
}

#[test]
fn stats_count_the_frames_of_both_paths() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let (client, server) = udp_pair(&net, 7003);
    let start = wire.stats(Direction::Out);
    assert_eq!(send(&client, &server, 50), 50);
    let guard = wire
        .set(
            Direction::Out,
            Faults::new().delay(Duration::from_millis(1)),
        )
        .unwrap();
    let thread_before = thread_frames(&wire);
    assert_eq!(send(&client, &server, 30), 30);
    assert!(thread_frames(&wire) - thread_before >= 30);
    drop(guard);
    assert_eq!(send(&client, &server, 40), 40);
    let end = wire.stats(Direction::Out);
    assert!(end.frames - start.frames >= 120, "{start:?} {end:?}");
    assert!(end.delivered - start.delivered >= 120, "{start:?} {end:?}");
}

/// A capture reads a wire link's frames on the forwarding thread: the fast
/// path is off while it records them: the frames go through the thread.
#[cfg(feature = "capture")]
#[test]
fn a_capture_takes_the_fast_path_away_while_it_records() {
    let net = common::wire_pair();
    let wire = net.wire("client", "eth0").unwrap();
    let (client, server) = udp_pair(&net, 7004);
    let capture = netns_test::Capture::new().unwrap();
    capture.network(&net).unwrap();
    assert_off(&wire);
    let thread_before = thread_frames(&wire);
    assert_eq!(send(&client, &server, 10), 10);
    assert!(thread_frames(&wire) - thread_before >= 10);
    drop(capture);
    assert_on(&wire);
}
