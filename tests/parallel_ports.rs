//! The main job: many tests bind the same fixed ports at once, each in its
//! own network namespace, under the default parallel `cargo test`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use netns_test::netns_test;

/// Binds `addr`, connects to it and echoes one message both ways.
fn tcp_round_trip(addr: &str) {
    let addr: SocketAddr = addr.parse().unwrap();
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(&buf).unwrap();
    });
    let mut client = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    client.write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    server.join().unwrap();
}

macro_rules! port_8080_tests {
    ($($name:ident)*) => {$(
        #[netns_test]
        fn $name() {
            tcp_round_trip("127.0.0.1:8080");
            tcp_round_trip("[::1]:8080");
            // Hold both ports while the other tests bind theirs: without
            // isolation, at least one of them would get EADDRINUSE.
            let _v4 = TcpListener::bind("127.0.0.1:8080").unwrap();
            let _v6 = TcpListener::bind("[::1]:8080").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    )*};
}

port_8080_tests! {
    port_8080_00 port_8080_01 port_8080_02 port_8080_03
    port_8080_04 port_8080_05 port_8080_06 port_8080_07
    port_8080_08 port_8080_09 port_8080_10 port_8080_11
    port_8080_12 port_8080_13 port_8080_14 port_8080_15
    port_8080_16 port_8080_17 port_8080_18 port_8080_19
}
