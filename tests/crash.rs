//! Crash safety (README, "Decisions"): a test process killed at any instant
//! leaves nothing that breaks the next run.
//!
//! Each test runs a child test process (this binary, or the `main!()`
//! harness target tests/crash_harness.rs) with `NETNS_TEST_CRASH_AT=STEP:N`,
//! which makes it `SIGKILL` itself right after the `N`th pass through crash
//! point `STEP` (src/namespace/crash_points.rs; this target needs the
//! `__crash-points` feature), checks that it died there, runs the same
//! child again without the variable, and checks that the second run passes
//! and that the host is back as it was: no entry of the child's names in
//! the run directory, no nsfs mount of them in `/proc/self/mountinfo`, no
//! owner record, partial record or lock file of them in `/run/netns-test`,
//! and no `Error` line from `ip netns list`. A random-timing `SIGKILL` loop
//! checks the same without crash points.
//!
//! The children are this file's `#[ignore]`d tests, run by name. Each test
//! uses names of its own, so the tests can run in parallel, and other test
//! binaries' names never show in what they check.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use netns_test::{netns_test, RunDir, Topology};

/// Every crash point, in the order one named namespace passes them.
const STEPS: &[&str] = netns_test::__private::CRASH_STEPS;

/// Asserts that `name`'s owner record names this process: the namespace
/// was made by this run, not a killed run's leftover joined.
fn made_by_me(name: &str) {
    let record = std::fs::read_to_string(common::owner_record(name)).unwrap();
    let me = std::process::id();
    assert_eq!(
        record,
        format!(
            "netns-test-owner 1 pid={me} start={}\n",
            common::start_time(me)
        )
    );
}

#[netns_test(name = "nt-crash-named")]
#[ignore = "child of named_test_survives_a_crash_at_every_step"]
fn child_named() {
    made_by_me("nt-crash-named");
    // Loopback is up: a fresh namespace made by this run.
    let listener = std::net::TcpListener::bind("127.0.0.1:7200").unwrap();
    std::net::TcpStream::connect("127.0.0.1:7200").unwrap();
    listener.accept().unwrap();
}

#[test]
#[ignore = "child of named_topology_survives_a_crash_at_every_step"]
fn child_topology() {
    let net = Topology::new()
        .host("a")
        .host("b")
        .link("a", "eth0", "b", "eth0")
        .addr("a", "eth0", "192.0.2.1/24")
        .addr("b", "eth0", "192.0.2.2/24")
        .named("nt-crash-topo")
        .build()
        .unwrap();
    for host in ["a", "b"] {
        made_by_me(net.host(host).name().unwrap());
    }
    drop(net);
}

/// A loop of named tests and named topologies, for the random kills.
#[test]
#[ignore = "child of random_kills_leave_nothing_behind"]
fn child_loop() {
    use netns_test::__private::{run_test, TestOptions};
    for i in 0..60 {
        if i % 10 == 9 {
            let net = Topology::new()
                .host("a")
                .host("b")
                .named("nt-crash-loopt")
                .build()
                .unwrap();
            drop(net);
        } else {
            let name: &'static str = ["nt-crash-loop0", "nt-crash-loop1", "nt-crash-loop2"][i % 3];
            let opts = TestOptions {
                name: Some(name),
                ..Default::default()
            };
            run_test(opts, move || made_by_me(name));
        }
    }
}

/// The `crash_harness` test binary (tests/crash_harness.rs): next to this
/// one, in `target/<profile>/deps`, as `crash_harness-<hash>`, the newest.
fn harness_binary() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let me = std::env::current_exe().unwrap();
    let deps = me.parent().unwrap();
    std::fs::read_dir(deps)
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let hash = name.strip_prefix("crash_harness-")?;
            let meta = entry.metadata().ok()?;
            let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
            (executable && !hash.contains('.')).then(|| (meta.modified().unwrap(), entry.path()))
        })
        .max()
        .map(|(_, path)| path)
        .unwrap_or_else(|| {
            panic!(
                "no crash_harness test binary in {}: build it with \
                 `cargo test --features __crash-points --test crash_harness`",
                deps.display()
            )
        })
}

/// One kind of child: how to start it, and the prefixes of the names it
/// makes (in the run directory, `owners/` and `locks/`).
struct Child {
    program: PathBuf,
    args: Vec<&'static str>,
    prefixes: Vec<&'static str>,
}

impl Child {
    fn test(name: &'static str, prefixes: Vec<&'static str>) -> Child {
        Child {
            program: std::env::current_exe().unwrap(),
            args: vec!["--ignored", "--exact", name, "--test-threads=1"],
            prefixes,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env_remove("NETNS_TEST_CRASH_AT")
            .env_remove("NEXTEST")
            .env("NETNS_TEST_REQUIRE", "1")
            .env("RUST_BACKTRACE", "0");
        cmd
    }

    /// Runs the child to the end: it must pass.
    fn run_clean(&self) -> Output {
        let out = self.command().output().unwrap();
        assert!(
            out.status.success(),
            "the run after the crash failed:\n{}",
            common::output_text(&out)
        );
        out
    }

    /// Runs the child with `NETNS_TEST_CRASH_AT=spec`: `Some(pid)` if it
    /// died at that crash point, `None` if it never passed it (the step
    /// does not occur that often in this child) and passed.
    fn crash_at(&self, spec: &str) -> Option<u32> {
        use std::os::unix::process::ExitStatusExt;
        let child = self
            .command()
            .env("NETNS_TEST_CRASH_AT", spec)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        let text = common::output_text(&out);
        if text.contains(&format!("crash point {spec} reached")) {
            assert_eq!(out.status.signal(), Some(9), "{spec}: {text}");
            Some(pid)
        } else {
            assert!(
                out.status.success(),
                "{spec}: not reached, and failed: {text}"
            );
            None
        }
    }

    /// The host holds nothing of this child's names: run directory, mount
    /// table, `/run/netns-test` (records, partial records of `dead`, name
    /// locks), and `ip netns list` prints no error.
    fn assert_host_clean(&self, after: &str, dead: Option<u32>) {
        let ours = |name: &str| self.prefixes.iter().any(|p| name.starts_with(p));
        let dir = RunDir::get();
        let left: Vec<String> = dir
            .names()
            .unwrap()
            .into_iter()
            .filter(|n| ours(n))
            .collect();
        assert!(
            left.is_empty(),
            "after {after}: left in the run directory: {left:?}"
        );
        let mounts: Vec<String> = common::nsfs_mounts()
            .into_iter()
            .filter(|m| self.prefixes.iter().any(|p| m.contains(p)))
            .collect();
        assert!(
            mounts.is_empty(),
            "after {after}: nsfs mounts left: {mounts:?}"
        );
        let coordination = common::coordination_dir();
        for sub in ["owners", "locks"] {
            let left: Vec<String> = names_in(&coordination.join(sub))
                .into_iter()
                .filter(|n| ours(n))
                .collect();
            assert!(left.is_empty(), "after {after}: left in {sub}/: {left:?}");
        }
        if let Some(pid) = dead {
            let left: Vec<String> = names_in(&coordination.join("tmp"))
                .into_iter()
                .filter(|n| n.starts_with(&format!("{pid}-")))
                .collect();
            assert!(
                left.is_empty(),
                "after {after}: partial records left: {left:?}"
            );
        }
        assert_ip_netns_list_has_no_error(after);
    }
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `ip netns list` prints `Error: Peer netns reference is invalid.` for each
/// empty file in the run directory. Other test processes create
/// placeholders for a moment (before their mount): an error line that is
/// there in 5 tries 100 ms apart is a leftover.
fn assert_ip_netns_list_has_no_error(after: &str) {
    let mut text = String::new();
    for _ in 0..5 {
        let out = common::ip(&["netns", "list"]);
        text = common::output_text(&out);
        if !text.lines().any(|l| l.contains("Error")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let entries = RunDir::get().names().unwrap();
    panic!("after {after}: `ip netns list` prints errors:\n{text}\nrun directory: {entries:?}");
}

/// The tests of this file crash their children one test at a time: a
/// child killed at `placeholder` leaves an empty file until its next run,
/// and `ip netns list` prints an error for it, which another test's check
/// would see.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Kills `child` at every crash point (the `N`th pass, for each `N` it
/// reaches), each time running it again and checking the host. Returns how
/// many crashes there were.
fn crash_everywhere(child: &Child, max_passes: usize) -> usize {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    child.assert_host_clean("nothing", None);
    let mut crashes = 0;
    for step in STEPS {
        for n in 1..=max_passes {
            let spec = format!("{step}:{n}");
            let Some(pid) = child.crash_at(&spec) else {
                break;
            };
            crashes += 1;
            child.run_clean();
            child.assert_host_clean(&format!("a crash at {spec} and a run"), Some(pid));
        }
    }
    eprintln!(
        "{crashes} crashes, each followed by a clean run, in {:.1?}",
        started.elapsed()
    );
    crashes
}

/// `#[netns_test(name = ..)]` killed after each step of its namespace's
/// life: the next run replaces the leftover (never joins it), passes, and
/// leaves nothing.
#[test]
fn named_test_survives_a_crash_at_every_step() {
    let child = Child::test("child_named", vec!["nt-crash-named"]);
    // One pass through each step: all 10 crash.
    assert_eq!(crash_everywhere(&child, 1), STEPS.len());
}

/// A named topology (two hosts) killed at each step of each host: the next
/// build sweeps every `PREFIX-PID-*` of the killed process, hosts
/// included that the killed one had made and the new one has not yet.
#[test]
fn named_topology_survives_a_crash_at_every_step() {
    let child = Child::test("child_topology", vec!["nt-crash-topo-"]);
    // Two hosts: each step but `body` twice.
    assert_eq!(crash_everywhere(&child, 2), 2 * (STEPS.len() - 1));
}

/// A suite fixture with named hosts and a named test under the `main!()`
/// harness, killed at every step of every namespace: while the fixture is
/// built, while tests run, while the harness tears it down.
#[test]
fn fixture_under_the_harness_survives_a_crash_at_every_step() {
    let child = Child {
        program: harness_binary(),
        args: vec!["--ignored", "--test-threads=1"],
        prefixes: vec!["nt-crash-fx-", "nt-crash-hnamed"],
    };
    // Two fixture hosts and one named test: each step three times, but
    // `body` (named tests only) once.
    assert_eq!(crash_everywhere(&child, 3), 3 * (STEPS.len() - 1) + 1);
}

/// `kill -9` at random moments (no crash points) of a child that runs named
/// tests and named topologies in a loop: each next run passes and the host
/// is clean.
#[test]
fn random_kills_leave_nothing_behind() {
    let child = Child::test(
        "child_loop",
        vec![
            "nt-crash-loop0",
            "nt-crash-loop1",
            "nt-crash-loop2",
            "nt-crash-loopt-",
        ],
    );
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // How long a whole run takes, to kill inside it.
    let started = Instant::now();
    child.run_clean();
    let full = started.elapsed().as_micros().max(1) as u64;
    let mut seed = std::process::id() as u64 ^ full;
    let mut kills = 0;
    for _ in 0..10 {
        // xorshift: a kill time anywhere in a run (the first 5 ms are the
        // process starting).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(5_000 + seed % full);
        let mut process = child
            .command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let pid = process.id();
        if process.kill().is_ok() {
            kills += 1;
        }
        let _ = process.wait();
        child.run_clean();
        child.assert_host_clean(&format!("SIGKILL after {delay:?} and a run"), Some(pid));
    }
    eprintln!(
        "{kills} random kills in runs of {:.1?}, in {:.1?}",
        Duration::from_micros(full),
        started.elapsed()
    );
}
