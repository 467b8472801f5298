//! Owner records: with the name locks of `name_lock.rs`, what makes named
//! namespaces crash-safe.
//!
//! Every named namespace this crate creates ([`Netns::create`], so
//! `#[netns_test(name = ..)]`, named topologies and suite fixtures too)
//! carries an owner record, kept beside the run directory, never in it
//! (iproute2 lists every entry of `/run/netns` as a namespace):
//!
//! - `/run/netns-test/owners/NAME`: one line,
//!   `netns-test-owner 1 pid=PID start=STARTTIME`, naming the creating
//!   process by its pid *and* its start time (field 22 of `/proc/PID/stat`),
//!   so that a later process given the same pid is not taken for the owner.
//! - `/run/netns-test/locks/NAME`: `flock`ed while a process creates,
//!   removes or (for `#[netns_test(name = ..)]`) uses NAME; the file is
//!   removed by the holder on release.
//! - `/run/netns-test/tmp/PID-START-N`: a record being written, renamed
//!   to `owners/NAME` once complete.
//!
//! # One name's life, and what a crash at each step leaves
//! Intent before action: the record exists, complete, before the
//! placeholder does, and goes only after the placeholder is gone. Each
//! step is a crash point of the tests (src/namespace/crash_points.rs):
//!
//! | after step | left on the machine | the next run |
//! | --- | --- | --- |
//! | `locked` (flock on `locks/NAME`) | `locks/NAME`, unlocked | locks it (the kernel dropped the lock with the process) |
//! | `record-written` (`tmp/PID-START-N`) | a partial record | removes it (every create sweeps `tmp/`): its name says whose it is |
//! | `recorded` (renamed to `owners/NAME`) | a record, no entry | the record names a gone process: removes it |
//! | `placeholder` (`O_EXCL` create) | record + empty placeholder | removes both |
//! | `mounted`, `created`, `body` | record + mounted namespace | unmounts (every stacked mount), unlinks, removes the record |
//! | `unmounted` | record + empty placeholder | removes both |
//! | `unlinked` | a record, no entry | removes it |
//! | `forgotten` | `locks/NAME` | locks it |
//!
//! rename(2) is atomic, so a record is never seen half-written; `/run` is a
//! tmpfs, so a crash of the process (not of the machine) is all there is to
//! survive, and no `fsync` is needed. A run-directory entry whose record
//! names a live process is that process's: it is never removed. An entry
//! without a record (`ip netns add`, another tool) is never removed either.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::kernel::{self, own_start_time, proc_stat};
use crate::namespace::crash_points::crash_point;
use crate::namespace::rundir::RunDir;

/// The first word of a record, and the format version after it.
const MAGIC: &str = "netns-test-owner";
const VERSION: &str = "1";

/// A process, as a record names it: pid and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) pid: u32,
    pub(crate) start_time: u64,
}

impl Owner {
    /// The calling process.
    pub(crate) fn me() -> Result<Owner> {
        // Cached per pid: a forked child is another process.
        static ME: parking_lot::Mutex<Option<Owner>> = parking_lot::Mutex::new(None);
        let pid = std::process::id();
        let mut me = ME.lock();
        match *me {
            Some(owner) if owner.pid == pid => Ok(owner),
            _ => {
                let owner = Owner {
                    pid,
                    start_time: own_start_time()?,
                };
                *me = Some(owner);
                Ok(owner)
            }
        }
    }

    /// The record's text.
    fn encode(&self) -> String {
        format!(
            "{MAGIC} {VERSION} pid={} start={}\n",
            self.pid, self.start_time
        )
    }

    /// A record's text, or `None` if it is not one this crate writes.
    pub(crate) fn parse(text: &str) -> Option<Owner> {
        let line = text.strip_suffix('\n')?;
        let mut words = line.split(' ');
        if words.next()? != MAGIC || words.next()? != VERSION {
            return None;
        }
        let pid = digits(words.next()?.strip_prefix("pid=")?)?;
        let start_time = digits(words.next()?.strip_prefix("start=")?)?;
        if words.next().is_some() || pid == 0 || pid > u64::from(u32::MAX) {
            return None;
        }
        Some(Owner {
            pid: pid as u32,
            start_time,
        })
    }

    /// Whether the process is gone: no process has its pid, or the one that
    /// has it started at another time (the pid was reused), or it has exited
    /// and is a zombie waiting to be reaped. Any doubt (an unreadable
    /// `/proc/PID/stat`, say under `hidepid=`) counts as alive, unless
    /// `kill(pid, 0)` answers `ESRCH`: nothing of a live process is ever
    /// taken for a leftover.
    pub(crate) fn is_gone(&self) -> bool {
        match proc_stat(self.pid) {
            Ok(Some(stat)) => stat.start_time != self.start_time || stat.has_exited(),
            Ok(None) | Err(_) => kernel::pid_is_gone(&self.pid.to_string()),
        }
    }
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// What `owners/NAME` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// A record this crate wrote.
    Owner(Owner),
    /// Something else (an empty file, a bare pid of an older version, a
    /// directory): never trusted, never removed.
    Garbage(String),
}

/// `/run/netns-test/owners` for the run directory `dir`.
pub(crate) fn owners_dir(dir: &RunDir) -> PathBuf {
    dir.coordination_dir().join("owners")
}

/// `/run/netns-test/locks` for the run directory `dir`.
pub(crate) fn locks_dir(dir: &RunDir) -> PathBuf {
    dir.coordination_dir().join("locks")
}

/// `/run/netns-test/tmp`: records being written, `PID-START-N`, renamed
/// into `owners/` when complete. Not in `owners/`, where every name is a
/// namespace's.
pub(crate) fn tmp_dir(dir: &RunDir) -> PathBuf {
    dir.coordination_dir().join("tmp")
}

/// `/run/netns-test/owners/NAME`.
pub(crate) fn record_path(dir: &RunDir, name: &str) -> PathBuf {
    owners_dir(dir).join(name)
}

/// Reads NAME's record: `None` if there is none.
///
/// # Errors
/// [`Error::Sys`] naming `read` and the path, for a record that exists but
/// cannot be read (`EISDIR` is a [`Record::Garbage`] instead).
pub(crate) fn read(dir: &RunDir, name: &str) -> Result<Option<Record>> {
    let path = record_path(dir, name);
    match kernel::lstat_type(&path)? {
        None => return Ok(None),
        Some(rustix::fs::FileType::RegularFile) => {}
        Some(other) => return Ok(Some(Record::Garbage(format!("a {other:?}, not a file")))),
    }
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path, &e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(Some(match Owner::parse(&text) {
        Some(owner) => Record::Owner(owner),
        None => Record::Garbage(text.chars().take(80).collect()),
    }))
}

/// Writes this process's record for NAME: to a temporary file, then
/// `rename(2)`d into place, so the record is complete whenever it exists.
/// Called with NAME's lock held.
///
/// # Errors
/// [`Error::Sys`] naming `mkdir`, `write` or `rename` and the path.
pub(crate) fn write(dir: &RunDir, name: &str) -> Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let me = Owner::me()?;
    let tmp = tmp_dir(dir).join(format!(
        "{}-{}-{}",
        me.pid,
        me.start_time,
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    // The directories are made on first use only (ENOENT), not per record.
    let missing = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let written = match std::fs::write(&tmp, me.encode()) {
        Err(e) if missing(&e) => {
            kernel::mkdir_0755(&tmp_dir(dir))?;
            std::fs::write(&tmp, me.encode())
        }
        other => other,
    };
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", &tmp, &e)
    })?;
    crash_point("record-written");
    let path = record_path(dir, name);
    let renamed = match std::fs::rename(&tmp, &path) {
        Err(e) if missing(&e) => {
            kernel::mkdir_0755(&owners_dir(dir))?;
            std::fs::rename(&tmp, &path)
        }
        other => other,
    };
    renamed.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("rename", &path, &e)
    })?;
    crash_point("recorded");
    Ok(())
}

/// Removes NAME's record if it names this process (a record of another
/// process, or garbage, is left). Best effort: a record left behind names
/// this process, and is removed by the first run after it has exited.
pub(crate) fn forget_mine(dir: &RunDir, name: &str) {
    let Ok(me) = Owner::me() else { return };
    if let Ok(Some(Record::Owner(owner))) = read(dir, name) {
        if owner == me {
            let _ = std::fs::remove_file(record_path(dir, name));
        }
    }
}

/// Makes NAME this process's, with its lock held, before the placeholder
/// is created (`Netns::create`):
/// - a record of a process that is gone: its leftover (whatever state it is
///   in) and the record are removed;
/// - a record of a live process (this one included): the name is taken;
/// - no record, but an entry in the run directory (`ip netns add`, another
///   tool): the name is taken, and no record is written for it.
///
/// Then this process's record is written.
///
/// One window is left, because `ip netns add` takes no name lock: if this
/// process is killed between writing its record and creating the
/// placeholder, and `ip netns add NAME` creates NAME in that window, the
/// record (naming a gone process) claims that namespace, and the next
/// create of NAME removes it.
///
/// # Errors
/// - [`Error::AlreadyExists`] for a name that is taken; nothing touched.
/// - [`Error::Leftover`] for a record that is not one this crate writes, or
///   a leftover that is not a file (a directory, a symlink): nothing
///   touched, the message says what to remove by hand.
/// - [`Error::Sys`] from removing a leftover or writing the record.
pub(crate) fn claim(dir: &RunDir, name: &str, path: &Path) -> Result<()> {
    match read(dir, name)? {
        Some(Record::Owner(owner)) if owner.is_gone() => {
            remove_entry(path)?;
            remove_record(dir, name)?;
        }
        Some(Record::Owner(_)) => {
            return Err(Error::AlreadyExists {
                path: path.to_path_buf(),
            })
        }
        Some(Record::Garbage(content)) => return Err(garbage(dir, name, path, &content)),
        None => {
            if kernel::lstat_type(path)?.is_some() {
                return Err(Error::AlreadyExists {
                    path: path.to_path_buf(),
                });
            }
        }
    }
    crate::namespace::sweep::sweep_partial_records(dir);
    write(dir, name)
}

/// The error for a record this crate did not write.
pub(crate) fn garbage(dir: &RunDir, name: &str, entry: &Path, content: &str) -> Error {
    let record = record_path(dir, name);
    Error::Leftover {
        path: record.clone(),
        problem: format!(
            "not an owner record netns-test writes (it holds {content:?}), so netns-test cannot \
             tell whether a process uses {entry}; it neither joins nor removes it. If no process \
             uses that name, remove both by hand: `rm -r {record}` and `ip netns del {name}`",
            entry = entry.display(),
            record = record.display(),
        ),
    }
}

/// Removes NAME's record, gone already or not.
pub(crate) fn remove_record(dir: &RunDir, name: &str) -> Result<()> {
    let path = record_path(dir, name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("unlink", &path, &e)),
    }
}

/// What a run-directory entry is, looked at without following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Nothing at the path.
    Missing,
    /// An empty regular file: a placeholder nothing is mounted on.
    Placeholder,
    /// A namespace bind mount (maybe several, stacked).
    Mounted,
    /// Something this crate never makes there: a directory, a symlink, a
    /// non-empty file, a device.
    Foreign(&'static str),
}

/// Looks at the run-directory entry `path`.
///
/// # Errors
/// [`Error::Sys`] naming `lstat` or `statfs`.
pub(crate) fn inspect(path: &Path) -> Result<Entry> {
    use rustix::fs::FileType;
    Ok(match kernel::lstat_type(path)? {
        None => Entry::Missing,
        Some(FileType::RegularFile) if kernel::is_nsfs_mount(path)? => Entry::Mounted,
        Some(FileType::RegularFile) => match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.len() == 0 => Entry::Placeholder,
            _ => Entry::Foreign("a regular file with content"),
        },
        Some(FileType::Directory) => Entry::Foreign("a directory"),
        Some(FileType::Symlink) => Entry::Foreign("a symbolic link"),
        Some(_) => Entry::Foreign("a special file"),
    })
}

/// Removes a gone owner's run-directory entry, whatever state it is in:
/// `umount2(MNT_DETACH|UMOUNT_NOFOLLOW)` until nothing is mounted there
/// (stacked mounts included), then `unlink`, as `ip netns del` does. Returns
/// what it was and how many mounts were removed.
///
/// # Errors
/// [`Error::Leftover`] for an entry this crate never makes (a directory, a
/// symlink, a file with content): it is left as it is, and the message says
/// so. [`Error::Sys`] naming the failed call and the path.
pub(crate) fn remove_entry(path: &Path) -> Result<(Entry, usize)> {
    let entry = inspect(path)?;
    match entry {
        Entry::Missing => return Ok((entry, 0)),
        Entry::Foreign(what) => {
            return Err(Error::Leftover {
                path: path.to_path_buf(),
                problem: format!(
                    "its owner record names a netns-test process that is gone, but it is {what}, \
                     which netns-test never makes there: left as it is; remove it by hand if \
                     nothing uses it"
                ),
            })
        }
        Entry::Placeholder | Entry::Mounted => {}
    }
    let mounts = kernel::unmount_all_nofollow(path)?;
    match kernel::unlink(path) {
        Err(e) if e.errno() == Some(rustix::io::Errno::NOENT) => {}
        other => other?,
    }
    Ok((entry, mounts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        let owner = Owner {
            pid: 4242,
            start_time: 987_654_321,
        };
        assert_eq!(
            owner.encode(),
            "netns-test-owner 1 pid=4242 start=987654321\n"
        );
        assert_eq!(Owner::parse(&owner.encode()), Some(owner));
        for bad in [
            "",
            "4242",
            "4242\n",
            "netns-test-owner 1 pid=4242 start=1",
            "netns-test-owner 2 pid=4242 start=1\n",
            "netns-test-owner 1 pid=0 start=1\n",
            "netns-test-owner 1 pid=-1 start=1\n",
            "netns-test-owner 1 pid=99999999999 start=1\n",
            "netns-test-owner 1 pid=1 start=1 extra\n",
            "netns-test-owner 1 pid=1  start=1\n",
            "netns-test-owner 1 start=1 pid=1\n",
            "\u{0}\u{1}binary",
            "netns-test-owner 1 pid=+1 start=1\n",
            "netns-test-owner 1 pid=1 start=+1\n",
            "netns-test-owner 1 pid= start=1\n",
            "netns-test-owner 1 pid=1 start=\n",
            "netns-test-owner 1 pid=4294967296 start=1\n",
            "netns-test-owner 1 pid=1 start=000000000000000000001\n",
            "netns-test-owner 1 pid=1 start=18446744073709551616\n",
            "netns-test-owner-x 1 pid=1 start=1\n",
            "netns-test-owner pid=1 start=1\n",
        ] {
            assert_eq!(Owner::parse(bad), None, "{bad:?}");
        }
        for (good, pid, start_time) in [
            ("pid=4294967295 start=00000000000000000001", u32::MAX, 1),
            ("pid=1 start=18446744073709551615", 1, u64::MAX),
            ("pid=007 start=0", 7, 0),
        ] {
            let text = format!("netns-test-owner 1 {good}\n");
            assert_eq!(
                Owner::parse(&text),
                Some(Owner { pid, start_time }),
                "{text:?}"
            );
        }
    }

    /// A run directory of the test's own under the temporary directory
    /// (never the host's `/run/netns`), removed with the coordination
    /// directory beside it when dropped, failed assertion or not.
    struct TempRunDir {
        root: PathBuf,
        dir: RunDir,
    }

    impl TempRunDir {
        fn new(test: &str) -> TempRunDir {
            let root = std::env::temp_dir().join(format!(
                "netns-test-unit-owner-{}-{test}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join("netns")).unwrap();
            let dir = RunDir::new(root.join("netns"));
            TempRunDir { root, dir }
        }

        fn entry(&self, name: &str) -> PathBuf {
            self.dir.entry(name).unwrap()
        }

        /// Writes `text` as NAME's record, as some process would have.
        fn record(&self, name: &str, text: &str) {
            std::fs::create_dir_all(owners_dir(&self.dir)).unwrap();
            std::fs::write(record_path(&self.dir, name), text).unwrap();
        }
    }

    impl Drop for TempRunDir {
        fn drop(&mut self) {
            // A test that failed may leave a namespace mounted here.
            for name in names(self.dir.path()) {
                let _ = kernel::unmount_all_nofollow(&self.entry(&name));
            }
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// This process with another start time: a process that is gone.
    fn gone() -> Owner {
        let me = Owner::me().unwrap();
        Owner {
            start_time: me.start_time + 1,
            ..me
        }
    }

    #[test]
    fn records_live_beside_the_run_directory() {
        let dir = RunDir::new("/x/netns");
        assert_eq!(owners_dir(&dir), Path::new("/x/netns-test/owners"));
        assert_eq!(locks_dir(&dir), Path::new("/x/netns-test/locks"));
        assert_eq!(tmp_dir(&dir), Path::new("/x/netns-test/tmp"));
        assert_eq!(record_path(&dir, "n"), Path::new("/x/netns-test/owners/n"));
    }

    #[test]
    fn a_record_is_written_whole_and_forgotten_by_its_owner_only() {
        let t = TempRunDir::new("write");
        let me = Owner::me().unwrap();
        assert_eq!(read(&t.dir, "a").unwrap(), None);
        write(&t.dir, "a").unwrap();
        let text = std::fs::read_to_string(record_path(&t.dir, "a")).unwrap();
        assert_eq!(text, me.encode());
        assert_eq!(read(&t.dir, "a").unwrap(), Some(Record::Owner(me)));
        assert_eq!(names(&tmp_dir(&t.dir)), [""; 0], "renamed, not copied");
        assert_eq!(names(t.dir.path()), [""; 0], "nothing in the run directory");
        // Another process's record, and garbage, stay.
        t.record("b", &gone().encode());
        t.record("c", "1234\n");
        for name in ["b", "c", "missing"] {
            forget_mine(&t.dir, name);
        }
        assert_eq!(read(&t.dir, "b").unwrap(), Some(Record::Owner(gone())));
        assert_eq!(
            read(&t.dir, "c").unwrap(),
            Some(Record::Garbage("1234\n".into()))
        );
        forget_mine(&t.dir, "a");
        assert_eq!(names(&owners_dir(&t.dir)), ["b", "c"]);
    }

    #[test]
    fn what_this_crate_does_not_write_is_garbage() {
        let t = TempRunDir::new("garbage");
        t.record("empty", "");
        t.record("long", &"x".repeat(100));
        std::fs::create_dir(record_path(&t.dir, "dir")).unwrap();
        t.record("real", &Owner::me().unwrap().encode());
        std::os::unix::fs::symlink("real", record_path(&t.dir, "link")).unwrap();
        let garbage = |name| match read(&t.dir, name).unwrap() {
            Some(Record::Garbage(what)) => what,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(garbage("empty"), "");
        assert_eq!(garbage("long"), "x".repeat(80));
        assert!(garbage("dir").contains("not a file"), "{}", garbage("dir"));
        assert!(
            garbage("link").contains("not a file"),
            "{}",
            garbage("link")
        );
    }

    #[test]
    fn claim_takes_a_free_name_or_a_gone_owners_never_a_live_ones() {
        let t = TempRunDir::new("claim");
        let me = Record::Owner(Owner::me().unwrap());
        let taken = |name: &str| match claim(&t.dir, name, &t.entry(name)) {
            Err(Error::AlreadyExists { path }) => assert_eq!(path, t.entry(name)),
            other => panic!("{name}: {other:?}"),
        };
        let leftover = |name: &str, path: PathBuf| match claim(&t.dir, name, &t.entry(name)) {
            Err(Error::Leftover { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{name}: {other:?}"),
        };
        // Free: this process's record, no entry yet.
        claim(&t.dir, "free", &t.entry("free")).unwrap();
        assert_eq!(read(&t.dir, "free").unwrap(), Some(me.clone()));
        // A live owner's (this process's): taken, its placeholder kept.
        std::fs::write(t.entry("live"), "").unwrap();
        t.record("live", &Owner::me().unwrap().encode());
        taken("live");
        assert!(t.entry("live").exists());
        // A gone owner's: its placeholder and record removed, ours written.
        std::fs::write(t.entry("gone"), "").unwrap();
        t.record("gone", &gone().encode());
        claim(&t.dir, "gone", &t.entry("gone")).unwrap();
        assert!(!t.entry("gone").exists());
        assert_eq!(read(&t.dir, "gone").unwrap(), Some(me.clone()));
        // A gone owner's entry that is not a placeholder: left, both.
        std::fs::write(t.entry("full"), "data").unwrap();
        t.record("full", &gone().encode());
        leftover("full", t.entry("full"));
        assert_eq!(std::fs::read(t.entry("full")).unwrap(), b"data");
        assert_eq!(read(&t.dir, "full").unwrap(), Some(Record::Owner(gone())));
        // Garbage: the error names the record; nothing touched.
        std::fs::write(t.entry("junk"), "").unwrap();
        t.record("junk", "junk");
        leftover("junk", record_path(&t.dir, "junk"));
        assert!(t.entry("junk").exists());
        // No record but an entry (`ip netns add`): taken, no record.
        std::fs::write(t.entry("ip"), "").unwrap();
        taken("ip");
        assert!(t.entry("ip").exists());
        assert_eq!(read(&t.dir, "ip").unwrap(), None);
    }

    #[test]
    fn inspect_tells_placeholders_from_what_this_crate_never_makes() {
        let t = TempRunDir::new("inspect");
        std::fs::write(t.entry("empty"), "").unwrap();
        std::fs::write(t.entry("full"), "x").unwrap();
        std::fs::create_dir(t.entry("dir")).unwrap();
        std::os::unix::fs::symlink("empty", t.entry("link")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(t.entry("socket")).unwrap();
        for (name, want) in [
            ("missing", Entry::Missing),
            ("empty", Entry::Placeholder),
            ("full", Entry::Foreign("a regular file with content")),
            ("dir", Entry::Foreign("a directory")),
            ("link", Entry::Foreign("a symbolic link")),
            ("socket", Entry::Foreign("a special file")),
        ] {
            assert_eq!(inspect(&t.entry(name)).unwrap(), want, "{name}");
        }
    }

    #[test]
    fn remove_entry_removes_placeholders_only() {
        let t = TempRunDir::new("remove-entry");
        std::fs::write(t.entry("empty"), "").unwrap();
        std::fs::write(t.entry("full"), "x").unwrap();
        std::os::unix::fs::symlink("empty", t.entry("link")).unwrap();
        let removed = remove_entry(&t.entry("empty")).unwrap();
        assert_eq!(removed, (Entry::Placeholder, 0));
        assert_eq!(
            remove_entry(&t.entry("empty")).unwrap(),
            (Entry::Missing, 0)
        );
        for name in ["full", "link"] {
            match remove_entry(&t.entry(name)) {
                Err(Error::Leftover { path, .. }) => assert_eq!(path, t.entry(name)),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(names(t.dir.path()), ["full", "link"]);
        assert_eq!(std::fs::read(t.entry("full")).unwrap(), b"x");
    }

    #[test]
    fn a_mounted_namespace_is_no_placeholder_and_is_removed_with_every_mount() {
        let t = TempRunDir::new("mounted");
        let entry = t.entry("ns");
        std::fs::write(&entry, "").unwrap();
        for _ in 0..2 {
            kernel::bind_mount(Path::new("/proc/self/ns/net"), &entry).unwrap();
        }
        assert_eq!(inspect(&entry).unwrap(), Entry::Mounted);
        assert_eq!(remove_entry(&entry).unwrap(), (Entry::Mounted, 2));
        assert_eq!(inspect(&entry).unwrap(), Entry::Missing);
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let root = t.root.to_string_lossy();
        assert!(!mountinfo.contains(&*root), "{mountinfo}");
    }

    #[test]
    fn remove_record_removes_it_gone_already_or_not() {
        let t = TempRunDir::new("remove-record");
        write(&t.dir, "a").unwrap();
        remove_record(&t.dir, "a").unwrap();
        assert_eq!(read(&t.dir, "a").unwrap(), None);
        remove_record(&t.dir, "a").unwrap();
        // Not a file: the error names the path, and it stays.
        let path = record_path(&t.dir, "dir");
        std::fs::create_dir_all(path.join("x")).unwrap();
        let err = remove_record(&t.dir, "dir").unwrap_err();
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        assert!(path.join("x").exists());
    }

    #[test]
    fn a_child_is_alive_until_it_exits_and_gone_before_it_is_reaped() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start_time = proc_stat(pid).unwrap().unwrap().start_time;
        let owner = Owner { pid, start_time };
        assert!(!owner.is_gone());
        child.kill().unwrap();
        // A zombie until waited for: gone already.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !proc_stat(pid).unwrap().unwrap().has_exited() {
            assert!(std::time::Instant::now() < deadline, "{pid} did not exit");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let gone = owner.is_gone();
        child.wait().unwrap();
        assert!(gone);
        assert!(owner.is_gone());
    }

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_gone() {
        let me = Owner::me().unwrap();
        assert!(!me.is_gone());
        // The same pid with another start time: a reused pid.
        let reused = Owner {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(reused.is_gone());
        let unused = Owner {
            pid: 4_194_304 + 7, // above PID_MAX_LIMIT
            start_time: 1,
        };
        assert!(unused.is_gone());
    }
}
