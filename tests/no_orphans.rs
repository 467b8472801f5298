//! No process a test started outlives it, directly or not: every spawned
//! program runs under an init of its own, pid 1 of a PID namespace of its
//! own, whose end takes every process of the namespace with it. A daemon
//! that double-forks and leaves the process group and session (`setsid`),
//! which the group signals miss, is gone once the guard drops, once the
//! program exits, and once the test process is killed with `SIGKILL`.
//! Daemons are found by a unique marker in `/proc/*/cmdline`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use netns_test::{netns_test, Netns};

const WAIT: Duration = Duration::from_secs(10);
const MARKER_ENV: &str = "NETNS_TEST_NO_ORPHANS_MARKER";

/// A marker no other process's command line holds.
fn marker() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "netns-test-daemon-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Live processes (not zombies) whose `/proc/PID/cmdline` holds `marker`.
fn with_marker(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains(marker) {
            continue;
        }
        if !matches!(stat(pid), Some((state, ..)) if state != 'Z' && state != 'X') {
            continue;
        }
        pids.push(pid);
    }
    pids
}

/// State, process group and session of `pid` (`/proc/PID/stat` fields 3,
/// 5 and 6).
fn stat(pid: u32) -> Option<(char, u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = text.rsplit_once(") ")?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some((state, pgrp, session))
}

/// Waits until `marker`'s daemon runs (a process with the marker in a
/// session of its own, not `group`'s) and returns its pid.
fn daemon_of(marker: &str, group_of: u32) -> u32 {
    let (_, group, session) = stat(group_of).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let daemon = with_marker(marker)
            .into_iter()
            .find(|&pid| matches!(stat(pid), Some((_, g, s)) if g != group && s != session));
        if let Some(pid) = daemon {
            return pid;
        }
        assert!(Instant::now() < deadline, "no daemon with {marker}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether no live process holds `marker` within `within`.
fn all_gone(marker: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if with_marker(marker).is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `sh -c` that starts a daemon (`setsid`, in the background: it leaves
/// the process group and the session) holding `marker`, then stays in the
/// foreground (`then_wait`) or exits after a second (time for the test to
/// see the daemon out of the session).
fn double_forking(marker: &str, then_wait: bool) -> Command {
    let mut command = Command::new("sh");
    let script = format!(
        "setsid sh -c 'sleep 300; : {marker}' & {}",
        if then_wait {
            "sleep 300"
        } else {
            "sleep 1; exit 0"
        }
    );
    command.args(["-c", &script]);
    command
}

#[netns_test]
fn a_daemon_that_left_the_group_is_gone_when_the_guard_drops() {
    let marker = marker();
    let ns = Netns::current().unwrap();
    let program = ns.spawn(&mut double_forking(&marker, true)).unwrap();
    let daemon = daemon_of(&marker, program.pid());
    // It runs while the program does: out of the group, in the namespace.
    std::thread::sleep(Duration::from_millis(50));
    assert!(with_marker(&marker).contains(&daemon));
    drop(program);
    // Stopping returns once the init is reaped: the kernel has killed the
    // namespace's processes by then.
    assert!(
        all_gone(&marker, Duration::ZERO),
        "{:?}",
        with_marker(&marker)
    );
}

#[netns_test]
fn a_daemon_goes_with_the_program_that_started_it() {
    let marker = marker();
    let ns = Netns::current().unwrap();
    let program = ns.spawn(&mut double_forking(&marker, false)).unwrap();
    let daemon = daemon_of(&marker, program.pid());
    // The program exits with its own status; its daemon with it.
    let status = program.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(!with_marker(&marker).contains(&daemon));
    assert!(
        all_gone(&marker, Duration::ZERO),
        "{:?}",
        with_marker(&marker)
    );
}

#[netns_test]
fn the_program_sees_pid_2_and_its_init_as_parent() {
    let ns = Netns::current().unwrap();
    let program = ns
        .spawn(Command::new("sh").args(["-c", "echo pid=$$ ppid=$PPID; exec sleep 30"]))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = std::fs::read_to_string(program.log_path()).unwrap();
        if text.contains('\n') {
            break text;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(text.trim(), "pid=2 ppid=1");
    // What the test sees: the program's own pid (its cmdline is the
    // program's), a child of the init, which is a child of this process.
    // (The shell echoes, then execs: until the exec is done, its cmdline
    // is the shell's, or empty while the exec replaces it.)
    let cmdline = loop {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", program.pid())).unwrap();
        if cmdline.starts_with(b"sleep\x0030") || Instant::now() >= deadline {
            break cmdline;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(cmdline.starts_with(b"sleep\x0030"), "{cmdline:?}");
    let init = std::fs::read_to_string(format!("/proc/{}/stat", program.pid())).unwrap();
    let init: u32 = init
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{init}/comm")).unwrap();
    assert_eq!(comm.trim(), "netns-test-init");
    assert_eq!(common::host_pid(program.pid(), 1), Some(init));
    assert_ne!(
        std::fs::read_link(format!("/proc/{}/ns/pid", program.pid())).unwrap(),
        std::fs::read_link("/proc/self/ns/pid").unwrap()
    );
}

/// Ignored: run by `a_killed_test_process_leaves_no_daemon_behind`, which
/// kills it. Prints the daemon's pid and waits.
#[netns_test]
#[ignore = "run and SIGKILLed by a_killed_test_process_leaves_no_daemon_behind"]
fn victim_starts_a_daemon_and_waits_to_be_killed() {
    let marker = std::env::var(MARKER_ENV).unwrap();
    let ns = Netns::current().unwrap();
    let program = ns.spawn(&mut double_forking(&marker, true)).unwrap();
    let daemon = daemon_of(&marker, program.pid());
    std::mem::forget(program); // no guard drops: only the kernel can help
    println!("daemon {daemon}");
    std::thread::sleep(Duration::from_secs(300));
}

#[test]
fn a_killed_test_process_leaves_no_daemon_behind() {
    let marker = marker();
    let mut victim = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "victim_starts_a_daemon_and_waits_to_be_killed",
            "--ignored",
            "--nocapture",
        ])
        .env(MARKER_ENV, &marker)
        .env_remove("NEXTEST")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(victim.stdout.take().unwrap());
    let daemon: u32 = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("daemon ")?.parse().ok())
        .expect("the victim printed no daemon pid");
    assert!(with_marker(&marker).contains(&daemon));
    victim.kill().unwrap(); // SIGKILL: no drop, no atexit
    victim.wait().unwrap();
    assert!(
        all_gone(&marker, Duration::from_secs(5)),
        "outlived the killed test process: {:?}",
        with_marker(&marker)
    );
}

#[netns_test]
fn programs_spawned_at_once_each_report_their_own_status() {
    let ns = Netns::current().unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4u8 {
            let ns = &ns;
            scope.spawn(move || {
                for i in 0..8u8 {
                    let code = thread * 8 + i + 1;
                    let program = ns
                        .spawn(Command::new("sh").args(["-c", &format!("exit {code}")]))
                        .unwrap();
                    let status = program.wait().unwrap();
                    assert_eq!(status.code(), Some(i32::from(code)), "{status}");
                }
            });
        }
    });
    // A signal's status is the program's, through its init.
    let program = ns.spawn(Command::new("sleep").arg("30")).unwrap();
    let status = program.stop().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
}
