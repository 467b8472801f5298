//! Packet capture into pcapng files: [`Capture`], and the per-test capture
//! that `NETNS_TEST_CAPTURE` turns on (`per_test.rs`; ARCHITECTURE.md 2.11).
//!
//! - Links of namespaces are read by `AF_PACKET` sockets (both directions,
//!   `ETH_P_ALL`), opened on a thread inside each namespace; `lo` ignores
//!   outgoing copies, which it would otherwise show twice. One capture
//!   thread per capture polls all of them.
//! - Wire links need no socket: their forwarding thread records every frame
//!   it reads from or writes to a host (`Tap`).
//! - Each (host, link) is one ring bounded by `NETNS_TEST_CAPTURE_LIMIT`
//!   bytes, and one Interface Description Block named `host/link` in the
//!   file, written when the capture ends; timestamps are the wall clock when
//!   the frame was read, in nanoseconds (`if_tsresol` 9).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

use crate::error::{Error, Result};
use crate::kernel::packet;
use crate::network::topology::Network;
use crate::wire::link::{Shared, WireLink};
use crate::wire::sockets::{drain, read_loop, release, take_pooled};
use crate::wire::tap::{ring_limit, Ring, Tap};
use crate::Netns;

/// The environment variable that captures every test's traffic:
/// `failed` keeps the files of failing tests, `all` of every test; `off`
/// (the default, or unset) captures nothing and starts nothing. Any other
/// value fails the tests with an error naming the variable.
pub use crate::settings::CAPTURE_ENV;

/// Where per-test capture files go instead of the test's directory: a
/// directory you chose, made if missing with the umask's mode, whose
/// files are made new (a file or symbolic link left at a test's name is
/// removed first, never followed) with the umask's mode too.
pub use crate::settings::CAPTURE_DIR_ENV;

/// One captured interface.
pub(super) struct Source {
    name: String,
    /// `None` for a wire link's end (recorded by its forwarding thread).
    pub(super) socket: Option<Arc<OwnedFd>>,
    pub(super) ring: Ring,
    /// (namespace inode, ifindex) of a suite fixture's link, whose socket
    /// goes back to the pool for the next test (`sockets.rs`).
    pub(super) pooled: Option<(u64, u32)>,
}

/// A wire link end recorded by its forwarding thread. The capture holds
/// the link's shared state (not its thread or sockets), so what was recorded
/// outlives a network dropped before the capture ends.
struct WireEnd {
    shared: Arc<Shared>,
    end: usize,
    name: String,
}

#[derive(Default)]
pub(super) struct Sources {
    pub(super) sockets: Vec<Source>,
    wires: Vec<WireEnd>,
    /// (namespace inode, ifindex) of every link captured: a link added
    /// twice (a test's host that is also a host of a network it built, a
    /// fixture built by the test) is one interface.
    seen: HashSet<(u64, u32)>,
}

pub(crate) struct Inner {
    pub(super) sources: Mutex<Sources>,
    pub(super) stop: OwnedFd,
    pub(super) stopping: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A packet capture of namespaces and networks, written as one pcapng file.
///
/// ```no_run
/// use netns_test::{Capture, Topology};
///
/// let net = Topology::new()
///     .host("a")
///     .host("b")
///     .link("a", "eth0", "b", "eth0")
///     .build()?;
/// let capture = Capture::new()?;
/// capture.network(&net)?;
/// // ... traffic ...
/// capture.write_pcapng("target/a-b.pcapng")?; // interfaces a/eth0, b/eth0, ...
/// # Ok::<(), netns_test::Error>(())
/// ```
///
/// A capture thread reads the links' `AF_PACKET` sockets until the capture
/// is written or dropped; wire links ([`Topology::wire`](crate::Topology::wire))
/// are recorded by their own forwarding thread instead. Each interface keeps
/// at most `NETNS_TEST_CAPTURE_LIMIT` bytes of frames (default 4 MiB), the
/// latest ones.
pub struct Capture {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sources = self.inner.sources.lock();
        let names: Vec<&str> = sources
            .sockets
            .iter()
            .map(|s| s.name.as_str())
            .chain(sources.wires.iter().map(|w| w.name.as_str()))
            .collect();
        f.debug_struct("Capture")
            .field("interfaces", &names)
            .finish()
    }
}

impl Capture {
    /// An empty capture; its thread starts with the first interface.
    ///
    /// # Errors
    /// [`Error::Sys`] if no eventfd can be made.
    pub fn new() -> Result<Capture> {
        Ok(Capture {
            inner: Arc::new(Inner {
                sources: Mutex::new(Sources::default()),
                stop: packet::eventfd()?,
                stopping: AtomicBool::new(false),
                thread: Mutex::new(None),
            }),
        })
    }

    /// Captures every link of `netns` as it is now, named `label/link`. A
    /// link this capture already has (the same namespace and interface
    /// index, under any label) is not added again.
    ///
    /// # Errors
    /// [`Error::Sys`] from `socket`/`bind` (`EPERM` without
    /// `CAP_NET_RAW` in the namespace's user namespace).
    pub fn netns(&self, label: &str, netns: &Netns) -> Result<()> {
        add_netns(&self.inner, label, netns, false)
    }

    /// Captures every link of every host of `net`: wire links from their
    /// forwarding thread, the others with `AF_PACKET` sockets. Links this
    /// capture already has are not added again.
    ///
    /// # Errors
    /// As [`Capture::netns`].
    pub fn network(&self, net: &Network) -> Result<()> {
        add_network(&self.inner, net)
    }
}

/// Every link of `netns` not captured yet, as `label/link`; `pooled`: its
/// sockets are kept for the next capture (a suite fixture's hosts, which
/// outlive their tests).
pub(crate) fn add_netns(
    inner: &Arc<Inner>,
    label: &str,
    netns: &Netns,
    pooled: bool,
) -> Result<()> {
    let (inner, label) = (inner.clone(), label.to_owned());
    netns.run_bare(move || add_here(&inner, &label, &[], pooled))?
}

pub(crate) fn add_network(inner: &Arc<Inner>, net: &Network) -> Result<()> {
    for host in net.hosts() {
        // The wire links this host ends: recorded by their forwarding
        // thread, not by a socket.
        let mut wires = Vec::new();
        for carried in net.carriers() {
            let Some(link) = carried.carrier.as_any().downcast_ref::<WireLink>() else {
                continue;
            };
            for (end, (h, l)) in [&carried.a, &carried.b].into_iter().enumerate() {
                if h == host {
                    wires.push((l.clone(), link.shared.clone(), end));
                }
            }
        }
        let (inner, label) = (inner.clone(), host.to_owned());
        net.host(host)
            .run_bare(move || add_here(&inner, &label, &wires, false))??;
    }
    Ok(())
}

/// Adds the links of the calling thread's namespace that `inner` does not
/// capture yet (by namespace inode and ifindex), as `label/link` (`link`
/// alone for an empty label): the ends of `wires` (link name, wire link,
/// end) from their forwarding thread, the others through `AF_PACKET`
/// (`pooled`: sockets taken from and given back to the pool).
pub(crate) fn add_here(
    inner: &Arc<Inner>,
    label: &str,
    wires: &[(String, Arc<Shared>, usize)],
    pooled: bool,
) -> Result<()> {
    let path = crate::kernel::thread_netns_path();
    let ns = crate::kernel::stat_id(&path)?.map_or(0, |(_, ino)| ino);
    let name = |link: &str| {
        if label.is_empty() {
            link.to_owned()
        } else {
            format!("{label}/{link}")
        }
    };
    for (index, link) in packet::links()? {
        if !inner.sources.lock().seen.insert((ns, index)) {
            continue;
        }
        if let Some((_, shared, end)) = wires.iter().find(|(l, _, _)| *l == link) {
            shared
                .tap
                .lock()
                .get_or_insert_with(|| Tap::new(ring_limit()));
            crate::wire::bypass::sync(shared);
            inner.sources.lock().wires.push(WireEnd {
                shared: shared.clone(),
                end: *end,
                name: name(&link),
            });
            continue;
        }
        // `lo` shows each packet twice (sent and received) unless outgoing
        // copies are skipped; other links show both directions.
        let pooled = pooled.then_some((ns, index));
        let socket = match pooled.and_then(take_pooled) {
            Some(socket) => socket,
            None => Arc::new(packet::packet_socket(&link, link != "lo")?),
        };
        inner.sources.lock().sockets.push(Source {
            name: name(&link),
            socket: Some(socket),
            ring: Ring::new(ring_limit()),
            pooled,
        });
    }
    let mut thread = inner.thread.lock();
    if thread.is_none() {
        let inner = inner.clone();
        *thread = Some(
            std::thread::Builder::new()
                .name("netns-test-cap".to_owned())
                .spawn(move || read_loop(&inner))
                .map_err(Error::Spawn)?,
        );
    }
    Ok(())
}

impl Capture {
    /// Stops capturing and writes the file: one interface per (host, link),
    /// frames in time order.
    ///
    /// The file is made as `File::create` makes it (missing parent
    /// directories too), with the mode the umask leaves, following a
    /// symbolic link at `path`: `path` is yours, and so is choosing a place
    /// no other user can write. (Per-test captures, `NETNS_TEST_CAPTURE`,
    /// are made privately where they go to a shared temporary directory:
    /// see [`Netns::spawn`], "Where per-test files go and who can read
    /// them".)
    ///
    /// # Errors
    /// [`Error::File`] naming the path if it cannot be written.
    pub fn write_pcapng(self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let interfaces = self.stop();
        write_file(path, &interfaces).map_err(|e| Error::file("write pcapng", path, &e))
    }

    /// [`Capture::write_pcapng`] into `file`, already made (by the per-test
    /// capture, without following links); `path` names it in errors.
    pub(crate) fn write_pcapng_into(self, file: File, path: &Path) -> Result<()> {
        let interfaces = self.stop();
        write_blocks(file, &interfaces).map_err(|e| Error::file("write pcapng", path, &e))
    }

    /// Stops the thread, takes the sockets' last frames and the wire links'
    /// rings: every interface with its frames.
    fn stop(&self) -> Vec<(String, Ring)> {
        self.inner.stopping.store(true, Ordering::Relaxed);
        packet::eventfd_signal(self.inner.stop.as_fd());
        if let Some(thread) = self.inner.thread.lock().take() {
            let _ = thread.join();
        }
        let mut sources = self.inner.sources.lock();
        let mut out = Vec::new();
        for mut source in sources.sockets.drain(..) {
            if let Some(socket) = source.socket.take() {
                drain(&socket, &mut source.ring);
                release(socket, source.pooled);
            }
            out.push((source.name, source.ring));
        }
        for wire in sources.wires.drain(..) {
            let ring = wire
                .shared
                .tap
                .lock()
                .as_mut()
                .map(|tap| std::mem::replace(&mut tap.rings[wire.end], Ring::new(1)))
                .unwrap_or_else(|| Ring::new(1));
            out.push((wire.name, ring));
        }
        out
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        packet::eventfd_signal(self.inner.stop.as_fd());
        if let Some(thread) = self.inner.thread.lock().take() {
            let _ = thread.join();
        }
        // Wire links keep recording only while someone captures them.
        for wire in self.inner.sources.lock().wires.drain(..) {
            *wire.shared.tap.lock() = None;
            crate::wire::bypass::sync(&wire.shared);
        }
    }
}

/// Writes the section, one interface block per interface, then every frame
/// in time order.
fn write_file(path: &Path, interfaces: &[(String, Ring)]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_blocks(File::create(path)?, interfaces)
}

fn write_blocks(file: File, interfaces: &[(String, Ring)]) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(file);
    let to_io = |e: pcap_file::PcapError| std::io::Error::other(e.to_string());
    let mut writer = PcapNgWriter::new(file).map_err(to_io)?;
    let mut frames = Vec::new();
    for (id, (name, ring)) in interfaces.iter().enumerate() {
        writer
            .write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Borrowed(name)),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            })
            .map_err(to_io)?;
        frames.extend(ring.noted().map(|(at, d, note)| (at, id as u32, d, note)));
    }
    frames.sort_by_key(|(at, id, _, _)| (*at, *id));
    for (at, id, data, note) in frames {
        writer
            .write_pcapng_block(EnhancedPacketBlock {
                interface_id: id,
                timestamp: at,
                original_len: data.len() as u32,
                data: Cow::Borrowed(data),
                options: crate::wire::notes::comment(note),
            })
            .map_err(to_io)?;
    }
    std::io::Write::flush(writer.get_mut())
}
