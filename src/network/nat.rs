//! A router's address translation as a model: [`Nat`] and its RFC 4787
//! [`Mapping`], port forwards and hairpinning, checked and rendered as the
//! crate's own table `ip netns_test_nat`. Pure: the process layer runs
//! `nft` with the text (`process/nft.rs`, ARCHITECTURE.md 2.14).

// Only the `nftables` feature makes these public.
#![cfg_attr(not(feature = "nftables"), allow(dead_code))]

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::error::{Error, Result};

/// The table a router's translation lives in (IPv4 only).
pub(crate) const NAT_TABLE: &str = "ip netns_test_nat";

/// The range asked of nft's hash, `BASE..BASE + SPAN` (nft 1.0.6 byte-swaps
/// the result into the port: see [`Mapping`]).
const PORT_BASE: u32 = 20000;
const PORT_SPAN: u32 = 40000;
/// A fixed hash seed: the same inside endpoint gets the same outside port
/// in every run.
const SEED: &str = "0x6e6e7374";

/// How a NAT router picks the outside address and port of a flow, as RFC
/// 4787 section 4.1 names the behaviours. The outside address is always
/// the router's (the first IPv4 address of its outside link); the port:
///
/// | mapping | outside port computed from | a STUN client sees |
/// |---|---|---|
/// | `EndpointIndependent` | inside address, inside port | one mapping for every destination |
/// | `AddressDependent` | ... and the destination address | one per destination address |
/// | `AddressAndPortDependent` | ... and the destination port | one per destination address and port |
///
/// The port is nft's `jhash` of the key with a fixed seed (`jhash KEY mod
/// 40000 seed S offset 20000`; nft 1.0.6 hands the 32-bit result to the
/// 16-bit port byte-swapped, so the port seen is not inside that range):
/// a function of the key alone, the same in every run. Two inside endpoints
/// whose hashes meet on one port and destination collide: conntrack finds
/// no free tuple in the one-port range and drops the second flow's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mapping {
    /// The outside port depends on the inside address and port only (full
    /// cone, as far as mapping goes).
    #[default]
    EndpointIndependent,
    /// A new outside port for each destination address.
    AddressDependent,
    /// A new outside port for each destination address and port
    /// (symmetric NAT).
    AddressAndPortDependent,
}

/// Address translation on a router: what leaves by the outside link gets
/// the router's outside address (source NAT), port forwards take outside
/// ports to inside hosts (destination NAT), and hairpinning decides
/// whether inside hosts may use those forwards too.
///
/// ```
/// # #[cfg(feature = "nftables")]
/// # fn demo() {
/// use netns_test::{Mapping, Nat};
/// let nat = Nat::outside("eth1")
///     .mapping(Mapping::AddressDependent)
///     .forward_tcp(8080, "server", 80)
///     .hairpin(true);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a Nat does nothing until given to Topology::nat"]
pub struct Nat {
    pub(crate) outside: String,
    mapping: Mapping,
    hairpin: bool,
    pub(crate) forwards: Vec<Forward>,
}

/// A port forward: outside `port` of `proto` to `to:to_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forward {
    udp: bool,
    port: u16,
    /// A host of the topology, or an IPv4 address.
    pub(crate) to: String,
    to_port: u16,
}

impl Nat {
    /// Translation of what leaves by the router's link `link` (its outside,
    /// whose first IPv4 address is the outside address), with an
    /// endpoint-independent mapping, no port forwards and no hairpinning.
    pub fn outside(link: &str) -> Nat {
        Nat {
            outside: link.to_owned(),
            mapping: Mapping::EndpointIndependent,
            hairpin: false,
            forwards: Vec::new(),
        }
    }

    /// How outside ports are picked (see [`Mapping`]).
    pub fn mapping(mut self, mapping: Mapping) -> Nat {
        self.mapping = mapping;
        self
    }

    /// Whether inside hosts reach a port forward through the router's
    /// outside address (RFC 4787 section 6). On: their packets are
    /// forwarded and their source translated to the router's inside address (the one
    /// on the server's link, not the outside one), so
    /// the answer comes back through the router. Off (the default): only
    /// packets arriving on the outside link are forwarded; an inside host's
    /// connection to the outside address reaches the router itself (a TCP
    /// reset where it does not listen).
    pub fn hairpin(mut self, on: bool) -> Nat {
        self.hairpin = on;
        self
    }

    /// Forwards TCP `port` of the outside address to `to_port` of `to`: a
    /// host of the topology (its first IPv4 address) or an IPv4 address.
    pub fn forward_tcp(mut self, port: u16, to: &str, to_port: u16) -> Nat {
        self.forwards.push(Forward {
            udp: false,
            port,
            to: to.to_owned(),
            to_port,
        });
        self
    }

    /// Forwards UDP `port`, as [`Nat::forward_tcp`].
    pub fn forward_udp(mut self, port: u16, to: &str, to_port: u16) -> Nat {
        self.forwards.push(Forward {
            udp: true,
            port,
            to: to.to_owned(),
            to_port,
        });
        self
    }

    /// Whether the ports are usable: none is 0, and no outside port of a
    /// protocol is forwarded twice.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the forward.
    pub(crate) fn check(&self) -> Result<()> {
        for (i, f) in self.forwards.iter().enumerate() {
            if f.port == 0 || f.to_port == 0 {
                return Err(invalid(f.to_string(), "port 0 cannot be forwarded"));
            }
            if self.forwards[..i]
                .iter()
                .any(|g| g.udp == f.udp && g.port == f.port)
            {
                return Err(invalid(
                    f.to_string(),
                    "this outside port is forwarded twice",
                ));
            }
        }
        Ok(())
    }

    /// The nft script that replaces the router's NAT table: `outside` is
    /// the router's outside address, `targets[i]` the address of
    /// `forwards[i]`.
    pub(crate) fn render(&self, outside: Ipv4Addr, targets: &[Ipv4Addr]) -> String {
        let link = &self.outside;
        let mut out = format!("table {NAT_TABLE} {{}}\ndelete table {NAT_TABLE}\n");
        let _ = writeln!(out, "table {NAT_TABLE} {{");
        out.push_str(
            "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
        );
        // Without hairpinning only what comes in from outside is forwarded.
        let from = if self.hairpin {
            String::new()
        } else {
            format!("iifname \"{link}\" ")
        };
        for (f, to) in self.forwards.iter().zip(targets) {
            let proto = if f.udp { "udp" } else { "tcp" };
            let _ = writeln!(
                out,
                "    {from}ip daddr {outside} {proto} dport {} dnat to {to}:{}",
                f.port, f.to_port
            );
        }
        out.push_str("  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
        if self.hairpin {
            // Forwarded from inside back inside: the answer must come back
            // through the router, so the source becomes the router's.
            let _ = writeln!(
                out,
                "    ct status dnat iifname != \"{link}\" oifname != \"{link}\" masquerade"
            );
        }
        let key = match self.mapping {
            Mapping::EndpointIndependent => "ip saddr . th sport",
            Mapping::AddressDependent => "ip saddr . th sport . ip daddr",
            Mapping::AddressAndPortDependent => "ip saddr . th sport . ip daddr . th dport",
        };
        let _ = writeln!(
            out,
            "    oifname \"{link}\" meta l4proto {{ tcp, udp }} snat to {outside}:jhash {key} mod {PORT_SPAN} seed {SEED} offset {PORT_BASE}"
        );
        // ICMP and other protocols: the address alone.
        let _ = writeln!(out, "    oifname \"{link}\" snat to {outside}");
        out.push_str("  }\n}\n");
        out
    }
}

impl std::fmt::Display for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = if self.udp { "udp" } else { "tcp" };
        write!(f, "{proto} {} -> {}:{}", self.port, self.to, self.to_port)
    }
}

fn invalid(value: String, reason: &'static str) -> Error {
    Error::InvalidArgument {
        what: "port forward",
        value,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mapping_hashes_its_key() {
        let out: Ipv4Addr = "192.0.2.1".parse().unwrap();
        let to: Ipv4Addr = "10.0.0.2".parse().unwrap();
        let base = Nat::outside("eth1").forward_tcp(8080, "server", 80);
        let text = base.render(out, &[to]);
        assert!(
            text.contains(
                "    iifname \"eth1\" ip daddr 192.0.2.1 tcp dport 8080 dnat to 10.0.0.2:80\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("jhash ip saddr . th sport mod 40000"),
            "{text}"
        );
        assert!(!text.contains("masquerade"), "{text}");
        let text = base
            .clone()
            .hairpin(true)
            .mapping(Mapping::AddressDependent)
            .render(out, &[to]);
        assert!(
            text.contains("    ip daddr 192.0.2.1 tcp dport 8080 dnat"),
            "{text}"
        );
        assert!(
            text.contains("ct status dnat iifname != \"eth1\" oifname != \"eth1\" masquerade"),
            "{text}"
        );
        assert!(
            text.contains("jhash ip saddr . th sport . ip daddr mod"),
            "{text}"
        );
        let text = base
            .mapping(Mapping::AddressAndPortDependent)
            .render(out, &[to]);
        assert!(
            text.contains("jhash ip saddr . th sport . ip daddr . th dport mod"),
            "{text}"
        );
    }

    #[test]
    fn bad_forwards_are_refused() {
        assert!(Nat::outside("e").forward_udp(0, "h", 1).check().is_err());
        let twice = Nat::outside("e")
            .forward_tcp(80, "a", 1)
            .forward_tcp(80, "b", 2);
        let e = twice.check().unwrap_err().to_string();
        assert!(e.contains("forwarded twice"), "{e}");
        let both = Nat::outside("e")
            .forward_tcp(80, "a", 1)
            .forward_udp(80, "b", 2);
        assert!(both.check().is_ok());
    }
}
