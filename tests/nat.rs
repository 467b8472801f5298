//! NAT routers (feature `nftables`) as a NAT-traversal library sees them:
//! a client behind the NAT asks two outside "what is my address" servers,
//! STUN-style, from one UDP socket, and the mapped ports are equal or
//! different as each RFC 4787 mapping promises; a port forward reached from
//! outside; hairpinning on and off; curl behind the NAT reaching nginx
//! outside by name; the NAT's conntrack entries in the router's state.
//!
//! Needs `nft` (Debian package nftables; `.ci/run` installs it), and nginx
//! and curl for the last test: without them a test says so and returns,
//! unless `NETNS_TEST_REQUIRE=1`, which makes it fail.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use netns_test::{netns_test, Listening, Mapping, Nat, Network, Process, Topology};

const WAIT: Duration = Duration::from_secs(5);

/// Inside, LAN `home`: the router `nat` (10.0.0.1), `client` (10.0.0.2),
/// `server` (10.0.0.3). Outside, LAN `internet`: `nat` (203.0.113.1),
/// `stun1` (203.0.113.10), `stun2` (203.0.113.20). Outside hosts have no
/// route to the inside: only translated traffic can come back.
fn lab(nat: Nat) -> Network {
    Topology::new()
        .router("nat")
        .host("client")
        .host("server")
        .host("stun1")
        .host("stun2")
        .lan(
            "home",
            &[("nat", "eth0"), ("client", "eth0"), ("server", "eth0")],
        )
        .lan(
            "internet",
            &[("nat", "eth1"), ("stun1", "eth0"), ("stun2", "eth0")],
        )
        .addr("nat", "eth0", "10.0.0.1/24")
        .addr("client", "eth0", "10.0.0.2/24")
        .addr("server", "eth0", "10.0.0.3/24")
        .addr("nat", "eth1", "203.0.113.1/24")
        .addr("stun1", "eth0", "203.0.113.10/24")
        .addr("stun2", "eth0", "203.0.113.20/24")
        .route("client", "default", "10.0.0.1")
        .route("server", "default", "10.0.0.1")
        .nat("nat", nat)
        .build()
        .unwrap()
}

/// A "tell me my address" responder on UDP `port` of `host`: each
/// datagram is answered with its source address as text, until `stop`.
fn responder(net: &Network, host: &str, port: u16) -> std::thread::JoinHandle<()> {
    let socket = net
        .host(host)
        .run(move || UdpSocket::bind(("0.0.0.0", port)).unwrap())
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if &buf[..n] == b"stop" {
                break;
            }
            let _ = socket.send_to(from.to_string().as_bytes(), from);
        }
    })
}

/// The mapped address each server reports for one client socket (inside
/// port 5000), asked in order.
fn mapped(net: &Network, servers: &[&str]) -> Vec<SocketAddr> {
    let servers: Vec<SocketAddr> = servers.iter().map(|s| s.parse().unwrap()).collect();
    net.host("client")
        .run(move || {
            let socket = UdpSocket::bind("10.0.0.2:5000").unwrap();
            socket.set_read_timeout(Some(WAIT)).unwrap();
            servers
                .iter()
                .map(|server| {
                    socket.send_to(b"who am i", server).unwrap();
                    let mut buf = [0u8; 64];
                    let (n, from) = socket.recv_from(&mut buf).unwrap();
                    assert_eq!(from, *server);
                    std::str::from_utf8(&buf[..n]).unwrap().parse().unwrap()
                })
                .collect()
        })
        .unwrap()
}

/// The STUN-style exchange under `mapping`: the reports for stun1:3478,
/// stun1:3479 and stun2:3478.
fn stun(mapping: Mapping) -> (Network, Vec<SocketAddr>) {
    let net = lab(Nat::outside("eth1").mapping(mapping));
    let servers = [("stun1", 3478), ("stun1", 3479), ("stun2", 3478)];
    let threads: Vec<_> = servers
        .iter()
        .map(|(h, p)| responder(&net, h, *p))
        .collect();
    let seen = mapped(
        &net,
        &[
            "203.0.113.10:3478",
            "203.0.113.10:3479",
            "203.0.113.20:3478",
        ],
    );
    for ((host, port), thread) in servers.iter().zip(threads) {
        let addr = format!(
            "{}:{port}",
            if *host == "stun1" {
                "203.0.113.10"
            } else {
                "203.0.113.20"
            }
        );
        net.host("client")
            .run(|| UdpSocket::bind("0.0.0.0:0").unwrap().send_to(b"stop", addr))
            .unwrap()
            .unwrap();
        thread.join().unwrap();
    }
    for addr in &seen {
        assert_eq!(addr.ip().to_string(), "203.0.113.1", "{seen:?}");
    }
    (net, seen)
}

#[netns_test]
fn endpoint_independent_mapping_shows_one_address_to_every_server() {
    if !common::have("nft", "nftables") {
        return;
    }
    let (net, seen) = stun(Mapping::EndpointIndependent);
    assert_eq!(seen[0], seen[1], "{seen:?}");
    assert_eq!(seen[0], seen[2], "{seen:?}");
    // The inside endpoint alone decides: a new lab maps it to the same port.
    let (_again, again) = stun(Mapping::EndpointIndependent);
    assert_eq!(again, seen);
    // The router's conntrack table shows the translation: the inside
    // socket and the outside port every server saw. Rootless too where the
    // kernel lets the user namespace read it; else the dump says why.
    let state = net.host("nat").state().unwrap().to_string();
    let port = format!("dst=203.0.113.20 sport=5000 dport=3478 src=203.0.113.20 dst=203.0.113.1 sport=3478 dport={}", seen[0].port());
    let shown = state
        .lines()
        .any(|l| l.contains("conntrack ") && l.contains("src=10.0.0.2") && l.contains(&port));
    let unreadable = state.contains("nf_conntrack cannot be read (EACCES)");
    assert!(shown || (common::is_rootless() && unreadable), "{state}");
}

#[netns_test]
fn address_dependent_mapping_changes_with_the_server_address_only() {
    if !common::have("nft", "nftables") {
        return;
    }
    let (_net, seen) = stun(Mapping::AddressDependent);
    assert_eq!(seen[0], seen[1], "{seen:?}");
    assert_ne!(seen[0], seen[2], "{seen:?}");
}

#[netns_test]
fn address_and_port_dependent_mapping_changes_with_every_server_port() {
    if !common::have("nft", "nftables") {
        return;
    }
    let (_net, seen) = stun(Mapping::AddressAndPortDependent);
    assert_ne!(seen[0], seen[1], "{seen:?}");
    assert_ne!(seen[0], seen[2], "{seen:?}");
    assert_ne!(seen[1], seen[2], "{seen:?}");
}

/// Connects from `host` to the router's outside port 8080 (forwarded to
/// the server's 80): the address the server saw, or the error kind.
fn through_forward(net: &Network, listener: &TcpListener, host: &str) -> Result<String, ErrorKind> {
    let connected = net
        .host(host)
        .run(|| {
            TcpStream::connect_timeout(&"203.0.113.1:8080".parse().unwrap(), WAIT)
                .map_err(|e| e.kind())
        })
        .unwrap();
    let _stream = connected?;
    let (_, peer) = listener.accept().unwrap();
    Ok(peer.ip().to_string())
}

fn server_listener(net: &Network) -> TcpListener {
    net.host("server")
        .run(|| TcpListener::bind("0.0.0.0:80").unwrap())
        .unwrap()
}

#[netns_test]
fn a_port_forward_reaches_the_inside_and_hairpinning_decides_for_inside_hosts() {
    if !common::have("nft", "nftables") {
        return;
    }
    let net = lab(Nat::outside("eth1").forward_tcp(8080, "server", 80));
    let listener = server_listener(&net);
    // From outside: forwarded, the outside client's own address kept.
    assert_eq!(
        through_forward(&net, &listener, "stun1"),
        Ok("203.0.113.10".to_owned())
    );
    // Hairpinning off: the client reaches the router itself, which refuses.
    assert_eq!(
        through_forward(&net, &listener, "client"),
        Err(ErrorKind::ConnectionRefused)
    );
    drop((listener, net));

    let net = lab(Nat::outside("eth1")
        .forward_tcp(8080, "server", 80)
        .hairpin(true));
    let listener = server_listener(&net);
    assert_eq!(
        through_forward(&net, &listener, "stun1"),
        Ok("203.0.113.10".to_owned())
    );
    // Hairpinning on: forwarded, and the server sees the router (so its
    // answer goes back through it).
    assert_eq!(
        through_forward(&net, &listener, "client"),
        Ok("10.0.0.1".to_owned())
    );
}

#[netns_test]
fn bad_nat_declarations_are_refused_before_anything_is_built() {
    let base = || {
        Topology::new()
            .router("nat")
            .host("plain")
            .link("nat", "eth1", "plain", "eth0")
            .addr("nat", "eth1", "203.0.113.1/24")
    };
    let cases = [
        (base().nat("plain", Nat::outside("eth0")), "not a router"),
        (
            base().nat("nat", Nat::outside("eth0")),
            "is not a link of this router",
        ),
        (
            base()
                .link("nat", "eth2", "plain", "eth1")
                .addr("nat", "eth2", "2001:db8::1/64")
                .nat("nat", Nat::outside("eth2")),
            "has no IPv4 address",
        ),
        (
            base().nat("nat", Nat::outside("eth1").forward_tcp(1, "nobody", 2)),
            "neither an IPv4 address",
        ),
        (
            base().nat("nat", Nat::outside("eth1").forward_tcp(1, "plain", 2)),
            "neither an IPv4 address",
        ),
        (
            base().nat("nat", Nat::outside("eth1").forward_udp(0, "10.0.0.3", 2)),
            "port 0",
        ),
        (
            base()
                .nat("nat", Nat::outside("eth1"))
                .nat("nat", Nat::outside("eth1")),
            "has a NAT already",
        ),
    ];
    for (topology, want) in cases {
        let e = topology.build().unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
    }
}

/// nginx in the foreground on port 8080 of `host`, writing each request's
/// client address to `access.log` in its directory, which goes with the
/// guard.
struct Nginx {
    dir: std::path::PathBuf,
    process: Process,
}

impl Nginx {
    fn start(net: &Network, host: &str) -> Nginx {
        let dir = std::env::temp_dir().join(format!("netns-test-nat-nginx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::write(dir.join("www/index.html"), "hello from outside\n").unwrap();
        let d = dir.display();
        let conf = format!(
            "daemon off; master_process off; worker_processes 1; user root root;\n\
             pid {d}/nginx.pid; error_log stderr info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               log_format peer 'peer=$remote_addr'; access_log {d}/access.log peer;\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               server {{ listen 0.0.0.0:8080; root {d}/www; }}\n\
             }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let process = net
            .host(host)
            .spawn(
                Command::new("nginx")
                    .arg("-e")
                    .arg("stderr")
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf")),
            )
            .unwrap();
        process.wait_for(Listening::tcp(8080), WAIT).unwrap();
        Nginx { dir, process }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[netns_test]
fn curl_behind_the_nat_reaches_nginx_outside_by_name() {
    if !common::have("nft", "nftables")
        || !common::have("nginx", "nginx")
        || !common::have("curl", "curl")
    {
        return;
    }
    let net = lab(Nat::outside("eth1"));
    let nginx = Nginx::start(&net, "stun1");
    let out = net
        .host("client")
        .run(|| {
            Command::new("curl")
                .args([
                    "--silent",
                    "--show-error",
                    "--noproxy",
                    "*",
                    "--max-time",
                    "10",
                ])
                .arg("http://stun1:8080/")
                .output()
                .unwrap()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from outside\n");
    // nginx saw the router's outside address, not the client's. Stopped
    // first: its log phase for the request is over.
    nginx.process.stop().unwrap();
    let mut log = String::new();
    std::fs::File::open(nginx.dir.join("access.log"))
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert_eq!(log, "peer=203.0.113.1\n");
}
