//! Files a namespace's threads and programs see over `/etc` (ARCHITECTURE.md
//! 3.3): a [`Network`](crate::Network)'s `hosts`, `resolv.conf` and
//! `nsswitch.conf`, bound over the host's in a mount namespace of their own,
//! and a named namespace's `/etc/netns/NAME/*`, as `ip netns exec` binds
//! them.
//!
//! The host's files are never written: each file lives in a private
//! directory (0700, in the temporary directory) of the network that wrote
//! it, removed when the network's last handle drops, and is bind-mounted
//! (`MS_BIND`) over `/etc/X` in a mount namespace made for the thread
//! (`unshare(CLONE_NEWNS)`, `/` made a recursive slave) or for the child
//! between `fork` and `exec` (`kernel/child.rs`). Two networks with the same
//! host names each bind their own file.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::kernel;
use crate::privilege::explain;
use crate::Netns;

/// Where iproute2 looks for a namespace's own configuration files
/// (`NETNS_ETC_DIR`).
pub(crate) const ETC_NETNS_DIR: &str = "/etc/netns";

/// A private directory of files to bind over `/etc/NAME`, removed on drop.
#[derive(Debug)]
pub(crate) struct EtcFiles {
    dir: PathBuf,
    /// (file in `dir`, `/etc/NAME`), as C strings: what a child binds
    /// between `fork` and `exec`, where nothing may allocate.
    binds: Arc<[(CString, CString)]>,
}

impl EtcFiles {
    /// Writes `files` (`(NAME, content)`, each bound over `/etc/NAME`) into
    /// a new directory `netns-test-etc-<PID>-<16 hex digits>` of the
    /// temporary directory: made with `mkdir(0700)` (never an existing
    /// one), files with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0644 (a
    /// program that drops privileges still reads them through the bind).
    /// First removes such directories of processes that are gone (a
    /// `SIGKILL`ed test process drops nothing).
    ///
    /// # Errors
    /// [`Error::Sys`] naming `mkdir`, `open` or `write` and the path.
    pub(crate) fn write(files: &[(&str, String)]) -> Result<EtcFiles> {
        sweep_gone(&std::env::temp_dir());
        let name = format!(
            "netns-test-etc-{}-{:016x}",
            std::process::id(),
            kernel::random_u64()?
        );
        let dir = std::env::temp_dir().join(name);
        if !kernel::mkdir_mode(&dir, 0o700)? {
            return Err(Error::sys("mkdir", dir, rustix::io::Errno::EXIST));
        }
        // From here on, a failure removes the directory (the drop).
        let mut etc = EtcFiles {
            dir,
            binds: Arc::new([]),
        };
        let mut binds = Vec::new();
        for (name, content) in files {
            let path = etc.dir.join(name);
            let mut file = kernel::create_new_file(&path, 0o644)?;
            kernel::fchmod(file.as_fd(), 0o644, &path)?;
            std::io::Write::write_all(&mut file, content.as_bytes())
                .map_err(|e| Error::io("write", &path, &e))?;
            binds.push((c_path(&path), c_path(&Path::new("/etc").join(name))));
        }
        etc.binds = binds.into();
        Ok(etc)
    }

    /// The directory the files are in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Removes each `netns-test-etc-PID-*` directory of `tmp` whose process is
/// gone (no `/proc/PID`): what killed runs left. A directory of another
/// user stays (its 0700 mode keeps us out).
fn sweep_gone(tmp: &Path) {
    for entry in kernel::dir_entries(tmp).unwrap_or_default() {
        let Some(name) = entry.to_str() else { continue };
        let pid = name
            .strip_prefix("netns-test-etc-")
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if matches!(kernel::proc_stat(pid), Ok(None)) {
                let _ = std::fs::remove_dir_all(tmp.join(name));
            }
        }
    }
}

impl Drop for EtcFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path made here has no NUL")
}

/// What a thread or a child binds over `/etc` for one namespace: a
/// network's files, then (for a named namespace) `/etc/netns/NAME/*` on
/// top, as `ip netns exec` binds them.
#[derive(Debug, Clone)]
pub(crate) struct EtcBinds {
    /// Keeps the files (and their directory) while a bind may still be made.
    _files: Option<Arc<EtcFiles>>,
    pub(crate) binds: Arc<[(CString, CString)]>,
}

impl EtcBinds {
    /// On the calling thread, for good: `unshare(CLONE_NEWNS)`, `/` made a
    /// recursive slave (the host's later mounts still show, ours never
    /// reach the host), then each bind. A missing `/etc/X` is skipped (a
    /// bind mount cannot create it; glibc then uses its defaults).
    pub(crate) fn enter(&self) -> Result<()> {
        kernel::unshare_mountns()?;
        kernel::make_slave_rec(Path::new("/"))?;
        for (src, dst) in self.binds.iter() {
            let (src, dst) = (Path::new(os(src)), Path::new(os(dst)));
            match kernel::bind_mount(src, dst) {
                Err(e) if e.errno() == Some(rustix::io::Errno::NOENT) => {}
                other => other?,
            }
        }
        Ok(())
    }
}

fn os(c: &CString) -> &std::ffi::OsStr {
    std::ffi::OsStr::from_bytes(c.as_bytes())
}

impl Netns {
    /// Gives this handle a network's files: its [`Netns::run`] threads and
    /// the programs [`Netns::spawn`] starts see them over `/etc`.
    pub(crate) fn set_etc(&mut self, files: Arc<EtcFiles>) {
        self.etc = Some(files);
    }

    /// The directory of the network's files this handle carries, if any.
    pub(crate) fn etc_dir(&self) -> Option<PathBuf> {
        self.etc.as_ref().map(|files| files.dir().to_path_buf())
    }

    /// What a thread or program in this namespace binds over `/etc`: the
    /// network's files, and for a named namespace the entries of
    /// `/etc/netns/NAME/` (read now); `None` if nothing (an anonymous
    /// namespace of no network: no mount work at all).
    pub(crate) fn etc_binds(&self, with_etc_netns: bool) -> Option<EtcBinds> {
        let mut binds: Vec<(CString, CString)> = Vec::new();
        if let Some(files) = &self.etc {
            binds.extend(files.binds.iter().cloned());
        }
        if let (true, Some(name)) = (with_etc_netns, self.name()) {
            let dir = Path::new(ETC_NETNS_DIR).join(name);
            for entry in kernel::dir_entries(&dir).unwrap_or_default() {
                let dst = Path::new("/etc").join(&entry);
                binds.push((c_path(&dir.join(&entry)), c_path(&dst)));
            }
        }
        if binds.is_empty() {
            return None;
        }
        Some(EtcBinds {
            _files: self.etc.clone(),
            binds: binds.into(),
        })
    }

    /// [`Netns::run`] without the network's files: the crate's own
    /// namespace operations (netlink requests, sysctls, keeping a failed
    /// test's namespace, whose bind mount must reach the host's mount
    /// namespace) pay no mount work.
    pub(crate) fn run_bare<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let fd = self.as_fd();
        let path = self.path();
        explain(crate::namespace::thread::on_new_thread(move || {
            kernel::setns_net(fd, path)?;
            Ok(f())
        }))
    }
}
