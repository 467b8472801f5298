//! Readiness beyond a listening socket: a log line (the Nth time, or a
//! pattern), an HTTP status from nginx, a command that succeeds, a
//! predicate; the process exiting first fails the wait at once, a timeout
//! shows the tail; with `tokio`, the wait leaves the runtime's thread free.
//!
//! Programs from Debian packages that `.ci/run` installs (nginx, curl,
//! socat); a missing one fails the test with its name.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use netns_test::{netns_test, Netns, Process, Ready};

const WAIT: Duration = Duration::from_secs(10);

fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: `apt-get install {package}` (.ci/run installs it)"
    );
}

fn sh(ns: &Netns, script: &str) -> Process {
    ns.spawn(Command::new("sh").args(["-c", script])).unwrap()
}

fn log_of(p: &Process) -> String {
    std::fs::read_to_string(p.log_path()).unwrap()
}

#[netns_test]
fn waits_for_a_log_line_printed_after_a_delay() {
    let ns = Netns::current().unwrap();
    let p = sh(
        &ns,
        "sleep 0.3; echo starting; echo 'Ready to accept connections'; exec sleep 30",
    );
    let start = Instant::now();
    assert!(!log_of(&p).contains("Ready"), "printed before the delay");
    p.wait_until(Ready::log_line("Ready to accept connections"), WAIT)
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    assert!(log_of(&p).contains("Ready to accept connections"));
    assert!(p.try_wait().unwrap().is_none(), "still running");
}

#[netns_test]
fn waits_for_the_nth_matching_line_and_for_a_pattern() {
    let ns = Netns::current().unwrap();
    let p = sh(
        &ns,
        "for i in 1 2 3 4; do sleep 0.1; echo \"tick $i\"; done; echo 'listening on 0.0.0.0:9000'; \
         exec sleep 30",
    );
    p.wait_until(Ready::log_line("tick").times(3), WAIT)
        .unwrap();
    let seen = log_of(&p);
    assert!(seen.contains("tick 3"), "{seen}");
    // The fourth comes 100 ms later: the wait did not wait for it.
    assert!(!seen.contains("tick 4"), "{seen}");
    let pattern = |l: &str| l.starts_with("listening on") && l.ends_with(":9000");
    p.wait_until(Ready::log_match("listening on *:9000", pattern), WAIT)
        .unwrap();
    assert!(log_of(&p).contains("listening on 0.0.0.0:9000"));
}

#[netns_test]
fn a_process_that_exits_first_fails_the_wait_at_once_with_its_status() {
    let ns = Netns::current().unwrap();
    let p = sh(&ns, "sleep 0.1; echo 'fatal: no config'; exit 7");
    let start = Instant::now();
    let err = p
        .wait_until(Ready::log_line("Ready"), WAIT)
        .unwrap_err()
        .to_string();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("exit status: 7"), "{err}");
    assert!(err.contains("fatal: no config"), "{err}");
    assert!(err.contains("a log line containing \"Ready\""), "{err}");
}

#[netns_test]
fn a_timeout_says_what_was_seen_and_shows_the_tail() {
    let ns = Netns::current().unwrap();
    let p = sh(&ns, "echo 'tick'; echo 'warming up'; exec sleep 30");
    let err = p
        .wait_until(Ready::log_line("tick").times(2), Duration::from_millis(300))
        .unwrap_err()
        .to_string();
    assert!(err.contains("still running"), "{err}");
    assert!(err.contains("(1 of 2 seen)"), "{err}");
    assert!(err.contains("warming up"), "{err}");
    assert!(err.contains(p.log_path().to_str().unwrap()), "{err}");
}

/// nginx in the foreground on 127.0.0.1:8080 and [::1]:8080: `/` a file,
/// `/health` 204, anything else 404. Returns the process and its directory.
fn nginx(ns: &Netns, tag: &str) -> (Process, PathBuf) {
    require("nginx", "nginx");
    let dir = std::env::temp_dir().join(format!("netns-test-ready-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), "hello\n").unwrap();
    let d = dir.display();
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; user root root;\n\
         pid {d}/nginx.pid; error_log stderr info;\n\
         events {{ worker_connections 64; }}\n\
         http {{ access_log off;\n\
           client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
           server {{ listen 127.0.0.1:8080; listen [::1]:8080; root {d}/www;\n\
             location = /health {{ return 204; }} }}\n\
         }}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let p = ns
        .spawn(
            Command::new("nginx")
                .args(["-e", "stderr", "-p"])
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf")),
        )
        .unwrap();
    (p, dir)
}

fn curl_status(url: &str) -> String {
    require("curl", "curl");
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            "--noproxy",
            "*",
        ])
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[netns_test]
fn waits_for_an_http_status_from_nginx() {
    let ns = Netns::current().unwrap();
    let (web, dir) = nginx(&ns, "http");
    web.wait_until(
        Ready::http("http://127.0.0.1:8080/health").status(204),
        WAIT,
    )
    .unwrap();
    // Ready means answering: curl from the same namespace gets it at once.
    assert_eq!(curl_status("http://127.0.0.1:8080/health"), "204");
    web.wait_until(Ready::http("http://[::1]:8080/"), WAIT)
        .unwrap();
    assert_eq!(curl_status("http://[::1]:8080/"), "200");
    // A status that never comes: the timeout says what came instead.
    let err = web
        .wait_until(
            Ready::http("http://127.0.0.1:8080/missing"),
            Duration::from_millis(300),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("last attempt: HTTP status 404"), "{err}");
    drop(web);
    std::fs::remove_dir_all(dir).unwrap();
}

#[netns_test]
fn an_http_wait_sees_refused_connections_until_the_server_listens() {
    let ns = Netns::current().unwrap();
    let idle = sh(&ns, "exec sleep 30");
    let err = idle
        .wait_until(
            Ready::http("http://127.0.0.1:8081/"),
            Duration::from_millis(200),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("Connection refused"), "{err}");
    let err = idle
        .wait_until(Ready::http("ftp://127.0.0.1/"), WAIT)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ftp://127.0.0.1/"), "{err}");
}

#[netns_test]
fn waits_for_a_command_to_succeed_in_the_namespace() {
    require("socat", "socat");
    let ns = Netns::current().unwrap();
    let echo = sh(
        &ns,
        "sleep 0.3; exec socat TCP-LISTEN:7000,bind=127.0.0.1,fork,reuseaddr EXEC:cat",
    );
    // socat connecting exits 0 only once the server accepts; it runs in
    // the namespace (from the host, 127.0.0.1:7000 is nobody's).
    let mut probe = Command::new("socat");
    probe.args(["-u", "OPEN:/dev/null", "TCP:127.0.0.1:7000"]);
    echo.wait_until(Ready::command(probe), WAIT).unwrap();
    std::net::TcpStream::connect("127.0.0.1:7000").unwrap();
    // A failing command: its last status in the timeout's message.
    let mut failing = Command::new("sh");
    failing.args(["-c", "exit 3"]);
    let err = echo
        .wait_until(Ready::command(failing), Duration::from_millis(200))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`sh -c exit 3` to exit 0"), "{err}");
    assert!(err.contains("last attempt: exit status: 3"), "{err}");
    // A program that does not exist ends the wait at once.
    let start = Instant::now();
    let err = echo
        .wait_until(Ready::command(Command::new("no-such-program-here")), WAIT)
        .unwrap_err()
        .to_string();
    assert!(start.elapsed() < Duration::from_secs(2), "{err}");
    // ENOENT, or EACCES where PATH holds a directory the user cannot
    // search (a rootless run as nobody with root's PATH).
    assert!(err.contains("spawn the readiness command"), "{err}");
    assert!(err.contains("no-such-program-here"), "{err}");
}

#[netns_test]
fn waits_for_a_predicate() {
    let ns = Netns::current().unwrap();
    let flag = std::env::temp_dir().join(format!("netns-test-ready-flag-{}", std::process::id()));
    let _ = std::fs::remove_file(&flag);
    let script = format!("sleep 0.2; touch {}; exec sleep 30", flag.display());
    let p = sh(&ns, &script);
    let seen = flag.clone();
    p.wait_until(Ready::predicate(move || seen.exists()), WAIT)
        .unwrap();
    assert!(flag.exists());
    std::fs::remove_file(&flag).unwrap();
    let err = p
        .wait_until(
            Ready::try_predicate(|| {
                Err(netns_test::Error::Spawn(std::io::Error::other("gave up")))
            }),
            WAIT,
        )
        .unwrap_err();
    assert!(err.to_string().contains("gave up"), "{err}");
}

#[netns_test]
fn wait_for_and_wait_tcp_still_wait_for_sockets() {
    require("socat", "socat");
    let ns = Netns::current().unwrap();
    let p = sh(
        &ns,
        "sleep 0.2; exec socat TCP-LISTEN:7002,reuseaddr EXEC:cat",
    );
    p.wait_tcp(7002, WAIT).unwrap();
    std::net::TcpStream::connect("127.0.0.1:7002").unwrap();
}

/// The wait runs on a blocking thread: a current-thread runtime keeps
/// running its other tasks meanwhile.
#[cfg(feature = "tokio")]
#[netns_test]
async fn wait_async_leaves_the_runtime_free() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let ns = Netns::current().unwrap();
    let p = sh(&ns, "sleep 0.4; echo ready; exec sleep 30");
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        loop {
            counter.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    p.wait_async(Ready::log_line("ready"), WAIT).await.unwrap();
    assert!(
        ticks.load(Ordering::Relaxed) >= 10,
        "{}",
        ticks.load(Ordering::Relaxed)
    );
    ticker.abort();
    let quick = sh(&ns, "exit 5");
    let err = quick
        .wait_async(Ready::log_line("ready"), WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("exit status: 5"), "{err}");
}
