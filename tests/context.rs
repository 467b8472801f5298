//! One test context, reachable from every thread that works for a test:
//! a process spawned, a network built or a fault set on a thread the body
//! spawned, or on a worker of an `async` body's runtime, belongs to that
//! test (its log under the test's directory, its network in the test's
//! capture, its seed in the test's failure), even while other tests run in
//! the same process.
#![cfg(all(feature = "tokio", feature = "capture"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use netns_test::{
    netns_test, Direction, Faults, Netns, Topology, CAPTURE_DIR_ENV, CAPTURE_ENV, SEED_ENV,
};

/// Set in the child process only: makes the demo tests run.
const DEMO_ENV: &str = "NETNS_TEST_CONTEXT_DEMO";

/// The directory of this test's per-test files holds `path`:
/// `.../context.<test>/<file>`.
fn in_test_dir(path: &Path, test: &str) -> bool {
    path.parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == format!("context.{test}").as_str())
}

fn spawn_sh(ns: &Netns) -> netns_test::Process {
    let process = ns
        .spawn(Command::new("sh").args(["-c", "echo from-a-helper-thread"]))
        .unwrap();
    process.wait().unwrap();
    process
}

#[netns_test]
fn a_thread_the_body_spawns_logs_under_the_test() {
    let path = std::thread::spawn(|| spawn_sh(&Netns::current().unwrap()).log_path().to_owned())
        .join()
        .unwrap();
    assert!(
        in_test_dir(&path, "a_thread_the_body_spawns_logs_under_the_test"),
        "{path:?}"
    );
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("from-a-helper-thread"));
}

#[netns_test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_worker_logs_under_the_test() {
    let path: PathBuf = tokio::spawn(async {
        // On a worker thread (tokio::spawn on a multi-thread runtime).
        tokio::task::block_in_place(|| spawn_sh(&Netns::current().unwrap()).log_path().to_owned())
    })
    .await
    .unwrap();
    assert!(
        in_test_dir(&path, "a_runtime_worker_logs_under_the_test"),
        "{path:?}"
    );
}

/// Runs while the demo does, so that "the one test running" cannot be
/// what attributes the demo's network and fault.
#[netns_test]
fn demo_keeps_another_test_running() {
    if std::env::var_os(DEMO_ENV).is_some() {
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[netns_test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_builds_and_sets_faults_on_a_worker() {
    if std::env::var_os(DEMO_ENV).is_none() {
        return;
    }
    tokio::spawn(async {
        let net = Topology::new()
            .host("client")
            .host("server")
            .wire("client", "eth0", "server", "eth0")
            .addr("client", "eth0", "192.0.2.1/24")
            .addr("server", "eth0", "192.0.2.2/24")
            .build()
            .unwrap();
        let wire = net.wire("client", "eth0").unwrap();
        let _loss = wire.set(Direction::Both, Faults::new().loss(0.5)).unwrap();
        panic!("failing on purpose, on a worker");
    })
    .await
    .unwrap();
}

#[test]
fn a_network_and_a_fault_made_on_a_worker_belong_to_the_async_test() {
    let dir = std::env::temp_dir().join(format!("netns-test-context-{}", std::process::id()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["demo_", "--test-threads=2"])
        .env(DEMO_ENV, "1")
        .env(CAPTURE_ENV, "failed")
        .env(CAPTURE_DIR_ENV, &dir)
        .env_remove(SEED_ENV)
        .output()
        .unwrap();
    let text = common::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("test demo_keeps_another_test_running ... ok"),
        "{text}"
    );
    // The seed line names the test to replay alone.
    assert!(
        text.lines()
            .any(|l| l.contains("link faults drew from seed")
                && l.ends_with("cargo test demo_builds_and_sets_faults_on_a_worker -- --exact")),
        "{text}"
    );
    // The network built on the worker is in the test's capture.
    let capture = dir.join("context.demo_builds_and_sets_faults_on_a_worker.pcapng");
    let bytes = std::fs::read(&capture).unwrap_or_else(|e| panic!("{capture:?}: {e}\n{text}"));
    let text_of_file = String::from_utf8_lossy(&bytes);
    for iface in ["client/eth0", "server/eth0"] {
        assert!(text_of_file.contains(iface), "{iface} not in {capture:?}");
    }
    // The other test passed: nothing of it was captured.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Spawns a process that writes its run's marker, prints its log's path,
/// and fails when asked to (with a capture, `NETNS_TEST_CAPTURE=failed`).
/// Ignored: a run of it beside the test that runs it would clear the
/// files that test looks at.
#[netns_test]
#[ignore = "run by an_earlier_runs_logs_and_capture_go_when_the_test_runs_again"]
fn demo_leaves_files_then_passes() {
    let Some(marker) = std::env::var_os(DEMO_ENV) else {
        return;
    };
    let marker = marker.to_string_lossy().into_owned();
    let ns = Netns::current().unwrap();
    let process = ns
        .spawn(Command::new("sh").args(["-c", &format!("echo {marker}")]))
        .unwrap();
    process.wait().unwrap();
    println!("log path {}", process.log_path().display());
    assert!(marker != "fail", "failing on purpose");
}

/// A test's directory holds one run's files: a passing run removes the
/// logs and the capture an earlier failing run left.
#[test]
fn an_earlier_runs_logs_and_capture_go_when_the_test_runs_again() {
    let run = |marker: &str| {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "demo_leaves_files_then_passes",
                "--ignored",
                "--nocapture",
            ])
            .env(DEMO_ENV, marker)
            .env(CAPTURE_ENV, "failed")
            .env_remove(CAPTURE_DIR_ENV)
            .output()
            .unwrap();
        let text = common::output_text(&out);
        let log = text
            .lines()
            .find_map(|l| l.strip_prefix("log path "))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no log path:\n{text}"));
        (out.status.success(), text, log)
    };
    let (passed, text, first_log) = run("fail");
    assert!(!passed, "{text}");
    let dir = first_log.parent().unwrap().to_owned();
    assert!(
        in_test_dir(&first_log, "demo_leaves_files_then_passes"),
        "{first_log:?}"
    );
    assert!(dir.join("capture.pcapng").exists(), "{text}");
    let (passed, text, second_log) = run("pass");
    assert!(passed, "{text}");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [second_log
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()],
        "{dir:?}"
    );
    let logged = std::fs::read_to_string(&second_log).unwrap();
    assert!(
        logged.contains("pass"),
        "{second_log:?}: {logged:?}\n{text}"
    );
}
