//! A frame on a wire link with its headers parsed, as a per-frame rule
//! sees it ([`Frame`]), what a rule decides ([`Verdict`]), and the small
//! Ethernet and IP helpers `identity.rs` shares. Pure: bytes in, fields
//! out; a frame too short for a header simply lacks that header's fields.

use std::net::IpAddr;
use std::time::Duration;

/// Ethernet types (IEEE 802 numbers, linux/if_ether.h).
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;

/// TCP flags (RFC 9293 3.1).
pub(crate) const SYN: u8 = 0x02;
pub(crate) const ACK: u8 = 0x10;

/// An IP packet inside an Ethernet frame.
pub(crate) struct Ip<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) protocol: u8,
    /// IPv4: the DF bit.
    pub(crate) df: bool,
    /// The IP packet's length as its header says (IPv4 total length, IPv6
    /// 40 + payload length).
    pub(crate) len: usize,
    /// What follows the IP header, cut at the length the header says.
    pub(crate) payload: &'a [u8],
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The Ethernet type (after one VLAN tag, if any) and what follows it.
pub(crate) fn ethernet(frame: &[u8]) -> Option<(u16, &[u8])> {
    let kind = be16(frame, 12)?;
    if kind == ETH_P_8021Q {
        return Some((be16(frame, 16)?, frame.get(18..)?));
    }
    Some((kind, frame.get(14..)?))
}

/// The IP packet after an Ethernet type `kind`, if it is IPv4 or IPv6 and
/// its fixed header is all there (extension headers of IPv6 are not
/// followed: their protocol is the next header's number, 0 for hop-by-hop).
pub(crate) fn ip(kind: u16, packet: &[u8]) -> Option<Ip<'_>> {
    match kind {
        ETH_P_IP => {
            let header = usize::from(packet.first()? & 0x0f) * 4;
            let len = usize::from(be16(packet, 2)?);
            let src: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(Ip {
                src: IpAddr::from(src),
                dst: IpAddr::from(dst),
                protocol: *packet.get(9)?,
                df: be16(packet, 6)? & 0x4000 != 0,
                len,
                payload: packet.get(header..len.min(packet.len()))?,
            })
        }
        ETH_P_IPV6 => {
            let len = 40 + usize::from(be16(packet, 4)?);
            let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(Ip {
                src: IpAddr::from(src),
                dst: IpAddr::from(dst),
                protocol: *packet.get(6)?,
                df: false,
                len,
                payload: packet.get(40..len.min(packet.len()))?,
            })
        }
        _ => None,
    }
}

/// A frame crossing a wire link, with its headers parsed: what a rule
/// ([`Wire::rule`](crate::Wire::rule)) looks at. Each field is `None`
/// (or `false`) when the frame does not have that header, or is too short
/// to hold all of it. One VLAN tag (802.1Q) is looked through; IPv6
/// extension headers are not (the protocol is then the first extension's
/// number and the frame has no ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    bytes: &'a [u8],
    ether_type: Option<u16>,
    vlan: Option<u16>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    protocol: Option<u8>,
    ip_len: Option<usize>,
    df: bool,
    ports: Option<(u16, u16)>,
    tcp_flags: Option<u8>,
    icmp_type: Option<u8>,
}

impl<'a> Frame<'a> {
    /// Parses the Ethernet frame `bytes` (from the destination MAC on, no
    /// preamble or FCS, as a packet socket reads it). Never fails: what
    /// cannot be parsed is absent.
    pub fn parse(bytes: &'a [u8]) -> Frame<'a> {
        let mut f = Frame {
            bytes,
            ether_type: None,
            vlan: None,
            src: None,
            dst: None,
            protocol: None,
            ip_len: None,
            df: false,
            ports: None,
            tcp_flags: None,
            icmp_type: None,
        };
        let Some((kind, packet)) = ethernet(bytes) else {
            return f;
        };
        f.ether_type = Some(kind);
        if be16(bytes, 12) == Some(ETH_P_8021Q) {
            f.vlan = be16(bytes, 14).map(|tci| tci & 0x0fff);
        }
        let Some(ip) = ip(kind, packet) else {
            return f;
        };
        (f.src, f.dst, f.protocol) = (Some(ip.src), Some(ip.dst), Some(ip.protocol));
        (f.ip_len, f.df) = (Some(ip.len), ip.df);
        let p = ip.payload;
        match ip.protocol {
            6 | 17 => {
                f.ports = be16(p, 0).zip(be16(p, 2));
                if ip.protocol == 6 {
                    f.tcp_flags = p.get(13).copied();
                }
            }
            1 | 58 => f.icmp_type = p.first().copied(),
            _ => {}
        }
        f
    }

    /// The whole frame, Ethernet header included.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The frame's length in bytes, Ethernet header included.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the frame has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The Ethernet type (`0x0800` IPv4, `0x86dd` IPv6, `0x0806` ARP),
    /// after a VLAN tag if there is one.
    pub fn ether_type(&self) -> Option<u16> {
        self.ether_type
    }

    /// The VLAN id of an 802.1Q-tagged frame.
    pub fn vlan(&self) -> Option<u16> {
        self.vlan
    }

    /// The IPv4 or IPv6 source address.
    pub fn src(&self) -> Option<IpAddr> {
        self.src
    }

    /// The IPv4 or IPv6 destination address.
    pub fn dst(&self) -> Option<IpAddr> {
        self.dst
    }

    /// The IP protocol (IPv6: next header): 6 TCP, 17 UDP, 1 ICMP, 58
    /// ICMPv6.
    pub fn protocol(&self) -> Option<u8> {
        self.protocol
    }

    /// The IP packet's length in bytes as its header says (IPv4 total
    /// length; IPv6 40 plus the payload length): what a path MTU limits.
    pub fn ip_len(&self) -> Option<usize> {
        self.ip_len
    }

    /// Whether an IPv4 packet has Don't Fragment set (always `false` for
    /// IPv6, which routers never fragment: see [`Frame::unfragmentable`]).
    pub fn dont_fragment(&self) -> bool {
        self.df
    }

    /// Whether a router on the path may not fragment this packet: IPv4
    /// with DF set, or any IPv6 packet.
    pub fn unfragmentable(&self) -> bool {
        self.df || matches!(self.dst, Some(IpAddr::V6(_)))
    }

    /// The TCP or UDP source port.
    pub fn src_port(&self) -> Option<u16> {
        self.ports.map(|p| p.0)
    }

    /// The TCP or UDP destination port.
    pub fn dst_port(&self) -> Option<u16> {
        self.ports.map(|p| p.1)
    }

    /// The TCP flags byte (`0x02` SYN, `0x10` ACK, `0x01` FIN, `0x04`
    /// RST), for TCP only.
    pub fn tcp_flags(&self) -> Option<u8> {
        self.tcp_flags
    }

    /// Whether this is a TCP segment opening a connection: SYN set, ACK
    /// not (the client's first segment and its retransmissions).
    pub fn is_syn(&self) -> bool {
        self.tcp_flags.is_some_and(|f| f & (SYN | ACK) == SYN)
    }

    /// The ICMP or ICMPv6 type (8 echo request, 0 echo reply; ICMPv6 128
    /// and 129).
    pub fn icmp_type(&self) -> Option<u8> {
        self.icmp_type
    }
}

/// What a per-frame rule decides for a frame ([`Wire::rule`](crate::Wire::rule)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not this rule's business: the next rule decides, and after the
    /// last one the direction's seeded faults.
    Pass,
    /// The frame vanishes (counted in [`LaneStats::rule_drops`](crate::LaneStats::rule_drops)).
    Drop,
    /// The frame leaves after this long, skipping the seeded faults; it may
    /// overtake frames ahead of it.
    Delay(Duration),
    /// The frame is held, in order, until released
    /// ([`Wire::release`](crate::Wire::release)).
    Hold,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const FIN: u8 = 0x01;
    const RST: u8 = 0x04;

    /// An Ethernet frame of type `kind` around `packet`, tagged with VLAN
    /// `vlan` if given.
    fn eth(kind: u16, vlan: Option<u16>, packet: &[u8]) -> Vec<u8> {
        let mut f = vec![0xaa; 12];
        if let Some(id) = vlan {
            f.extend_from_slice(&ETH_P_8021Q.to_be_bytes());
            f.extend_from_slice(&(0x2000 | id).to_be_bytes());
        }
        f.extend_from_slice(&kind.to_be_bytes());
        f.extend_from_slice(packet);
        f
    }

    /// An IPv4 packet from 192.0.2.1 to 192.0.2.2 (DF if `df`).
    fn v4(protocol: u8, df: bool, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x45,
            0,
            0,
            0,
            0,
            0,
            if df { 0x40 } else { 0 },
            0,
            64,
            protocol,
            0,
            0,
        ];
        p[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        p.extend_from_slice(payload);
        p
    }

    /// An IPv6 packet from 2001:db8::1 to 2001:db8::2.
    fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        p.extend_from_slice(payload);
        p
    }

    fn tcp(ports: (u16, u16), flags: u8, data: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&ports.0.to_be_bytes());
        t.extend_from_slice(&ports.1.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t.extend_from_slice(data);
        t
    }

    fn udp(ports: (u16, u16), data: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        u.extend_from_slice(&ports.0.to_be_bytes());
        u.extend_from_slice(&ports.1.to_be_bytes());
        u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(data);
        u
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_tcp_syn_over_ipv4_with_df() {
        let bytes = eth(ETH_P_IP, None, &v4(6, true, &tcp((40_000, 80), SYN, b"")));
        let f = Frame::parse(&bytes);
        assert_eq!(f.bytes(), &bytes[..]);
        assert_eq!((f.len(), f.is_empty()), (54, false));
        assert_eq!(f.ether_type(), Some(0x0800));
        assert_eq!((f.vlan(), f.src(), f.dst()), (None, Some(A), Some(B)));
        assert_eq!((f.protocol(), f.ip_len()), (Some(6), Some(40)));
        assert!(f.dont_fragment() && f.unfragmentable());
        assert_eq!((f.src_port(), f.dst_port()), (Some(40_000), Some(80)));
        assert_eq!((f.tcp_flags(), f.icmp_type()), (Some(SYN), None));
        assert!(f.is_syn());
        // SYN+ACK, ACK, FIN, RST: not a connection's first segment.
        for flags in [SYN | ACK, ACK, FIN | ACK, RST] {
            let bytes = eth(
                ETH_P_IP,
                None,
                &v4(6, false, &tcp((80, 40_000), flags, b"x")),
            );
            let f = Frame::parse(&bytes);
            assert_eq!(f.tcp_flags(), Some(flags));
            assert!(!f.is_syn() && !f.dont_fragment() && !f.unfragmentable());
            assert_eq!(f.ip_len(), Some(41));
        }
    }

    #[test]
    fn udp_has_ports_and_no_flags() {
        let bytes = eth(ETH_P_IP, None, &v4(17, false, &udp((5000, 53), b"query")));
        let f = Frame::parse(&bytes);
        assert_eq!((f.protocol(), f.ip_len()), (Some(17), Some(33)));
        assert_eq!((f.src_port(), f.dst_port()), (Some(5000), Some(53)));
        assert_eq!((f.tcp_flags(), f.icmp_type()), (None, None));
        assert!(!f.is_syn());
    }

    #[test]
    fn icmp_and_icmpv6_have_a_type_and_no_ports() {
        let bytes = eth(ETH_P_IP, None, &v4(1, true, &[8, 0, 0, 0, 0, 1, 0, 1]));
        let f = Frame::parse(&bytes);
        assert_eq!(
            (f.protocol(), f.icmp_type(), f.src_port()),
            (Some(1), Some(8), None)
        );
        let bytes = eth(ETH_P_IPV6, None, &v6(58, &[129, 0, 0, 0]));
        let f = Frame::parse(&bytes);
        assert_eq!(
            (f.protocol(), f.icmp_type(), f.dst_port()),
            (Some(58), Some(129), None)
        );
    }

    #[test]
    fn ipv6_has_its_addresses_and_length_and_is_never_fragmented_on_the_way() {
        let bytes = eth(ETH_P_IPV6, None, &v6(17, &udp((1, 2), &[0; 100])));
        let f = Frame::parse(&bytes);
        assert_eq!(f.ether_type(), Some(0x86dd));
        assert_eq!(f.src(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(f.dst(), Some("2001:db8::2".parse().unwrap()));
        assert_eq!(
            (f.ip_len(), f.src_port(), f.dst_port()),
            (Some(148), Some(1), Some(2))
        );
        assert!(!f.dont_fragment() && f.unfragmentable());
    }

    #[test]
    fn a_vlan_tag_is_looked_through() {
        let bytes = eth(ETH_P_IP, Some(42), &v4(17, false, &udp((7, 9), b"")));
        let f = Frame::parse(&bytes);
        assert_eq!((f.vlan(), f.ether_type()), (Some(42), Some(0x0800)));
        assert_eq!((f.src(), f.dst_port()), (Some(A), Some(9)));
        let arp = eth(0x0806, Some(7), &[0; 28]);
        let arp = Frame::parse(&arp);
        assert_eq!(
            (arp.vlan(), arp.ether_type(), arp.src()),
            (Some(7), Some(0x0806), None)
        );
    }

    #[test]
    fn truncated_frames_lack_what_is_cut_off() {
        let whole = eth(ETH_P_IP, None, &v4(6, true, &tcp((40_000, 80), SYN, b"")));
        // Cut in the TCP header after the ports: ports, no flags.
        let f = Frame::parse(&whole[..38]);
        assert_eq!((f.src_port(), f.tcp_flags()), (Some(40_000), None));
        assert!(!f.is_syn());
        // Cut in the ports: addresses, no ports.
        let f = Frame::parse(&whole[..36]);
        assert_eq!(
            (f.src(), f.dst_port(), f.protocol()),
            (Some(A), None, Some(6))
        );
        // Cut in the IP header: an Ethernet type alone.
        let f = Frame::parse(&whole[..30]);
        assert_eq!(
            (f.ether_type(), f.src(), f.protocol(), f.ip_len()),
            (Some(0x0800), None, None, None)
        );
        assert!(!f.dont_fragment());
        // Cut in the Ethernet header, or nothing at all.
        for len in [0, 13] {
            let f = Frame::parse(&whole[..len]);
            assert_eq!((f.ether_type(), f.len()), (None, len));
            assert_eq!(f.is_empty(), len == 0);
        }
        // A VLAN tag with nothing after it.
        let tagged = eth(ETH_P_IP, Some(3), &[]);
        assert_eq!(Frame::parse(&tagged[..16]).ether_type(), None);
        // An IPv6 header cut short; a length beyond the bytes there.
        let six = eth(ETH_P_IPV6, None, &v6(17, &udp((1, 2), b"")));
        assert_eq!(Frame::parse(&six[..50]).src(), None);
        let mut long = eth(ETH_P_IP, None, &v4(17, false, &udp((1, 2), b"")));
        long[16..18].copy_from_slice(&1500u16.to_be_bytes());
        let f = Frame::parse(&long);
        assert_eq!((f.ip_len(), f.dst_port()), (Some(1500), Some(2)));
    }

    #[test]
    fn ipv4_options_move_the_transport_header() {
        let mut options = vec![0, 0, 0, 0];
        options.extend_from_slice(&udp((11, 22), b""));
        let mut p = v4(17, false, &options);
        p[0] = 0x46; // a 24-byte header: the first 4 bytes of "payload" are options
        let bytes = eth(ETH_P_IP, None, &p);
        let f = Frame::parse(&bytes);
        assert_eq!((f.src_port(), f.dst_port()), (Some(11), Some(22)));
    }
}
