//! The cost of a daemon in a test: `Netns::spawn` + readiness + stop of a
//! trivial server (socat listening on TCP), next to what a test does by hand
//! from its own thread: `Command::spawn` + kill (no readiness at all), and
//! `Command::spawn` + connect until it answers + kill.
//!
//! The benchmark thread first enters a namespace of its own, as a test
//! thread is, so that every variant starts its server in the same place.
//! Run as root, with socat installed: `cargo bench --bench services`.

use std::net::TcpStream;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

use netns_test::Netns;

static NS: OnceLock<Netns> = OnceLock::new();

fn main() {
    let ns = NS.get_or_init(|| Netns::new().expect("Netns::new: run the benchmark as root"));
    // This thread is the benchmark's own: moved for good, like a test thread.
    ns.enter().unwrap();
    divan::main();
}

const PORT: &str = "7100";

fn socat() -> Command {
    let mut cmd = Command::new("socat");
    cmd.args([
        &format!("TCP-LISTEN:{PORT},reuseaddr,fork"),
        "OPEN:/dev/null",
    ]);
    cmd
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `Command::spawn` + kill from the test's thread: no readiness, no logs, no
/// guard (the floor).
#[divan::bench]
fn command_spawn_kill() {
    kill(socat().spawn().expect("socat: apt-get install socat"));
}

/// `Command::spawn`, connect until the server answers, kill: readiness by
/// hand.
#[divan::bench]
fn command_spawn_connect_retry_kill() {
    let child = socat().spawn().unwrap();
    let addr = format!("127.0.0.1:{PORT}").parse().unwrap();
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        std::thread::sleep(Duration::from_micros(500));
    }
    kill(child);
}

/// `Netns::spawn` (spawner thread, setns before exec, log file), wait until
/// the socket table shows the listener (sock_diag), stop (SIGTERM to the
/// group, reaped).
#[divan::bench]
fn netns_spawn_ready_stop() {
    let ns = NS.get().unwrap();
    let server = ns.spawn(&mut socat()).unwrap();
    server
        .wait_tcp(PORT.parse().unwrap(), Duration::from_secs(5))
        .unwrap();
    server.stop().unwrap();
}

/// `Netns::spawn` + `Process::kill`: the spawn path alone, no readiness.
#[divan::bench]
fn netns_spawn_kill() {
    let ns = NS.get().unwrap();
    ns.spawn(&mut socat()).unwrap().kill().unwrap();
}

/// `Command::spawn` with an empty `pre_exec` + kill: std then forks instead
/// of using `posix_spawn`, as it must for `Netns::spawn`'s steps before
/// `exec`. The share of the difference that is `fork` itself.
#[divan::bench]
fn command_spawn_kill_with_pre_exec(bencher: divan::Bencher) {
    use std::os::unix::process::CommandExt;
    bencher
        .with_inputs(|| {
            let mut cmd = socat();
            // SAFETY: an empty closure: nothing runs between fork and exec.
            unsafe { cmd.pre_exec(|| Ok(())) };
            cmd
        })
        .bench_local_values(|mut cmd| kill(cmd.spawn().unwrap()));
}
