//! The sweep: removes what netns-test processes that are gone left behind
//! (`RunDir::sweep`, `setns --sweep`, and before every named
//! `Topology::build`).

use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::kernel;
use crate::namespace::leftover::{Leftover, LeftoverKind, Outcome};
use crate::namespace::lock_file::LockFile;
use crate::namespace::name_lock::NameLock;
use crate::namespace::owner::{self, Entry, Owner, Record};
use crate::namespace::rundir::{validate_name, RunDir};

impl RunDir {
    /// Removes every leftover of netns-test processes that are gone, in this
    /// run directory and in `netns-test/` beside it (`/run/netns-test`), and
    /// returns what it found, name by name (a namespace, then its record);
    /// with `dry_run`, removes nothing.
    ///
    /// A leftover is:
    /// - a run-directory entry whose owner record (`owners/NAME`) names a
    ///   process that is gone (no such pid, or a pid now used by a process
    ///   with another start time, or a zombie), in whatever state a crash
    ///   left it: mounted (every stacked mount is removed, with
    ///   `umount2(MNT_DETACH|UMOUNT_NOFOLLOW)` until `EINVAL`, as
    ///   `ip netns del` does), or an empty placeholder; then the record;
    /// - such a record without an entry;
    /// - a record being written by a process that is gone (`tmp/`);
    /// - a lock file no process holds (`locks/NAME`, `fixture-NAME.lock`):
    ///   it is locked (`flock(LOCK_EX|LOCK_NB)`) and removed while locked;
    ///   lockers re-check, after locking, that their file is still there.
    ///
    /// Each name is swept with its lock held (the one `Netns::create`
    /// takes), so a process creating or using it meanwhile is never
    /// disturbed; a name in use is skipped.
    ///
    /// Nothing else is touched: not an entry without a record (made by
    /// `ip netns add` or another tool), not an entry or record of a live
    /// process. What is found but not removed is listed as
    /// [`Outcome::Left`] with the reason: a record that is not one
    /// netns-test writes (garbage, an empty file, a directory), a gone
    /// owner's entry that is a directory or a symlink, and an empty
    /// placeholder with no record (it makes `ip netns list` print
    /// `Peer netns reference is invalid`; `ip netns del NAME` removes it).
    ///
    /// # Errors
    /// [`Error::Sys`] naming `opendir` or `readdir` and the directory, if
    /// one cannot be listed. A leftover that cannot be removed is an
    /// [`Outcome::Left`] with the error, not an error of the sweep.
    pub fn sweep(&self, dry_run: bool) -> Result<Vec<Leftover>> {
        let mut found = sweep_matching(self, dry_run, |_| true)?;
        sweep_fixture_locks(self, dry_run, &mut found)?;
        report_bare_placeholders(self, &mut found)?;
        Ok(found)
    }
}

/// The sweep of records, partial records and name locks whose NAME
/// `matches` (all partial records of gone processes).
pub(crate) fn sweep_matching(
    dir: &RunDir,
    dry_run: bool,
    matches: impl Fn(&str) -> bool,
) -> Result<Vec<Leftover>> {
    let mut found = Vec::new();
    for name in names(&owner::owners_dir(dir))? {
        if matches(&name) && validate_name(&name).is_ok() {
            sweep_record(dir, &name, dry_run, &mut found);
        }
    }
    for file in names(&owner::tmp_dir(dir))? {
        sweep_partial_record(&owner::tmp_dir(dir).join(file), dry_run, &mut found);
    }
    for name in names(&owner::locks_dir(dir))? {
        if matches(&name) {
            let path = owner::locks_dir(dir).join(name);
            sweep_lock_file(&path, LeftoverKind::NameLock, dry_run, &mut found);
        }
    }
    Ok(found)
}

/// The entry names of a directory, as UTF-8 (others are not ours: every
/// name this crate makes is a `&str`); a missing directory has none.
fn names(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = kernel::dir_entries(dir)?
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

fn sweep_record(dir: &RunDir, name: &str, dry_run: bool, found: &mut Vec<Leftover>) {
    let record = owner::record_path(dir, name);
    let entry = dir.path().join(name);
    let left = |path: &Path, kind, pid, why: String| Leftover {
        path: path.to_path_buf(),
        kind,
        pid,
        outcome: Outcome::Left(why),
    };
    let gone = match owner::read(dir, name) {
        Ok(Some(Record::Owner(o))) if o.is_gone() => o,
        Ok(None | Some(Record::Owner(_))) => return,
        Ok(Some(Record::Garbage(content))) => {
            let why = owner::garbage(dir, name, &entry, &content).to_string();
            let why = why
                .split_once(": ")
                .map_or(why.clone(), |(_, w)| w.to_owned());
            found.push(left(&record, LeftoverKind::Foreign, None, why));
            return;
        }
        Err(e) => {
            found.push(left(
                &record,
                LeftoverKind::OwnerRecord,
                None,
                e.to_string(),
            ));
            return;
        }
    };
    let pid = Some(gone.pid);
    let done = if dry_run {
        Outcome::WouldRemove
    } else {
        Outcome::Removed
    };
    if dry_run {
        match owner::inspect(&entry) {
            Ok(Entry::Missing) => {}
            Ok(Entry::Placeholder) => found.push(Leftover {
                path: entry,
                kind: LeftoverKind::Placeholder,
                pid,
                outcome: Outcome::WouldRemove,
            }),
            Ok(Entry::Mounted) => found.push(Leftover {
                path: entry,
                kind: LeftoverKind::Namespace { mounts: None },
                pid,
                outcome: Outcome::WouldRemove,
            }),
            Ok(Entry::Foreign(what)) => {
                found.push(left(&entry, LeftoverKind::Foreign, pid, foreign(what)));
                return;
            }
            Err(e) => {
                found.push(left(&entry, LeftoverKind::Foreign, pid, e.to_string()));
                return;
            }
        }
        found.push(Leftover {
            path: record,
            kind: LeftoverKind::OwnerRecord,
            pid,
            outcome: Outcome::WouldRemove,
        });
        return;
    }
    // A process holding the name now is creating or using it: it replaces
    // the leftover itself. Never wait for it.
    let Ok(Some(_lock)) = NameLock::acquire_until(dir, name, Some(Instant::now())) else {
        return;
    };
    // Read again, under the lock: the record may have changed meanwhile.
    if !matches!(owner::read(dir, name), Ok(Some(Record::Owner(o))) if o == gone) {
        return;
    }
    match owner::remove_entry(&entry) {
        Ok((Entry::Missing, _)) => {}
        Ok((Entry::Placeholder, _)) => found.push(Leftover {
            path: entry,
            kind: LeftoverKind::Placeholder,
            pid,
            outcome: done.clone(),
        }),
        Ok((_, mounts)) => found.push(Leftover {
            path: entry,
            kind: LeftoverKind::Namespace {
                mounts: Some(mounts),
            },
            pid,
            outcome: done.clone(),
        }),
        Err(Error::Leftover { problem, .. }) => {
            found.push(left(&entry, LeftoverKind::Foreign, pid, problem));
            return;
        }
        Err(e) => {
            found.push(left(
                &entry,
                LeftoverKind::Namespace { mounts: None },
                pid,
                e.to_string(),
            ));
            return;
        }
    }
    match owner::remove_record(dir, name) {
        Ok(()) => found.push(Leftover {
            path: record,
            kind: LeftoverKind::OwnerRecord,
            pid,
            outcome: done,
        }),
        Err(e) => found.push(left(&record, LeftoverKind::OwnerRecord, pid, e.to_string())),
    }
}

fn foreign(what: &str) -> String {
    format!(
        "its owner record names a netns-test process that is gone, but it is {what}, which \
         netns-test never makes there: left as it is, with its record; remove both by hand if \
         nothing uses them"
    )
}

/// Removes the owner records of gone processes whose
/// run-directory entry is missing, as every `Netns::create` does: what
/// `ip netns del` of a kept namespace leaves once its process has exited
/// (it removes the namespace, not our record). Cheap: a `readdir` of
/// `owners/` and an `lstat` per record; only a record without an entry is
/// read, and only a gone owner's is removed (under its name lock, never
/// waited for, as the sweep does). A gone owner's entry that is still
/// there is the next create of its name's, or the sweep's.
pub(crate) fn sweep_deleted_records(dir: &RunDir) {
    let missing = |name: &str| matches!(kernel::lstat_type(&dir.path().join(name)), Ok(None));
    let mut found = Vec::new();
    for name in names(&owner::owners_dir(dir)).unwrap_or_default() {
        if validate_name(&name).is_ok() && missing(&name) {
            sweep_record(dir, &name, false, &mut found);
        }
    }
}

/// Removes the partial records of gone processes (`tmp/`), as every
/// `Netns::create` does before it writes a record: a process killed
/// while writing one leaves it there, and nothing else would.
pub(crate) fn sweep_partial_records(dir: &RunDir) {
    let tmp = owner::tmp_dir(dir);
    let mut found = Vec::new();
    for file in names(&tmp).unwrap_or_default() {
        sweep_partial_record(&tmp.join(file), false, &mut found);
    }
}

/// `tmp/PID-START-N`: removed if its process is gone.
fn sweep_partial_record(path: &Path, dry_run: bool, found: &mut Vec<Leftover>) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let mut parts = name.split('-');
    let owner = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(pid), Some(start), Some(_seq), None) => {
            match (pid.parse::<u32>(), start.parse::<u64>()) {
                (Ok(pid), Ok(start_time)) if pid > 0 => Some(Owner { pid, start_time }),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(owner) = owner else {
        found.push(Leftover {
            path: path.to_path_buf(),
            kind: LeftoverKind::Foreign,
            pid: None,
            outcome: Outcome::Left(
                "not a name netns-test gives a record being written (PID-START-N): left as it is"
                    .to_owned(),
            ),
        });
        return;
    };
    if !owner.is_gone() {
        return;
    }
    let Some(outcome) = remove_file(path, dry_run) else {
        return;
    };
    found.push(Leftover {
        path: path.to_path_buf(),
        kind: LeftoverKind::PartialRecord,
        pid: Some(owner.pid),
        outcome,
    });
}

/// A lock file no process holds: locked without waiting, checked to be
/// still the file at `path`, then removed while locked.
fn sweep_lock_file(path: &Path, kind: LeftoverKind, dry_run: bool, found: &mut Vec<Leftover>) {
    let lock = match LockFile::try_existing(path) {
        Ok(Some(lock)) => lock,
        // Gone, or held: in use.
        Ok(None) => return,
        Err(e) => {
            found.push(Leftover {
                path: path.to_path_buf(),
                kind,
                pid: None,
                outcome: Outcome::Left(e.to_string()),
            });
            return;
        }
    };
    // Removed while still locked.
    let Some(outcome) = remove_file(lock.path(), dry_run) else {
        return;
    };
    found.push(Leftover {
        path: path.to_path_buf(),
        kind,
        pid: None,
        outcome,
    });
}

/// `fixture-NAME.lock` files beside the run directory.
fn sweep_fixture_locks(dir: &RunDir, dry_run: bool, found: &mut Vec<Leftover>) -> Result<()> {
    let coordination = dir.coordination_dir();
    for file in names(&coordination)? {
        if file.starts_with("fixture-") && file.ends_with(".lock") {
            let path = coordination.join(file);
            sweep_lock_file(&path, LeftoverKind::FixtureLock, dry_run, found);
        }
    }
    Ok(())
}

/// Empty placeholders without an owner record: not netns-test's, never
/// removed, but reported, since they break `ip netns list` host-wide.
fn report_bare_placeholders(dir: &RunDir, found: &mut Vec<Leftover>) -> Result<()> {
    for name in names(dir.path())? {
        if validate_name(&name).is_err() || found.iter().any(|l| l.path == dir.path().join(&name)) {
            continue;
        }
        if !matches!(owner::read(dir, &name), Ok(None)) {
            continue;
        }
        let entry = dir.path().join(&name);
        if owner::inspect(&entry).ok() == Some(Entry::Placeholder) {
            let command = if dir.path() == Path::new("/run/netns") {
                format!("`ip netns del {name}`")
            } else {
                format!("`rm {}`", entry.display())
            };
            found.push(Leftover {
                path: entry,
                kind: LeftoverKind::Placeholder,
                pid: None,
                outcome: Outcome::Left(format!(
                    "it has no owner record, so it is not netns-test's (a crashed or running \
                     `ip netns add`?); it makes `ip netns list` print errors: {command} removes it"
                )),
            });
        }
    }
    Ok(())
}

/// `unlink(path)` unless `dry_run`: what became of it, or `None` if it was
/// gone already (someone else removed it meanwhile).
fn remove_file(path: &Path, dry_run: bool) -> Option<Outcome> {
    if dry_run {
        return Some(Outcome::WouldRemove);
    }
    match std::fs::remove_file(path) {
        Ok(()) => Some(Outcome::Removed),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Outcome::Left(Error::io("unlink", path, &e).to_string())),
    }
}
