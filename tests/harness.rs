//! `#[netns_test]`s run by the libtest-mimic harness of `netns_test::main!()`
//! (`harness = false` in Cargo.toml). tests/harness_cli.rs runs this binary
//! with libtest's arguments, unprivileged, and under cargo-nextest's rules,
//! and checks what it prints.
//!
//! The `fixture_*` tests are `#[ignore]`d and pass unless
//! `NETNS_TEST_FIXTURE=1` is set: then they fail, each its own way, for
//! harness_cli.rs to see the failure reported.
//!
//! The `named_fixture::*` tests share a suite fixture whose hosts are named
//! namespaces (`nt-hfx-PID-HOST`); with `NETNS_TEST_EXIT_REPORT=1` the
//! process prints, as `exit` begins, which of them are still in the run
//! directory, for harness_cli.rs to check that the harness removed them
//! after the last test, before the process exits.

mod common;

use common::{main_thread_netns_inode, thread_netns_inode};
use netns_test::{netns_test, Fixture, Network, Topology};

fn fixture_armed() -> bool {
    std::env::var_os("NETNS_TEST_FIXTURE").is_some()
}

#[netns_test]
fn binds_a_fixed_port_in_its_own_namespace() {
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    let listener = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    std::net::TcpStream::connect("127.0.0.1:8080").unwrap();
    listener.accept().unwrap();
}

#[netns_test]
fn runs_on_a_thread_named_after_the_test() {
    assert_eq!(
        std::thread::current().name(),
        Some("runs_on_a_thread_named_after_the_test")
    );
}

#[netns_test]
#[should_panic(expected = "expected message")]
fn should_panic_with_expected_passes_on_a_matching_panic() {
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    panic!("an expected message from the namespace thread");
}

#[netns_test]
#[should_panic]
fn should_panic_passes_on_any_panic() {
    std::hint::black_box(None::<()>).unwrap();
}

#[netns_test]
#[ignore = "runs only with --ignored or --include-ignored"]
fn ignored_runs_only_when_asked() {
    std::net::TcpListener::bind("[::1]:8080").unwrap();
}

#[netns_test(name = "nt-harness-named")]
fn named_namespace_is_visible_while_the_test_runs() {
    let named = common::inode_of("/run/netns/nt-harness-named");
    assert_eq!(thread_netns_inode(), named);
}

#[cfg(feature = "tokio")]
#[netns_test(flavor = "multi_thread", worker_threads = 2)]
async fn async_bodies_run_on_a_runtime_inside_the_namespace() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    let outside = main_thread_netns_inode();
    let worker = tokio::spawn(async move { thread_netns_inode() }).await?;
    assert_ne!(worker, outside);
    tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    Ok(())
}

/// A logger that is never installed: `set_logger` with it fails if one is
/// installed already.
struct Probe;

impl log::Log for Probe {
    fn enabled(&self, _: &log::Metadata) -> bool {
        false
    }
    fn log(&self, _: &log::Record) {}
    fn flush(&self) {}
}

// `#[test_log::test]` after `#[netns_test]`: its set-up goes on the runner,
// which the harness calls (the `#[test]` function does not exist here), so
// logging is set up before the body, and the test is listed once. The only
// test of this binary that sets up logging. harness_cli.rs checks that the
// line reaches the output.
#[netns_test]
#[test_log::test]
fn test_log_sets_up_logging_under_the_harness() {
    assert_ne!(thread_netns_inode(), main_thread_netns_inode());
    assert!(
        log::set_logger(&Probe).is_err(),
        "no logger installed: test-log's set-up did not run"
    );
    log::info!("test-log: logged from the namespace thread");
}

mod nested {
    use super::*;

    #[netns_test]
    fn result_ok_passes() -> Result<(), std::io::Error> {
        std::net::UdpSocket::bind("127.0.0.1:8080")?.connect("127.0.0.1:9")?;
        Ok(())
    }

    #[derive(Debug)]
    #[allow(dead_code)] // read by Debug only
    pub struct MyError {
        code: u32,
    }

    #[netns_test]
    #[ignore = "fixture"]
    fn fixture_result_err() -> Result<(), MyError> {
        match fixture_armed() {
            true => Err(MyError { code: 7 }),
            false => Ok(()),
        }
    }

    /// Armed, it fails after its daemon wrote to its log: the failure shows
    /// the log's tail.
    #[netns_test]
    #[ignore = "fixture"]
    fn fixture_daemon_log() {
        if fixture_armed() {
            let ns = netns_test::Netns::current().unwrap();
            let daemon = ns
                .spawn(
                    std::process::Command::new("sh")
                        .args(["-c", "echo harness-marker-99; exec sleep 30"]),
                )
                .unwrap();
            let start = std::time::Instant::now();
            while !std::fs::read_to_string(daemon.log_path())
                .unwrap_or_default()
                .contains("harness-marker-99")
            {
                assert!(
                    start.elapsed() < std::time::Duration::from_secs(20),
                    "the daemon's log never showed its marker"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            panic!("failing after the daemon spoke");
        }
    }

    #[netns_test]
    #[ignore = "fixture"]
    fn fixture_panic() {
        if fixture_armed() {
            panic!("boom from the namespace thread");
        }
    }

    #[netns_test]
    #[should_panic(expected = "the expected text")]
    #[ignore = "fixture"]
    fn fixture_should_panic_wrong_message() {
        if fixture_armed() {
            panic!("some other text");
        }
        panic!("the expected text");
    }
}

/// A suite fixture with named hosts, used by the tests of this module only.
mod named_fixture {
    use super::*;
    use netns_test::RunDir;

    /// The prefix of the hosts' names: `nt-hfx-PID-client`, `nt-hfx-PID-server`.
    const PREFIX: &str = "nt-hfx";

    /// Set by harness_cli.rs: print, as `exit` begins, which named hosts of
    /// this process are left in the run directory.
    const EXIT_REPORT_ENV: &str = "NETNS_TEST_EXIT_REPORT";

    static LAB: Fixture<Network> = Fixture::new("nt-harness-lab", || {
        let lab = Topology::new()
            .host("client")
            .host("server")
            .link("client", "eth0", "server", "eth0")
            .addr("client", "eth0", "192.0.2.1/24")
            .addr("server", "eth0", "192.0.2.2/24")
            .named(PREFIX)
            .build()?;
        if std::env::var_os(EXIT_REPORT_ENV).is_some() {
            // Registered after the build, so after the handler that the
            // crate registers when it makes its first named namespace:
            // atexit(3) runs handlers in the reverse order, so this one runs
            // first and sees what the harness left, before the crate's own
            // handler removes it.
            // SAFETY: a plain `extern "C" fn()`, as atexit(3) requires.
            unsafe { libc::atexit(report_left_at_exit) };
        }
        Ok(lab)
    });

    /// This process's entries `nt-hfx-PID-*` in the run directory, sorted.
    fn left_in_run_dir() -> Vec<String> {
        let mine = format!("{PREFIX}-{}-", std::process::id());
        let mut left: Vec<String> = RunDir::get()
            .names()
            .unwrap_or_default()
            .into_iter()
            .filter(|name| name.starts_with(&mine))
            .collect();
        left.sort();
        left
    }

    extern "C" fn report_left_at_exit() {
        let left = left_in_run_dir();
        let left = if left.is_empty() {
            "none".to_owned()
        } else {
            left.join(" ")
        };
        eprintln!("named fixture hosts left when exit began: {left}");
    }

    /// The host's entry in the run directory is there while a test runs, and
    /// is the namespace of the thread that runs it.
    fn runs_in_named_host(host: &str) {
        let lab = LAB.get().unwrap();
        let pid = std::process::id();
        let name = format!("{PREFIX}-{pid}-{host}");
        assert_eq!(lab.host(host).name(), Some(name.as_str()));
        let entry = RunDir::get().path().join(&name);
        assert_eq!(common::inode_of(&entry), thread_netns_inode());
        // Both hosts, whichever test runs first or last.
        assert_eq!(
            left_in_run_dir(),
            [
                format!("{PREFIX}-{pid}-client"),
                format!("{PREFIX}-{pid}-server")
            ]
        );
    }

    #[netns_test(fixture = LAB, host = "client")]
    fn client_runs_in_its_named_host_and_reaches_the_server() {
        runs_in_named_host("client");
        let server = LAB.get().unwrap().host("server");
        let listener = server
            .run(|| std::net::TcpListener::bind("192.0.2.2:8080"))
            .unwrap()
            .unwrap();
        std::net::TcpStream::connect("192.0.2.2:8080").unwrap();
        listener.accept().unwrap();
    }

    #[netns_test(fixture = LAB, host = "server")]
    fn server_runs_in_its_named_host() {
        runs_in_named_host("server");
    }
}

/// A suite fixture whose value holds a daemon and records its drop: with
/// `NETNS_TEST_SERVICES_RECORD=DIR` (harness_cli.rs, ci/test), lines
/// `daemon PID` and `drop PID` go to `DIR/<this process's pid>.log`, for a
/// check that the harness drops the value once and the daemon is gone.
mod counted {
    use super::*;
    use std::io::Write;
    use std::process::Command;

    fn record(line: &str) {
        if let Some(dir) = std::env::var_os("NETNS_TEST_SERVICES_RECORD") {
            let path = std::path::Path::new(&dir).join(format!("{}.log", std::process::id()));
            let mut file = std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            writeln!(file, "{line}").unwrap();
        }
    }

    struct Counted {
        daemon: netns_test::Process,
        net: Network,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            record(&format!("drop {}", self.daemon.pid()));
        }
    }

    impl netns_test::Hosts for Counted {
        fn netns(&self, host: &str) -> Option<&netns_test::Netns> {
            self.net.netns(host)
        }
        fn host_names(&self) -> Vec<String> {
            self.net.host_names()
        }
    }

    static COUNTED: Fixture<Counted> = Fixture::new("nt-harness-counted", || {
        let net = Topology::new().host("a").build()?;
        let daemon = net.host("a").spawn(Command::new("sleep").arg("300"))?;
        record(&format!("daemon {}", daemon.pid()));
        Ok(Counted { daemon, net })
    });

    #[netns_test(fixture = COUNTED, host = "a")]
    fn first_user() {
        record(&format!("use {}", COUNTED.get().unwrap().daemon.pid()));
    }

    #[netns_test(fixture = COUNTED, host = "a", exclusive)]
    fn second_user() {
        record(&format!("use {}", COUNTED.get().unwrap().daemon.pid()));
    }
}

netns_test::main!();
