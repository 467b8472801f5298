//! Real services in the lab: Debian's nginx started in a fixture's `server`
//! host through `Netns::spawn`, driven by curl from `client` across the
//! router; readiness, logs, stopping, no orphans, fixture teardown, link
//! counters.
//!
//! The programs come from Debian packages that `.ci/run` installs (nginx,
//! curl, socat); a missing one fails the test with its name.

mod common;

use std::io::Write;
use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use netns_test::{netns_test, Fixture, Hosts, Listening, Netns, Network, Process, Topology};

const WAIT: Duration = Duration::from_secs(10);

/// Fails with the package to install if `program` is not on `PATH`.
fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: `apt-get install {package}` (.ci/run installs it)"
    );
}

/// nginx, unprivileged and in the foreground, serving `body` at `/` on port
/// 8080 (IPv4 and IPv6) from a directory of its own.
struct Nginx {
    dir: PathBuf,
    process: Process,
}

impl Nginx {
    fn start(ns: &Netns, name: &str, body: &str) -> netns_test::Result<Nginx> {
        require("nginx", "nginx");
        let dir =
            std::env::temp_dir().join(format!("netns-test-nginx-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::write(dir.join("www/index.html"), body).unwrap();
        let d = dir.display();
        let conf = format!(
            // `user`: nginx chowns its temp directories to it, and rootless
            // (uid 0 of a user namespace) only uid 0 is mapped.
            "daemon off; master_process off; worker_processes 1; user root root;\n\
             pid {d}/nginx.pid; error_log stderr info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               server {{ listen 0.0.0.0:8080; listen [::]:8080 ipv6only=on; root {d}/www; }}\n\
             }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let spawned = ns.spawn(
            Command::new("nginx")
                .arg("-e")
                .arg("stderr")
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf")),
        );
        let process = match spawned {
            Ok(process) => process,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        // From here on, an error drops `nginx`: stopped, directory removed.
        let nginx = Nginx { dir, process };
        for addr in ["198.51.100.2", "2001:db8:2::2"] {
            let listening = Listening::tcp(8080).on(addr.parse().unwrap());
            nginx.process.wait_for(listening, WAIT)?;
        }
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fixture value that is not a bare `Network`: the lab and its daemon.
/// Field order is drop order: nginx stops before its namespaces go.
struct WebLab {
    nginx: Nginx,
    net: Network,
}

impl Hosts for WebLab {
    fn netns(&self, host: &str) -> Option<&Netns> {
        self.net.netns(host)
    }
    fn host_names(&self) -> Vec<String> {
        self.net.host_names()
    }
}

fn web_lab(name: &str) -> netns_test::Result<WebLab> {
    let net = common::client_router_server().build()?;
    let nginx = Nginx::start(net.host("server"), name, &format!("hello from {name}\n"))?;
    Ok(WebLab { nginx, net })
}

static WEB: Fixture<WebLab> = Fixture::new("nt-svc-web", || web_lab("web"));
static WEB2: Fixture<WebLab> = Fixture::new("nt-svc-web2", || web_lab("web2"));

/// `curl URL` from the calling thread's namespace: the body.
fn curl(url: &str) -> String {
    require("curl", "curl");
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--noproxy",
            "*",
        ])
        .arg(url)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        common::output_text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[netns_test(fixture = WEB, host = "client")]
fn curl_gets_nginx_across_the_router_ipv4_and_ipv6() {
    assert_eq!(curl("http://198.51.100.2:8080/"), "hello from web\n");
    assert_eq!(curl("http://[2001:db8:2::2]:8080/"), "hello from web\n");
    // The daemon runs in the server's namespace, not the client's.
    let lab = WEB.get().unwrap();
    let pid = lab.nginx.process.pid();
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(
        ns.to_str().unwrap(),
        format!("net:[{}]", lab.net.host("server").inode())
    );
}

#[netns_test(fixture = WEB2, host = "client")]
fn two_labs_serve_the_same_address_and_port_at_once() {
    // Both fixtures' nginx listen on 198.51.100.2:8080 and [2001:db8:2::2]:8080.
    let web = WEB.get().unwrap();
    assert_eq!(curl("http://198.51.100.2:8080/"), "hello from web2\n");
    assert_eq!(curl("http://[2001:db8:2::2]:8080/"), "hello from web2\n");
    let from_web = web
        .net
        .host("client")
        .run(|| curl("http://[2001:db8:2::2]:8080/"))
        .unwrap();
    assert_eq!(from_web, "hello from web\n");
    assert!(web.nginx.process.pid() != WEB2.get().unwrap().nginx.process.pid());
}

/// The router's link called `name`.
fn stats(ns: &Netns, name: &str) -> netns_test::LinkStats {
    ns.links()
        .unwrap()
        .into_iter()
        .find(|link| link.name == name)
        .unwrap_or_else(|| panic!("no link {name}"))
        .stats
}

#[netns_test(fixture = WEB, host = "client")]
fn bytes_from_client_to_server_show_in_the_routers_counters() {
    require("socat", "socat");
    let lab = WEB.get().unwrap();
    let (router, server) = (lab.net.host("router"), lab.net.host("server"));
    let sink = server
        .spawn(Command::new("socat").args(["-u", "TCP-LISTEN:9000,reuseaddr", "OPEN:/dev/null"]))
        .unwrap();
    sink.wait_tcp(9000, WAIT).unwrap();
    let before = (stats(router, "eth0"), stats(router, "eth1"));
    const SENT: u64 = 1 << 20;
    let mut stream = TcpStream::connect("198.51.100.2:9000").unwrap();
    stream.write_all(&vec![7u8; SENT as usize]).unwrap();
    drop(stream);
    assert!(sink.wait().unwrap().success(), "{}", sink.log_tail(10));
    let after = (stats(router, "eth0"), stats(router, "eth1"));
    // In on the client's side, out on the server's; headers come on top.
    assert!(
        after.0.rx_bytes - before.0.rx_bytes >= SENT,
        "{before:?} {after:?}"
    );
    assert!(
        after.1.tx_bytes - before.1.tx_bytes >= SENT,
        "{before:?} {after:?}"
    );
    assert!(after.0.rx_packets > before.0.rx_packets);
    assert_eq!(after.0.rx_errors, before.0.rx_errors);
}

#[netns_test]
fn waits_for_a_daemon_that_listens_after_300_ms() {
    require("socat", "socat");
    let ns = Netns::current().unwrap();
    let start = Instant::now();
    let late = ns
        .spawn(Command::new("sh").args([
            "-c",
            "sleep 0.3; exec socat TCP-LISTEN:7000,reuseaddr,fork EXEC:cat",
        ]))
        .unwrap();
    late.wait_tcp(7000, WAIT).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    TcpStream::connect("127.0.0.1:7000").unwrap();
    assert_eq!(late.try_wait().unwrap(), None);
}

#[netns_test]
fn a_daemon_that_exits_at_once_fails_the_wait_quickly_with_status_and_log() {
    let ns = Netns::current().unwrap();
    let broken = ns
        .spawn(
            Command::new("sh").args(["-c", "echo 'config line 3: no such directive' >&2; exit 3"]),
        )
        .unwrap();
    let start = Instant::now();
    let err = broken.wait_tcp(7000, WAIT).unwrap_err().to_string();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("exit status: 3"), "{err}");
    assert!(err.contains("config line 3: no such directive"), "{err}");
    assert!(err.contains(broken.log_path().to_str().unwrap()), "{err}");
    assert!(err.contains(&format!("pid {}", broken.pid())), "{err}");
}

/// "exited ... after it was started" counts from the spawn, not from the
/// start of the wait.
#[netns_test]
fn the_exit_time_counts_from_the_spawn() {
    let ns = Netns::current().unwrap();
    let quick = ns.spawn(Command::new("sh").args(["-c", "exit 4"])).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let err = quick.wait_tcp(7001, WAIT).unwrap_err().to_string();
    let took = err
        .split("exited (exit status: 4) ")
        .nth(1)
        .and_then(|rest| rest.split(" after it was started").next())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(took.ends_with("ms") || took.ends_with('s'), "{took}: {err}");
    assert!(
        !took.ends_with("µs") && !took.ends_with("ns"),
        "the exit is timed from the wait, not the spawn: {err}"
    );
}

#[netns_test]
fn a_daemon_that_never_listens_times_out_and_says_so() {
    let ns = Netns::current().unwrap();
    let idle = ns.spawn(Command::new("sleep").arg("30")).unwrap();
    let err = idle
        .wait_for(Listening::udp(5353), Duration::from_millis(200))
        .unwrap_err()
        .to_string();
    assert!(err.contains("still running"), "{err}");
    assert!(err.contains("UDP socket bound on port 5353"), "{err}");
    assert!(err.contains("did not appear"), "{err}");
}

#[netns_test]
fn waits_for_udp_on_an_address() {
    require("socat", "socat");
    let ns = Netns::current().unwrap();
    let dns = ns
        .spawn(Command::new("socat").args(["-u", "UDP-RECV:5353,bind=127.0.0.1", "OPEN:/dev/null"]))
        .unwrap();
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    dns.wait_for(Listening::udp(5353).on(lo), WAIT).unwrap();
}

#[test]
fn a_process_outlives_the_short_lived_thread_that_spawned_it() {
    // The trap of golang/go#27505: PR_SET_PDEATHSIG follows the forking
    // thread. Spawned from a namespace thread that ends at once, the child
    // must live on until its guard stops it.
    let ns = Netns::new().unwrap();
    let sleeper = ns
        .run(|| ns.spawn(Command::new("sleep").arg("30")))
        .unwrap()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sleeper.try_wait().unwrap(), None, "killed with its thread");
    let ns_link = std::fs::read_link(format!("/proc/{}/ns/net", sleeper.pid())).unwrap();
    assert_eq!(ns_link.to_str().unwrap(), format!("net:[{}]", ns.inode()));
    let status = sleeper.stop().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "{status}"
    );
}

#[test]
fn stop_kills_the_whole_group_after_the_grace_period() {
    let ns = Netns::new().unwrap();
    // A shell that ignores SIGTERM and has a child of its own.
    let stubborn = ns
        .spawn(Command::new("sh").args(["-c", "trap '' TERM; sleep 30 & echo $!; wait"]))
        .unwrap();
    // `$!` is the pid in the program's own PID namespace.
    let grandchild = wait_for_line(stubborn.log_path());
    let grandchild = common::host_pid(stubborn.pid(), grandchild.trim().parse().unwrap())
        .expect("the grandchild, by its pid in the program's namespace");
    stubborn.set_grace(Duration::from_millis(200));
    let start = Instant::now();
    let status = stubborn.stop().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(gone(grandchild, Duration::from_secs(5)));
}

#[test]
fn a_missing_program_is_an_error_that_names_it() {
    let ns = Netns::new().unwrap();
    let err = ns
        .spawn(&mut Command::new("netns-test-no-such-program"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("netns-test-no-such-program"), "{err}");
    assert!(err.contains("No such file"), "{err}");
}

/// The first line of the file at `path`, waited for.
fn wait_for_line(path: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().next() {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "nothing in {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` is gone (or a zombie no one reaped yet) within
/// `within`.
fn gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) => {
                let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
                if state == Some('Z') || state == Some('X') {
                    return true;
                }
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- Processes a network owns (Network::spawn) ----

/// A shell that says `ready` once its trap is set, and appends `name` to
/// `file` when SIGTERM stops it.
fn stoppable(file: &Path, name: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.args([
        "-c",
        &format!(
            "trap 'echo {name} >> {}; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
            file.display()
        ),
    ]);
    sh
}

/// A network stops what it owns when it drops, last spawned first, with
/// SIGTERM (the trap runs), even while the test still holds a handle.
#[test]
fn a_network_stops_its_processes_last_spawned_first() {
    let file = std::env::temp_dir().join(format!("netns-test-owned-{}", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let net = Topology::new().host("a").host("b").build().unwrap();
    let first = net.spawn("a", &mut stoppable(&file, "first")).unwrap();
    let second = net.spawn("b", &mut stoppable(&file, "second")).unwrap();
    let pids = |host| -> Vec<u32> { net.processes(host).iter().map(|p| p.pid()).collect() };
    assert_eq!(pids("a"), [first.pid()]);
    assert_eq!(pids("b"), [second.pid()]);
    wait_for_line(first.log_path());
    wait_for_line(second.log_path());
    drop(net);
    let stopped = std::fs::read_to_string(&file).unwrap();
    assert_eq!(stopped, "second\nfirst\n");
    for process in [&first, &second] {
        let status = process
            .try_wait()
            .unwrap()
            .expect("stopped with the network");
        assert!(
            status.success(),
            "{status}: the trap ran, so SIGTERM stopped it"
        );
        assert!(gone(process.pid(), Duration::from_secs(5)));
    }
    std::fs::remove_file(&file).unwrap();
}

/// socat echoing on port 8090.
fn echo_8090() -> Command {
    require("socat", "socat");
    let mut socat = Command::new("socat");
    socat.args(["TCP-LISTEN:8090,fork,reuseaddr", "EXEC:cat"]);
    socat
}

/// A network and its daemon, with no struct of its own: the network owns
/// the daemon and stops it at teardown.
static ECHO_LAB: Fixture<Network> = Fixture::new("nt-svc-echo", || {
    let net = Topology::new()
        .host("client")
        .host("server")
        .link("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()?;
    net.spawn("server", &mut echo_8090())?
        .wait_tcp(8090, WAIT)?;
    Ok(net)
});

fn echo_round_trip() -> std::io::Result<()> {
    use std::io::Read;
    let mut conn = TcpStream::connect("192.0.2.2:8090")?;
    conn.write_all(b"ping\n")?;
    let mut back = [0u8; 5];
    conn.read_exact(&mut back)?;
    assert_eq!(&back, b"ping\n");
    Ok(())
}

#[netns_test(fixture = ECHO_LAB, host = "client")]
fn a_fixtures_network_runs_its_daemon() {
    echo_round_trip().unwrap();
}

/// A test stops the daemon the fixture's network owns (through `&self`)
/// and starts it again.
#[netns_test(fixture = ECHO_LAB, host = "client", exclusive)]
fn a_test_restarts_the_daemon_of_a_fixtures_network() {
    let lab = ECHO_LAB.get().unwrap();
    let before = lab.processes("server").len();
    let old = lab.processes("server").pop().unwrap();
    old.stop().unwrap();
    assert!(gone(old.pid(), Duration::from_secs(5)));
    let err = TcpStream::connect("192.0.2.2:8090").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    lab.spawn("server", &mut echo_8090())
        .unwrap()
        .wait_tcp(8090, WAIT)
        .unwrap();
    echo_round_trip().unwrap();
    assert_eq!(lab.processes("server").len(), before + 1);
}

// ---- Run in a child test process: failure output, SIGKILL, teardown ----

/// Where the child test process records what it started (pids) and what it
/// dropped: set by the tests below (and by ci/test, for every way of running).
const RECORD_ENV: &str = "NETNS_TEST_SERVICES_RECORD";

fn record(line: &str) {
    if let Some(dir) = std::env::var_os(RECORD_ENV) {
        let path = Path::new(&dir).join(format!("{}.log", std::process::id()));
        let mut file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(file, "{line}").unwrap();
    }
}

/// A fixture value that records its drop, and holds a daemon started in its
/// setup.
struct Counted {
    daemon: Process,
    net: Network,
}

impl Drop for Counted {
    fn drop(&mut self) {
        record(&format!("drop {}", self.daemon.pid()));
    }
}

impl Hosts for Counted {
    fn netns(&self, host: &str) -> Option<&Netns> {
        self.net.netns(host)
    }
    fn host_names(&self) -> Vec<String> {
        self.net.host_names()
    }
}

static COUNTED: Fixture<Counted> = Fixture::new("nt-svc-counted", || {
    let net = Topology::new().host("a").build()?;
    let daemon = net.host("a").spawn(Command::new("sleep").arg("300"))?;
    record(&format!("daemon {}", daemon.pid()));
    Ok(Counted { daemon, net })
});

#[netns_test(fixture = COUNTED, host = "a")]
fn counted_fixture_first_user() {
    let daemon = COUNTED.get().unwrap().daemon.pid();
    record(&format!("use {daemon}"));
}

#[netns_test(fixture = COUNTED, host = "a", exclusive)]
fn counted_fixture_second_user_is_exclusive_without_a_cross_process_lock() {
    record(&format!("use {}", COUNTED.get().unwrap().daemon.pid()));
    // Anonymous hosts are private to this process: no flock, so no lock file.
    let lock = netns_test::RunDir::get()
        .path()
        .with_file_name("netns-test")
        .join("fixture-nt-svc-counted.lock");
    assert!(!lock.exists(), "{} was created", lock.display());
}

/// Runs this test binary with `args`, recording into a fresh directory.
fn run_self(args: &[&str], record_dir: &Path) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .env(RECORD_ENV, record_dir)
        .env_remove("NEXTEST")
        .output()
        .unwrap()
}

fn record_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netns-test-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every line of every record file in `dir`, by the recording pid.
fn records(dir: &Path) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let pid = path.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            out.push((pid, line.to_owned()));
        }
    }
    out
}

#[test]
fn a_fixture_value_is_dropped_once_at_exit_and_its_daemon_is_gone() {
    let dir = record_dir("teardown");
    let out = run_self(&["counted_fixture_", "--test-threads", "2"], &dir);
    assert!(out.status.success(), "{}", common::output_text(&out));
    let lines = records(&dir);
    let drops: Vec<_> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("drop "))
        .collect();
    let daemons: Vec<_> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("daemon "))
        .collect();
    let uses = lines.iter().filter(|(_, l)| l.starts_with("use ")).count();
    assert_eq!(uses, 2, "{lines:?}");
    assert_eq!(daemons.len(), 1, "{lines:?}");
    assert_eq!(drops.len(), 1, "dropped once per process: {lines:?}");
    let daemon: u32 = daemons[0].1["daemon ".len()..].parse().unwrap();
    assert!(
        gone(daemon, Duration::from_secs(5)),
        "daemon {daemon} outlived the test process"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Ignored: run by `a_killed_test_process_leaves_no_process_behind`, which
/// kills it.
#[netns_test(fixture = COUNTED, host = "a")]
#[ignore = "run and SIGKILLed by a_killed_test_process_leaves_no_process_behind"]
fn victim_spawns_daemons_and_waits_to_be_killed() {
    COUNTED.get().unwrap();
    let here = Netns::current().unwrap();
    let body = here.spawn(Command::new("sleep").arg("300")).unwrap();
    // No guard will drop: what kills the fixture's daemon and this one is
    // the kernel's PDEATHSIG when the process dies.
    record(&format!("daemon {}", body.pid()));
    std::mem::forget(body);
    record("ready");
    std::thread::sleep(Duration::from_secs(300));
}

#[test]
fn a_killed_test_process_leaves_no_process_behind() {
    let dir = record_dir("sigkill");
    let mut victim = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "victim_spawns_daemons_and_waits_to_be_killed",
            "--ignored",
        ])
        .env(RECORD_ENV, &dir)
        .env_remove("NEXTEST")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !records(&dir).iter().any(|(_, l)| l == "ready") {
        assert!(
            Instant::now() < deadline,
            "the victim never got ready: {:?}",
            records(&dir)
        );
        assert_eq!(victim.try_wait().unwrap(), None, "the victim exited early");
        std::thread::sleep(Duration::from_millis(20));
    }
    victim.kill().unwrap(); // SIGKILL: no atexit, no drop
    victim.wait().unwrap();
    let lines = records(&dir);
    let daemons: Vec<u32> = lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("daemon ")?.parse().ok())
        .collect();
    assert_eq!(daemons.len(), 2, "{lines:?}");
    assert!(
        !lines.iter().any(|(_, l)| l.starts_with("drop ")),
        "{lines:?}"
    );
    for pid in daemons {
        assert!(
            gone(pid, Duration::from_secs(5)),
            "daemon {pid} outlived the killed test process"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A failed readiness wait's error shows the log tail; the failure output
/// does not repeat it.
#[test]
fn a_tail_the_error_shows_is_not_shown_twice() {
    let dir = record_dir("failed-wait");
    for test in [
        "fails_on_a_failed_wait_unwrapped",
        "fails_on_a_failed_wait_returned",
    ] {
        let out = run_self(&["--exact", test, "--ignored"], &dir);
        let text = common::output_text(&out);
        assert!(!out.status.success(), "{text}");
        assert_eq!(text.matches("marker-4713").count(), 1, "{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Ignored: run by `a_tail_the_error_shows_is_not_shown_twice`.
#[netns_test]
#[ignore = "fails on purpose; run by a_tail_the_error_shows_is_not_shown_twice"]
fn fails_on_a_failed_wait_unwrapped() {
    let ns = Netns::current().unwrap();
    let broken = ns
        .spawn(Command::new("sh").args(["-c", "echo 'bad config marker-4713' >&2; exit 2"]))
        .unwrap();
    broken.wait_tcp(7002, WAIT).unwrap();
}

/// Ignored: run by `a_tail_the_error_shows_is_not_shown_twice`.
#[netns_test]
#[ignore = "fails on purpose; run by a_tail_the_error_shows_is_not_shown_twice"]
fn fails_on_a_failed_wait_returned() -> Result<(), netns_test::Error> {
    let ns = Netns::current().unwrap();
    let broken = ns
        .spawn(Command::new("sh").args(["-c", "echo 'bad config marker-4713' >&2; exit 2"]))
        .unwrap();
    broken.wait_tcp(7002, WAIT)
}

/// Ignored: run by `a_failing_test_shows_its_daemons_log_tail`.
#[netns_test]
#[ignore = "fails on purpose; run by a_failing_test_shows_its_daemons_log_tail"]
fn fails_with_a_chatty_daemon() {
    let ns = Netns::current().unwrap();
    let daemon = ns
        .spawn(Command::new("sh").args(["-c", "echo 'listening... marker-4711'; exec sleep 30"]))
        .unwrap();
    wait_for_line(daemon.log_path());
    panic!("the test fails after its daemon wrote to its log");
}

/// Ignored: run by `a_failing_test_shows_its_daemons_log_tail`.
#[netns_test]
#[ignore = "fails on purpose; run by a_failing_test_shows_its_daemons_log_tail"]
fn fails_with_an_err_and_a_chatty_daemon() -> Result<(), String> {
    let ns = Netns::current().unwrap();
    let daemon = ns
        .spawn(Command::new("sh").args(["-c", "echo 'error: marker-4712' >&2; exec sleep 30"]))
        .unwrap();
    wait_for_line(daemon.log_path());
    Err("the test returns an error".to_owned())
}

#[test]
fn a_failing_test_shows_its_daemons_log_tail() {
    let dir = record_dir("failing");
    for (test, marker, failure) in [
        (
            "fails_with_a_chatty_daemon",
            "marker-4711",
            "the test fails after",
        ),
        (
            "fails_with_an_err_and_a_chatty_daemon",
            "marker-4712",
            "the test returns an error",
        ),
    ] {
        let out = run_self(&["--exact", test, "--ignored"], &dir);
        let text = common::output_text(&out);
        assert!(!out.status.success(), "{text}");
        assert!(text.contains(failure), "{text}");
        assert!(text.contains("netns-test: last lines of sh-"), "{text}");
        assert!(text.contains(marker), "{text}");
        // The path: <per-test files>/services.<test>/sh-<pid>.log
        let path = text
            .split_whitespace()
            .find(|w| w.contains(&format!("/services.{test}/sh-")))
            .unwrap_or_else(|| panic!("no log path in {text}"));
        let path = path.trim_start_matches('(').trim_end_matches("):");
        assert!(path.contains(test), "{path}");
        assert!(
            std::fs::read_to_string(path).unwrap().contains(marker),
            "{path}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
