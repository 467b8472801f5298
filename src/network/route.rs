//! Routes of a namespace: what `ip route add` does, over rtnetlink
//! (rtnetlink(7)).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::link::validate_link_name;
use super::request::{family, link_index, netns_label, with_route_socket};
use crate::error::Result;
use crate::Netns;

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

impl Netns {
    /// Adds `route` to the main table, as
    /// `ip route add DEST [via GW] [dev LINK]` does (`RTM_NEWROUTE`,
    /// `NLM_F_CREATE|NLM_F_EXCL`, protocol `boot`, scope `link` for a route
    /// without gateway, else `global`).
    ///
    /// Runs on a fresh thread inside this namespace; the caller never moves.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a bad `dev` (nothing changed);
    /// [`Error::Netlink`](crate::Error::Netlink) naming the request and the namespace: `ENODEV` if
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
