//! Bridges of a namespace: what `ip link add NAME type bridge` and
//! `ip link set LINK master BRIDGE` do, over rtnetlink (rtnetlink(7),
//! bridge(8)).

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo};
use netlink_packet_route::RouteNetlinkMessage;

use super::link::validate_link_name;
use super::request::{link_index, link_named, netns_label, with_route_socket};
use crate::error::Result;
use crate::Netns;

impl Netns {
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
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) (nothing created); [`Error::Netlink`](crate::Error::Netlink) naming the
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
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) (nothing changed); [`Error::Netlink`](crate::Error::Netlink) naming the
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
}
