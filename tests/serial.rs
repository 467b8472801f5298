//! `serial_test`'s `#[serial]` composes with `#[netns_test]`, in either order:
//! the serial tests never overlap, and each still runs in its own namespace.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::netns_test;
use serial_test::serial;

static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// Fails if another serial test is running at the same time.
fn exclusive_section() {
    assert_eq!(
        INSIDE.fetch_add(1, Ordering::SeqCst),
        0,
        "two #[serial] tests overlapped"
    );
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    INSIDE.fetch_sub(1, Ordering::SeqCst);
}

// Recommended order: #[netns_test] first; the lock is then taken on the
// libtest thread, before the namespace is made.
#[netns_test]
#[serial]
fn netns_then_serial_a() {
    exclusive_section();
}

#[netns_test]
#[serial]
fn netns_then_serial_b() {
    exclusive_section();
}

#[netns_test]
#[serial]
fn netns_then_serial_c() {
    exclusive_section();
}

// The other order works too; the lock is then taken on the namespace thread.
#[serial]
#[netns_test]
fn serial_then_netns_a() {
    exclusive_section();
}

#[serial]
#[netns_test]
fn serial_then_netns_b() {
    exclusive_section();
}
