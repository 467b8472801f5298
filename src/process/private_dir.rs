//! Per-test files in a shared temporary directory: a base directory that
//! is the user's alone, and files made without following what another user
//! may have planted.
//!
//! In the temporary directory (`$TMPDIR`, else `/tmp`: every local user can
//! make names there) the base is `netns-test-<PROJECT>-uid<UID>`, one per user
//! (the user outside a rootless user namespace) and project (8 hex digits
//! naming the test binary's directory, `artifacts.rs`), reused by later
//! runs.
//! It is used only if it is a directory, not a symbolic link (opened with
//! `O_DIRECTORY|O_NOFOLLOW` and checked with `fstat` on that fd, not
//! through the path), owned by this process's effective uid as `fstat`
//! shows it here (a rootless process is uid 0 inside, and sees its real
//! user's files as uid 0), and not writable by group or others; one of ours
//! that others can read (made by an older version, 0755) is made 0700.
//! Otherwise a fresh one, `netns-test-<PROJECT>-<16 random hex digits>`, made
//! with `mkdir(…, 0700)` and another draw on `EEXIST` (as `mkdtemp(3)`):
//! never a name another user can guess and take first.
//!
//! Under the base, directories are 0700 and files 0600. Files, there and in
//! the target directory, are made with `O_CREAT|O_EXCL|O_NOFOLLOW` (a file
//! left at that name by an earlier run is unlinked first, never written
//! through), so what is written is the file just made, never a planted
//! symbolic link's target.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::kernel::{self, FileOwner};
use crate::process::artifacts::Artifacts;

/// Permission bits of what is made under a private base.
const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;
/// Elsewhere (the user's own target directory): what `create_dir_all` and
/// `File::create` ask for, less the umask.
const SHARED_DIR: u32 = 0o777;
const SHARED_FILE: u32 = 0o666;

/// How many random names a fresh base tries before giving up (each taken
/// one is `EEXIST`; 64 random bits make even one unlikely).
const FRESH_TRIES: usize = 64;

/// How files are made in an artifacts directory.
#[derive(Debug, Clone)]
pub(crate) enum Files {
    /// In the target directory: the umask decides, as for a build's files.
    Shared,
    /// Under a private base in the temporary directory: 0700 and 0600.
    Private,
    /// No private base could be made in the temporary directory (`path`):
    /// nothing is made, each attempt fails with `errno`.
    Unusable { path: PathBuf, errno: Errno },
}

/// The base directory of per-test files of `project` in the shared
/// temporary directory `tmp`: see the module.
///
/// # Errors
/// [`Error::Sys`] naming `mkdir` or `getrandom` and the path, if no
/// directory can be made in `tmp` (`EACCES`, `EROFS`, `ENOENT`), or
/// `EEXIST` if every random name tried was taken.
pub(crate) fn private_base(tmp: &Path, project: &str) -> Result<PathBuf> {
    let user = tmp.join(format!("netns-test-{project}-uid{}", kernel::initial_uid()));
    if reusable(&user)? {
        return Ok(user);
    }
    let mut last = user;
    for _ in 0..FRESH_TRIES {
        last = tmp.join(format!(
            "netns-test-{project}-{:016x}",
            kernel::random_u64()?
        ));
        if kernel::mkdir_mode(&last, PRIVATE_DIR)? {
            return Ok(last);
        }
    }
    Err(Error::sys("mkdir", last, Errno::EXIST))
}

/// Makes `path` 0700 if nothing has that name, then whether it may be
/// used: see [`decide`]. Only a failed `mkdir` is an error (a fresh name
/// would fail the same way); a name that cannot be used is `Ok(false)`.
fn reusable(path: &Path) -> Result<bool> {
    kernel::mkdir_mode(path, PRIVATE_DIR)?;
    let Ok(fd) = kernel::open_dir_nofollow(path) else {
        return Ok(false);
    };
    let Ok(found) = kernel::fstat_owner(fd.as_fd(), path) else {
        return Ok(false);
    };
    Ok(match decide(found, kernel::effective_uid()) {
        Decision::Reuse => true,
        Decision::Tighten => kernel::fchmod(fd.as_fd(), PRIVATE_DIR, path).is_ok(),
        Decision::Refuse(_) => false,
    })
}

/// What to do with an existing per-user base.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Ours and 0700.
    Reuse,
    /// Ours, writable by no one else, but with other bits (readable by
    /// others, set-id, sticky, or no owner write): made 0700, then used.
    Tighten,
    /// Not to be used, for the reason given: a fresh base instead.
    Refuse(&'static str),
}

/// Whether a directory with `found` (fstat of the fd, no symbolic link
/// followed) may be used as the private base of effective uid `uid`.
fn decide(found: FileOwner, uid: u32) -> Decision {
    if !found.is_dir {
        Decision::Refuse("not a directory")
    } else if found.uid != uid {
        Decision::Refuse("another user's")
    } else if found.mode & 0o022 != 0 {
        // Another user may have made files in it already.
        Decision::Refuse("writable by group or others")
    } else if found.mode != PRIVATE_DIR {
        Decision::Tighten
    } else {
        Decision::Reuse
    }
}

impl Artifacts {
    /// Makes `dir` (under the artifacts directory) and its missing parents
    /// below it, 0700 under a private base; the artifacts directory itself
    /// is never made here.
    ///
    /// # Errors
    /// [`Error::Sys`] naming `mkdir` and the path; [`Error::File`] if no
    /// private base could be made.
    pub(crate) fn create_dir(&self, dir: &Path) -> Result<()> {
        let mode = self.mode(SHARED_DIR, PRIVATE_DIR)?;
        let below = dir.strip_prefix(&self.dir).unwrap_or(dir);
        let mut path = self.dir.clone();
        for part in below.components() {
            path.push(part);
            kernel::mkdir_mode(&path, mode)?;
        }
        Ok(())
    }

    /// Creates the file `path` (in a directory made by
    /// [`Artifacts::create_dir`]) for writing, 0600 under a private base:
    /// see [`create_file`].
    ///
    /// # Errors
    /// As [`create_file`]; [`Error::File`] if no private base could be made.
    pub(crate) fn create_file(&self, path: &Path) -> Result<File> {
        create_file(path, self.mode(SHARED_FILE, PRIVATE_FILE)?)
    }

    fn mode(&self, shared: u32, private: u32) -> Result<u32> {
        match &self.files {
            Files::Shared => Ok(shared),
            Files::Private => Ok(private),
            Files::Unusable { path, errno } => Err(Error::File {
                op: "make a private directory for logs and captures \
                     (set TMPDIR to a directory you can write) in",
                path: path.clone(),
                errno: *errno,
            }),
        }
    }
}

/// Creates `path` with `mode` (less the umask) and `O_EXCL|O_NOFOLLOW`; a
/// file an earlier run left at that name is unlinked first (`unlink` of a
/// symbolic link removes the link, never its target).
///
/// # Errors
/// [`Error::Sys`] naming `open(O_CREAT|O_EXCL|O_NOFOLLOW)` or `unlink` and
/// the path: `EPERM` for another user's file in a sticky directory,
/// `EISDIR` for a directory at that name.
pub(crate) fn create_file(path: &Path, mode: u32) -> Result<File> {
    let mut tries = 3;
    loop {
        match kernel::create_new_file(path, mode) {
            Err(e) if e.errno() == Some(Errno::EXIST) && tries > 0 => {
                tries -= 1;
                kernel::unlink(path)?;
            }
            other => return other,
        }
    }
}

/// A file created by this process in the user's own directory, such as the
/// per-test captures of `NETNS_TEST_CAPTURE_DIR`: the umask decides its
/// mode.
#[cfg(feature = "capture")]
pub(crate) fn create_shared_file(path: &Path) -> Result<File> {
    create_file(path, SHARED_FILE)
}

/// Whether a file can be made in `dir` (access(2) would answer for the
/// real, not the effective ids): a probe with a random name, made with
/// `O_EXCL|O_NOFOLLOW` (never a planted file's target) and removed.
pub(crate) fn can_create_in(dir: &Path) -> bool {
    let Ok(n) = kernel::random_u64() else {
        return false;
    };
    let probe = dir.join(format!(".probe-{n:016x}"));
    let made = kernel::create_new_file(&probe, PRIVATE_FILE).is_ok();
    if made {
        let _ = kernel::unlink(&probe);
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(uid: u32, mode: u32) -> FileOwner {
        FileOwner {
            uid,
            mode,
            is_dir: true,
        }
    }

    #[test]
    fn only_our_own_directory_is_reused() {
        assert_eq!(decide(dir(1000, 0o700), 1000), Decision::Reuse);
        // Rootless: uid 0 inside is the real user, the file shows as 0.
        assert_eq!(decide(dir(0, 0o700), 0), Decision::Reuse);
        // Another user's (the overflow uid, in a rootless process).
        assert_eq!(
            decide(dir(65534, 0o700), 0),
            Decision::Refuse("another user's")
        );
        assert_eq!(
            decide(dir(4242, 0o700), 65534),
            Decision::Refuse("another user's")
        );
    }

    #[test]
    fn a_file_or_link_is_refused() {
        let file = FileOwner {
            uid: 1000,
            mode: 0o700,
            is_dir: false,
        };
        assert_eq!(decide(file, 1000), Decision::Refuse("not a directory"));
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        for mode in [0o777, 0o770, 0o702, 0o720, 0o1777, 0o1733] {
            assert_eq!(
                decide(dir(1000, mode), 1000),
                Decision::Refuse("writable by group or others"),
                "{mode:o}"
            );
        }
    }

    #[test]
    fn our_readable_directory_is_tightened() {
        for mode in [0o755, 0o750, 0o705, 0o500, 0o2700, 0o1700] {
            assert_eq!(decide(dir(1000, mode), 1000), Decision::Tighten, "{mode:o}");
        }
    }

    /// In a directory of our own: a taken per-user name (a file) gives a
    /// fresh, random 0700 directory, and a symbolic link is never followed.
    #[test]
    fn a_taken_name_gives_a_fresh_private_directory() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = std::env::temp_dir().join(format!(
            "netns-test-private-unit-{:016x}",
            kernel::random_u64().unwrap()
        ));
        std::fs::create_dir(&tmp).unwrap();
        let uid = kernel::initial_uid();
        let mine = private_base(&tmp, "logs").unwrap();
        assert_eq!(mine, tmp.join(format!("netns-test-logs-uid{uid}")));
        assert_eq!(private_base(&tmp, "logs").unwrap(), mine, "reused");
        let meta = std::fs::symlink_metadata(&mine).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o700);

        std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(private_base(&tmp, "logs").unwrap(), mine, "tightened");
        let meta = std::fs::symlink_metadata(&mine).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o700);

        let target = tmp.join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = tmp.join(format!("netns-test-captures-uid{uid}"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fresh = private_base(&tmp, "captures").unwrap();
        assert_ne!(fresh, link);
        let name = fresh.file_name().unwrap().to_string_lossy().into_owned();
        let suffix = name.strip_prefix("netns-test-captures-").unwrap();
        assert!(suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit()));
        let meta = std::fs::symlink_metadata(&fresh).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o7777, 0o700);

        // A file at a name is replaced, never written through.
        let planted = fresh.join("x.log");
        let victim = target.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        std::io::Write::write_all(&mut create_file(&planted, PRIVATE_FILE).unwrap(), b"new")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "new");
        let meta = std::fs::symlink_metadata(&planted).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o7777, 0o600);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
