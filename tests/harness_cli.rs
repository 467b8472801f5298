//! The harness of `netns_test::main!()` from the outside: runs the
//! `harness` test binary (tests/harness.rs) with libtest's arguments, as an
//! unprivileged user, and as cargo-nextest would, and reads what it prints.
//!
//! cargo names no test binary in the environment (`CARGO_BIN_EXE_*` is for
//! `[[bin]]` targets only), and running `cargo` from a test would build
//! inside a build. So the binary is found where cargo puts every test binary
//! of this package: next to this one, in `target/<profile>/deps`, as
//! `harness-<hash>`, the newest if older builds are left. `cargo test` and
//! `cargo nextest run` build all test targets before running any; after
//! `cargo test --test harness_cli` alone it may be missing or stale, which
//! [`harness_binary`] reports rather than testing an old build.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// Every test of tests/harness.rs, as `--list` names them.
fn all_tests() -> Vec<&'static str> {
    let mut tests = vec![
        "binds_a_fixed_port_in_its_own_namespace",
        "counted::first_user",
        "counted::second_user",
        "ignored_runs_only_when_asked",
        "named_fixture::client_runs_in_its_named_host_and_reaches_the_server",
        "named_fixture::server_runs_in_its_named_host",
        "named_namespace_is_visible_while_the_test_runs",
        "nested::fixture_daemon_log",
        "nested::fixture_panic",
        "nested::fixture_result_err",
        "nested::fixture_should_panic_wrong_message",
        "nested::result_ok_passes",
        "runs_on_a_thread_named_after_the_test",
        "should_panic_passes_on_any_panic",
        "should_panic_with_expected_passes_on_a_matching_panic",
        "test_log_sets_up_logging_under_the_harness",
    ];
    if cfg!(feature = "tokio") {
        tests.push("async_bodies_run_on_a_runtime_inside_the_namespace");
    }
    tests.sort_unstable();
    tests
}

/// The test that uses the named namespace `nt-harness-named`. Runs of the
/// whole harness here skip it: two harness processes at once (this file's
/// tests run in parallel, and under nextest beside the harness's own
/// process) would share that one name.
const NAMED: &str = "named_namespace_is_visible_while_the_test_runs";

const IGNORED: &[&str] = &[
    "ignored_runs_only_when_asked",
    "nested::fixture_daemon_log",
    "nested::fixture_panic",
    "nested::fixture_result_err",
    "nested::fixture_should_panic_wrong_message",
];

/// The `harness` test binary; see the module docs for why it is looked up.
fn harness_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap();
    let deps = me.parent().unwrap();
    let newest = std::fs::read_dir(deps)
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let hash = name.strip_prefix("harness-")?;
            let meta = entry.metadata().ok()?;
            let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
            (executable && !hash.contains('.')).then(|| (meta.modified().unwrap(), entry.path()))
        })
        .max();
    let Some((built, path)) = newest else {
        panic!(
            "no harness test binary in {}: build it with `cargo test --test harness` \
             (plain `cargo test` builds every test target)",
            deps.display()
        );
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = ["src", "macros/src", "tests/common", "tests/harness.rs"];
    let edited = sources.iter().map(|s| newest_mtime(&root.join(s))).max();
    assert!(
        edited.flatten().map_or(true, |edited| edited <= built),
        "{} is older than its sources: rebuild it with `cargo test --test harness`",
        path.display()
    );
    path
}

fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .filter_map(|entry| newest_mtime(&entry.ok()?.path()))
            .max()
    } else {
        meta.modified().ok()
    }
}

/// The harness with `args`, in an environment without the variables that
/// change its verdicts (this test may itself run under cargo-nextest).
fn harness() -> Command {
    let mut cmd = Command::new(harness_binary());
    cmd.env_remove("NEXTEST")
        .env_remove("NETNS_TEST_REQUIRE")
        .env_remove("NETNS_TEST_FIXTURE")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// The harness without privilege, rootless mode off: a process that nothing
/// allows to make namespaces. From root, as user 65534; from uid 0 of a user
/// namespace where 65534 has no mapping, as that uid 0 with every capability
/// dropped; from anyone else (ci/rootless runs this binary as nobody) as
/// itself.
fn unprivileged() -> Command {
    let mut cmd = if effective_uid() != 0 {
        Command::new(harness_binary())
    } else {
        let mut setpriv = Command::new("setpriv");
        if uid_is_mapped(65534) {
            setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        } else {
            setpriv.args([
                "--inh-caps=-all",
                "--ambient-caps=-all",
                "--bounding-set=-all",
            ]);
        }
        setpriv.arg(harness_binary());
        setpriv
    };
    cmd.env("NETNS_TEST_ROOTLESS", "0")
        .env_remove("NEXTEST")
        .env_remove("NETNS_TEST_REQUIRE")
        .env_remove("NETNS_TEST_FIXTURE")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// The `Uid:` line of `/proc/self/status`: real, effective, saved, fs.
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    uids.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// Whether `uid` exists in this process's user namespace
/// (`/proc/self/uid_map`: `inside outside count` ranges).
fn uid_is_mapped(uid: u64) -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .unwrap()
        .lines()
        .any(|line| {
            let n: Vec<u64> = line
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            (n[0]..n[0] + n[2]).contains(&uid)
        })
}

fn run(cmd: &mut Command, args: &[&str]) -> (Output, String) {
    let out = cmd.args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// The `test NAME ... OUTCOME` line of `name`, with runs of padding removed.
fn outcome<'a>(text: &'a str, name: &str) -> &'a str {
    let prefix = format!("test {name} ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {name}: {text}"));
    line[prefix.len()..].trim_start().trim_start_matches("... ")
}

fn summary(text: &str) -> &str {
    text.lines()
        .find(|l| l.starts_with("test result: "))
        .unwrap_or_else(|| panic!("no summary: {text}"))
}

/// nextest's listing contract: `--list --format terse` prints `NAME: test`
/// for every test (with `--ignored`, the ignored ones), and nothing else on
/// stdout; and, for us, listing makes no network namespace, named or
/// anonymous, and checks no privilege (the check is an `unshare`): strace
/// sees no `unshare(CLONE_NEWNET)` and no `setns`. (Comparing `/run/netns`
/// before and after would prove less, and races with the tests that other
/// processes run meanwhile.)
#[test]
fn list_is_libtests_terse_list_and_makes_no_namespace() {
    let trace = std::env::temp_dir().join(format!("netns-test-list-{}.strace", std::process::id()));
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=unshare,setns", "-o"])
        .arg(&trace)
        .arg(harness_binary())
        .args(["--list", "--format", "terse"])
        .env_remove("NEXTEST")
        .output()
        .unwrap_or_else(|e| panic!("strace (apt-get install strace): {e}"));
    let traced = std::fs::read_to_string(&trace).unwrap();
    std::fs::remove_file(&trace).unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let expected: Vec<String> = all_tests().iter().map(|t| format!("{t}: test")).collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
    let netns_calls: Vec<&str> = traced
        .lines()
        .filter(|l| l.contains("CLONE_NEWNET") || l.contains("setns("))
        .collect();
    assert!(
        netns_calls.is_empty(),
        "listing made namespaces: {netns_calls:?}"
    );

    let (out, text) = run(
        &mut harness(),
        &["--list", "--format", "terse", "--ignored"],
    );
    assert!(out.status.success(), "{text}");
    let expected: Vec<String> = IGNORED.iter().map(|t| format!("{t}: test")).collect();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn a_plain_run_passes_and_ignores_the_ignored() {
    let (out, text) = run(&mut harness(), &["--skip", NAMED]);
    assert!(out.status.success(), "{text}");
    let ran = all_tests().len() - IGNORED.len() - 1;
    assert!(
        summary(&text).starts_with(&format!(
            "test result: ok. {ran} passed; 0 failed; {} ignored; 0 measured; 1 filtered out",
            IGNORED.len()
        )),
        "{text}"
    );
    for name in IGNORED {
        assert_eq!(outcome(&text, name), "ignored", "{text}");
    }
    // Expected panics are as quiet as under libtest's capture.
    assert!(!text.contains("panicked at"), "{text}");
}

#[test]
fn exact_runs_exactly_one_test() {
    let (out, text) = run(&mut harness(), &["--exact", "nested::result_ok_passes"]);
    assert!(out.status.success(), "{text}");
    assert_eq!(outcome(&text, "nested::result_ok_passes"), "ok", "{text}");
    let filtered = all_tests().len() - 1;
    assert!(
        summary(&text).contains(&format!(
            "1 passed; 0 failed; 0 ignored; 0 measured; {filtered} filtered out"
        )),
        "{text}"
    );
    // Without --exact, the name is a substring filter.
    let (out, text) = run(&mut harness(), &["result_ok"]);
    assert!(
        out.status.success() && summary(&text).contains("1 passed;"),
        "{text}"
    );
}

/// `#[netns_test] #[test_log::test]` under the harness: test-log's logger is
/// set up, and what the body logs on the namespace thread is printed.
#[test]
fn test_log_logs_from_the_namespace_thread() {
    let name = "test_log_sets_up_logging_under_the_harness";
    let (out, text) = run(harness().env("RUST_LOG", "info"), &["--exact", name]);
    assert!(out.status.success(), "{text}");
    if outcome(&text, name) == "ok" {
        assert!(
            text.contains("test-log: logged from the namespace thread"),
            "{text}"
        );
    } else {
        // No privilege here: the harness reports it as ignored, with why.
        assert!(outcome(&text, name).starts_with("ignored"), "{text}");
    }
}

#[test]
fn ignored_and_include_ignored_and_skip() {
    let (out, text) = run(&mut harness(), &["--ignored"]);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        outcome(&text, "ignored_runs_only_when_asked"),
        "ok",
        "{text}"
    );
    assert!(
        summary(&text).contains(&format!("{} passed; 0 failed; 0 ignored", IGNORED.len())),
        "{text}"
    );

    let (out, text) = run(
        &mut harness(),
        &[
            "--include-ignored",
            "--skip",
            "nested",
            "--skip",
            NAMED,
            "--test-threads",
            "1",
        ],
    );
    assert!(out.status.success(), "{text}");
    let nested = all_tests()
        .iter()
        .filter(|t| t.starts_with("nested::"))
        .count();
    let ran = all_tests().len() - nested - 1;
    let nested = nested + 1;
    assert!(
        summary(&text).contains(&format!(
            "{ran} passed; 0 failed; 0 ignored; 0 measured; {nested} filtered out"
        )),
        "{text}"
    );
}

/// Suite fixtures are torn down by the harness after the last test, before
/// the process exits (README, "The harness"). The two `named_fixture::`
/// tests share a fixture whose hosts are named namespaces,
/// `nt-hfx-PID-HOST`: each test checks that both are in the run directory
/// while it runs, so none was removed before the last test. With
/// `NETNS_TEST_EXIT_REPORT=1` the harness process prints which are left when
/// `exit` begins, from an `atexit` handler that runs before the one the
/// crate registers for named namespaces: a harness that left the teardown to
/// that handler would show its hosts there. After the process, nothing
/// `nt-hfx-PID-*` is left at all.
#[test]
fn named_fixture_hosts_are_removed_after_the_last_test_before_exit() {
    let child = harness()
        .env("NETNS_TEST_EXIT_REPORT", "1")
        .args(["named_fixture::", "--test-threads", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let tests: Vec<&str> = all_tests()
        .into_iter()
        .filter(|t| t.starts_with("named_fixture::"))
        .collect();
    assert_eq!(tests.len(), 2);
    for name in &tests {
        assert_eq!(outcome(&text, name), "ok", "{text}");
    }
    assert!(summary(&text).contains("2 passed; 0 failed;"), "{text}");
    assert!(
        text.contains("named fixture hosts left when exit began: none"),
        "the harness did not remove the fixture's named hosts before exit: {text}"
    );
    let left: Vec<String> = netns_test::RunDir::get()
        .names()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(&format!("nt-hfx-{pid}-")))
        .collect();
    assert!(left.is_empty(), "harness process {pid} left {left:?}");
}

/// The `fixture_*` tests, armed, fail as libtest fails them.
#[test]
fn failures_are_reported_as_libtest_reports_them() {
    let armed = |name: &str| {
        let (out, text) = run(
            harness().env("NETNS_TEST_FIXTURE", "1"),
            &["--ignored", "--exact", name],
        );
        assert_eq!(out.status.code(), Some(101), "{text}");
        assert_eq!(outcome(&text, name), "FAILED", "{text}");
        assert!(summary(&text).contains("0 passed; 1 failed;"), "{text}");
        text
    };
    let text = armed("nested::fixture_result_err");
    assert!(text.contains("Error: MyError { code: 7 }"), "{text}");
    let text = armed("nested::fixture_panic");
    assert!(
        text.contains("test panicked: boom from the namespace thread"),
        "{text}"
    );
    // The panic of a test that must not panic is shown, naming the test.
    assert!(
        text.contains("thread 'nested::fixture_panic'") && text.contains("panicked at"),
        "{text}"
    );
    // The tail of the log of the daemon it started, with the path.
    let text = armed("nested::fixture_daemon_log");
    assert!(
        text.contains("test panicked: failing after the daemon spoke"),
        "{text}"
    );
    assert!(
        text.contains("netns-test: last lines of sh-") && text.contains("  | harness-marker-99"),
        "{text}"
    );
    assert!(
        text.contains("/harness.nested.fixture_daemon_log/sh-"),
        "{text}"
    );
    let text = armed("nested::fixture_should_panic_wrong_message");
    assert!(
        text.contains("panic did not contain expected string")
            && text.contains(r#"panic message: "some other text""#)
            && text.contains(r#"expected substring: "the expected text""#),
        "{text}"
    );
}

/// ARCHITECTURE.md 4.16: without the privilege a test is neither passed nor
/// failed: it is reported as ignored, with the reason, and the run succeeds.
#[test]
fn unprivileged_tests_are_ignored_with_the_reason() {
    let (out, text) = run(&mut unprivileged(), &[]);
    assert!(out.status.success(), "{text}");
    assert!(
        summary(&text).starts_with(&format!(
            "test result: ok. 0 passed; 0 failed; {} ignored;",
            all_tests().len()
        )),
        "{text}"
    );
    let mut reasons = std::collections::BTreeSet::new();
    for name in all_tests() {
        let outcome = outcome(&text, name);
        if IGNORED.contains(&name) {
            assert_eq!(outcome, "ignored", "{text}");
        } else {
            let reason = outcome
                .strip_prefix("ignored (cannot make a network namespace here: ")
                .unwrap_or_else(|| panic!("{name}: {outcome}"));
            reasons.insert(reason);
        }
    }
    // One reason, worked out once, that says what to do.
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = reasons.first().unwrap();
    assert!(reason.len() > 40 && reason.contains("root"), "{reason}");
}

/// `NETNS_TEST_REQUIRE=1`, for CI that must not skip: the same tests fail.
#[test]
fn required_tests_that_cannot_run_fail() {
    let (out, text) = run(
        unprivileged().env("NETNS_TEST_REQUIRE", "1"),
        &["--exact", "binds_a_fixed_port_in_its_own_namespace"],
    );
    assert_eq!(out.status.code(), Some(101), "{text}");
    assert_eq!(
        outcome(&text, "binds_a_fixed_port_in_its_own_namespace"),
        "FAILED"
    );
    assert!(
        text.contains("netns-test: the test did not run: ")
            && text.contains("because NETNS_TEST_REQUIRE is set"),
        "{text}"
    );
}

/// cargo-nextest reads only the exit status, so a skip would show as a
/// pass: under nextest (`NEXTEST=1`) a test that cannot run fails, unless
/// `NETNS_TEST_REQUIRE=0`.
#[test]
fn under_nextest_tests_that_cannot_run_fail_unless_told_otherwise() {
    let name = "nested::result_ok_passes";
    let (out, text) = run(
        unprivileged().env("NEXTEST", "1"),
        &["--exact", name, "--nocapture"],
    );
    assert_eq!(out.status.code(), Some(101), "{text}");
    assert!(text.contains("because cargo-nextest would show"), "{text}");

    let (out, text) = run(
        unprivileged()
            .env("NEXTEST", "1")
            .env("NETNS_TEST_REQUIRE", "0"),
        &["--exact", name, "--nocapture"],
    );
    assert!(out.status.success(), "{text}");
    assert!(
        outcome(&text, name).starts_with("ignored (cannot make"),
        "{text}"
    );
}

/// The harness drops a fixture's value once, after its last test, and the
/// daemon the value holds is gone when the process has exited.
#[test]
fn the_harness_drops_a_fixture_value_once_and_its_daemon_is_gone() {
    let dir =
        std::env::temp_dir().join(format!("netns-test-harness-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = harness()
        .args(["counted::", "--test-threads", "2"])
        .env("NETNS_TEST_SERVICES_RECORD", &dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 passed"), "{text}");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let body = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(body.lines().map(str::to_owned));
    }
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(
        (count("daemon "), count("use "), count("drop ")),
        (1, 2, 1),
        "{lines:?}"
    );
    let daemon: u32 = lines
        .iter()
        .find_map(|l| l.strip_prefix("daemon ")?.parse().ok())
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !process_gone(daemon) {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon {daemon} outlived the harness"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// No `/proc/PID`, or a zombie no one reaped yet.
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => matches!(
            stat.rsplit(") ").next().and_then(|s| s.chars().next()),
            Some('Z' | 'X')
        ),
    }
}
