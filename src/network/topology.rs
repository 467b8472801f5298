//! Declarative topologies: hosts joined by veth pairs and bridges.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::namespace::rundir::{validate_name, RunDir};
use crate::network::carried::Start;
use crate::network::link::validate_link_name;
use crate::network::owned::OwnedList;
use crate::network::route::Route;
// The built topology, where callers have always found it.
pub use crate::network::built::Network;
use crate::network::step::Step;

/// A topology to build: hosts, links, LAN segments, addresses and routes.
///
/// ```no_run
/// use netns_test::Topology;
///
/// // client -- router -- server, IPv4 and IPv6 on two subnets.
/// let net = Topology::new()
///     .host("client")
///     .router("router")
///     .host("server")
///     .link("client", "eth0", "router", "eth0")
///     .link("router", "eth1", "server", "eth0")
///     .addr("client", "eth0", "192.0.2.2/24")
///     .addr("router", "eth0", "192.0.2.1/24")
///     .addr("router", "eth1", "198.51.100.1/24")
///     .addr("server", "eth0", "198.51.100.2/24")
///     .route("client", "default", "192.0.2.1")
///     .route("server", "default", "198.51.100.1")
///     .build()?;
/// let server = net.ipv4("server", "eth0");
/// net.host("client").run(|| std::net::TcpStream::connect((server, 8080)))?;
/// # Ok::<(), netns_test::Error>(())
/// ```
///
/// Every method only records a step; [`Topology::build`] checks all of them
/// (names, addresses, references to hosts) before it creates anything, then
/// carries them out in order: hosts, links, LANs, addresses, routes, then
/// host names and (feature `nftables`) firewall and NAT rules. Links
/// are brought up as they are made. Every host has duplicate address
/// detection off (`net.ipv6.conf.{all,default}.accept_dad=0`), so IPv6
/// addresses, link-local ones included, are usable at once.
///
/// Hosts are anonymous network namespaces by default: nothing in
/// `/run/netns`, nothing to leak if the process dies. [`Topology::named`]
/// makes them visible to `ip netns` instead.
#[derive(Debug, Clone, Default)]
#[must_use = "a Topology does nothing until build() is called"]
pub struct Topology {
    hosts: Vec<(String, bool)>,
    links: Vec<[(String, String); 2]>,
    carried: Vec<([(String, String); 2], Start)>,
    lans: Vec<(String, Vec<(String, String)>)>,
    addrs: Vec<(String, String, String)>,
    routes: Vec<(String, String, String)>,
    aliases: Vec<(String, String)>,
    prefix: Option<String>,
    nft: crate::network::nft_plan::NftPlan,
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Topology {
        Topology::default()
    }

    /// A host: a network namespace with `lo` up.
    pub fn host(mut self, name: &str) -> Topology {
        self.hosts.push((name.to_owned(), false));
        self
    }

    /// A router: a host with IPv4 and IPv6 forwarding on
    /// (`net.ipv4.ip_forward=1`, `net.ipv6.conf.all.forwarding=1`).
    pub fn router(mut self, name: &str) -> Topology {
        self.hosts.push((name.to_owned(), true));
        self
    }

    /// A point-to-point link: a veth pair with end `link_a` in `host_a` and
    /// end `link_b` in `host_b`, both up (`ip link add LINK_A type veth peer
    /// name LINK_B netns HOST_B`). Each end is created directly in its host,
    /// so every host can have its own `eth0`.
    pub fn link(mut self, host_a: &str, link_a: &str, host_b: &str, link_b: &str) -> Topology {
        self.links.push([
            (host_a.to_owned(), link_a.to_owned()),
            (host_b.to_owned(), link_b.to_owned()),
        ]);
        self
    }

    /// A link like [`Topology::link`] whose frames `start` carries (the wire
    /// layer's `Topology::wire`).
    #[cfg_attr(not(feature = "wire"), allow(dead_code))]
    pub(crate) fn carried(
        mut self,
        host_a: &str,
        link_a: &str,
        host_b: &str,
        link_b: &str,
        start: Start,
    ) -> Topology {
        self.carried.push((
            [
                (host_a.to_owned(), link_a.to_owned()),
                (host_b.to_owned(), link_b.to_owned()),
            ],
            start,
        ));
        self
    }

    /// A LAN segment: a host `name` holding a bridge `br0`, and for each
    /// `(host, link)` member a veth pair from `link` in `host` to a bridge
    /// port in `name` (`p0`, `p1`, ...). All links up. `name` is a host of
    /// the topology like any other (it can have addresses on `br0`).
    pub fn lan(mut self, name: &str, members: &[(&str, &str)]) -> Topology {
        let members = members
            .iter()
            .map(|(h, l)| ((*h).to_owned(), (*l).to_owned()))
            .collect();
        self.lans.push((name.to_owned(), members));
        self
    }

    /// An address with prefix length on `link` of `host`, such as
    /// `"192.0.2.1/24"` or `"2001:db8::1/64"`. IPv6 addresses are usable at
    /// once (no duplicate address detection).
    pub fn addr(mut self, host: &str, link: &str, addr: &str) -> Topology {
        self.addrs
            .push((host.to_owned(), link.to_owned(), addr.to_owned()));
        self
    }

    /// A route on `host` to `dest` (`"198.51.100.0/24"`, or `"default"`,
    /// whose family follows the gateway's) through the gateway `via`.
    pub fn route(mut self, host: &str, dest: &str, via: &str) -> Topology {
        self.routes
            .push((host.to_owned(), dest.to_owned(), via.to_owned()));
        self
    }

    /// Another name of `host` in every host's `/etc/hosts`
    /// (`"db.example.test"`): it resolves to the host's addresses, as the
    /// host's own name does (network/names.rs; the `topology` topic,
    /// "Names").
    pub fn alias(mut self, host: &str, name: &str) -> Topology {
        self.aliases.push((host.to_owned(), name.to_owned()));
        self
    }

    pub(crate) fn nft_plan_mut(&mut self) -> &mut crate::network::nft_plan::NftPlan {
        &mut self.nft
    }

    /// Makes the hosts named namespaces, `PREFIX-PID-HOST` in the run
    /// directory, visible to `ip netns list` and `ip netns exec`. The process
    /// id keeps two test processes that build the same topology at once
    /// (cargo-nextest runs one process per test) from colliding.
    ///
    /// They are removed when the [`Network`] drops, or at process exit for a
    /// network that never drops (a suite [`Fixture`](crate::Fixture)). Each
    /// carries an owner record (see [`Netns::create`](crate::Netns::create)). Before building,
    /// every entry `PREFIX-PID-*` whose record names a process that is gone
    /// (a killed test run) is removed, whichever hosts that run had, as
    /// [`RunDir::sweep`] would.
    pub fn named(mut self, prefix: &str) -> Topology {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// Checks every step, then builds the network. On failure, everything
    /// already built is removed again and the error names the step.
    ///
    /// # Errors
    /// [`Error::Topology`] naming the step and wrapping the cause:
    /// an invalid or duplicate name, an address that does not parse, a
    /// reference to an undeclared host (nothing was created then), or a
    /// kernel error from the step that failed.
    pub fn build(&self) -> Result<Network> {
        let plan = self.plan()?;
        let pid = std::process::id();
        if let Some(prefix) = &self.prefix {
            sweep_stale(RunDir::get(), prefix);
        }
        let mut net = Network {
            registered: None,
            owned: OwnedList::default(),
            carried: Vec::new(),
            hosts: Vec::new(),
            addrs: Vec::new(),
            plain: Vec::new(),
            forwarders: Vec::new(),
            lans: Vec::new(),
            nats: Vec::new(),
            aliases: self.aliases.clone(),
            filters: Default::default(),
        };
        let total = plan.len();
        for (i, step) in plan.iter().enumerate() {
            step.apply(&mut net, self.prefix.as_deref(), pid)
                .map_err(|source| Error::Topology {
                    step: format!("step {} of {total} ({step})", i + 1),
                    source: Box::new(source),
                })?;
        }
        crate::network::names::attach(&mut net).map_err(|source| Error::Topology {
            step: "host names (/etc/hosts of the network)".to_owned(),
            source: Box::new(source),
        })?;
        self.nft.apply(&net)?;
        net.nats = self.nft.nat_hosts();
        if let Some(on_build) = crate::network::carried::ON_BUILD.get() {
            on_build(&net);
        }
        // A failing test's dump shows this network's hosts.
        net.registered = crate::network::registered::register(&net);
        Ok(net)
    }

    /// Every step, checked, in the order they are carried out.
    fn plan(&self) -> Result<Vec<Step>> {
        let invalid = |what: String, source: Error| Error::Topology {
            step: what,
            source: Box::new(source),
        };
        let mut steps = Vec::new();
        let mut hosts: Vec<&str> = Vec::new();
        let lan_hosts = self.lans.iter().map(|(n, _)| (n, false));
        for (name, router) in self.hosts.iter().map(|(n, r)| (n, *r)).chain(lan_hosts) {
            validate_name(name).map_err(|e| invalid(format!("host {name:?}"), e))?;
            if let Some(prefix) = &self.prefix {
                let full = format!("{prefix}-{}-{name}", std::process::id());
                validate_name(&full).map_err(|e| invalid(format!("host {name:?}"), e))?;
            }
            if hosts.contains(&name.as_str()) {
                return Err(invalid(
                    format!("host {name:?}"),
                    bad("host", name, "declared twice"),
                ));
            }
            hosts.push(name);
            steps.push(Step::Host {
                name: name.clone(),
                router,
            });
        }
        let known = |host: &str, what: &str| -> Result<()> {
            if hosts.contains(&host) {
                Ok(())
            } else {
                Err(invalid(
                    what.to_owned(),
                    bad("host", host, "no such host in this topology"),
                ))
            }
        };
        let link_ok = |link: &str, what: &str| -> Result<()> {
            validate_link_name(link).map_err(|e| invalid(what.to_owned(), e))
        };
        for [(ha, la), (hb, lb)] in &self.links {
            let what = format!("link {ha}:{la} - {hb}:{lb}");
            known(ha, &what)?;
            known(hb, &what)?;
            link_ok(la, &what)?;
            link_ok(lb, &what)?;
            steps.push(Step::Veth {
                a: (ha.clone(), la.clone()),
                b: (hb.clone(), lb.clone()),
            });
        }
        for ([(ha, la), (hb, lb)], start) in &self.carried {
            let what = format!("wire {ha}:{la} - {hb}:{lb}");
            known(ha, &what)?;
            known(hb, &what)?;
            link_ok(la, &what)?;
            link_ok(lb, &what)?;
            steps.push(Step::Carried {
                a: (ha.clone(), la.clone()),
                b: (hb.clone(), lb.clone()),
                start: *start,
            });
        }
        for (lan, members) in &self.lans {
            steps.push(Step::Bridge { host: lan.clone() });
            for (port, (host, link)) in members.iter().enumerate() {
                let what = format!("lan {lan} member {host}:{link}");
                known(host, &what)?;
                link_ok(link, &what)?;
                steps.push(Step::Port {
                    lan: lan.clone(),
                    port: format!("p{port}"),
                    member: (host.clone(), link.clone()),
                });
            }
        }
        for (host, link, addr) in &self.addrs {
            let what = format!("addr {addr} on {host}:{link}");
            known(host, &what)?;
            link_ok(link, &what)?;
            let net: IpNet = addr.parse().map_err(|_| {
                invalid(
                    what.clone(),
                    bad("address", addr, "not an address/prefix_len"),
                )
            })?;
            steps.push(Step::Addr {
                host: host.clone(),
                link: link.clone(),
                addr: net,
            });
        }
        for (i, (host, alias)) in self.aliases.iter().enumerate() {
            let what = format!("alias {alias} of {host}");
            known(host, &what)?;
            let taken = hosts.contains(&alias.as_str())
                || self.aliases[..i].iter().any(|(_, a)| a == alias);
            crate::network::names::check_alias(alias, taken).map_err(|e| invalid(what, e))?;
        }
        for (host, dest, via) in &self.routes {
            let what = format!("route {dest} via {via} on {host}");
            known(host, &what)?;
            let gw: IpAddr = via
                .parse()
                .map_err(|_| invalid(what.clone(), bad("gateway", via, "not an IP address")))?;
            let route = if dest == "default" {
                Route::default_via(gw)
            } else {
                let dest: IpNet = dest.parse().map_err(|_| {
                    invalid(
                        what.clone(),
                        bad("destination", dest, "not a prefix or `default`"),
                    )
                })?;
                if dest.addr().is_ipv4() != gw.is_ipv4() {
                    return Err(invalid(
                        what,
                        bad("gateway", via, "not of the destination's family"),
                    ));
                }
                Route::to(dest).via(gw)
            };
            steps.push(Step::Route {
                host: host.clone(),
                route,
            });
        }
        let lans = self.lans.iter().map(|(n, _)| (n.as_str(), false));
        let declared: Vec<_> = self
            .hosts
            .iter()
            .map(|(h, r)| (h.as_str(), *r))
            .chain(lans)
            .collect();
        self.nft.check(&declared, &self.addrs)?;
        Ok(steps)
    }
}

fn bad(what: &'static str, value: &str, reason: &'static str) -> Error {
    Error::InvalidArgument {
        what,
        value: value.to_owned(),
        reason,
    }
}

/// Removes every `PREFIX-PID-HOST` entry whose owner record names a
/// process that is gone, whatever hosts it had: what a killed test run of a
/// topology named `PREFIX` left behind (with their records and name
/// locks). Only `PREFIX-DIGITS-...` names count, so `lab-x-a` of a topology
/// named `lab-x` is not looked at for `lab`; and the record decides, so an
/// entry without one (`ip netns add lab-1-a`) is never removed.
fn sweep_stale(dir: &RunDir, prefix: &str) {
    let ours = |name: &str| {
        name.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.split_once('-'))
            .is_some_and(|(pid, _)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
    };
    let _ = crate::namespace::sweep::sweep_matching(dir, false, ours);
}
