//! Name locks: one `flock`ed file per name, `/run/netns-test/locks/NAME`,
//! held while a process creates, removes or (`#[netns_test(name = ..)]`)
//! uses NAME, so that no two of them act on one name at once, and no sweep
//! removes what a live process is working on (ARCHITECTURE.md 3.4).

use std::path::PathBuf;
use std::thread::ThreadId;
use std::time::Instant;

use rustix::fs::FlockOperation;

use crate::error::Result;
use crate::namespace::lock_file::LockFile;
use crate::namespace::owner::locks_dir;
use crate::namespace::rundir::RunDir;

/// Who holds which name lock in this process: the lock is re-entrant for
/// the thread that holds it (a `#[netns_test(name = ..)]` holds NAME for the
/// whole test, and creates and removes NAME meanwhile), exclusive for other
/// threads. `flock` alone cannot do this: two open file descriptions of one
/// process conflict like two processes' (flock(2)).
static HELD: parking_lot::Mutex<Vec<(PathBuf, ThreadId, usize)>> =
    parking_lot::Mutex::new(Vec::new());
static RELEASED: parking_lot::Condvar = parking_lot::Condvar::new();

/// NAME's lock (`flock` on `/run/netns-test/locks/NAME`, plus [`HELD`]),
/// held until dropped. The file is removed on release (while still locked),
/// so lock files do not pile up; a waiter then holding the removed file
/// notices and locks the new one.
#[must_use = "the name is unlocked when the guard drops"]
pub(crate) struct NameLock {
    path: PathBuf,
    /// The locked file: set for the outermost hold of this thread.
    file: Option<LockFile>,
}

impl NameLock {
    /// Blocks until no other thread or process holds NAME.
    ///
    /// # Errors
    /// [`Error::Sys`](crate::Error::Sys) naming `mkdir`, `open`, `flock` or `stat` and the path.
    pub(crate) fn acquire(dir: &RunDir, name: &str) -> Result<NameLock> {
        Ok(Self::acquire_until(dir, name, None)?.expect("no deadline"))
    }

    /// As [`NameLock::acquire`], but gives up at `deadline`: `Ok(None)`.
    pub(crate) fn acquire_until(
        dir: &RunDir,
        name: &str,
        deadline: Option<Instant>,
    ) -> Result<Option<NameLock>> {
        let path = locks_dir(dir).join(name);
        let me = std::thread::current().id();
        {
            let mut held = HELD.lock();
            loop {
                match held.iter_mut().find(|(p, _, _)| *p == path) {
                    None => {
                        held.push((path.clone(), me, 1));
                        break;
                    }
                    Some((_, owner, depth)) if *owner == me => {
                        *depth += 1;
                        return Ok(Some(NameLock { path, file: None }));
                    }
                    Some(_) => match deadline {
                        None => RELEASED.wait(&mut held),
                        Some(deadline) => {
                            if RELEASED.wait_until(&mut held, deadline).timed_out() {
                                return Ok(None);
                            }
                        }
                    },
                }
            }
        }
        // Outermost hold of this thread: the cross-process lock.
        let mut lock = NameLock { path, file: None };
        lock.file = LockFile::lock(&lock.path, FlockOperation::LockExclusive, deadline)?;
        Ok(lock.file.is_some().then_some(lock))
    }
}

impl Drop for NameLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            file.remove();
        }
        let mut held = HELD.lock();
        if let Some(i) = held.iter().position(|(p, _, _)| *p == self.path) {
            held[i].2 -= 1;
            if held[i].2 == 0 {
                held.swap_remove(i);
                RELEASED.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_name_lock_is_reentrant_for_its_thread_and_exclusive_for_others() {
        let dir = RunDir::new(format!(
            "/tmp/netns-test-unit-lock-{}/netns",
            std::process::id()
        ));
        let outer = NameLock::acquire(&dir, "x").unwrap();
        let inner = NameLock::acquire(&dir, "x").unwrap();
        let lock_file = locks_dir(&dir).join("x");
        assert!(lock_file.exists());
        std::thread::scope(|s| {
            s.spawn(|| {
                let soon = Instant::now() + Duration::from_millis(50);
                assert!(NameLock::acquire_until(&dir, "x", Some(soon))
                    .unwrap()
                    .is_none());
            });
        });
        drop(inner);
        assert!(lock_file.exists(), "released by the inner hold");
        drop(outer);
        assert!(!lock_file.exists(), "the lock file stayed");
        std::thread::scope(|s| {
            s.spawn(|| {
                let soon = Instant::now() + Duration::from_millis(50);
                assert!(NameLock::acquire_until(&dir, "x", Some(soon))
                    .unwrap()
                    .is_some());
            });
        });
        std::fs::remove_dir_all(dir.path().parent().unwrap()).unwrap();
    }
}
