//! A namespace's state as compact text: links with counters, addresses,
//! routes, neighbours and sockets, read over rtnetlink and sock_diag. What a failing test
//! prints (README, "When a test fails"), and [`Netns::state`].

use std::collections::HashMap;
use std::fmt;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::addr::addr_from_message;
use super::link::dump_links;
use super::request::{netns_label, with_route_socket};
use crate::error::Result;
use crate::kernel::netlink::RouteSocket;
use crate::kernel::proc_fd::{self_and_children, socket_owners};
use crate::kernel::sock_diag::{DiagSocket, InetSocket};
use crate::{Addr, Link, Netns};

/// A network namespace's state at one instant, as compact text
/// ([`Display`](fmt::Display)): one line per link (state, MTU, kind,
/// addresses), then the main routing table, the neighbour table, the
/// namespace's TCP and UDP sockets, and its connection tracking entries
/// (a NAT router's translations, `network/conntrack.rs`).
///
/// ```text
/// link 1 lo UP mtu 65536 127.0.0.1/8 ::1/128 rx 4p/280B tx 4p/280B
/// link 2 eth0 UP mtu 1500 veth 192.0.2.1/24 rx 3p/258B tx 5p/426B
/// route 192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.1
/// neigh 192.0.2.2 dev eth0 lladdr 9a:3c:55:0e:21:7d REACHABLE
/// tcp LISTEN 127.0.0.1:4242 uid 0 inode 81234 pid 4711
/// tcp ESTAB 192.0.2.1:4242 -> 192.0.2.2:51000 uid 0 inode 81240 pid 4711
/// udp UNCONN 192.0.2.1:5353 uid 0 inode 81236 pid 4711
/// conntrack ipv4 2 udp 17 29 src=10.0.0.2 dst=203.0.113.20 sport=5000 dport=3478 src=203.0.113.20 dst=203.0.113.1 sport=3478 dport=16979 mark=0 zone=0 use=2
/// ```
///
/// Links carry their counters ([`LinkStats`](crate::LinkStats)); sockets
/// (sock_diag(7)) their owner's uid, their inode and, where the socket is
/// open in this process or one of its children, that process's pid (found
/// in `/proc/PID/fd`: this process's first, its children's only for
/// sockets it does not hold; at most 4096 fds read of each).
///
/// Made by [`Netns::state`]; a failing `#[netns_test]` prints its
/// namespace's (README, "When a test fails").
#[derive(Debug, Clone)]
pub struct State {
    lines: Vec<String>,
}

impl State {
    /// The lines of the text, in order.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// At most `max` lines of the text, each ending in `\n`, prefixed with
    /// `indent`; if lines were left out, the last says how many.
    pub(crate) fn bounded(&self, indent: &str, max: usize) -> (String, usize) {
        let mut out = String::new();
        let shown = if self.lines.len() > max {
            max.saturating_sub(1)
        } else {
            self.lines.len()
        };
        for line in &self.lines[..shown] {
            out.push_str(indent);
            out.push_str(line);
            out.push('\n');
        }
        let left = self.lines.len() - shown;
        if left > 0 {
            out.push_str(&format!("{indent}... {left} more lines\n"));
        }
        (out, shown + usize::from(left > 0))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl Netns {
    /// This namespace's links, addresses, routes (main table), neighbours,
    /// TCP and UDP sockets and conntrack entries, read now, as [`State`]: print it in your
    /// own assertion messages.
    ///
    /// Runs on a fresh thread inside this namespace; the caller never
    /// moves. Costs a few netlink dumps, and a look at this process's (and,
    /// for sockets it does not hold, its children's) fds for the sockets'
    /// pids: about 0.2 ms, and 1 ms more for each family (IPv4, IPv6) the
    /// namespace has TCP sockets of (a walk of the kernel's established
    /// hash, which every namespace shares).
    ///
    /// # Errors
    /// [`Error::Netlink`](crate::Error::Netlink) naming the dump that failed
    /// and the namespace.
    ///
    /// # References
    /// rtnetlink(7): `RTM_GETLINK`, `RTM_GETADDR`, `RTM_GETROUTE`,
    /// `RTM_GETNEIGH` dumps, as `ip -s link`, `ip address`, `ip route` and
    /// `ip neigh` make them; sock_diag(7), as `ss -tuanpe` does.
    pub fn state(&self) -> Result<State> {
        let label = netns_label(self);
        with_route_socket(self, |socket| read_state(socket, &label))
    }
}

/// The calling thread's namespace's [`State`] (a failing test's body
/// thread, before its namespace goes away).
pub(crate) fn state_here() -> Result<State> {
    read_state(&mut RouteSocket::open()?, "of this thread")
}

fn read_state(socket: &mut RouteSocket, label: &str) -> Result<State> {
    let links = dump_links(socket, &format!("RTM_GETLINK dump in netns {label}"))?;
    let names: HashMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
    let addrs: Vec<Addr> = socket
        .dump(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            &|| format!("RTM_GETADDR dump in netns {label}"),
        )?
        .iter()
        .filter_map(|reply| match reply {
            RouteNetlinkMessage::NewAddress(msg) => addr_from_message(msg, &names),
            _ => None,
        })
        .collect();
    let mut lines: Vec<String> = links.iter().map(|l| link_line(l, &addrs)).collect();
    let routes = socket.dump(
        RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        &|| format!("RTM_GETROUTE dump in netns {label}"),
    )?;
    lines.extend(routes.iter().filter_map(|reply| match reply {
        RouteNetlinkMessage::NewRoute(msg) => route_line(msg, &names),
        _ => None,
    }));
    let neighbours = socket.dump(
        RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
        &|| format!("RTM_GETNEIGH dump in netns {label}"),
    )?;
    lines.extend(neighbours.iter().filter_map(|reply| match reply {
        RouteNetlinkMessage::NewNeighbour(msg) => neighbour_line(msg, &names),
        _ => None,
    }));
    lines.extend(socket_lines());
    lines.extend(crate::network::conntrack::conntrack_lines());
    Ok(State { lines })
}

/// How many `/proc` entries the search for children looks at, and how
/// many fd links it reads in all, at most: what bounds a socket's pid.
const MAX_PROC_SCAN: usize = 4096;
const MAX_FD_LINKS: usize = 4096;

/// One line per TCP and UDP socket, listening first; a socket's pid is
/// found among this process and its children's fds (sock_diag tells the
/// uid and inode, not the process). A sock_diag failure is one line: the
/// rest of the state is still worth printing.
fn socket_lines() -> Vec<String> {
    let mut sockets = match DiagSocket::open().and_then(|mut s| s.sockets()) {
        Ok(sockets) => sockets,
        Err(e) => return vec![format!("sockets: {e}")],
    };
    if sockets.is_empty() {
        return Vec::new();
    }
    // Listening and unconnected sockets first, then connected ones.
    sockets.sort_by_key(|s| (!listening(s), !s.tcp, s.local.port()));
    // This process's fds first: children are found by reading every
    // process's stat (about 0.5 ms on an idle machine), only for sockets
    // this process does not hold.
    let me = std::process::id();
    let mut owners = socket_owners(&[me], MAX_FD_LINKS);
    if sockets
        .iter()
        .any(|s| !owners.contains_key(&u64::from(s.inode)))
    {
        let children: Vec<u32> = self_and_children(MAX_PROC_SCAN)
            .into_iter()
            .filter(|&pid| pid != me)
            .collect();
        for (inode, pid) in socket_owners(&children, MAX_FD_LINKS) {
            owners.entry(inode).or_insert(pid);
        }
    }
    sockets
        .iter()
        .map(|s| socket_line(s, owners.get(&u64::from(s.inode)).copied()))
        .collect()
}

fn listening(s: &InetSocket) -> bool {
    (s.tcp && s.state == TCP_LISTEN) || (!s.tcp && s.state == TCP_CLOSE)
}

/// `linux/tcp_states.h`.
const TCP_LISTEN: u8 = 10;
const TCP_CLOSE: u8 = 7;

/// `tcp LISTEN 127.0.0.1:4242 uid 0 inode 81234 pid 4711`, as `ss -tuanpe`
/// names states.
fn socket_line(s: &InetSocket, pid: Option<u32>) -> String {
    let state = match (s.tcp, s.state) {
        (false, TCP_CLOSE) => "UNCONN",
        (_, 1) => "ESTAB",
        (_, 2) => "SYN-SENT",
        (_, 3) => "SYN-RECV",
        (_, 4) => "FIN-WAIT-1",
        (_, 5) => "FIN-WAIT-2",
        (_, 6) => "TIME-WAIT",
        (_, TCP_CLOSE) => "CLOSE",
        (_, 8) => "CLOSE-WAIT",
        (_, 9) => "LAST-ACK",
        (_, TCP_LISTEN) => "LISTEN",
        (_, 11) => "CLOSING",
        _ => "?",
    };
    let mut line = format!("{} {state} {}", if s.tcp { "tcp" } else { "udp" }, s.local);
    if s.remote.port() != 0 {
        line.push_str(&format!(" -> {}", s.remote));
    }
    line.push_str(&format!(" uid {}", s.uid));
    // A TIME-WAIT socket has no inode: no process holds it.
    if s.inode != 0 {
        line.push_str(&format!(" inode {}", s.inode));
    }
    if let Some(pid) = pid {
        line.push_str(&format!(" pid {pid}"));
    }
    line
}

/// `link 2 eth0 UP mtu 1500 veth 192.0.2.1/24 rx 3p/258B tx 5p/426B`.
fn link_line(link: &Link, addrs: &[Addr]) -> String {
    let mut line = format!(
        "link {} {} {}",
        link.index,
        link.name,
        if link.up { "UP" } else { "DOWN" }
    );
    if let Some(mtu) = link.mtu {
        line.push_str(&format!(" mtu {mtu}"));
    }
    if let Some(kind) = &link.kind {
        line.push_str(&format!(" {kind}"));
    }
    for addr in addrs.iter().filter(|a| a.index == link.index) {
        line.push_str(&format!(" {}", addr.addr));
    }
    let st = &link.stats;
    line.push_str(&format!(
        " rx {}p/{}B tx {}p/{}B",
        st.rx_packets, st.rx_bytes, st.tx_packets, st.tx_bytes
    ));
    if st.rx_errors + st.tx_errors > 0 {
        line.push_str(&format!(" errors rx {} tx {}", st.rx_errors, st.tx_errors));
    }
    if st.rx_dropped + st.tx_dropped > 0 {
        line.push_str(&format!(
            " dropped rx {} tx {}",
            st.rx_dropped, st.tx_dropped
        ));
    }
    line
}

/// `route 198.51.100.0/24 via 192.0.2.1 dev eth0 proto boot`: the main
/// table only (the local table holds one route per address, which the link
/// lines show already).
fn route_line(msg: &RouteMessage, names: &HashMap<u32, String>) -> Option<String> {
    let mut table = u32::from(msg.header.table);
    let mut dest = None;
    let mut gateway = None;
    let mut dev = None;
    let mut src = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => dest = route_addr(a),
            RouteAttribute::Gateway(a) => gateway = route_addr(a),
            RouteAttribute::Via(RouteVia::Inet(a)) => gateway = Some(a.to_string()),
            RouteAttribute::Via(RouteVia::Inet6(a)) => gateway = Some(a.to_string()),
            RouteAttribute::Oif(i) => dev = Some(names.get(i).cloned().unwrap_or(i.to_string())),
            RouteAttribute::PrefSource(a) => src = route_addr(a),
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let mut line = String::from("route ");
    if msg.header.kind != RouteType::Unicast {
        line.push_str(&format!("{:?} ", msg.header.kind).to_lowercase());
    }
    match dest {
        Some(d) => line.push_str(&format!("{d}/{}", msg.header.destination_prefix_length)),
        None => line.push_str("default"),
    }
    if let Some(gw) = gateway {
        line.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = dev {
        line.push_str(&format!(" dev {dev}"));
    }
    if msg.header.protocol != RouteProtocol::Boot {
        line.push_str(&format!(" proto {}", msg.header.protocol));
    }
    if msg.header.scope == RouteScope::Link {
        line.push_str(" scope link");
    }
    if let Some(src) = src {
        line.push_str(&format!(" src {src}"));
    }
    Some(line)
}

fn route_addr(a: &RouteAddress) -> Option<String> {
    match a {
        RouteAddress::Inet(ip) => Some(ip.to_string()),
        RouteAddress::Inet6(ip) => Some(ip.to_string()),
        _ => None,
    }
}

/// `neigh 192.0.2.2 dev eth0 lladdr 9a:3c:55:0e:21:7d REACHABLE`.
fn neighbour_line(msg: &NeighbourMessage, names: &HashMap<u32, String>) -> Option<String> {
    let mut ip = None;
    let mut lladdr = None;
    for attr in &msg.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => ip = Some(a.to_string()),
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => ip = Some(a.to_string()),
            NeighbourAttribute::LinkLayerAddress(mac) => {
                lladdr = Some(
                    mac.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                )
            }
            _ => {}
        }
    }
    // IPv6 multicast and the like: `NOARP` entries `ip neigh` shows too,
    // but that say nothing about the test.
    if msg.header.state == NeighbourState::Noarp {
        return None;
    }
    let index = msg.header.ifindex;
    let mut line = format!(
        "neigh {} dev {}",
        ip?,
        names.get(&index).cloned().unwrap_or(index.to_string())
    );
    if let Some(mac) = lladdr {
        line.push_str(&format!(" lladdr {mac}"));
    }
    line.push_str(&format!(" {}", msg.header.state).to_uppercase());
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_states_are_cut_with_a_count() {
        let state = State {
            lines: (0..10).map(|i| format!("line {i}")).collect(),
        };
        let (text, n) = state.bounded("  ", 4);
        assert_eq!(text, "  line 0\n  line 1\n  line 2\n  ... 7 more lines\n");
        assert_eq!(n, 4);
        let (text, n) = state.bounded("", 10);
        assert_eq!(n, 10);
        assert!(!text.contains("more"));
    }

    #[test]
    fn sockets_print_as_ss_names_them() {
        let socket = |tcp, state, local: &str, remote: &str, inode| InetSocket {
            tcp,
            state,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            uid: 0,
            inode,
        };
        assert_eq!(
            socket_line(
                &socket(true, 10, "127.0.0.1:4242", "0.0.0.0:0", 7),
                Some(42)
            ),
            "tcp LISTEN 127.0.0.1:4242 uid 0 inode 7 pid 42"
        );
        assert_eq!(
            socket_line(
                &socket(true, 1, "[2001:db8::1]:80", "[2001:db8::2]:5000", 8),
                None
            ),
            "tcp ESTAB [2001:db8::1]:80 -> [2001:db8::2]:5000 uid 0 inode 8"
        );
        // TIME-WAIT: no inode, no process.
        assert_eq!(
            socket_line(&socket(true, 6, "192.0.2.1:80", "192.0.2.2:5000", 0), None),
            "tcp TIME-WAIT 192.0.2.1:80 -> 192.0.2.2:5000 uid 0"
        );
        let unconnected = socket(false, 7, "192.0.2.1:5353", "0.0.0.0:0", 9);
        assert!(listening(&unconnected));
        assert_eq!(
            socket_line(&unconnected, None),
            "udp UNCONN 192.0.2.1:5353 uid 0 inode 9"
        );
    }
}
