//! Ready-made per-frame rules: [`Match`], which frames a rule is about,
//! and what to do with them (drop, drop after N, hold, delay). Pure: a
//! `Match` tests a parsed [`Frame`]; its verdict methods return the
//! closures [`Wire::rule`](crate::Wire::rule) takes.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::wire::frame::{Frame, Verdict};

/// Which frames a ready-made rule is about: every condition set must hold
/// (`Match::tcp().port(80).syn()`: TCP segments opening a connection from
/// or to port 80). Then a verdict method gives the rule for
/// [`Wire::rule`](crate::Wire::rule):
///
/// ```
/// # #[cfg(feature = "wire")]
/// # fn demo(wire: netns_test::Wire<'_>) {
/// use netns_test::{Direction, Match};
/// // New connections to port 80 time out; open ones go on.
/// let _no_new = wire.rule(Direction::Out, Match::tcp().dst_port(80).syn().drop());
/// // One UDP flow loses everything after its first 10 datagrams.
/// let to = "192.0.2.2".parse().unwrap();
/// let _flaky = wire.rule(Direction::Out, Match::udp().to(to).port(9000).drop_after(10));
/// // A path-MTU black hole: packets over 1400 bytes that may not be
/// // fragmented vanish, and no ICMP "fragmentation needed" comes back.
/// let _hole = wire.rule(Direction::Both, Match::black_hole(1400).drop());
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Match {
    protocol: Option<u8>,
    from: Option<IpAddr>,
    to: Option<IpAddr>,
    port: Option<u16>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    syn: bool,
    larger_than: Option<usize>,
    unfragmentable: bool,
}

/// Whether a condition `want` is unset or met by `got`.
fn is<T: PartialEq>(want: Option<T>, got: Option<T>) -> bool {
    want.is_none() || want == got
}

impl Match {
    /// Every frame (ARP and neighbour discovery included).
    pub fn any() -> Match {
        Match::default()
    }

    /// TCP segments (IP protocol 6).
    pub fn tcp() -> Match {
        Match::any().protocol(6)
    }

    /// UDP datagrams (IP protocol 17).
    pub fn udp() -> Match {
        Match::any().protocol(17)
    }

    /// The IP packets over `mtu` bytes (IP length) that a router may not
    /// fragment (IPv4 with DF, IPv6): what a path-MTU black hole drops.
    pub fn black_hole(mtu: usize) -> Match {
        Match::any().larger_than(mtu).unfragmentable()
    }

    /// IP packets of protocol `protocol` (IPv6: next header; 1 ICMP, 58
    /// ICMPv6).
    pub fn protocol(mut self, protocol: u8) -> Match {
        self.protocol = Some(protocol);
        self
    }

    /// IP packets from `addr`.
    pub fn from(mut self, addr: IpAddr) -> Match {
        self.from = Some(addr);
        self
    }

    /// IP packets to `addr`.
    pub fn to(mut self, addr: IpAddr) -> Match {
        self.to = Some(addr);
        self
    }

    /// TCP or UDP with `port` as its source or destination port: both ways
    /// of a flow to a service.
    pub fn port(mut self, port: u16) -> Match {
        self.port = Some(port);
        self
    }

    /// TCP or UDP from port `port`.
    pub fn src_port(mut self, port: u16) -> Match {
        self.src_port = Some(port);
        self
    }

    /// TCP or UDP to port `port`.
    pub fn dst_port(mut self, port: u16) -> Match {
        self.dst_port = Some(port);
        self
    }

    /// TCP segments opening a connection only: SYN without ACK
    /// ([`Frame::is_syn`]).
    pub fn syn(mut self) -> Match {
        self.syn = true;
        self
    }

    /// IP packets longer than `bytes` ([`Frame::ip_len`]).
    pub fn larger_than(mut self, bytes: usize) -> Match {
        self.larger_than = Some(bytes);
        self
    }

    /// IP packets a router may not fragment ([`Frame::unfragmentable`]).
    pub fn unfragmentable(mut self) -> Match {
        self.unfragmentable = true;
        self
    }

    /// Whether `frame` meets every condition set.
    #[allow(clippy::unnecessary_map_or)] // `is_none_or` needs Rust 1.82
    pub fn matches(&self, frame: &Frame<'_>) -> bool {
        let ports = [frame.src_port(), frame.dst_port()];
        is(self.protocol, frame.protocol())
            && is(self.from, frame.src())
            && is(self.to, frame.dst())
            && (self.port.is_none() || ports.contains(&self.port))
            && is(self.src_port, frame.src_port())
            && is(self.dst_port, frame.dst_port())
            && (!self.syn || frame.is_syn())
            && self
                .larger_than
                .map_or(true, |n| frame.ip_len().is_some_and(|len| len > n))
            && (!self.unfragmentable || frame.unfragmentable())
    }

    /// A rule giving `verdict` to the frames matched, [`Verdict::Pass`] to
    /// the others.
    pub fn verdict(self, verdict: Verdict) -> impl Fn(&Frame<'_>) -> Verdict + Send + Sync {
        move |frame| match self.matches(frame) {
            true => verdict,
            false => Verdict::Pass,
        }
    }

    /// A rule dropping the frames matched.
    pub fn drop(self) -> impl Fn(&Frame<'_>) -> Verdict + Send + Sync {
        self.verdict(Verdict::Drop)
    }

    /// A rule holding the frames matched until released
    /// ([`Wire::release`](crate::Wire::release)).
    pub fn hold(self) -> impl Fn(&Frame<'_>) -> Verdict + Send + Sync {
        self.verdict(Verdict::Hold)
    }

    /// A rule delaying the frames matched by `delay` (skipping the seeded
    /// faults).
    pub fn delay(self, delay: Duration) -> impl Fn(&Frame<'_>) -> Verdict + Send + Sync {
        self.verdict(Verdict::Delay(delay))
    }

    /// A rule passing the first `n` frames matched and dropping every one
    /// after, counted from when the rule is added (with `Direction::Both`,
    /// the frames of both ways count together).
    pub fn drop_after(self, n: u64) -> impl Fn(&Frame<'_>) -> Verdict + Send + Sync {
        let seen = AtomicU64::new(0);
        move |frame| {
            if !self.matches(frame) || seen.fetch_add(1, Ordering::Relaxed) < n {
                return Verdict::Pass;
            }
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 frame from 192.0.2.1 to 192.0.2.2: TCP (`flags`) or UDP
    /// (`flags` None) between ports 40000 and `port`, `len` bytes of IP
    /// packet, DF if `df`.
    fn frame(flags: Option<u8>, port: u16, len: usize, df: bool) -> Vec<u8> {
        let mut f = vec![0u8; 14 + len.max(40)];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&(len as u16).to_be_bytes());
        f[20] = if df { 0x40 } else { 0 };
        f[23] = if flags.is_some() { 6 } else { 17 };
        f[26..34].copy_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        f[34..36].copy_from_slice(&40_000u16.to_be_bytes());
        f[36..38].copy_from_slice(&port.to_be_bytes());
        f[47] = flags.unwrap_or(0);
        f
    }

    fn is(m: Match, bytes: &[u8]) -> bool {
        m.matches(&Frame::parse(bytes))
    }

    const SYN: Option<u8> = Some(0x02);
    const ACK: Option<u8> = Some(0x10);

    #[test]
    fn every_condition_must_hold() {
        let syn80 = frame(SYN, 80, 40, true);
        let ack80 = frame(ACK, 80, 40, true);
        let udp80 = frame(None, 80, 40, true);
        assert!(is(Match::any(), &syn80) && is(Match::any(), &[]));
        assert!(is(Match::tcp(), &syn80) && !is(Match::tcp(), &udp80));
        assert!(is(Match::udp(), &udp80) && !is(Match::udp(), &syn80));
        assert!(is(Match::tcp().syn(), &syn80) && !is(Match::tcp().syn(), &ack80));
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(is(Match::any().from(a).to(b), &syn80));
        assert!(!is(Match::any().from(b), &syn80) && !is(Match::any().to(a), &syn80));
        // `port` matches either end; `src_port`, `dst_port` one each.
        assert!(is(Match::any().port(80), &syn80) && is(Match::any().port(40_000), &syn80));
        assert!(!is(Match::any().port(81), &syn80));
        assert!(is(Match::any().dst_port(80), &syn80) && !is(Match::any().src_port(80), &syn80));
        assert!(is(Match::any().src_port(40_000), &syn80));
        assert!(!is(Match::any().dst_port(40_000), &syn80));
        // A frame without ports matches no port condition.
        assert!(!is(Match::any().port(80), &[0u8; 60]));
    }

    #[test]
    fn a_black_hole_takes_big_unfragmentable_packets_only() {
        let hole = Match::black_hole(1400);
        assert!(is(hole, &frame(None, 9, 1401, true)));
        assert!(!is(hole, &frame(None, 9, 1400, true)), "at the MTU");
        assert!(!is(hole, &frame(None, 9, 1401, false)), "may be fragmented");
        assert!(!is(hole, &frame(None, 9, 100, true)));
        assert!(!is(Match::any().larger_than(10), &[0u8; 60]), "not IP");
    }

    #[test]
    fn verdicts_go_to_matched_frames_only() {
        let (hit, miss) = (frame(None, 9, 40, false), frame(None, 10, 40, false));
        let m = Match::udp().dst_port(9);
        let d = Duration::from_millis(3);
        for (rule, want) in [
            (
                Box::new(m.drop()) as Box<dyn Fn(&Frame<'_>) -> Verdict>,
                Verdict::Drop,
            ),
            (Box::new(m.hold()), Verdict::Hold),
            (Box::new(m.delay(d)), Verdict::Delay(d)),
        ] {
            assert_eq!(rule(&Frame::parse(&hit)), want);
            assert_eq!(rule(&Frame::parse(&miss)), Verdict::Pass);
        }
    }

    #[test]
    fn drop_after_passes_the_first_n_matched() {
        let (hit, miss) = (frame(None, 9, 40, false), frame(None, 10, 40, false));
        let rule = Match::udp().dst_port(9).drop_after(2);
        let got: Vec<Verdict> = [&hit, &miss, &hit, &miss, &hit, &hit]
            .iter()
            .map(|f| rule(&Frame::parse(f)))
            .collect();
        use Verdict::{Drop, Pass};
        assert_eq!(got, [Pass, Pass, Pass, Pass, Drop, Drop]);
        let never = Match::any().drop_after(0);
        assert_eq!(never(&Frame::parse(&hit)), Drop);
    }
}
