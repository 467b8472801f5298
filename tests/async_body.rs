//! `async fn` tests (feature `tokio`): the runtime is built on the namespace
//! thread, so its workers are in the test's namespace too (ARCHITECTURE.md 4.14).
#![cfg(feature = "tokio")]

mod common;

use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::netns_test;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn round_trip(addr: &str) {
    let listener = TcpListener::bind(addr).await.unwrap();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).await.unwrap();
        conn.write_all(&buf).await.unwrap();
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    client.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
    server.await.unwrap();
}

#[netns_test]
async fn current_thread_runtime_binds_fixed_ports() {
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    round_trip("127.0.0.1:8080").await;
    round_trip("[::1]:8080").await;
}

#[netns_test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_workers_are_in_the_namespace() {
    let body = thread_netns_inode();
    assert_ne!(body, main_thread_netns_inode());
    // Tasks run on the worker threads, spawned by the namespace thread.
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(tokio::spawn(async { thread_netns_inode() }).await.unwrap());
    }
    assert!(seen.iter().all(|&i| i == body), "{seen:?} vs {body}");
    let blocking = tokio::task::spawn_blocking(thread_netns_inode)
        .await
        .unwrap();
    assert_eq!(blocking, body);
    round_trip("127.0.0.1:8080").await;
}

#[netns_test(flavor = "multi_thread")]
async fn async_result_err_type() -> Result<(), std::io::Error> {
    let l = TcpListener::bind("[::1]:8080").await?;
    TcpStream::connect(l.local_addr()?).await?;
    Ok(())
}

#[netns_test]
#[should_panic(expected = "async boom")]
async fn async_panics_resume_with_their_payload() {
    tokio::task::yield_now().await;
    panic!("async boom");
}

#[netns_test(name = "nt-async-named")]
async fn async_in_a_named_namespace() {
    let ino = std::fs::metadata("/run/netns/nt-async-named")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    assert_eq!(ino, thread_netns_inode());
    round_trip("127.0.0.1:8080").await;
}

/// `Netns::run_async`: a future run on a thread of another host, with a
/// runtime of its own there, awaited from the caller's runtime without
/// blocking its thread; the sockets it makes are that host's.
#[netns_test]
async fn run_async_connects_from_one_host_to_a_listener_in_another() {
    use std::net::{IpAddr, Ipv4Addr};
    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let net = netns_test::Topology::new()
        .host("client")
        .host("server")
        .link("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
        .unwrap();
    let (ready, listening) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(net.host("server").run_async(move || async move {
        let listener = TcpListener::bind((SERVER, 7100)).await.unwrap();
        ready.send(()).unwrap();
        let (mut conn, peer) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).await.unwrap();
        conn.write_all(&buf).await.unwrap();
        peer.ip()
    }));
    listening.await.unwrap();
    let (back, local) = net
        .host("client")
        .run_async(|| async {
            let mut conn = TcpStream::connect((SERVER, 7100)).await.unwrap();
            conn.write_all(b"ping").await.unwrap();
            let mut back = [0u8; 4];
            conn.read_exact(&mut back).await.unwrap();
            (back, conn.local_addr().unwrap().ip())
        })
        .await
        .unwrap();
    assert_eq!(&back, b"ping");
    // Made in the client: its address (the test's own namespace has none).
    assert_eq!(local, CLIENT);
    assert_eq!(server.await.unwrap().unwrap(), CLIENT);
    // Awaiting does not block the caller's thread: this (current-thread)
    // runtime still runs the task that lets the other future finish.
    let (go, gone) = tokio::sync::oneshot::channel::<u32>();
    let sender = tokio::spawn(async move { go.send(7).unwrap() });
    let value = net
        .host("server")
        .run_async(move || async move { gone.await.unwrap() })
        .await;
    sender.await.unwrap();
    assert_eq!(value.unwrap(), 7);
}
