//! Packet capture: a failing test's pcapng file holds the SYN it sent, with
//! interfaces named so Wireshark tells them apart; with the variable unset
//! nothing is started.
#![cfg(feature = "capture")]

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use netns_test::{netns_test, Fixture, Network, Topology, CAPTURE_DIR_ENV, CAPTURE_ENV};

/// Set in the child process only: makes the demo tests run (and fail).
const DEMO_ENV: &str = "NETNS_TEST_CAPTURE_DEMO";
const LO_PORT: u16 = 47_001;
const WIRE_PORT: u16 = 47_002;

/// Interface names and, per frame, (interface name, bytes).
fn read_pcapng(path: &Path) -> (Vec<String>, Vec<(String, Vec<u8>)>) {
    let (names, packets) = common::read_pcapng(path);
    (
        names,
        packets.into_iter().map(|p| (p.iface, p.data)).collect(),
    )
}

/// The TCP destination port of a SYN (without ACK) in an IPv4 Ethernet
/// frame, if it is one.
fn syn_port(frame: &[u8]) -> Option<u16> {
    if frame.len() < 14 + 20 + 20 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    if ip[9] != 6 {
        return None;
    }
    let tcp = &ip[usize::from(ip[0] & 0x0f) * 4..];
    let flags = tcp[13];
    (flags & 0x12 == 0x02).then(|| u16::from_be_bytes([tcp[2], tcp[3]]))
}

/// Runs the demo test `name` of this binary in a child with capture on;
/// returns its output and the capture file it named.
fn run_demo(name: &str) -> (String, PathBuf) {
    // A directory per demo: the tests run in parallel and each removes its own.
    let dir =
        std::env::temp_dir().join(format!("netns-test-capture-{}-{name}", std::process::id()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DEMO_ENV, "1")
        .env(CAPTURE_ENV, "failed")
        .env(CAPTURE_DIR_ENV, &dir)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert!(!out.status.success(), "the demo test must fail:\n{text}");
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("netns-test: capture: "))
        .unwrap_or_else(|| panic!("no capture path in the output:\n{text}"));
    (text.clone(), PathBuf::from(path.trim()))
}

/// Ignored: run by the tests below in a child process (a plain run of it
/// beside them would clear the files one of them reads in the test's
/// directory).
#[netns_test]
#[ignore = "run by the capture tests in a child process"]
fn demo_fails_after_a_connect_on_lo() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, LO_PORT)).unwrap();
    TcpStream::connect((Ipv4Addr::LOCALHOST, LO_PORT)).unwrap();
    listener.accept().unwrap();
    panic!("failing on purpose");
}

#[test]
fn a_failing_tests_capture_holds_its_syn_on_lo() {
    let (text, path) = run_demo("demo_fails_after_a_connect_on_lo");
    assert!(text.contains("failing on purpose"), "{text}");
    assert!(
        path.ends_with("capture.demo_fails_after_a_connect_on_lo.pcapng"),
        "{path:?}"
    );
    let (names, frames) = read_pcapng(&path);
    assert_eq!(names, ["lo"]);
    let syns: Vec<_> = frames
        .iter()
        .filter(|(_, f)| syn_port(f) == Some(LO_PORT))
        .collect();
    // Outgoing copies are skipped on lo: the SYN shows once.
    assert_eq!(syns.len(), 1, "{frames:?}");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[netns_test]
fn demo_fails_after_a_connect_across_a_topology() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let net = Topology::new()
        .host("client")
        .host("server")
        .host("backup")
        .wire("client", "eth0", "server", "eth0")
        .link("client", "eth1", "backup", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .addr("client", "eth1", "198.51.100.1/24")
        .addr("backup", "eth0", "198.51.100.2/24")
        .build()
        .unwrap();
    for (host, addr) in [("server", [192, 0, 2, 2]), ("backup", [198, 51, 100, 2])] {
        let listener = net
            .host(host)
            .run(move || TcpListener::bind((Ipv4Addr::from(addr), WIRE_PORT)))
            .unwrap()
            .unwrap();
        net.host("client")
            .run(move || TcpStream::connect((Ipv4Addr::from(addr), WIRE_PORT)))
            .unwrap()
            .unwrap();
        listener.accept().unwrap();
    }
    panic!("failing on purpose");
}

#[test]
fn a_failing_tests_capture_names_every_host_and_link() {
    let (_, path) = run_demo("demo_fails_after_a_connect_across_a_topology");
    let (names, frames) = read_pcapng(&path);
    for name in [
        "lo",
        "client/eth0",
        "server/eth0",
        "client/eth1",
        "backup/eth0",
        "client/lo",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    // The SYN left the client and reached the server, on both wire ends,
    // and crossed the plain link (seen from both of its ends).
    for iface in ["client/eth0", "server/eth0", "client/eth1", "backup/eth0"] {
        assert!(
            frames
                .iter()
                .any(|(n, f)| n == iface && syn_port(f) == Some(WIRE_PORT)),
            "no SYN on {iface}"
        );
    }
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// Sockets open in this process. Nothing else in this binary holds one
/// while a test body runs: the runner's netlink sockets are closed by then.
fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter(|fd| {
            std::fs::read_link(fd.as_ref().unwrap().path())
                .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

fn capture_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|t| {
            let comm = t.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == "netns-test-cap")
        })
        .count()
}

#[netns_test]
fn without_the_variable_nothing_is_captured() {
    if std::env::var_os(CAPTURE_ENV).is_some() {
        return;
    }
    assert_eq!(sockets(), 0);
    assert_eq!(capture_threads(), 0);
}

#[netns_test]
fn demo_checks_its_own_capture_socket() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    assert_eq!(sockets(), 1);
    // A new thread names itself once it runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while capture_threads() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(capture_threads(), 1);
    panic!("failing on purpose");
}

#[test]
fn with_the_variable_a_test_has_one_capture_socket_and_thread() {
    let (text, path) = run_demo("demo_checks_its_own_capture_socket");
    assert!(text.contains("failing on purpose"), "{text}");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// client -- router -- server. In the demo's process the first link is
/// carried (recorded by its forwarding thread when the building test's
/// capture sees the network built); in this one it is plain, so that no
/// forwarding thread holds sockets while `without_the_variable...` counts
/// them.
static LAB: Fixture<Network> = Fixture::new("nt-capture-lab", || {
    let lab = Topology::new()
        .host("client")
        .router("router")
        .host("server");
    let lab = if std::env::var_os(DEMO_ENV).is_some() {
        lab.wire("client", "eth0", "router", "eth0")
    } else {
        lab.link("client", "eth0", "router", "eth0")
    };
    lab.link("router", "eth1", "server", "eth0").build()
});

/// Every (host, link) of `LAB`.
const LAB_INTERFACES: &[&str] = &[
    "client/eth0",
    "client/lo",
    "router/eth0",
    "router/eth1",
    "router/lo",
    "server/eth0",
    "server/lo",
];

#[netns_test(fixture = LAB, host = "client")]
fn demo_fixture_first() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    panic!("failing on purpose");
}

#[netns_test(fixture = LAB, host = "client")]
fn demo_fixture_second() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    panic!("failing on purpose");
}

#[netns_test(fixture = LAB)]
fn demo_fixture_without_host() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    panic!("failing on purpose");
}

#[test]
fn every_fixture_test_captures_every_host_of_the_fixture_once() {
    let dir =
        std::env::temp_dir().join(format!("netns-test-capture-{}-fixture", std::process::id()));
    // One process, one thread: the first test builds the fixture.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "demo_fixture_first",
            "demo_fixture_second",
            "demo_fixture_without_host",
            "--test-threads=1",
        ])
        .env(DEMO_ENV, "1")
        .env(CAPTURE_ENV, "all")
        .env(CAPTURE_DIR_ENV, &dir)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    for test in ["demo_fixture_first", "demo_fixture_second"] {
        let (mut names, _) = read_pcapng(&dir.join(format!("capture.{test}.pcapng")));
        names.sort();
        assert_eq!(names, LAB_INTERFACES, "{test}:\n{text}");
    }
    // A test without a host runs in a namespace of its own: its `lo`, and
    // the fixture's hosts.
    let (mut names, _) = read_pcapng(&dir.join("capture.demo_fixture_without_host.pcapng"));
    names.sort();
    let mut want = LAB_INTERFACES.to_vec();
    want.push("lo");
    want.sort();
    assert_eq!(names, want, "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn captures_fall_back_to_the_temp_directory_when_the_target_cannot_be_written() {
    // A file where the target directory should be: nothing can be made
    // under it, for root too (what a rootless run of a tree built by root
    // meets as EACCES).
    let target =
        std::env::temp_dir().join(format!("netns-test-capture-{}-target", std::process::id()));
    std::fs::write(&target, "not a directory").unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "demo_fails_after_a_connect_on_lo",
            "--ignored",
            "--nocapture",
        ])
        .env(DEMO_ENV, "1")
        .env(CAPTURE_ENV, "failed")
        .env_remove(CAPTURE_DIR_ENV)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    std::fs::remove_file(&target).unwrap();
    assert!(!text.contains("capture not written"), "{text}");
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("netns-test: capture: "))
        .map(|p| PathBuf::from(p.trim()))
        .unwrap_or_else(|| panic!("no capture path in the output:\n{text}"));
    assert!(path.starts_with(std::env::temp_dir()), "{path:?}");
    let (names, _) = read_pcapng(&path);
    assert_eq!(names, ["lo"]);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

const POOL_BETWEEN_PORT: u16 = 47_003;
const POOL_DURING_PORT: u16 = 47_004;

/// The UDP destination port of an IPv4 Ethernet frame, if it is UDP.
fn udp_port(frame: &[u8]) -> Option<u16> {
    if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 17 {
        return None;
    }
    let udp = &frame[14 + usize::from(frame[14] & 0x0f) * 4..];
    Some(u16::from_be_bytes([udp[2], udp[3]]))
}

fn send_udp_on_lo(port: u16) {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.send_to(b"x", (Ipv4Addr::LOCALHOST, port)).unwrap();
}

// In the child, without the variable: the first and third tests capture
// (the option), the second does not, and sends between them. Ignored here:
// the option captures whatever the body does, and a fixture's capture
// sockets stay open for the next test.
#[netns_test(fixture = LAB, host = "client", capture)]
#[ignore]
fn demo_pool_a_captured() {}

#[netns_test(fixture = LAB, host = "client")]
fn demo_pool_b_sends() {
    if std::env::var_os(DEMO_ENV).is_some() {
        send_udp_on_lo(POOL_BETWEEN_PORT);
    }
}

#[netns_test(fixture = LAB, host = "client", capture)]
#[ignore]
fn demo_pool_c_captured() {
    send_udp_on_lo(POOL_DURING_PORT);
}

/// A fixture's capture sockets are kept for the next test that captures
/// it; what they queued while no capture held them is not that test's.
#[test]
fn a_fixture_capture_holds_nothing_from_before_its_test() {
    let dir = std::env::temp_dir().join(format!("netns-test-capture-{}-pool", std::process::id()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "demo_pool_a_captured",
            "demo_pool_b_sends",
            "demo_pool_c_captured",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(DEMO_ENV, "1")
        .env_remove(CAPTURE_ENV)
        .env(CAPTURE_DIR_ENV, &dir)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    let (_, frames) = read_pcapng(&dir.join("capture.demo_pool_c_captured.pcapng"));
    let ports: Vec<(String, u16)> = frames
        .iter()
        .filter_map(|(name, f)| Some((name.clone(), udp_port(f)?)))
        .collect();
    assert!(
        ports.contains(&("client/lo".to_owned(), POOL_DURING_PORT)),
        "{ports:?}\n{text}"
    );
    assert!(
        !ports.iter().any(|(_, p)| *p == POOL_BETWEEN_PORT),
        "{ports:?}\n{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
