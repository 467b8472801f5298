//! A failing test's output ends with its namespace's state (README, "When
//! a test fails"): links, addresses, routes, neighbours, sockets; a passing
//! test prints nothing; `NETNS_TEST_DUMP=0` turns it off; and nothing of it
//! (threads, fds, namespaces) is left after a run. `Netns::state` is the
//! same text, on demand.
//!
//! The failing tests are `fixture_*`, `#[ignore]`d and inert unless
//! `NETNS_TEST_FIXTURE=1`: this binary runs itself on them.

mod common;

use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Output};

use common::{fd_count, output_text, thread_count};
use netns_test::__private::{run_test, TestFailure, TestOptions};
use netns_test::{netns_test, Fixture, Netns, Network, Route, Topology};

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";

fn armed() -> bool {
    std::env::var_os(FIXTURE_ENV).is_some()
}

/// Runs this binary on the one ignored test `name`, armed, with `env`.
fn run_fixture(name: &str, env: &[(&str, &str)]) -> Output {
    run_fixture_pid(name, env).0
}

/// [`run_fixture`], and the child's pid.
fn run_fixture_pid(name: &str, env: &[(&str, &str)]) -> (Output, u32) {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture"])
        .env(FIXTURE_ENV, "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("NETNS_TEST_KEEP")
        .env_remove("NETNS_TEST_DUMP")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

/// Links, an address, a route, a listening TCP socket on 4242 and a UDP
/// socket on 5353, in the calling thread's namespace; they stay open
/// while `then` runs.
fn with_state(then: impl FnOnce()) {
    let ns = Netns::current().unwrap();
    ns.add_veth("dumpme0", &ns, "dumpme1").unwrap();
    ns.set_up("dumpme0").unwrap();
    ns.set_up("dumpme1").unwrap();
    ns.add_addr("dumpme0", "192.0.2.1/24".parse().unwrap())
        .unwrap();
    ns.add_route(&Route::to("198.51.100.0/24".parse().unwrap()).via("192.0.2.2".parse().unwrap()))
        .unwrap();
    let _tcp = TcpListener::bind("127.0.0.1:4242").unwrap();
    let _udp = UdpSocket::bind("192.0.2.1:5353").unwrap();
    // Traffic for the counters, and a neighbour entry: an ARP request for
    // 192.0.2.2 out of dumpme0 (which nothing answers).
    _udp.send_to(b"hello", "192.0.2.2:9").unwrap();
    then();
}

#[netns_test]
#[ignore = "fixture: run by the tests below"]
fn fixture_dump_panics() {
    with_state(|| assert!(!armed(), "deliberate failure"));
}

#[netns_test]
#[ignore = "fixture: run by the tests below"]
fn fixture_dump_err() -> Result<(), String> {
    let mut result = Ok(());
    with_state(|| {
        if armed() {
            result = Err("deliberate failure".to_owned());
        }
    });
    result
}

#[netns_test]
#[ignore = "fixture: run by the tests below"]
fn fixture_dump_passes() {
    with_state(|| {});
}

#[test]
fn a_panicking_test_prints_its_namespace_state() {
    let (out, pid) = run_fixture_pid("fixture_dump_panics", &[]);
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    let state = text
        .split_once("netns-test: state of the test's network namespace:\n")
        .unwrap_or_else(|| panic!("no state in: {text}"))
        .1;
    // After the panic message.
    assert!(text.find("deliberate failure").unwrap() < text.find("netns-test: state").unwrap());
    for expected in [
        "link 1 lo UP mtu 65536 127.0.0.1/8",
        " dumpme0 UP mtu 1500 veth 192.0.2.1/24",
        " dumpme1 UP mtu 1500 veth",
        "route 192.0.2.0/24 dev dumpme0 proto kernel scope link src 192.0.2.1",
        "route 198.51.100.0/24 via 192.0.2.2 dev dumpme0",
        "neigh 192.0.2.2 dev dumpme0",
        // The sockets the body held when it panicked, with their process.
        "tcp LISTEN 127.0.0.1:4242 uid ",
        &format!("pid {pid}"),
        "udp UNCONN 192.0.2.1:5353 uid ",
    ] {
        assert!(state.contains(expected), "{expected:?} not in:\n{state}");
    }
    let line = |start: &str| {
        state
            .lines()
            .find(|l| l.contains(start))
            .unwrap_or_else(|| panic!("no {start:?} in:\n{state}"))
            .to_owned()
    };
    assert!(line("tcp LISTEN 127.0.0.1:4242").ends_with(&format!("pid {pid}")));
    // Counters: the ARP request for 192.0.2.2 left dumpme0 and reached
    // its peer.
    let tx = |l: &str| -> u64 {
        let after = l.split(" tx ").nth(1).unwrap();
        after.split('p').next().unwrap().parse().unwrap()
    };
    assert!(tx(&line(" dumpme0 ")) >= 1, "{state}");
}

#[test]
fn a_test_returning_err_prints_its_namespace_state() {
    let out = run_fixture("fixture_dump_err", &[]);
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("netns-test: state of the test's"), "{text}");
    assert!(
        text.contains("dumpme0 UP mtu 1500 veth 192.0.2.1/24"),
        "{text}"
    );
}

static LAB: Fixture<Network> = Fixture::new("nt-dump-lab", || {
    Topology::new()
        .host("client")
        .host("server")
        .link("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
});

#[netns_test(fixture = LAB, host = "client")]
#[ignore = "fixture: run by a_fixture_test_prints_every_host"]
fn fixture_dump_in_fixture() {
    assert!(!armed(), "deliberate failure");
}

/// A fixture's host: its state first (the body's), then the other hosts'.
#[test]
fn a_fixture_test_prints_every_host() {
    let out = run_fixture("fixture_dump_in_fixture", &[]);
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    let client = text
        .find("netns-test: state of client network namespace:\n")
        .unwrap_or_else(|| panic!("{text}"));
    let server = text
        .find("netns-test: state of server network namespace:\n")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(client < server, "{text}");
    assert!(
        text[client..server].contains(" eth0 UP mtu 1500 veth 192.0.2.1/24"),
        "{text}"
    );
    assert!(
        text[server..].contains(" eth0 UP mtu 1500 veth 192.0.2.2/24"),
        "{text}"
    );
}

#[netns_test]
#[ignore = "fixture: run by a_network_the_body_built_is_dumped_from_the_panicking_host"]
fn fixture_dump_in_a_network_of_the_body() {
    let net = Topology::new()
        .host("client")
        .host("router")
        .host("server")
        .link("client", "eth0", "router", "eth0")
        .link("router", "eth1", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("router", "eth0", "192.0.2.254/24")
        .addr("router", "eth1", "198.51.100.254/24")
        .addr("server", "eth0", "198.51.100.2/24")
        .build()
        .unwrap();
    let _listener = net
        .host("server")
        .run(|| TcpListener::bind("198.51.100.2:4343"))
        .unwrap()
        .unwrap();
    net.host("client")
        .run(|| assert!(!armed(), "deliberate failure in client"))
        .unwrap();
}

/// The body holds a network and fails in one of its hosts: the dump shows
/// that host first, then the network's other hosts (the server's listening
/// socket included), read before the network drops.
#[test]
fn a_network_the_body_built_is_dumped_from_the_panicking_host() {
    let out = run_fixture("fixture_dump_in_a_network_of_the_body", &[]);
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("deliberate failure in client"), "{text}");
    let at = |host: &str| {
        text.find(&format!("netns-test: state of {host} network namespace:\n"))
            .unwrap_or_else(|| panic!("no state of {host}:\n{text}"))
    };
    let (client, router, server) = (at("client"), at("router"), at("server"));
    assert!(client < router && router < server, "{text}");
    assert!(text[client..router].contains("192.0.2.1/24"), "{text}");
    assert!(text[server..].contains("198.51.100.2/24"), "{text}");
    assert!(text[server..].contains("198.51.100.2:4343"), "{text}");
    // The client's state is read once, as the panicking host's.
    assert_eq!(
        text.matches("netns-test: state of client network namespace:")
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn a_passing_test_prints_nothing() {
    let out = run_fixture("fixture_dump_passes", &[]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("netns-test"), "{text}");
}

#[test]
fn netns_test_dump_0_turns_it_off() {
    for off in ["0", "off"] {
        let out = run_fixture("fixture_dump_panics", &[("NETNS_TEST_DUMP", off)]);
        let text = output_text(&out);
        assert!(!out.status.success(), "{text}");
        assert!(text.contains("deliberate failure"), "{text}");
        assert!(!text.contains("netns-test"), "{off}: {text}");
    }
}

#[test]
fn state_is_there_on_demand() {
    let ns = Netns::new().unwrap();
    let text = ns.state().unwrap().to_string();
    assert!(
        text.starts_with("link 1 lo UP mtu 65536 127.0.0.1/8"),
        "{text}"
    );
}

/// TCP and UDP are dumped only for a family the namespace's counts say has
/// sockets (`sockstat`, `sockstat6`): an IPv6 listener alone, an IPv6 UDP
/// socket alone, and a TIME-WAIT left when every socket is closed, are all
/// still there.
#[test]
fn state_lists_tcp_sockets_of_either_family_and_time_wait() {
    let ns = Netns::new().unwrap();
    // The state while the socket `open` makes is open.
    let state_holding = |open: fn() -> Box<dyn std::any::Any>| {
        ns.run(move || {
            let _socket = open();
            Netns::current().unwrap().state().unwrap().to_string()
        })
        .unwrap()
    };
    let text = state_holding(|| Box::new(TcpListener::bind("[::1]:4243").unwrap()));
    assert!(text.contains("tcp LISTEN [::1]:4243 "), "{text}");
    let text = state_holding(|| Box::new(UdpSocket::bind("[::1]:4245").unwrap()));
    assert!(text.contains("udp UNCONN [::1]:4245 "), "{text}");
    assert!(!text.contains("tcp "), "{text}");
    ns.run(|| {
        let listener = TcpListener::bind("127.0.0.1:4244").unwrap();
        let client = std::net::TcpStream::connect("127.0.0.1:4244").unwrap();
        let (server, _) = listener.accept().unwrap();
        // The side that closes first keeps the TIME-WAIT.
        drop(client);
        let mut buf = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut &server, &mut buf).unwrap(), 0);
    })
    .unwrap();
    let text = ns.state().unwrap().to_string();
    assert!(text.contains("tcp TIME-WAIT 127.0.0.1:"), "{text}");
}

/// Runs itself in a child with one test thread, so that the counts are
/// this test's: passing runs with `NETNS_TEST_KEEP=failed` and the dump on,
/// then (in a second child, without `NETNS_TEST_KEEP`: settings are read
/// once per process, and a kept namespace is meant to stay) a failing one
/// with the dump, leave no thread and no fd.
#[test]
fn nothing_is_left_after_a_run() {
    let Ok(mode) = std::env::var(FIXTURE_ENV) else {
        for (mode, keep) in [("pass", Some("failed")), ("fail", None)] {
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            cmd.args(["--exact", "nothing_is_left_after_a_run", "--test-threads=1"])
                .env(FIXTURE_ENV, mode)
                .env_remove("NETNS_TEST_KEEP");
            if let Some(keep) = keep {
                cmd.env("NETNS_TEST_KEEP", keep);
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{mode}: {}", output_text(&out));
        }
        return;
    };
    let pass = || {
        run_test::<(), _>(TestOptions::default(), || {
            with_state(|| {});
        })
    };
    let fail = || {
        run_test::<Result<(), String>, _>(TestOptions::default(), || {
            let mut r = Ok(());
            with_state(|| r = Err("deliberate".to_owned()));
            r
        })
    };
    // Warm up: the first run sets up what every later one shares.
    pass();
    let (threads, fds) = (thread_count(), fd_count());
    if mode == "pass" {
        for _ in 0..3 {
            pass();
        }
        assert_eq!(
            (thread_count(), fd_count()),
            (threads, fds),
            "after passing runs"
        );
        return;
    }
    let failed: Result<(), TestFailure> = fail();
    assert!(failed.is_err());
    assert_eq!(
        (thread_count(), fd_count()),
        (threads, fds),
        "after a failed run"
    );
}
