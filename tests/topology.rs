//! Topologies over real links: traffic across a router, a LAN on a bridge,
//! rollback of a failed build, stale entries of killed runs.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use common::{unique, IpNetnsDelOnDrop};
use netns_test::{Error, Network, RunDir, Topology};

/// Starts a TCP echo server on `host` at `addr:8080`; returns its thread.
fn tcp_echo(net: &Network, host: &str, addr: IpAddr) -> std::thread::JoinHandle<()> {
    let listener = net
        .host(host)
        .run(move || TcpListener::bind(SocketAddr::new(addr, 8080)))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(&buf).unwrap();
    })
}

fn tcp_round_trip_from(net: &Network, host: &str, to: IpAddr) -> std::io::Result<()> {
    tcp_round_trip_within(net, host, to, Duration::from_secs(3))
}

fn tcp_round_trip_within(
    net: &Network,
    host: &str,
    to: IpAddr,
    limit: Duration,
) -> std::io::Result<()> {
    net.host(host)
        .run(move || {
            let mut s = TcpStream::connect_timeout(&SocketAddr::new(to, 8080), limit)?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(b"ping")?;
            let mut back = [0u8; 4];
            s.read_exact(&mut back)?;
            assert_eq!(&back, b"ping");
            Ok(())
        })
        .unwrap()
}

fn udp_round_trip(net: &Network, from: &str, to_host: &str, to: IpAddr) {
    let server = net
        .host(to_host)
        .run(move || UdpSocket::bind(SocketAddr::new(to, 5353)).unwrap())
        .unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        let (n, peer) = server.recv_from(&mut buf).unwrap();
        server.send_to(&buf[..n], peer).unwrap();
    });
    let wildcard: IpAddr = if to.is_ipv4() {
        "0.0.0.0".parse().unwrap()
    } else {
        "::".parse().unwrap()
    };
    net.host(from)
        .run(move || {
            let sock = UdpSocket::bind(SocketAddr::new(wildcard, 0)).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            sock.send_to(b"datagram", SocketAddr::new(to, 5353))
                .unwrap();
            let mut buf = [0u8; 16];
            let (n, _) = sock.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"datagram");
        })
        .unwrap();
    echo.join().unwrap();
}

#[test]
fn tcp_and_udp_cross_the_router_v4_and_v6() {
    let net = common::client_router_server().build().unwrap();
    for to in [
        IpAddr::V4(net.ipv4("server", "eth0")),
        IpAddr::V6(net.ipv6("server", "eth0")),
    ] {
        let server = tcp_echo(&net, "server", to);
        tcp_round_trip_from(&net, "client", to).unwrap_or_else(|e| panic!("TCP to {to}: {e}"));
        server.join().unwrap();
        udp_round_trip(&net, "client", "server", to);
    }
    assert_eq!(
        net.host("router").sysctl("net.ipv4.ip_forward").unwrap(),
        "1"
    );
}

/// With forwarding off on the router, the same connect fails: the router
/// drops the SYN without an ICMP error (net/ipv4/route.c `ip_error` and
/// net/ipv6/ip6_output.c `ip6_forward` send none when forwarding is off), so
/// the connect times out, for both families.
#[test]
fn without_forwarding_the_connect_fails() {
    let net = common::client_router_server().build().unwrap();
    net.host("router").set_forwarding(false).unwrap();
    let v4 = IpAddr::V4(net.ipv4("server", "eth0"));
    let v6 = IpAddr::V6(net.ipv6("server", "eth0"));
    let _l4 = net
        .host("server")
        .run(move || TcpListener::bind((v4, 8080)).unwrap())
        .unwrap();
    let _l6 = net
        .host("server")
        .run(move || TcpListener::bind((v6, 8080)).unwrap())
        .unwrap();
    let limit = Duration::from_millis(700);
    let e4 = tcp_round_trip_within(&net, "client", v4, limit).unwrap_err();
    assert_eq!(e4.kind(), ErrorKind::TimedOut, "IPv4: {e4}");
    let e6 = tcp_round_trip_within(&net, "client", v6, limit).unwrap_err();
    assert_eq!(e6.kind(), ErrorKind::TimedOut, "IPv6: {e6}");
    // The packets reached the router and stopped there: its own addresses
    // still answer.
    let router = IpAddr::V4(net.ipv4("router", "eth0"));
    let server = tcp_echo(&net, "router", router);
    tcp_round_trip_from(&net, "client", router).unwrap();
    server.join().unwrap();
    // And on again: traffic flows.
    drop((_l4, _l6));
    net.host("router").set_forwarding(true).unwrap();
    let server = tcp_echo(&net, "server", v4);
    tcp_round_trip_from(&net, "client", v4).unwrap();
    server.join().unwrap();
}

#[test]
fn a_lan_of_four_hosts_on_one_bridge_all_pairs_reach() {
    let hosts = ["a", "b", "c", "d"];
    let mut topo = Topology::new();
    for h in hosts {
        topo = topo.host(h);
    }
    let members: Vec<(&str, &str)> = hosts.iter().map(|h| (*h, "eth0")).collect();
    topo = topo.lan("lan0", &members);
    for (i, h) in hosts.iter().enumerate() {
        topo = topo
            .addr(h, "eth0", &format!("203.0.113.{}/24", i + 1))
            .addr(h, "eth0", &format!("2001:db8:3::{}/64", i + 1));
    }
    let net = topo.build().unwrap();
    let bridge_ports = net
        .host("lan0")
        .links()
        .unwrap()
        .into_iter()
        .filter(|l| l.master.is_some())
        .count();
    assert_eq!(bridge_ports, 4);
    for from in hosts {
        for to in hosts.iter().filter(|t| **t != from) {
            for addr in [
                IpAddr::V4(net.ipv4(to, "eth0")),
                IpAddr::V6(net.ipv6(to, "eth0")),
            ] {
                let server = tcp_echo(&net, to, addr);
                tcp_round_trip_from(&net, from, addr)
                    .unwrap_or_else(|e| panic!("{from} -> {to} {addr}: {e}"));
                server.join().unwrap();
            }
        }
    }
}

#[test]
fn every_host_has_its_own_eth0() {
    let net = common::client_router_server().build().unwrap();
    for host in ["client", "server"] {
        let names: Vec<String> = net
            .host(host)
            .links()
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, ["lo", "eth0"], "{host}");
    }
    assert_ne!(net.host("client"), net.host("server"));
    assert_eq!(
        net.hosts().collect::<Vec<_>>(),
        ["client", "router", "server"]
    );
}

fn entries_with_prefix(prefix: &str) -> Vec<String> {
    RunDir::get()
        .names()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn named_hosts_are_visible_and_removed_on_drop() {
    let prefix = unique("topo");
    let net = common::client_router_server()
        .named(&prefix)
        .build()
        .unwrap();
    let pid = std::process::id();
    let listed = common::ip_netns_list();
    for host in ["client", "router", "server"] {
        let name = format!("{prefix}-{pid}-{host}");
        assert!(listed.contains(&name), "{name} not in {listed:?}");
        assert_eq!(net.host(host).name(), Some(name.as_str()));
    }
    drop(net);
    assert!(entries_with_prefix(&prefix).is_empty());
}

/// A build that fails halfway removes everything it built, and says which
/// step failed: here the last route's gateway is on no connected subnet.
#[test]
fn a_failed_build_rolls_back_and_names_the_step() {
    let prefix = unique("rollback");
    let err = common::client_router_server()
        .route("client", "203.0.113.0/24", "198.51.100.77")
        .named(&prefix)
        .build()
        .unwrap_err();
    let Error::Topology { step, source } = &err else {
        panic!("{err}")
    };
    assert!(
        step.contains("route 203.0.113.0/24 on client via 198.51.100.77"),
        "{step}"
    );
    assert!(step.starts_with("step 18 of 18"), "{step}");
    assert!(source.errno().is_some(), "{source}");
    assert!(
        entries_with_prefix(&prefix).is_empty(),
        "{:?}",
        entries_with_prefix(&prefix)
    );
    assert!(!common::nsfs_mounts().iter().any(|m| m.contains(&prefix)));
}

#[test]
fn invalid_topologies_create_nothing() {
    let prefix = unique("invalid");
    let cases: Vec<(Topology, &str)> = vec![
        (
            Topology::new()
                .host("a")
                .link("a", "eth0", "nowhere", "eth0"),
            "no such host",
        ),
        (Topology::new().host("a").host("a"), "declared twice"),
        (
            Topology::new()
                .host("a")
                .addr("a", "eth0", "192.0.2.300/24"),
            "not an address",
        ),
        (
            Topology::new().host("a").route("a", "default", "gateway"),
            "not an IP address",
        ),
        (
            Topology::new()
                .host("a")
                .route("a", "2001:db8::/32", "192.0.2.1"),
            "family",
        ),
        (Topology::new().host("a/b"), "'/'"),
        (
            Topology::new()
                .host("a")
                .host("b")
                .link("a", "a-much-too-long-name", "b", "eth0"),
            "link",
        ),
    ];
    for (topo, expect) in cases {
        let err = topo.host("extra").named(&prefix).build().unwrap_err();
        assert!(
            err.to_string().contains(expect),
            "{err} does not say {expect:?}"
        );
        assert!(entries_with_prefix(&prefix).is_empty());
    }
}

/// ARCHITECTURE.md 4.11: entries of a killed run (its pid is gone) are removed by
/// the next build of the same named topology; a live process's are not.
#[test]
fn stale_entries_of_dead_processes_are_swept() {
    let prefix = unique("stale");
    let dead = format!("{prefix}-2147483647-client"); // no such pid
    let alive = format!("{prefix}-1-client"); // pid 1 always exists
    let _g1 = IpNetnsDelOnDrop(dead.clone());
    let _g2 = IpNetnsDelOnDrop(alive.clone());
    assert!(common::ip(&["netns", "add", &dead]).status.success());
    assert!(common::ip(&["netns", "add", &alive]).status.success());
    // The records decide: the dead one names a process that is gone; the
    // live one has none (as after `ip netns add`), so it is never removed.
    common::write_owner_record(&dead, 2147483647, 1);
    // A live topology whose prefix extends ours with a number: its entries
    // look like `PREFIX-2024-<pid>-client` and must not pass for process
    // 2024's leftovers.
    let longer = Topology::new()
        .host("client")
        .named(&format!("{prefix}-2024"))
        .build()
        .unwrap();
    let net = Topology::new()
        .host("client")
        .named(&prefix)
        .build()
        .unwrap();
    let left = entries_with_prefix(&prefix);
    assert!(!left.contains(&dead), "stale entry kept: {left:?}");
    assert!(
        left.contains(&alive),
        "live process's entry removed: {left:?}"
    );
    let theirs = format!("{prefix}-2024-{}-client", std::process::id());
    assert!(
        left.contains(&theirs),
        "another topology's live entry removed: {left:?}"
    );
    drop(longer);
    drop(net);
    assert!(common::ip(&["netns", "del", &alive]).status.success());
}

/// `IpNet` is the crate's: what `Network::addrs` returns can be named and
/// built without a dependency on `ipnet`.
#[test]
fn addresses_are_ipnets_of_the_crate() {
    let net = common::client_router_server().build().unwrap();
    let expected: netns_test::IpNet = "198.51.100.2/24".parse().unwrap();
    assert_eq!(net.addrs("server", "eth0")[0], expected);
}

/// Runs `f`, which must panic; returns its message and the file of the
/// panic's location, as a panic hook saw it (installed once for the whole
/// binary: other threads' panics go on to the default hook).
fn panic_site(f: impl FnOnce()) -> (String, String) {
    use std::cell::RefCell;
    thread_local! {
        static SEEN: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
    }
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let recording = SEEN.with(|s| {
                let mut s = s.borrow_mut();
                if s.is_some() {
                    *s = Some(info.location().map(|l| l.file().to_owned()));
                    true
                } else {
                    false
                }
            });
            if !recording {
                default(info);
            }
        }));
    });
    SEEN.with(|s| *s.borrow_mut() = Some(None));
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    let file = SEEN
        .with(|s| s.borrow_mut().take())
        .flatten()
        .unwrap_or_default();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    (message, file)
}

/// A typo in a host's name panics at the caller's line, not the crate's,
/// and the message lists the hosts there are.
#[test]
fn a_typo_panics_at_the_callers_line_with_the_hosts() {
    let net = common::client_router_server().build().unwrap();
    let hosts = "hosts: client, router, server";
    let (message, file) = panic_site(|| {
        net.host("sever");
    });
    assert_eq!(
        message,
        format!("no host \"sever\" in this network; {hosts}")
    );
    assert_eq!(file, file!());
    let (message, file) = panic_site(|| {
        net.ipv4("sever", "eth0");
    });
    assert!(message.contains(hosts), "{message}");
    assert_eq!(file, file!());
    let (message, file) = panic_site(|| {
        net.ipv6("server", "eth9");
    });
    assert!(
        message.contains("server:eth9 has no IPv6 address"),
        "{message}"
    );
    assert_eq!(file, file!());
}

/// A host's address without naming its link: the first of that family on
/// its links other than `lo`, in the order the topology added them.
#[test]
fn a_hosts_address_without_its_link() {
    let net = common::client_router_server()
        .host("quiet")
        .addr("quiet", "lo", "203.0.113.9/32")
        .build()
        .unwrap();
    assert_eq!(net.host_ipv4("server"), net.ipv4("server", "eth0"));
    assert_eq!(net.host_ipv6("server"), net.ipv6("server", "eth0"));
    // The router's first link, as the topology added its addresses.
    assert_eq!(net.host_ipv4("router").to_string(), "192.0.2.1");
    assert_eq!(net.host_ipv6("router").to_string(), "2001:db8:1::1");
    let (message, file) = panic_site(|| {
        net.host_ipv4("quiet");
    });
    assert_eq!(file, file!());
    assert!(
        message.contains("\"quiet\" has no IPv4 address"),
        "{message}"
    );
    let (message, file) = panic_site(|| {
        net.host_ipv6("sever");
    });
    assert_eq!(file, file!());
    assert!(
        message.contains("hosts: client, router, server, quiet"),
        "{message}"
    );
}
