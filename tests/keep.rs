//! `NETNS_TEST_KEEP=failed` (README, "When a test fails"): a failed test's
//! namespace stays in the run directory as `netns-test-TEST[-HOST]` with an
//! owner record, `ip netns exec` enters it, and the sweep removes it once
//! the test process is gone; a passing test's namespace is not kept;
//! rootless, nothing can be kept and the message says so.
//!
//! The failing tests are `fixture_*`, `#[ignore]`d and inert unless
//! `NETNS_TEST_FIXTURE=1`: this binary runs itself on them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ip, ip_netns_list, is_rootless, nsfs_mounts, output_text, owner_record};
use netns_test::__private::{run_test, TestFailure, TestOptions};
use netns_test::{netns_test, Netns, Outcome, RunDir};

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";

fn armed() -> bool {
    std::env::var_os(FIXTURE_ENV).is_some()
}

/// Runs this binary on the ignored tests matching `filter`, armed, with
/// `NETNS_TEST_KEEP=failed`.
fn run_fixtures(filter: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", filter])
        .env(FIXTURE_ENV, "1")
        .env("NETNS_TEST_KEEP", "failed")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// A veth pair `keepme0`/`keepme1` in the calling thread's namespace.
fn make_links() {
    let ns = Netns::current().unwrap();
    ns.add_veth("keepme0", &ns, "keepme1").unwrap();
    ns.set_up("keepme0").unwrap();
    ns.add_addr("keepme0", "192.0.2.1/24".parse().unwrap())
        .unwrap();
}

#[netns_test]
#[ignore = "fixture: run by failed_tests_are_kept_passing_ones_are_not"]
fn fixture_keep_panics() {
    make_links();
    assert!(!armed(), "deliberate failure");
}

#[netns_test(name = "nt-keep-named")]
#[ignore = "fixture: run by failed_tests_are_kept_passing_ones_are_not"]
fn fixture_keep_err() -> Result<(), String> {
    make_links();
    if armed() {
        return Err("deliberate failure".to_owned());
    }
    Ok(())
}

#[netns_test]
#[ignore = "fixture: run by failed_tests_are_kept_passing_ones_are_not"]
fn fixture_keep_passes() {
    make_links();
}

/// The names the output says were kept.
fn kept(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("netns-test: kept network namespace "))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .collect()
}

#[test]
#[serial_test::serial(sweep)]
fn failed_tests_are_kept_passing_ones_are_not() {
    if is_rootless() {
        // A child of this process would share its user and mount
        // namespaces (Privilege::Full there, and this process's private
        // run directory): the failing test runs here instead.
        return rootless_keeps_nothing();
    }
    let out = run_fixtures("fixture_keep_");
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("test fixture_keep_passes ... ok"), "{text}");
    let mut names = kept(&text);
    names.sort();
    // Exactly the failed tests', each under a name of its own (a name
    // already taken, say by an earlier run's, gets the pid).
    assert_eq!(names.len(), 2, "{text}");
    // Each message ends with the command that removes exactly its namespace.
    for name in &names {
        assert!(
            text.lines()
                .any(|l| l.ends_with(&format!("ip netns del {name}"))),
            "{text}"
        );
    }
    assert!(
        names[0].starts_with("netns-test-keep.fixture_keep_err-nt-keep-named"),
        "{names:?}"
    );
    assert!(
        names[1].starts_with("netns-test-keep.fixture_keep_panics"),
        "{names:?}"
    );
    assert!(
        text.contains(&format!("enter with: ip netns exec {} sh", names[1])),
        "{text}"
    );
    // The named test's own namespace went as usual.
    assert!(!Path::new("/run/netns/nt-keep-named").exists());
    for name in &names {
        assert!(Path::new("/run/netns").join(name).exists(), "{name}");
        assert!(owner_record(name).exists(), "{name}: no owner record");
        let out = ip(&["netns", "exec", name, "ip", "-brief", "address"]);
        let links = output_text(&out);
        assert!(out.status.success(), "{links}");
        assert!(links.contains("keepme0"), "{name}: {links}");
        assert!(links.contains("192.0.2.1/24"), "{name}: {links}");
        assert!(ip_netns_list().contains(name));
    }
    // The child is gone: the sweep removes them, records included.
    let swept = RunDir::get().sweep(false).unwrap();
    for name in &names {
        let entry = Path::new("/run/netns").join(name);
        assert!(
            swept
                .iter()
                .any(|l| l.path == entry && l.outcome == Outcome::Removed),
            "{name}: {swept:?}"
        );
        assert!(!entry.exists());
        assert!(!owner_record(name).exists());
        assert!(!ip_netns_list().contains(name));
        assert!(!nsfs_mounts().iter().any(|m| m.ends_with(name.as_str())));
    }
    let list = ip(&["netns", "list"]);
    assert!(list.stderr.is_empty(), "{list:?}");
}

/// Rootless, the run directory is private to the process: a failed test's
/// namespace is not kept, and the failure says why.
fn rootless_keeps_nothing() {
    std::env::set_var("NETNS_TEST_KEEP", "failed");
    netns_test::__private::reload_settings();
    let failure = run_test::<Result<(), String>, _>(TestOptions::default(), || {
        make_links();
        Err("deliberate failure".to_owned())
    });
    std::env::remove_var("NETNS_TEST_KEEP");
    netns_test::__private::reload_settings();
    let TestFailure(text) = failure.unwrap_err();
    assert!(
        text.contains(
            "network namespace not kept (NETNS_TEST_KEEP=failed): in rootless mode the run \
             directory is private to this test process"
        ),
        "{text}"
    );
    assert!(kept(&text).is_empty(), "{text}");
    assert!(!std::fs::read_dir(RunDir::get().path())
        .map(|d| d
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("netns-test-")))
        .unwrap_or(false));
}

#[test]
#[serial_test::serial(sweep)]
fn a_passing_run_keeps_nothing() {
    let out = run_fixtures("fixture_keep_passes");
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("netns-test:"), "{text}");
    assert!(!ip_netns_list()
        .iter()
        .any(|n| n.starts_with("netns-test-keep.fixture_keep_passes")));
}

static LAB: netns_test::Fixture<netns_test::Network> =
    netns_test::Fixture::new("nt-keep-lab", || {
        netns_test::Topology::new()
            .host("client")
            .host("server")
            .link("client", "eth0", "server", "eth0")
            .addr("client", "eth0", "198.51.100.1/24")
            .addr("server", "eth0", "198.51.100.2/24")
            .build()
    });

#[netns_test(fixture = LAB, host = "client")]
#[ignore = "fixture: run by a_fixture_tests_hosts_are_kept_together"]
fn lab_keep_fails() {
    assert!(!armed(), "deliberate failure");
}

/// A fixture host is kept with every other host of the fixture: a veth
/// goes with either end's namespace, so the client kept alone would have
/// lost its link to the server when the test process exited.
#[test]
#[serial_test::serial(sweep)]
fn a_fixture_tests_hosts_are_kept_together() {
    if is_rootless() {
        return;
    }
    let out = run_fixtures("lab_keep_fails");
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("netns-test: kept network namespaces "))
        .unwrap_or_else(|| panic!("no kept namespaces: {text}"));
    let names: Vec<String> = line
        .split(';')
        .next()
        .unwrap()
        .split(", ")
        .map(str::to_owned)
        .collect();
    assert_eq!(names.len(), 2, "{text}");
    let client = names
        .iter()
        .find(|n| n.starts_with("netns-test-keep.lab_keep_fails-client"))
        .unwrap_or_else(|| panic!("{names:?}"));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("netns-test-keep.lab_keep_fails-server")),
        "{names:?}"
    );
    // The test process is gone; the client still has its link and address.
    let out = ip(&["netns", "exec", client, "ip", "-brief", "address"]);
    let links = output_text(&out);
    assert!(links.contains("eth0"), "{client}: {links}");
    assert!(links.contains("198.51.100.1/24"), "{client}: {links}");
    let swept = RunDir::get().sweep(false).unwrap();
    for name in &names {
        let entry = Path::new("/run/netns").join(name);
        assert!(
            swept
                .iter()
                .any(|l| l.path == entry && l.outcome == Outcome::Removed),
            "{name}: {swept:?}"
        );
    }
}

/// `ip netns del` of a kept namespace removes the namespace, not its owner
/// record in `/run/netns-test`: the keep message says
/// `setns --sweep` removes them, and so does the next `Netns::create` in
/// the run directory, once the owner is gone. Nothing else goes: not the
/// record of a live process. In a run directory of its own under /tmp
/// (`NETNS_TEST_RUN_DIR` for the failing child), which `ip netns del`
/// cannot see, so it does here what `ip netns del` does: unmount, unlink.
#[test]
#[serial_test::serial(sweep)]
fn what_ip_netns_del_leaves_goes_at_the_next_create() {
    if is_rootless() {
        // Rootless keeps nothing (rootless_keeps_nothing).
        return;
    }
    let root = std::path::PathBuf::from(format!("/tmp/netns-test-keepdel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("netns")).unwrap();
    let _cleanup = RemoveTree(root.clone());
    let dir = RunDir::new(root.join("netns"));
    let coordination = root.join("netns-test");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "fixture_keep_panics"])
        .env(FIXTURE_ENV, "1")
        .env("NETNS_TEST_KEEP", "failed")
        .env(netns_test::RUN_DIR_ENV, dir.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let text = output_text(&out);
    let names = kept(&text);
    assert_eq!(names.len(), 1, "{text}");
    let name = &names[0];
    assert!(
        text.contains(&format!(
            "setns --sweep after this process exits (it also removes the owner record that \
             ip netns del leaves in {}/owners",
            coordination.display()
        )),
        "{text}"
    );
    let entry = dir.path().join(name);
    let record = coordination.join("owners").join(name);
    assert!(entry.exists() && record.exists(), "{text}");
    // What `ip netns del` does (ip/ipnetns.c): unmount, unlink.
    rustix::mount::unmount(&entry, rustix::mount::UnmountFlags::DETACH).unwrap();
    std::fs::remove_file(&entry).unwrap();
    // A live process's record without an entry: not ours to remove.
    let live = coordination.join("owners").join("keepdel-live");
    std::fs::write(
        &live,
        format!("netns-test-owner 1 pid=1 start={}\n", common::start_time(1)),
    )
    .unwrap();
    assert!(record.exists(), "ip netns del leaves the record");
    drop(Netns::create_in(&dir, "keepdel-next").unwrap());
    assert!(!record.exists(), "the record of a deleted namespace stays");
    assert!(live.exists(), "a live process's record went");
    assert!(!dir.path().join("keepdel-next").exists());
}

/// Unmounts everything under a directory (deepest first), then removes it.
struct RemoveTree(std::path::PathBuf);

impl Drop for RemoveTree {
    fn drop(&mut self) {
        let mut mounts: Vec<String> = common::mounts()
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| Path::new(m).starts_with(&self.0))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = rustix::mount::unmount(m.as_str(), rustix::mount::UnmountFlags::DETACH);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
