//! rtnetlink requests (rtnetlink(7)) over the rust-netlink crates.
//!
//! A netlink socket belongs to the network namespace of the thread that
//! opened it, so every request here acts on the calling thread's namespace.

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// `lo`'s interface index: the kernel registers loopback first in every
/// network namespace, with the fixed index `LOOPBACK_IFINDEX` (1).
pub(crate) const LOOPBACK_IFINDEX: u32 = 1;

/// A `NETLINK_ROUTE` socket in the calling thread's network namespace.
pub(crate) struct RouteSocket {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl RouteSocket {
    /// `socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE)`, connected to
    /// the kernel.
    pub(crate) fn open() -> Result<RouteSocket> {
        let io = |op: &'static str| {
            move |e: std::io::Error| Error::Netlink {
                op: op.to_owned(),
                errno: e.raw_os_error().map(Errno::from_raw_os_error),
                detail: e.to_string(),
            }
        };
        let socket = Socket::new(NETLINK_ROUTE).map_err(io("socket(NETLINK_ROUTE)"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(io("connect(NETLINK_ROUTE)"))?;
        Ok(RouteSocket {
            socket,
            seq: 0,
            buf: vec![0; 8192],
        })
    }

    /// Sends `msg` with `NLM_F_REQUEST|NLM_F_ACK` and waits for the kernel's
    /// acknowledgement. `op` names the request in errors.
    pub(crate) fn request_ack(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &dyn Fn() -> String,
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        packet.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        packet.header.sequence_number = self.seq;
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        let fail = |errno: Option<Errno>, detail: String| Error::Netlink {
            op: op(),
            errno,
            detail,
        };
        self.socket.send(&out, 0).map_err(|e| {
            fail(
                e.raw_os_error().map(Errno::from_raw_os_error),
                e.to_string(),
            )
        })?;
        loop {
            let n = self.socket.recv(&mut &mut self.buf[..], 0).map_err(|e| {
                fail(
                    e.raw_os_error().map(Errno::from_raw_os_error),
                    e.to_string(),
                )
            })?;
            let mut offset = 0;
            while offset < n {
                let reply: NetlinkMessage<RouteNetlinkMessage> =
                    NetlinkMessage::deserialize(&self.buf[offset..n])
                        .map_err(|e| fail(None, format!("malformed reply: {e}")))?;
                let len = reply.header.length as usize;
                if reply.header.sequence_number == self.seq {
                    if let NetlinkPayload::Error(err) = reply.payload {
                        return match err.code {
                            None => Ok(()),
                            Some(code) => Err(fail(
                                Some(Errno::from_raw_os_error(code.get().abs())),
                                String::new(),
                            )),
                        };
                    }
                }
                if len == 0 {
                    break;
                }
                offset += len;
            }
        }
    }

    /// `RTM_NEWLINK` setting `IFF_UP` on link `index` (`ip link set dev X up`).
    pub(crate) fn set_link_up(&mut self, index: u32, name: &str) -> Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.flags = LinkFlags::Up;
        link.header.change_mask = LinkFlags::Up;
        self.request_ack(RouteNetlinkMessage::SetLink(link), &|| {
            format!("RTM_SETLINK {name} (index {index}) up")
        })
    }
}

/// Brings `lo` up in the calling thread's network namespace, so 127.0.0.1 and
/// ::1 connect (a new namespace's `lo` is DOWN: connect fails with
/// `ENETUNREACH`). network_namespaces(7).
pub(crate) fn loopback_up() -> Result<()> {
    RouteSocket::open()?.set_link_up(LOOPBACK_IFINDEX, "lo")
}
