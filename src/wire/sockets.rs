//! A capture's `AF_PACKET` sockets: the capture thread that reads them
//! into their rings, and their closing, off the test's path
//! (ARCHITECTURE.md 2.11).
//!
//! Closing an `AF_PACKET` socket waits for an RCU grace period
//! (`synchronize_net` in `packet_release`), about 15 ms on a small VM, and
//! a capture has one socket per link: closed in line, a captured test would
//! wait for them one after another. Sockets a capture is done with come
//! here instead; one process-wide thread takes every socket waiting and
//! closes each on a short thread of its own, all at once: grace periods
//! waited for together end together, so a batch costs about one, however
//! many tests handed sockets over meanwhile.
//!
//! A suite fixture's sockets are not closed at all: they wait in a pool
//! for the next test that captures the fixture.
//!
//! A socket holds its namespace (and the links in it) until it is closed,
//! so a test's anonymous namespace outlives the test by about two grace
//! periods more than it did; namespaces already go away asynchronously
//! (`cleanup_net`, ARCHITECTURE.md 2.3), nothing a test holds can reach it,
//! and the process's exit closes whatever is still waiting.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::kernel::packet;
use crate::wire::capture::{Inner, Sources};
use crate::wire::tap::Ring;

/// At most this many sockets close at once; the rest wait for the next
/// batch.
const BATCH: usize = 64;

/// The closer thread's queue; `None` if the thread could not start (then
/// sockets close where they are dropped).
fn queue() -> Option<&'static Mutex<Sender<Arc<OwnedFd>>>> {
    static QUEUE: OnceLock<Option<Mutex<Sender<Arc<OwnedFd>>>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = channel();
            std::thread::Builder::new()
                .name("netns-test-close".to_owned())
                .spawn(move || close_loop(&rx))
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
}

/// Hands `socket` to the closer thread: it is closed once no one else
/// holds it, without the caller waiting for the kernel's grace period.
pub(crate) fn close_later(socket: Arc<OwnedFd>) {
    match queue() {
        Some(tx) => {
            // A send fails only if the thread is gone: then drop it here.
            let _ = tx.lock().send(socket);
        }
        None => drop(socket),
    }
}

fn close_loop(rx: &Receiver<Arc<OwnedFd>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(socket) => batch.push(socket),
                Err(_) => break,
            }
        }
        let last = batch.pop();
        let threads: Vec<_> = batch
            .into_iter()
            .filter_map(|socket| {
                // If no thread can be made, `socket` (moved into the failed
                // closure) is closed here.
                std::thread::Builder::new()
                    .name("netns-test-close".to_owned())
                    .spawn(move || drop(socket))
                    .ok()
            })
            .collect();
        drop(last);
        for thread in threads {
            let _ = thread.join();
        }
    }
}

pub(super) fn drain(socket: &OwnedFd, ring: &mut Ring) {
    let mut buf = vec![0u8; 65_536 + 64];
    while let Ok(Some(frame)) = packet::recv_frame(socket.as_fd(), &mut buf) {
        let len = frame.len.min(buf.len());
        ring.push(packet::realtime_now(), &buf[..len]);
    }
}

/// The capture thread: waits on every socket (the list is read again every
/// 20 ms, so sockets added later are seen) until stopped, and reads what
/// came into the rings.
pub(super) fn read_loop(inner: &Inner) {
    while !inner.stopping.load(Ordering::Relaxed) {
        let sockets: Vec<Arc<OwnedFd>> = inner
            .sources
            .lock()
            .sockets
            .iter()
            .filter_map(|s| s.socket.clone())
            .collect();
        let mut fds: Vec<_> = sockets.iter().map(|s| s.as_fd()).collect();
        fds.push(inner.stop.as_fd());
        let Ok(ready) = packet::poll_readable(&fds, Some(Duration::from_millis(20))) else {
            return;
        };
        if ready.last() == Some(&true) {
            return;
        }
        if ready.iter().any(|r| *r) {
            let mut sources = inner.sources.lock();
            for source in sources.sockets.iter_mut() {
                if let Some(socket) = &source.socket {
                    drain(socket, &mut source.ring);
                }
            }
        }
    }
}

/// Sockets still held go back to the pool or to the closer thread.
impl Drop for Sources {
    fn drop(&mut self) {
        for source in self.sockets.drain(..) {
            if let Some(socket) = source.socket {
                release(socket, source.pooled);
            }
        }
    }
}

/// Idle sockets by (namespace inode, ifindex) of their link.
type Pool = HashMap<(u64, u32), Vec<Arc<OwnedFd>>>;

/// Sockets of suite fixtures' links no capture holds, by (namespace
/// inode, ifindex): a fixture outlives its tests, and so may a socket of
/// its links, which then costs the next test that captures the link
/// neither a socket nor a grace period. A pooled socket holds its
/// namespace, so the inode names that namespace while it is here.
fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(Mutex::default)
}

/// A pooled socket of link `key`, with the frames it queued while no
/// capture held it thrown away: a capture starts with what comes next.
pub(super) fn take_pooled(key: (u64, u32)) -> Option<Arc<OwnedFd>> {
    let socket = pool().lock().get_mut(&key)?.pop()?;
    let mut buf = vec![0u8; 2048];
    while let Ok(Some(_)) = packet::recv_frame(socket.as_fd(), &mut buf) {}
    Some(socket)
}

/// A capture is done with `socket`: back to the pool if it is a
/// fixture's (`pooled`), else to the closer thread.
pub(super) fn release(socket: Arc<OwnedFd>, pooled: Option<(u64, u32)>) {
    match pooled {
        Some(key) => pool().lock().entry(key).or_default().push(socket),
        None => close_later(socket),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handed_over_fd_is_closed() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fds: Vec<Arc<OwnedFd>> = (0..5)
            .map(|_| Arc::new(OwnedFd::from(a.try_clone().unwrap())))
            .collect();
        drop(a);
        for fd in fds {
            close_later(fd);
        }
        // Every clone of `a` closed: `b` reads end of file.
        let mut buf = [0u8; 1];
        let n = std::io::Read::read(&mut &b, &mut buf).unwrap();
        assert_eq!(n, 0);
    }
}
