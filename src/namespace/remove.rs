//! Removing a named namespace this process made, as `ip netns del` does
//! (ARCHITECTURE.md 3.2), then its owner record (ARCHITECTURE.md 3.4).

use std::path::Path;

use crate::error::Result;
use crate::kernel;
use crate::namespace::crash_points::crash_point;
use crate::namespace::owner;
use crate::namespace::rundir::RunDir;

/// The run directory a named namespace's path is in.
pub(crate) fn run_dir_of(path: &Path) -> RunDir {
    RunDir::new(path.parent().unwrap_or(path))
}

/// [`remove_entry`] with the name's lock held (for at most 2 s of waiting:
/// a removal at exit must not hang), then the owner record if it is this
/// process's: the record goes only after the entry.
pub(crate) fn remove_named(path: &Path, id: (u64, u64)) -> Result<()> {
    let dir = run_dir_of(path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let _lock = crate::namespace::name_lock::NameLock::acquire_until(&dir, name, Some(deadline))
        .ok()
        .flatten();
    remove_entry(path, id)?;
    owner::forget_mine(&dir, name);
    crash_point("forgotten");
    Ok(())
}

/// `ip netns del`: unmount every mount on `path`, then unlink it, if it is
/// still the namespace `id`.
fn remove_entry(path: &Path, id: (u64, u64)) -> Result<()> {
    match kernel::stat_id(path)? {
        None => return Ok(()),
        // Deleted and re-created by someone else (perhaps mid-way through
        // their `ip netns add`): not ours to remove.
        Some(now) if now != id => return Ok(()),
        Some(_) => {}
    }
    kernel::unmount_all(path)?;
    crash_point("unmounted");
    match kernel::unlink(path) {
        Err(e) if e.errno() == Some(rustix::io::Errno::NOENT) => {}
        other => other?,
    }
    crash_point("unlinked");
    Ok(())
}
