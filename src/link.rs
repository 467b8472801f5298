//! Links, addresses, routes and sysctls of a namespace: what `ip link`,
//! `ip address`, `ip route` and `sysctl` do, over rtnetlink (rtnetlink(7))
//! and `/proc/sys/net` (proc(5)).
//!
//! A netlink socket and a `/proc/sys/net` file act on the namespace of the
//! thread that opened them, so each method runs on a fresh thread inside the
//! namespace ([`Netns::run`]) and opens them there; the calling thread never
//! changes namespace. Every name and key is checked before anything is sent:
//! refused input changes nothing.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::{Error, Result};
use crate::netlink::RouteSocket;
use crate::Netns;

/// `IFNAMSIZ - 1` (linux/if.h): the longest link name, in bytes.
pub const MAX_LINK_NAME_LEN: usize = 15;

/// Checks a link (network interface) name as the kernel's `dev_valid_name`
/// (net/core/dev.c) does: not empty, at most 15 bytes
/// ([`MAX_LINK_NAME_LEN`], `IFNAMSIZ - 1`), not `.` or `..`, and no `/`, `:`
/// or white space (the kernel's `isspace`, which includes byte `0xa0`).
///
/// Two more are refused: a NUL byte (C would cut the name there) and `%`,
/// which the kernel reads as a template (`ip link add eth%d` makes `eth0`,
/// `eth1`, ...), so the link would not get the name asked for.
///
/// # Errors
/// [`Error::InvalidArgument`] saying which rule the name breaks.
pub fn validate_link_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("a link name must not be empty")
    } else if name.len() > MAX_LINK_NAME_LEN {
        Some("a link name is at most 15 bytes (IFNAMSIZ - 1)")
    } else if name == "." || name == ".." {
        Some("a link name must not be `.` or `..`")
    } else if name.contains('/') {
        Some("a link name must not contain `/`")
    } else if name.contains(':') {
        Some("a link name must not contain `:` (the old alias syntax, eth0:1)")
    } else if name
        .bytes()
        .any(|b| matches!(b, b' ' | b'\t'..=b'\r' | 0xa0))
    {
        Some("a link name must not contain white space")
    } else if name.contains('\0') {
        Some("a link name must not contain a NUL byte")
    } else if name.contains('%') {
        Some("a link name must not contain `%` (the kernel's name template, eth%d)")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidArgument {
            what: "link name",
            value: name.to_owned(),
            reason,
        }),
    }
}

/// The path of a `net.*` sysctl key under `/proc/sys`, or why the key is
/// refused.
fn sysctl_path(key: &str) -> Result<PathBuf> {
    let reason = if key.contains('/') {
        Some("a sysctl key here is written with `.`, not `/` (net.ipv4.ip_forward)")
    } else if !key.starts_with("net.") {
        Some("a sysctl key here must start with `net.` (only /proc/sys/net is per namespace)")
    } else if key.contains('\0') {
        Some("a sysctl key must not contain a NUL byte")
    } else if key.split('.').any(str::is_empty) {
        Some("a sysctl key must not have an empty segment (`..`, or a `.` at the end)")
    } else {
        None
    };
    match reason {
        None => Ok(Path::new("/proc/sys").join(key.replace('.', "/"))),
        Some(reason) => Err(Error::InvalidArgument {
            what: "sysctl key",
            value: key.to_owned(),
            reason,
        }),
    }
}

/// A route for [`Netns::add_route`]: `ip route add DEST [via GW] [dev LINK]`
/// in the main table.
///
/// ```
/// use netns_test::Route;
///
/// let r = Route::to("198.51.100.0/24".parse().unwrap())
///     .via("192.0.2.1".parse().unwrap())
///     .dev("eth0");
/// assert_eq!(r.dest.to_string(), "198.51.100.0/24");
/// assert_eq!(Route::default_via("2001:db8::1".parse().unwrap()).dest.to_string(), "::/0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The destination prefix (`RTA_DST` and `rtm_dst_len`); `0.0.0.0/0` or
    /// `::/0` is the default route. Host bits must be zero: the kernel refuses
    /// `192.0.2.1/24` with `EINVAL` ("Invalid prefix for given prefix length").
    pub dest: IpNet,
    /// The gateway (`RTA_GATEWAY`), or `None` for a route straight onto the
    /// link. An IPv6 gateway for an IPv4 destination is sent as `RTA_VIA`,
    /// as `ip route add ... via inet6 GW` does (RFC 5549).
    pub via: Option<IpAddr>,
    /// The outgoing link (`RTA_OIF`), or `None` to let the kernel find it
    /// from the gateway.
    pub dev: Option<String>,
}

impl Route {
    /// A route to `dest`; add a gateway with [`Route::via`] and/or a link
    /// with [`Route::dev`].
    pub fn to(dest: IpNet) -> Route {
        Route {
            dest,
            via: None,
            dev: None,
        }
    }

    /// The IPv4 default route, `0.0.0.0/0` (`ip route add default`).
    pub fn default_v4() -> Route {
        Route::to(IpNet::new(Ipv4Addr::UNSPECIFIED.into(), 0).expect("/0 is a valid prefix"))
    }

    /// The IPv6 default route, `::/0` (`ip -6 route add default`).
    pub fn default_v6() -> Route {
        Route::to(IpNet::new(Ipv6Addr::UNSPECIFIED.into(), 0).expect("/0 is a valid prefix"))
    }

    /// The default route of `gw`'s family via `gw`
    /// (`ip route add default via GW`).
    pub fn default_via(gw: IpAddr) -> Route {
        match gw {
            IpAddr::V4(_) => Route::default_v4(),
            IpAddr::V6(_) => Route::default_v6(),
        }
        .via(gw)
    }

    /// Sends the traffic through the gateway `gw` (`via GW`).
    pub fn via(mut self, gw: IpAddr) -> Route {
        self.via = Some(gw);
        self
    }

    /// Sends the traffic out of `link` (`dev LINK`).
    pub fn dev(mut self, link: &str) -> Route {
        self.dev = Some(link.to_owned());
        self
    }
}

impl fmt::Display for Route {
    /// As `ip route` prints it: `198.51.100.0/24 via 192.0.2.1 dev eth0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dest.prefix_len() == 0 {
            write!(f, "default")?;
        } else {
            write!(f, "{}", self.dest)?;
        }
        if let Some(gw) = self.via {
            write!(f, " via {gw}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        Ok(())
    }
}

/// A link (network interface) of a namespace, as `ip -s link show` lists it.
///
/// Two `Link`s are equal when they describe the same link in the same state
/// (index, name, up, MTU, kind, master); their [`stats`](Link::stats) are
/// not compared, since traffic changes them at any time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Link {
    /// The interface index (`ifi_index`), unique within the namespace only.
    pub index: u32,
    /// The name (`IFLA_IFNAME`).
    pub name: String,
    /// Administratively up (`IFF_UP`): what [`Netns::set_up`] sets. Whether
    /// it carries traffic also needs a carrier (a veth's peer up as well).
    pub up: bool,
    /// The MTU in bytes (`IFLA_MTU`).
    pub mtu: Option<u32>,
    /// The link type (`IFLA_INFO_KIND`): `"veth"`, `"bridge"`, ...; `None`
    /// for links without one, such as `lo`.
    pub kind: Option<String>,
    /// The index of the bridge (or other master) the link is attached to
    /// (`IFLA_MASTER`).
    pub master: Option<u32>,
    /// The link's counters when it was listed (`IFLA_STATS64`).
    pub stats: LinkStats,
}

impl PartialEq for Link {
    fn eq(&self, other: &Link) -> bool {
        (
            self.index,
            &self.name,
            self.up,
            self.mtu,
            &self.kind,
            self.master,
        ) == (
            other.index,
            &other.name,
            other.up,
            other.mtu,
            &other.kind,
            other.master,
        )
    }
}

impl Eq for Link {}

/// A link's traffic counters, as `ip -s link show` prints them: the kernel's
/// 64-bit statistics (`struct rtnl_link_stats64`, `IFLA_STATS64` in an
/// `RTM_GETLINK` reply; rtnetlink(7)), counted since the link was created.
/// `rx` is what the link received, `tx` what it sent. For a veth, what one
/// end sends the other receives.
///
/// To check that traffic crossed a router, compare its links' counters
/// before and after:
///
/// ```no_run
/// # let router = netns_test::Netns::new()?;
/// let eth0 = |ns: &netns_test::Netns| {
///     ns.links().unwrap().into_iter().find(|l| l.name == "eth0").unwrap().stats
/// };
/// let before = eth0(&router);
/// // ... the client sends 1000 bytes through the router ...
/// assert!(eth0(&router).rx_bytes >= before.rx_bytes + 1000);
/// # Ok::<(), netns_test::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bad packets received.
    pub rx_errors: u64,
    /// Packets that could not be sent.
    pub tx_errors: u64,
    /// Packets received but dropped (no buffer space, an unknown protocol...).
    pub rx_dropped: u64,
    /// Packets dropped on the way out (a full queue, a down peer...).
    pub tx_dropped: u64,
}

impl Link {
    fn from_message(msg: &LinkMessage) -> Link {
        let mut link = Link {
            index: msg.header.index,
            name: String::new(),
            up: msg.header.flags.contains(LinkFlags::Up),
            mtu: None,
            kind: None,
            master: None,
            stats: LinkStats::default(),
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(name) => link.name.clone_from(name),
                LinkAttribute::Mtu(mtu) => link.mtu = Some(*mtu),
                LinkAttribute::Controller(index) => link.master = Some(*index),
                LinkAttribute::Stats64(stats) => {
                    link.stats = LinkStats {
                        rx_bytes: stats.rx_bytes,
                        tx_bytes: stats.tx_bytes,
                        rx_packets: stats.rx_packets,
                        tx_packets: stats.tx_packets,
                        rx_errors: stats.rx_errors,
                        tx_errors: stats.tx_errors,
                        rx_dropped: stats.rx_dropped,
                        tx_dropped: stats.tx_dropped,
                    }
                }
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(kind) = info {
                            link.kind = Some(kind.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }
}

/// An IP address on a link, as `ip address show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Addr {
    /// The link's name.
    pub link: String,
    /// The link's interface index (`ifa_index`).
    pub index: u32,
    /// The address and its prefix length (`IFA_LOCAL`, or `IFA_ADDRESS`
    /// where there is no `IFA_LOCAL`, as for IPv6; `ifa_prefixlen`):
    /// `192.0.2.1/24`.
    pub addr: IpNet,
}

/// How errors name a namespace: its name, else `net:[INODE]` as
/// `readlink /proc/PID/ns/net` prints it.
fn netns_label(ns: &Netns) -> String {
    match ns.name() {
        Some(name) => name.to_owned(),
        None => format!("net:[{}]", ns.inode()),
    }
}

/// Runs `f` with a `NETLINK_ROUTE` socket opened on a fresh thread inside
/// `ns`.
fn with_route_socket<T: Send>(
    ns: &Netns,
    f: impl FnOnce(&mut RouteSocket) -> Result<T> + Send,
) -> Result<T> {
    ns.run(|| f(&mut RouteSocket::open()?))?
}

/// The interface index of `name`, for a request that needs one; a failure
/// names the request `op` and the lookup.
fn link_index(socket: &mut RouteSocket, name: &str, op: &str) -> Result<u32> {
    let link = socket.link_by_name(name, &|| format!("{op}, looking up {name} (RTM_GETLINK)"))?;
    Ok(link.header.index)
}

/// `RTM_NEWLINK` or `RTM_SETLINK` for the link called `name` (index 0 and
/// `IFLA_IFNAME`: the kernel finds the link by name).
fn link_named(name: &str) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    msg
}

fn family(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

impl Netns {
    /// Creates a veth pair (veth(4)): `name` in this namespace and its peer
    /// `peer_name` directly in `peer`'s, as
    /// `ip link add NAME type veth peer name PEER netns N` does
    /// (`RTM_NEWLINK` with `NLM_F_CREATE|NLM_F_EXCL`, the peer's `ifinfomsg`
    /// in `VETH_INFO_PEER` with `IFLA_NET_NS_FD`).
    ///
    /// The peer never exists in this namespace, so every namespace can have
    /// its own `eth0` and parallel tests never collide on a name. `peer` may
    /// be `self`. Both ends are left DOWN: bring them up with
    /// [`Netns::set_up`] (a veth carries traffic once both ends are up).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    /// The links go away with the namespaces (destroying one end destroys
    /// the other).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad name (nothing created, see
    /// [`validate_link_name`]); [`Error::Netlink`] naming the request and the
    /// namespaces, with `EEXIST` if `name` is taken here or `peer_name` in
    /// `peer`, `EPERM` without `CAP_NET_ADMIN`.
    ///
    /// # References
    /// veth(4), ip-link(8), rtnetlink(7); drivers/net/veth.c, `veth_newlink`.
    #[doc(alias = "ip link add")]
    #[doc(alias = "veth")]
    pub fn add_veth(&self, name: &str, peer: &Netns, peer_name: &str) -> Result<()> {
        validate_link_name(name)?;
        validate_link_name(peer_name)?;
        let op = format!(
            "RTM_NEWLINK {name} type veth peer name {peer_name} netns {} in netns {}",
            netns_label(peer),
            netns_label(self)
        );
        // The fd is the caller's; fds are shared by all threads of the
        // process, and `peer` outlives the scoped thread that sends it.
        let peer_fd = peer.as_fd().as_raw_fd();
        let mut peer_msg = link_named(peer_name);
        peer_msg.attributes.push(LinkAttribute::NetNsFd(peer_fd));
        let mut msg = link_named(name);
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        with_route_socket(self, |socket| {
            socket.request_ack_with(
                RouteNetlinkMessage::NewLink(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &|| op.clone(),
            )
        })
    }

    /// Creates a bridge `name` in this namespace, left DOWN, as
    /// `ip link add NAME type bridge` does (`RTM_NEWLINK`,
    /// `IFLA_INFO_KIND` `bridge`). Attach links with [`Netns::set_master`].
    ///
    /// The kernel's defaults apply: STP off, so ports forward as soon as they
    /// and the bridge are up.
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (nothing created); [`Error::Netlink`] naming the
    /// request and the namespace (`EEXIST` if the name is taken).
    ///
    /// # References
    /// ip-link(8), bridge(8), rtnetlink(7).
    #[doc(alias = "ip link add")]
    pub fn add_bridge(&self, name: &str) -> Result<()> {
        validate_link_name(name)?;
        let op = format!(
            "RTM_NEWLINK {name} type bridge in netns {}",
            netns_label(self)
        );
        let mut msg = link_named(name);
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        with_route_socket(self, |socket| {
            socket.request_ack_with(
                RouteNetlinkMessage::NewLink(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &|| op.clone(),
            )
        })
    }

    /// Attaches `link` to the bridge `master`, as
    /// `ip link set dev LINK master MASTER` does (`RTM_SETLINK` with
    /// `IFLA_MASTER`, the bridge's index).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (nothing changed); [`Error::Netlink`] naming the
    /// request and the namespace: `ENODEV` if either link is missing,
    /// `EOPNOTSUPP` or `EINVAL` if `master` cannot take ports (it is not a
    /// bridge, or it is `link` itself).
    ///
    /// # References
    /// ip-link(8), bridge(8), rtnetlink(7).
    pub fn set_master(&self, link: &str, master: &str) -> Result<()> {
        validate_link_name(link)?;
        validate_link_name(master)?;
        let op = format!(
            "RTM_SETLINK {link} master {master} in netns {}",
            netns_label(self)
        );
        with_route_socket(self, |socket| {
            let index = link_index(socket, master, &op)?;
            let mut msg = link_named(link);
            msg.attributes.push(LinkAttribute::Controller(index));
            socket.request_ack(RouteNetlinkMessage::SetLink(msg), &|| op.clone())
        })
    }

    /// Brings `link` up (sets `IFF_UP`), as `ip link set dev LINK up` does
    /// (`RTM_SETLINK`).
    ///
    /// Then asks for the link (`RTM_GETLINK`), which on Linux 6.8 and later
    /// makes the kernel apply the link's pending carrier and operational
    /// state at once (`linkwatch_sync_dev`) instead of up to a second later:
    /// IPv6 waits for that state, so without it the first IPv6 connection
    /// over an `eth0`-to-`eth0` veth pair took one to two seconds. Addresses
    /// added with [`Netns::add_addr`] are usable at once; the kernel's own
    /// IPv6 link-local address (`fe80::/64`) is tentative for a second or
    /// two (duplicate address detection), which delays a router's first
    /// forwarded IPv6 packet: see [`Netns::set_forwarding`].
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (nothing changed); [`Error::Netlink`] naming the
    /// request and the namespace, `ENODEV` if there is no such link.
    ///
    /// # References
    /// ip-link(8), rtnetlink(7), netdevice(7) (`IFF_UP`).
    #[doc(alias = "ip link set")]
    pub fn set_up(&self, link: &str) -> Result<()> {
        self.set_flag_up(link, true)
    }

    /// Takes `link` down (clears `IFF_UP`), as `ip link set dev LINK down`
    /// does (`RTM_SETLINK`). The kernel then removes the link's routes and,
    /// by default (`net.ipv6.conf.*.keep_addr_on_down = 0`), its IPv6
    /// addresses; IPv4 addresses stay. A veth's peer loses its carrier.
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// As [`Netns::set_up`].
    #[doc(alias = "ip link set")]
    pub fn set_down(&self, link: &str) -> Result<()> {
        self.set_flag_up(link, false)
    }

    fn set_flag_up(&self, link: &str, up: bool) -> Result<()> {
        validate_link_name(link)?;
        let state = if up { "up" } else { "down" };
        let op = format!("RTM_SETLINK {link} {state} in netns {}", netns_label(self));
        let mut msg = link_named(link);
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        msg.header.change_mask = LinkFlags::Up;
        with_route_socket(self, |socket| {
            socket.request_ack(RouteNetlinkMessage::SetLink(msg), &|| op.clone())?;
            // Carrier, operstate and the transmit queue follow in the
            // kernel's link-watch work, which runs at most once a second
            // for events it does not deem urgent (a veth whose peer has the
            // same ifindex in its own namespace: eth0 to eth0 between fresh
            // namespaces). Until it runs, IPv6 sees the link as not ready
            // (`addrconf_link_ready`). RTM_GETLINK of one link runs its
            // pending work at once (`linkwatch_sync_dev` in `rtnl_getlink`,
            // Linux 6.8+; older kernels just answer).
            socket.link_by_name(link, &|| format!("{op}, then RTM_GETLINK {link}"))?;
            Ok(())
        })
    }

    /// Sets the MTU of `link` to `mtu` bytes (the IP packet size the link
    /// carries, without the Ethernet header), as
    /// `ip link set dev LINK mtu MTU` does (`RTM_SETLINK` with `IFLA_MTU`).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (nothing changed); [`Error::Netlink`] naming the
    /// request and the namespace: `ENODEV` if there is no such link,
    /// `EINVAL` if `mtu` is outside the link's range (68 to 65535 for a
    /// veth; IPv6 needs at least 1280, or it is disabled on the link).
    ///
    /// # References
    /// ip-link(8), rtnetlink(7), netdevice(7) (`SIOCSIFMTU`).
    #[doc(alias = "ip link set")]
    pub fn set_mtu(&self, link: &str, mtu: u32) -> Result<()> {
        validate_link_name(link)?;
        let op = format!(
            "RTM_SETLINK {link} mtu {mtu} in netns {}",
            netns_label(self)
        );
        let mut msg = link_named(link);
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        with_route_socket(self, |socket| {
            socket.request_ack(RouteNetlinkMessage::SetLink(msg), &|| op.clone())
        })
    }

    /// Adds the address `addr` (address and prefix length, `192.0.2.1/24`)
    /// to `link`, as `ip address add ADDR dev LINK` does (`RTM_NEWADDR` with
    /// `IFA_LOCAL` and `IFA_ADDRESS`, `NLM_F_CREATE|NLM_F_EXCL`). The kernel
    /// adds the prefix route (`192.0.2.0/24 dev LINK`) while the link is up.
    ///
    /// IPv6 addresses are added with `IFA_F_NODAD`, as with
    /// `ip address add ... nodad`: no duplicate address detection, so no
    /// tentative state, and a socket can bind the address at once (not one
    /// to two seconds later). No IPv4 broadcast address is set (as without
    /// `brd +`).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (nothing changed); [`Error::Netlink`] naming the
    /// request, the link and the namespace: `ENODEV` if there is no such
    /// link, `EEXIST` if the address is there already.
    ///
    /// # References
    /// ip-address(8), rtnetlink(7); net/ipv6/addrconf.c (`IFA_F_NODAD`).
    #[doc(alias = "ip address add")]
    pub fn add_addr(&self, link: &str, addr: IpNet) -> Result<()> {
        validate_link_name(link)?;
        let op = format!(
            "RTM_NEWADDR {addr} on {link} in netns {}",
            netns_label(self)
        );
        let ip = addr.addr();
        let mut msg = AddressMessage::default();
        msg.header.family = family(ip);
        msg.header.prefix_len = addr.prefix_len();
        msg.header.scope = AddressScope::Universe;
        if ip.is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
        }
        msg.attributes = vec![AddressAttribute::Local(ip), AddressAttribute::Address(ip)];
        with_route_socket(self, |socket| {
            msg.header.index = link_index(socket, link, &op)?;
            socket.request_ack_with(
                RouteNetlinkMessage::NewAddress(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &|| op.clone(),
            )
        })
    }

    /// Adds `route` to the main table, as
    /// `ip route add DEST [via GW] [dev LINK]` does (`RTM_NEWROUTE`,
    /// `NLM_F_CREATE|NLM_F_EXCL`, protocol `boot`, scope `link` for a route
    /// without gateway, else `global`).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad `dev` (nothing changed);
    /// [`Error::Netlink`] naming the request and the namespace: `ENODEV` if
    /// the link is missing, `ENETUNREACH` if the gateway is on no connected
    /// network (add the address first, and bring the link up), `EEXIST` if
    /// the route is there, `EINVAL` for host bits in the destination or an
    /// IPv4 gateway for an IPv6 destination.
    ///
    /// # References
    /// ip-route(8), rtnetlink(7).
    #[doc(alias = "ip route add")]
    pub fn add_route(&self, route: &Route) -> Result<()> {
        if let Some(dev) = &route.dev {
            validate_link_name(dev)?;
        }
        let op = format!("RTM_NEWROUTE {route} in netns {}", netns_label(self));
        let dest = route.dest.addr();
        let mut msg = RouteMessage::default();
        msg.header.address_family = family(dest);
        msg.header.destination_prefix_length = route.dest.prefix_len();
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        // iproute2's `ip route add` defaults (ip/iproute.c, `iproute_modify`).
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.kind = RouteType::Unicast;
        msg.header.scope = match route.via {
            Some(_) => RouteScope::Universe,
            None => RouteScope::Link,
        };
        if route.dest.prefix_len() > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(dest)));
        }
        match route.via {
            Some(gw) if gw.is_ipv4() == dest.is_ipv4() => msg
                .attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw))),
            // RTA_GATEWAY of another family would be read as this one's
            // (the kernel takes the first 4 bytes of an IPv6 gateway).
            Some(IpAddr::V6(gw)) => msg
                .attributes
                .push(RouteAttribute::Via(RouteVia::Inet6(gw))),
            Some(IpAddr::V4(gw)) => msg.attributes.push(RouteAttribute::Via(RouteVia::Inet(gw))),
            None => {}
        }
        with_route_socket(self, |socket| {
            if let Some(dev) = &route.dev {
                let index = link_index(socket, dev, &op)?;
                msg.attributes.push(RouteAttribute::Oif(index));
            }
            socket.request_ack_with(
                RouteNetlinkMessage::NewRoute(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &|| op.clone(),
            )
        })
    }

    /// The links of this namespace, by index, as `ip -s link show` lists them
    /// (an `RTM_GETLINK` dump), with their counters ([`Link::stats`]).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::Netlink`] naming the dump and the namespace.
    ///
    /// # References
    /// ip-link(8), rtnetlink(7).
    #[doc(alias = "ip link show")]
    pub fn links(&self) -> Result<Vec<Link>> {
        let op = format!("RTM_GETLINK dump in netns {}", netns_label(self));
        with_route_socket(self, |socket| dump_links(socket, &op))
    }

    /// The IPv4 and IPv6 addresses of this namespace's links, as
    /// `ip address show` lists them (an `RTM_GETADDR` dump, after an
    /// `RTM_GETLINK` dump for the links' names). It includes the kernel's
    /// own: `127.0.0.1/8` and `::1/128` on `lo` once it is up, and an IPv6
    /// link-local `fe80::/64` address on each link that is up with a carrier.
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::Netlink`] naming the dump and the namespace.
    ///
    /// # References
    /// ip-address(8), rtnetlink(7).
    #[doc(alias = "ip address show")]
    pub fn addrs(&self) -> Result<Vec<Addr>> {
        let label = netns_label(self);
        let link_op = format!("RTM_GETLINK dump in netns {label}");
        let op = format!("RTM_GETADDR dump in netns {label}");
        with_route_socket(self, |socket| {
            let names: HashMap<u32, String> = dump_links(socket, &link_op)?
                .into_iter()
                .map(|l| (l.index, l.name))
                .collect();
            let replies = socket.dump(
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
                &|| op.clone(),
            )?;
            Ok(replies
                .iter()
                .filter_map(|reply| match reply {
                    RouteNetlinkMessage::NewAddress(msg) => addr_from_message(msg, &names),
                    _ => None,
                })
                .collect())
        })
    }

    /// Reads the sysctl `key` of this namespace, as `sysctl KEY` does inside
    /// it: `net.ipv4.ip_forward` is `/proc/sys/net/ipv4/ip_forward`, read on a
    /// fresh thread inside the namespace (a `/proc/sys/net` file shows the
    /// namespace of the thread that opens it). The trailing newline is
    /// removed: `"0"`, or `"4096\t131072\t6291456"` for `net.ipv4.tcp_rmem`.
    ///
    /// Only `net.*` keys are per namespace; others are refused. A key uses
    /// `.` as separator, so a link whose name has a `.` (a VLAN `eth0.10`)
    /// cannot be named.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key that is not `net.` followed by
    /// non-empty segments without `/`; [`Error::Sys`] naming `open` or `read`
    /// and the `/proc/sys` path (`ENOENT` for a key the kernel does not have).
    ///
    /// # References
    /// proc(5) (`/proc/sys/net`), sysctl(8).
    pub fn sysctl(&self, key: &str) -> Result<String> {
        let path = sysctl_path(key)?;
        self.run(|| read_sysctl(&path))?
    }

    /// Writes `value` to the sysctl `key` of this namespace, as
    /// `sysctl -w KEY=VALUE` does inside it: the write goes to
    /// `/proc/sys/net/...` opened on a fresh thread inside the namespace, so
    /// the host's value and every other namespace's stay as they were.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad key (nothing written); [`Error::Sys`]
    /// naming `open` or `write` and the path: `ENOENT` for an unknown key,
    /// `EINVAL` for a value the kernel refuses, `EPERM`/`EACCES` without
    /// `CAP_NET_ADMIN` or for a read-only key.
    ///
    /// # References
    /// proc(5), sysctl(8), Documentation/networking/ip-sysctl.rst.
    #[doc(alias = "sysctl -w")]
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = sysctl_path(key)?;
        self.run(|| write_sysctl(&path, value))?
    }

    /// Makes this namespace a router, or stops it being one: IPv4 and IPv6
    /// forwarding on (`net.ipv4.ip_forward=1`,
    /// `net.ipv6.conf.all.forwarding=1`) or off (`0`). Both also apply to
    /// the namespace's existing and future links. Off, a packet for another
    /// host is dropped without an ICMP error, so a connection through this
    /// namespace times out.
    ///
    /// An IPv6 router asks for a forwarded packet's next hop (neighbour
    /// solicitation) from its link-local address, which is tentative for a
    /// second or two after the link comes up; until then the first
    /// forwarded packets wait. To skip that, turn duplicate address
    /// detection off before the links exist:
    /// `set_sysctl("net.ipv6.conf.all.accept_dad", "0")` and the same for
    /// `net.ipv6.conf.default.accept_dad` (net/ipv6/ndisc.c,
    /// `ndisc_send_ns`).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// On a kernel booted with `ipv6.disable=1` there is no
    /// `/proc/sys/net/ipv6`: only IPv4 forwarding is set, and that is not an
    /// error.
    ///
    /// # Errors
    /// [`Error::Sys`] naming the `/proc/sys` path and the errno; the IPv4
    /// setting is made first.
    ///
    /// # References
    /// proc(5), Documentation/networking/ip-sysctl.rst (`ip_forward`,
    /// `conf/all/forwarding`).
    pub fn set_forwarding(&self, on: bool) -> Result<()> {
        let value = if on { "1" } else { "0" };
        let v4 = sysctl_path("net.ipv4.ip_forward")?;
        let v6 = sysctl_path("net.ipv6.conf.all.forwarding")?;
        self.run(|| {
            write_sysctl(&v4, value)?;
            match write_sysctl(&v6, value) {
                Err(e) if e.errno() == Some(rustix::io::Errno::NOENT) => Ok(()),
                other => other,
            }
        })?
    }
}

/// The `RTM_GETLINK` dump, with each link's `IFLA_STATS64`.
fn dump_links(socket: &mut RouteSocket, op: &str) -> Result<Vec<Link>> {
    let msg = LinkMessage::default();
    let replies = socket.dump(RouteNetlinkMessage::GetLink(msg), &|| op.to_owned())?;
    Ok(replies
        .iter()
        .filter_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(msg) => Some(Link::from_message(msg)),
            _ => None,
        })
        .collect())
}

fn addr_from_message(msg: &AddressMessage, names: &HashMap<u32, String>) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    let addr = IpNet::new(ip, msg.header.prefix_len).ok()?;
    let index = msg.header.index;
    let link = names.get(&index).cloned().or(label).unwrap_or_default();
    Some(Addr { link, index, addr })
}

fn read_sysctl(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("open", path, &e))?;
    let mut value = String::new();
    file.read_to_string(&mut value)
        .map_err(|e| Error::io("read", path, &e))?;
    if value.ends_with('\n') {
        value.pop();
    }
    Ok(value)
}

fn write_sysctl(path: &Path, value: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open", path, &e))?;
    // One write: a /proc/sys integer file ignores writes past offset 0
    // (`kernel.sysctl_writes_strict`).
    file.write_all(value.as_bytes())
        .map_err(|e| Error::io("write", path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_follow_dev_valid_name() {
        for ok in ["eth0", "a", "veth-a_b.1", "123456789012345", "é"] {
            validate_link_name(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:1",
            "a b",
            "a\tb",
            "a\nb",
            "1234567890123456",
            "eth%d",
            "a\0b",
            "\u{e0}", // UTF-8 c3 a0: 0xa0 is a space to the kernel's isspace
        ] {
            let err = validate_link_name(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn sysctl_keys_map_to_proc_sys_net() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_forward")
        );
        for bad in [
            "kernel.hostname",
            "net",
            "net.",
            "net..ipv4",
            "net.ipv4.",
            "net/../x",
            "net.ipv4/../../kernel",
            ".net.ipv4",
        ] {
            assert!(sysctl_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn routes_print_as_ip_route_does() {
        let r = Route::to("198.51.100.0/24".parse().unwrap())
            .via("192.0.2.1".parse().unwrap())
            .dev("eth0");
        assert_eq!(r.to_string(), "198.51.100.0/24 via 192.0.2.1 dev eth0");
        assert_eq!(
            Route::default_via("2001:db8::1".parse().unwrap()).to_string(),
            "default via 2001:db8::1"
        );
        assert_eq!(Route::default_v4().dest.to_string(), "0.0.0.0/0");
    }
}
