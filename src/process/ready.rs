//! Readiness: wait until a socket listens in a namespace, as the kernel's
//! socket table shows it (`NETLINK_SOCK_DIAG`, sock_diag(7)), not by
//! connecting (a connection would be a request the server sees, and a
//! refused one is indistinguishable from a slow start).

use std::net::{IpAddr, SocketAddr};

use crate::kernel::sock_diag::Transport;

/// A socket to wait for with [`Process::wait_for`](crate::Process::wait_for):
/// a TCP socket in state `LISTEN`, or a bound UDP socket, on a port, and
/// optionally on one address.
///
/// ```
/// use netns_test::Listening;
/// let any = Listening::tcp(8080); // 0.0.0.0:8080, [::]:8080, 192.0.2.1:8080, ...
/// let one = Listening::udp(53).on("198.51.100.2".parse().unwrap());
/// # let _ = (any, one);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    pub(crate) transport: Transport,
    port: u16,
    addr: Option<IpAddr>,
}

impl Listening {
    /// A TCP socket listening on `port`, on any address.
    pub fn tcp(port: u16) -> Listening {
        Listening {
            transport: Transport::Tcp,
            port,
            addr: None,
        }
    }

    /// A UDP socket bound to `port`, on any address.
    pub fn udp(port: u16) -> Listening {
        Listening {
            transport: Transport::Udp,
            port,
            addr: None,
        }
    }

    /// Only a socket that accepts traffic for `addr`: bound to `addr`, or to
    /// the wildcard of its family (`0.0.0.0`, `::`), or to `::` for an IPv4
    /// address (a dual-stack socket).
    pub fn on(mut self, addr: IpAddr) -> Listening {
        self.addr = Some(addr);
        self
    }

    /// Whether a socket bound to `local` is one of these.
    pub(crate) fn matches(&self, local: &SocketAddr) -> bool {
        if local.port() != self.port {
            return false;
        }
        let Some(want) = self.addr else {
            return true;
        };
        let bound = local.ip();
        bound == want
            || bound.is_unspecified() && (bound.is_ipv6() || want.is_ipv4())
            || matches!((bound, want), (IpAddr::V6(v6), IpAddr::V4(v4)) if v6.to_ipv4_mapped() == Some(v4))
    }
}

impl std::fmt::Display for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.transport {
            Transport::Tcp => "a TCP socket listening",
            Transport::Udp => "a UDP socket bound",
        };
        match self.addr {
            Some(addr) => write!(f, "{what} on {}", SocketAddr::new(addr, self.port)),
            None => write!(f, "{what} on port {}", self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_their_family() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let want = Listening::tcp(80).on(v4);
        assert!(want.matches(&"192.0.2.1:80".parse().unwrap()));
        assert!(want.matches(&"0.0.0.0:80".parse().unwrap()));
        assert!(want.matches(&"[::]:80".parse().unwrap()));
        assert!(!want.matches(&"192.0.2.2:80".parse().unwrap()));
        assert!(!want.matches(&"192.0.2.1:81".parse().unwrap()));
        let v6 = Listening::tcp(80).on("2001:db8::1".parse().unwrap());
        assert!(!v6.matches(&"0.0.0.0:80".parse().unwrap()));
        assert!(v6.matches(&"[::]:80".parse().unwrap()));
        assert!(Listening::udp(53).matches(&"127.0.0.1:53".parse().unwrap()));
    }
}
