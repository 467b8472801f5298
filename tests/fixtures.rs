//! Suite fixtures: built once per process however many tests race for it,
//! shared by tests running in parallel, exclusive when asked, failing every
//! dependent test with the setup's message, and leaving nothing behind.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::thread_netns_inode;
use netns_test::{netns_test, Fixture, Network, Topology};

static BUILDS: AtomicUsize = AtomicUsize::new(0);

static LAB: Fixture<Network> = Fixture::new("nt-lab", || {
    BUILDS.fetch_add(1, Ordering::SeqCst);
    // Slow enough that racing tests really wait for the first build.
    std::thread::sleep(Duration::from_millis(100));
    Topology::new()
        .host("client")
        .host("server")
        .link("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
});

/// Tests of LAB running right now, and whether an exclusive one is.
static SHARED_INSIDE: AtomicUsize = AtomicUsize::new(0);
static EXCLUSIVE_INSIDE: AtomicUsize = AtomicUsize::new(0);

/// One shared test: runs in `client`, reaches a server started on `server`.
fn shared_test() {
    SHARED_INSIDE.fetch_add(1, Ordering::SeqCst);
    assert_eq!(
        EXCLUSIVE_INSIDE.load(Ordering::SeqCst),
        0,
        "ran during an exclusive test"
    );
    assert_eq!(
        BUILDS.load(Ordering::SeqCst),
        1,
        "the fixture was built more than once"
    );
    let lab = LAB.get().unwrap();
    assert_eq!(
        thread_netns_inode(),
        lab.host("client").inode(),
        "not in the client host"
    );
    let server = lab.net_addr();
    let listener = lab
        .host("server")
        .run(move || TcpListener::bind(SocketAddr::new(server, 0)).unwrap())
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    TcpStream::connect_timeout(&SocketAddr::new(server, port), Duration::from_secs(3)).unwrap();
    listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    SHARED_INSIDE.fetch_sub(1, Ordering::SeqCst);
}

trait ServerAddr {
    fn net_addr(&self) -> std::net::IpAddr;
}

impl ServerAddr for Network {
    fn net_addr(&self) -> std::net::IpAddr {
        self.ipv4("server", "eth0").into()
    }
}

macro_rules! shared_tests {
    ($($name:ident)*) => {$(
        #[netns_test(fixture = LAB, host = "client")]
        fn $name() {
            shared_test();
        }
    )*};
}

shared_tests! {
    shared_00 shared_01 shared_02 shared_03 shared_04 shared_05 shared_06
    shared_07 shared_08 shared_09 shared_10 shared_11 shared_12 shared_13
    shared_14 shared_15 shared_16 shared_17 shared_18 shared_19
}

#[netns_test(fixture = LAB, host = "server", exclusive)]
fn exclusive_test_runs_alone() {
    EXCLUSIVE_INSIDE.fetch_add(1, Ordering::SeqCst);
    assert_eq!(
        SHARED_INSIDE.load(Ordering::SeqCst),
        0,
        "shared tests ran during an exclusive one"
    );
    let lab = LAB.get().unwrap();
    // An exclusive test may change the fixture, and put it back.
    lab.host("server").set_mtu("eth0", 1280).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    lab.host("server").set_mtu("eth0", 1500).unwrap();
    EXCLUSIVE_INSIDE.fetch_sub(1, Ordering::SeqCst);
}

#[netns_test(fixture = LAB)]
fn without_a_host_the_test_gets_a_namespace_of_its_own() {
    let lab = LAB.get().unwrap();
    let mine = thread_netns_inode();
    assert!(lab.hosts().all(|h| lab.host(h).inode() != mine));
    TcpListener::bind("127.0.0.1:8080").unwrap();
}

// ---- A fixture whose setup fails -------------------------------------------

// Both fail only when armed, so that `cargo test -- --ignored` stays green.

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";

fn armed() -> bool {
    std::env::var_os(FIXTURE_ENV).is_some()
}

static BROKEN: Fixture<Network> = Fixture::new("nt-broken", || {
    let addr = if armed() {
        "not-an-address"
    } else {
        "192.0.2.1/24"
    };
    Topology::new().host("a").addr("a", "lo", addr).build()
});

static PANICKING: Fixture<Network, String> = Fixture::new("nt-panicking", || {
    if armed() {
        panic!("setup exploded");
    }
    Topology::new().host("a").build().map_err(|e| e.to_string())
});

#[netns_test(fixture = BROKEN, host = "a")]
#[ignore = "fixture: run by a_failed_setup_fails_each_dependent_test"]
fn fixture_broken_unit() {}

#[netns_test(fixture = BROKEN, host = "a")]
#[ignore = "fixture: run by a_failed_setup_fails_each_dependent_test"]
fn fixture_broken_result() -> Result<(), String> {
    Ok(())
}

#[netns_test(fixture = PANICKING, host = "a")]
#[ignore = "fixture: run by a_failed_setup_fails_each_dependent_test"]
fn fixture_panicking() {}

fn run_self(args: &[&str]) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .env(FIXTURE_ENV, "1")
        .output()
        .unwrap()
}

#[test]
fn a_failed_setup_fails_each_dependent_test() {
    let out = run_self(&[
        "--ignored",
        "fixture_broken_",
        "fixture_panicking",
        "--test-threads=4",
    ]);
    let text = common::output_text(&out);
    assert!(!out.status.success(), "{text}");
    for test in [
        "fixture_broken_unit",
        "fixture_broken_result",
        "fixture_panicking",
    ] {
        assert!(
            text.contains(&format!("test {test} ... FAILED")),
            "{test}: {text}"
        );
    }
    assert!(
        text.contains("fixture nt-broken could not be built") && text.contains("not-an-address"),
        "{text}"
    );
    assert!(
        text.contains("fixture nt-panicking could not be built: setup panicked: setup exploded"),
        "{text}"
    );
    assert!(!text.contains("poison"), "{text}");
}

// ---- Two processes, one named fixture --------------------------------------

static NAMED: Fixture<Network> = Fixture::new("nt-named", || {
    Topology::new()
        .host("client")
        .host("server")
        .link("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "198.51.100.1/24")
        .addr("server", "eth0", "198.51.100.2/24")
        .named("nt-fx")
        .build()
});

#[netns_test(fixture = NAMED, host = "client")]
#[ignore = "fixture: run by two_processes_use_the_same_named_fixture"]
fn fixture_named_user() {
    let lab = NAMED.get().unwrap();
    let name = lab.host("client").name().unwrap().to_owned();
    assert!(common::ip_netns_list().contains(&name));
    let listener = lab
        .host("server")
        .run(|| TcpListener::bind("198.51.100.2:8080").unwrap())
        .unwrap();
    // Give the other process time to be in the same state.
    std::thread::sleep(Duration::from_millis(300));
    TcpStream::connect_timeout(
        &"198.51.100.2:8080".parse().unwrap(),
        Duration::from_secs(3),
    )
    .unwrap();
    listener.accept().unwrap();
    println!("ran with {name}");
}

/// cargo-nextest runs one process per test: two processes building the same
/// named fixture at once must not collide, and each removes its namespaces
/// at exit.
#[test]
fn two_processes_use_the_same_named_fixture() {
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "fixture_named_user", "--nocapture"])
            .env(FIXTURE_ENV, "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (pa, pb) = (a.id(), b.id());
    for (child, pid) in [(a, pa), (b, pb)] {
        let out = child.wait_with_output().unwrap();
        let text = common::output_text(&out);
        assert!(out.status.success(), "process {pid}: {text}");
        assert!(
            text.contains(&format!("ran with nt-fx-{pid}-client")),
            "{text}"
        );
        let left: Vec<String> = netns_test::RunDir::get()
            .names()
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with(&format!("nt-fx-{pid}-")))
            .collect();
        assert!(left.is_empty(), "process {pid} left {left:?}");
    }
}

// ---- Exclusive use across processes ----------------------------------------

#[netns_test(fixture = LAB, host = "client")]
#[ignore = "fixture: run by anonymous_fixture_copies_do_not_wait_for_each_other"]
fn fixture_lab_user() {
    println!("entered at {}", now_ms());
}

#[netns_test(fixture = NAMED, host = "client", exclusive)]
#[ignore = "fixture: run by exclusive_use_of_a_named_fixture_holds_off_other_processes"]
fn fixture_named_exclusive_user() {
    println!("entered at {}", now_ms());
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Holds `fixture` exclusively (in-process lock and `flock`) for 500 ms
/// while another process runs `test`; returns when that test entered and
/// when the hold was released (ms since the epoch).
fn entered_and_released<T: Send + Sync>(fixture: &Fixture<T>, test: &str) -> (u128, u128) {
    let hold = fixture.lock(true).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", test, "--nocapture"])
        .env(FIXTURE_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let released = now_ms();
    drop(hold);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let entered: u128 = text
        .lines()
        .find_map(|l| l.strip_prefix("entered at "))
        .unwrap_or_else(|| panic!("{text}"))
        .trim()
        .parse()
        .unwrap();
    (entered, released)
}

/// Hosts with names (`Topology::named`) are visible to other processes:
/// while this process holds NAMED exclusively, an `exclusive` test of NAMED
/// in another process waits (the `flock` on the fixture's lock file).
#[test]
fn exclusive_use_of_a_named_fixture_holds_off_other_processes() {
    let (entered, released) = entered_and_released(&NAMED, "fixture_named_exclusive_user");
    assert!(
        entered >= released,
        "entered at {entered}, released at {released}"
    );
}

/// Anonymous hosts are private to a process (under cargo-nextest, each test
/// process has its own copy): a test of LAB in another process does not
/// wait for this process's hold.
#[test]
fn anonymous_fixture_copies_do_not_wait_for_each_other() {
    let (entered, released) = entered_and_released(&LAB, "fixture_lab_user");
    assert!(
        entered < released,
        "entered at {entered}, after the release at {released}"
    );
}
