//! The `setns` CLI against the real kernel and the real iproute2: every test
//! checks state a person would check (`ip netns list`, inodes, mountinfo,
//! `/sys`, `/etc`), and cleans up what it made, even when it fails.
//!
//! The tests run in parallel threads, and other test binaries may create
//! namespaces at the same time: every name carries the test's tag and this
//! process's id, and no test relies on global state beyond its own names.
//!
//! Without root this binary runs rootless (README, "Rootless"): `setns` never
//! goes rootless itself, but started by this process it is root in the
//! process's user namespace and works in its private `/run/netns`, as do the
//! `ip` commands the tests run. What needs the host (writing `/etc`) is
//! skipped then, with the reason printed.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::is_rootless;

/// The setns binary: where cargo-nextest put it when it runs the tests from
/// an archive (`NEXTEST_BIN_EXE_setns`, in the extraction directory; the
/// build's own target directory may not even exist there), otherwise where
/// cargo built it.
fn setns_bin() -> &'static str {
    static PATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        std::env::var("NEXTEST_BIN_EXE_setns")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_setns").to_owned())
    });
    &PATH
}

/// A namespace name unique to this test and this process.
fn unique(tag: &str) -> String {
    format!("nt-cli-{tag}-{}", std::process::id())
}

/// Removes the namespace `NAME` with `ip netns del` when dropped, whatever
/// the test's outcome.
struct NsGuard(String);

impl NsGuard {
    fn new(tag: &str) -> NsGuard {
        assert!(
            rustix::process::geteuid().is_root(),
            "tests/cli.rs needs root (CAP_SYS_ADMIN): run them as root or through the `sudo -E` runner"
        );
        NsGuard(unique(tag))
    }

    fn name(&self) -> &str {
        &self.0
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.0)
    }
}

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// Removes files and (empty) directories when dropped, in the given order.
struct PathsGuard(Vec<PathBuf>);

impl Drop for PathsGuard {
    fn drop(&mut self) {
        for path in &self.0 {
            if path.is_dir() {
                let _ = std::fs::remove_dir(path);
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

fn setns(args: &[&str]) -> Output {
    Command::new(setns_bin())
        .args(args)
        .output()
        .expect("run setns")
}

fn ip(args: &[&str]) -> Output {
    let run = || Command::new("ip").args(args).output().expect("run ip");
    // Rootless, `ip netns add` must start in a namespace of this process's
    // user namespace: it switches back to where it started, which in the
    // host's namespace fails (EPERM, exit 1) after the namespace is made.
    let out = if args.starts_with(&["netns", "add"]) && is_rootless() {
        netns_test::Netns::new().unwrap().run(run).unwrap()
    } else {
        run()
    };
    assert!(out.status.success(), "ip {args:?}: {out:?}");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ip_netns_list() -> Vec<String> {
    stdout(&ip(&["netns", "list"]))
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// `net:[INODE]`, as `readlink /proc/self/ns/net` prints it.
fn net_link(inode: u64) -> String {
    format!("net:[{inode}]\n")
}

/// The mount points (field 5) of this process's mount table.
fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.split(' ').nth(4).unwrap().to_owned())
        .collect()
}

/// The whole `/proc/self/mountinfo` line of the mount on `point`, if any.
fn mountinfo_line(point: &str) -> Option<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(point))
        .map(str::to_owned)
}

/// Asserts that `name` left nothing behind: no `/run/netns` entry, no mount.
fn assert_gone(name: &str) {
    let path = format!("/run/netns/{name}");
    assert!(!Path::new(&path).exists(), "{path} still exists");
    assert!(
        !ip_netns_list().iter().any(|n| n == name),
        "ip netns list still shows {name}"
    );
    assert!(
        !mount_points().iter().any(|p| p.contains(name)),
        "a mount of {name} is still in mountinfo"
    );
}

#[test]
fn creates_a_namespace_that_persists_for_ip_netns() {
    let ns = NsGuard::new("create");
    let out = setns(&[ns.name(), "true"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        ip_netns_list().iter().any(|n| n == ns.name()),
        "{:?}",
        ip_netns_list()
    );

    // The second call joins the namespace the first one made.
    let out = setns(&[ns.name(), "readlink", "/proc/self/ns/net"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let inode = std::fs::metadata(ns.path()).unwrap().ino();
    assert_eq!(stdout(&out), net_link(inode));
    let host = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert_ne!(inode, host, "setns ran the command in the host's namespace");
}

#[test]
fn exit_status_is_the_commands() {
    let ns = NsGuard::new("status");
    let out = setns(&[ns.name(), "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");

    // Without --rm CMD is setns (exec): its death by a signal is setns's.
    let out = setns(&[ns.name(), "sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.status.signal(), Some(9), "{out:?}");
    // With --rm setns outlives CMD and reports it as shells do: 128+N.
    let other = NsGuard::new("status-rm");
    let out = setns(&["--rm", other.name(), "sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.status.code(), Some(128 + 9), "{out:?}");

    let missing = "nt-cli-no-such-command";
    let out = setns(&[ns.name(), missing]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(stderr(&out).contains(missing), "{}", stderr(&out));

    let out = setns(&[ns.name(), "/etc"]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(stderr(&out).contains("/etc"), "{}", stderr(&out));

    // No CMD: $SHELL, here reading its commands from stdin.
    let mut child = Command::new(setns_bin())
        .arg(ns.name())
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"exit 9\n").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(9));
}

#[test]
fn joins_a_namespace_made_by_ip_netns_add() {
    let ns = NsGuard::new("join");
    ip(&["netns", "add", ns.name()]);
    let by_ip = ip(&["netns", "exec", ns.name(), "readlink", "/proc/self/ns/net"]);
    let out = setns(&[ns.name(), "readlink", "/proc/self/ns/net"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), stdout(&by_ip));
    assert_eq!(
        stdout(&out),
        net_link(std::fs::metadata(ns.path()).unwrap().ino())
    );
}

#[test]
fn ip_netns_exec_and_del_work_on_a_namespace_made_by_setns() {
    let ns = NsGuard::new("ipexec");
    assert!(setns(&[ns.name(), "true"]).status.success());
    let inode = std::fs::metadata(ns.path()).unwrap().ino();
    let out = ip(&["netns", "exec", ns.name(), "readlink", "/proc/self/ns/net"]);
    assert_eq!(stdout(&out), net_link(inode));
    // The library brought lo up, as a test fixture should.
    let out = ip(&["netns", "exec", ns.name(), "ip", "-o", "link", "show", "lo"]);
    assert!(stdout(&out).contains(",UP"), "{}", stdout(&out));

    ip(&["netns", "del", ns.name()]);
    assert_gone(ns.name());
}

#[test]
fn rm_removes_a_namespace_it_created() {
    let ns = NsGuard::new("rm");
    let script = format!("test -e /run/netns/{} && exit 5", ns.name());
    let out = setns(&["--rm", ns.name(), "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_gone(ns.name());

    // Also when CMD cannot be run at all.
    let out = setns(&["--rm", ns.name(), "nt-cli-no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert_gone(ns.name());
}

#[test]
fn rm_leaves_a_namespace_that_already_existed() {
    let ns = NsGuard::new("rmkeep");
    ip(&["netns", "add", ns.name()]);
    let out = setns(&["--rm", ns.name(), "true"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        ip_netns_list().iter().any(|n| n == ns.name()),
        "{:?}",
        ip_netns_list()
    );
}

#[test]
fn rm_survives_sigint_and_passes_sigterm_on() {
    let ns = NsGuard::new("rmsig");
    // Ctrl-C reaches the whole foreground group: setns must outlive it and
    // still remove the namespace once CMD is done.
    let out = setns(&[
        "--rm",
        ns.name(),
        "sh",
        "-c",
        "kill -INT $PPID; sleep 0.2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_gone(ns.name());

    // SIGTERM to setns alone is passed on to CMD (here `sleep`, which dies of
    // it), and the namespace is still removed.
    let out = setns(&[
        "--rm",
        ns.name(),
        "sh",
        "-c",
        "kill -TERM $PPID; exec sleep 10",
    ]);
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    assert_gone(ns.name());
}

#[test]
fn sys_class_net_shows_the_namespace_links_only() {
    let ns = NsGuard::new("sys");
    let host_sys = mountinfo_line("/sys").expect("/sys is mounted");
    let out = setns(&[ns.name(), "ls", "/sys/class/net"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "lo\n");

    // The host's /sys was not touched: same mount, still the host's links.
    assert_eq!(mountinfo_line("/sys").as_ref(), Some(&host_sys));
    let host_links: Vec<_> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        host_links.iter().any(|l| l != "lo"),
        "host links: {host_links:?}"
    );
}

#[test]
fn etc_netns_files_are_bound_over_etc() {
    if is_rootless() {
        eprintln!("skipped: rootless, this process cannot write the host's /etc/netns");
        return;
    }
    let ns = NsGuard::new("etc");
    let pid = std::process::id();
    let probe = format!("netns-test-probe-{pid}");
    let missing = format!("netns-test-missing-{pid}");
    let etc_netns = Path::new("/etc/netns");
    let dir = etc_netns.join(ns.name());
    let host_file = Path::new("/etc").join(&probe);
    // Dropped in this order: files, then the directories (if empty).
    let _cleanup = PathsGuard(vec![
        host_file.clone(),
        dir.join(&probe),
        dir.join(&missing),
        dir.clone(),
        etc_netns.to_path_buf(),
    ]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&host_file, "host\n").unwrap();
    std::fs::write(dir.join(&probe), "netns\n").unwrap();
    // No /etc/netns-test-missing-PID to bind it over: a warning, not an error.
    std::fs::write(dir.join(&missing), "x\n").unwrap();

    let out = setns(&[ns.name(), "cat", host_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "netns\n");
    assert!(
        stderr(&out).contains(&missing),
        "no warning: {}",
        stderr(&out)
    );

    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "host\n");
    let host_file = host_file.to_str().unwrap();
    assert!(
        !mount_points().iter().any(|p| p == host_file),
        "bind mount leaked to the host"
    );
}

/// What a bad name could have changed: `/run/netns` entries and mounts under
/// `/run`. Other tests (and other test binaries) create and remove their own
/// namespaces meanwhile, so those are left out: only names of ours, and the
/// places `""`, `.` and `..` resolve to (`/run/netns`, `/run`), count.
fn run_dir_state(ours: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let entries = std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(ours))
                .collect()
        })
        .unwrap_or_default();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            let point = l.split(' ').nth(4).unwrap();
            point == "/run" || point == "/run/netns" || point.contains(ours)
        })
        .map(str::to_owned)
        .collect();
    (entries, mounts)
}

#[test]
fn bad_input_is_a_usage_error_and_creates_nothing() {
    let prep = NsGuard::new("bad-prep");
    let ours = unique("bad");
    // Make /run/netns a mount point first (a first `ip netns add` does), so
    // that a concurrent first creation cannot change its mountinfo line.
    ip(&["netns", "add", prep.name()]);
    ip(&["netns", "del", prep.name()]);
    let before = run_dir_state(&ours);

    let escape = format!("../{ours}");
    let nested = format!("{ours}/b");
    let long = format!("{ours}-{}", "x".repeat(256));
    let cases: Vec<Vec<&str>> = vec![
        vec![""],
        vec!["."],
        vec![".."],
        vec!["a/b"],
        vec![escape.as_str(), "true"],
        vec![nested.as_str()],
        vec![long.as_str(), "true"],
        vec![],
        vec!["--rm"],
        vec!["--bogus", ours.as_str()],
        vec!["--rm", "--", "..", "true"],
    ];
    for args in &cases {
        let out = setns(args);
        assert_eq!(out.status.code(), Some(2), "setns {args:?}: {out:?}");
        let err = stderr(&out);
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("setns: "), "setns {args:?}: {err}");
        assert!(
            err.contains("usage"),
            "setns {args:?}: no usage hint: {err}"
        );
        assert!(out.stdout.is_empty(), "setns {args:?}: {out:?}");
    }

    assert_eq!(run_dir_state(&ours), before);
    assert!(!Path::new("/run").join(&ours).exists());
    assert_gone(&ours);
}

/// A copy of the binary that user `nobody` can run, removed when dropped
/// (the target directory may not be readable by others).
struct BinCopy(PathBuf);

impl Drop for BinCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn without_privilege_it_fails_clearly_and_creates_nothing() {
    let ns = NsGuard::new("unpriv");
    let bin = BinCopy(Path::new("/tmp").join(unique("setns-bin")));
    std::fs::copy(setns_bin(), &bin.0).unwrap();
    std::fs::set_permissions(&bin.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    for rm in [false, true] {
        let mut cmd = common::unprivileged(&bin.0);
        if rm {
            cmd.arg("--rm");
        }
        let out = cmd.args([ns.name(), "true"]).output().expect("run setpriv");
        assert!(!out.status.success(), "{out:?}");
        assert_ne!(out.status.code(), Some(2), "not a usage error: {out:?}");
        let err = stderr(&out);
        assert!(err.starts_with("setns: "), "{err}");
        assert!(err.contains("CAP_SYS_ADMIN"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_gone(ns.name());
    }
}

#[test]
fn help_and_version() {
    let out = setns(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let help = stdout(&out);
    for needle in [
        "--rm",
        "/etc/netns",
        "ip netns",
        "/sys",
        "CAP_SYS_ADMIN",
        "127",
    ] {
        assert!(
            help.contains(needle),
            "--help does not mention {needle}:\n{help}"
        );
    }
    assert_eq!(stdout(&setns(&["-h"])), help);

    let out = setns(&["--version"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        stdout(&out),
        format!("setns {}\n", env!("CARGO_PKG_VERSION"))
    );
}
