//! The `#[netns_test]` attribute of [`netns-test`](https://docs.rs/netns-test).
//!
//! Use it through that crate, as `netns_test::netns_test`: the expansion calls
//! into `netns_test::__private`, where all of the namespace work lives. This
//! crate only parses the attribute, reports misuse, and writes that call.

mod attrs;
mod errors;
mod expand;
mod hint;
mod options;
mod signature;

/// Runs a test in a network namespace of its own.
///
/// Write `#[netns_test]` where you would write `#[test]`. The body runs on a
/// fresh OS thread that first enters a new, anonymous network namespace
/// (`unshare(CLONE_NEWNET)`) and brings its `lo` up, so `127.0.0.1` and `::1`
/// work and every test can bind the same ports. The thread is discarded after
/// the body, and the namespace goes with it, even if the process is killed.
///
/// ```no_run
/// use netns_test::netns_test;
/// use std::net::{TcpListener, TcpStream};
///
/// #[netns_test]
/// fn binds_a_fixed_port() {
///     let listener = TcpListener::bind("127.0.0.1:8080").unwrap();
///     TcpStream::connect("127.0.0.1:8080").unwrap();
///     listener.accept().unwrap();
/// }
/// # fn main() {}
/// ```
///
/// A namespace belongs to a thread, not to a process. Threads and child
/// processes that the body starts inherit its namespace; threads that existed
/// before it, such as a global thread pool or a runtime built outside the
/// test, stay where they were, so work handed to them runs in the host's
/// namespace.
///
/// Creating a namespace needs `CAP_SYS_ADMIN` (run the tests as root, or see
/// the crate's README for a `sudo -E` runner). Without it the test fails with
/// a message that says so; it never passes without having run.
///
/// # Options
/// Options are `name = value` pairs, separated by commas.
///
/// - `name = "ns0"`: run in the named namespace `ns0`, made as
///   `ip netns add ns0` makes it, so `ip netns exec ns0 ..` can look in while
///   the test runs. It is created before the body and removed after it; if it
///   already exists, the test joins it and leaves it in place, unless it is
///   the leftover of a killed test run (its owner record in
///   `/run/netns-test/owners/` names a process that is gone): that one is
///   replaced. Tests that use the same name take turns, in one process and
///   across processes (cargo-nextest runs one per test). The name must be one that
///   iproute2 accepts: not empty, at most 255 bytes, no `/` or NUL byte, not
///   `.` or `..`; anything else is a compile error.
///
///   ```no_run
///   # use netns_test::netns_test;
///   #[netns_test(name = "ns0")]
///   fn visible_to_ip_netns() {
///       // `ip netns exec ns0 ip addr` shows this namespace now.
///   }
///   # fn main() {}
///   ```
///
/// - `flavor = "current_thread"` (the default) or `flavor = "multi_thread"`:
///   the tokio runtime of an `async fn` test, as in `#[tokio::test]`.
/// - `worker_threads = N`: the number of worker threads of a
///   `flavor = "multi_thread"` runtime (tokio's default, one per core, if
///   left out).
///
///   ```no_run
///   # use netns_test::netns_test;
///   #[netns_test(flavor = "multi_thread", worker_threads = 2)]
///   async fn serves_on_two_workers() {
///       let listener = tokio::net::TcpListener::bind("127.0.0.1:80").await.unwrap();
///       // ...
///   #   drop(listener);
///   }
///   # fn main() {}
///   ```
///
/// - `fixture = LAB`: run in a host of a suite fixture, the path of a
///   `static LAB: Fixture<..>` (built once per test process, on first use,
///   and shared by the tests that name it). With it:
///   - `host = "client"`: the host (namespace) of the fixture that the body
///     runs in;
///   - `exclusive` (or `exclusive = true`): no other test of the fixture runs
///     while this one does, for a test that changes the fixture.
///
///   `name` and `fixture` exclude each other.
///
/// - `capture` (or `capture = true`; the runtime's `capture` feature): keep a
///   pcapng capture of every interface this test uses, pass or fail, as
///   `NETNS_TEST_CAPTURE=all` does for every test (README, "Faults and
///   capture"). Without the feature it is a compile error that names it.
///
///   ```no_run
///   use netns_test::{netns_test, Fixture, Network, Topology};
///
///   static LAB: Fixture<Network> = Fixture::new("lab", || {
///       Topology::new()
///           .host("client")
///           .host("server")
///           .link("client", "eth0", "server", "eth0")
///           .addr("client", "eth0", "192.0.2.1/24")
///           .addr("server", "eth0", "192.0.2.2/24")
///           .build()
///   });
///
///   #[netns_test(fixture = LAB, host = "client")]
///   fn client_has_its_address() {
///       std::net::UdpSocket::bind("192.0.2.1:0").unwrap();
///   }
///
///   #[netns_test(fixture = LAB, host = "server", exclusive)]
///   fn changes_the_server() {
///       // No other test of LAB runs meanwhile.
///   }
///   # fn main() {}
///   ```
///
/// - `crate = "my_support::netns_test"`: the path the expansion reaches
///   netns-test by (default `::netns_test`), for a crate that re-exports it.
///
/// A misspelt or misplaced option is a compile error that points at it and
/// says what would work.
///
/// # Return type
/// `()` or `Result<(), E>` with `E: Debug`, as for `#[test]`. An `Err` fails
/// the test and prints `Error: {e:?}`. `?` and `return` in the body work as
/// written.
///
/// ```no_run
/// # use netns_test::netns_test;
/// #[netns_test]
/// fn can_fail() -> std::io::Result<()> {
///     let socket = std::net::UdpSocket::bind("[::1]:0")?;
///     socket.connect("[::1]:9")?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// # `#[should_panic]`, `#[ignore]` and other attributes
/// Attributes on the function keep their meaning, in their order:
/// `#[should_panic]` (which requires the `()` return type, as for `#[test]`),
/// `#[ignore]`, `#[cfg(..)]`, doc comments, lints, and attributes that wrap
/// the body, such as serial_test's `#[serial]`. A panic in the body reaches
/// libtest with its message, so `#[should_panic(expected = "..")]` matches
/// it. A test whose namespace could not be set up did not run: it fails, with
/// or without `#[should_panic]` (under the harness of `netns_test::main!()`,
/// a test that cannot run for want of privilege is reported as ignored).
///
/// # With other test attributes
/// Attributes written after `#[netns_test]` are seen by it:
///
/// - `#[tokio::test]`, `#[tokio::test(flavor = .., worker_threads = ..)]`:
///   taken over; its options become this attribute's, and the runtime is
///   built on the namespace thread (feature `tokio`). Options that disagree
///   with this attribute's, and tokio's other options, are errors.
/// - `#[async_std::test]`: an error that says what to write instead
///   (async-std's executor threads are global, outside the namespace).
/// - `#[test_log::test]`: goes on the function that both harnesses call,
///   as `#[test_log::test(allow(dead_code))]` (test-log's form for "this
///   attribute instead of `#[test]`", here a no-op): logging is set up before
///   the body under libtest and under `main!()`, and the test is one test.
/// - `#[serial]` and other attributes: see above.
///
/// Tests with parameters (rstest, proptest) cannot take this attribute:
/// make the namespace in the body with `netns_test::Netns::new()?.run(..)`.
///
/// Put no `#[test]` before `#[netns_test]`: that one would register the test
/// a second time. After it, or not at all, is fine.
///
/// # `async fn`
/// With the `tokio` feature of netns-test, the test may be an `async fn`. Its
/// runtime is built on the namespace thread, so the runtime, its worker
/// threads and everything they spawn are inside the namespace (use tokio's
/// APIs in the body through your own `tokio` dependency). Without the
/// feature, an `async fn` test is a compile error that names it.
///
/// ```no_run
/// # use netns_test::netns_test;
/// #[netns_test]
/// async fn connects_over_loopback() -> std::io::Result<()> {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///     tokio::net::TcpStream::connect(listener.local_addr()?).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// # What it expands to
/// The function, unchanged, inside a runner function whose body is one call
/// into the runtime; a test function of the user's name that calls the
/// runner; and the runner's entry in the list that the libtest-mimic harness
/// of `netns_test::main!()` reads:
///
/// ```ignore
/// fn __netns_test_foo() {
///     fn foo() { /* the body */ }
///     ::netns_test::__private::run_test(
///         {
///             #![allow(clippy::needless_update)]
///             ::netns_test::__private::TestOptions {
///                 name: ::core::option::Option::Some("ns0"),
///                 should_panic: true,
///                 fixture: ::core::option::Option::None,
///                 host: ::core::option::Option::None,
///                 exclusive: false,
///                 ..::core::default::Default::default()
///             }
///         },
///         foo
///     )
/// }
///
/// /// doc
/// #[should_panic(expected = "boom")]
/// #[::core::prelude::v1::test]
/// fn foo() { __netns_test_foo() }
///
/// ::netns_test::__private::register_test!("foo", false, Expected("boom"), __netns_test_foo);
/// ```
///
/// for `#[netns_test(name = "ns0")]` on `/// doc`
/// `#[should_panic(expected = "boom")] fn foo() { .. }`. Under libtest, `foo` is the test. A
/// `harness = false` target is built without `--test`, so rustc drops `foo`,
/// and `netns_test::main!()` finds the test through its entry instead: with
/// the runtime's `harness` feature, `register_test!` puts one in a link-time
/// list; without it, it only uses the runner. The runner is used either way,
/// so neither build warns about dead code.
/// `#[test]`, `#[should_panic]`, `#[ignore]`, doc comments and `#[cfg_attr]`
/// stay on `foo`; `#[cfg]` goes on all three items; any other attribute
/// (`#[serial]`, lint levels) goes on the runner, so it acts under both
/// harnesses.
///
/// A test that returns `Result<(), E>` returns
/// `Result<(), netns_test::__private::TestFailure>` (which prints as `E`
/// did); an `async fn foo` stays `async` inside, and the call becomes
/// `run_test(options, || block_on(Flavor::CurrentThread, foo()))`. The test
/// function must be a free function with no arguments, no generics and no
/// `self`, not `const`, `unsafe` or `extern`.
#[proc_macro_attribute]
pub fn netns_test(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand::netns_test(args.into(), item.into()).into()
}
