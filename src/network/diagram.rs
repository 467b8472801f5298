//! A drawing of a built [`Network`]: its hosts (routers and LAN bridges
//! marked), its links with their interface names and addresses, and the
//! faults set on its wire links, as Mermaid or Graphviz DOT text
//! ([`Network::diagram`]). A failing test's report draws the same value as
//! SVG (`testing/report/`).

use std::fmt::{self, Write as _};

use ipnet::IpNet;

use crate::network::built::Network;
use crate::network::step::BRIDGE;

/// What a host does, as the diagram marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A host: no forwarding.
    Host,
    /// A router: forwarding on ([`Topology::router`](crate::Topology::router)).
    Router,
    /// A LAN host: its bridge joins the members ([`Topology::lan`](crate::Topology::lan)).
    Lan,
    /// A router that translates (`Topology::nat`, feature `nftables`).
    Nat,
    // Another kind of forwarder gets a variant here, a shape in
    // `Diagram::mermaid`, `Diagram::dot` and `svg.rs`, and a word in
    // `kind_word`.
}

/// One end of a link: host, interface, the addresses the topology gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct End {
    pub(crate) host: String,
    pub(crate) link: String,
    pub(crate) addrs: Vec<IpNet>,
}

/// A link between two hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edge {
    pub(crate) ends: [End; 2],
    /// `None` for a veth pair; for a wire link, what is set on it, one line
    /// per direction that has something (empty: it passes frames unchanged).
    pub(crate) wire: Option<Vec<String>>,
}

/// A drawing of a [`Network`] at one instant: hosts, links, addresses and
/// the faults set on wire links ([`Network::diagram`]).
///
/// [`Diagram::mermaid`] gives a Mermaid flowchart (GitHub renders a
/// ```` ```mermaid ```` block in a README or an issue), [`Diagram::dot`] Graphviz
/// DOT (`dot -Tsvg`); `Display` is the Mermaid text. Routers (and NAT
/// routers, marked so) are hexagons,
/// LAN hosts (a bridge `br0`) stadiums, other hosts boxes; wire links are
/// dashed and say what is set on each direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    pub(crate) hosts: Vec<(String, Kind, Vec<IpNet>)>,
    pub(crate) edges: Vec<Edge>,
}

impl Network {
    /// A drawing of this network as it is now: its hosts in the order they
    /// were declared (LAN hosts last), routers, NAT routers and LAN hosts
    /// marked, each
    /// link with its interface names and the addresses the topology gave
    /// them (a LAN host's own addresses, on its bridge, in its box), and on
    /// each wire link (`Topology::wire`, feature `wire`) the faults
    /// set on it now, per direction (a cut direction says `cut`).
    ///
    /// Reads no kernel state: the addresses are the topology's
    /// ([`Network::addrs`]), not those added later with
    /// [`Netns::add_addr`](crate::Netns::add_addr). A wire link whose lanes
    /// stay locked (a rule running) for 100 ms shows `(busy)`.
    pub fn diagram(&self) -> Diagram {
        let addrs = |host: &str, link: &str| self.addrs(host, link);
        let hosts = self
            .hosts
            .iter()
            .map(|(name, _)| {
                let kind = if self.lans.contains(name) {
                    Kind::Lan
                } else if self.nats.contains(name) {
                    Kind::Nat
                } else if self.forwarders.contains(name) {
                    Kind::Router
                } else {
                    Kind::Host
                };
                let own = if kind == Kind::Lan {
                    addrs(name, BRIDGE)
                } else {
                    Vec::new()
                };
                (name.clone(), kind, own)
            })
            .collect();
        let end = |(host, link): &(String, String)| End {
            host: host.clone(),
            link: link.clone(),
            addrs: addrs(host, link),
        };
        let plain = self.plain.iter().map(|[a, b]| Edge {
            ends: [end(a), end(b)],
            wire: None,
        });
        let carried = self.carried.iter().map(|c| Edge {
            ends: [end(&c.a), end(&c.b)],
            wire: Some(c.carrier.describe()),
        });
        Diagram {
            hosts,
            edges: plain.chain(carried).collect(),
        }
    }
}

impl Diagram {
    /// The Mermaid flowchart (`graph LR`): a node per host (`n0`, `n1`,
    /// ... in declaration order, labelled with the host's name), an edge
    /// per link labelled `LINK ADDRS -- LINK ADDRS`, wire links dotted
    /// (`-.-`) with a line per direction that has faults.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("graph LR\n");
        for (i, (name, kind, addrs)) in self.hosts.iter().enumerate() {
            let mut label = mermaid_escape(name);
            if *kind != Kind::Host {
                let _ = write!(label, "<br/>{}", kind_word(*kind));
            }
            for a in addrs {
                let _ = write!(label, "<br/>{a}");
            }
            let (open, close) = match kind {
                Kind::Host => ("[", "]"),
                Kind::Router | Kind::Nat => ("{{", "}}"),
                Kind::Lan => ("([", "])"),
            };
            let _ = writeln!(out, "  n{i}{open}\"{label}\"{close}");
        }
        for edge in &self.edges {
            let (Some(a), Some(b)) = (self.index(&edge.ends[0]), self.index(&edge.ends[1])) else {
                continue;
            };
            let mut label = mermaid_escape(&edge_label(edge));
            let line = match &edge.wire {
                None => "---",
                Some(lines) => {
                    for l in lines {
                        let _ = write!(label, "<br/>{}", mermaid_escape(l));
                    }
                    "-.-"
                }
            };
            let _ = writeln!(out, "  n{a} {line}|\"{label}\"| n{b}");
        }
        out
    }

    /// The Graphviz DOT text (`graph network`, left to right): a node per
    /// host (`shape=box`, `hexagon` for a router, `oval` for a LAN host),
    /// an edge per link labelled as in [`Diagram::mermaid`], wire links
    /// `style=dashed`.
    pub fn dot(&self) -> String {
        let mut out = String::from("graph network {\n  rankdir=LR;\n");
        for (i, (name, kind, addrs)) in self.hosts.iter().enumerate() {
            let mut label = name.clone();
            if *kind != Kind::Host {
                let _ = write!(label, "\n{}", kind_word(*kind));
            }
            for a in addrs {
                let _ = write!(label, "\n{a}");
            }
            let shape = match kind {
                Kind::Host => "box",
                Kind::Router | Kind::Nat => "hexagon",
                Kind::Lan => "oval",
            };
            let _ = writeln!(
                out,
                "  n{i} [label=\"{}\", shape={shape}];",
                dot_escape(&label)
            );
        }
        for edge in &self.edges {
            let (Some(a), Some(b)) = (self.index(&edge.ends[0]), self.index(&edge.ends[1])) else {
                continue;
            };
            let mut label = edge_label(edge);
            for l in edge.wire.iter().flatten() {
                let _ = write!(label, "\n{l}");
            }
            let style = if edge.wire.is_some() {
                ", style=dashed"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  n{a} -- n{b} [label=\"{}\"{style}];",
                dot_escape(&label)
            );
        }
        out.push_str("}\n");
        out
    }

    /// The position of an end's host among the hosts.
    pub(crate) fn index(&self, end: &End) -> Option<usize> {
        self.hosts.iter().position(|(h, _, _)| *h == end.host)
    }
}

impl fmt::Display for Diagram {
    /// The Mermaid text ([`Diagram::mermaid`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.mermaid())
    }
}

/// The word a diagram adds under a forwarder's name.
pub(crate) fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Router => "router",
        Kind::Lan => "LAN bridge br0",
        Kind::Nat => "NAT router",
    }
}

/// `eth0 192.0.2.2/24 -- eth0 192.0.2.1/24`: both ends, first end first;
/// `(wire)` ends a wire link's.
pub(crate) fn edge_label(edge: &Edge) -> String {
    let side = |e: &End| {
        let mut s = e.link.clone();
        for a in &e.addrs {
            let _ = write!(s, " {a}");
        }
        s
    };
    let mut label = format!("{} -- {}", side(&edge.ends[0]), side(&edge.ends[1]));
    if edge.wire.is_some() {
        label.push_str(" (wire)");
    }
    label
}

/// Mermaid label text: `"` and the characters of its entity syntax and
/// markup as `#NN;` codes.
fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '#' | '<' | '>' | '&' | '|' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A DOT quoted string's text: `"` and `\` escaped, newlines as `\n`.
fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(host: &str, link: &str, addrs: &[&str]) -> End {
        End {
            host: host.to_owned(),
            link: link.to_owned(),
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    /// client -- router -(wire)- server, and a LAN of the router and a
    /// host named with a quote.
    fn sample() -> Diagram {
        Diagram {
            hosts: vec![
                ("client".into(), Kind::Host, vec![]),
                ("router".into(), Kind::Router, vec![]),
                ("server".into(), Kind::Host, vec![]),
                ("a\"b".into(), Kind::Host, vec![]),
                (
                    "lan".into(),
                    Kind::Lan,
                    vec!["203.0.113.1/24".parse().unwrap()],
                ),
                ("nat".into(), Kind::Nat, vec![]),
            ],
            edges: vec![
                Edge {
                    ends: [
                        end("client", "eth0", &["192.0.2.2/24"]),
                        end("router", "eth0", &["192.0.2.1/24"]),
                    ],
                    wire: None,
                },
                Edge {
                    ends: [end("a\"b", "eth0", &[]), end("lan", "p0", &[])],
                    wire: None,
                },
                Edge {
                    ends: [
                        end("router", "eth1", &["198.51.100.1/24", "2001:db8::1/64"]),
                        end("server", "eth0", &["198.51.100.2/24"]),
                    ],
                    wire: Some(vec![
                        "router/eth1 -> server/eth0: loss 10%, delay 20 ms".into()
                    ]),
                },
                Edge {
                    ends: [end("nowhere", "x", &[]), end("server", "eth1", &[])],
                    wire: None,
                },
            ],
        }
    }

    #[test]
    fn mermaid_marks_kinds_links_and_wire_faults() {
        let want = "graph LR
  n0[\"client\"]
  n1{{\"router<br/>router\"}}
  n2[\"server\"]
  n3[\"a#34;b\"]
  n4([\"lan<br/>LAN bridge br0<br/>203.0.113.1/24\"])
  n5{{\"nat<br/>NAT router\"}}
  n0 ---|\"eth0 192.0.2.2/24 -- eth0 192.0.2.1/24\"| n1
  n3 ---|\"eth0 -- p0\"| n4
  n1 -.-|\"eth1 198.51.100.1/24 2001:db8::1/64 -- eth0 198.51.100.2/24 (wire)<br/>router/eth1 -#62; server/eth0: loss 10%, delay 20 ms\"| n2
";
        assert_eq!(sample().mermaid(), want);
        assert_eq!(sample().to_string(), want);
    }

    #[test]
    fn dot_marks_kinds_links_and_wire_faults() {
        let want = "graph network {
  rankdir=LR;
  n0 [label=\"client\", shape=box];
  n1 [label=\"router\\nrouter\", shape=hexagon];
  n2 [label=\"server\", shape=box];
  n3 [label=\"a\\\"b\", shape=box];
  n4 [label=\"lan\\nLAN bridge br0\\n203.0.113.1/24\", shape=oval];
  n5 [label=\"nat\\nNAT router\", shape=hexagon];
  n0 -- n1 [label=\"eth0 192.0.2.2/24 -- eth0 192.0.2.1/24\"];
  n3 -- n4 [label=\"eth0 -- p0\"];
  n1 -- n2 [label=\"eth1 198.51.100.1/24 2001:db8::1/64 -- eth0 198.51.100.2/24 (wire)\\nrouter/eth1 -> server/eth0: loss 10%, delay 20 ms\", style=dashed];
}
";
        assert_eq!(sample().dot(), want);
    }

    #[test]
    fn a_wire_without_faults_is_dashed_and_says_nothing_more() {
        let d = Diagram {
            hosts: vec![
                ("a".into(), Kind::Host, vec![]),
                ("b".into(), Kind::Host, vec![]),
            ],
            edges: vec![Edge {
                ends: [end("a", "e", &[]), end("b", "e", &[])],
                wire: Some(vec![]),
            }],
        };
        assert!(d.mermaid().ends_with("  n0 -.-|\"e -- e (wire)\"| n1\n"));
        assert!(d
            .dot()
            .ends_with("  n0 -- n1 [label=\"e -- e (wire)\", style=dashed];\n}\n"));
    }

    #[test]
    fn escapes_cover_each_special_character() {
        assert_eq!(mermaid_escape("\"#<>&|x"), "#34;#35;#60;#62;#38;#124;x");
        assert_eq!(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
