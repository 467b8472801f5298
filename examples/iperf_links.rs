//! Holds the three links `benches/iperf.sh` measures, in one named topology,
//! until its standard input closes: a wire link without faults (`wc` --
//! `ws`, 10.1.0.1 -- 10.1.0.2), a veth pair with the offloads a wire link
//! turns off turned off too (`oc` -- `os`, 10.2.0.x), and a plain veth pair
//! (`pc` -- `ps`, 10.3.0.x). The hosts are `nt-iperf-PID-HOST` in the run
//! directory (`ip netns exec` enters them). Run as root.

use std::os::fd::AsRawFd;

use netns_test::Topology;

fn main() {
    let net = Topology::new()
        .named("nt-iperf")
        .host("wc")
        .host("ws")
        .wire("wc", "eth0", "ws", "eth0")
        .addr("wc", "eth0", "10.1.0.1/24")
        .addr("ws", "eth0", "10.1.0.2/24")
        .host("oc")
        .host("os")
        .link("oc", "eth0", "os", "eth0")
        .addr("oc", "eth0", "10.2.0.1/24")
        .addr("os", "eth0", "10.2.0.2/24")
        .host("pc")
        .host("ps")
        .link("pc", "eth0", "ps", "eth0")
        .addr("pc", "eth0", "10.3.0.1/24")
        .addr("ps", "eth0", "10.3.0.2/24")
        .build()
        .expect("build the links: run as root");
    for host in ["oc", "os"] {
        net.host(host).run(|| offloads_off("eth0")).unwrap();
    }
    println!("ready");
    // Until the script closes our standard input.
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

/// `ethtool -K LINK tx off sg off tso off gso off gro off`, as a wire link
/// does to its ends (legacy `SIOCETHTOOL` set commands, linux/ethtool.h).
fn offloads_off(link: &str) {
    #[repr(C)]
    struct Value {
        cmd: u32,
        data: u32,
    }
    // ETHTOOL_STXCSUM, ETHTOOL_SSG, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO.
    const CMDS: [u32; 5] = [0x17, 0x19, 0x1f, 0x24, 0x2c];
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    for cmd in CMDS {
        let mut value = Value { cmd, data: 0 };
        // SAFETY: ifreq is plain data; zeroed is a valid value.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in ifr.ifr_name.iter_mut().zip(link.bytes()) {
            *dst = src as libc::c_char;
        }
        ifr.ifr_ifru.ifru_data = (&mut value as *mut Value).cast();
        // SAFETY: SIOCETHTOOL reads the ifreq and the command it points at.
        let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
        assert!(
            rc == 0,
            "SIOCETHTOOL {cmd:#x} on {link}: {}",
            std::io::Error::last_os_error()
        );
    }
}
