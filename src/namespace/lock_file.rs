//! Lock files: a file `flock`ed while held, removed by whoever finds it
//! unheld (a released name lock, the sweep). Name locks
//! (`/run/netns-test/locks/NAME`), fixture locks
//! (`/run/netns-test/fixture-NAME.lock`) and the sweep of both take them
//! here, one way (ARCHITECTURE.md 3.4).
//!
//! The race every user shares: a file opened, then removed by its holder or
//! the sweep before our `flock` is granted, locks an orphan nobody else will
//! ever open. So a lock is taken only once the locked file is still the one
//! at the path (same device and inode), else the path is opened again.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;

use crate::error::{Error, Result};
use crate::kernel;

/// A locked file, unlocked when dropped (the kernel drops the lock with the
/// last fd of its open file description).
#[derive(Debug)]
pub(crate) struct LockFile {
    path: PathBuf,
    /// Held for its lock; read by the tests only.
    #[cfg_attr(not(test), allow(dead_code))]
    file: File,
}

impl LockFile {
    /// Opens `path` (creating it, and its directory if missing) and locks it
    /// with `op` (`LockShared` or `LockExclusive`), until the locked file is
    /// the one at `path`. With a `deadline`, tries without blocking every
    /// 5 ms and gives up then: `Ok(None)`.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `mkdir`, `open`, `flock` or `stat` and the path.
    pub(crate) fn lock(
        path: &Path,
        op: FlockOperation,
        deadline: Option<Instant>,
    ) -> Result<Option<LockFile>> {
        let open = || {
            File::options()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)
        };
        loop {
            // The directory is made on first use only: a `mkdir` per lock
            // would cost more than the lock.
            let file = match open() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    kernel::mkdir_0755(path.parent().unwrap_or(path))?;
                    open()
                }
                other => other,
            }
            .map_err(|e| Error::io("open", path, &e))?;
            let locked = match deadline {
                None => kernel::flock(&file, op, path)?,
                Some(deadline) => loop {
                    if kernel::flock(&file, non_blocking(op), path)? {
                        break true;
                    }
                    if Instant::now() >= deadline {
                        break false;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                },
            };
            if !locked {
                return Ok(None);
            }
            if kernel::stat_id(path)? == Some(kernel::fstat_id(&file)?) {
                let path = path.to_path_buf();
                return Ok(Some(LockFile { path, file }));
            }
        }
    }

    /// The sweep's lock: `path` opened if it exists (never created) and
    /// locked exclusively without waiting. `Ok(None)` if there is no file,
    /// a process holds it, or it was replaced meanwhile: not a leftover.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `open`, `flock` or `stat` and the path.
    pub(crate) fn try_existing(path: &Path) -> Result<Option<LockFile>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open", path, &e)),
        };
        if !kernel::flock(&file, FlockOperation::NonBlockingLockExclusive, path)? {
            return Ok(None);
        }
        if kernel::stat_id(path)? != Some(kernel::fstat_id(&file)?) {
            return Ok(None);
        }
        let path = path.to_path_buf();
        Ok(Some(LockFile { path, file }))
    }

    /// The path the file was locked at.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file while still holding it, then unlocks: a waiter
    /// holding the removed file notices and opens the path again.
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The `LOCK_NB` form of `op`.
fn non_blocking(op: FlockOperation) -> FlockOperation {
    match op {
        FlockOperation::LockShared => FlockOperation::NonBlockingLockShared,
        FlockOperation::LockExclusive => FlockOperation::NonBlockingLockExclusive,
        FlockOperation::Unlock => FlockOperation::NonBlockingUnlock,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "netns-test-unit-lock-file-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_lock_excludes_another_open_and_the_sweep() {
        let dir = dir("excl");
        let path = dir.join("locks/x");
        let held = LockFile::lock(&path, FlockOperation::LockExclusive, None)
            .unwrap()
            .unwrap();
        assert!(path.is_file(), "made with its directory");
        let soon = Some(Instant::now() + Duration::from_millis(30));
        assert!(LockFile::lock(&path, FlockOperation::LockShared, soon)
            .unwrap()
            .is_none());
        assert!(LockFile::try_existing(&path).unwrap().is_none(), "held");
        drop(held);
        let swept = LockFile::try_existing(&path).unwrap().expect("unheld");
        assert_eq!(swept.path(), path);
        swept.remove();
        assert!(!path.exists());
        assert!(LockFile::try_existing(&path).unwrap().is_none(), "gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shared_locks_share_and_a_removed_file_is_not_locked() {
        let dir = dir("shared");
        let path = dir.join("f.lock");
        let a = LockFile::lock(&path, FlockOperation::LockShared, None).unwrap();
        let soon = Some(Instant::now() + Duration::from_millis(30));
        let b = LockFile::lock(&path, FlockOperation::LockShared, soon).unwrap();
        assert!(a.is_some() && b.is_some());
        drop((a, b));
        // A waiter blocked on a file its holder removes takes the new one.
        let first = LockFile::lock(&path, FlockOperation::LockExclusive, None)
            .unwrap()
            .unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                LockFile::lock(&path, FlockOperation::LockExclusive, None)
                    .unwrap()
                    .unwrap()
            });
            std::thread::sleep(Duration::from_millis(30));
            first.remove();
            let second = waiter.join().unwrap();
            let second_id = kernel::fstat_id(&second.file).unwrap();
            assert_eq!(
                kernel::stat_id(&path).unwrap(),
                Some(second_id),
                "the orphan was locked"
            );
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
