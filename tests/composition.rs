//! `#[netns_test]` with the test attributes people already use (README,
//! "With other test attributes"): each test checks that its body ran in a
//! network namespace of its own, and what the other attribute promised.
#![cfg(feature = "tokio")]

mod common;

use std::net::TcpListener;

use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::{netns_test, Netns};
use tokio::runtime::{Handle, RuntimeFlavor};

/// The body runs in a namespace of its own: not the host's, loopback up.
fn in_a_fresh_namespace() {
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    TcpListener::bind("127.0.0.1:8080").unwrap();
}

// `#[tokio::test]` after `#[netns_test]`: the runtime is built on the
// namespace thread, with tokio's default flavor.
#[netns_test]
#[tokio::test]
async fn tokio_test_runs_inside_the_namespace() {
    in_a_fresh_namespace();
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::CurrentThread
    );
    tokio::net::TcpListener::bind("[::1]:8080").await.unwrap();
}

// Its `flavor` and `worker_threads` become ours: the workers are made by the
// namespace thread, so tasks run inside the namespace.
#[netns_test]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_test_options_become_ours() {
    in_a_fresh_namespace();
    let handle = Handle::current();
    assert_eq!(handle.runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 2);
    let body = thread_netns_inode();
    for _ in 0..4 {
        assert_eq!(
            tokio::spawn(async { thread_netns_inode() }).await.unwrap(),
            body
        );
    }
}

// The same option in both places is fine if it agrees.
#[netns_test(flavor = "multi_thread")]
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn tokio_test_agreeing_with_ours() {
    in_a_fresh_namespace();
    assert_eq!(Handle::current().metrics().num_workers(), 3);
}

// `#[tokio::test]` may carry `#[should_panic]` and a `Result`, as ours does.
#[netns_test]
#[tokio::test]
async fn tokio_test_returning_a_result() -> std::io::Result<()> {
    in_a_fresh_namespace();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    Ok(())
}

/// A logger that is never installed: `set_logger` with it fails if a logger
/// is installed already.
struct Probe;

impl log::Log for Probe {
    fn enabled(&self, _: &log::Metadata) -> bool {
        false
    }
    fn log(&self, _: &log::Record) {}
    fn flush(&self) {}
}

// `#[test_log::test]` after `#[netns_test]`: logging is set up before the
// body (on the runner, under libtest and under `main!()`), the test runs
// once. The only test of this binary that sets up logging, so the logger
// it finds is test-log's. tests/harness.rs has the same under `main!()`.
#[netns_test]
#[test_log::test]
fn test_log_sets_up_logging_before_the_body() {
    in_a_fresh_namespace();
    assert!(
        log::set_logger(&Probe).is_err(),
        "no logger installed: test-log's set-up did not run"
    );
    log::info!("logged from the namespace thread");
}

// serial_test: tests/serial.rs (both orders).

// rstest and proptest give the test parameters, which `#[netns_test]`
// refuses: the body makes its namespace itself, `Netns::new()?.run(..)`.
#[rstest::rstest]
#[case(8080)]
#[case(8443)]
fn rstest_cases_each_in_a_namespace(#[case] port: u16) -> netns_test::Result<()> {
    Netns::new()?.run(|| {
        assert_ne!(thread_netns_inode(), main_thread_netns_inode());
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]
    #[test]
    fn proptest_cases_each_in_a_namespace(port in 1024u16..) {
        Netns::new().unwrap().run(|| {
            assert_ne!(thread_netns_inode(), main_thread_netns_inode());
            TcpListener::bind(("127.0.0.1", port)).unwrap();
        }).unwrap();
    }
}

// `crate = ".."`: a crate that re-exports netns-test names the path.
mod reexport {
    pub use netns_test as nt;
}

#[netns_test(crate = "crate::reexport::nt")]
fn crate_option_reaches_the_runtime_through_a_reexport() {
    in_a_fresh_namespace();
}

#[netns_test(
    crate = "crate::reexport::nt",
    flavor = "multi_thread",
    worker_threads = 2
)]
async fn crate_option_on_an_async_test() {
    in_a_fresh_namespace();
    assert_eq!(Handle::current().metrics().num_workers(), 2);
}
