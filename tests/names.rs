//! Host names in a `Network`: every host resolves every host (and its
//! aliases), IPv4 and IPv6, from `run` threads and spawned programs; an
//! unknown name fails fast; two labs with the same names resolve their own;
//! the host's `/etc` is never changed; a plain namespace pays no mount work.
//!
//! Programs from Debian packages that `.ci/run` installs (socat, curl,
//! python3).

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::{Duration, Instant};

use netns_test::{netns_test, Netns, Network, Ready, Topology};

const WAIT: Duration = Duration::from_secs(10);

/// client -- server on one link, IPv4 and IPv6; `v6only` on a second link
/// of the server with an IPv6 address only.
fn lab(server_v4: &str, server_v6: &str) -> Network {
    Topology::new()
        .host("client")
        .host("server")
        .host("v6only")
        .link("client", "eth0", "server", "eth0")
        .link("server", "eth1", "v6only", "eth0")
        .addr(
            "client",
            "eth0",
            &format!("{}.1/24", server_v4.rsplit_once('.').unwrap().0),
        )
        .addr("client", "eth0", "2001:db8:1::1/64")
        .addr("server", "eth0", &format!("{server_v4}/24"))
        .addr("server", "eth0", &format!("{server_v6}/64"))
        .addr("server", "eth1", "2001:db8:2::1/64")
        .addr("v6only", "eth0", "2001:db8:2::2/64")
        .route("v6only", "default", "2001:db8:2::1")
        .alias("server", "db.example.test")
        .build()
        .unwrap()
}

fn resolve(name: &str) -> std::io::Result<BTreeSet<IpAddr>> {
    Ok((name, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

fn mnt_ns_of_thread() -> u64 {
    common::inode_of("/proc/thread-self/ns/mnt")
}

#[netns_test]
fn a_run_thread_connects_by_name_ipv4_and_ipv6() {
    let hosts_before = std::fs::read("/etc/hosts").unwrap();
    let net = lab("192.0.2.2", "2001:db8:1::2");
    let want: BTreeSet<IpAddr> = net.addrs_of("server").into_iter().collect();
    assert_eq!(want.len(), 3, "{want:?}");
    let (l4, l6) = net
        .host("server")
        .run(|| {
            (
                TcpListener::bind("192.0.2.2:8080").unwrap(),
                TcpListener::bind("[2001:db8:1::2]:8080").unwrap(),
            )
        })
        .unwrap();
    let (seen, by_alias) = net
        .host("client")
        .run(|| {
            TcpStream::connect("server:8080").unwrap();
            TcpStream::connect(("192.0.2.2", 8080)).unwrap();
            (
                resolve("server").unwrap(),
                resolve("db.example.test").unwrap(),
            )
        })
        .unwrap();
    assert_eq!(seen, want);
    assert_eq!(by_alias, want);
    // Both connections arrived, whichever family getaddrinfo put first.
    l4.set_nonblocking(true).unwrap();
    l6.set_nonblocking(true).unwrap();
    let accepted = [
        l4.accept().is_ok(),
        l6.accept().is_ok(),
        l4.accept().is_ok(),
    ];
    assert_eq!(accepted.iter().filter(|a| **a).count(), 2, "{accepted:?}");
    // An IPv6-only host, one hop away, by name.
    let l = net
        .host("v6only")
        .run(|| TcpListener::bind("[::]:8081").unwrap())
        .unwrap();
    let peer = net
        .host("server")
        .run(|| {
            TcpStream::connect("v6only:8081")
                .unwrap()
                .peer_addr()
                .unwrap()
        })
        .unwrap();
    assert_eq!(peer, "[2001:db8:2::2]:8081".parse::<SocketAddr>().unwrap());
    drop(l);
    // The host's files and mount table are as they were.
    drop(net);
    assert_eq!(std::fs::read("/etc/hosts").unwrap(), hosts_before);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(" /etc/hosts "), "{mounts}");
}

#[netns_test]
fn spawned_programs_resolve_by_name() {
    let net = lab("192.0.2.2", "2001:db8:1::2");
    let dir = std::env::temp_dir().join(format!("netns-test-names-www-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "by name\n").unwrap();
    let web = net
        .host("server")
        .spawn(
            Command::new("python3")
                .args(["-m", "http.server", "8080", "--bind", "::"])
                .current_dir(&dir),
        )
        .unwrap();
    // The readiness HTTP thread resolves the lab's names too.
    web.wait_until(Ready::http("http://server:8080/"), WAIT)
        .unwrap();
    let curl = net
        .host("client")
        .spawn(Command::new("curl").args([
            "-sS",
            "--max-time",
            "5",
            "http://db.example.test:8080/",
        ]))
        .unwrap();
    let status = curl.wait().unwrap();
    let out = std::fs::read_to_string(curl.log_path()).unwrap();
    assert!(status.success(), "{status}: {out}");
    assert_eq!(out, "by name\n");
    let socat = net
        .host("client")
        .spawn(Command::new("socat").args(["-u", "OPEN:/dev/null", "TCP6:server:8080"]))
        .unwrap();
    assert!(socat.wait().unwrap().success(), "{}", socat.log_tail(5));
    // getent reads the same hosts file: every address of the server.
    let getent = net
        .host("client")
        .spawn(Command::new("getent").args(["ahosts", "server"]))
        .unwrap();
    assert!(getent.wait().unwrap().success());
    let listed = std::fs::read_to_string(getent.log_path()).unwrap();
    for addr in net.addrs_of("server") {
        assert!(listed.contains(&addr.to_string()), "{addr}: {listed}");
    }
    drop(web);
    std::fs::remove_dir_all(dir).unwrap();
}

#[netns_test]
fn an_unknown_name_fails_at_once() {
    // With a default route: a query that left would wait for its timeout.
    let net = common::client_router_server().build().unwrap();
    let took = net
        .host("client")
        .run(|| {
            let start = Instant::now();
            let err = resolve("nosuch.example.com").unwrap_err();
            assert!(resolve("server").is_ok());
            (start.elapsed(), err.to_string())
        })
        .unwrap();
    assert!(took.0 < Duration::from_secs(2), "{took:?}");
    let start = Instant::now();
    let getent = net
        .host("client")
        .spawn(Command::new("getent").args(["hosts", "nosuch.example.com"]))
        .unwrap();
    let status = getent.wait().unwrap();
    assert_eq!(status.code(), Some(2), "not found: {status}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[netns_test]
fn two_labs_with_the_same_names_resolve_their_own() {
    let a = lab("192.0.2.2", "2001:db8:1::2");
    let b = lab("198.51.100.2", "2001:db8:1::22");
    std::thread::scope(|s| {
        let ta = s.spawn(|| a.host("client").run(|| resolve("server").unwrap()).unwrap());
        let tb = s.spawn(|| b.host("client").run(|| resolve("server").unwrap()).unwrap());
        let (ra, rb) = (ta.join().unwrap(), tb.join().unwrap());
        assert_eq!(ra, a.addrs_of("server").into_iter().collect());
        assert_eq!(rb, b.addrs_of("server").into_iter().collect());
        assert_ne!(ra, rb);
    });
    let (dir_a, dir_b) = (a.etc_dir().unwrap(), b.etc_dir().unwrap());
    assert_ne!(dir_a, dir_b);
    let mut hosts = String::new();
    std::fs::File::open(dir_a.join("hosts"))
        .unwrap()
        .read_to_string(&mut hosts)
        .unwrap();
    assert!(
        hosts.contains("192.0.2.2\tserver db.example.test"),
        "{hosts}"
    );
    drop(a);
    assert!(!dir_a.exists(), "{} left behind", dir_a.display());
    assert!(dir_b.exists());
}

#[netns_test]
fn a_plain_namespace_pays_no_mount_work() {
    let main = common::inode_of("/proc/self/ns/mnt");
    let ns = Netns::new().unwrap();
    assert_eq!(ns.run(mnt_ns_of_thread).unwrap(), main);
    let net = lab("192.0.2.2", "2001:db8:1::2");
    assert_ne!(net.host("client").run(mnt_ns_of_thread).unwrap(), main);
}

#[test]
fn a_bad_alias_is_refused_and_builds_nothing() {
    for (host, alias) in [
        ("server", "has space"),
        ("nosuch", "ok"),
        ("server", "client"),
    ] {
        let err = Topology::new()
            .host("client")
            .host("server")
            .alias(host, alias)
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("alias {alias}")), "{err}");
    }
}

/// A program spawned in a named namespace sees `/etc/netns/NAME/*` over
/// `/etc`, as `ip netns exec NAME` shows them; the host's files stay.
#[test]
fn a_named_namespace_spawns_with_its_etc_netns_files() {
    if common::is_rootless() {
        // /etc/netns is root's: nobody cannot write the file to bind.
        eprintln!("skipped: rootless mode cannot write /etc/netns");
        return;
    }
    let hosts_before = std::fs::read("/etc/hosts").unwrap();
    let name = common::unique("nt-etc");
    let dir = std::path::Path::new("/etc/netns").join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), "203.0.113.9 special.example.test\n").unwrap();
    let ns = Netns::create(&name).unwrap();
    let getent = ns
        .spawn(Command::new("getent").args(["hosts", "special.example.test"]))
        .unwrap();
    let status = getent.wait().unwrap();
    let out = std::fs::read_to_string(getent.log_path()).unwrap();
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(status.success(), "{status}: {out}");
    assert!(out.starts_with("203.0.113.9"), "{out}");
    assert_eq!(std::fs::read("/etc/hosts").unwrap(), hosts_before);
}

/// A killed test process drops nothing: the next build removes the files
/// of networks whose process is gone.
#[netns_test]
fn a_build_removes_the_files_a_killed_process_left() {
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let left = std::env::temp_dir().join(format!("netns-test-etc-{pid}-00000000000000aa"));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("hosts"), "192.0.2.2 server\n").unwrap();
    let net = lab("192.0.2.2", "2001:db8:1::2");
    assert!(!left.exists(), "{} left behind", left.display());
    let mine = net.etc_dir().unwrap();
    assert!(mine.join("hosts").is_file());
}
