//! The packet ladder of a report: the test's capture file read back
//! (pcapng, feature `capture`), its first frames as rows: when, where
//! seen, from which host to which (by the addresses the topology gave),
//! protocol, ports, TCP flags, length, and the wire's note on the frame
//! (its packet comment, `wire/capture.rs`).

use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};

use crate::testing::report::html::{Ladder, Row, MAX_ROWS};
use crate::testing::report::NetView;
use crate::wire::frame::Frame;

/// The ladder of the capture at `path`, hosts named after `networks`.
pub(crate) fn read(path: &Path, networks: &[NetView]) -> Ladder {
    let mut ladder = Ladder::default();
    let mut addrs: Vec<(IpAddr, usize)> = Vec::new();
    for net in networks {
        for (name, _, own) in &net.diagram.hosts {
            let col = column(&mut ladder.hosts, name);
            addrs.extend(own.iter().map(|a| (a.addr(), col)));
        }
        for end in net.diagram.edges.iter().flat_map(|e| e.ends.iter()) {
            let col = column(&mut ladder.hosts, &end.host);
            addrs.extend(end.addrs.iter().map(|a| (a.addr(), col)));
        }
    }
    let host_of = |ip: Option<IpAddr>| {
        let ip = ip?;
        addrs.iter().find(|(a, _)| *a == ip).map(|(_, c)| *c)
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            ladder.error = Some(format!("open {}: {e}", path.display()));
            return ladder;
        }
    };
    let mut reader = match PcapNgReader::new(std::io::BufReader::new(file)) {
        Ok(r) => r,
        Err(e) => {
            ladder.error = Some(format!("read {}: {e}", path.display()));
            return ladder;
        }
    };
    let mut interfaces: Vec<String> = Vec::new();
    let mut first: Option<Duration> = None;
    while let Some(block) = reader.next_block() {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                ladder.error = Some(format!("read {}: {e}", path.display()));
                break;
            }
        };
        match block {
            Block::InterfaceDescription(idb) => {
                let name = idb.options.iter().find_map(|o| match o {
                    InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                    _ => None,
                });
                interfaces.push(name.unwrap_or_else(|| format!("if{}", interfaces.len())));
            }
            Block::EnhancedPacket(epb) => {
                if ladder.rows.len() >= MAX_ROWS {
                    ladder.left_out += 1;
                    continue;
                }
                let start = *first.get_or_insert(epb.timestamp);
                let at = interfaces
                    .get(epb.interface_id as usize)
                    .cloned()
                    .unwrap_or_default();
                let frame = Frame::parse(&epb.data);
                let seen_host = at.split('/').next().unwrap_or_default();
                let (mut from, to) = (host_of(frame.src()), host_of(frame.dst()));
                if frame.src().is_none() {
                    from = ladder.hosts.iter().position(|h| h == seen_host);
                }
                let note = epb.options.iter().find_map(|o| match o {
                    EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                    _ => None,
                });
                ladder.rows.push(Row {
                    ms: epb.timestamp.saturating_sub(start).as_secs_f64() * 1000.0,
                    at,
                    from,
                    to,
                    summary: summary(&frame),
                    len: epb.original_len as usize,
                    note,
                });
            }
            _ => {}
        }
    }
    ladder
}

/// The column of host `name`, added if new.
fn column(hosts: &mut Vec<String>, name: &str) -> usize {
    match hosts.iter().position(|h| h == name) {
        Some(i) => i,
        None => {
            hosts.push(name.to_owned());
            hosts.len() - 1
        }
    }
}

/// `TCP 40000 > 8080 [SYN,ACK]`, `UDP 5353 > 53`, `ICMP type 8`, `ARP`,
/// `IPv6 proto 0`, `ether 0x88cc`.
pub(crate) fn summary(frame: &Frame<'_>) -> String {
    let ports = match (frame.src_port(), frame.dst_port()) {
        (Some(s), Some(d)) => format!(" {s} > {d}"),
        _ => String::new(),
    };
    match (frame.ether_type(), frame.protocol()) {
        (_, Some(6)) => {
            let flags = frame.tcp_flags().unwrap_or(0);
            let names: Vec<&str> = [
                (0x02, "SYN"),
                (0x10, "ACK"),
                (0x01, "FIN"),
                (0x04, "RST"),
                (0x08, "PSH"),
            ]
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, name)| *name)
            .collect();
            format!("TCP{ports} [{}]", names.join(","))
        }
        (_, Some(17)) => format!("UDP{ports}"),
        (_, Some(1 | 58)) => format!("ICMP type {}", frame.icmp_type().unwrap_or(0)),
        (Some(0x0800), Some(p)) => format!("IPv4 proto {p}"),
        (Some(0x86dd), Some(p)) => format!("IPv6 proto {p}"),
        (Some(0x0806), _) => "ARP".to_owned(),
        (Some(t), _) => format!("ether 0x{t:04x}"),
        (None, _) => "short frame".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP SYN|ACK frame from 192.0.2.1:40000 to
    /// 192.0.2.2:80.
    fn syn_ack() -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[23] = 6;
        f[26..30].copy_from_slice(&[192, 0, 2, 1]);
        f[30..34].copy_from_slice(&[192, 0, 2, 2]);
        f[34..36].copy_from_slice(&40000u16.to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f[46] = 0x50;
        f[47] = 0x12;
        f
    }

    #[test]
    fn a_tcp_frame_shows_ports_and_flags() {
        assert_eq!(
            summary(&Frame::parse(&syn_ack())),
            "TCP 40000 > 80 [SYN,ACK]"
        );
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(summary(&Frame::parse(&arp)), "ARP");
        assert_eq!(summary(&Frame::parse(&[0u8; 4])), "short frame");
    }

    #[test]
    fn a_missing_file_is_an_error_in_the_ladder() {
        let l = read(Path::new("/nonexistent/capture.pcapng"), &[]);
        assert!(l
            .error
            .unwrap()
            .starts_with("open /nonexistent/capture.pcapng"));
    }
}
