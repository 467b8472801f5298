//! A test harness for `#[netns_test]`s, built on
//! [libtest-mimic](https://docs.rs/libtest-mimic): it can say "ignored,
//! because this machine cannot make namespaces", where libtest can only pass
//! or fail.
//!
//! In `Cargo.toml`, a test target without libtest:
//!
//! ```toml
//! [[test]]
//! name = "net"
//! harness = false
//! ```
//!
//! and in `tests/net.rs`, the tests as usual, then `netns_test::main!()`:
//!
//! ```no_run
//! use netns_test::netns_test;
//!
//! #[netns_test]
//! fn binds_a_fixed_port() {
//!     std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
//! }
//!
//! #[netns_test]
//! #[should_panic(expected = "refused")]
//! fn nothing_listens_here() {
//!     std::net::TcpStream::connect("127.0.0.1:9").expect("refused");
//! }
//!
//! netns_test::main!();
//! ```
//!
//! `cargo test --test net` then prints what libtest prints, and takes the
//! same arguments (`--list`, `--exact`, `--ignored`, `--include-ignored`,
//! `--skip`, `--test-threads`, filters; `--help` lists them), so
//! `cargo nextest run` lists and runs the target as any other.
//!
//! # What the harness adds
//! - **A test that cannot run is reported as ignored, with the reason**, not
//!   passed and not failed: for example `test binds_a_fixed_port ... ignored
//!   (cannot make a network namespace here: unshare(CLONE_NEWNET): Operation
//!   not permitted (EPERM); ...)` when run as a user without `CAP_SYS_ADMIN`.
//!   The exit status stays 0. The reason is worked out once, by
//!   [`Privilege::get`](crate::Privilege::get), when the first test is about
//!   to run: listing the tests (`--list`) makes no network namespace, builds no
//!   fixture, checks no privilege.
//! - **`NETNS_TEST_REQUIRE=1`** ([`REQUIRE_ENV`]) turns those into failures,
//!   for CI that must not skip silently. `NETNS_TEST_REQUIRE=0` keeps them
//!   ignored.
//! - **Under `cargo nextest run`, a test that cannot run fails** (unless
//!   `NETNS_TEST_REQUIRE=0`): nextest runs each test as a process of its own
//!   and reads only its exit status, so it has no way to show a test that
//!   ignored itself at run time; it would show it as passed.
//! - **Suite fixtures are torn down after the last test**, before the process
//!   exits.
//! - `#[should_panic]` and `#[should_panic(expected = "..")]` are checked by
//!   the harness, as libtest checks them: the panic's message must contain
//!   the expected string.
//! - Each test runs on a thread named after it, as under libtest, so panic
//!   messages name the test, and so does the namespace thread.
//!
//! # Differences from libtest
//! - Only `#[netns_test]` functions run. rustc drops plain `#[test]`
//!   functions from a `harness = false` target (they are compiled only with
//!   `--test`): keep those in another target.
//! - Output is not captured (libtest-mimic cannot capture it): what a test
//!   prints shows up as it runs. cargo-nextest captures it per test.
//! - `#[ignore = "reason"]` prints `ignored`, without the reason.
//! - `#[ignore]` and `#[should_panic]` are read from the attributes written
//!   on the function; inside `#[cfg_attr(..)]` they act under libtest only.
//!
//! # How tests are found
//! `#[netns_test]` expands to a `#[test]` function for libtest and, next to
//! it, an entry in a link-time list ([`linkme`](https://docs.rs/linkme)'s
//! distributed slice) that names the test, its `#[ignore]` and
//! `#[should_panic]`, and a function that runs it. Both call the same runner,
//! so a test behaves the same under either harness. `main!()` reads that
//! list; the test names are libtest's (`tests::foo` for `fn foo` in
//! `mod tests`).

use std::any::Any;
use std::collections::HashSet;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::privilege::{Privilege, Unavailable};
use crate::testing::panic_message;

/// The environment variable that decides what becomes of a test that cannot
/// run here (no privilege to make namespaces): `1` fails it, `0` reports it
/// as ignored. Unset: ignored, except under cargo-nextest, which cannot show
/// a test that ignored itself and would count it as passed: there it fails.
pub use crate::settings::REQUIRE_ENV;

/// Runs every `#[netns_test]` of this test target through libtest-mimic,
/// with the arguments of this process, tears down suite fixtures, and returns
/// the exit code (0 if nothing failed, 101 otherwise, as libtest).
///
/// This is what [`main!`](crate::main) calls; call it yourself to do more in
/// `main`.
pub fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = trials();
    quiet_expected_panics();
    let conclusion = libtest_mimic::run(&args, trials);
    crate::testing::teardown::teardown_all();
    conclusion.exit_code()
}

/// `fn main` for a `harness = false` test target: runs every
/// `#[netns_test]` of the target through the [harness](crate::harness).
///
/// ```no_run
/// use netns_test::netns_test;
///
/// #[netns_test]
/// fn binds_a_fixed_port() {
///     std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
/// }
///
/// netns_test::main!();
/// ```
///
/// In a target built with libtest (`harness = true`, the default), libtest's
/// own `main` wins: the tests still run, and one more test,
/// `netns_test_main_needs_harness_false`, fails to say that `harness = false`
/// is missing. (cargo sets `cfg(test)` for both kinds of target, so the
/// mistake cannot be a compile error; only libtest runs `#[test]`s.)
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
#[macro_export]
macro_rules! main {
    () => {
        // Used in a `harness = false` target; libtest's `main` replaces it in
        // any other.
        #[allow(dead_code)]
        fn main() -> ::std::process::ExitCode {
            $crate::harness::main()
        }

        #[::core::prelude::v1::test]
        fn netns_test_main_needs_harness_false() {
            ::core::panic!(
                "`netns_test::main!()` is ignored in a test target that libtest runs: set \
                 `harness = false` for it in Cargo.toml ([[test]] name = \"..\" harness = false)"
            );
        }
    };
}

/// One `#[netns_test]`, as the expansion registers it for the harness.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    /// `module_path!()` where the test is: the crate's name first.
    pub module_path: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// `#[ignore]` or `#[ignore = ".."]`.
    pub ignored: bool,
    /// `#[should_panic]`, in its three forms.
    pub should_panic: ShouldPanic,
    /// Runs the test on the calling thread (which `run_test` then leaves for
    /// a namespace thread): `Err` with the message of a failed `Result`.
    pub run: fn() -> Result<(), String>,
}

/// What `#[should_panic]` asks of a test.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShouldPanic {
    /// No `#[should_panic]`: a panic fails the test.
    No,
    /// `#[should_panic]`: any panic passes.
    Yes,
    /// `#[should_panic(expected = "..")]`: a panic whose message contains
    /// the string passes.
    Expected(&'static str),
}

/// Every `#[netns_test]` linked into this binary.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static TESTS: [Registration];

/// What a runner returns, turned into the harness's outcome: `()` passes,
/// `Err(e)` fails with `Error: {e:?}`, as libtest shows it.
#[doc(hidden)]
pub trait TestOutput {
    /// The outcome of a test that returned `self`.
    fn into_outcome(self) -> Result<(), String>;
}

impl TestOutput for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl TestOutput for Result<(), crate::testing::runner::TestFailure> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|failure| format!("Error: {failure:?}"))
    }
}

impl Registration {
    /// The name libtest gives the test: its module path without the crate's
    /// name, then the function's name (`tests::foo`, or `foo` at the root).
    pub fn test_name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_crate, modules)) => format!("{modules}::{}", self.name),
            None => self.name.to_owned(),
        }
    }
}

/// The registered tests as libtest-mimic trials, sorted by name as libtest
/// sorts them. Building them runs nothing: each runner checks the privilege
/// when (and if) it is called.
fn trials() -> Vec<Trial> {
    let mut tests: Vec<(String, &'static Registration)> =
        TESTS.iter().map(|test| (test.test_name(), test)).collect();
    tests.sort_by(|a, b| a.0.cmp(&b.0));
    tests
        .into_iter()
        .map(|(name, test)| {
            let thread_name = name.clone();
            Trial::ignorable_test(name, move || run(test, thread_name))
                .with_ignored_flag(test.ignored)
        })
        .collect()
}

/// Runs one test: ignored (or failed, see [`REQUIRE_ENV`]) if namespaces
/// cannot be made here; otherwise on a thread named after the test, whose
/// panic, if any, is judged against `#[should_panic]`.
fn run(test: &Registration, name: String) -> Result<Completion, Failed> {
    // A misspelt NETNS_TEST_* fails every test, whether it could run or not.
    if let Err(e) = crate::settings::Settings::get().check() {
        return Err(format!("netns-test: the test did not run: {e}").into());
    }
    if let Err(why) = Privilege::get().check() {
        return cannot_run(why, must_run());
    }
    let runner = test.run;
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(runner)
        .map_err(|e| format!("netns-test: spawning the test's thread: {e}"))?;
    // `join` hands back the payload of a panic, as `catch_unwind` would.
    judge(thread.join(), test.should_panic).map(|()| Completion::Completed)
}

/// What becomes of a test that cannot run: ignored with the reason, or, if
/// `must_run` says why it must not be skipped, failed.
fn cannot_run(why: &Unavailable, must_run: Option<&str>) -> Result<Completion, Failed> {
    match must_run {
        Some(because) => Err(format!(
            "netns-test: the test did not run: {why}\n\
             netns-test: this is a failure, not a skip, because {because}"
        )
        .into()),
        None => Ok(Completion::ignored_with(format!(
            "cannot make a network namespace here: {why}"
        ))),
    }
}

/// Why a test that cannot run must fail rather than be ignored, if it must:
/// `NETNS_TEST_REQUIRE`, or else cargo-nextest (which sets `NEXTEST=1`).
fn must_run() -> Option<&'static str> {
    let settings = crate::settings::Settings::get();
    must_run_from(settings.require, settings.under_nextest)
}

fn must_run_from(setting: Option<bool>, under_nextest: bool) -> Option<&'static str> {
    match setting {
        Some(false) => None,
        Some(true) => {
            Some("NETNS_TEST_REQUIRE is set (NETNS_TEST_REQUIRE=0 reports it as ignored)")
        }
        None if under_nextest => Some(
            "cargo-nextest would show an ignored test as passed \
             (NETNS_TEST_REQUIRE=0 lets it pass unrun)",
        ),
        None => None,
    }
}

/// Keeps the panic hook quiet for the panics of `#[should_panic]` tests, as
/// libtest's output capture does: their threads (the harness's and the
/// namespace thread, both named after the test) print nothing. A test that
/// panics with the wrong message still fails with that message.
fn quiet_expected_panics() {
    let expected: HashSet<String> = TESTS
        .iter()
        .filter(|test| test.should_panic != ShouldPanic::No)
        .map(Registration::test_name)
        .collect();
    if expected.is_empty() {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let current = std::thread::current();
        if !current.name().is_some_and(|name| expected.contains(name)) {
            previous(info);
        }
    }));
}

/// libtest's verdict on a test's result, its panic (`Err(payload)`) if it
/// panicked, given its `#[should_panic]`. The messages are libtest's.
fn judge(
    result: Result<Result<(), String>, Box<dyn Any + Send>>,
    should_panic: ShouldPanic,
) -> Result<(), Failed> {
    match (result, should_panic) {
        (Ok(Ok(())), ShouldPanic::No) => Ok(()),
        (Ok(Err(message)), _) => Err(message.into()),
        (Ok(Ok(())), _) => Err("test did not panic as expected".into()),
        (Err(payload), ShouldPanic::No) => Err(match panic_message(&*payload) {
            Some(message) => format!("test panicked: {message}"),
            None => "test panicked".to_owned(),
        }
        .into()),
        (Err(_), ShouldPanic::Yes) => Ok(()),
        (Err(payload), ShouldPanic::Expected(expected)) => match panic_message(&*payload) {
            Some(message) if message.contains(expected) => Ok(()),
            Some(message) => Err(format!(
                "panic did not contain expected string\n      panic message: {message:?}\n \
                 expected substring: {expected:?}"
            )
            .into()),
            None => Err(format!(
                "expected panic with string value,\n found non-string value: `{:?}`\n     \
                 expected substring: {expected:?}",
                (*payload).type_id()
            )
            .into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(module_path: &'static str, name: &'static str) -> Registration {
        Registration {
            module_path,
            name,
            ignored: false,
            should_panic: ShouldPanic::No,
            run: || Ok(()),
        }
    }

    #[test]
    fn names_are_libtests() {
        assert_eq!(registration("harness", "foo").test_name(), "foo");
        assert_eq!(
            registration("harness::tests", "foo").test_name(),
            "tests::foo"
        );
        assert_eq!(registration("my_crate::a::b", "c").test_name(), "a::b::c");
    }

    fn panic_with(payload: impl Any + Send) -> Result<Result<(), String>, Box<dyn Any + Send>> {
        Err(Box::new(payload))
    }

    fn message(verdict: Result<(), Failed>) -> String {
        verdict.unwrap_err().message().unwrap().to_owned()
    }

    #[test]
    fn passes_and_failures() {
        assert!(judge(Ok(Ok(())), ShouldPanic::No).is_ok());
        let err = judge(Ok(Err("Error: E".into())), ShouldPanic::No);
        assert_eq!(message(err), "Error: E");
        let panicked = judge(panic_with("boom"), ShouldPanic::No);
        assert_eq!(message(panicked), "test panicked: boom");
        let formatted = judge(panic_with(String::from("boom 2")), ShouldPanic::No);
        assert_eq!(message(formatted), "test panicked: boom 2");
        assert_eq!(
            message(judge(panic_with(7u8), ShouldPanic::No)),
            "test panicked"
        );
    }

    #[test]
    fn should_panic_as_libtest() {
        assert!(judge(panic_with("boom"), ShouldPanic::Yes).is_ok());
        assert!(judge(panic_with(7u8), ShouldPanic::Yes).is_ok());
        assert_eq!(
            message(judge(Ok(Ok(())), ShouldPanic::Yes)),
            "test did not panic as expected"
        );
        let expected = ShouldPanic::Expected("oo");
        assert!(judge(panic_with("boom"), expected).is_ok());
        assert!(judge(panic_with(String::from("a boom")), expected).is_ok());
        let other = message(judge(panic_with("bang"), expected));
        assert!(
            other.starts_with("panic did not contain expected string"),
            "{other}"
        );
        assert!(
            other.contains(r#"panic message: "bang""#) && other.contains(r#"substring: "oo""#),
            "{other}"
        );
        let non_string = message(judge(panic_with(7u8), expected));
        assert!(non_string.contains("non-string value"), "{non_string}");
        assert_eq!(
            message(judge(Ok(Ok(())), expected)),
            "test did not panic as expected"
        );
    }

    #[test]
    fn require_setting() {
        assert_eq!(must_run_from(None, false), None);
        let nextest = must_run_from(None, true).unwrap();
        assert!(nextest.contains("cargo-nextest"), "{nextest}");
        let required = must_run_from(Some(true), false).unwrap();
        assert!(required.contains("NETNS_TEST_REQUIRE is set"), "{required}");
        assert!(must_run_from(Some(true), true).unwrap().contains("is set"));
        assert_eq!(must_run_from(Some(false), true), None);
    }

    #[test]
    fn cannot_run_is_ignored_or_failed_with_the_reason() {
        let why = Unavailable {
            reason: "unshare(CLONE_NEWNET): Operation not permitted (EPERM)".into(),
            fix: "use sudo".into(),
        };
        match cannot_run(&why, None) {
            Ok(Completion::Ignored {
                reason: Some(reason),
            }) => {
                assert!(
                    reason.contains("EPERM") && reason.contains("use sudo"),
                    "{reason}"
                );
            }
            _ => panic!("not ignored with a reason"),
        }
        let failed = message(cannot_run(&why, Some("CI says so")).map(|_| ()));
        assert!(
            failed.contains("did not run") && failed.contains("EPERM"),
            "{failed}"
        );
        assert!(failed.ends_with("because CI says so"), "{failed}");
    }
}
