//! Where the files a test run leaves for a person go: process logs
//! (`log.rs`) and packet captures (`src/wire/per_test.rs`) share it.
//!
//! `<target dir>/netns-test/<kind>`, the target directory being
//! `CARGO_TARGET_DIR` if set, else the one the test binary was built in
//! (`target/<profile>/deps/<binary>` gives `target`). Where that cannot be
//! written (a rootless run of a tree built by root), a base directory in
//! the temporary directory that is the user's alone, 0700, with files 0600
//! (`private_dir.rs`: `netns-test-<kind>-uid<UID>` if that is the user's,
//! else a fresh one with a random name). Run as root in a
//! target directory that is another user's (the `sudo -E` runner), what is
//! made there is given to that user ([`Artifacts::adopt`]).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::process::private_dir::{self, Files};

/// A directory for one kind of per-test file, and the owner to give what
/// is made in it.
#[derive(Debug, Clone)]
pub(crate) struct Artifacts {
    pub(crate) dir: PathBuf,
    owner: Option<(u32, u32)>,
    /// How files are made in it (`private_dir.rs`).
    pub(super) files: Files,
}

impl Artifacts {
    /// The directory for `kind` (`logs`, `captures`), made if need be: see
    /// the module.
    pub(crate) fn locate(kind: &str) -> Artifacts {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .or_else(target_dir_of_binary);
        if let Some(target) = target {
            let dir = target.join("netns-test").join(kind);
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
                artifacts.adopt(&target.join("netns-test"));
                artifacts.adopt(&artifacts.dir);
                return artifacts;
            }
        }
        let tmp = std::env::temp_dir();
        let (dir, files) = match private_dir::private_base(&tmp, kind) {
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
