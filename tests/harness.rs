//! `#[netns_test]`s run by the libtest-mimic harness of `netns_test::main!()`
//! (`harness = false` in Cargo.toml). tests/harness_cli.rs runs this binary
//! with libtest's arguments, unprivileged, and under cargo-nextest's rules,
//! and checks what it prints.
//!
//! The `fixture_*` tests are `#[ignore]`d and pass unless
//! `NETNS_TEST_FIXTURE=1` is set: then they fail, each its own way, for
//! harness_cli.rs to see the failure reported.

mod common;

use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::netns_test;

fn fixture_armed() -> bool {
    std::env::var_os("NETNS_TEST_FIXTURE").is_some()
}

#[netns_test]
fn binds_a_fixed_port_in_its_own_namespace() {
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    let listener = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    std::net::TcpStream::connect("127.0.0.1:8080").unwrap();
    listener.accept().unwrap();
}

#[netns_test]
fn runs_on_a_thread_named_after_the_test() {
    assert_eq!(
        std::thread::current().name(),
        Some("runs_on_a_thread_named_after_the_test")
    );
}

#[netns_test]
#[should_panic(expected = "expected message")]
fn should_panic_with_expected_passes_on_a_matching_panic() {
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    panic!("an expected message from the namespace thread");
}

#[netns_test]
#[should_panic]
fn should_panic_passes_on_any_panic() {
    std::hint::black_box(None::<()>).unwrap();
}

#[netns_test]
#[ignore = "runs only with --ignored or --include-ignored"]
fn ignored_runs_only_when_asked() {
    std::net::TcpListener::bind("[::1]:8080").unwrap();
}

#[netns_test(name = "nt-harness-named")]
fn named_namespace_is_visible_while_the_test_runs() {
    let named = common::inode_of("/run/netns/nt-harness-named");
    assert_eq!(thread_netns_inode(), named);
}

#[cfg(feature = "tokio")]
#[netns_test(flavor = "multi_thread", worker_threads = 2)]
async fn async_bodies_run_on_a_runtime_inside_the_namespace() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    let outside = main_thread_netns_inode();
    let worker = tokio::spawn(async move { thread_netns_inode() }).await?;
    assert_ne!(worker, outside);
    tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    Ok(())
}

mod nested {
    use super::*;

    #[netns_test]
    fn result_ok_passes() -> Result<(), std::io::Error> {
        std::net::UdpSocket::bind("127.0.0.1:8080")?.connect("127.0.0.1:9")?;
        Ok(())
    }

    #[derive(Debug)]
    #[allow(dead_code)] // read by Debug only
    pub struct MyError {
        code: u32,
    }

    #[netns_test]
    #[ignore = "fixture"]
    fn fixture_result_err() -> Result<(), MyError> {
        match fixture_armed() {
            true => Err(MyError { code: 7 }),
            false => Ok(()),
        }
    }

    #[netns_test]
    #[ignore = "fixture"]
    fn fixture_panic() {
        if fixture_armed() {
            panic!("boom from the namespace thread");
        }
    }

    #[netns_test]
    #[should_panic(expected = "the expected text")]
    #[ignore = "fixture"]
    fn fixture_should_panic_wrong_message() {
        if fixture_armed() {
            panic!("some other text");
        }
        panic!("the expected text");
    }
}

netns_test::main!();
