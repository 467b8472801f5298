//! Per-host firewalls (feature `nftables`): `reject` refuses a TCP connect
//! at once and answers UDP with a port unreachable, `drop` makes a connect
//! time out; rules of a topology apply at build, rules added at run time go
//! with their guard; bad rules change nothing; curl's exit codes tell
//! reject from drop.
//!
//! Needs `nft` (Debian package nftables; `.ci/run` installs it): without
//! it each test says so and returns, unless `NETNS_TEST_REQUIRE=1`, which
//! makes it fail.

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use netns_test::{netns_test, Error, Network, Rule, Topology};

/// client (10.0.0.1, 2001:db8::1) -- server (10.0.0.2, 2001:db8::2).
fn pair() -> Topology {
    Topology::new()
        .host("client")
        .host("server")
        .link("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "10.0.0.1/24")
        .addr("client", "eth0", "2001:db8::1/64")
        .addr("server", "eth0", "10.0.0.2/24")
        .addr("server", "eth0", "2001:db8::2/64")
}

/// A TCP listener on `port` of the server (its socket stays in the
/// server's namespace: ARCHITECTURE.md 2.6).
fn listen(net: &Network, port: u16) -> TcpListener {
    net.host("server")
        .run(move || TcpListener::bind(("::", port)).unwrap())
        .unwrap()
}

/// A connect from the client with `timeout`: its error kind, or `None`.
fn connect(net: &Network, to: &str, timeout: Duration) -> Option<ErrorKind> {
    let addr: SocketAddr = to.parse().unwrap();
    net.host("client")
        .run(move || {
            TcpStream::connect_timeout(&addr, timeout)
                .err()
                .map(|e| e.kind())
        })
        .unwrap()
}

const LONG: Duration = Duration::from_secs(5);
const SHORT: Duration = Duration::from_millis(300);

#[netns_test]
fn reject_refuses_at_once_drop_times_out_and_the_guard_undoes_each() {
    if !common::have("nft", "nftables") {
        return;
    }
    let net = pair().build().unwrap();
    let _listener = listen(&net, 8080);
    assert_eq!(connect(&net, "10.0.0.2:8080", LONG), None);

    let reject = net
        .firewall("server", Rule::reject().inbound().tcp().port(8080))
        .unwrap();
    let shown = format!("{reject:?}");
    assert!(
        shown.contains("\"reject inbound tcp port 8080\""),
        "{shown}"
    );
    // A reset comes back: refused, long before the timeout.
    assert_eq!(
        connect(&net, "10.0.0.2:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    assert_eq!(
        connect(&net, "[2001:db8::2]:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    drop(reject);
    assert_eq!(connect(&net, "10.0.0.2:8080", LONG), None);

    let dropped = net
        .firewall("server", Rule::drop().tcp().port(8080))
        .unwrap();
    // Nothing comes back: the connect's own timeout ends it.
    assert_eq!(
        connect(&net, "10.0.0.2:8080", SHORT),
        Some(ErrorKind::TimedOut)
    );
    dropped.remove().unwrap();
    assert_eq!(connect(&net, "10.0.0.2:8080", LONG), None);
}

#[netns_test]
fn rules_of_a_topology_apply_at_build_by_prefix_and_family() {
    if !common::have("nft", "nftables") {
        return;
    }
    let net = pair()
        .firewall(
            "server",
            Rule::reject()
                .tcp()
                .port(8080)
                .from("10.0.0.0/24".parse::<netns_test::IpNet>().unwrap()),
        )
        // Another prefix: not the client's.
        .firewall(
            "server",
            Rule::reject()
                .tcp()
                .port(8081)
                .from("192.0.2.0/24".parse::<netns_test::IpNet>().unwrap()),
        )
        .build()
        .unwrap();
    let _a = listen(&net, 8080);
    let _b = listen(&net, 8081);
    assert_eq!(
        connect(&net, "10.0.0.2:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    // The IPv4 rule does not touch IPv6.
    assert_eq!(connect(&net, "[2001:db8::2]:8080", LONG), None);
    assert_eq!(connect(&net, "10.0.0.2:8081", LONG), None);

    // An accept added later comes after the reject: the reject still wins.
    let late = net
        .firewall("server", Rule::accept().tcp().port(8080))
        .unwrap();
    assert_eq!(
        connect(&net, "10.0.0.2:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    drop(late);
}

#[netns_test]
fn an_accept_before_a_broader_reject_lets_its_packets_through() {
    if !common::have("nft", "nftables") {
        return;
    }
    let client: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let net = pair()
        .firewall("server", Rule::accept().tcp().from(client.into()))
        .firewall("server", Rule::reject().tcp())
        .build()
        .unwrap();
    let _listener = listen(&net, 8080);
    // IPv4 from the client is accepted first; its IPv6 address is not.
    assert_eq!(connect(&net, "10.0.0.2:8080", LONG), None);
    assert_eq!(
        connect(&net, "[2001:db8::2]:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
}

#[netns_test]
fn udp_reject_is_a_port_unreachable() {
    if !common::have("nft", "nftables") {
        return;
    }
    let net = pair().build().unwrap();
    // An echo on UDP 9000 of the server.
    let server = net
        .host("server")
        .run(|| UdpSocket::bind("[::]:9000").unwrap())
        .unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            if &buf[..n] == b"stop" {
                break;
            }
            let _ = server.send_to(&buf[..n], from);
        }
    });
    let ask = |net: &Network| {
        net.host("client")
            .run(|| {
                let s = UdpSocket::bind("0.0.0.0:0").unwrap();
                s.connect("10.0.0.2:9000").unwrap();
                s.set_read_timeout(Some(LONG)).unwrap();
                s.send(b"ping").unwrap();
                let mut buf = [0u8; 64];
                s.recv(&mut buf).map_err(|e| e.kind())
            })
            .unwrap()
    };
    assert_eq!(ask(&net), Ok(4));
    let guard = net
        .firewall("server", Rule::reject().udp().port(9000))
        .unwrap();
    assert_eq!(ask(&net), Err(ErrorKind::ConnectionRefused));
    drop(guard);
    assert_eq!(ask(&net), Ok(4));
    net.host("client")
        .run(|| {
            UdpSocket::bind("0.0.0.0:0")
                .unwrap()
                .send_to(b"stop", "10.0.0.2:9000")
        })
        .unwrap()
        .unwrap();
    echo.join().unwrap();
}

#[netns_test]
fn bad_rules_are_refused_and_change_nothing() {
    if !common::have("nft", "nftables") {
        return;
    }
    let v6: netns_test::IpNet = "2001:db8::/64".parse().unwrap();
    let v4: netns_test::IpNet = "10.0.0.0/24".parse().unwrap();
    let e = pair()
        .firewall("server", Rule::drop().port(80))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Topology { .. }), "{e}");
    assert!(e.to_string().contains("a port needs the protocol"), "{e}");
    let e = pair().firewall("nobody", Rule::drop()).build().unwrap_err();
    assert!(e.to_string().contains("no such host"), "{e}");

    let net = pair().build().unwrap();
    let _listener = listen(&net, 8080);
    let kept = net
        .firewall("server", Rule::reject().tcp().port(8080))
        .unwrap();
    for bad in [Rule::drop().icmp().port(1), Rule::drop().from(v6).to(v4)] {
        let e = net.firewall("server", bad).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    }
    // The rule before the refused ones still holds, alone.
    assert_eq!(
        connect(&net, "10.0.0.2:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    drop(kept);
    assert_eq!(connect(&net, "10.0.0.2:8080", LONG), None);
}

/// curl's exit code: 0 served, 7 could not connect (a reset), 28 timed out.
fn curl(net: &Network, url: &str) -> i32 {
    let out = net
        .host("client")
        .run(|| {
            Command::new("curl")
                .args([
                    "--silent",
                    "--noproxy",
                    "*",
                    "--connect-timeout",
                    "1",
                    "--max-time",
                    "5",
                ])
                .arg(url)
                .output()
                .unwrap()
        })
        .unwrap();
    out.status.code().unwrap_or(-1)
}

#[netns_test]
fn curl_sees_a_reject_as_refused_and_a_drop_as_a_timeout() {
    if !common::have("nft", "nftables")
        || !common::have("curl", "curl")
        || !common::have("python3", "python3")
    {
        return;
    }
    let net = pair().build().unwrap();
    let web = net
        .spawn(
            "server",
            Command::new("python3").args(["-m", "http.server", "8080", "--bind", "::"]),
        )
        .unwrap();
    web.wait_tcp(8080, LONG).unwrap();
    assert_eq!(curl(&net, "http://server:8080/"), 0);
    let reject = net
        .firewall("server", Rule::reject().tcp().port(8080))
        .unwrap();
    assert_eq!(
        curl(&net, "http://server:8080/"),
        7,
        "CURLE_COULDNT_CONNECT"
    );
    drop(reject);
    let _drop = net
        .firewall("server", Rule::drop().tcp().port(8080))
        .unwrap();
    assert_eq!(
        curl(&net, "http://server:8080/"),
        28,
        "CURLE_OPERATION_TIMEDOUT"
    );
}

#[netns_test]
fn a_router_rejects_what_it_forwards() {
    if !common::have("nft", "nftables") {
        return;
    }
    let net = common::client_router_server()
        .firewall("router", Rule::reject().forwarded().tcp().port(8080))
        .build()
        .unwrap();
    let _listener = listen(&net, 8080);
    let _other = listen(&net, 8081);
    // The router answers for the server with a reset, IPv4 and IPv6.
    assert_eq!(
        connect(&net, "198.51.100.2:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    assert_eq!(
        connect(&net, "[2001:db8:2::2]:8080", LONG),
        Some(ErrorKind::ConnectionRefused)
    );
    assert_eq!(connect(&net, "198.51.100.2:8081", LONG), None);
    // The router's own inbound traffic is another chain: untouched.
    let on_router = net
        .host("router")
        .run(|| TcpListener::bind("0.0.0.0:8080").unwrap())
        .unwrap();
    assert_eq!(connect(&net, "192.0.2.1:8080", LONG), None);
    drop(on_router);
}

/// Where the crate looks for `nft` when `PATH` has none.
const SYSTEM_DIRS: [&str; 3] = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// Ignored: run by `without_nft_on_path_it_is_found_or_named`, with a
/// `PATH` where no `nft` is (an unprivileged user's `PATH` often lacks
/// `/usr/sbin`, where Debian puts it).
#[netns_test]
#[ignore = "run by without_nft_on_path_it_is_found_or_named"]
fn build_with_a_rule_and_no_nft_on_path() {
    match pair().firewall("server", Rule::drop()).build() {
        Ok(_) => println!("checked: built"),
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.contains(
                    "nft (package nftables: apt install nftables / dnf install nftables) \
                     was found neither on PATH nor in /usr/sbin, /sbin or /usr/local/sbin"
                ),
                "{e}"
            );
            println!("checked: error: {e}");
        }
    }
}

/// With `nft` in a system directory only, rules apply (the directory is
/// searched after `PATH`); with no `nft` anywhere, the error says what to
/// install.
#[test]
fn without_nft_on_path_it_is_found_or_named() {
    for dir in test_dirs("firewall.build_with_a_rule_and_no_nft_on_path") {
        let _ = std::fs::remove_dir_all(dir);
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "build_with_a_rule_and_no_nft_on_path",
            "--ignored",
            "--nocapture",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert!(out.status.success(), "{text}");
    let installed = SYSTEM_DIRS
        .iter()
        .any(|dir| std::path::Path::new(dir).join("nft").is_file());
    let want = if installed {
        "checked: built"
    } else {
        "checked: error: "
    };
    assert!(text.contains(want), "{text}");
    // nft's log goes when it succeeds, and the test's directory with it:
    // a passing test leaves no empty directory behind.
    for dir in test_dirs("firewall.build_with_a_rule_and_no_nft_on_path") {
        assert!(!dir.exists(), "{} is left", dir.display());
    }
}

/// Where the directory of the test named `name` can be: under the target
/// directory, or under a per-user base in the temporary directory
/// (rootless).
fn test_dirs(name: &str) -> Vec<std::path::PathBuf> {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap().parent().unwrap();
    let mut dirs = vec![target.join("netns-test").join(name)];
    for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("netns-test-")
        {
            dirs.push(entry.path().join("netns-test").join(name));
            dirs.push(entry.path().join(name));
        }
    }
    dirs
}
