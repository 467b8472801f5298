//! What the rootless constructor found or did, kept in atomics (the
//! constructor runs before `main` and can neither allocate nor lock) and read
//! back as a [`Record`] by [`Privilege::get`](crate::Privilege::get).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU8, Ordering};

use rustix::io::Errno;

/// What the constructor found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The constructor has not run (a platform or linker that drops it).
    NotRun,
    /// `CAP_SYS_ADMIN` was there already: nothing to do.
    Privileged,
    /// Rootless mode was turned off.
    OptedOut(OptOut),
    /// AppArmor restricts unprivileged user namespaces and the process is
    /// unconfined: not tried.
    AppArmorUnconfined,
    /// A step failed.
    Failed {
        /// Which one.
        step: Step,
        /// What the kernel answered.
        errno: Errno,
    },
    /// In a user namespace of its own, with a private mount namespace.
    Entered,
}

/// Who turned rootless mode off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptOut {
    /// `NETNS_TEST_ROOTLESS=0`.
    Env,
    /// The binary, with `no_rootless!()` (the `setns` CLI).
    Binary,
}

/// A step of entering rootless mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    UnshareUser,
    Setgroups,
    GidMap,
    UidMap,
    MountPrivate,
}

impl Step {
    /// The step as the kernel names it.
    pub(crate) fn op(self) -> &'static str {
        match self {
            Step::UnshareUser => "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
            Step::Setgroups => "write /proc/self/setgroups",
            Step::GidMap => "write /proc/self/gid_map",
            Step::UidMap => "write /proc/self/uid_map",
            Step::MountPrivate => "mount --make-rprivate /",
        }
    }

    pub(super) const ALL: [Step; 5] = [
        Step::UnshareUser,
        Step::Setgroups,
        Step::GidMap,
        Step::UidMap,
        Step::MountPrivate,
    ];
}

/// A step of setting up the private run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunStep {
    OpenOld,
    MountTmpfs,
    OpenNew,
    ReadDir,
    MkdirNetns,
}

impl RunStep {
    /// The step, in words.
    pub(crate) fn op(self) -> &'static str {
        match self {
            RunStep::OpenOld => "open /run",
            RunStep::MountTmpfs => "mount -t tmpfs on /run",
            RunStep::OpenNew => "open the new /run",
            RunStep::ReadDir => "readdir /run",
            RunStep::MkdirNetns => "mkdir /run/netns",
        }
    }

    pub(super) const ALL: [RunStep; 5] = [
        RunStep::OpenOld,
        RunStep::MountTmpfs,
        RunStep::OpenNew,
        RunStep::ReadDir,
        RunStep::MkdirNetns,
    ];
}

/// The constructor's record, as [`record`] returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) start: Start,
    /// The effective uid the process started with (outside any namespace of
    /// ours), if the constructor ran.
    pub(crate) uid: Option<u32>,
    /// The number of threads when `unshare` failed with `EINVAL`.
    pub(crate) threads: Option<u32>,
    /// The private run directory's first failed step, if any.
    pub(crate) run_dir: Option<(RunStep, Errno)>,
    /// Entries of the old `/run` that could not be bound into the new one.
    pub(crate) run_dir_skipped: u32,
}

// The record, in atomics: the constructor cannot allocate or lock.
pub(super) const S_NOT_RUN: u8 = 0;
pub(super) const S_PRIVILEGED: u8 = 1;
pub(super) const S_OPT_OUT_ENV: u8 = 2;
pub(super) const S_OPT_OUT_BINARY: u8 = 3;
pub(super) const S_APPARMOR: u8 = 4;
pub(super) const S_FAILED: u8 = 5;
pub(super) const S_ENTERED: u8 = 6;

pub(super) static STATE: AtomicU8 = AtomicU8::new(S_NOT_RUN);
pub(super) static STEP: AtomicU8 = AtomicU8::new(0);
pub(super) static ERRNO: AtomicI32 = AtomicI32::new(0);
pub(super) static UID: AtomicU32 = AtomicU32::new(u32::MAX);
pub(super) static THREADS: AtomicU32 = AtomicU32::new(0);
pub(super) static RUN_STEP: AtomicU8 = AtomicU8::new(0);
pub(super) static RUN_ERRNO: AtomicI32 = AtomicI32::new(0);
pub(super) static RUN_SKIPPED: AtomicU32 = AtomicU32::new(0);
pub(super) static BINARY_OPT_OUT: AtomicBool = AtomicBool::new(false);

/// What the constructor did.
pub(crate) fn record() -> Record {
    let errno = |raw: &AtomicI32| Errno::from_raw_os_error(raw.load(Ordering::Acquire));
    let start = match STATE.load(Ordering::Acquire) {
        S_PRIVILEGED => Start::Privileged,
        S_OPT_OUT_ENV => Start::OptedOut(OptOut::Env),
        S_OPT_OUT_BINARY => Start::OptedOut(OptOut::Binary),
        S_APPARMOR => Start::AppArmorUnconfined,
        S_FAILED => Start::Failed {
            step: Step::ALL
                .get(usize::from(STEP.load(Ordering::Acquire)))
                .copied()
                .unwrap_or(Step::UnshareUser),
            errno: errno(&ERRNO),
        },
        S_ENTERED => Start::Entered,
        _ => Start::NotRun,
    };
    let run_dir = match RUN_STEP.load(Ordering::Acquire) {
        0 => None,
        n => RunStep::ALL
            .get(usize::from(n - 1))
            .map(|step| (*step, errno(&RUN_ERRNO))),
    };
    Record {
        start,
        uid: Some(UID.load(Ordering::Acquire)).filter(|uid| *uid != u32::MAX),
        threads: Some(THREADS.load(Ordering::Acquire)).filter(|n| *n != 0),
        run_dir,
        run_dir_skipped: RUN_SKIPPED.load(Ordering::Acquire),
    }
}
