//! Per-host packet filters as a model: [`Rule`], what it matches and what
//! it does, checked and rendered as nf_tables rules in the crate's own table
//! `inet netns_test`. Pure: the process layer runs `nft` with the text
//! (`process/nft.rs`, ARCHITECTURE.md 2.14).

// Only the `nftables` feature makes these public.
#![cfg_attr(not(feature = "nftables"), allow(dead_code))]

use std::fmt::Write as _;

use ipnet::IpNet;

use crate::error::{Error, Result};

/// The table the crate's filter rules live in, in every host: a user's own
/// nft tables are left alone.
pub(crate) const FILTER_TABLE: &str = "inet netns_test";

/// One filter rule of a host: what it does (accept, drop, reject), to which
/// packets (direction, protocol, port, source and destination prefix).
/// Every condition set must hold; rules are tried in the order they were
/// added and the first that matches decides; a packet no rule matches is
/// accepted.
///
/// ```
/// # #[cfg(feature = "nftables")]
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use netns_test::Rule;
/// // Connections to TCP 8080 from 10.0.0.0/24 are refused at once (a reset).
/// let refuse = Rule::reject().inbound().tcp().port(8080).from("10.0.0.0/24".parse()?);
/// // Packets to 2001:db8::/32 vanish: a connect there times out.
/// let black_hole = Rule::drop().outbound().to("2001:db8::/32".parse()?);
/// # Ok(()) }
/// ```
///
/// `reject` answers TCP with a reset (`connect` fails with
/// `ECONNREFUSED` at once) and anything else with an ICMP or ICMPv6 port
/// unreachable (a connected UDP socket's next call fails with
/// `ECONNREFUSED`); `drop` answers nothing (a `connect` times out). nft's
/// `reject with tcp reset` and `reject with icmpx type port-unreachable`
/// (`nft(8)`, "REJECT STATEMENT").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a Rule does nothing until given to Topology::firewall or Network::firewall"]
pub struct Rule {
    action: Action,
    direction: Direction,
    proto: Proto,
    port: Option<u16>,
    from: Option<IpNet>,
    to: Option<IpNet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Accept,
    Drop,
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Inbound,
    Outbound,
    Forwarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Any,
    Tcp,
    Udp,
    Icmp,
}

impl Rule {
    fn new(action: Action) -> Rule {
        Rule {
            action,
            direction: Direction::Inbound,
            proto: Proto::Any,
            port: None,
            from: None,
            to: None,
        }
    }

    /// Lets the matching packets through (an exception before a broader
    /// `drop` or `reject` added later).
    pub fn accept() -> Rule {
        Rule::new(Action::Accept)
    }

    /// Discards the matching packets without an answer: a `connect` times
    /// out.
    pub fn drop() -> Rule {
        Rule::new(Action::Drop)
    }

    /// Refuses the matching packets: TCP gets a reset (`ECONNREFUSED` at
    /// once), other protocols an ICMP/ICMPv6 port unreachable.
    pub fn reject() -> Rule {
        Rule::new(Action::Reject)
    }

    /// Packets addressed to the host itself (nft's `input` hook). The
    /// default.
    pub fn inbound(mut self) -> Rule {
        self.direction = Direction::Inbound;
        self
    }

    /// Packets the host itself sends (nft's `output` hook).
    pub fn outbound(mut self) -> Rule {
        self.direction = Direction::Outbound;
        self
    }

    /// Packets a router passes from one link to another (nft's `forward`
    /// hook).
    pub fn forwarded(mut self) -> Rule {
        self.direction = Direction::Forwarded;
        self
    }

    /// TCP only.
    pub fn tcp(mut self) -> Rule {
        self.proto = Proto::Tcp;
        self
    }

    /// UDP only.
    pub fn udp(mut self) -> Rule {
        self.proto = Proto::Udp;
        self
    }

    /// ICMP (IPv4) and ICMPv6 only.
    pub fn icmp(mut self) -> Rule {
        self.proto = Proto::Icmp;
        self
    }

    /// Destination port `port` only (the host's own port for an inbound
    /// rule, the peer's for an outbound one). Needs `tcp()` or `udp()`.
    pub fn port(mut self, port: u16) -> Rule {
        self.port = Some(port);
        self
    }

    /// Source address or prefix (`"10.0.0.0/24".parse()?`,
    /// `"2001:db8::1/128".parse()?`; an address alone:
    /// `IpNet::from(addr)`, its host prefix).
    pub fn from(mut self, prefix: IpNet) -> Rule {
        self.from = Some(prefix);
        self
    }

    /// Destination address or prefix, as [`Rule::from`].
    pub fn to(mut self, prefix: IpNet) -> Rule {
        self.to = Some(prefix);
        self
    }

    /// Whether the rule is consistent: a port needs TCP or UDP, and a
    /// source and destination prefix must be of one family.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] saying which condition is wrong.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(port) = self.port {
            if !matches!(self.proto, Proto::Tcp | Proto::Udp) {
                return Err(invalid(
                    format!("{self}"),
                    "a port needs the protocol tcp() or udp()",
                ));
            }
            if port == 0 {
                return Err(invalid(format!("{self}"), "port 0 matches no packet"));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from.addr().is_ipv4() != to.addr().is_ipv4() {
                return Err(invalid(
                    format!("{self}"),
                    "from() and to() are of different IP families (IPv4 and IPv6)",
                ));
            }
        }
        Ok(())
    }

    /// The nft rule lines (one, or two for a `reject` of any protocol:
    /// TCP gets its reset, the rest an ICMP port unreachable).
    fn render(&self, out: &mut String) {
        let mut cond = String::new();
        for (prefix, dir) in [(self.from, "saddr"), (self.to, "daddr")] {
            if let Some(net) = prefix {
                let family = if net.addr().is_ipv4() { "ip" } else { "ip6" };
                let _ = write!(cond, "{family} {dir} {} ", net.trunc());
            }
        }
        match (self.proto, self.port) {
            (Proto::Tcp, Some(port)) => {
                let _ = write!(cond, "tcp dport {port} ");
            }
            (Proto::Udp, Some(port)) => {
                let _ = write!(cond, "udp dport {port} ");
            }
            (Proto::Tcp, None) => cond.push_str("meta l4proto tcp "),
            (Proto::Udp, None) => cond.push_str("meta l4proto udp "),
            (Proto::Icmp, _) => cond.push_str("meta l4proto { icmp, ipv6-icmp } "),
            (Proto::Any, _) => {}
        }
        let icmp = "reject with icmpx type port-unreachable";
        match (self.action, self.proto) {
            (Action::Accept, _) => {
                let _ = writeln!(out, "    {cond}accept");
            }
            (Action::Drop, _) => {
                let _ = writeln!(out, "    {cond}drop");
            }
            (Action::Reject, Proto::Tcp) => {
                let _ = writeln!(out, "    {cond}reject with tcp reset");
            }
            (Action::Reject, Proto::Any) => {
                let _ = writeln!(out, "    {cond}meta l4proto tcp reject with tcp reset");
                let _ = writeln!(out, "    {cond}{icmp}");
            }
            (Action::Reject, _) => {
                let _ = writeln!(out, "    {cond}{icmp}");
            }
        }
    }
}

impl std::fmt::Display for Rule {
    /// The rule as its builder calls read: `reject inbound tcp port 8080
    /// from 10.0.0.0/24`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = match self.action {
            Action::Accept => "accept",
            Action::Drop => "drop",
            Action::Reject => "reject",
        };
        let direction = match self.direction {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Forwarded => "forwarded",
        };
        let proto = match self.proto {
            Proto::Any => "any",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        };
        write!(f, "{action} {direction} {proto}")?;
        if let Some(port) = self.port {
            write!(f, " port {port}")?;
        }
        if let Some(from) = self.from {
            write!(f, " from {from}")?;
        }
        if let Some(to) = self.to {
            write!(f, " to {to}")?;
        }
        Ok(())
    }
}

fn invalid(value: String, reason: &'static str) -> Error {
    Error::InvalidArgument {
        what: "firewall rule",
        value,
        reason,
    }
}

/// The nft script that replaces the crate's filter table of a host with
/// `rules` in one transaction (an empty table when there are none): the
/// table is declared, deleted and declared again, so the script works
/// whether it existed or not, and `nft -f` applies all of it or nothing.
pub(crate) fn render_filters(rules: &[Rule]) -> String {
    let mut out = format!("table {FILTER_TABLE} {{}}\ndelete table {FILTER_TABLE}\n");
    if rules.is_empty() {
        return out;
    }
    let _ = writeln!(out, "table {FILTER_TABLE} {{");
    for (chain, direction) in [
        ("input", Direction::Inbound),
        ("output", Direction::Outbound),
        ("forward", Direction::Forwarded),
    ] {
        let _ = writeln!(
            out,
            "  chain {chain} {{\n    type filter hook {chain} priority filter; policy accept;"
        );
        for rule in rules.iter().filter(|r| r.direction == direction) {
            rule.render(&mut out);
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_render_as_nft_lines() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let text = render_filters(&[
            Rule::reject().tcp().port(8080).from(net("10.0.0.7/24")),
            Rule::drop().outbound().udp().to(net("2001:db8::/32")),
            Rule::reject().forwarded(),
        ]);
        assert!(
            text.contains("    ip saddr 10.0.0.0/24 tcp dport 8080 reject with tcp reset\n"),
            "{text}"
        );
        assert!(
            text.contains("    ip6 daddr 2001:db8::/32 meta l4proto udp drop\n"),
            "{text}"
        );
        assert!(
            text.contains("    meta l4proto tcp reject with tcp reset\n    reject with icmpx"),
            "{text}"
        );
        assert!(text.starts_with("table inet netns_test {}\ndelete table inet netns_test\n"));
        assert_eq!(
            render_filters(&[]),
            "table inet netns_test {}\ndelete table inet netns_test\n"
        );
    }

    #[test]
    fn inconsistent_rules_are_refused() {
        let v4: IpNet = "10.0.0.0/8".parse().unwrap();
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        let e = Rule::drop().port(80).check().unwrap_err().to_string();
        assert!(e.contains("a port needs the protocol"), "{e}");
        assert!(Rule::drop().icmp().port(80).check().is_err());
        assert!(Rule::drop().tcp().port(0).check().is_err());
        let e = Rule::drop()
            .from(v4)
            .to(v6)
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("different IP families"), "{e}");
        assert!(Rule::drop().udp().port(53).from(v6).to(v6).check().is_ok());
        assert_eq!(
            Rule::reject().tcp().port(1).from(v4).to_string(),
            "reject inbound tcp port 1 from 10.0.0.0/8"
        );
    }
}
