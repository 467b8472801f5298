//! What every rtnetlink request of the network layer needs: a socket opened
//! inside the target namespace, a link's index, and how errors name the
//! namespace (rtnetlink(7)).

use std::net::IpAddr;

use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::AddressFamily;

use crate::error::Result;
use crate::kernel::netlink::RouteSocket;
use crate::Netns;

/// How errors name a namespace: its name, else `net:[INODE]`
/// ([`Netns::label`]).
pub(crate) fn netns_label(ns: &Netns) -> String {
    ns.label()
}

/// Runs `f` with a `NETLINK_ROUTE` socket opened on a fresh thread inside
/// `ns`.
pub(crate) fn with_route_socket<T: Send>(
    ns: &Netns,
    f: impl FnOnce(&mut RouteSocket) -> Result<T> + Send,
) -> Result<T> {
    ns.run_bare(|| f(&mut RouteSocket::open()?))?
}

/// The interface index of `name`, for a request that needs one; a failure
/// names the request `op` and the lookup.
pub(crate) fn link_index(socket: &mut RouteSocket, name: &str, op: &str) -> Result<u32> {
    let link = socket.link_by_name(name, &|| format!("{op}, looking up {name} (RTM_GETLINK)"))?;
    Ok(link.header.index)
}

/// `RTM_NEWLINK` or `RTM_SETLINK` for the link called `name` (index 0 and
/// `IFLA_IFNAME`: the kernel finds the link by name).
pub(crate) fn link_named(name: &str) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    msg
}

pub(crate) fn family(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}
