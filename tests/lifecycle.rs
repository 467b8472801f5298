//! Nothing leaks (ARCHITECTURE.md 4.4, 4.5, 4.8, 4.10): fds, threads, mounts and run
//! directory entries are counted across hundreds of cycles, and concurrent
//! first-time creation mounts the run directory exactly once.
//!
//! The tests here count process-wide resources, so they run one at a time
//! (`serial_test`), and this file holds no other tests.

mod common;

use std::path::{Path, PathBuf};

use common::{fd_count, nsfs_mounts, thread_count};
use netns_test::__private::{run_test, TestOptions};
use netns_test::{Netns, RunDir};
use serial_test::serial;

/// Snapshot of what a leak would grow.
#[derive(Debug)]
struct Resources {
    fds: usize,
    threads: usize,
    nsfs_mounts: usize,
    run_dir_entries: usize,
    /// Where the nsfs mounts are, to say which ones a failure is about.
    nsfs_mount_points: Vec<String>,
}

fn resources(dir: &RunDir) -> Resources {
    Resources {
        fds: fd_count(),
        threads: thread_count(),
        nsfs_mounts: nsfs_mounts().len(),
        run_dir_entries: dir.names().unwrap().len(),
        nsfs_mount_points: nsfs_mounts(),
    }
}

/// A fresh run directory, `/tmp/netns-test-TAG-PID/netns`, unmounted and
/// removed on drop with its coordination directory beside it (owner
/// records, name locks): never a `/tmp/netns-test` shared with other runs
/// and users.
struct TempRunDir(RunDir);

impl TempRunDir {
    fn new(tag: &str) -> TempRunDir {
        let path = PathBuf::from(format!("/tmp/netns-test-{tag}-{}", std::process::id()));
        TempRunDir(RunDir::new(path.join("netns")))
    }
}

impl Drop for TempRunDir {
    fn drop(&mut self) {
        let path = self.0.path();
        for name in self.0.names().unwrap_or_default() {
            let _ = rustix::mount::unmount(path.join(&name), rustix::mount::UnmountFlags::DETACH);
            let _ = std::fs::remove_file(path.join(name));
        }
        while rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH).is_ok() {}
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

fn mounts_at(path: &Path) -> usize {
    common::mounts()
        .iter()
        .filter(|(p, _)| Path::new(p) == path)
        .count()
}

/// Waits briefly for threads that have been joined to be reaped from
/// /proc/self/task (the kernel removes them just after join returns).
fn settle(baseline: &Resources, dir: &RunDir) -> Resources {
    for _ in 0..100 {
        let now = resources(dir);
        if now.threads <= baseline.threads {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    resources(dir)
}

#[test]
#[serial]
fn hundreds_of_named_cycles_leak_nothing() {
    let tmp = TempRunDir::new("cycles");
    let dir = &tmp.0;
    // Warm up: the run directory mount and any lazily made state.
    Netns::create_in(dir, "warmup").unwrap().run(|| ()).unwrap();
    let before = resources(dir);
    for i in 0..300 {
        let ns = Netns::create_in(dir, &format!("cycle-{i}")).unwrap();
        let port = ns
            .run(|| {
                std::net::TcpListener::bind("127.0.0.1:8080")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .unwrap();
        assert_eq!(port, 8080);
        drop(ns);
    }
    let after = settle(&before, dir);
    assert!(
        after.threads <= before.threads,
        "threads leaked: {before:?} -> {after:?}"
    );
    assert_eq!(after.fds, before.fds, "fds leaked");
    assert_eq!(
        after.nsfs_mounts, before.nsfs_mounts,
        "mounts leaked: {:?} -> {:?}",
        before.nsfs_mount_points, after.nsfs_mount_points
    );
    assert_eq!(
        after.run_dir_entries, before.run_dir_entries,
        "run directory entries leaked"
    );
    assert_eq!(
        mounts_at(dir.path()),
        1,
        "the run directory is mounted more than once"
    );
}

#[test]
#[serial]
fn hundreds_of_anonymous_cycles_leak_nothing() {
    let dir = RunDir::get();
    run_test(TestOptions::default(), || ());
    Netns::new().unwrap().run(|| ()).unwrap();
    let before = resources(dir);
    for _ in 0..300 {
        run_test(TestOptions::default(), || {
            std::net::TcpListener::bind("[::1]:8080").unwrap();
        });
        let ns = Netns::new().unwrap();
        ns.run(|| ()).unwrap();
    }
    let after = settle(&before, dir);
    assert_eq!(after.fds, before.fds, "fds leaked");
    assert!(
        after.threads <= before.threads,
        "threads leaked: {before:?} -> {after:?}"
    );
    assert_eq!(
        after.nsfs_mounts, before.nsfs_mounts,
        "anonymous namespaces mounted something: {:?} -> {:?}",
        before.nsfs_mount_points, after.nsfs_mount_points
    );
}

/// ARCHITECTURE.md 4.8: many threads creating their first namespaces in a new run
/// directory at once. Without the flock each would bind-mount the directory
/// onto itself; without O_EXCL two creators of one name would stack mounts.
#[test]
#[serial]
fn concurrent_first_time_creation_mounts_the_run_directory_once() {
    let tmp = TempRunDir::new("concurrent");
    let dir = &tmp.0;
    let start = std::sync::Barrier::new(16);
    let made: Vec<Vec<Netns>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    (0..8)
                        .map(|i| Netns::create_in(dir, &format!("t{t}-{i}")).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        mounts_at(dir.path()),
        1,
        "stacked self bind mounts of the run directory"
    );
    assert_eq!(dir.names().unwrap().len(), 128);
    for ns in made.iter().flatten() {
        assert_eq!(mounts_at(ns.path().unwrap()), 1, "{:?}", ns.path());
    }
    // Every namespace is distinct.
    let mut inodes: Vec<u64> = made.iter().flatten().map(Netns::inode).collect();
    inodes.sort_unstable();
    inodes.dedup();
    assert_eq!(inodes.len(), 128);

    // Many threads racing for one name: exactly one wins, no stacked mount.
    let name_start = std::sync::Barrier::new(8);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let b = &name_start;
                s.spawn(move || {
                    b.wait();
                    Netns::create_in(dir, "contested")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, netns_test::Error::AlreadyExists { .. })));
    assert_eq!(mounts_at(&dir.path().join("contested")), 1);
    drop(results);
    drop(made);
    assert!(dir.names().unwrap().is_empty(), "{:?}", dir.names());
}

/// atexit handlers survive fork(2). A forked child that leaves through
/// exit(3) (a daemon a test forks, say) must not remove the parent's named
/// namespaces: the exit-time cleanup belongs to the process that made them.
#[test]
#[serial]
fn a_forked_childs_exit_leaves_the_parents_namespaces() {
    use std::os::unix::process::CommandExt;
    let tmp = TempRunDir::new("fork");
    let dir = &tmp.0;
    let ns = Netns::create_in(dir, "parent").unwrap();
    let path = ns.path().unwrap().to_path_buf();
    let mut child = std::process::Command::new("/bin/true");
    // SAFETY: the child only calls exit(3), which is what this test is about;
    // our atexit handler returns at once in a process that did not register it.
    unsafe {
        child.pre_exec(|| libc::exit(0));
    }
    assert!(child.status().unwrap().success());
    assert!(
        path.exists(),
        "the child's exit removed the parent's namespace"
    );
    assert_eq!(
        mounts_at(&path),
        1,
        "the child's exit unmounted the parent's namespace"
    );
    drop(ns);
    assert!(!path.exists());
}
