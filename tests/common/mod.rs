//! Helpers shared by the integration tests: real kernel state, read the way
//! a person would check it (inodes, mountinfo, `ip netns list`).
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

/// The nsfs inode of the calling thread's network namespace.
pub fn thread_netns_inode() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
}

/// The nsfs inode of the main thread's network namespace: the host's, since
/// nothing in this crate moves the main thread.
pub fn main_thread_netns_inode() -> u64 {
    std::fs::metadata("/proc/self/ns/net").unwrap().ino()
}

/// The inode of the namespace bind-mounted at `path`.
pub fn inode_of(path: impl AsRef<Path>) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

/// Runs `ip ARGS` and returns its output (status not checked).
///
/// Rootless, `ip netns add` is started from a namespace of the test's own
/// user namespace: it switches back to the namespace it started in once the
/// new one is mounted, which from the host's namespace fails (`setns: Operation
/// not permitted`, exit 1, the namespace made all the same).
pub fn ip(args: &[&str]) -> Output {
    let run = || {
        Command::new("ip")
            .args(args)
            .output()
            .expect("run ip (iproute2)")
    };
    if args.starts_with(&["netns", "add"]) && is_rootless() {
        return netns_test::Netns::new().unwrap().run(run).unwrap();
    }
    run()
}

/// A finished process's stdout, then its stderr, as text.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `setpriv ... BIN`: runs `bin` without privilege. From a root test run, as
/// user 65534; from a rootless one, where 65534 has no mapping in the test's
/// user namespace, as its uid 0 with every capability dropped.
pub fn unprivileged(bin: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("setpriv");
    if is_rootless() {
        cmd.args([
            "--inh-caps=-all",
            "--ambient-caps=-all",
            "--bounding-set=-all",
        ]);
    } else {
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    }
    cmd.arg(bin);
    cmd
}

/// Whether this test process runs in rootless mode (README, "Rootless").
pub fn is_rootless() -> bool {
    matches!(
        netns_test::Privilege::get(),
        netns_test::Privilege::Rootless
    )
}

/// The names `ip netns list` prints.
pub fn ip_netns_list() -> Vec<String> {
    let out = ip(&["netns", "list"]);
    assert!(out.status.success(), "ip netns list: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Mount points of nsfs mounts in this process's mount table.
pub fn nsfs_mounts() -> Vec<String> {
    mounts()
        .into_iter()
        .filter(|(_, fs)| fs == "nsfs")
        .map(|(p, _)| p)
        .collect()
}

/// (mount point, fs type) of every entry of `/proc/self/mountinfo`.
pub fn mounts() -> Vec<(String, String)> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-").unwrap();
            (fields[4].to_owned(), fields[sep + 1].to_owned())
        })
        .collect()
}

/// A namespace name unique to this test and process, so parallel runs of
/// the suite never collide.
pub fn unique(tag: &str) -> String {
    format!("nt-{tag}-{}", std::process::id())
}

/// Number of open fds, threads of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Removes `/run/netns/NAME` with `ip netns del` when dropped, so a failing
/// test leaves nothing behind.
pub struct IpNetnsDelOnDrop(pub String);

impl Drop for IpNetnsDelOnDrop {
    fn drop(&mut self) {
        if Path::new("/run/netns").join(&self.0).exists() {
            let _ = ip(&["netns", "del", &self.0]);
        }
    }
}

/// The start time (field 22 of `/proc/PID/stat`, counted after the last
/// `)`: the command name may hold spaces and parentheses) of process `pid`.
pub fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

/// `/run/netns-test/owners/NAME` (beside the run directory).
pub fn owner_record(name: &str) -> std::path::PathBuf {
    coordination_dir().join("owners").join(name)
}

/// `/run/netns-test`, beside the run directory.
pub fn coordination_dir() -> std::path::PathBuf {
    netns_test::RunDir::get()
        .path()
        .parent()
        .unwrap()
        .join("netns-test")
}

/// Writes NAME's owner record as netns-test writes it, naming process
/// `pid` started at `start`.
pub fn write_owner_record(name: &str, pid: u32, start: u64) {
    let path = owner_record(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!("netns-test-owner 1 pid={pid} start={start}\n"),
    )
    .unwrap();
}

/// client -- router -- server on two subnets, IPv4 and IPv6 (the README's
/// lab): 192.0.2.0/24 and 2001:db8:1::/64 between client and router,
/// 198.51.100.0/24 and 2001:db8:2::/64 between router and server.
pub fn client_router_server() -> netns_test::Topology {
    netns_test::Topology::new()
        .host("client")
        .router("router")
        .host("server")
        .link("client", "eth0", "router", "eth0")
        .link("router", "eth1", "server", "eth0")
        .addr("client", "eth0", "192.0.2.2/24")
        .addr("client", "eth0", "2001:db8:1::2/64")
        .addr("router", "eth0", "192.0.2.1/24")
        .addr("router", "eth0", "2001:db8:1::1/64")
        .addr("router", "eth1", "198.51.100.1/24")
        .addr("router", "eth1", "2001:db8:2::1/64")
        .addr("server", "eth0", "198.51.100.2/24")
        .addr("server", "eth0", "2001:db8:2::2/64")
        .route("client", "default", "192.0.2.1")
        .route("client", "default", "2001:db8:1::1")
        .route("server", "default", "198.51.100.1")
        .route("server", "default", "2001:db8:2::1")
}

/// The pid, as this process sees it, of the process that sees itself as
/// `ns_pid` in the PID namespace of process `program` (a spawned program
/// runs in a PID namespace of its own: a pid it prints is that
/// namespace's). From the `NSpid:` line of `/proc/PID/status` (proc(5)).
pub fn host_pid(program: u32, ns_pid: u32) -> Option<u32> {
    let ns = std::fs::read_link(format!("/proc/{program}/ns/pid")).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            if std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()? != ns {
                return None;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let nspid = status.lines().find(|l| l.starts_with("NSpid:"))?;
            let inner: u32 = nspid.split_whitespace().last()?.parse().ok()?;
            (inner == ns_pid).then_some(pid)
        })
}

/// Whether `program` is on `PATH` (`nft`: or where the crate finds it).
/// If not, the test that asks is skipped
/// (it says so and returns), unless `NETNS_TEST_REQUIRE=1`, which makes it
/// fail: CI that must not skip (`.ci/run` installs `package`).
pub fn have(program: &str, package: &str) -> bool {
    // PATH; for nft also the system directories an unprivileged user's
    // PATH often lacks, where the crate looks for it too.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let system: &[&str] = if program == "nft" {
        &["/usr/sbin", "/sbin", "/usr/local/sbin"]
    } else {
        &[]
    };
    let found = std::env::split_paths(&path)
        .chain(system.iter().map(Into::into))
        .any(|dir| dir.join(program).is_file());
    if !found {
        let msg = format!(
            "{program} is not installed: `apt-get install {package}` (.ci/run installs it)"
        );
        assert!(
            std::env::var("NETNS_TEST_REQUIRE").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("skipped: {msg}");
    }
    found
}

/// client (192.0.2.1/24) -- server (192.0.2.2/24) over one wire link,
/// `eth0` on both.
#[cfg(feature = "wire")]
pub fn wire_pair() -> netns_test::Network {
    netns_test::Topology::new()
        .host("client")
        .host("server")
        .wire("client", "eth0", "server", "eth0")
        .addr("client", "eth0", "192.0.2.1/24")
        .addr("server", "eth0", "192.0.2.2/24")
        .build()
        .unwrap()
}

/// One frame of a pcapng file: its interface's name (`host/link`), its
/// bytes and its packet comments.
#[cfg(feature = "capture")]
#[derive(Debug)]
pub struct Packet {
    pub iface: String,
    pub data: Vec<u8>,
    pub comments: Vec<String>,
}

/// The interface names and the frames, in order, of the pcapng file at
/// `path`.
#[cfg(feature = "capture")]
pub fn read_pcapng(path: &Path) -> (Vec<String>, Vec<Packet>) {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let mut reader = PcapNgReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let (mut names, mut packets) = (Vec::new(), Vec::new());
    while let Some(block) = reader.next_block() {
        match block.unwrap() {
            Block::InterfaceDescription(idb) => names.push(
                idb.options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .unwrap_or_default(),
            ),
            Block::EnhancedPacket(epb) => packets.push(Packet {
                iface: names[epb.interface_id as usize].clone(),
                comments: epb
                    .options
                    .iter()
                    .filter_map(|o| match o {
                        EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                        _ => None,
                    })
                    .collect(),
                data: epb.data.into_owned(),
            }),
            _ => {}
        }
    }
    (names, packets)
}
