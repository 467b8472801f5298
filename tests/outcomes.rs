//! Test outcomes behave as with `#[test]`: panics, `Result` errors,
//! `#[should_panic]`, `#[ignore]`, output capture, and a missing privilege
//! (ARCHITECTURE.md 4.16).
//!
//! Outcomes that must be failures are checked by running this test binary
//! again on one `fixture_*` test. Those are `#[ignore]`d and do nothing
//! unless `NETNS_TEST_FIXTURE=1` is set, so `cargo test -- --ignored` stays
//! green.

mod common;

use std::process::{Command, Output};

use common::output_text as text;
use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::netns_test;

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";

fn fixture_armed() -> bool {
    std::env::var_os(FIXTURE_ENV).is_some()
}

/// Runs this binary on the one ignored test `name`, armed.
fn run_fixture(name: &str, extra: &[&str]) -> Output {
    run_fixture_with(Command::new(std::env::current_exe().unwrap()), name, extra)
}

fn run_fixture_with(mut cmd: Command, name: &str, extra: &[&str]) -> Output {
    cmd.args(["--ignored", "--exact", name, "--test-threads=1"])
        .args(extra)
        .env(FIXTURE_ENV, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[derive(Debug)]
struct MyError {
    #[allow(dead_code)]
    code: u32,
}

#[netns_test]
#[ignore = "fixture: run by result_err_fails_the_test"]
fn fixture_result_err() -> Result<(), MyError> {
    if fixture_armed() {
        return Err(MyError { code: 7 });
    }
    Ok(())
}

#[test]
fn result_err_fails_the_test_and_shows_the_error() {
    let out = run_fixture("fixture_result_err", &[]);
    let text = text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("Error: MyError { code: 7 }"), "{text}");
    assert!(
        text.contains("test fixture_result_err ... FAILED"),
        "{text}"
    );
}

#[netns_test]
fn result_ok_passes() -> Result<(), std::io::Error> {
    std::net::TcpListener::bind("127.0.0.1:8080")?;
    Ok(())
}

#[netns_test]
fn question_mark_with_a_non_send_error_type() -> Result<(), Box<dyn std::error::Error>> {
    let _: std::rc::Rc<()> = std::rc::Rc::new(());
    "8080".parse::<u16>()?;
    Ok(())
}

#[netns_test]
#[ignore = "fixture: run by panics_fail_and_are_named_after_the_test"]
fn fixture_panic() {
    if fixture_armed() {
        panic!("boom from the namespace thread");
    }
}

#[test]
fn panics_fail_and_are_named_after_the_test() {
    let out = run_fixture("fixture_panic", &[]);
    let text = text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("thread 'fixture_panic'") && text.contains("boom from the namespace thread"),
        "{text}"
    );
}

#[netns_test]
#[should_panic(expected = "expected message")]
fn should_panic_sees_the_original_payload() {
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    panic!("an expected message from the body");
}

#[netns_test]
#[should_panic]
fn should_panic_without_expected() {
    let _ = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    std::hint::black_box(None::<()>).unwrap();
}

#[netns_test]
#[ignore]
fn ignored_tests_are_ignored() {
    // Runs only with --ignored; then it must pass like any other.
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
}

#[test]
fn ignore_passes_through() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "ignored_tests_are_ignored"])
        .output()
        .unwrap();
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("test ignored_tests_are_ignored ... ignored"),
        "{text}"
    );
}

#[netns_test]
#[ignore = "fixture: run by output_is_captured_like_libtest"]
fn fixture_prints() {
    println!("printed-from-the-namespace-thread");
    eprintln!("eprinted-from-the-namespace-thread");
}

#[test]
fn output_is_captured_like_libtest() {
    let quiet = text(&run_fixture("fixture_prints", &[]));
    assert!(
        !quiet.contains("printed-from-the-namespace-thread"),
        "{quiet}"
    );
    let loud = text(&run_fixture("fixture_prints", &["--nocapture"]));
    assert!(loud.contains("printed-from-the-namespace-thread"), "{loud}");
    assert!(
        loud.contains("eprinted-from-the-namespace-thread"),
        "{loud}"
    );
}

/// Runs the fixture without privilege, rootless mode off (else the fixture
/// would run in a user namespace of its own and pass): as user 65534 from a
/// root test run; from a rootless one, where 65534 has no mapping, as uid 0 of
/// the test's user namespace with every capability dropped.
fn run_fixture_unprivileged(name: &str) -> Output {
    let mut cmd = common::unprivileged(std::env::current_exe().unwrap());
    cmd.env(netns_test::ROOTLESS_ENV, "0");
    run_fixture_with(cmd, name, &[])
}

#[netns_test]
#[ignore = "fixture: run by a_missing_privilege_fails_with_one_clear_line"]
fn fixture_plain() {
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
}

#[test]
fn a_missing_privilege_fails_with_one_clear_line() {
    let out = run_fixture_unprivileged("fixture_plain");
    let text = text(&out);
    assert!(!out.status.success(), "an unprivileged test passed: {text}");
    let line = text
        .lines()
        .find(|l| l.contains("netns-test:"))
        .unwrap_or_else(|| panic!("no netns-test message: {text}"));
    assert!(
        line.contains("EPERM") && line.contains("CAP_SYS_ADMIN") && line.contains("sudo -E"),
        "{line}"
    );
}

#[netns_test]
#[should_panic]
#[ignore = "fixture: run by should_panic_does_not_pass_without_privilege"]
fn fixture_should_panic() {
    panic!("this panic must never be reached without privilege");
}

/// A `#[should_panic]` test that could not set up its namespace must fail,
/// not pass on the setup error's panic.
#[test]
fn should_panic_does_not_pass_without_privilege() {
    let out = run_fixture_unprivileged("fixture_should_panic");
    let text = text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("did not panic as expected"), "{text}");
    assert!(
        text.contains("the test did not run") && text.contains("CAP_SYS_ADMIN"),
        "{text}"
    );
}

#[netns_test]
#[ignore = "fixture: run by result_test_without_privilege_fails"]
fn fixture_result_plain() -> Result<(), String> {
    Ok(())
}

#[test]
fn result_test_without_privilege_fails() {
    let out = run_fixture_unprivileged("fixture_result_plain");
    let text = text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("Error: netns-test: the test did not run") && text.contains("EPERM"),
        "{text}"
    );
}

#[netns_test]
#[ignore = "fixture: run by sigkill_leaves_nothing_behind"]
fn fixture_sleeps_in_a_namespace() {
    if fixture_armed() {
        let l = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
        println!("ready");
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(l);
    }
}

/// ARCHITECTURE.md 2.3: anonymous namespaces go away with their last thread, even
/// after SIGKILL; nothing is left in the run directory or the mount table.
#[test]
fn sigkill_leaves_nothing_behind() {
    use std::io::BufRead;
    let before_mounts = common::nsfs_mounts();
    let before_entries = netns_test::RunDir::get().names().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "fixture_sleeps_in_a_namespace",
            "--nocapture",
        ])
        .env(FIXTURE_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("ready")));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(common::nsfs_mounts()
        .iter()
        .all(|m| before_mounts.contains(m) || m.contains("/nt-")));
    let after_entries = netns_test::RunDir::get().names().unwrap();
    assert!(after_entries
        .iter()
        .all(|n| before_entries.contains(n) || n.starts_with("nt-")));
}
