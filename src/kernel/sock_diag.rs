//! The socket tables of a network namespace over `NETLINK_SOCK_DIAG`
//! (sock_diag(7)), through the rust-netlink crate
//! `netlink-packet-sock-diag`.
//!
//! A netlink socket belongs to the namespace of the thread that opened it
//! (DESIGN.md 5): open a [`DiagSocket`] on a thread inside the namespace;
//! any thread may then use it, and it still lists that namespace's sockets.

use std::net::SocketAddr;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr as NetlinkAddr};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// The transport protocol of a socket to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// TCP sockets in state `LISTEN`.
    Tcp,
    /// UDP sockets, bound (any state).
    Udp,
}

/// A TCP or UDP socket as `inet_diag_msg` describes it.
#[derive(Debug, Clone)]
pub(crate) struct InetSocket {
    /// TCP, else UDP.
    pub(crate) tcp: bool,
    /// `idiag_state`: a `TCP_*` state (linux/tcp_states.h); a UDP socket
    /// is `TCP_CLOSE` (7) when unconnected, `TCP_ESTABLISHED` (1) when
    /// connected.
    pub(crate) state: u8,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    /// `idiag_uid`: the socket's owner, in the reader's user namespace.
    pub(crate) uid: u32,
    /// `idiag_inode`: the inode `/proc/PID/fd/N` links to (`socket:[INODE]`).
    pub(crate) inode: u32,
}

/// A `NETLINK_SOCK_DIAG` socket in the namespace of the thread that opened it.
pub(crate) struct DiagSocket {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

fn io_error(op: &str, e: &std::io::Error) -> Error {
    Error::Netlink {
        op: op.to_owned(),
        errno: e.raw_os_error().map(Errno::from_raw_os_error),
        detail: e.to_string(),
    }
}

impl DiagSocket {
    /// `socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_SOCK_DIAG)`,
    /// connected to the kernel. sock_diag(7).
    pub(crate) fn open() -> Result<DiagSocket> {
        let socket = Socket::new(NETLINK_SOCK_DIAG)
            .map_err(|e| io_error("socket(NETLINK_SOCK_DIAG)", &e))?;
        socket
            .connect(&NetlinkAddr::new(0, 0))
            .map_err(|e| io_error("connect(NETLINK_SOCK_DIAG)", &e))?;
        Ok(DiagSocket {
            socket,
            seq: 0,
            buf: vec![0; 32 * 1024],
        })
    }

    /// The local addresses of the namespace's TCP listening sockets, or of
    /// its bound UDP sockets: two `SOCK_DIAG_BY_FAMILY` dumps
    /// (`inet_diag_req_v2`, IPv4 then IPv6), as `ss -ltn` / `ss -uan` make.
    pub(crate) fn local_addrs(&mut self, transport: Transport) -> Result<Vec<SocketAddr>> {
        let (protocol, states, name) = match transport {
            Transport::Tcp => (IPPROTO_TCP, StateFlags::LISTEN, "TCP LISTEN"),
            Transport::Udp => (IPPROTO_UDP, StateFlags::all(), "UDP"),
        };
        let mut out = Vec::new();
        for family in [AF_INET, AF_INET6] {
            self.dump(family, protocol, states.clone(), name, &mut |r| {
                out.push(SocketAddr::new(
                    r.socket_id.source_address,
                    r.socket_id.source_port,
                ))
            })?;
        }
        Ok(out)
    }

    /// Every TCP socket (any state) and UDP socket of the namespace, IPv4
    /// then IPv6, as `ss -tuan` lists them: up to four
    /// `SOCK_DIAG_BY_FAMILY` dumps.
    ///
    /// A dump walks every bucket of the namespace's hash of its protocol,
    /// whoever's sockets are in it (the TCP established hash is 4,096
    /// buckets in a namespace made from the nursery, ARCHITECTURE.md 2.15,
    /// but the machine's whole hash, about 1 ms to walk, in any other; UDP's
    /// is the machine's), so a family and protocol that `in_use` counts no
    /// socket of is not dumped.
    pub(crate) fn sockets(&mut self) -> Result<Vec<InetSocket>> {
        let mut out = Vec::new();
        let in_use = in_use();
        for (protocol, name, busy) in [
            (IPPROTO_TCP, "TCP", in_use.tcp),
            (IPPROTO_UDP, "UDP", in_use.udp),
        ] {
            for (i, family) in [AF_INET, AF_INET6].into_iter().enumerate() {
                if !busy[i] {
                    continue;
                }
                self.dump(family, protocol, StateFlags::all(), name, &mut |r| {
                    out.push(InetSocket {
                        tcp: protocol == IPPROTO_TCP,
                        state: r.state,
                        local: SocketAddr::new(r.socket_id.source_address, r.socket_id.source_port),
                        remote: SocketAddr::new(
                            r.socket_id.destination_address,
                            r.socket_id.destination_port,
                        ),
                        uid: r.uid,
                        inode: r.inode,
                    })
                })?;
            }
        }
        Ok(out)
    }

    /// One `SOCK_DIAG_BY_FAMILY` dump: each socket's header goes to `each`.
    fn dump(
        &mut self,
        family: u8,
        protocol: u8,
        states: StateFlags,
        name: &str,
        each: &mut dyn FnMut(&InetResponseHeader),
    ) -> Result<()> {
        let op = format!(
            "SOCK_DIAG_BY_FAMILY dump ({name}, {})",
            if family == AF_INET {
                "AF_INET"
            } else {
                "AF_INET6"
            }
        );
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(
            header,
            SockDiagMessage::InetRequest(InetRequest {
                family,
                protocol,
                extensions: ExtensionFlags::empty(),
                states,
                socket_id: if family == AF_INET {
                    SocketId::new_v4()
                } else {
                    SocketId::new_v6()
                },
            })
            .into(),
        );
        packet.finalize();
        let mut request = vec![0; packet.buffer_len()];
        packet.serialize(&mut request);
        self.socket
            .send(&request, 0)
            .map_err(|e| io_error(&op, &e))?;
        let fail = |detail: String| Error::Netlink {
            op: op.clone(),
            errno: None,
            detail,
        };
        loop {
            let n = match self.socket.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(&op, &e)),
            };
            let mut offset = 0;
            while offset < n {
                let raw = NetlinkBuffer::new_checked(&self.buf[offset..n])
                    .map_err(|e| fail(format!("malformed reply: {e}")))?;
                let len = raw.length() as usize;
                let here = offset;
                offset += (len + 3) & !3;
                if raw.sequence_number() != seq {
                    continue;
                }
                let reply: NetlinkMessage<SockDiagMessage> =
                    NetlinkMessage::deserialize(&self.buf[here..here + len])
                        .map_err(|e| fail(format!("malformed reply: {e}")))?;
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::Error(err) => {
                        return match err.code {
                            None => Ok(()),
                            Some(code) => Err(Error::Netlink {
                                op: op.clone(),
                                errno: Some(Errno::from_raw_os_error(code.get().abs())),
                                detail: String::new(),
                            }),
                        }
                    }
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                        each(&response.header);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Whether the calling thread's namespace may have sockets of each
/// protocol, `[IPv4, IPv6]`.
pub(crate) struct InUse {
    pub(crate) tcp: [bool; 2],
    pub(crate) udp: [bool; 2],
}

/// What the calling thread's namespace may have sockets of:
/// `/proc/thread-self/net/sockstat`'s `TCP: inuse` (hashed sockets:
/// listening, connecting, connected), `tw` (TIME-WAIT, of both families)
/// and `UDP: inuse` (bound sockets), and `sockstat6`'s `TCP6: inuse` and
/// `UDP6: inuse`, all counted per namespace (proc(5); `sockstat_seq_show`).
/// A file that cannot be read or parsed counts as sockets in use.
pub(crate) fn in_use() -> InUse {
    let v4 = std::fs::read_to_string(crate::kernel::thread_self("net/sockstat")).ok();
    let v6 = std::fs::read_to_string(crate::kernel::thread_self("net/sockstat6")).ok();
    let field = |text: &Option<String>, row: &str, name: &str| -> Option<u64> {
        let line = text.as_deref()?.lines().find_map(|l| l.strip_prefix(row))?;
        let mut words = line.split_ascii_whitespace();
        while let Some(word) = words.next() {
            if word == name {
                return words.next()?.parse().ok();
            }
        }
        None
    };
    let busy = |n: Option<u64>| n.map_or(true, |n| n > 0);
    let tw = busy(field(&v4, "TCP:", "tw"));
    InUse {
        tcp: [
            busy(field(&v4, "TCP:", "inuse")) || tw,
            busy(field(&v6, "TCP6:", "inuse")) || tw,
        ],
        udp: [
            busy(field(&v4, "UDP:", "inuse")),
            busy(field(&v6, "UDP6:", "inuse")),
        ],
    }
}
