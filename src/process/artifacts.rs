//! Where the files a test run leaves for a person go: one directory per
//! test, `<per-test files>/<test>/`, holding its processes' logs
//! (`<program>-<pid>.log`, `log.rs`) and its packet capture
//! (`capture.pcapng`, `src/wire/per_test.rs`). `<test>` is the test's
//! [`TestId::file_name`](crate::context::TestId::file_name), the crate
//! (test target) first: `services.nginx_serves`; a fixture's setup has
//! `fixture-NAME`.
//!
//! `<per-test files>` is `<target dir>/netns-test`, the target directory
//! being `CARGO_TARGET_DIR` if set, else the one the test binary was built
//! in (`target/<profile>/deps/<binary>` gives `target`). Where that cannot
//! be written (a rootless run of a tree built by root), a base directory in
//! the temporary directory that is the user's alone, 0700, with files 0600
//! (`private_dir.rs`): `netns-test-<PROJECT>-uid<UID>` if that is the
//! user's, else a fresh one with a random name. `PROJECT` is 8 hex digits
//! of a hash of the test binary's directory, so rootless runs of different
//! projects do not share one. Run as root in a target directory that is
//! another user's (the `sudo -E` runner), what is made there is given to
//! that user ([`Artifacts::adopt`]).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::Result;
use crate::process::private_dir::{self, Files};

/// The directory of per-test files, and the owner to give what is made in
/// it.
#[derive(Debug, Clone)]
pub(crate) struct Artifacts {
    pub(crate) dir: PathBuf,
    owner: Option<(u32, u32)>,
    /// How files are made in it (`private_dir.rs`).
    pub(super) files: Files,
}

impl Artifacts {
    /// This process's directory of per-test files, found (and made) on
    /// first use: see the module.
    pub(crate) fn get() -> &'static Artifacts {
        static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
        ARTIFACTS.get_or_init(Artifacts::locate)
    }

    /// The directory of the test (or fixture) named `name` (a
    /// [`file_name`](crate::context::file_name)), made if need be (0700
    /// under a private base).
    ///
    /// # Errors
    /// As [`Artifacts::create_dir`].
    pub(crate) fn test_dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join(name);
        self.create_dir(&dir)?;
        self.adopt(&dir);
        Ok(dir)
    }

    /// Removes what an earlier run of the test named `name` left in its
    /// directory, its processes' logs (`*.log`) and its capture
    /// (`capture.pcapng`), so that the directory holds this run's files
    /// only: a test that passes now leaves no capture of an old failure,
    /// and logs do not pile up. Only regular files are removed (never
    /// followed); anything else is left. Called by the runner as a test
    /// starts; a missing directory costs one failed `opendir`.
    pub(crate) fn clear_previous_run(&self, name: &str) {
        let dir = self.dir.join(name);
        for entry in crate::kernel::dir_entries(&dir).unwrap_or_default() {
            let entry = entry.to_string_lossy();
            if !(entry.ends_with(".log") || entry == "capture.pcapng" || entry == "report.html") {
                continue;
            }
            // A log whose program still runs is another process's run of
            // the same test (a harness run twice at once): not ours to
            // remove. `<program>-<pid>.log`; `-spawning-N.log` is a log
            // being made.
            if let Some(stem) = entry.strip_suffix(".log") {
                let pid = stem.rsplit('-').next().unwrap_or_default();
                if stem.contains("-spawning-") || !crate::kernel::pid_is_gone(pid) {
                    continue;
                }
            }
            let path = dir.join(&*entry);
            if matches!(crate::kernel::lstat_type(&path), Ok(Some(t)) if t.is_file()) {
                let _ = crate::kernel::unlink(&path);
            }
        }
    }

    /// Removes the directory of the test named `name` if it is empty
    /// (`rmdir(2)` refuses one that is not): a passing test whose programs'
    /// logs went (a successful `nft` run's) leaves no empty directory.
    pub(crate) fn remove_dir_if_empty(&self, name: &str) {
        let _ = std::fs::remove_dir(self.dir.join(name));
    }

    fn locate() -> Artifacts {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .or_else(target_dir_of_binary);
        if let Some(target) = target {
            let dir = target.join("netns-test");
            if std::fs::create_dir_all(&dir).is_ok() && private_dir::can_create_in(&dir) {
                // Run as root (the `sudo -E` runner) in a user's target
                // directory: what we make there is the user's.
                // (Every process of the run decides for itself: compare
                // with our own uid, not with what an earlier one made.)
                let (uid, _) = crate::kernel::effective_ids();
                let owner = match std::fs::metadata(&target) {
                    Ok(t) if t.uid() != uid => Some((t.uid(), t.gid())),
                    _ => None,
                };
                let artifacts = Artifacts {
                    dir,
                    owner,
                    files: Files::Shared,
                };
                artifacts.adopt(&artifacts.dir);
                return artifacts;
            }
        }
        let tmp = std::env::temp_dir();
        let (dir, files) = match private_dir::private_base(&tmp, &project()) {
            Ok(dir) => (dir, Files::Private),
            Err(e) => (
                tmp.clone(),
                Files::Unusable {
                    path: tmp,
                    errno: e.errno().unwrap_or(rustix::io::Errno::IO),
                },
            ),
        };
        Artifacts {
            dir,
            owner: None,
            files,
        }
    }

    /// Gives `path` (made under the directory) to the owner of the target
    /// directory, if that is not us.
    pub(crate) fn adopt(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            let _ = crate::kernel::chown::chown(path, uid, gid);
        }
    }
}

/// 8 hex digits of an FNV-1a hash of the directory the test binary is
/// in: one project's runs share a base in the temporary directory, two
/// projects' do not.
fn project() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().unwrap_or(&exe);
    let mut h: u32 = 0x811c_9dc5;
    for b in dir.as_os_str().as_encoded_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// `target/<profile>/deps/<binary>` (tests, benches) or
/// `target/<profile>/<binary>`: `target`. A binary elsewhere (a copy in a
/// temporary directory) has none: only a directory with cargo's
/// `CACHEDIR.TAG` counts in the second form.
fn target_dir_of_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    if dir.file_name()? == "deps" || dir.file_name()? == "examples" {
        return Some(dir.parent()?.parent()?.to_path_buf());
    }
    let target = dir.parent()?;
    target
        .join("CACHEDIR.TAG")
        .exists()
        .then(|| target.to_path_buf())
}
