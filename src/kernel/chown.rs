//! Ownership of files the crate writes where a user's build lives.

use std::path::Path;

use rustix::fs::{Gid, Uid};

/// `chown(path, uid, gid)`: gives `path` to `uid`:`gid`.
///
/// The logs of spawned processes go under the target directory; a test run
/// as root through the `sudo -E` runner must leave nothing there that its
/// user cannot remove (README, "Running without `sudo cargo`").
///
/// # References
/// - [chown(2)](https://man7.org/linux/man-pages/man2/chown.2.html)
pub(crate) fn chown(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    rustix::fs::chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error()))
}
