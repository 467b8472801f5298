//! Links of a namespace: what `ip link` does, over rtnetlink (rtnetlink(7)):
//! veth pairs, bridges, up/down, MTU, and the list of links.
//!
//! A netlink socket acts on the namespace of the thread that opened it, so
//! each method runs on a fresh thread inside the namespace ([`Netns::run`])
//! and opens it there; the calling thread never changes namespace. Every
//! name is checked before anything is sent: refused input changes nothing.

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::request::{link_named, netns_label, with_route_socket};
use crate::error::{Error, Result};
use crate::kernel::netlink::RouteSocket;
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
}

/// The `RTM_GETLINK` dump, with each link's `IFLA_STATS64`.
pub(crate) fn dump_links(socket: &mut RouteSocket, op: &str) -> Result<Vec<Link>> {
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
}
