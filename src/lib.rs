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
//! - [`main!`] (feature `harness`): a `harness = false` test target's
//!   `main`, running its `#[netns_test]`s through a libtest-compatible
//!   harness (module `harness`) that reports a test which cannot run here as
//!   ignored, with the reason.
//! - With the `wire` feature, `Topology::wire` makes links this crate
//!   carries, with seeded faults set while the test runs (`Faults`, `Wire`,
//!   `Network::partition`); with `capture`, `NETNS_TEST_CAPTURE=failed|all`
//!   writes a pcapng file of what each test's namespaces saw, and `Capture`
//!   does it by hand ([Faults and capture](_topic::faults_and_capture)).
//! - A failing `#[netns_test]` prints its namespace's state (links with
//!   counters, addresses, routes, neighbours, sockets; [`Netns::state`],
//!   [`State`]; `NETNS_TEST_DUMP=0` turns it off), and with
//!   `NETNS_TEST_KEEP=failed` its namespace stays as
//!   `/run/netns/netns-test-TEST[-HOST]` for `ip netns exec`, until
//!   `setns --sweep` ([When a test fails](_topic::failures)).
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
//! [`Network::spawn`] gives one to a network, which stops it when it drops
//! (a suite fixture's network at teardown).
//!
//! # Privileges
//! Creating namespaces needs `CAP_SYS_ADMIN`. Run the tests as root, or build
//! as yourself and run the test binaries with the `sudo -E` runner of
//! `.cargo/config.toml` (see the README). Without root, where the kernel
//! allows unprivileged user namespaces, test binaries run rootless: before
//! `main`, every binary that links this crate (meant as a dev-dependency, so
//! normally only test binaries) enters a user namespace of its own, and named namespaces live
//! in a `/run/netns` private to the process ([`Privilege::Rootless`];
//! [Rootless](_topic::rootless)). Where neither works a test fails with one line that says why;
//! it never passes without having run.
//!
//! # Topics
//! The reference beyond the API, one page a topic, in [`_topic`]:
//! [the attribute](_topic::attribute),
//! [other test attributes](_topic::composition),
//! [the harness](_topic::harness), [cargo-nextest](_topic::nextest),
//! [rootless](_topic::rootless), [`Netns`](_topic::netns),
//! [topologies and fixtures](_topic::topology),
//! [services](_topic::services),
//! [faults and capture](_topic::faults_and_capture),
//! [when a test fails](_topic::failures), [the `setns` CLI](_topic::cli),
//! [decisions](_topic::decisions) and [settings](_topic::settings) (every
//! `NETNS_TEST_*` variable).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Network namespaces are Linux's: elsewhere, this one error rather than a
// cascade from the modules below (each is `cfg(target_os = "linux")`, and
// so are the dependencies in Cargo.toml).
#[cfg(not(target_os = "linux"))]
compile_error!(
    "netns-test needs Linux network namespaces (unshare(2), setns(2)) and builds only for \
     Linux targets; on other systems, make it a Linux-only dev-dependency: \
     [target.'cfg(target_os = \"linux\")'.dev-dependencies]"
);

pub mod _topic;
#[cfg(target_os = "linux")]
mod context;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
mod kernel;
#[cfg(target_os = "linux")]
mod namespace;
#[cfg(target_os = "linux")]
mod network;
#[cfg(target_os = "linux")]
mod privilege;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod settings;
#[cfg(target_os = "linux")]
mod testing;
#[cfg(all(target_os = "linux", feature = "wire"))]
mod wire;

#[cfg(target_os = "linux")]
pub use error::{Error, Result};
/// An IP address with its prefix length (`192.0.2.1/24`), as
/// [`Netns::add_addr`], [`Route`] and [`Network::addrs`] take and give it:
/// the `ipnet` crate's, re-exported so a test needs no dependency of its own.
#[cfg(target_os = "linux")]
pub use ipnet::IpNet;
#[cfg(target_os = "linux")]
pub use namespace::leftover::{Leftover, LeftoverKind, Outcome};
#[cfg(target_os = "linux")]
pub use namespace::netns::Netns;
#[cfg(target_os = "linux")]
pub use namespace::rundir::{validate_name, RunDir, MAX_NAME_LEN, RUN_DIR_ENV};
#[cfg(target_os = "linux")]
pub use network::addr::Addr;
#[cfg(target_os = "linux")]
pub use network::diagram::Diagram;
#[cfg(target_os = "linux")]
pub use network::dump::State;
#[cfg(all(target_os = "linux", feature = "nftables"))]
pub use network::firewall::Rule;
#[cfg(target_os = "linux")]
pub use network::link::{validate_link_name, Link, LinkStats, MAX_LINK_NAME_LEN};
#[cfg(all(target_os = "linux", feature = "nftables"))]
pub use network::nat::{Mapping, Nat};
#[cfg(target_os = "linux")]
pub use network::route::Route;
#[cfg(target_os = "linux")]
pub use network::topology::{Network, Topology};
#[cfg(target_os = "linux")]
pub use privilege::rootless::ROOTLESS_ENV;
#[cfg(target_os = "linux")]
pub use privilege::{Privilege, Unavailable};
#[cfg(all(target_os = "linux", feature = "nftables"))]
pub use process::FirewallGuard;
#[cfg(target_os = "linux")]
pub use process::{Listening, Paused, Process, Ready, Signal, DEFAULT_GRACE};
#[cfg(target_os = "linux")]
pub use settings::{DUMP_ENV, KEEP_ENV, REPORT_ENV, SEEDS_ENV};
#[cfg(target_os = "linux")]
pub use testing::fixture::{Fixture, FixtureGuard, Hosts};
#[cfg(all(target_os = "linux", feature = "harness"))]
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
pub use testing::harness;
#[cfg(all(target_os = "linux", feature = "capture"))]
#[cfg_attr(docsrs, doc(cfg(feature = "capture")))]
pub use wire::capture::{Capture, CAPTURE_DIR_ENV, CAPTURE_ENV};
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::faults::{
    fault_seed, Direction, Faults, DEFAULT_QUEUE_BYTES, REORDER_HOLD, SEED_ENV,
};
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::frame::{Frame, Verdict};
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::handle::{CarrierGuard, FaultGuard, HoldGuard, RuleGuard, Wire};
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::matcher::Match;
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::model::LaneStats;
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::nemesis::{Nemesis, Timeline};
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::partition::Partition;
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::rules::{DEFAULT_HOLD_BYTES, DEFAULT_HOLD_FRAMES};
#[cfg(all(target_os = "linux", feature = "wire"))]
#[cfg_attr(docsrs, doc(cfg(feature = "wire")))]
pub use wire::tap::{CAPTURE_LIMIT_ENV, DEFAULT_RING_BYTES};

pub use netns_test_macros::netns_test;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// What the `#[netns_test]` expansion calls. Not a public API: no stability
/// promise.
#[cfg(target_os = "linux")]
#[doc(hidden)]
pub mod __private {
    pub use crate::context::TestId;
    pub use crate::settings::reload as reload_settings;
    pub use crate::testing::runner::{
        capture_option_needs_the_feature, run_test, CaptureFeatureRequired, TestFailure,
        TestOptions, TestReturn,
    };
    #[cfg(not(feature = "tokio"))]
    pub use crate::testing::runtime::TokioFeatureRequired;
    pub use crate::testing::runtime::{block_on, Flavor};
    pub use crate::testing::sweep::run_test_seeds;
    // `no_rootless!()`: the binary's opt-out of rootless mode.
    pub use crate::privilege::rootless::opt_out as opt_out_of_rootless;
    // The registration of each test for the harness of `main!()`.
    pub use crate::__register_test as register_test;
    #[cfg(feature = "harness")]
    pub use crate::testing::harness::{Registration, ShouldPanic, TestOutput, TESTS};
    #[cfg(feature = "harness")]
    pub use linkme;
    // The crash points tests/crash.rs kills a child at, in order.
    #[cfg(feature = "__crash-points")]
    pub use crate::namespace::crash_points::STEPS as CRASH_STEPS;
    // What tests/wire_bypass.rs reads of a wire link's kernel fast path.
    #[cfg(feature = "wire")]
    pub use crate::wire::bypass::{fast_path, FastPath};
    // Whether new namespaces are made from the nursery (tests/isolation.rs).
    pub use crate::kernel::nursery::nursery_in_use;
}

/// `register_test!("foo", ignored, ShouldPanic, runner)`, which every
/// `#[netns_test]` expands to: the test's entry in the list the harness of
/// `main!()` reads. The macro crate cannot see this crate's features, so the
/// choice is made here: an entry with the `harness` feature; without it, only
/// a use of the runner, which otherwise would be dead code outside `--test`.
#[cfg(feature = "harness")]
#[doc(hidden)]
#[macro_export]
macro_rules! __register_test {
    ($name:literal, $ignored:literal, $should_panic:ident $(($expected:literal))?, $runner:ident) => {
        const _: () = {
            #[$crate::__private::linkme::distributed_slice($crate::__private::TESTS)]
            #[linkme(crate = $crate::__private::linkme)]
            static TEST: $crate::__private::Registration = $crate::__private::Registration {
                module_path: ::core::module_path!(),
                name: $name,
                ignored: $ignored,
                should_panic: $crate::__private::ShouldPanic::$should_panic $(($expected))?,
                run: || $crate::__private::TestOutput::into_outcome($runner()),
            };
        };
    };
}

/// See the other `__register_test`: without the `harness` feature, no entry.
#[cfg(not(feature = "harness"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __register_test {
    ($name:literal, $ignored:literal, $should_panic:ident $(($expected:literal))?, $runner:ident) => {
        const _: () = {
            let _ = $runner;
        };
    };
}

/// Without the `harness` feature: one error that names it.
#[cfg(not(feature = "harness"))]
#[doc(hidden)]
#[macro_export]
macro_rules! main {
    () => {
        ::core::compile_error!(
            "`netns_test::main!()` needs the `harness` feature of netns-test: \
             netns-test = { version = \"0.1\", features = [\"harness\"] }"
        );
        fn main() {}
    };
}
