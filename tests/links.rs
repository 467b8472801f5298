//! Links, addresses, routes and sysctls of a namespace, checked with real
//! traffic: TCP connections between namespaces joined by veth pairs, a
//! bridge and a router.
//!
//! Every namespace is anonymous (`Netns::new`): nothing to clean up, and
//! tests running in parallel share nothing. Addresses come from the
//! documentation ranges only. Every wait is bounded.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use netns_test::{Error, Link, Netns, Route};
use rustix::io::Errno;

/// The longest a connection that should work may take: the first SYN or
/// ARP/NDP probe after a link comes up may be dropped while the kernel
/// activates the link's queue, and is retried after a second.
const PATIENCE: Duration = Duration::from_secs(10);

/// How long a connection that should fail is given before it counts as
/// timed out.
const SHORT: Duration = Duration::from_millis(500);

const PORT: u16 = 8080;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TCP listener on `addr`:8080, bound inside `ns` (a socket stays in the
/// namespace it was made in, whichever thread uses it later).
fn listen(ns: &Netns, addr: &str) -> TcpListener {
    let addr = SocketAddr::new(ip(addr), PORT);
    ns.run(|| TcpListener::bind(addr))
        .unwrap()
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"))
}

/// `connect(to)` from a thread inside `from`, given `timeout`.
fn connect(from: &Netns, to: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    from.run(|| TcpStream::connect_timeout(&to, timeout))
        .unwrap()
}

/// Accepts the connection already in `listener`'s queue, waiting at most
/// [`PATIENCE`].
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return stream;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept on {:?}: {e}", listener.local_addr()),
        }
    }
}

/// Connects from `from` to `listener`, sends "ping", gets "pong" back.
fn round_trip(from: &Netns, listener: &TcpListener) {
    let to = listener.local_addr().unwrap();
    let mut client = connect(from, to, PATIENCE).unwrap_or_else(|e| panic!("connect to {to}: {e}"));
    let mut server = accept(listener);
    for s in [&client, &server] {
        s.set_read_timeout(Some(PATIENCE)).unwrap();
    }
    let mut buf = [0; 4];
    client.write_all(b"ping").unwrap();
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    server.write_all(b"pong").unwrap();
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
}

/// Asserts that connecting from `from` to `to` fails by timing out: the
/// packets are dropped on the way, without an ICMP error.
fn assert_times_out(from: &Netns, to: SocketAddr) {
    match connect(from, to, SHORT) {
        Ok(_) => panic!("connect to {to} succeeded"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::TimedOut, "connect to {to}: {e}"),
    }
}

/// Two namespaces joined by a veth pair, `eth0` on both sides, with
/// `192.0.2.{1,2}/24` and `2001:db8:1::{1,2}/64`, both ends up.
fn pair() -> (Netns, Netns) {
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    a.add_veth("eth0", &b, "eth0").unwrap();
    for (ns, n) in [(&a, 1), (&b, 2)] {
        ns.add_addr("eth0", net(&format!("192.0.2.{n}/24")))
            .unwrap();
        ns.add_addr("eth0", net(&format!("2001:db8:1::{n}/64")))
            .unwrap();
        ns.set_up("eth0").unwrap();
    }
    (a, b)
}

fn link<'a>(links: &'a [Link], name: &str) -> &'a Link {
    links
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no link {name} in {links:?}"))
}

#[test]
fn veth_pair_carries_tcp_over_ipv4_and_ipv6_both_ways() {
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    // Both ends are called eth0: the peer is made in b directly.
    a.add_veth("eth0", &b, "eth0").unwrap();
    a.add_addr("eth0", net("192.0.2.1/24")).unwrap();
    a.add_addr("eth0", net("2001:db8:1::1/64")).unwrap();
    b.add_addr("eth0", net("192.0.2.2/24")).unwrap();
    b.add_addr("eth0", net("2001:db8:1::2/64")).unwrap();
    // Bound before the links are even up: IPv6 addresses are added with
    // IFA_F_NODAD, so they are never tentative (bind would fail with
    // EADDRNOTAVAIL).
    let b4 = listen(&b, "192.0.2.2");
    let b6 = listen(&b, "2001:db8:1::2");
    let a4 = listen(&a, "192.0.2.1");
    let a6 = listen(&a, "2001:db8:1::1");
    a.set_up("eth0").unwrap();
    b.set_up("eth0").unwrap();

    round_trip(&a, &b4);
    round_trip(&a, &b6);
    round_trip(&b, &a4);
    round_trip(&b, &a6);
}

#[test]
fn links_and_addrs_show_what_was_configured() {
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    a.add_veth("eth0", &b, "eth0").unwrap();

    let links = a.links().unwrap();
    assert_eq!(links.len(), 2, "{links:?}");
    let lo = link(&links, "lo");
    assert_eq!((lo.index, lo.up, lo.kind.as_deref()), (1, true, None));
    let eth0 = link(&links, "eth0");
    assert_eq!(eth0.kind.as_deref(), Some("veth"));
    assert!(!eth0.up, "a new veth is left down: {eth0:?}");
    assert_eq!(eth0.mtu, Some(1500));
    assert_eq!(eth0.master, None);

    a.add_addr("eth0", net("192.0.2.1/24")).unwrap();
    a.add_addr("eth0", net("2001:db8:1::1/64")).unwrap();
    a.set_up("eth0").unwrap();
    let links = a.links().unwrap();
    let eth0 = link(&links, "eth0");
    assert!(eth0.up, "{eth0:?}");

    let addrs = a.addrs().unwrap();
    let on_eth0: Vec<IpNet> = addrs
        .iter()
        .filter(|addr| addr.link == "eth0")
        .map(|addr| addr.addr)
        .collect();
    for want in ["192.0.2.1/24", "2001:db8:1::1/64"] {
        assert!(on_eth0.contains(&net(want)), "{want} not in {addrs:?}");
    }
    assert!(addrs
        .iter()
        .all(|addr| addr.index == link(&links, &addr.link).index));
    assert!(
        addrs
            .iter()
            .any(|addr| addr.link == "lo" && addr.addr == net("127.0.0.1/8")),
        "{addrs:?}"
    );
    // b has its own eth0, untouched by a's addresses.
    let b_addrs = b.addrs().unwrap();
    assert!(
        b_addrs
            .iter()
            .all(|addr| !net("192.0.2.0/24").contains(&addr.addr)
                && !net("2001:db8::/32").contains(&addr.addr)),
        "{b_addrs:?}"
    );
}

#[test]
fn a_veth_pair_can_stay_in_one_namespace() {
    let ns = Netns::new().unwrap();
    ns.add_veth("va", &ns, "vb").unwrap();
    let links = ns.links().unwrap();
    for name in ["va", "vb"] {
        assert_eq!(link(&links, name).kind.as_deref(), Some("veth"));
    }
}

#[test]
fn a_bridge_joins_three_namespaces() {
    let sw = Netns::new().unwrap();
    sw.add_bridge("br0").unwrap();
    let hosts: Vec<Netns> = (0..3).map(|_| Netns::new().unwrap()).collect();
    for (i, host) in hosts.iter().enumerate() {
        let port = format!("p{i}");
        sw.add_veth(&port, host, "eth0").unwrap();
        sw.set_master(&port, "br0").unwrap();
        sw.set_up(&port).unwrap();
        host.add_addr("eth0", net(&format!("192.0.2.{}/24", i + 1)))
            .unwrap();
        host.add_addr("eth0", net(&format!("2001:db8:1::{}/64", i + 1)))
            .unwrap();
        host.set_up("eth0").unwrap();
    }
    sw.set_up("br0").unwrap();

    let links = sw.links().unwrap();
    let br0 = link(&links, "br0");
    assert_eq!(br0.kind.as_deref(), Some("bridge"));
    assert!(br0.up);
    for i in 0..3 {
        let port = link(&links, &format!("p{i}"));
        assert_eq!(port.master, Some(br0.index), "{port:?}");
    }

    for (i, from) in hosts.iter().enumerate() {
        for (j, to) in hosts.iter().enumerate() {
            if i == j {
                continue;
            }
            round_trip(from, &listen(to, &format!("192.0.2.{}", j + 1)));
            round_trip(from, &listen(to, &format!("2001:db8:1::{}", j + 1)));
        }
    }
}

#[test]
fn set_master_needs_a_bridge() {
    let ns = Netns::new().unwrap();
    ns.add_veth("va", &ns, "vb").unwrap();
    let err = ns.set_master("va", "br9").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::NODEV), "{err}");
    assert!(err.to_string().contains("br9"), "{err}");
    // A veth cannot take ports.
    let err = ns.set_master("va", "vb").unwrap_err();
    assert!(matches!(err, Error::Netlink { .. }), "{err}");
    assert_eq!(link(&ns.links().unwrap(), "va").master, None);
}

#[test]
fn set_mtu_shows_in_links_and_refuses_what_the_link_cannot_carry() {
    let (a, _b) = pair();
    a.set_mtu("eth0", 1400).unwrap();
    assert_eq!(link(&a.links().unwrap(), "eth0").mtu, Some(1400));

    // Below the IPv4 minimum a veth accepts (ETH_MIN_MTU, 68).
    let err = a.set_mtu("eth0", 67).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::INVAL), "{err}");
    assert!(err.to_string().contains("eth0"), "{err}");
    assert_eq!(link(&a.links().unwrap(), "eth0").mtu, Some(1400));
}

#[test]
fn set_down_stops_traffic_and_set_up_restores_it() {
    let (a, b) = pair();
    let b4 = listen(&b, "192.0.2.2");
    round_trip(&a, &b4);

    // Our own end down: the kernel drops the link's routes, so connect fails
    // at once with ENETUNREACH.
    a.set_down("eth0").unwrap();
    assert!(!link(&a.links().unwrap(), "eth0").up);
    let to = b4.local_addr().unwrap();
    let err = connect(&a, to, SHORT).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(Errno::NETUNREACH.raw_os_error()),
        "{err}"
    );

    a.set_up("eth0").unwrap();
    round_trip(&a, &b4);

    // The far end down: our route stays, the veth has no carrier, the SYN is
    // dropped: a timeout.
    b.set_down("eth0").unwrap();
    assert_times_out(&a, to);

    b.set_up("eth0").unwrap();
    round_trip(&a, &b4);
}

/// `a - r - b` on two subnets: r routes between them while forwarding is
/// on.
#[test]
fn a_router_with_forwarding_joins_two_subnets() {
    let a = Netns::new().unwrap();
    let r = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    // r's link-local addresses usable at once (no DAD): r solicits its IPv6
    // next hops from them, which would hold the first forwarded IPv6 packet
    // for about two seconds.
    for key in [
        "net.ipv6.conf.all.accept_dad",
        "net.ipv6.conf.default.accept_dad",
    ] {
        r.set_sysctl(key, "0").unwrap();
    }
    r.add_veth("eth0", &a, "eth0").unwrap();
    r.add_veth("eth1", &b, "eth0").unwrap();
    for (ns, link, v4, v6) in [
        (&a, "eth0", "192.0.2.2/24", "2001:db8:1::2/64"),
        (&r, "eth0", "192.0.2.1/24", "2001:db8:1::1/64"),
        (&r, "eth1", "198.51.100.1/24", "2001:db8:2::1/64"),
        (&b, "eth0", "198.51.100.2/24", "2001:db8:2::2/64"),
    ] {
        ns.add_addr(link, net(v4)).unwrap();
        ns.add_addr(link, net(v6)).unwrap();
        ns.set_up(link).unwrap();
    }
    let b4 = listen(&b, "198.51.100.2");
    let b6 = listen(&b, "2001:db8:2::2");
    let (to4, to6) = (b4.local_addr().unwrap(), b6.local_addr().unwrap());

    // No route yet: a has no way to 198.51.100.0/24.
    let err = connect(&a, to4, SHORT).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(Errno::NETUNREACH.raw_os_error()),
        "{err}"
    );

    a.add_route(&Route::default_via(ip("192.0.2.1"))).unwrap();
    a.add_route(&Route::default_via(ip("2001:db8:1::1")))
        .unwrap();
    b.add_route(
        &Route::to(net("192.0.2.0/24"))
            .via(ip("198.51.100.1"))
            .dev("eth0"),
    )
    .unwrap();
    b.add_route(&Route::default_v6().via(ip("2001:db8:2::1")).dev("eth0"))
        .unwrap();
    r.set_forwarding(true).unwrap();
    round_trip(&a, &b4);
    round_trip(&a, &b6);

    // Forwarding off: r drops what is not for itself, without an ICMP error.
    r.set_forwarding(false).unwrap();
    assert_times_out(&a, to4);
    assert_times_out(&a, to6);

    r.set_forwarding(true).unwrap();
    round_trip(&a, &b4);
    round_trip(&a, &b6);
}

#[test]
fn add_route_reports_what_the_kernel_refuses() {
    let (a, _b) = pair();
    let route = Route::to(net("198.51.100.0/24")).via(ip("203.0.113.1"));
    let err = a.add_route(&route).unwrap_err();
    // The gateway is on no connected network.
    assert_eq!(err.errno(), Some(Errno::NETUNREACH), "{err}");
    assert!(
        err.to_string()
            .contains("RTM_NEWROUTE 198.51.100.0/24 via 203.0.113.1"),
        "{err}"
    );

    let route = Route::to(net("198.51.100.0/24")).dev("eth9");
    let err = a.add_route(&route).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::NODEV), "{err}");

    let route = Route::to(net("198.51.100.0/24")).via(ip("192.0.2.2"));
    a.add_route(&route).unwrap();
    let err = a.add_route(&route).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EXIST), "{err}");
}

#[test]
fn sysctl_in_a_namespace_leaves_the_host_alone() {
    // This libtest thread is in the host's namespace.
    let host = || std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_before = host();

    let ns = Netns::new().unwrap();
    let other = Netns::new().unwrap();
    let before = ns.sysctl("net.ipv4.ip_forward").unwrap();
    assert!(before == "0" || before == "1", "{before:?}");
    let flipped = if before == "0" { "1" } else { "0" };
    ns.set_sysctl("net.ipv4.ip_forward", flipped).unwrap();
    assert_eq!(ns.sysctl("net.ipv4.ip_forward").unwrap(), flipped);
    assert_eq!(host(), host_before, "the host's ip_forward changed");
    // A new namespace copies IPv4 settings from the host's, not from ns.
    assert_eq!(
        other.sysctl("net.ipv4.ip_forward").unwrap(),
        host_before.trim_end()
    );

    ns.set_forwarding(true).unwrap();
    assert_eq!(ns.sysctl("net.ipv4.ip_forward").unwrap(), "1");
    assert_eq!(ns.sysctl("net.ipv6.conf.all.forwarding").unwrap(), "1");
    ns.set_forwarding(false).unwrap();
    assert_eq!(ns.sysctl("net.ipv4.ip_forward").unwrap(), "0");
    assert_eq!(ns.sysctl("net.ipv6.conf.all.forwarding").unwrap(), "0");
    assert_eq!(host(), host_before, "the host's ip_forward changed");

    // Multi-value keys keep their tabs; only the newline goes.
    let rmem = ns.sysctl("net.ipv4.tcp_rmem").unwrap();
    assert_eq!(rmem.split('\t').count(), 3, "{rmem:?}");
}

#[test]
fn sysctl_errors_name_the_proc_path() {
    let ns = Netns::new().unwrap();
    let err = ns.sysctl("net.ipv4.no_such_key").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::NOENT), "{err}");
    assert!(
        err.to_string()
            .starts_with("open /proc/sys/net/ipv4/no_such_key:"),
        "{err}"
    );
    let err = ns
        .set_sysctl("net.ipv4.ip_forward", "not a number")
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::INVAL), "{err}");
    assert!(
        err.to_string()
            .starts_with("write /proc/sys/net/ipv4/ip_forward:"),
        "{err}"
    );
}

#[test]
fn a_missing_link_is_enodev_naming_the_link_and_the_namespace() {
    let ns = Netns::new().unwrap();
    let inode = format!("net:[{}]", ns.inode());

    let err = ns.add_addr("eth9", net("192.0.2.1/24")).unwrap_err();
    assert!(matches!(err, Error::Netlink { .. }), "{err:?}");
    assert_eq!(err.errno(), Some(Errno::NODEV), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("RTM_NEWADDR 192.0.2.1/24 on eth9") && msg.contains(&inode),
        "{msg}"
    );
    assert!(msg.contains("ENODEV"), "{msg}");

    for err in [
        ns.set_up("eth9").unwrap_err(),
        ns.set_mtu("eth9", 1400).unwrap_err(),
    ] {
        assert_eq!(err.errno(), Some(Errno::NODEV), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("eth9") && msg.contains(&inode), "{msg}");
    }
}

#[test]
fn taken_names_are_eexist_and_leave_the_links_alone() {
    let (a, b) = pair();
    let before = (a.links().unwrap(), b.links().unwrap());
    // eth0 is taken in a; then, with a free name in a, eth0 is taken in b.
    let err = a.add_veth("eth0", &b, "eth1").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EXIST), "{err}");
    let err = a.add_veth("eth1", &b, "eth0").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EXIST), "{err}");
    let err = a.add_bridge("eth0").unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EXIST), "{err}");
    let err = a.add_addr("eth0", net("192.0.2.1/24")).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EXIST), "{err}");
    assert_eq!((a.links().unwrap(), b.links().unwrap()), before);
}

#[test]
fn invalid_link_names_and_sysctl_keys_are_refused_and_change_nothing() {
    let a = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    let before = (a.links().unwrap(), b.links().unwrap());
    let long = "a".repeat(16);
    for bad in ["", "a/b", long.as_str(), "a b", ".", "..", "a:b"] {
        let refused = |r: netns_test::Result<()>| match r {
            Err(Error::InvalidArgument { value, .. }) => assert_eq!(value, bad),
            other => panic!("{bad:?}: {other:?}"),
        };
        refused(a.add_veth(bad, &b, "eth0"));
        refused(a.add_veth("eth0", &b, bad));
        refused(a.add_bridge(bad));
        refused(a.set_up(bad));
        refused(a.set_down(bad));
        refused(a.set_mtu(bad, 1400));
        refused(a.set_master(bad, "lo"));
        refused(a.set_master("lo", bad));
        refused(a.add_addr(bad, net("192.0.2.1/24")));
        refused(a.add_route(&Route::to(net("192.0.2.0/24")).dev(bad)));
    }
    assert_eq!((a.links().unwrap(), b.links().unwrap()), before);
    assert!(a.addrs().unwrap().iter().all(|x| x.link == "lo"));

    let hostname = || std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hostname_before = hostname();
    for bad in ["kernel.hostname", "net/../x", "net.ipv4..ip_forward", "net"] {
        assert!(
            matches!(a.sysctl(bad), Err(Error::InvalidArgument { .. })),
            "{bad}"
        );
        assert!(
            matches!(a.set_sysctl(bad, "x"), Err(Error::InvalidArgument { .. })),
            "{bad}"
        );
    }
    assert_eq!(hostname(), hostname_before);
}
