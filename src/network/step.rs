//! The kernel-facing steps a [`Topology`](crate::Topology) build carries
//! out, one at a time, in the order they were checked.

use std::fmt;

use ipnet::IpNet;

use crate::error::Result;
use crate::network::carried::{Carried, End, Start};
use crate::network::route::Route;
use crate::network::topology::Network;
use crate::Netns;

/// One kernel-facing step of a build.
#[derive(Debug)]
pub(crate) enum Step {
    Host {
        name: String,
        router: bool,
    },
    Veth {
        a: (String, String),
        b: (String, String),
    },
    /// A link carried by a layer above (ARCHITECTURE.md 1, `network/carried.rs`).
    Carried {
        a: (String, String),
        b: (String, String),
        start: Start,
    },
    Bridge {
        host: String,
    },
    Port {
        lan: String,
        port: String,
        member: (String, String),
    },
    Addr {
        host: String,
        link: String,
        addr: IpNet,
    },
    Route {
        host: String,
        route: Route,
    },
}

/// The bridge of a LAN host.
pub(crate) const BRIDGE: &str = "br0";

impl Step {
    pub(crate) fn apply(&self, net: &mut Network, prefix: Option<&str>, pid: u32) -> Result<()> {
        match self {
            Step::Host { name, router } => {
                let ns = match prefix {
                    None => Netns::new()?,
                    Some(prefix) => Netns::create(&format!("{prefix}-{pid}-{name}"))?,
                };
                // No duplicate address detection on this host's links: a
                // tentative link-local address holds back a router's first
                // neighbour solicitation (and so the first forwarded IPv6
                // packet) for 1-2 s, and tests want addresses usable at once.
                // (No /proc/sys/net/ipv6 under `ipv6.disable=1`: nothing to do.)
                for key in [
                    "net.ipv6.conf.all.accept_dad",
                    "net.ipv6.conf.default.accept_dad",
                ] {
                    match ns.set_sysctl(key, "0") {
                        Err(e) if e.errno() == Some(rustix::io::Errno::NOENT) => {}
                        other => other?,
                    }
                }
                if *router {
                    ns.set_forwarding(true)?;
                    net.forwarders.push(name.clone());
                }
                net.hosts.push((name.clone(), ns));
            }
            Step::Veth { a, b } => {
                let (na, nb) = (net.host(&a.0), net.host(&b.0));
                na.add_veth(&a.1, nb, &b.1)?;
                na.set_up(&a.1)?;
                nb.set_up(&b.1)?;
                net.plain.push([a.clone(), b.clone()]);
            }
            Step::Carried { a, b, start } => {
                let carrier = start(
                    End {
                        host: &a.0,
                        netns: net.host(&a.0),
                        link: &a.1,
                    },
                    End {
                        host: &b.0,
                        netns: net.host(&b.0),
                        link: &b.1,
                    },
                )?;
                net.carried.push(Carried {
                    a: a.clone(),
                    b: b.clone(),
                    carrier,
                });
            }
            Step::Bridge { host } => {
                let ns = net.host(host);
                ns.add_bridge(BRIDGE)?;
                ns.set_up(BRIDGE)?;
                net.forwarders.push(host.clone());
                net.lans.push(host.clone());
            }
            Step::Port { lan, port, member } => {
                let (switch, ns) = (net.host(lan), net.host(&member.0));
                ns.add_veth(&member.1, switch, port)?;
                switch.set_master(port, BRIDGE)?;
                switch.set_up(port)?;
                ns.set_up(&member.1)?;
                net.plain
                    .push([member.clone(), (lan.clone(), port.clone())]);
            }
            Step::Addr { host, link, addr } => {
                net.host(host).add_addr(link, *addr)?;
                net.addrs.push((host.clone(), link.clone(), *addr));
            }
            Step::Route { host, route } => net.host(host).add_route(route)?,
        }
        Ok(())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Host {
                name,
                router: false,
            } => write!(f, "host {name}"),
            Step::Host { name, router: true } => write!(f, "router {name}"),
            Step::Veth { a, b } => write!(f, "link {}:{} - {}:{}", a.0, a.1, b.0, b.1),
            Step::Carried { a, b, .. } => {
                write!(f, "wire {}:{} - {}:{}", a.0, a.1, b.0, b.1)
            }
            Step::Bridge { host } => write!(f, "lan {host} bridge {BRIDGE}"),
            Step::Port { lan, port, member } => {
                write!(f, "lan {lan} port {port} - {}:{}", member.0, member.1)
            }
            Step::Addr { host, link, addr } => write!(f, "addr {addr} on {host}:{link}"),
            Step::Route { host, route } => {
                write!(f, "route {} on {host}", route.dest)?;
                if let Some(via) = route.via {
                    write!(f, " via {via}")?;
                }
                Ok(())
            }
        }
    }
}
