//! rtnetlink requests (rtnetlink(7)) over the rust-netlink crates.
//!
//! A netlink socket belongs to the network namespace of the thread that
//! opened it, so every request here acts on the calling thread's namespace.

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, NLM_F_ACK,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTIPART, NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// `lo`'s interface index: the kernel registers loopback first in every
/// network namespace, with the fixed index `LOOPBACK_IFINDEX` (1).
pub(crate) const LOOPBACK_IFINDEX: u32 = 1;

/// `MSG_TRUNC` (linux/socket.h): `recv` returns the datagram's real length
/// even when it did not fit, so a truncated reply is seen, not misparsed.
const MSG_TRUNC: i32 = 0x20;

/// `NLMSGERR_ATTR_MSG` (linux/netlink.h): the extended ACK's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// The receive buffer of a dump. The kernel sizes a dump's datagrams to the
/// reader's last `recvmsg` length, capped just under 32 KiB
/// (net/netlink/af_netlink.c, `max_recvmsg_len`); iproute2 reads with 32 KiB.
const DUMP_BUF_LEN: usize = 32 * 1024;

/// How often a dump that the kernel flags `NLM_F_DUMP_INTR` (the table
/// changed while it was being dumped) is restarted before giving up.
const DUMP_ATTEMPTS: usize = 5;

/// A `NETLINK_ROUTE` socket in the calling thread's network namespace.
pub(crate) struct RouteSocket {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// Builds the [`Error::Netlink`] of a failed socket call.
fn io_error(op: String, e: &std::io::Error) -> Error {
    Error::Netlink {
        op,
        errno: e.raw_os_error().map(Errno::from_raw_os_error),
        detail: e.to_string(),
    }
}

impl RouteSocket {
    /// `socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE)`, connected to
    /// the kernel, with extended ACKs on (`NETLINK_EXT_ACK`, so a refusal
    /// carries the kernel's reason) and capped ACKs (`NETLINK_CAP_ACK`, so an
    /// error does not echo the whole request). netlink(7).
    pub(crate) fn open() -> Result<RouteSocket> {
        let socket = Socket::new(NETLINK_ROUTE)
            .map_err(|e| io_error("socket(NETLINK_ROUTE)".to_owned(), &e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| io_error("connect(NETLINK_ROUTE)".to_owned(), &e))?;
        // Both are conveniences (Linux 4.12 and 4.2): a kernel without them
        // still answers every request.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
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
        self.request_ack_with(msg, 0, op)
    }

    /// [`RouteSocket::request_ack`] with more header flags, such as
    /// `NLM_F_CREATE|NLM_F_EXCL` for the `add` of `ip link add`.
    pub(crate) fn request_ack_with(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &dyn Fn() -> String,
    ) -> Result<()> {
        self.transact(msg, NLM_F_ACK | flags, op, &mut |_| ())
            .map(drop)
    }

    /// Sends a `RTM_GET*` request for one object (no `NLM_F_DUMP`) and returns
    /// the kernel's answer, such as the `RTM_NEWLINK` of `ip link show NAME`.
    pub(crate) fn get(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &dyn Fn() -> String,
    ) -> Result<RouteNetlinkMessage> {
        let mut reply = None;
        self.transact(msg, 0, op, &mut |m| reply = Some(m))?;
        reply.ok_or_else(|| Error::Netlink {
            op: op(),
            errno: None,
            detail: "the kernel acknowledged without an answer".to_owned(),
        })
    }

    /// Sends a `RTM_GET*` request with `NLM_F_DUMP` and returns every object
    /// of the multipart answer, up to `NLMSG_DONE`. A dump the kernel flags
    /// `NLM_F_DUMP_INTR` (the table changed meanwhile) is started again.
    pub(crate) fn dump(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &dyn Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        if self.buf.len() < DUMP_BUF_LEN {
            self.buf.resize(DUMP_BUF_LEN, 0);
        }
        for _ in 0..DUMP_ATTEMPTS {
            let mut replies = Vec::new();
            let interrupted =
                self.transact(msg.clone(), NLM_F_DUMP, op, &mut |m| replies.push(m))?;
            if !interrupted {
                return Ok(replies);
            }
        }
        Err(Error::Netlink {
            op: op(),
            errno: Some(Errno::INTR),
            detail: format!(
                "the dump was interrupted (NLM_F_DUMP_INTR) {DUMP_ATTEMPTS} times in a row"
            ),
        })
    }

    /// Sends `msg` with `NLM_F_REQUEST|flags` and reads this request's
    /// replies: objects go to `each`; an ACK, `NLMSG_DONE`, or the one answer
    /// of a non-dump request without `NLM_F_ACK` ends it. Returns whether the
    /// kernel flagged an object `NLM_F_DUMP_INTR`.
    fn transact(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &dyn Fn() -> String,
        each: &mut dyn FnMut(RouteNetlinkMessage),
    ) -> Result<bool> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        packet.header.flags = NLM_F_REQUEST | flags;
        packet.header.sequence_number = seq;
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        let fail = |errno: Option<Errno>, detail: String| Error::Netlink {
            op: op(),
            errno,
            detail,
        };
        self.socket.send(&out, 0).map_err(|e| io_error(op(), &e))?;
        let mut interrupted = false;
        loop {
            let n = match self.socket.recv(&mut &mut self.buf[..], MSG_TRUNC) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(op(), &e)),
            };
            if n > self.buf.len() {
                return Err(fail(
                    Some(Errno::MSGSIZE),
                    format!("a reply of {n} bytes did not fit in {}", self.buf.len()),
                ));
            }
            let mut offset = 0;
            while offset < n {
                let raw = NetlinkBuffer::new_checked(&self.buf[offset..n])
                    .map_err(|e| fail(None, format!("malformed reply: {e}")))?;
                let len = raw.length() as usize;
                let ours = raw.sequence_number() == seq;
                let here = offset;
                // Messages in one datagram are NLMSG_ALIGNed (4 bytes).
                offset += (len + 3) & !3;
                if !ours {
                    continue;
                }
                let reply: NetlinkMessage<RouteNetlinkMessage> =
                    NetlinkMessage::deserialize(&self.buf[here..here + len])
                        .map_err(|e| fail(None, format!("malformed reply: {e}")))?;
                let reply_flags = reply.header.flags;
                interrupted |= reply_flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::Error(err) => {
                        return match err.code {
                            None => Ok(interrupted),
                            Some(code) => Err(fail(
                                Some(Errno::from_raw_os_error(code.get().abs())),
                                ext_ack_message(reply_flags, &err.header, true),
                            )),
                        };
                    }
                    NetlinkPayload::Done(done) => {
                        return match done.code {
                            code if code >= 0 => Ok(interrupted),
                            code => Err(fail(
                                Some(Errno::from_raw_os_error(code.abs())),
                                ext_ack_message(reply_flags, &done.extended_ack, false),
                            )),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => {
                        each(m);
                        if reply_flags & NLM_F_MULTIPART == 0 && flags & NLM_F_ACK == 0 {
                            return Ok(interrupted);
                        }
                    }
                    _ => {}
                }
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

    /// `RTM_GETLINK` by `IFLA_IFNAME` (`ip link show dev NAME`): the link
    /// called `name`, or `ENODEV`. Statistics are left out
    /// (`RTEXT_FILTER_SKIP_STATS`).
    pub(crate) fn link_by_name(
        &mut self,
        name: &str,
        op: &dyn Fn() -> String,
    ) -> Result<LinkMessage> {
        let mut msg = LinkMessage::default();
        msg.attributes = vec![
            LinkAttribute::IfName(name.to_owned()),
            LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]),
        ];
        match self.get(RouteNetlinkMessage::GetLink(msg), op)? {
            RouteNetlinkMessage::NewLink(link) => Ok(link),
            other => Err(Error::Netlink {
                op: op(),
                errno: None,
                detail: format!("unexpected answer: {other:?}"),
            }),
        }
    }
}

/// The text of an extended ACK (`NLMSGERR_ATTR_MSG`), such as "MTU less than
/// device minimum", or an empty string. In an `NLMSG_ERROR` (`echoed`) the
/// attributes follow the echoed request: its header alone under
/// `NLM_F_CAPPED`, else the whole request. netlink(7), linux/netlink.h.
fn ext_ack_message(flags: u16, rest: &[u8], echoed: bool) -> String {
    if flags & NLM_F_ACK_TLVS == 0 {
        return String::new();
    }
    let skip = match (echoed, flags & NLM_F_CAPPED != 0) {
        (false, _) => 0,
        (true, true) => 16,
        (true, false) => match rest.get(..4) {
            Some(len) => (u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize + 3) & !3,
            None => return String::new(),
        },
    };
    let Some(tlvs) = rest.get(skip..) else {
        return String::new();
    };
    for nla in NlasIterator::new(tlvs).flatten() {
        if nla.kind() == NLMSGERR_ATTR_MSG {
            let text = nla.value();
            let text = text.split(|&b| b == 0).next().unwrap_or(text);
            return String::from_utf8_lossy(text).into_owned();
        }
    }
    String::new()
}

/// Brings `lo` up in the calling thread's network namespace, so 127.0.0.1 and
/// ::1 connect (a new namespace's `lo` is DOWN: connect fails with
/// `ENETUNREACH`).
///
/// # References
/// - [network_namespaces(7)](https://man7.org/linux/man-pages/man7/network_namespaces.7.html)
pub(crate) fn loopback_up() -> Result<()> {
    RouteSocket::open()?.set_link_up(LOOPBACK_IFINDEX, "lo")
}
