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
//! be written (a rootless run of a tree built by root), a directory
//! `netns-test-uid<UID>` in the temporary directory, one per user (the user
//! outside a rootless user namespace) and reused by later runs, so runs do
//! not leave a directory each; if someone else owns that name,
//! `netns-test-<pid>`. Run as root in a target directory that is another
//! user's (the `sudo -E` runner), what is made there is given to that user
//! ([`Artifacts::adopt`]).

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The directory of per-test files, and the owner to give what is made in
/// it.
#[derive(Debug, Clone)]
pub(crate) struct Artifacts {
    pub(crate) dir: PathBuf,
    owner: Option<(u32, u32)>,
}

impl Artifacts {
    /// This process's directory of per-test files, found (and made) on
    /// first use: see the module.
    pub(crate) fn get() -> &'static Artifacts {
        static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
        ARTIFACTS.get_or_init(Artifacts::locate)
    }

    /// The directory of the test (or fixture) named `name` (a
    /// [`file_name`](crate::context::file_name)), made if need be.
    pub(crate) fn test_dir(&self, name: &str) -> std::io::Result<PathBuf> {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir)?;
        self.adopt(&dir);
        Ok(dir)
    }

    fn locate() -> Artifacts {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .or_else(target_dir_of_binary);
        if let Some(target) = target {
            let dir = target.join("netns-test");
            if std::fs::create_dir_all(&dir).is_ok() && writable(&dir) {
                // Run as root (the `sudo -E` runner) in a user's target
                // directory: what we make there is the user's.
                // (Every process of the run decides for itself: compare
                // with our own uid, not with what an earlier one made.)
                let (uid, _) = crate::kernel::effective_ids();
                let owner = match std::fs::metadata(&target) {
                    Ok(t) if t.uid() != uid => Some((t.uid(), t.gid())),
                    _ => None,
                };
                let artifacts = Artifacts { dir, owner };
                artifacts.adopt(&artifacts.dir);
                return artifacts;
            }
        }
        let tmp = std::env::temp_dir();
        let user = tmp.join(format!("netns-test-uid{}", crate::kernel::initial_uid()));
        let _ = std::fs::create_dir(&user);
        let (uid, _) = crate::kernel::effective_ids();
        let ours = std::fs::symlink_metadata(&user)
            .is_ok_and(|m| m.is_dir() && m.uid() == uid && writable(&user));
        let dir = if ours {
            user
        } else {
            let dir = tmp.join(format!("netns-test-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            dir
        };
        Artifacts { dir, owner: None }
    }

    /// Gives `path` (made under the directory) to the owner of the target
    /// directory, if that is not us.
    pub(crate) fn adopt(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            let _ = crate::kernel::chown::chown(path, uid, gid);
        }
    }
}

/// Whether a file can be made in `dir` (access(2) would answer for the
/// real, not the effective ids, and not for a read-only mount's quirks).
fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    let ok = File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
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
