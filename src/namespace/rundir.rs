//! The iproute2 run directory (`/run/netns`) and namespace names.
//!
//! `ip netns add NAME` bind-mounts the namespace onto `NETNS_RUN_DIR/NAME`;
//! `ip netns list` lists that directory. Ours are made the same way
//! (ip/ipnetns.c, `netns_add` and `create_netns_dir`), so each tool sees the
//! other's namespaces.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::kernel;
use crate::privilege::rootless::COORDINATION_DIR;

/// The environment variable that moves the run directory away from
/// `/run/netns` (read once, at the first use of [`RunDir::get`]).
///
/// Namespaces made under another directory are invisible to `ip netns`, whose
/// run directory is fixed when iproute2 is built.
pub use crate::settings::RUN_DIR_ENV;

/// The longest name iproute2 accepts: `NAME_MAX` bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Checks a namespace name as iproute2 does (ip/ipnetns.c,
/// `is_valid_netns_name`), before anything is touched.
///
/// # Errors
/// [`Error::InvalidName`] if the name is empty, longer than 255 bytes
/// (`NAME_MAX`), contains `/` or a NUL byte, or is `.` or `..`. Such a name
/// would escape the run directory (`../../etc/x`) or could not be a file name.
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_LEN {
        "it is longer than 255 bytes (NAME_MAX)"
    } else if name.contains('/') {
        "it contains '/'"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else if name == "." || name == ".." {
        "'.' and '..' are not namespace names"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// A directory of named network namespaces, laid out as iproute2 lays out
/// `/run/netns`: one nsfs bind mount per name, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory of this process: `$NETNS_TEST_RUN_DIR` if set,
    /// otherwise iproute2's `/run/netns`.
    ///
    /// iproute2 is built with `NETNS_RUN_DIR` = `/var/run/netns`; every current
    /// distribution makes `/var/run` a link to `/run`. That is checked (by
    /// device and inode) rather than assumed: where the two differ,
    /// `/var/run/netns` is used, since that is where `ip netns` looks.
    ///
    /// In rootless mode ([`Privilege::Rootless`](crate::Privilege::Rootless))
    /// the path is the same, but the directory is not the host's: before
    /// `main`, the process covered `/run` with a tmpfs of its own mount
    /// namespace, in which `netns` is a new empty directory (and every other
    /// entry of `/run` is bound back). Named namespaces made there are seen by
    /// this process and its children (`ip netns` run by a test included), never
    /// by the host, and vanish with the process.
    pub fn get() -> &'static RunDir {
        static RUN_DIR: OnceLock<RunDir> = OnceLock::new();
        RUN_DIR.get_or_init(|| match &crate::settings::Settings::get().run_dir {
            Some(dir) => RunDir::new(dir),
            None => RunDir::new(Self::iproute2_default()),
        })
    }

    fn iproute2_default() -> &'static str {
        match (
            kernel::stat_id(Path::new("/run")),
            kernel::stat_id(Path::new("/var/run")),
        ) {
            (Ok(Some(run)), Ok(Some(var_run))) if run != var_run => "/var/run/netns",
            _ => "/run/netns",
        }
    }

    /// A run directory at `path` (used as is; created on first use).
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of namespace `name` in this directory.
    ///
    /// # Errors
    /// [`Error::InvalidName`], see [`validate_name`].
    pub fn entry(&self, name: &str) -> Result<PathBuf> {
        validate_name(name)?;
        Ok(self.path.join(name))
    }

    /// `netns-test` beside this directory (`/run/netns-test`): owner records,
    /// locks and fixture locks, which must not go into the run directory
    /// itself (iproute2 lists every entry there as a namespace).
    pub(crate) fn coordination_dir(&self) -> PathBuf {
        let parent = self.path.parent().unwrap_or(&self.path);
        parent.join(COORDINATION_DIR)
    }

    /// The names in this directory, sorted (what `ip netns list` lists,
    /// without the ids).
    ///
    /// # Errors
    /// [`Error::Sys`] naming `readdir` and the directory; a missing directory
    /// is an empty list.
    pub fn names(&self) -> Result<Vec<String>> {
        let rd = match std::fs::read_dir(&self.path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("readdir", &self.path, &e)),
        };
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("readdir", &self.path, &e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// Steps 2 to 4 of `ip netns add` (ip/ipnetns.c, `create_netns_dir` and
    /// `netns_add`): create the directory (0755), lock it (`flock`), and make
    /// it a shared mount point, so namespaces mounted here show in other mount
    /// namespaces and unmounting one unmounts it everywhere.
    ///
    /// Without the lock, concurrent first-time creators each bind-mount the
    /// directory onto itself, stacking mounts. The self bind mount gets a peer
    /// group of its own (`MS_PRIVATE` first) so it is not duplicated into the
    /// peers of `/run`.
    pub(crate) fn prepare(&self) -> Result<()> {
        kernel::mkdir_0755(&self.path)?;
        let _lock = kernel::lock_dir(&self.path)?;
        match kernel::make_shared_rec(&self.path) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::INVAL) => {
                kernel::bind_mount_rec(&self.path, &self.path)?;
                kernel::make_private_rec(&self.path)?;
                kernel::make_shared_rec(&self.path)
                    .map_err(|e| Error::sys("mount --make-rshared", self.path.clone(), e))
            }
            Err(e) => Err(Error::sys("mount --make-rshared", self.path.clone(), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_iproute2_refuses_are_refused() {
        for bad in ["", ".", "..", "a/b", "../../etc/x", "/abs", "nul\0byte"] {
            let err = validate_name(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err}");
        }
        assert!(validate_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn names_iproute2_accepts_are_accepted() {
        for good in [
            "ns0",
            "a.b",
            "...",
            "with space",
            "-dash",
            "ünï",
            &"x".repeat(255),
        ] {
            validate_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
    }

    #[test]
    fn entry_joins_validated_names_only() {
        let dir = RunDir::new("/tmp/rd");
        assert_eq!(dir.entry("ns0").unwrap(), Path::new("/tmp/rd/ns0"));
        assert!(dir.entry("..").is_err());
    }
}
