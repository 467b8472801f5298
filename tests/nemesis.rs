//! A seeded fault schedule: partitions, cuts and pauses at seeded moments
//! while a workload runs; the same seed gives the same schedule, the end
//! heals everything, and a failing test prints the timeline.
#![cfg(feature = "wire")]

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use netns_test::{netns_test, Nemesis, Network, Process, Topology};

const DEMO_ENV: &str = "NETNS_TEST_NEMESIS_DEMO";
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

fn lab() -> Network {
    Topology::new()
        .host("client")
        .router("router")
        .host("server")
        .wire("client", "eth0", "router", "eth0")
        .wire("router", "eth1", "server", "eth0")
        .addr("client", "eth0", "192.0.2.2/24")
        .addr("router", "eth0", "192.0.2.1/24")
        .addr("router", "eth1", "198.51.100.1/24")
        .addr("server", "eth0", "198.51.100.2/24")
        .route("client", "default", "192.0.2.1")
        .route("server", "default", "198.51.100.1")
        .build()
        .unwrap()
}

fn echo(net: &Network) -> Process {
    let echo = net
        .host("server")
        .spawn(Command::new("socat").args(["UDP-RECVFROM:7,fork", "EXEC:cat"]))
        .unwrap();
    echo.wait_udp(7, Duration::from_secs(5)).unwrap();
    echo
}

/// One UDP round trip from the client, within `timeout`.
fn answered(net: &Network, timeout: Duration) -> bool {
    net.host("client")
        .run(move || {
            let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
            socket.set_read_timeout(Some(timeout)).unwrap();
            socket.send_to(b"ping", (SERVER, 7)).unwrap();
            let mut buf = [0u8; 8];
            socket.recv(&mut buf).is_ok()
        })
        .unwrap()
}

/// The faults of a timeline, without their times.
fn faults(timeline: &netns_test::Timeline) -> Vec<String> {
    timeline.0.iter().map(|(_, what)| what.clone()).collect()
}

#[netns_test]
fn a_schedule_replays_with_its_seed_and_heals_at_the_end() {
    let net = lab();
    let server = echo(&net);
    assert!(answered(&net, Duration::from_secs(2)), "the lab works");
    let schedule = || {
        Nemesis::new(&net)
            .partitions()
            .cuts()
            .pauses(&[&server])
            .every(Duration::from_millis(50)..Duration::from_millis(150))
            .holding(Duration::from_millis(50)..Duration::from_millis(150))
            .run(Duration::from_millis(1500), || {
                // Pings for as long as the schedule runs: (answered, sent).
                let start = std::time::Instant::now();
                let (mut ok, mut sent) = (0, 0);
                while start.elapsed() < Duration::from_millis(1400) {
                    sent += 1;
                    ok += usize::from(answered(&net, Duration::from_millis(40)));
                    std::thread::sleep(Duration::from_millis(10));
                }
                (ok, sent)
            })
    };
    let ((answers, sent), first) = schedule();
    assert!(first.0.len() >= 4, "{first}");
    assert!(answers < sent, "no fault was felt: {first}");
    // Healed: the echo answers, and is not stopped.
    assert!(answered(&net, Duration::from_secs(2)), "{first}");
    let state = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).unwrap();
    let state = state
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert_ne!(state, "T", "the echo is still paused");
    // One seed, one schedule (the faults in order; their times vary).
    let (_, second) = schedule();
    let n = first.0.len().min(second.0.len()) - 2;
    assert_eq!(
        faults(&first)[..n],
        faults(&second)[..n],
        "{first}\n{second}"
    );
}

#[netns_test]
fn demo_fails_under_a_nemesis() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    let net = lab();
    let (_, timeline) = Nemesis::new(&net)
        .cuts()
        .every(Duration::from_millis(10)..Duration::from_millis(20))
        .holding(Duration::from_millis(10)..Duration::from_millis(20))
        .run(Duration::from_millis(300), || {
            std::thread::sleep(Duration::from_millis(300))
        });
    assert!(
        timeline.0.is_empty(),
        "failing on purpose after {} faults",
        timeline.0.len()
    );
}

#[test]
fn a_failing_test_prints_its_nemesis_timeline() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "demo_fails_under_a_nemesis", "--nocapture"])
        .env(DEMO_ENV, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    let at = text
        .find("netns-test: nemesis 1 timeline (time since it started, fault, target):")
        .unwrap_or_else(|| panic!("no timeline:\n{text}"));
    assert!(
        text[at..].contains("s cut client/eth0 - router/eth0")
            || text[at..].contains("s cut router/eth1 - server/eth0"),
        "{text}"
    );
    assert!(text.contains("link faults drew from seed"), "{text}");
}
