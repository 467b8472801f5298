//! The report's drawings as inline SVG, pure, with a layout of our own
//! (no dependency): a network (forwarders in the middle row, other hosts
//! above and below, each link a line labelled with its interfaces,
//! counters and faults) and the packet ladder (a column per host, an
//! arrow per frame). Every text is escaped; sizes are bounded.

use std::fmt::Write as _;

use crate::network::diagram::{edge_label, kind_word, Kind};
use crate::testing::report::html::{cut, escape, Ladder, MAX_FIELD, MAX_ROWS};
use crate::testing::report::NetView;

/// Hosts drawn per network, and links, at most.
const MAX_HOSTS: usize = 32;
const MAX_EDGES: usize = 64;
const BOX_W: usize = 180;
const BOX_H: usize = 56;
const COL: usize = 240;
const ROW: usize = 190;
/// Columns of the ladder, at most (more hosts share the last, `...`).
const MAX_COLUMNS: usize = 12;
const LANE: usize = 150;
const STEP: usize = 20;

/// The SVG of a network at the failure.
pub(crate) fn network(net: &NetView) -> String {
    let d = &net.diagram;
    let hosts = &d.hosts[..d.hosts.len().min(MAX_HOSTS)];
    // Row 1: routers and LAN hosts; rows 0 and 2, in turn: the others.
    let mut rows: [Vec<usize>; 3] = Default::default();
    let mut side = 0;
    for (i, (_, kind, _)) in hosts.iter().enumerate() {
        if *kind == Kind::Host {
            rows[side].push(i);
            side = 2 - side;
        } else {
            rows[1].push(i);
        }
    }
    let mut at = vec![(0usize, 0usize); hosts.len()];
    for (r, row) in rows.iter().enumerate() {
        // Rows are centred on the widest.
        let widest = rows.iter().map(Vec::len).max().unwrap_or(0);
        let offset = (widest - row.len()) * COL / 2;
        for (c, &i) in row.iter().enumerate() {
            at[i] = (30 + offset + c * COL, 40 + r * ROW);
        }
    }
    // Room on the right of the last column for its links' labels.
    let width = rows.iter().map(Vec::len).max().unwrap_or(0) * COL + 60 + 200;
    // Down to the lowest row that has a host, and room for its labels.
    let last_row = rows.iter().rposition(|r| !r.is_empty()).unwrap_or(0);
    let height = 40 + last_row * ROW + BOX_H + 40;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"topology\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"11\">\n"
    );
    let centre = |i: usize| (at[i].0 + BOX_W / 2, at[i].1 + BOX_H / 2);
    for edge in d.edges.iter().take(MAX_EDGES) {
        let (Some(a), Some(b)) = (d.index(&edge.ends[0]), d.index(&edge.ends[1])) else {
            continue;
        };
        if a >= hosts.len() || b >= hosts.len() {
            continue;
        }
        let ((x1, y1), (x2, y2)) = (centre(a), centre(b));
        let style = if edge.wire.is_some() {
            "stroke=\"#c00\" stroke-dasharray=\"6 4\""
        } else {
            "stroke=\"#555\""
        };
        let _ = writeln!(
            out,
            "<g class=\"link\"><line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" {style} \
             stroke-width=\"2\"/>"
        );
        let (mx, my) = ((x1 + x2) / 2, (y1 + y2) / 2);
        let mut lines = vec![(cut(&edge_label(edge), 2 * MAX_FIELD).0.to_owned(), "#000")];
        for end in &edge.ends {
            if let Some(link) = net.link(&end.host, &end.link) {
                let s = &link.stats;
                lines.push((
                    format!(
                        "{}:{} rx {} tx {} drop {}",
                        end.host,
                        end.link,
                        s.rx_packets,
                        s.tx_packets,
                        s.rx_dropped + s.tx_dropped
                    ),
                    "#036",
                ));
            }
        }
        for fault in edge.wire.iter().flatten() {
            lines.push((fault.clone(), "#c00"));
        }
        for (k, (text, colour)) in lines.iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"start\" fill=\"{colour}\" \
                 stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                mx + 8,
                my + 4 + k * 13,
                escape(cut(text, 2 * MAX_FIELD).0)
            );
        }
        out.push_str("</g>\n");
    }
    for (i, (name, kind, addrs)) in hosts.iter().enumerate() {
        let (x, y) = at[i];
        let (fill, rx) = match kind {
            Kind::Host => ("#eef4ff", 4),
            Kind::Router => ("#fff2d6", 20),
            Kind::Lan => ("#e6f6e6", 28),
            Kind::Nat => ("#fde2e2", 20),
        };
        let _ = writeln!(
            out,
            "<g class=\"host\"><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" \
             rx=\"{rx}\" fill=\"{fill}\" stroke=\"#333\"/><text x=\"{}\" y=\"{}\" \
             text-anchor=\"middle\" font-weight=\"bold\" font-size=\"13\">{}</text>",
            x + BOX_W / 2,
            y + 22,
            escape(cut(name, 24).0)
        );
        let mut sub = String::new();
        if *kind != Kind::Host {
            sub.push_str(kind_word(*kind));
        }
        for a in addrs {
            let _ = write!(sub, " {a}");
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            x + BOX_W / 2,
            y + 40,
            escape(cut(sub.trim(), 40).0)
        );
    }
    if d.hosts.len() > MAX_HOSTS {
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"{}\">{} more hosts not drawn</text>",
            height - 8,
            d.hosts.len() - MAX_HOSTS
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The SVG of the packet ladder: time at the left, a column per host, an
/// arrow per frame from its sender's column to its receiver's, labelled;
/// a frame the wire touched in red with the wire's note.
pub(crate) fn ladder(ladder: &Ladder) -> String {
    let columns = ladder.hosts.len().min(MAX_COLUMNS) + 1; // + "elsewhere"
    let col = |i: Option<usize>| i.map_or(columns - 1, |i| i.min(MAX_COLUMNS - 1));
    let x = |c: usize| 110 + c * LANE + LANE / 2;
    let rows = &ladder.rows[..ladder.rows.len().min(MAX_ROWS)];
    // Room on the right for the labels of frames to "elsewhere".
    let width = 110 + columns * LANE + 160;
    let height = 50 + rows.len() * STEP + 10;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"10\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" \
         fill=\"#333\"/></marker></defs>\n"
    );
    for c in 0..columns {
        let name = if c == columns - 1 {
            // Broadcast, multicast, or an address no host of the test has.
            "elsewhere"
        } else if c == MAX_COLUMNS - 1 && ladder.hosts.len() > MAX_COLUMNS {
            "..."
        } else {
            ladder.hosts[c].as_str()
        };
        let _ = writeln!(
            out,
            "<text class=\"column\" x=\"{}\" y=\"20\" text-anchor=\"middle\" \
             font-weight=\"bold\" font-size=\"12\">{}</text><line x1=\"{0}\" y1=\"28\" \
             x2=\"{0}\" y2=\"{}\" stroke=\"#bbb\"/>",
            x(c),
            escape(cut(name, 20).0),
            height - 5
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = 50 + i * STEP;
        let (a, b) = (x(col(row.from)), x(col(row.to)));
        let colour = if row.note.is_some() { "#c00" } else { "#333" };
        let _ = write!(
            out,
            "<g class=\"frame\"><text x=\"4\" y=\"{}\">{:.3}</text>",
            y + 3,
            row.ms
        );
        if a == b {
            let _ = write!(
                out,
                "<circle cx=\"{a}\" cy=\"{y}\" r=\"3\" fill=\"{colour}\"/>"
            );
        } else {
            let _ = write!(
                out,
                "<line x1=\"{a}\" y1=\"{y}\" x2=\"{b}\" y2=\"{y}\" stroke=\"{colour}\" \
                 marker-end=\"url(#arrow)\"/>"
            );
        }
        let mut label = format!("{} {} B", cut(&row.summary, MAX_FIELD).0, row.len);
        if let Some(note) = &row.note {
            let _ = write!(label, " \u{2717} {}", cut(note, MAX_FIELD).0);
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\">{}</text></g>",
            (a + b) / 2,
            y - 3,
            escape(&label)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::diagram::{Diagram, Edge, End};
    use crate::testing::report::html::Row;

    fn net() -> NetView {
        let end = |h: &str, l: &str| End {
            host: h.into(),
            link: l.into(),
            addrs: vec![],
        };
        NetView {
            diagram: Diagram {
                hosts: vec![
                    ("client".into(), Kind::Host, vec![]),
                    ("r<1>".into(), Kind::Router, vec![]),
                    ("server".into(), Kind::Host, vec![]),
                ],
                edges: vec![
                    Edge {
                        ends: [end("client", "eth0"), end("r<1>", "eth0")],
                        wire: None,
                    },
                    Edge {
                        ends: [end("r<1>", "eth1"), end("server", "eth0")],
                        wire: Some(vec!["r<1>/eth1 -> server/eth0: loss 10%".into()]),
                    },
                ],
            },
            links: vec![],
        }
    }

    #[test]
    fn a_network_has_its_hosts_links_and_faults_escaped() {
        let svg = network(&net());
        assert!(svg.contains(">client</text>"));
        assert!(svg.contains(">r&lt;1&gt;</text>"));
        assert!(svg.contains(">router</text>"));
        assert_eq!(svg.matches("<g class=\"link\">").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.contains("r&lt;1&gt;/eth1 -&gt; server/eth0: loss 10%"));
        assert!(!svg.contains("<1>"));
    }

    #[test]
    fn a_ladder_marks_what_the_wire_did() {
        let l = Ladder {
            hosts: vec!["client".into(), "server".into()],
            rows: vec![
                Row {
                    ms: 0.0,
                    at: "client/eth0".into(),
                    from: Some(0),
                    to: Some(1),
                    summary: "TCP 40000 > 80 [SYN]".into(),
                    len: 74,
                    note: None,
                },
                Row {
                    ms: 1.25,
                    at: "client/eth0".into(),
                    from: Some(1),
                    to: None,
                    summary: "UDP".into(),
                    len: 60,
                    note: Some("dropped by loss".into()),
                },
            ],
            left_out: 0,
            error: None,
        };
        let svg = ladder(&l);
        assert_eq!(svg.matches("<g class=\"frame\">").count(), 2);
        assert!(svg.contains(">TCP 40000 &gt; 80 [SYN] 74 B</text>"));
        assert!(svg.contains("fill=\"#c00\">UDP 60 B \u{2717} dropped by loss</text>"));
        assert!(svg.contains(">1.250</text>"));
        assert!(svg.contains(">elsewhere</text>"));
    }
}
