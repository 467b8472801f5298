//! What killed runs leave, and what the next run and the sweep make of it
//! (README, "Decisions"; src/namespace/owner.rs): leftovers whose owner
//! record names a gone process are removed whatever state they are in; a
//! reused pid does not pass for the owner; bad input (garbage records,
//! records without entries, directories and symlinks where a namespace
//! should be) gets a clear error or is left, and nothing outside the run
//! directory and `/run/netns-test` is touched.
//!
//! Most tests work in a run directory of their own under /tmp
//! (`RunDir::new`, `NETNS_TEST_RUN_DIR` for the CLI), so that other tests and
//! other processes, which may create namespaces at the same time, never
//! show in what they check. The crash tests themselves are tests/crash.rs.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    inode_of, ip, start_time, thread_netns_inode, unique, write_owner_record, IpNetnsDelOnDrop,
};
use netns_test::__private::{run_test, TestFailure, TestOptions};
use netns_test::{Error, Leftover, LeftoverKind, Netns, Outcome, RunDir, Topology};

/// A pid no process has (above `PID_MAX_LIMIT`).
const GONE_PID: u32 = 4_194_304 + 17;

fn setns_bin() -> String {
    std::env::var("NEXTEST_BIN_EXE_setns")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_setns").to_owned())
}

/// A run directory of this test's own, `/tmp/netns-test-TAG-PID/netns`,
/// with its coordination directory beside it; removed (mounts included)
/// on drop.
struct TempRunDir {
    dir: RunDir,
}

impl TempRunDir {
    fn new(tag: &str) -> TempRunDir {
        let root = PathBuf::from(format!("/tmp/netns-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("netns")).unwrap();
        TempRunDir {
            dir: RunDir::new(root.join("netns")),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path().parent().unwrap()
    }

    fn entry(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn coordination(&self, rel: &str) -> PathBuf {
        self.root().join("netns-test").join(rel)
    }

    fn write_record(&self, name: &str, content: &str) {
        let path = self.coordination("owners").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// A mounted namespace NAME with no record (as `ip netns add` leaves).
    fn mounted(&self, name: &str) -> u64 {
        let mut ns = Netns::create_in(&self.dir, name).unwrap();
        ns.keep();
        ns.inode()
    }

    /// Mounts under the root, from this process's mount table.
    fn mounts(&self) -> Vec<String> {
        let root = self.root().to_str().unwrap().to_owned();
        common::mounts()
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| p.starts_with(&root))
            .collect()
    }
}

impl Drop for TempRunDir {
    fn drop(&mut self) {
        let root = self.root().to_owned();
        let mut mounts = self.mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = rustix::mount::unmount(m.as_str(), rustix::mount::UnmountFlags::DETACH);
        }
        let _ = std::fs::remove_dir_all(root);
    }
}

fn dead_record(pid: u32) -> String {
    format!("netns-test-owner 1 pid={pid} start=1\n")
}

fn live_record() -> String {
    format!("netns-test-owner 1 pid=1 start={}\n", start_time(1))
}

/// A `sleep` child: a live process unrelated to any record.
struct Sleeper(std::process::Child);

impl Sleeper {
    fn new() -> Sleeper {
        Sleeper(Command::new("sleep").arg("60").spawn().unwrap())
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pid reuse: a record naming a live process that is not the one that
/// wrote it (same pid, another start time) is a leftover, replaced by the
/// next run; with the right start time it is the live owner's, joined and
/// left.
#[test]
fn a_record_naming_a_reused_pid_is_a_leftover() {
    let sleeper = Sleeper::new();
    let pid = sleeper.pid();
    let real_start = start_time(pid);
    for (start, reused) in [(real_start + 1, true), (real_start, false)] {
        let name: &'static str = Box::leak(unique(&format!("reused-{reused}")).into_boxed_str());
        let _guard = IpNetnsDelOnDrop(name.to_owned());
        assert!(ip(&["netns", "add", name]).status.success());
        let left = inode_of(RunDir::get().path().join(name));
        write_owner_record(name, pid, start);
        let (tx, rx) = std::sync::mpsc::channel();
        let opts = TestOptions {
            name: Some(name),
            ..Default::default()
        };
        run_test(opts, move || tx.send(thread_netns_inode()).unwrap());
        let ran_in = rx.recv().unwrap();
        let entry = RunDir::get().path().join(name);
        if reused {
            assert_ne!(ran_in, left, "joined a leftover whose pid was reused");
            assert!(!entry.exists(), "the replacement was not removed");
            assert!(!common::owner_record(name).exists(), "record left");
        } else {
            assert_eq!(ran_in, left, "the live owner's namespace was replaced");
            assert_eq!(inode_of(&entry), left, "the live owner's namespace changed");
            std::fs::remove_file(common::owner_record(name)).unwrap();
        }
    }
}

/// The library sweep, on every state a crash can leave and on bad input:
/// a dry run lists and changes nothing, the sweep removes exactly the gone
/// owners' leftovers and lists what it left, with the reason.
#[test]
fn sweep_removes_every_state_a_crash_leaves_and_nothing_else() {
    let t = TempRunDir::new("sweep");
    // A mounted namespace of a gone owner.
    t.mounted("mounted");
    t.write_record("mounted", &dead_record(GONE_PID));
    // Stacked mounts (two mounts on one name) of a gone owner.
    t.mounted("stacked");
    Netns::new()
        .unwrap()
        .run(|| {
            rustix::mount::mount_bind("/proc/thread-self/ns/net", t.entry("stacked").as_path())
                .unwrap()
        })
        .unwrap();
    t.write_record("stacked", &dead_record(GONE_PID));
    // An empty placeholder of a gone owner.
    std::fs::File::create(t.entry("placeholder")).unwrap();
    t.write_record("placeholder", &dead_record(GONE_PID));
    // A live owner's namespace: untouched.
    let live = t.mounted("live");
    t.write_record("live", &live_record());
    // A record netns-test did not write, on a mounted namespace: left.
    let garbage = t.mounted("garbage");
    t.write_record("garbage", "hello\n");
    // A record without an entry of a gone owner (written after the last
    // create).
    t.write_record("no-entry", &dead_record(GONE_PID));
    // A directory and a symlink (out of the run directory) where a gone
    // owner's namespace should be: left, and the symlink's target too.
    std::fs::create_dir(t.entry("a-dir")).unwrap();
    t.write_record("a-dir", &dead_record(GONE_PID));
    let outside = t.root().join("outside");
    std::fs::write(&outside, "keep me").unwrap();
    std::os::unix::fs::symlink(&outside, t.entry("a-link")).unwrap();
    t.write_record("a-link", &dead_record(GONE_PID));
    // An empty placeholder with no record: reported, left.
    std::fs::File::create(t.entry("bare")).unwrap();
    // A namespace with no record (`ip netns add`): not even listed.
    let theirs = t.mounted("theirs");
    // A record being written by a gone process, and a file that is not one.
    std::fs::create_dir_all(t.coordination("tmp")).unwrap();
    std::fs::write(t.coordination(&format!("tmp/{GONE_PID}-1-0")), "x").unwrap();
    std::fs::write(t.coordination("tmp/junk"), "x").unwrap();
    // Lock files: one no process holds, one this process holds.
    std::fs::create_dir_all(t.coordination("locks")).unwrap();
    std::fs::write(t.coordination("locks/free"), "").unwrap();
    let held = std::fs::File::create(t.coordination("locks/held")).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    std::fs::write(t.coordination("fixture-lab.lock"), "").unwrap();

    let snapshot = || -> Vec<(PathBuf, u64)> {
        let mut files = Vec::new();
        for dir in [t.dir.path().to_owned(), t.root().join("netns-test")] {
            for sub in ["", "owners", "tmp", "locks"] {
                let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
                    continue;
                };
                for e in rd {
                    let p = e.unwrap().path();
                    let ino = std::fs::symlink_metadata(&p).unwrap().ino();
                    files.push((p, ino));
                }
            }
        }
        files.sort();
        files
    };
    let before = (snapshot(), t.mounts());

    let dry = t.dir.sweep(true).unwrap();
    assert_eq!(
        (snapshot(), t.mounts()),
        before,
        "a dry run changed something"
    );
    let would = |l: &Leftover| l.outcome == Outcome::WouldRemove;
    let paths = |ls: &[Leftover], f: &dyn Fn(&Leftover) -> bool| -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = ls.iter().filter(|l| f(l)).map(|l| l.path.clone()).collect();
        paths.sort();
        paths
    };
    let mut expected = vec![
        t.entry("mounted"),
        t.entry("placeholder"),
        t.entry("stacked"),
        t.coordination("fixture-lab.lock"),
        t.coordination("locks/free"),
        t.coordination("owners/mounted"),
        t.coordination("owners/placeholder"),
        t.coordination("owners/stacked"),
        t.coordination(&format!("tmp/{GONE_PID}-1-0")),
    ];
    expected.sort();
    assert_eq!(paths(&dry, &would), expected, "{dry:#?}");

    let swept = t.dir.sweep(false).unwrap();
    // A record whose entry is gone (as `ip netns del` leaves one) goes
    // before any sweep looks: whatever prepares the run directory removes
    // it.
    assert!(!t.coordination("owners/no-entry").exists(), "{swept:#?}");
    let removed = |l: &Leftover| l.outcome == Outcome::Removed;
    assert_eq!(paths(&swept, &removed), expected, "{swept:#?}");
    let kind = |path: PathBuf| swept.iter().find(|l| l.path == path).unwrap().kind;
    assert_eq!(
        kind(t.entry("stacked")),
        LeftoverKind::Namespace { mounts: Some(2) }
    );
    assert_eq!(
        kind(t.entry("mounted")),
        LeftoverKind::Namespace { mounts: Some(1) }
    );
    assert_eq!(kind(t.entry("placeholder")), LeftoverKind::Placeholder);
    for leftover in swept.iter().filter(|l| removed(l)) {
        assert!(
            std::fs::symlink_metadata(&leftover.path).is_err(),
            "{leftover} is still there"
        );
    }
    // Left, with the reason.
    let left = |path: PathBuf| match &swept.iter().find(|l| l.path == path).unwrap().outcome {
        Outcome::Left(why) => why.clone(),
        other => panic!("{}: {other:?}", path.display()),
    };
    assert!(left(t.coordination("owners/garbage")).contains("not an owner record"));
    assert!(left(t.entry("a-dir")).contains("a directory"));
    assert!(left(t.entry("a-link")).contains("a symbolic link"));
    assert!(left(t.entry("bare")).contains("no owner record"));
    assert!(left(t.entry("bare")).contains(&format!("`rm {}`", t.entry("bare").display())));
    assert!(left(t.coordination("tmp/junk")).contains("left as it is"));
    // Untouched: the live owner's, the garbage-recorded and the record-less
    // namespaces (same inode), the symlink's target, the held lock.
    assert_eq!(inode_of(t.entry("live")), live);
    assert_eq!(inode_of(t.entry("garbage")), garbage);
    assert_eq!(inode_of(t.entry("theirs")), theirs);
    assert!(t.coordination("owners/live").exists());
    assert!(t.entry("a-dir").is_dir());
    assert!(t.entry("a-link").is_symlink());
    assert!(t.coordination("owners/a-dir").exists());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    assert!(t.coordination("locks/held").exists());
    assert!(!swept.iter().any(|l| l.path == t.entry("theirs")));
    // Nothing mounted is left but the live ones (and the run directory's
    // own self bind mount): 3 namespaces, no stacked mount.
    let ns_mounts: Vec<String> = t
        .mounts()
        .into_iter()
        .filter(|m| m.as_str() != t.dir.path().to_str().unwrap())
        .collect();
    assert_eq!(ns_mounts.len(), 3, "{ns_mounts:?}");
    // A second sweep finds nothing more to remove.
    let again = t.dir.sweep(false).unwrap();
    assert!(!again.iter().any(removed), "{again:#?}");
}

/// Bad input in the way of a named test: each is a clear error that says
/// what to do, and nothing is created, joined or removed.
#[test]
fn bad_leftovers_fail_a_named_test_with_a_clear_error() {
    let run = |name: &'static str| -> String {
        let opts = TestOptions {
            name: Some(name),
            ..Default::default()
        };
        let out: Result<(), TestFailure> =
            run_test(opts, || -> Result<(), String> { panic!("the body ran") });
        format!("{:?}", out.unwrap_err())
    };
    let leak = |tag: &str| -> &'static str { Box::leak(unique(tag).into_boxed_str()) };
    let dir = RunDir::get().path().to_owned();
    std::fs::create_dir_all(&dir).unwrap();

    // An empty placeholder with no record: never joined, never removed.
    let bare = leak("bad-bare");
    let _g1 = IpNetnsDelOnDrop(bare.to_owned());
    std::fs::File::create(dir.join(bare)).unwrap();
    let msg = run(bare);
    assert!(msg.contains("no netns-test owner record"), "{msg}");
    let remedy = if dir == Path::new("/run/netns") {
        format!("ip netns del {bare}")
    } else {
        format!("rm {}", dir.join(bare).display())
    };
    assert!(msg.contains(&remedy), "{msg}");
    assert_eq!(std::fs::metadata(dir.join(bare)).unwrap().len(), 0);
    std::fs::remove_file(dir.join(bare)).unwrap();

    // A record netns-test did not write (an empty file, as an older
    // version's crash between creat and write left): the namespace is
    // neither joined nor removed.
    for content in ["", "1234", "netns-test-owner 1 pid=x start=1\n"] {
        let name = leak("bad-record");
        let _g = IpNetnsDelOnDrop(name.to_owned());
        assert!(ip(&["netns", "add", name]).status.success());
        let ino = inode_of(dir.join(name));
        let record = common::owner_record(name);
        std::fs::create_dir_all(record.parent().unwrap()).unwrap();
        std::fs::write(&record, content).unwrap();
        let msg = run(name);
        assert!(
            msg.contains("not an owner record netns-test writes"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("rm -r {}", record.display())),
            "{msg}"
        );
        assert_eq!(inode_of(dir.join(name)), ino);
        std::fs::remove_file(&record).unwrap();
    }

    // A gone owner's record where a directory, or a symlink out of the run
    // directory, stands: left as they are, target included.
    let target = std::env::temp_dir().join(unique("bad-target"));
    std::fs::write(&target, "keep me").unwrap();
    for symlink in [false, true] {
        let name = leak(&format!("bad-entry-{symlink}"));
        let entry = dir.join(name);
        if symlink {
            std::os::unix::fs::symlink(&target, &entry).unwrap();
        } else {
            std::fs::create_dir(&entry).unwrap();
        }
        write_owner_record(name, GONE_PID, 1);
        let msg = run(name);
        let what = if symlink {
            "a symbolic link"
        } else {
            "a directory"
        };
        assert!(msg.contains(what) && msg.contains("left as it is"), "{msg}");
        assert_eq!(
            std::fs::symlink_metadata(&entry).unwrap().is_dir(),
            !symlink
        );
        // Netns::create says the same.
        let err = Netns::create(name).unwrap_err();
        assert!(matches!(err, Error::Leftover { .. }), "{err}");
        if symlink {
            std::fs::remove_file(&entry).unwrap();
        } else {
            std::fs::remove_dir(&entry).unwrap();
        }
        std::fs::remove_file(common::owner_record(name)).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    std::fs::remove_file(&target).unwrap();
}

/// A named topology's build removes every `PREFIX-PID-*` of a gone process,
/// hosts it does not declare included; an entry without a record stays.
#[test]
fn a_named_topology_sweeps_every_host_of_a_gone_process() {
    let prefix = unique("topo-sweep");
    let dead = [
        format!("{prefix}-{GONE_PID}-a"),
        format!("{prefix}-{GONE_PID}-gone-host"),
    ];
    let theirs = format!("{prefix}-{}-c", GONE_PID + 1);
    let _guards: Vec<IpNetnsDelOnDrop> = dead
        .iter()
        .chain([&theirs])
        .map(|n| IpNetnsDelOnDrop(n.clone()))
        .collect();
    for name in dead.iter().chain([&theirs]) {
        assert!(ip(&["netns", "add", name]).status.success());
    }
    for name in &dead {
        write_owner_record(name, GONE_PID, 1);
    }
    let net = Topology::new().host("a").named(&prefix).build().unwrap();
    let names = RunDir::get().names().unwrap();
    for name in &dead {
        assert!(!names.contains(name), "{name} was left");
        assert!(!common::owner_record(name).exists());
    }
    assert!(
        names.contains(&theirs),
        "an entry without a record was removed"
    );
    let mine = format!("{prefix}-{}-a", std::process::id());
    assert!(names.contains(&mine));
    drop(net);
    assert!(!RunDir::get().names().unwrap().contains(&mine));
}

/// `setns --sweep --dry-run` lists, `setns --sweep` removes and lists, and a
/// second sweep finds nothing.
#[test]
fn setns_sweep_lists_then_removes() {
    let t = TempRunDir::new("sweep-cli");
    t.mounted("mounted");
    t.write_record("mounted", &dead_record(GONE_PID));
    std::fs::File::create(t.entry("placeholder")).unwrap();
    t.write_record("placeholder", &dead_record(GONE_PID));
    let setns = |args: &[&str]| {
        let out = Command::new(setns_bin())
            .args(args)
            .env("NETNS_TEST_RUN_DIR", t.dir.path())
            .output()
            .unwrap();
        let text = common::output_text(&out);
        assert!(out.status.success(), "setns {args:?}: {text}");
        text
    };
    let dry = setns(&["--sweep", "--dry-run"]);
    let e = |n: &str| t.entry(n).display().to_string();
    let r = |n: &str| t.coordination(&format!("owners/{n}")).display().to_string();
    assert!(
        dry.contains(&format!(
            "would remove {}: a network namespace of process {GONE_PID}, which is gone",
            e("mounted")
        )),
        "{dry}"
    );
    assert!(
        dry.contains(&format!(
            "would remove {}: an empty placeholder",
            e("placeholder")
        )),
        "{dry}"
    );
    assert!(
        dry.contains(&format!("would remove {}: an owner record", r("mounted"))),
        "{dry}"
    );
    assert!(t.entry("mounted").exists() && t.entry("placeholder").exists());
    let swept = setns(&["--sweep"]);
    assert_eq!(swept, dry.replace("would remove", "removed"));
    assert!(!t.entry("mounted").exists() && !t.entry("placeholder").exists());
    assert!(!t.coordination("owners/mounted").exists());
    assert!(setns(&["--sweep"]).contains("nothing to sweep"));
    let usage = Command::new(setns_bin())
        .args(["--sweep", "x"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
