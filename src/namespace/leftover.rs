//! What [`RunDir::sweep`](crate::RunDir::sweep) reports: each leftover of
//! a gone netns-test process it found, and what it did with it.

use std::fmt;
use std::path::PathBuf;

/// One thing [`RunDir::sweep`](crate::RunDir::sweep) found: removed, to be removed (dry run), or
/// left with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leftover {
    /// The file: a run-directory entry, or a file in `/run/netns-test/`.
    pub path: PathBuf,
    /// What it is.
    pub kind: LeftoverKind,
    /// The process its owner record names (gone), where there is one.
    pub pid: Option<u32>,
    /// What the sweep did with it.
    pub outcome: Outcome,
}

/// What a [`Leftover`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftoverKind {
    /// A named namespace (an nsfs bind mount in the run directory);
    /// `mounts` is how many mounts were removed (stacked ones included),
    /// `None` in a dry run.
    Namespace {
        /// Mounts removed.
        mounts: Option<usize>,
    },
    /// An empty placeholder in the run directory (nothing mounted on it).
    Placeholder,
    /// An owner record, `/run/netns-test/owners/NAME`.
    OwnerRecord,
    /// A record being written when its process died,
    /// `/run/netns-test/tmp/PID-START-N`.
    PartialRecord,
    /// A name lock no process holds, `/run/netns-test/locks/NAME`.
    NameLock,
    /// A suite fixture's lock file no process holds,
    /// `/run/netns-test/fixture-NAME.lock`.
    FixtureLock,
    /// Something netns-test does not make there (a directory or a symlink
    /// where a namespace should be, a file in its directories that it did
    /// not write).
    Foreign,
}

/// What [`RunDir::sweep`](crate::RunDir::sweep) did with a [`Leftover`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Removed.
    Removed,
    /// A dry run: it would have been removed.
    WouldRemove,
    /// Left as it is; the reason and what to do, in words.
    Left(String),
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.outcome {
            Outcome::Removed => "removed",
            Outcome::WouldRemove => "would remove",
            Outcome::Left(_) => "left",
        };
        write!(f, "{verb} {}: ", self.path.display())?;
        if let (LeftoverKind::Foreign, Outcome::Left(why)) = (self.kind, &self.outcome) {
            // The reason says what it is.
            return f.write_str(why);
        }
        match self.kind {
            LeftoverKind::Namespace { mounts: Some(1) } => f.write_str("a network namespace")?,
            LeftoverKind::Namespace { mounts: Some(n) } => {
                write!(f, "a network namespace ({n} stacked mounts)")?
            }
            LeftoverKind::Namespace { mounts: None } => f.write_str("a network namespace")?,
            LeftoverKind::Placeholder => f.write_str("an empty placeholder")?,
            LeftoverKind::OwnerRecord => f.write_str("an owner record")?,
            LeftoverKind::PartialRecord => f.write_str("a record being written")?,
            LeftoverKind::NameLock => f.write_str("a name lock no process holds")?,
            LeftoverKind::FixtureLock => f.write_str("a fixture lock no process holds")?,
            LeftoverKind::Foreign => f.write_str("not netns-test's")?,
        }
        if let Some(pid) = self.pid {
            write!(f, " of process {pid}, which is gone")?;
        }
        if let Outcome::Left(why) = &self.outcome {
            write!(f, "; {why}")?;
        }
        Ok(())
    }
}
