//! Per-test files in a shared temporary directory are private: a rootless
//! run of user nobody (65534), whose target directory it cannot write,
//! puts its process log (and its capture, with the `capture` feature) in
//! `$TMPDIR`; another user (4242) who made first, in that same directory,
//! every name nobody's run could be expected to use (the per-user names as
//! directories of theirs or a symbolic link to one, the per-pid names of an
//! older version for the next pids) gets nothing written into them and can
//! read nothing of it, and the run still passes.
//!
//! Run as root (a plain `cargo test`): it starts both users with `setpriv`.
//! Run rootless, the test is skipped with the reason printed (neither uid has
//! a mapping inside the user namespace). A machine without unprivileged user
//! namespaces fails it, with the reason, unless
//! `NETNS_TEST_ROOTLESS_OPTIONAL=1` is set.

mod common;

use std::net::UdpSocket;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netns_test::{netns_test, Netns};

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";
const OPTIONAL_ENV: &str = "NETNS_TEST_ROOTLESS_OPTIONAL";
const SECRET: &str = "secret-token-1234";
const NOBODY: u32 = 65534;
const OTHER: u32 = 4242;
/// Per-pid names made ahead of nobody's run: its pid is a little above ours.
const PIDS_AHEAD: u32 = 400;
/// A PATH both users can search.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Run as nobody: a process that writes the secret to its log, and the
/// secret on `lo` for the capture.
#[netns_test]
#[ignore = "fixture: run as nobody by nobodys_files_in_a_shared_tmpdir_are_nobodys_alone"]
fn fixture_secret() {
    if std::env::var_os(FIXTURE_ENV).is_none() {
        return;
    }
    let ns = Netns::current().unwrap();
    let process = ns
        .spawn(Command::new("sh").args(["-c", &format!("echo {SECRET}")]))
        .unwrap();
    assert!(process.wait().unwrap().success());
    println!("log: {}", process.log_path().display());
    let to = UdpSocket::bind("127.0.0.1:0").unwrap();
    let from = UdpSocket::bind("127.0.0.1:0").unwrap();
    from.send_to(SECRET.as_bytes(), to.local_addr().unwrap())
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(to.recv(&mut buf).unwrap(), SECRET.len());
    println!("fixture ok");
}

/// Directories this test makes, removed (with everything in them) on drop,
/// pass or fail.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Cleanup {
    /// A new directory `/tmp/netns-test-private-TAG-PID` with `mode`,
    /// removed on drop.
    fn fresh_dir(&mut self, tag: &str, mode: u32) -> PathBuf {
        let dir = PathBuf::from(format!(
            "/tmp/netns-test-private-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        self.0.push(dir.clone());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        dir
    }
}

/// `setpriv` as `uid` (and the same gid, no supplementary groups).
fn as_user(uid: u32, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".to_owned(),
    ])
    .arg(program)
    .env("PATH", SYSTEM_PATH)
    .env("RUST_BACKTRACE", "0");
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap()
}

/// The `PROJECT` part of a base directory's name for a test binary in
/// `bin_dir`: 8 hex digits of the FNV-1a hash of the directory's path (the
/// crate docs' `files` topic).
fn project(bin_dir: &Path) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in bin_dir.as_os_str().as_encoded_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// As user 4242, in the shared directory `shared`: the per-user name of
/// `project` as a symbolic link to a directory of theirs (0777), older
/// per-user names as directories of theirs, and per-pid names from a
/// little below our pid to [`PIDS_AHEAD`] above it.
fn plant(shared: &Path, project: &str) {
    let me = std::process::id();
    let script = format!(
        "set -e; cd '{dir}'; umask 0; \
         mkdir -m 0777 theirs netns-test-uid{NOBODY} netns-test-logs-uid{NOBODY}; \
         ln -s theirs netns-test-{project}-uid{NOBODY}; \
         for p in $(seq {from} {to}); do \
           mkdir -m 0777 netns-test-$p netns-test-{project}-$p netns-test-logs-$p; \
         done",
        dir = shared.display(),
        from = me.saturating_sub(50),
        to = me + PIDS_AHEAD,
    );
    let out = run({
        let mut cmd = as_user(OTHER, "sh");
        cmd.args(["-c", &script]);
        cmd
    });
    assert!(out.status.success(), "planting as {OTHER}: {out:?}");
}

/// Every entry under `dir` (symbolic links not followed).
fn walk(dir: &Path, out: &mut Vec<(PathBuf, std::fs::Metadata)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let is_dir = meta.is_dir();
        out.push((path.clone(), meta));
        if is_dir {
            walk(&path, out);
        }
    }
}

#[test]
fn nobodys_files_in_a_shared_tmpdir_are_nobodys_alone() {
    if !rustix::process::geteuid().is_root() || common::is_rootless() {
        eprintln!("skipped: starting users {NOBODY} and {OTHER} takes root (setpriv --reuid)");
        return;
    }
    let mut cleanup = Cleanup(Vec::new());
    let shared = cleanup.fresh_dir("shared", 0o1777);
    let bin_dir = cleanup.fresh_dir("bin", 0o755);
    plant(&shared, &project(&bin_dir));

    // A copy outside the target directory (nobody can reach neither it nor
    // its target directory there), by install(1) so that no write fd leaks
    // into children forked meanwhile (ETXTBSY).
    let exe = std::env::current_exe().unwrap();
    let bin = bin_dir.join(exe.file_name().unwrap());
    let installed = Command::new("install")
        .args(["-m", "0755"])
        .arg(&exe)
        .arg(&bin)
        .status()
        .unwrap();
    assert!(installed.success());
    let mut cmd = as_user(NOBODY, &bin);
    cmd.args([
        "--ignored",
        "--exact",
        "fixture_secret",
        "--nocapture",
        "--test-threads=1",
    ])
    .current_dir(&bin_dir)
    .env("TMPDIR", &shared)
    .env(FIXTURE_ENV, "1")
    .env("NETNS_TEST_CAPTURE", "all")
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("NETNS_TEST_CAPTURE_DIR");
    let out = run(cmd);
    let text = common::output_text(&out);
    if !out.status.success()
        && text.contains("CAP_SYS_ADMIN")
        && std::env::var_os(OPTIONAL_ENV).is_some_and(|v| v == "1")
    {
        eprintln!("skipped: no rootless mode for user nobody here ({OPTIONAL_ENV}=1): {text}");
        return;
    }
    assert!(
        out.status.success() && text.contains("fixture ok") && text.contains("1 passed"),
        "nobody's run failed:\n{text}"
    );

    let mut entries = Vec::new();
    walk(&shared, &mut entries);
    let owner = |path: &Path| std::fs::symlink_metadata(path).unwrap().uid();
    let mut logs = 0;
    let mut captures = 0;
    for (path, meta) in &entries {
        match meta.uid() {
            NOBODY => {
                let parent = path.parent().unwrap();
                assert!(
                    parent == shared || owner(parent) == NOBODY,
                    "{} is nobody's, in {} of uid {}",
                    path.display(),
                    parent.display(),
                    owner(parent)
                );
                let mode = meta.mode() & 0o7777;
                if meta.is_dir() {
                    assert_eq!(mode, 0o700, "{}", path.display());
                } else {
                    assert!(meta.is_file(), "{}: not a file", path.display());
                    assert_eq!(mode, 0o600, "{}", path.display());
                    let bytes = std::fs::read(path).unwrap();
                    let has_secret = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
                    let name = path.to_string_lossy();
                    if name.ends_with(".log") && has_secret {
                        logs += 1;
                    }
                    if name.ends_with(".pcapng") && has_secret {
                        captures += 1;
                    }
                }
            }
            OTHER => {
                // What 4242 made holds nothing: nothing was written into it.
                if meta.is_dir() {
                    let inside = std::fs::read_dir(path).unwrap().count();
                    assert_eq!(inside, 0, "{} is {OTHER}'s, not empty", path.display());
                } else {
                    assert!(meta.file_type().is_symlink(), "{}", path.display());
                }
            }
            uid => panic!("{} is uid {uid}'s", path.display()),
        }
    }
    assert_eq!(
        logs, 1,
        "nobody's log with the secret: {entries:#?}\n{text}"
    );
    if cfg!(feature = "capture") {
        assert_eq!(captures, 1, "nobody's capture with the secret:\n{text}");
    }

    // And 4242 can read none of it.
    let mut grep = as_user(OTHER, "grep");
    grep.args(["-rlF", SECRET]).arg(&shared);
    let found = run(grep);
    assert_eq!(
        String::from_utf8_lossy(&found.stdout),
        "",
        "{OTHER} reads nobody's secret: {found:?}"
    );
    assert!(
        String::from_utf8_lossy(&found.stderr).contains("Permission denied"),
        "{OTHER} was kept out by permissions: {found:?}"
    );
}
