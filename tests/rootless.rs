//! Rootless mode (README, "Rootless"): without root, the suite's own test
//! binaries pass as user nobody (65534), no sudo, each in a user namespace of
//! its own; their named namespaces never reach the host's `/run/netns`; and
//! with rootless mode off they fail with the one-line privilege error.
//!
//! Run as root (a plain `cargo test`), these tests start binaries as nobody
//! with `setpriv`. Run rootless themselves (as `ci/rootless` runs them), the
//! checks that need `setpriv --reuid` are skipped with the reason printed
//! (65534 has no mapping inside the user namespace), and the rest run in
//! process.
//!
//! A machine without unprivileged user namespaces fails these tests, with the
//! reason, unless `NETNS_TEST_ROOTLESS_OPTIONAL=1` is set.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::output_text as text;
use netns_test::{netns_test, Netns, Privilege, RunDir, ROOTLESS_ENV};

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";
const OPTIONAL_ENV: &str = "NETNS_TEST_ROOTLESS_OPTIONAL";

/// The test binaries that must pass as nobody: every suite whose tests make
/// namespaces. (`ui` needs cargo and a writable target directory.)
const SUITES: &[&str] = &[
    "parallel_ports",
    "isolation",
    "named",
    "lifecycle",
    "outcomes",
    "serial",
    "async_body",
    "composition",
    "cli",
    "links",
    "topology",
    "fixtures",
    "harness",
    "keep",
    "dump",
    // Built only with the feature (and `nft` installed, else they skip).
    #[cfg(feature = "nftables")]
    "firewall",
    #[cfg(feature = "nftables")]
    "nat",
];

/// A PATH user nobody can search (the caller's may hold directories of root's
/// home, which turn "not found" into EACCES).
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

fn fixture_armed() -> bool {
    std::env::var_os(FIXTURE_ENV).is_some()
}

/// How this process runs.
#[derive(Debug, PartialEq)]
enum Mode {
    /// Root in the initial user namespace: it can start binaries as nobody.
    Root,
    /// Rootless itself (ci/rootless).
    Rootless,
}

/// How this process runs, or `None` (after printing why) if it can make no
/// namespace and NETNS_TEST_ROOTLESS_OPTIONAL=1 says that is expected.
fn mode() -> Option<Mode> {
    match Privilege::get() {
        Privilege::Full if rustix::process::geteuid().is_root() => Some(Mode::Root),
        Privilege::Rootless => Some(Mode::Rootless),
        Privilege::Unavailable(why) if optional() => {
            skip(&format!("no namespaces here ({OPTIONAL_ENV}=1): {why}"));
            None
        }
        other => panic!("these tests run as root or rootless, not as {other:?}"),
    }
}

fn optional() -> bool {
    std::env::var_os(OPTIONAL_ENV).is_some_and(|v| v == "1")
}

fn skip(why: &str) {
    eprintln!("skipped: {why}");
}

/// A directory under /tmp that nobody can enter, holding copies (0755) of the
/// binaries to run as nobody: the target directory may be out of its reach.
struct NobodyDir(PathBuf);

impl NobodyDir {
    fn new(tag: &str) -> NobodyDir {
        let dir = PathBuf::from(format!(
            "/tmp/netns-test-rootless-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        NobodyDir(dir)
    }

    /// Copies `bin` here, 0755. By `install(1)`, not `std::fs::copy`: a
    /// write fd in this process would leak into children that other tests
    /// fork meanwhile, and exec of the copy would fail with ETXTBSY.
    fn copy(&self, bin: &Path) -> PathBuf {
        let to = self.0.join(bin.file_name().unwrap());
        let status = Command::new("install")
            .args(["-m", "0755"])
            .arg(bin)
            .arg(&to)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "install {} {}",
            bin.display(),
            to.display()
        );
        to
    }
}

impl Drop for NobodyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `setpriv` as user 65534 (root only), running `bin` from `dir`.
fn as_nobody(bin: &Path, dir: &NobodyDir) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin)
        .current_dir(&dir.0)
        .env("PATH", SYSTEM_PATH)
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// Without privilege: as nobody from a root run; rootless, as uid 0 of this
/// user namespace with every capability dropped (65534 has no mapping here).
fn unprivileged(mode: Mode, bin: &Path, dir: &NobodyDir) -> Command {
    match mode {
        Mode::Root => as_nobody(bin, dir),
        Mode::Rootless => {
            let mut cmd = Command::new("setpriv");
            cmd.args([
                "--inh-caps=-all",
                "--ambient-caps=-all",
                "--bounding-set=-all",
            ])
            .arg(bin)
            .current_dir(&dir.0)
            .env("RUST_BACKTRACE", "0");
            cmd
        }
    }
}

/// This binary, run as nobody on the ignored fixture `name`.
fn fixture_as_nobody(dir: &NobodyDir, name: &str) -> Command {
    let bin = dir.copy(&std::env::current_exe().unwrap());
    let mut cmd = as_nobody(&bin, dir);
    cmd.args([
        "--ignored",
        "--exact",
        name,
        "--nocapture",
        "--test-threads=1",
    ])
    .env(FIXTURE_ENV, "1");
    cmd
}

/// What a process of user nobody reports (`Privilege::get`), asked once.
/// `Err` with the reason if it cannot run rootless: a failure, unless
/// NETNS_TEST_ROOTLESS_OPTIONAL=1 makes it a printed skip (`Ok(false)`).
fn nobody_goes_rootless() -> bool {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    let answer = ANSWER.get_or_init(|| {
        let dir = NobodyDir::new("probe");
        let out = fixture_as_nobody(&dir, "fixture_report").output().unwrap();
        let text = text(&out);
        let line = text
            .lines()
            .find_map(|l| Some(l.split_once("privilege: ")?.1))
            .unwrap_or_else(|| panic!("no privilege line from nobody: {text}"))
            .to_owned();
        if line == "Rootless" {
            Ok(())
        } else {
            Err(line)
        }
    });
    match answer {
        Ok(()) => true,
        Err(why) if optional() => {
            skip(&format!(
                "no rootless mode for user nobody on this machine ({OPTIONAL_ENV}=1): {why}"
            ));
            false
        }
        Err(why) => panic!(
            "user nobody cannot run rootless on this machine: {why} \
             (set {OPTIONAL_ENV}=1 where that is expected)"
        ),
    }
}

#[test]
#[ignore = "fixture: run as nobody by the tests of this file"]
fn fixture_report() {
    if fixture_armed() {
        match Privilege::get() {
            Privilege::Unavailable(why) => println!("privilege: {why}"),
            other => println!("privilege: {other:?}"),
        }
    }
}

/// What rootless mode promises, checked from inside: uid 0 mapped to the real
/// user, anonymous and named namespaces with loopback, `ip netns` agreeing
/// with us, and veth, addresses and routes inside a namespace. Returns the
/// named namespace, still there.
fn check_rootless_world(name: &str) -> Netns {
    assert_eq!(Privilege::get(), &Privilege::Rootless);
    assert!(rustix::process::geteuid().is_root(), "uid 0 inside");
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap();
    let fields: Vec<&str> = uid_map.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "one mapping: {uid_map}");
    assert_eq!((fields[0], fields[2]), ("0", "1"), "{uid_map}");
    assert_ne!(fields[1], "0", "mapped to a real, non-root user: {uid_map}");

    let anonymous = Netns::new().unwrap();
    assert!(anonymous
        .run(|| std::net::TcpListener::bind("[::1]:8080").is_ok())
        .unwrap());

    assert_eq!(RunDir::get().path(), Path::new("/run/netns"));
    let ns = Netns::create(name).unwrap();
    assert!(common::ip_netns_list().iter().any(|n| n == name));
    let out = common::ip(&["netns", "exec", name, "readlink", "/proc/self/ns/net"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("net:[{}]", ns.inode())
    );
    // Links, addresses and routes: the kernel allows them to the user
    // namespace that owns the network namespace.
    for args in [
        &["link", "add", "v0", "type", "veth", "peer", "name", "v1"][..],
        &["addr", "add", "192.0.2.1/24", "dev", "v0"],
        &["addr", "add", "2001:db8::1/64", "dev", "v0", "nodad"],
        &["link", "set", "v0", "up"],
        &["link", "set", "v1", "up"],
        &["route", "add", "198.51.100.0/24", "via", "192.0.2.2"],
    ] {
        let out = common::ip(&[&["-n", name][..], args].concat());
        assert!(out.status.success(), "ip -n {name} {args:?}: {out:?}");
    }
    let routes = common::ip(&["-n", name, "route"]);
    assert!(
        String::from_utf8_lossy(&routes.stdout).contains("198.51.100.0/24 via 192.0.2.2"),
        "{routes:?}"
    );
    ns
}

#[test]
#[ignore = "fixture: run as nobody by a_rootless_process_keeps_its_named_namespaces_to_itself"]
fn fixture_world() {
    if !fixture_armed() {
        return;
    }
    let name = common::unique("world");
    let ns = check_rootless_world(&name);
    println!("holding {name}");
    // Until the parent has looked at the host's /run/netns.
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    ns.delete().unwrap();
    println!("world ok");
}

#[test]
fn privilege_is_full_as_root_and_rootless_as_nobody() {
    let Some(mode) = mode() else { return };
    match mode {
        Mode::Root => {
            assert_eq!(Privilege::get(), &Privilege::Full);
            // nobody_goes_rootless fails loudly if nobody reports otherwise.
            if nobody_goes_rootless() {
                eprintln!("nobody: privilege Rootless");
            }
        }
        Mode::Rootless => {
            assert_eq!(Privilege::get(), &Privilege::Rootless);
            skip("running rootless: user nobody is checked from a root run");
        }
    }
}

#[test]
fn a_rootless_process_keeps_its_named_namespaces_to_itself() {
    let Some(mode) = mode() else { return };
    if mode == Mode::Rootless {
        let name = common::unique("world-here");
        check_rootless_world(&name).delete().unwrap();
        skip("running rootless: the host's /run/netns is checked from a root run");
        return;
    }
    if !nobody_goes_rootless() {
        return;
    }
    let dir = NobodyDir::new("world");
    let mut child = fixture_as_nobody(&dir, "fixture_world")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let name = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| Some(l.split_once("holding ")?.1.to_owned()));
    if let Some(name) = &name {
        // The host (this root process) sees none of it.
        assert!(!Path::new("/run/netns").join(name).exists());
        assert!(!common::ip_netns_list().contains(name));
        assert!(!common::nsfs_mounts()
            .iter()
            .any(|m| m.contains(name.as_str())));
    }
    child.stdin.take().unwrap().write_all(b"done\n").unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        name.is_some() && out.status.success() && rest.iter().any(|l| l == "world ok"),
        "the rootless fixture failed: {rest:?}\n{stderr}"
    );
}

#[netns_test]
#[ignore = "fixture: run without privilege by rootless_mode_off_fails_with_the_one_line_privilege_error"]
fn fixture_plain() {
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
}

#[test]
fn rootless_mode_off_fails_with_the_one_line_privilege_error() {
    let Some(mode) = mode() else { return };
    let dir = NobodyDir::new("off");
    let bin = dir.copy(&std::env::current_exe().unwrap());
    let out = unprivileged(mode, &bin, &dir)
        .args(["--ignored", "--exact", "fixture_plain", "--test-threads=1"])
        .env(ROOTLESS_ENV, "0")
        .output()
        .unwrap();
    let text = text(&out);
    assert!(!out.status.success(), "passed without privilege: {text}");
    let line = text
        .lines()
        .find(|l| l.contains("netns-test:"))
        .unwrap_or_else(|| panic!("no netns-test message: {text}"));
    for needle in ["EPERM", "CAP_SYS_ADMIN", "NETNS_TEST_ROOTLESS=0", "sudo -E"] {
        assert!(line.contains(needle), "{needle} missing: {line}");
    }
}

#[test]
fn the_setns_cli_never_goes_rootless() {
    let Some(mode) = mode() else { return };
    let dir = NobodyDir::new("cli");
    let bin = dir.copy(Path::new(setns_bin()));
    let name = common::unique("cli-unpriv");
    let out = unprivileged(mode, &bin, &dir)
        .args([name.as_str(), "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CAP_SYS_ADMIN") && stderr.contains("does not use rootless mode"),
        "{stderr}"
    );
    assert!(!RunDir::get().path().join(&name).exists());
}

/// The newest `NAME-HASH` test binary next to this one.
fn suite_binary(name: &str) -> Option<PathBuf> {
    let deps = std::env::current_exe().unwrap().parent()?.to_path_buf();
    let prefix = format!("{name}-");
    std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            file.strip_prefix(&prefix)
                .is_some_and(|hash| hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
}

/// `(passed, failed, ignored)` summed over libtest's result lines.
fn totals(text: &str) -> (u64, u64, u64) {
    let mut sum = (0, 0, 0);
    for line in text.lines().filter(|l| l.starts_with("test result: ")) {
        let count = |what: &str| {
            line.split("; ")
                .find_map(|part| {
                    part.trim_start_matches("test result: ok. ")
                        .strip_suffix(what)
                })
                .and_then(|n| n.rsplit(' ').next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        sum.0 += count(" passed");
        sum.1 += count(" failed");
        sum.2 += count(" ignored");
    }
    sum
}

#[test]
fn totals_reads_libtest_result_lines() {
    let text = "test result: ok. 20 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.5s\n\
                test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out";
    assert_eq!(totals(text), (21, 2, 3));
}

#[test]
fn the_suites_pass_as_nobody() {
    let Some(mode) = mode() else { return };
    if mode == Mode::Rootless {
        skip("running rootless: ci/rootless runs every suite as nobody");
        return;
    }
    if !nobody_goes_rootless() {
        return;
    }
    let dir = NobodyDir::new("suites");
    let mut failures = Vec::new();
    for suite in SUITES {
        let Some(bin) = suite_binary(suite) else {
            failures.push(format!(
                "{suite}: no test binary next to this one (build them all: cargo test --no-run)"
            ));
            continue;
        };
        if *suite == "cli" {
            // It runs the setns binary from where cargo built it.
            let reach = as_nobody(Path::new("test"), &dir)
                .args(["-x", setns_bin()])
                .status()
                .unwrap();
            if !reach.success() {
                skip(&format!("cli: user nobody cannot reach {}", setns_bin()));
                continue;
            }
        }
        let out = as_nobody(&dir.copy(&bin), &dir).output().unwrap();
        let text = text(&out);
        // Its own result line is the last (a failure can quote those of
        // the test processes it ran).
        let own = text.lines().rfind(|l| l.starts_with("test result: "));
        let (passed, failed, ignored) = totals(own.unwrap_or_default());
        eprintln!("{suite} as nobody: {passed} passed, {failed} failed, {ignored} ignored");
        if !out.status.success() || passed == 0 {
            failures.push(format!("{suite} ({}):\n{text}", bin.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
