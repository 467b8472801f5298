//! Named namespaces, made as `ip netns add` makes them (ARCHITECTURE.md 3.1), and
//! interop with iproute2 both ways.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    inode_of, ip, ip_netns_list, nsfs_mounts, owner_record, start_time, thread_netns_inode, unique,
    write_owner_record, IpNetnsDelOnDrop,
};
use netns_test::__private::{run_test, TestOptions};
use netns_test::{netns_test, Error, Netns, RunDir};

fn run_path(name: &str) -> std::path::PathBuf {
    RunDir::get().path().join(name)
}

/// The body of a `#[netns_test(name = "...")]` test: it is listed, it is the
/// body's namespace, and `ip netns exec` reaches it.
fn assert_in_named_namespace(name: &str) {
    assert!(
        ip_netns_list().iter().any(|n| n == name),
        "{name} not in ip netns list"
    );
    let body = thread_netns_inode();
    assert_eq!(
        inode_of(run_path(name)),
        body,
        "/run/netns/{name} is another namespace"
    );
    let out = ip(&["netns", "exec", name, "readlink", "/proc/self/ns/net"]);
    assert!(out.status.success(), "ip netns exec: {out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("net:[{body}]")
    );
    assert!(nsfs_mounts().iter().any(|m| Path::new(m) == run_path(name)));
}

#[netns_test(name = "nt-macro-named")]
fn macro_named_namespace_is_visible_to_iproute2() {
    assert_in_named_namespace("nt-macro-named");
    assert_ne!(thread_netns_inode(), common::main_thread_netns_inode());
}

/// ARCHITECTURE.md 4.2: the bind mount is of the namespace thread's namespace,
/// never the main thread's `/proc/self/ns/net`.
#[test]
fn create_binds_the_new_namespace_not_the_hosts() {
    let name = unique("create");
    let _guard = IpNetnsDelOnDrop(name.clone());
    let ns = Netns::create(&name).unwrap();
    assert_eq!(ns.name(), Some(name.as_str()));
    assert_eq!(ns.path(), Some(run_path(&name).as_path()));
    assert_eq!(inode_of(run_path(&name)), ns.inode());
    assert_ne!(ns.inode(), common::main_thread_netns_inode());
    assert_ne!(ns.inode(), thread_netns_inode());
    let inside = ns.run(thread_netns_inode).unwrap();
    assert_eq!(inside, ns.inode());
    // Loopback is up, as in `Netns::new`.
    assert!(ns
        .run(|| std::net::TcpListener::bind("[::1]:8080").is_ok())
        .unwrap());
    drop(ns);
    assert!(!run_path(&name).exists(), "dropped handle left {name}");
    assert!(!ip_netns_list().contains(&name));
    assert!(!nsfs_mounts().iter().any(|m| m.ends_with(&name)));
}

#[test]
fn named_test_is_removed_after_a_panic() {
    let name: &'static str = Box::leak(unique("panic").into_boxed_str());
    let _guard = IpNetnsDelOnDrop(name.to_owned());
    let opts = TestOptions {
        name: Some(name),
        ..Default::default()
    };
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_test(opts, move || -> () {
            assert!(ip_netns_list().iter().any(|n| n == name));
            panic!("boom in {name}");
        })
    }))
    .unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some(format!("boom in {name}").as_str())
    );
    assert!(!run_path(name).exists(), "{name} left after a panic");
    assert!(!ip_netns_list().iter().any(|n| n == name));
}

#[test]
fn named_test_joins_and_leaves_an_existing_namespace() {
    let name: &'static str = Box::leak(unique("join").into_boxed_str());
    let _guard = IpNetnsDelOnDrop(name.to_owned());
    assert!(ip(&["netns", "add", name]).status.success());
    let theirs = inode_of(run_path(name));
    let opts = TestOptions {
        name: Some(name),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    run_test(opts, move || tx.send(thread_netns_inode()).unwrap());
    assert_eq!(
        rx.recv().unwrap(),
        theirs,
        "the test did not run in the existing namespace"
    );
    assert_eq!(
        inode_of(run_path(name)),
        theirs,
        "the existing namespace was replaced"
    );
    assert!(ip(&["netns", "del", name]).status.success());
}

#[test]
fn tests_naming_the_same_namespace_take_turns() {
    let name: &'static str = Box::leak(unique("turns").into_boxed_str());
    let _guard = IpNetnsDelOnDrop(name.to_owned());
    let inside = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let inside = inside.clone();
            std::thread::spawn(move || {
                let opts = TestOptions {
                    name: Some(name),
                    ..Default::default()
                };
                run_test(opts, move || {
                    let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert_eq!(now, 0, "two tests inside {name} at once");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(!run_path(name).exists());
}

#[test]
fn ours_work_with_ip_netns_exec_and_del() {
    let name = unique("ipdel");
    let _guard = IpNetnsDelOnDrop(name.clone());
    let mut ns = Netns::create(&name).unwrap();
    ns.keep();
    let out = ip(&["netns", "exec", &name, "ip", "-o", "link", "show", "lo"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("UP"),
        "lo is not up: {out:?}"
    );
    let del = ip(&["netns", "del", &name]);
    assert!(del.status.success(), "ip netns del on ours: {del:?}");
    assert!(!run_path(&name).exists());
    // Still usable through the fd, and dropping it after `ip netns del` is quiet.
    assert_eq!(ns.run(thread_netns_inode).unwrap(), ns.inode());
    drop(ns);
}

#[test]
fn theirs_open_by_name_and_path() {
    let name = unique("theirs");
    let _guard = IpNetnsDelOnDrop(name.clone());
    assert!(ip(&["netns", "add", &name]).status.success());
    let by_name = Netns::open(&name).unwrap();
    let by_path = Netns::open(run_path(&name)).unwrap();
    assert_eq!(by_name, by_path);
    assert_eq!(by_name.inode(), inode_of(run_path(&name)));
    let out = ip(&["netns", "exec", &name, "readlink", "/proc/self/ns/net"]);
    let inode = by_name.run(thread_netns_inode).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("net:[{inode}]")
    );
    drop(by_name);
    drop(by_path);
    assert!(run_path(&name).exists(), "an opened namespace was removed");
    assert!(ip(&["netns", "del", &name]).status.success());
}

#[test]
fn delete_removes_now_and_keep_keeps() {
    let name = unique("delete");
    let _guard = IpNetnsDelOnDrop(name.clone());
    let ns = Netns::create(&name).unwrap();
    ns.delete().unwrap();
    assert!(!run_path(&name).exists());

    let mut kept = Netns::create(&name).unwrap();
    kept.keep();
    drop(kept);
    assert!(ip_netns_list().contains(&name), "keep() did not keep");
    // Open and delete what was kept, as `ip netns del` would.
    Netns::open(&name).unwrap().delete().unwrap();
    assert!(!run_path(&name).exists());
    assert!(!nsfs_mounts().iter().any(|m| m.ends_with(&name)));
}

#[test]
fn duplicate_name_is_an_error_and_leaves_the_existing_one() {
    let name = unique("dup");
    let _guard = IpNetnsDelOnDrop(name.clone());
    let first = Netns::create(&name).unwrap();
    let err = Netns::create(&name).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(inode_of(run_path(&name)), first.inode());
    let mounts = nsfs_mounts().iter().filter(|m| m.ends_with(&name)).count();
    assert_eq!(mounts, 1, "stacked mounts on {name}");
    // Also against a namespace made by iproute2.
    drop(first);
    assert!(ip(&["netns", "add", &name]).status.success());
    assert!(matches!(
        Netns::create(&name),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(ip(&["netns", "del", &name]).status.success());
}

#[test]
fn bad_names_create_nothing() {
    let dir = RunDir::get().path().to_path_buf();
    let before_entries = RunDir::get().names().unwrap();
    let before_mounts = nsfs_mounts();
    let long = "x".repeat(256);
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "../../etc/nt-escape",
        long.as_str(),
        "nul\0",
    ] {
        let err = Netns::create(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err}");
        assert!(Netns::open(bad).is_err());
    }
    assert!(!Path::new("/etc/nt-escape").exists());
    assert!(!dir.join("a").exists());
    let after: Vec<String> = RunDir::get().names().unwrap();
    // Other tests run in parallel: only entries named like a bad name matter.
    for bad in ["a", "x"] {
        assert_eq!(
            before_entries.contains(&bad.to_owned()),
            after.contains(&bad.to_owned())
        );
    }
    assert!(nsfs_mounts()
        .iter()
        .all(|m| before_mounts.contains(m) || m.contains("nt-")));
}

#[test]
fn a_leftover_placeholder_is_reported_not_joined() {
    let name = unique("placeholder");
    let path = run_path(&name);
    std::fs::create_dir_all(RunDir::get().path()).unwrap();
    std::fs::File::create(&path).unwrap();
    let err = Netns::open(&name).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, Error::NotNetns { .. }), "{err}");
    assert!(err.to_string().contains("ip netns del"), "{err}");
}

#[test]
fn open_of_a_missing_name_names_the_path_and_errno() {
    let err = Netns::open(unique("missing")).unwrap_err();
    let s = err.to_string();
    assert!(
        s.contains("/run/netns/nt-missing") && s.contains("ENOENT"),
        "{s}"
    );
}

#[test]
fn the_run_directory_is_a_shared_mount() {
    let _ns = Netns::create(&unique("shared")).unwrap();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = RunDir::get().path().to_str().unwrap().to_owned();
    // The last mount on the path is the visible one (rootless, the host's
    // /run/netns can be there too, covered by the private /run).
    let line = info
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(dir.as_str()))
        .unwrap_or_else(|| panic!("{dir} is not a mount point"));
    assert!(line.contains(" shared:"), "{dir} is not shared: {line}");
}

#[test]
fn setns_from_a_child_process_sees_ours() {
    // `ip netns identify` maps a process's namespace back to our name.
    let name = unique("identify");
    let _guard = IpNetnsDelOnDrop(name.clone());
    let ns = Netns::create(&name).unwrap();
    let out = ns
        .run(|| {
            Command::new("ip")
                .args(["netns", "identify"])
                .output()
                .unwrap()
        })
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), name);
}

/// ARCHITECTURE.md 4.11: a named test's namespace left by a killed run (its owner
/// record names a process that is gone) is replaced, then removed; one whose
/// owner lives is joined and left.
#[test]
fn a_leftover_of_a_killed_run_is_replaced_not_joined() {
    for (owner_pid, stale) in [(2147483647, true), (1, false)] {
        let name: &'static str = Box::leak(unique(&format!("leftover-{stale}")).into_boxed_str());
        let _guard = IpNetnsDelOnDrop(name.to_owned());
        assert!(ip(&["netns", "add", name]).status.success());
        let left = inode_of(run_path(name));
        // Process 1 lives, with this start time; no process has the other pid.
        write_owner_record(name, owner_pid, start_time(1));
        let opts = TestOptions {
            name: Some(name),
            ..Default::default()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        run_test(opts, move || tx.send(thread_netns_inode()).unwrap());
        let ran_in = rx.recv().unwrap();
        if stale {
            assert_ne!(ran_in, left, "the test joined a killed run's leftover");
            assert!(!run_path(name).exists(), "the replacement was not removed");
            assert!(!owner_record(name).exists(), "the owner record was left");
        } else {
            assert_eq!(ran_in, left, "a live owner's namespace was replaced");
            assert_eq!(inode_of(run_path(name)), left);
            std::fs::remove_file(owner_record(name)).unwrap();
            assert!(ip(&["netns", "del", name]).status.success());
        }
    }
}

#[netns_test(name = "nt-macro-owner")]
fn a_named_test_records_its_ownership_while_it_runs() {
    let record = std::fs::read_to_string(owner_record("nt-macro-owner")).unwrap();
    let me = std::process::id();
    assert_eq!(
        record,
        format!("netns-test-owner 1 pid={me} start={}\n", start_time(me))
    );
}

#[netns_test(name = "nt-across-processes")]
#[ignore = "fixture: run by processes_naming_the_same_namespace_take_turns"]
fn fixture_named_in_two_processes() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    let start = now();
    // Would fail with EADDRINUSE if the other process were in here too.
    let _l = std::net::TcpListener::bind("127.0.0.1:7000").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    println!("inside {start} {}", now());
}

/// cargo-nextest runs each test as a process: tests of two processes that
/// name the same namespace take turns (a flock), each in a namespace it
/// created and removed, and neither sees the other's half-made placeholder.
#[test]
fn processes_naming_the_same_namespace_take_turns() {
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "fixture_named_in_two_processes",
                "--nocapture",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn(), spawn()];
    let mut spans = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = common::output_text(&out);
        assert!(out.status.success(), "{text}");
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("inside "))
            .unwrap();
        let (a, b) = line.trim().split_once(' ').unwrap();
        spans.push((a.parse::<u128>().unwrap(), b.parse::<u128>().unwrap()));
    }
    spans.sort();
    assert!(
        spans[0].1 <= spans[1].0,
        "the two tests overlapped: {spans:?}"
    );
    assert!(!run_path("nt-across-processes").exists());
    let locks = owner_record("x").parent().unwrap().with_file_name("locks");
    assert!(
        !locks.join("nt-across-processes").exists(),
        "the lock file was left"
    );
}

/// A run killed between creating the placeholder and mounting onto it leaves
/// an empty file (and its owner record): the next run removes it and goes on.
#[test]
fn a_killed_runs_bare_placeholder_is_replaced() {
    let name: &'static str = Box::leak(unique("bare-placeholder").into_boxed_str());
    let _guard = IpNetnsDelOnDrop(name.to_owned());
    std::fs::create_dir_all(RunDir::get().path()).unwrap();
    std::fs::File::create(run_path(name)).unwrap();
    write_owner_record(name, 2147483647, 1);
    let opts = TestOptions {
        name: Some(name),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    run_test(opts, move || tx.send(thread_netns_inode()).unwrap());
    assert_ne!(rx.recv().unwrap(), common::main_thread_netns_inode());
    assert!(!run_path(name).exists(), "left after the test");
    assert!(!owner_record(name).exists());
}
