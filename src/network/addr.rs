//! Addresses of a namespace's links: what `ip address` does, over
//! rtnetlink (rtnetlink(7)).

use std::collections::HashMap;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::link::{dump_links, validate_link_name};
use super::request::{family, link_index, netns_label, with_route_socket};
use crate::error::Result;
use crate::Netns;

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

impl Netns {
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
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) (nothing changed); [`Error::Netlink`](crate::Error::Netlink) naming the
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

    /// The IPv4 and IPv6 addresses of this namespace's links, as
    /// `ip address show` lists them (an `RTM_GETADDR` dump, after an
    /// `RTM_GETLINK` dump for the links' names). It includes the kernel's
    /// own: `127.0.0.1/8` and `::1/128` on `lo` once it is up, and an IPv6
    /// link-local `fe80::/64` address on each link that is up with a carrier.
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::Netlink`](crate::Error::Netlink) naming the dump and the namespace.
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
}

pub(crate) fn addr_from_message(
    msg: &AddressMessage,
    names: &HashMap<u32, String>,
) -> Option<Addr> {
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
