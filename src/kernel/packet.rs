//! Frames off and onto a link: `AF_PACKET` sockets (packet(7)), the
//! `poll(2)` and `eventfd(2)` a forwarding thread waits on, and the legacy
//! `SIOCETHTOOL` offload switches (ethtool(8) `-K`) of a link.
//!
//! A packet socket belongs to the network namespace of the thread that opens
//! it (ARCHITECTURE.md 2.6): open it on a thread inside the namespace, use it
//! from any thread.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use rustix::io::Errno;

use crate::error::{Error, Result};

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO)
}

/// `if_nametoindex(name)` in the calling thread's namespace.
fn ifindex(name: &str) -> Result<i32> {
    let c = CString::new(name).map_err(|_| Error::InvalidArgument {
        what: "link name",
        value: name.to_owned(),
        reason: "contains a NUL byte",
    })?;
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(Error::sys("if_nametoindex", None, last_errno()));
    }
    Ok(index as i32)
}

/// `socket(AF_PACKET, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC, htons(ETH_P_ALL))`,
/// `bind` to `link` of the calling thread's namespace, and
/// `PACKET_IGNORE_OUTGOING` (packet(7)): the socket reads whole Ethernet
/// frames that arrive on the link (or, with `outgoing`, every frame that
/// crosses it both ways) and writes frames out of it.
///
/// On `lo` each packet is both outgoing and incoming: capturing incoming
/// copies only shows each once.
///
/// # References
/// - [socket(2)](https://man7.org/linux/man-pages/man2/socket.2.html)
/// - [packet(7)](https://man7.org/linux/man-pages/man7/packet.7.html)
pub(crate) fn packet_socket(link: &str, outgoing: bool) -> Result<OwnedFd> {
    let index = ifindex(link)?;
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // Protocol 0 at socket(), ETH_P_ALL at bind(): a socket made with a
    // protocol is hooked into every link at once, and bind() must unhook
    // it first, waiting for an RCU grace period (`synchronize_net` in
    // `packet_do_bind`, about 10 ms here). Closing one still waits for one
    // (`packet_release`).
    // SAFETY: plain socket(2) call; the fd is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            "socket(AF_PACKET, SOCK_RAW)",
            None,
            last_errno(),
        ));
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if !outgoing {
        let one: libc::c_int = 1;
        // SAFETY: PACKET_IGNORE_OUTGOING takes an int, passed by pointer and size.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::sys(
                "setsockopt(PACKET_IGNORE_OUTGOING)",
                None,
                last_errno(),
            ));
        }
    }
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = proto;
    addr.sll_ifindex = index;
    // SAFETY: `addr` is a valid sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::sys("bind(AF_PACKET)", None, last_errno()));
    }
    Ok(fd)
}

/// `setsockopt(PACKET_QDISC_BYPASS, 1)` (packet(7), Linux 3.14): frames
/// written to `fd` go straight to the link's driver, past its queueing
/// discipline, as a wire link's forwarding thread wants (a veth's qdisc
/// only queues them again). No privilege beyond the socket's own.
///
/// # Errors
/// [`Error::Sys`] naming the option and the errno.
pub(crate) fn qdisc_bypass(fd: BorrowedFd<'_>) -> Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: PACKET_QDISC_BYPASS takes an int, passed by pointer and size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::sys(
            "setsockopt(PACKET_QDISC_BYPASS)",
            None,
            last_errno(),
        ));
    }
    Ok(())
}

/// A frame read by [`recv_frame`]: its length on the wire, and whether the
/// link sent it (`PACKET_OUTGOING`) rather than received it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) len: usize,
    pub(crate) outgoing: bool,
}

/// `recvfrom(fd, buf, MSG_TRUNC)`: one frame, or `None` when none is
/// waiting (`EAGAIN`, or the `ENETDOWN` a link going down leaves). `len` is the frame's full length, which may exceed
/// `buf` (then `buf` holds its start).
///
/// # References
/// - [recvfrom(2)](https://man7.org/linux/man-pages/man2/recvfrom.2.html)
pub(crate) fn recv_frame(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Option<Frame>> {
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `buf` and `from` are valid for writes of the sizes given.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC,
            (&mut from as *mut libc::sockaddr_ll).cast(),
            &mut from_len,
        )
    };
    if n < 0 {
        let errno = last_errno();
        // ENETDOWN is the socket's pending error after its link went down
        // (or was down when it was bound); reading it clears it.
        if [Errno::AGAIN, Errno::INTR, Errno::NETDOWN].contains(&errno) {
            return Ok(None);
        }
        return Err(Error::sys("recvfrom(AF_PACKET)", None, errno));
    }
    Ok(Some(Frame {
        len: n as usize,
        outgoing: from.sll_pkttype == libc::PACKET_OUTGOING,
    }))
}

/// `send(fd, frame)`: writes a whole Ethernet frame out of the bound link.
/// A full queue (`ENOBUFS`, `EAGAIN`) drops the frame, as a link would.
pub(crate) fn send_frame(fd: BorrowedFd<'_>, frame: &[u8]) -> Result<()> {
    // SAFETY: `frame` is valid for reads of its length.
    let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    if n < 0 {
        let errno = last_errno();
        if [Errno::AGAIN, Errno::NOBUFS, Errno::INTR, Errno::NETDOWN].contains(&errno) {
            return Ok(());
        }
        return Err(Error::sys("send(AF_PACKET)", None, errno));
    }
    Ok(())
}

/// `prctl(PR_SET_TIMERSLACK, 1)`: the calling thread's timers (its
/// `ppoll` timeouts) expire within 1 ns of when they are due instead of
/// the default 50 µs later, at most; no privilege needed. A forwarding
/// thread calls it once: a delayed frame leaves on time.
///
/// # Errors
/// [`Error::Sys`] naming `prctl(PR_SET_TIMERSLACK)` and the errno.
///
/// # References
/// - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
pub(crate) fn timer_slack_min() -> Result<()> {
    rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1))
        .map_err(|e| Error::sys("prctl(PR_SET_TIMERSLACK)", None, e))
}

/// `ppoll(fds, POLLIN, timeout)`: which of `fds` are readable, waiting at
/// most `timeout` (forever if `None`). `ppoll` rather than `poll`: its
/// timeout is in nanoseconds, so a frame delayed by 20 ms leaves after 20 ms,
/// not after the next whole millisecond.
///
/// # References
/// - [ppoll(2)](https://man7.org/linux/man-pages/man2/ppoll.2.html)
pub(crate) fn poll_readable(
    fds: &[BorrowedFd<'_>],
    timeout: Option<Duration>,
) -> Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `pfds` is valid for `pfds.len()` entries, `ts_ptr` is null or
    // points at a timespec that lives across the call; no signal mask.
    let rc = unsafe {
        libc::ppoll(
            pfds.as_mut_ptr(),
            pfds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        let errno = last_errno();
        if errno == Errno::INTR {
            return Ok(vec![false; fds.len()]);
        }
        return Err(Error::sys("ppoll", None, errno));
    }
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

/// `eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)`: what a forwarding or capture
/// thread polls besides its sockets, to learn that it must stop.
///
/// # References
/// - [eventfd(2)](https://man7.org/linux/man-pages/man2/eventfd.2.html)
pub(crate) fn eventfd() -> Result<OwnedFd> {
    // SAFETY: plain eventfd(2) call; the fd is owned at once.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(Error::sys("eventfd", None, last_errno()));
    }
    // SAFETY: `fd` was just returned by eventfd(2).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `write(efd, 1)`: wakes whoever polls the eventfd.
pub(crate) fn eventfd_signal(fd: BorrowedFd<'_>) {
    let one: u64 = 1;
    // SAFETY: writes the 8 bytes of `one`. A full counter (EAGAIN) still
    // leaves the fd readable, which is all a waiter needs.
    unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

/// `read(efd)`: takes the eventfd's counter back to 0, so that it polls
/// unreadable until the next [`eventfd_signal`].
pub(crate) fn eventfd_clear(fd: BorrowedFd<'_>) {
    let mut count: u64 = 0;
    // SAFETY: reads at most 8 bytes into `count`. A counter already 0
    // (EAGAIN, the fd is non-blocking) leaves nothing to clear.
    unsafe { libc::read(fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
}

/// The legacy ethtool commands (linux/ethtool.h) that switch one offload.
const ETHTOOL_STXCSUM: u32 = 0x17;
const ETHTOOL_SSG: u32 = 0x19;
const ETHTOOL_STSO: u32 = 0x1f;
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_SGRO: u32 = 0x2c;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

#[repr(C)]
struct IfreqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut EthtoolValue,
    _pad: [u8; 16],
}

/// `ethtool -K LINK tx off sg off tso off gso off gro off`, as
/// `ioctl(SIOCETHTOOL)` calls on a socket of the calling thread's namespace:
/// the link then hands every frame to the next hop as it goes on a wire,
/// segmented and with its checksums computed, and does not merge received
/// ones. Frames read by a packet socket on its peer are real frames.
pub(crate) fn offloads_off(link: &str) -> Result<()> {
    // SAFETY: plain socket(2) call; the fd is owned at once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::sys("socket(AF_INET)", None, last_errno()));
    }
    // SAFETY: just returned by socket(2).
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (dst, src) in name.iter_mut().zip(link.bytes().take(libc::IFNAMSIZ - 1)) {
        *dst = src as libc::c_char;
    }
    // Checksum offload off turns off scatter-gather and TSO with it; each is
    // still switched off on its own for kernels that keep them separate.
    for cmd in [
        ETHTOOL_STXCSUM,
        ETHTOOL_SSG,
        ETHTOOL_STSO,
        ETHTOOL_SGSO,
        ETHTOOL_SGRO,
    ] {
        let mut value = EthtoolValue { cmd, data: 0 };
        let mut req = IfreqData {
            name,
            data: &mut value,
            _pad: [0; 16],
        };
        // SAFETY: SIOCETHTOOL reads an ifreq whose ifr_data points at a
        // valid ethtool_value for the duration of the call.
        let rc = unsafe {
            libc::ioctl(
                sock.as_raw_fd(),
                libc::SIOCETHTOOL as _,
                (&mut req as *mut IfreqData).cast::<libc::c_void>(),
            )
        };
        if rc < 0 {
            let errno = last_errno();
            // A feature the device cannot change (EOPNOTSUPP) is fine.
            if errno != Errno::OPNOTSUPP {
                return Err(Error::sys("ioctl(SIOCETHTOOL)", None, errno));
            }
        }
    }
    Ok(())
}

/// `clock_gettime(CLOCK_REALTIME)` since the Unix epoch, for capture files.
pub(crate) fn realtime_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(feature = "capture")]
/// `if_nameindex()`: the indexes and names of the links of the calling
/// thread's namespace, in index order.
///
/// # References
/// - [if_nameindex(3)](https://man7.org/linux/man-pages/man3/if_nameindex.3.html)
pub(crate) fn links() -> Result<Vec<(u32, String)>> {
    // SAFETY: if_nameindex returns an array ended by a zero entry, or NULL.
    let list = unsafe { libc::if_nameindex() };
    if list.is_null() {
        return Err(Error::sys("if_nameindex", None, last_errno()));
    }
    let mut names = Vec::new();
    let mut at = list;
    // SAFETY: entries up to the terminating one (index 0) are valid, and
    // each name is a NUL-terminated string; the array is freed once.
    unsafe {
        while (*at).if_index != 0 {
            let name = std::ffi::CStr::from_ptr((*at).if_name);
            names.push(((*at).if_index, name.to_string_lossy().into_owned()));
            at = at.add(1);
        }
        libc::if_freenameindex(list);
    }
    Ok(names)
}
