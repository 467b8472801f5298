//! A topology's firewalls and NAT routers: what [`Topology`] records of
//! them, the checks [`Topology::build`] makes before it creates anything,
//! and their application once the hosts, addresses and names exist. The
//! rules are the pure models of `firewall.rs` and `nat.rs`; `nft` itself is
//! run by the process layer, through the [`Apply`] function it hands over
//! with the rules (ARCHITECTURE.md 2.14).

#![cfg_attr(not(feature = "nftables"), allow(dead_code))]

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::network::built::Network;
use crate::network::firewall::{render_filters, Rule};
use crate::network::nat::Nat;
use crate::network::topology::Topology;
use crate::Netns;

/// Runs an nft script in a host (the process layer's `nft -f -`).
pub(crate) type Apply = fn(&Netns, &str) -> Result<()>;

/// The firewall rules and NAT routers of a topology.
#[derive(Debug, Clone, Default)]
pub(crate) struct NftPlan {
    filters: Vec<(String, Rule)>,
    nats: Vec<(String, Nat)>,
    apply: Option<Apply>,
}

/// The filter rules of a built network's hosts, each with the id of the
/// guard that added it (0: the topology's), in the order they apply.
pub(crate) type Filters = parking_lot::Mutex<Vec<(String, u64, Rule)>>;

impl Topology {
    /// Records a filter rule of `host` (the process layer's
    /// `Topology::firewall`).
    pub(crate) fn filter_rule(mut self, host: &str, rule: Rule, apply: Apply) -> Topology {
        self.nft_plan_mut().filters.push((host.to_owned(), rule));
        self.nft_plan_mut().apply = Some(apply);
        self
    }

    /// Records the NAT of router `host` (the process layer's
    /// `Topology::nat`).
    pub(crate) fn nat_rule(mut self, host: &str, nat: Nat, apply: Apply) -> Topology {
        self.nft_plan_mut().nats.push((host.to_owned(), nat));
        self.nft_plan_mut().apply = Some(apply);
        self
    }
}

impl NftPlan {
    /// Checks every rule and NAT before anything is built: known hosts,
    /// consistent rules, NAT on a router, once per router, with an IPv4
    /// address on its outside link and forwards to hosts with an IPv4
    /// address (or to IPv4 addresses).
    ///
    /// `hosts` are `(name, router)`, `addrs` `(host, link, address)` as
    /// declared.
    pub(crate) fn check(
        &self,
        hosts: &[(&str, bool)],
        addrs: &[(String, String, String)],
    ) -> Result<()> {
        let known = |host: &str| hosts.iter().any(|(h, _)| *h == host);
        let no_host = |host: &str| bad("host", host, "no such host in this topology");
        for (host, rule) in &self.filters {
            let what = format!("firewall {rule} on {host}");
            if !known(host) {
                return Err(topology(what, no_host(host)));
            }
            rule.check().map_err(|e| topology(what, e))?;
        }
        let v4 = |host: &str, link: Option<&str>| {
            addrs.iter().any(|(h, l, a)| {
                h == host
                    && link.map_or(true, |link| l == link)
                    && a.parse::<IpNet>().is_ok_and(|a| a.addr().is_ipv4())
            })
        };
        for (i, (host, nat)) in self.nats.iter().enumerate() {
            let what = format!("nat on {host} (outside {})", nat.outside);
            let wrong = |e: Error| topology(what.clone(), e);
            match hosts.iter().find(|(h, _)| h == host) {
                None => return Err(wrong(no_host(host))),
                Some((_, false)) => {
                    return Err(wrong(bad("host", host, "not a router (Topology::router)")))
                }
                Some(_) => {}
            }
            if self.nats[..i].iter().any(|(h, _)| h == host) {
                return Err(wrong(bad("host", host, "has a NAT already")));
            }
            crate::network::link::validate_link_name(&nat.outside).map_err(&wrong)?;
            if !addrs.iter().any(|(h, l, _)| h == host && *l == nat.outside) {
                return Err(wrong(bad(
                    "outside link",
                    &nat.outside,
                    "is not a link of this router with an address in this topology \
                     (Topology::link, then Topology::addr)",
                )));
            }
            if !v4(host, Some(&nat.outside)) {
                return Err(wrong(bad(
                    "outside link",
                    &nat.outside,
                    "has no IPv4 address in this topology (Topology::addr)",
                )));
            }
            nat.check().map_err(&wrong)?;
            for f in &nat.forwards {
                let ok = match f.to.parse::<IpAddr>() {
                    Ok(addr) => addr.is_ipv4(),
                    Err(_) => known(&f.to) && v4(&f.to, None),
                };
                if !ok {
                    return Err(wrong(bad(
                        "forward target",
                        &f.to,
                        "neither an IPv4 address nor a host with one in this topology",
                    )));
                }
            }
        }
        Ok(())
    }

    /// The hosts that translate, in the order their NAT was declared.
    pub(crate) fn nat_hosts(&self) -> Vec<String> {
        self.nats.iter().map(|(h, _)| h.clone()).collect()
    }

    /// Applies the checked rules to the built network: one `nft` run per
    /// host with rules, its filter table and NAT table in one script.
    pub(crate) fn apply(&self, net: &Network) -> Result<()> {
        let Some(apply) = self.apply else {
            return Ok(());
        };
        let mut hosts: Vec<&str> = self.filters.iter().map(|(h, _)| h.as_str()).collect();
        hosts.extend(self.nats.iter().map(|(h, _)| h.as_str()));
        let mut done: Vec<&str> = Vec::new();
        for host in hosts {
            if done.contains(&host) {
                continue;
            }
            done.push(host);
            let rules: Vec<Rule> = self
                .filters
                .iter()
                .filter(|(h, _)| h == host)
                .map(|(_, r)| *r)
                .collect();
            let mut script = if rules.is_empty() {
                String::new()
            } else {
                render_filters(&rules)
            };
            if let Some((_, nat)) = self.nats.iter().find(|(h, _)| h == host) {
                let outside = first_v4(net.addrs(host, &nat.outside).iter().map(IpNet::addr));
                let targets: Vec<Ipv4Addr> = nat
                    .forwards
                    .iter()
                    .map(|f| match f.to.parse::<Ipv4Addr>() {
                        Ok(a) => a,
                        Err(_) => first_v4(net.addrs_of(&f.to).into_iter()),
                    })
                    .collect();
                script.push_str(&nat.render(outside, &targets));
            }
            apply(net.host(host), &script)
                .map_err(|e| topology(format!("nft rules of {host}"), e))?;
            net.filters
                .lock()
                .extend(rules.into_iter().map(|r| (host.to_owned(), 0, r)));
        }
        Ok(())
    }
}

/// The first IPv4 address of `addrs` (checked to exist by
/// [`NftPlan::check`]).
fn first_v4(addrs: impl Iterator<Item = IpAddr>) -> Ipv4Addr {
    addrs
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .next()
        .unwrap_or(Ipv4Addr::UNSPECIFIED)
}

fn topology(step: String, source: Error) -> Error {
    Error::Topology {
        step,
        source: Box::new(source),
    }
}

fn bad(what: &'static str, value: &str, reason: &'static str) -> Error {
    Error::InvalidArgument {
        what,
        value: value.to_owned(),
        reason,
    }
}
