//! Cost per test of `#[netns_test]`, next to the floor measured in the same
//! run: spawn a thread, `unshare(CLONE_NEWNET)`, bring `lo` up, join.
//!
//! Run as root: `cargo bench --bench per_test`.

use netns_test::__private::{run_test, TestOptions};
use netns_test::Netns;

fn main() {
    divan::main();
}

/// The floor: what any correct per-test namespace must do.
#[divan::bench]
fn floor_thread_unshare_lo_up() {
    std::thread::spawn(|| {
        // SAFETY: CLONE_NEWNET does not unshare the fd table.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
            .expect("unshare(CLONE_NEWNET): run the benchmark as root");
        loopback_up_floor();
    })
    .join()
    .unwrap();
}

/// `#[netns_test]` on a plain `fn`: exactly what the expansion calls.
#[divan::bench]
fn netns_test_anonymous() {
    run_test(TestOptions::default(), || {});
}

/// `Netns::create` + `run` + drop: a named namespace, iproute2-style.
#[divan::bench]
fn netns_create_run_drop(bencher: divan::Bencher) {
    let pid = std::process::id();
    let mut i = 0u64;
    bencher.bench_local(|| {
        i += 1;
        let ns = Netns::create(&format!("nt-bench-{pid}-{i}")).unwrap();
        ns.run(|| {}).unwrap();
        drop(ns);
    });
}

/// `Netns::state` of a namespace with a veth pair and an address: the
/// text a failing test prints (links, addresses, routes, neighbours,
/// sockets with their pids).
#[divan::bench]
fn netns_state(bencher: divan::Bencher) {
    let ns = Netns::new().unwrap();
    let peer = Netns::new().unwrap();
    ns.add_veth("eth0", &peer, "eth0").unwrap();
    ns.set_up("eth0").unwrap();
    ns.add_addr("eth0", "192.0.2.1/24".parse().unwrap())
        .unwrap();
    bencher.bench_local(|| ns.state().unwrap());
}

/// `Netns::state` of the same namespace with an IPv4 TCP listener and a
/// connection to it: the TCP dump walks the namespace's established hash
/// (its own, 4,096 buckets, where the kernel has
/// `tcp_child_ehash_entries`: ARCHITECTURE.md 2.15).
#[divan::bench]
fn netns_state_with_tcp(bencher: divan::Bencher) {
    let ns = Netns::new().unwrap();
    let peer = Netns::new().unwrap();
    ns.add_veth("eth0", &peer, "eth0").unwrap();
    ns.set_up("eth0").unwrap();
    ns.add_addr("eth0", "192.0.2.1/24".parse().unwrap())
        .unwrap();
    let _sockets = ns
        .run(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            (listener, client, server)
        })
        .unwrap();
    bencher.bench_local(|| ns.state().unwrap());
}

/// A failing `#[netns_test]` (`Err`) with the state dump (the default):
/// compare with `netns_test_anonymous`.
#[divan::bench]
fn failing_test_with_dump() {
    std::env::remove_var("NETNS_TEST_KEEP");
    netns_test::__private::reload_settings();
    let failed = run_test::<Result<(), String>, _>(TestOptions::default(), || Err("x".into()));
    assert!(failed.is_err());
}

/// A failing test with its report page (`NETNS_TEST_REPORT=failed`): the
/// dump, the page and the index written; compare with
/// `failing_test_with_dump`.
#[divan::bench]
fn failing_test_with_report() {
    std::env::set_var("NETNS_TEST_REPORT", "failed");
    netns_test::__private::reload_settings();
    let failed = run_test::<Result<(), String>, _>(TestOptions::default(), || Err("x".into()));
    std::env::remove_var("NETNS_TEST_REPORT");
    netns_test::__private::reload_settings();
    assert!(failed.is_err());
}

/// A passing test under `NETNS_TEST_REPORT=failed`: compare with
/// `netns_test_anonymous` (nothing is read or written).
#[divan::bench]
fn passing_test_with_report_on() {
    std::env::set_var("NETNS_TEST_REPORT", "failed");
    netns_test::__private::reload_settings();
    run_test(TestOptions::default(), || {});
    std::env::remove_var("NETNS_TEST_REPORT");
    netns_test::__private::reload_settings();
}

/// A failing test with `NETNS_TEST_KEEP=failed` as well: the bind mount
/// and owner record of the kept namespace, then its removal (`delete`).
#[divan::bench]
fn failing_test_with_dump_and_keep() {
    std::env::set_var("NETNS_TEST_KEEP", "failed");
    netns_test::__private::reload_settings();
    let failed = run_test::<Result<(), String>, _>(TestOptions::default(), || Err("x".into()));
    std::env::remove_var("NETNS_TEST_KEEP");
    netns_test::__private::reload_settings();
    let text = failed.unwrap_err().0;
    let name = text
        .split("kept network namespace ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("not kept: {text}"));
    Netns::open(name).unwrap().delete().unwrap();
}

/// The floor's `ip link set lo up`, over netlink with the same crates.
fn loopback_up_floor() {
    use netlink_packet_core::{
        NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
    };
    use netlink_packet_route::link::{LinkFlags, LinkMessage};
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

    let socket = Socket::new(NETLINK_ROUTE).unwrap();
    socket.connect(&SocketAddr::new(0, 0)).unwrap();
    let mut link = LinkMessage::default();
    link.header.index = 1;
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    let mut msg = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::from(RouteNetlinkMessage::SetLink(link)),
    );
    msg.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    msg.header.sequence_number = 1;
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0).unwrap();
    let mut reply = vec![0u8; 4096];
    socket.recv(&mut &mut reply[..], 0).unwrap();
}
