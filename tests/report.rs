//! A failing test's report page (`NETNS_TEST_REPORT`): a child process runs
//! a failing fixture test with a capture; its message names the page,
//! which holds the message, the topology as SVG with counters and faults,
//! the state, the seed line and the packet ladder; a passing test writes
//! none. The page is then opened in headless Chromium, whose DOM must show
//! the same (skipped where Chromium is not installed, failed under
//! `NETNS_TEST_REQUIRE=1`), and a screenshot goes to
//! `target/ci-artifacts/`.
//!
//! The failing test is `fixture_*`, `#[ignore]`d and inert unless
//! `NETNS_TEST_FIXTURE=1`: this binary runs itself on it.
#![cfg(feature = "capture")]

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::output_text;
use netns_test::{netns_test, Direction, Faults, Topology};

const FIXTURE_ENV: &str = "NETNS_TEST_FIXTURE";

/// A target directory of one test's own, for the fixture's per-test files
/// (`CARGO_TARGET_DIR`): tests of this file run at once (in one process,
/// or one process each under cargo-nextest) and would share the fixture's
/// directory otherwise. Removed when dropped.
struct Target(PathBuf);

impl Target {
    fn new() -> Target {
        Target(tempdir())
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs this binary on the one ignored test `name`, armed (it fails) or
/// not, with `env`, its per-test files under `target`.
fn run_fixture(target: &Target, armed: bool, name: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    if armed {
        command.env(FIXTURE_ENV, "1");
    }
    command
        .args(["--ignored", "--exact", name, "--nocapture"])
        .env("CARGO_TARGET_DIR", &target.0)
        .env("RUST_BACKTRACE", "0")
        .env_remove("NETNS_TEST_KEEP")
        .env_remove("NETNS_TEST_REPORT")
        .env_remove("NETNS_TEST_CAPTURE_DIR")
        .env("NETNS_TEST_SEED", "7")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// client -(wire, 50% loss client to server)- router -- server; 40 UDP
/// datagrams from client to server; then fails if armed.
#[netns_test]
#[ignore = "fixture: run by the tests below"]
fn fixture_report_fails() {
    let net = Topology::new()
        .host("client")
        .router("router")
        .host("server")
        .wire("client", "eth0", "router", "eth0")
        .link("router", "eth1", "server", "eth0")
        .addr("client", "eth0", "192.0.2.2/24")
        .addr("router", "eth0", "192.0.2.1/24")
        .addr("router", "eth1", "198.51.100.1/24")
        .addr("server", "eth0", "198.51.100.2/24")
        .route("client", "default", "192.0.2.1")
        .route("server", "default", "198.51.100.1")
        .build()
        .unwrap();
    let server = net
        .host("server")
        .run(|| UdpSocket::bind("198.51.100.2:9"))
        .unwrap()
        .unwrap();
    // A process whose log's tail the page shows.
    let talker = net
        .spawn(
            "server",
            Command::new("sh").args(["-c", "echo log-line-of-the-server; exec sleep 30"]),
        )
        .unwrap();
    talker
        .wait_until(
            netns_test::Ready::log_line("log-line-of-the-server"),
            std::time::Duration::from_secs(5),
        )
        .unwrap();
    let client = net
        .host("client")
        .run(|| UdpSocket::bind("192.0.2.2:40000"))
        .unwrap()
        .unwrap();
    // One datagram through first, so that ARP is done before the loss.
    client.send_to(b"warm", "198.51.100.2:9").unwrap();
    server
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    server.recv(&mut [0; 64]).unwrap();
    let wire = net.wire("client", "eth0").unwrap();
    let _loss = wire.set(Direction::Out, Faults::new().loss(0.5)).unwrap();
    for i in 0..40u8 {
        client.send_to(&[i; 16], "198.51.100.2:9").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        std::env::var_os(FIXTURE_ENV).is_none(),
        "deliberate <failure> of the report test"
    );
}

/// The path the failure's `netns-test: report: PATH` line names.
fn report_path(text: &str) -> PathBuf {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("netns-test: report: "))
        .unwrap_or_else(|| panic!("no report line in:\n{text}"));
    PathBuf::from(line.trim())
}

/// The page of a failing captured test, checked as text.
fn failing_page(target: &Target) -> (PathBuf, String) {
    let out = run_fixture(
        target,
        true,
        "fixture_report_fails",
        &[("NETNS_TEST_CAPTURE", "failed")],
    );
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    let path = report_path(&text);
    assert_eq!(path.file_name().unwrap(), "report.html");
    assert!(
        path.ends_with("report.fixture_report_fails/report.html"),
        "{path:?}"
    );
    let html = std::fs::read_to_string(&path).unwrap();
    (path, html)
}

#[test]
fn a_failing_captured_test_writes_a_page_that_its_message_names() {
    let target = Target::new();
    let (path, html) = failing_page(&target);
    for expected in [
        // The message, escaped.
        "deliberate &lt;failure&gt; of the report test",
        // The topology: hosts, a link's interfaces, the wire's fault.
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"topology\"",
        ">client</text>",
        ">router</text>",
        ">server</text>",
        "eth1 198.51.100.1/24 -- eth0 198.51.100.2/24",
        "client/eth0 -&gt; router/eth0: loss 50%",
        // Counters of a link end.
        "server:eth0 rx ",
        // The state of a host, the seed line, the capture.
        "link 1 lo UP",
        "log-line-of-the-server",
        "link faults drew from seed 7",
        "<a href=\"capture.pcapng\">",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\"",
        "UDP 40000 &gt; 9",
    ] {
        assert!(
            html.contains(expected),
            "{expected:?} not in {}",
            path.display()
        );
    }
    for banned in ["<script", "<link", "src="] {
        assert!(!html.contains(banned), "{banned}");
    }
    assert!(path.with_file_name("capture.pcapng").is_file());
    // The index beside the tests' directories links it, as failed.
    let index =
        std::fs::read_to_string(path.parent().unwrap().with_file_name("index.html")).unwrap();
    assert!(
        index.contains(
            "<td class=\"failed\">failed</td><td><a href=\"report.fixture_report_fails/report.html\">"
        ),
        "{index}"
    );
    // The ladder marks a dropped frame with the wire's reason, in red.
    assert!(
        html.contains("<tr class=\"note\">") && html.contains("dropped by loss"),
        "no dropped frame marked in {}",
        path.display()
    );
}

/// Each packet comment of the capture at `path`, with the interface's
/// name and the frame.
fn comments(path: &Path) -> Vec<(String, String, Vec<u8>)> {
    let (_, packets) = common::read_pcapng(path);
    packets
        .into_iter()
        .flat_map(|p| {
            let (iface, data) = (p.iface, p.data);
            p.comments
                .into_iter()
                .map(move |c| (iface.clone(), c, data.clone()))
        })
        .collect()
}

#[test]
fn the_capture_says_why_the_wire_dropped_a_frame() {
    let target = Target::new();
    let (path, _) = failing_page(&target);
    let notes = comments(&path.with_file_name("capture.pcapng"));
    // The loss is client to router only: every note is on the sender's
    // interface and names the direction's seed.
    for (iface, note, _) in &notes {
        assert_eq!(iface, "client/eth0");
        assert!(note.starts_with("dropped by loss"), "{note}");
    }
    // 40 datagrams to port 9 (IPv4, UDP) at 50%: some dropped, not all.
    let udp = notes
        .iter()
        .filter(|(_, _, f)| f[12..14] == [8, 0] && f[23] == 17 && f[36..38] == [0, 9])
        .count();
    assert!((5..40).contains(&udp), "{udp} of {notes:?}");
}

#[test]
fn a_passing_test_report_off_and_the_default_write_no_page() {
    let target = Target::new();
    let dir = {
        let (path, _) = failing_page(&target);
        path.parent().unwrap().to_owned()
    };
    // Off: the earlier run's page is cleared at the start, none written.
    let out = run_fixture(
        &target,
        true,
        "fixture_report_fails",
        &[
            ("NETNS_TEST_CAPTURE", "failed"),
            ("NETNS_TEST_REPORT", "off"),
        ],
    );
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("netns-test: report:"), "{text}");
    assert!(!dir.join("report.html").exists());
    // Without capture or keep, the default is off.
    let out = run_fixture(&target, true, "fixture_report_fails", &[]);
    assert!(!output_text(&out).contains("netns-test: report:"));
    // A passing test under `failed` writes none.
    let out = run_fixture(
        &target,
        false,
        "fixture_report_fails",
        &[("NETNS_TEST_REPORT", "failed")],
    );
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("netns-test: report"), "{text}");
    assert!(!dir.join("report.html").exists());
    // Under `all` it does: a page that says it passed.
    let out = run_fixture(
        &target,
        false,
        "fixture_report_fails",
        &[("NETNS_TEST_REPORT", "all")],
    );
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    let html = std::fs::read_to_string(report_path(&text)).unwrap();
    assert!(
        html.contains("<title>fixture_report_fails passed</title>"),
        "{html}"
    );
}

/// Runs headless Chromium on `page` with `args`; its stdout.
fn run_chromium(chromium: &Path, page: &Path, args: &[&str]) -> String {
    let profile = tempdir();
    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "{}", output_text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tempdir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("netns-test-chromium-{}-{n}", std::process::id());
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chromium_shows_the_page_of_a_failing_test() {
    let target = Target::new();
    if !common::have("chromium", "chromium") {
        return;
    }
    let chromium = PathBuf::from("chromium");
    let (path, _) = failing_page(&target);
    let dom = run_chromium(&chromium, &path, &["--dump-dom"]);
    // Parsed by the browser: the SVG's hosts and links, the ladder's rows.
    let topology = dom
        .split_once("class=\"topology\"")
        .unwrap_or_else(|| panic!("no topology SVG in the DOM:\n{dom}"))
        .1;
    for host in ["client", "router", "server"] {
        assert!(topology.contains(&format!(">{host}</text>")), "{host}");
    }
    assert_eq!(
        topology
            .split("</svg>")
            .next()
            .unwrap()
            .matches("class=\"link\"")
            .count(),
        2
    );
    let ladder = dom.split_once("class=\"ladder\"").unwrap().1;
    let rows = ladder.matches("<g class=\"frame\">").count();
    assert!(rows >= 20, "{rows} ladder rows");
    // A dropped frame, in red with its reason, in the SVG and the table.
    assert!(ladder.contains("fill=\"#c00\">UDP 40000 &gt; 9 58 B \u{2717} dropped by loss"));
    assert!(dom.contains("<tr class=\"note\">"));
    assert!(dom.contains("<table id=\"frames\">"));
    // A screenshot for CI's artifacts (in the temporary directory where
    // the target directory is not ours to write: a rootless run).
    let mut shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-artifacts");
    let writable = std::fs::create_dir_all(&shots).is_ok()
        && std::fs::write(shots.join(".probe"), b"").is_ok()
        && std::fs::remove_file(shots.join(".probe")).is_ok();
    if !writable {
        shots = tempdir();
    }
    let shot = shots.join("report.png");
    let _ = std::fs::remove_file(&shot);
    assert!(!shot.exists(), "{} is left from before", shot.display());
    run_chromium(
        &chromium,
        &path,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    if !writable {
        let _ = std::fs::remove_dir_all(&shots);
    }
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}
