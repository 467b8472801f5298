//! Linux network namespaces as a one-line test fixture.
//!
//! ```no_run
//! use netns_test::netns_test;
//! use std::net::{TcpListener, TcpStream};
//!
//! // Every test gets its own network namespace (loopback up), so all of
//! // them can bind 127.0.0.1:8080 at the same time.
//! #[netns_test]
//! fn binds_a_fixed_port() {
//!     let listener = TcpListener::bind("127.0.0.1:8080").unwrap();
//!     TcpStream::connect("127.0.0.1:8080").unwrap();
//!     listener.accept().unwrap();
//! }
//! ```
//!
//! - [`netns_test`]: the attribute; the body runs on a fresh thread in a new
//!   network namespace, or in a named one (`#[netns_test(name = "ns0")]`).
//! - [`Netns`]: create, open, enter and remove namespaces; named ones are made
//!   exactly as iproute2's `ip netns add` makes them, so `ip netns` sees ours
//!   and we can use theirs.
//! - [`RunDir`]: the iproute2 run directory, `/run/netns`;
//!   [`RunDir::sweep`] removes what killed test runs left there.
//! - [`main!`]: a `harness = false` test target's `main`, running its
//!   `#[netns_test]`s through a libtest-compatible [`harness`] that reports a
//!   test which cannot run here as ignored, with the reason.
//!
//! # Threads and namespaces
//! A network namespace belongs to a thread, not to a process
//! (network_namespaces(7)). Nothing here ever moves a thread you did not
//! create for the purpose: code runs in a namespace on a fresh thread, which
//! is discarded afterwards. Threads and child processes started by that code
//! inherit the namespace; threads that existed before (a global thread pool,
//! a runtime built outside the test) stay in theirs.
//!
//! Files follow suit: `/proc/thread-self/net/*` shows the calling thread's
//! namespace, but `/proc/net/*` and `/proc/self/net/*` show the main
//! thread's (the host's), and `/sys/class/net` the namespace of whoever
//! mounted sysfs. Use [`Netns::links`] (with [`Link::stats`]) for links and
//! counters.
//!
//! # Processes
//! [`Netns::spawn`] starts a program in a namespace from any thread and
//! returns a [`Process`] guard: stopped (whole process group) when dropped,
//! logged per test (the tail shows in a failing test's output), waited for
//! until it listens ([`Process::wait_for`], from the kernel's socket table),
//! and killed by the kernel if the test process dies first.
//!
//! # Privileges
//! Creating namespaces needs `CAP_SYS_ADMIN`. Run the tests as root, or build
//! as yourself and run the test binaries with the `sudo -E` runner of
//! `.cargo/config.toml` (see the README). Without root, where the kernel
//! allows unprivileged user namespaces, test binaries run rootless: before
//! `main`, every binary that links this crate (meant as a dev-dependency, so
//! normally only test binaries) enters a user namespace of its own, and named namespaces live
//! in a `/run/netns` private to the process ([`Privilege::Rootless`]; README,
//! "Rootless"). Where neither works a test fails with one line that says why;
//! it never passes without having run.

#![warn(missing_docs)]

mod error;
mod kernel;
mod namespace;
mod network;
mod privilege;
mod process;
mod testing;

pub use error::{Error, Result};
pub use namespace::leftover::{Leftover, LeftoverKind, Outcome};
pub use namespace::netns::Netns;
pub use namespace::rundir::{validate_name, RunDir, MAX_NAME_LEN, RUN_DIR_ENV};
pub use network::addr::Addr;
pub use network::link::{validate_link_name, Link, LinkStats, MAX_LINK_NAME_LEN};
pub use network::route::Route;
pub use network::topology::{Network, Topology};
pub use privilege::rootless::ROOTLESS_ENV;
pub use privilege::{Privilege, Unavailable};
pub use process::{Listening, Process, DEFAULT_GRACE};
pub use testing::fixture::{Fixture, FixtureGuard, Hosts};
pub use testing::harness;

pub use netns_test_macros::netns_test;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// What the `#[netns_test]` expansion calls. Not a public API: no stability
/// promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::testing::runner::{run_test, TestFailure, TestOptions, TestReturn};
    #[cfg(not(feature = "tokio"))]
    pub use crate::testing::runtime::TokioFeatureRequired;
    pub use crate::testing::runtime::{block_on, Flavor};
    // `no_rootless!()`: the binary's opt-out of rootless mode.
    pub use crate::privilege::rootless::opt_out as opt_out_of_rootless;
    // The registration of each test for the harness of `main!()`.
    pub use crate::testing::harness::{Registration, ShouldPanic, TestOutput, TESTS};
    pub use linkme;
    // The `setns` CLI's pidfd (the kernel layer is the only caller of rustix).
    pub use crate::kernel::PidFd;
}
