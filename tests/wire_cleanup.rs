//! Nothing of a wire link or a capture is left once its network and capture
//! are dropped: no thread, no fd (sockets, eventfds, namespace fds). A binary
//! of its own: it counts the whole process's threads and fds.
#![cfg(feature = "wire")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

use netns_test::{Direction, Faults, Topology};

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn dropping_the_network_stops_its_threads_and_closes_its_fds() {
    let server = Ipv4Addr::new(192, 0, 2, 2);
    // Warm up what the process keeps for good (the privilege probe, ...,
    // and with a capture the thread that closes capture sockets off the
    // test's path: ARCHITECTURE.md 2.11).
    {
        let net = Topology::new().host("x").build().unwrap();
        #[cfg(feature = "capture")]
        netns_test::Capture::new().unwrap().network(&net).unwrap();
        drop(net);
    }
    let (threads, fds) = (count("/proc/self/task"), count("/proc/self/fd"));
    {
        let net = Topology::new()
            .host("client")
            .host("server")
            .wire("client", "eth0", "server", "eth0")
            .addr("client", "eth0", "192.0.2.1/24")
            .addr("server", "eth0", "192.0.2.2/24")
            .build()
            .unwrap();
        #[cfg(feature = "capture")]
        let capture = {
            let capture = netns_test::Capture::new().unwrap();
            capture.network(&net).unwrap();
            capture
        };
        let wire = net.wire("client", "eth0").unwrap();
        let _slow = wire
            .set(
                Direction::Both,
                Faults::new().delay(Duration::from_millis(50)),
            )
            .unwrap();
        assert!(count("/proc/self/task") > threads);
        let listener = net
            .host("server")
            .run(move || TcpListener::bind((server, 80)))
            .unwrap()
            .unwrap();
        let mut conn = net
            .host("client")
            .run(move || TcpStream::connect((server, 80)))
            .unwrap()
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        conn.write_all(b"x").unwrap();
        peer.read_exact(&mut [0]).unwrap();
        // Frames still delayed on the wire when it goes are dropped.
        conn.write_all(&[0; 1000]).unwrap();
        #[cfg(feature = "capture")]
        drop(capture);
    }
    // Capture sockets are closed by that thread, each on a short thread of
    // its own, a grace period after the drop: wait for it (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (count("/proc/self/task"), count("/proc/self/fd")) != (threads, fds)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        count("/proc/self/task"),
        threads,
        "threads left: {:?}",
        names()
    );
    assert_eq!(count("/proc/self/fd"), fds, "fds left: {:?}", fd_targets());
}

/// The names of the process's threads, for a failure's message.
fn names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|t| std::fs::read_to_string(t.path().join("comm")).unwrap_or_default())
        .collect()
}

/// What the process's fds point at, for a failure's message.
fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|fd| {
            std::fs::read_link(fd.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default()
        })
        .collect()
}
