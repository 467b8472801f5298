//! What this process may do with namespaces, worked out once.
//!
//! The answer comes from what the rootless constructor did before `main`
//! ([`rootless`]), a probe (`unshare(CLONE_NEWNET)` on a
//! throwaway thread) and a few values read from `/proc`. The reason logic,
//! [`classify`], is a pure function of those values ([`Facts`]), so every case
//! is unit tested on made-up input.

use std::fmt;
use std::sync::OnceLock;

use rustix::io::Errno;

use crate::error::{ShowErrno, PRIVILEGE_HINT, ROOTLESS_HINT};
mod bytes;
mod record;
pub(crate) mod rootless;

use self::bytes::{parse_uint, status_field};
use crate::kernel;

use self::record::{record, OptOut, Record, Start, Step};

/// Whether this process can create network namespaces, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Privilege {
    /// `CAP_SYS_ADMIN` from the start: root (or the `sudo -E` runner) in the
    /// initial user namespace, where named namespaces go to the host's
    /// `/run/netns`. Also root of a user namespace the process was started
    /// in: in a container; or as a child process of a rootless test, which
    /// then shares that test's private `/run/netns`.
    Full,
    /// Rootless mode: the process started without `CAP_SYS_ADMIN` and moved,
    /// before `main`, into a user namespace of its own (uid 0 there is the real
    /// user), where it creates its namespaces. Named namespaces live in a
    /// `/run/netns` private to the process and its children: the host's
    /// `ip netns` does not see them. README, "Rootless".
    Rootless,
    /// Namespaces cannot be created. The reason says why and how to fix it.
    Unavailable(Unavailable),
}

/// Why namespaces cannot be created here, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// What is missing, in one sentence.
    pub reason: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.reason, self.fix)
    }
}

impl Privilege {
    /// Works out, once per process, what is possible: [`Privilege::Full`] or
    /// [`Privilege::Rootless`] if a probe (`unshare(CLONE_NEWNET)` on a
    /// throwaway thread) succeeds, else [`Privilege::Unavailable`] with the
    /// reason (not root and rootless mode off, user namespaces disabled by a
    /// sysctl, AppArmor's restriction, a seccomp filter, ...).
    pub fn get() -> &'static Privilege {
        static PRIVILEGE: OnceLock<Privilege> = OnceLock::new();
        PRIVILEGE.get_or_init(|| {
            let privilege = detect();
            crate::error::set_privilege_hint(Hint(&privilege).to_string());
            privilege
        })
    }

    /// `Ok` if namespaces can be created, else why not.
    pub fn check(&self) -> Result<(), &Unavailable> {
        match self {
            Privilege::Full | Privilege::Rootless => Ok(()),
            Privilege::Unavailable(why) => Err(why),
        }
    }
}

fn detect() -> Privilege {
    let record = record();
    let probe = match record.start {
        Start::Entered | Start::Privileged | Start::NotRun => Some(probe()),
        Start::OptedOut(_) | Start::AppArmorUnconfined | Start::Failed { .. } => None,
    };
    classify(&Facts::read(record, probe))
}

/// `unshare(CLONE_NEWNET)` on a throwaway thread.
fn probe() -> Result<(), Errno> {
    let errno = |e: crate::Error| e.errno().unwrap_or(Errno::IO);
    match std::thread::Builder::new().spawn(move || kernel::unshare_netns().map_err(errno)) {
        Ok(thread) => thread.join().unwrap_or(Err(Errno::IO)),
        Err(e) => Err(e
            .raw_os_error()
            .map_or(Errno::AGAIN, Errno::from_raw_os_error)),
    }
}

/// Everything the reason logic looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    /// What the rootless constructor did.
    pub(crate) record: Record,
    /// The probe's outcome, where one was made.
    pub(crate) probe: Option<Result<(), Errno>>,
    /// The effective uid the process started with.
    pub(crate) uid: u32,
    /// `/proc/sys/user/max_user_namespaces`.
    pub(crate) max_user_namespaces: Option<u64>,
    /// `/proc/sys/kernel/unprivileged_userns_clone` (Debian's kernels).
    pub(crate) unprivileged_userns_clone: Option<u64>,
    /// `/proc/sys/kernel/apparmor_restrict_unprivileged_userns` (Ubuntu).
    pub(crate) apparmor_restrict: Option<u64>,
    /// `Seccomp:` of `/proc/self/status` (2: a filter is active).
    pub(crate) seccomp: Option<u64>,
    /// Whether `/proc/self/ns/user` exists (`CONFIG_USER_NS`).
    pub(crate) user_ns_supported: bool,
}

impl Facts {
    fn read(record: Record, probe: Option<Result<(), Errno>>) -> Facts {
        let sysctl = |path: &str| kernel::read_proc(path).and_then(|text| parse_uint(&text));
        let seccomp =
            kernel::read_proc("/proc/self/status").and_then(|text| status_field(&text, b"Seccomp"));
        Facts {
            record,
            probe,
            uid: record.uid.unwrap_or_else(crate::kernel::effective_uid),
            max_user_namespaces: sysctl("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone: sysctl("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            seccomp,
            user_ns_supported: kernel::stat_id(std::path::Path::new("/proc/self/ns/user"))
                .is_ok_and(|id| id.is_some()),
        }
    }
}

const SUDO_FIX: &str = "run as root, or build as yourself and run the test binaries through \
     the `sudo -E` runner (README, \"Running without sudo cargo\")";

/// The answer for `facts`.
pub(crate) fn classify(facts: &Facts) -> Privilege {
    let lacks = format!(
        "this needs CAP_SYS_ADMIN, which the process lacks (uid {})",
        facts.uid
    );
    let unavailable =
        |reason: String, fix: String| Privilege::Unavailable(Unavailable { reason, fix });
    let seccomp_on = facts.seccomp == Some(2);
    let seccomp_fix = || {
        format!(
            "allow unshare and clone with CLONE_NEWUSER/CLONE_NEWNET in the container's seccomp \
             profile (docker, podman: --security-opt seccomp=unconfined), or {SUDO_FIX}"
        )
    };
    let apparmor_fix = || {
        format!(
            "{SUDO_FIX}; or allow unprivileged user namespaces: \
             sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 \
             (or an AppArmor profile with `userns,` for the test binaries)"
        )
    };
    match facts.record.start {
        Start::Entered | Start::Privileged | Start::NotRun => {
            let rootless = facts.record.start == Start::Entered;
            match facts.probe {
                None | Some(Ok(())) if rootless => Privilege::Rootless,
                None | Some(Ok(())) => Privilege::Full,
                Some(Err(e)) => {
                    let whose = if rootless {
                        format!("{lacks} outside a user namespace of its own; rootless mode made one, but")
                    } else if facts.record.start == Start::Privileged {
                        "the process has CAP_SYS_ADMIN, but".to_owned()
                    } else {
                        // No constructor record: the probe is all there is.
                        return unavailable(
                            format!("{lacks}: unshare(CLONE_NEWNET): {}", ShowErrno(e)),
                            SUDO_FIX.to_owned(),
                        );
                    };
                    let refused = format!("{whose} unshare(CLONE_NEWNET) fails: {}", ShowErrno(e));
                    if seccomp_on && matches!(e, Errno::PERM | Errno::NOSYS) {
                        unavailable(
                            format!("{refused}; a seccomp filter is active (Seccomp: 2 in /proc/self/status, as in a container)"),
                            seccomp_fix(),
                        )
                    } else if rootless && facts.apparmor_restrict == Some(1) {
                        unavailable(
                            format!("{refused}; AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)"),
                            apparmor_fix(),
                        )
                    } else {
                        unavailable(refused, SUDO_FIX.to_owned())
                    }
                }
            }
        }
        Start::OptedOut(OptOut::Env) => unavailable(
            format!("{lacks}, and rootless mode is off ({}=0)", rootless::ROOTLESS_ENV),
            format!(
                "{SUDO_FIX}; or unset {} to run in a user namespace of the test's own",
                rootless::ROOTLESS_ENV
            ),
        ),
        Start::OptedOut(OptOut::Binary) => unavailable(
            format!("{lacks}; this program works on the host's namespaces, so it does not use rootless mode"),
            "run it as root (sudo)".to_owned(),
        ),
        Start::AppArmorUnconfined => unavailable(
            format!(
                "{lacks}, and rootless mode is unavailable: AppArmor restricts unprivileged user \
                 namespaces (kernel.apparmor_restrict_unprivileged_userns = 1), so a user namespace \
                 would have no capabilities"
            ),
            apparmor_fix(),
        ),
        Start::Failed { step, errno } => {
            let failed = format!("{}: {}", step.op(), ShowErrno(errno));
            let denied = matches!(errno, Errno::PERM | Errno::ACCESS);
            let (why, fix) = match step {
                Step::UnshareUser => match errno {
                    Errno::NOSPC if facts.max_user_namespaces == Some(0) => (
                        "user namespaces are disabled (user.max_user_namespaces = 0)".to_owned(),
                        format!("{SUDO_FIX}; or enable them: sysctl -w user.max_user_namespaces=15000"),
                    ),
                    Errno::NOSPC => (
                        format!(
                            "the limit of user namespaces is reached (user.max_user_namespaces = {})",
                            facts.max_user_namespaces.map_or("?".to_owned(), |n| n.to_string())
                        ),
                        format!("{SUDO_FIX}; or raise user.max_user_namespaces"),
                    ),
                    Errno::PERM if facts.unprivileged_userns_clone == Some(0) => (
                        "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
                            .to_owned(),
                        format!("{SUDO_FIX}; or enable them: sysctl -w kernel.unprivileged_userns_clone=1"),
                    ),
                    Errno::PERM | Errno::NOSYS if seccomp_on => (
                        "a seccomp filter refuses it (Seccomp: 2 in /proc/self/status, as in a container)"
                            .to_owned(),
                        seccomp_fix(),
                    ),
                    Errno::INVAL if !facts.user_ns_supported => (
                        "the kernel has no user namespaces (CONFIG_USER_NS)".to_owned(),
                        SUDO_FIX.to_owned(),
                    ),
                    Errno::INVAL => (
                        format!(
                            "the process already had {} threads before main (another crate's \
                             constructor started one), and a user namespace needs a \
                             single-threaded process",
                            facts.record.threads.map_or("several".to_owned(), |n| n.to_string())
                        ),
                        SUDO_FIX.to_owned(),
                    ),
                    Errno::USERS => (
                        "user namespaces are nested too deeply (32 levels)".to_owned(),
                        SUDO_FIX.to_owned(),
                    ),
                    Errno::PERM => (
                        "it was refused (in a chroot, or by a security module)".to_owned(),
                        SUDO_FIX.to_owned(),
                    ),
                    _ => ("it failed".to_owned(), SUDO_FIX.to_owned()),
                },
                _ if denied && facts.apparmor_restrict == Some(1) => (
                    "AppArmor restricts unprivileged user namespaces \
                     (kernel.apparmor_restrict_unprivileged_userns = 1): the user namespace was \
                     created without capabilities, and the process is left in it"
                        .to_owned(),
                    apparmor_fix(),
                ),
                _ => ("setting up the user namespace failed".to_owned(), SUDO_FIX.to_owned()),
            };
            unavailable(
                format!("{lacks}, and rootless mode is unavailable: {why} ({failed})"),
                fix,
            )
        }
    }
}

/// Works out the privilege (once) if `result` failed for lack of it, so that
/// the error's message ends with the detected reason and fix. For the API's
/// entry points; formatting the error then only reads what this recorded.
pub(crate) fn explain<T>(result: crate::Result<T>) -> crate::Result<T> {
    if let Err(e) = &result {
        if e.is_permission_denied() {
            Privilege::get();
        }
    }
    result
}

/// The end of a privilege error's message (`EPERM`/`EACCES`): the detected
/// reason and its fix where there is one, else the generic hint.
struct Hint<'a>(&'a Privilege);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Privilege::Full => f.write_str(PRIVILEGE_HINT),
            Privilege::Rootless => {
                f.write_str(ROOTLESS_HINT)?;
                if let Some((step, errno)) = record().run_dir {
                    write!(
                        f,
                        "; the private /run/netns could not be set up ({}: {})",
                        step.op(),
                        ShowErrno(errno)
                    )?;
                }
                Ok(())
            }
            Privilege::Unavailable(why) => write!(f, "{why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(start: Start) -> Facts {
        Facts {
            record: Record {
                start,
                uid: Some(1000),
                threads: None,
                run_dir: None,
                run_dir_skipped: 0,
            },
            probe: None,
            uid: 1000,
            max_user_namespaces: Some(15000),
            unprivileged_userns_clone: None,
            apparmor_restrict: None,
            seccomp: Some(0),
            user_ns_supported: true,
        }
    }

    fn failed(step: Step, errno: Errno) -> Facts {
        facts(Start::Failed { step, errno })
    }

    /// The reason and fix, checked to be one line that names the capability,
    /// the uid and the `sudo -E` runner.
    fn unavailable(facts: &Facts) -> Unavailable {
        match classify(facts) {
            Privilege::Unavailable(why) => {
                let text = why.to_string();
                assert!(!text.contains('\n'), "{text}");
                assert!(text.contains("CAP_SYS_ADMIN"), "{text}");
                if facts.record.start != Start::OptedOut(OptOut::Binary) {
                    assert!(text.contains("sudo -E"), "{text}");
                }
                why
            }
            other => panic!("{other:?} for {facts:?}"),
        }
    }

    #[test]
    fn full_and_rootless_when_the_probe_succeeds() {
        let mut root = facts(Start::Privileged);
        root.probe = Some(Ok(()));
        assert_eq!(classify(&root), Privilege::Full);
        let mut rootless = facts(Start::Entered);
        rootless.probe = Some(Ok(()));
        assert_eq!(classify(&rootless), Privilege::Rootless);
        let mut no_record = facts(Start::NotRun);
        no_record.probe = Some(Ok(()));
        assert_eq!(classify(&no_record), Privilege::Full);
    }

    #[test]
    fn not_root_with_rootless_mode_off() {
        let why = unavailable(&facts(Start::OptedOut(OptOut::Env)));
        assert!(why.reason.contains("uid 1000"), "{why}");
        assert!(why.reason.contains("NETNS_TEST_ROOTLESS=0"), "{why}");
        assert!(why.fix.contains("unset NETNS_TEST_ROOTLESS"), "{why}");
    }

    #[test]
    fn a_binary_that_opted_out_says_so() {
        let why = unavailable(&facts(Start::OptedOut(OptOut::Binary)));
        assert!(why.reason.contains("host's namespaces"), "{why}");
        assert!(why.fix.contains("root"), "{why}");
    }

    #[test]
    fn user_namespaces_disabled_by_sysctl() {
        let mut zero = failed(Step::UnshareUser, Errno::NOSPC);
        zero.max_user_namespaces = Some(0);
        let why = unavailable(&zero);
        assert!(why.reason.contains("user.max_user_namespaces = 0"), "{why}");
        assert!(
            why.fix.contains("sysctl -w user.max_user_namespaces="),
            "{why}"
        );

        let why = unavailable(&failed(Step::UnshareUser, Errno::NOSPC));
        assert!(why.reason.contains("limit"), "{why}");

        let mut debian = failed(Step::UnshareUser, Errno::PERM);
        debian.unprivileged_userns_clone = Some(0);
        let why = unavailable(&debian);
        assert!(
            why.reason.contains("kernel.unprivileged_userns_clone = 0"),
            "{why}"
        );
        assert!(
            why.fix
                .contains("sysctl -w kernel.unprivileged_userns_clone=1"),
            "{why}"
        );
        assert!(why.reason.contains("EPERM"), "{why}");
    }

    #[test]
    fn seccomp_in_a_container() {
        for errno in [Errno::PERM, Errno::NOSYS] {
            let mut container = failed(Step::UnshareUser, errno);
            container.seccomp = Some(2);
            let why = unavailable(&container);
            assert!(why.reason.contains("seccomp"), "{why}");
            assert!(why.fix.contains("seccomp=unconfined"), "{why}");
        }
        // Root with CAP_SYS_ADMIN, but a filter refuses unshare.
        let mut root = facts(Start::Privileged);
        root.seccomp = Some(2);
        root.probe = Some(Err(Errno::PERM));
        let why = unavailable(&root);
        assert!(why.reason.contains("has CAP_SYS_ADMIN, but"), "{why}");
        assert!(why.reason.contains("seccomp"), "{why}");
        // EPERM without a filter is not blamed on seccomp.
        let why = unavailable(&failed(Step::UnshareUser, Errno::PERM));
        assert!(!why.reason.contains("seccomp"), "{why}");
    }

    #[test]
    fn apparmor_restriction() {
        let why = unavailable(&facts(Start::AppArmorUnconfined));
        assert!(
            why.reason
                .contains("kernel.apparmor_restrict_unprivileged_userns = 1"),
            "{why}"
        );
        assert!(
            why.fix.contains("apparmor_restrict_unprivileged_userns=0"),
            "{why}"
        );

        // Confined by a profile that did not allow `userns`: the map write
        // fails, or later a mount does.
        for step in [
            Step::Setgroups,
            Step::GidMap,
            Step::UidMap,
            Step::MountPrivate,
        ] {
            let mut ubuntu = failed(step, Errno::PERM);
            ubuntu.apparmor_restrict = Some(1);
            let why = unavailable(&ubuntu);
            assert!(why.reason.contains("AppArmor"), "{step:?}: {why}");
            assert!(why.reason.contains(step.op()), "{step:?}: {why}");
        }
        let mut probe = facts(Start::Entered);
        probe.apparmor_restrict = Some(1);
        probe.probe = Some(Err(Errno::PERM));
        assert!(unavailable(&probe).reason.contains("AppArmor"));

        // The same failure without the sysctl is not blamed on AppArmor.
        let why = unavailable(&failed(Step::UidMap, Errno::PERM));
        assert!(!why.reason.contains("AppArmor"), "{why}");
        assert!(why.reason.contains("write /proc/self/uid_map"), "{why}");
    }

    #[test]
    fn other_unshare_failures() {
        let mut threads = failed(Step::UnshareUser, Errno::INVAL);
        threads.record.threads = Some(3);
        assert!(unavailable(&threads)
            .reason
            .contains("already had 3 threads"));
        let mut no_userns = failed(Step::UnshareUser, Errno::INVAL);
        no_userns.user_ns_supported = false;
        assert!(unavailable(&no_userns).reason.contains("CONFIG_USER_NS"));
        assert!(unavailable(&failed(Step::UnshareUser, Errno::USERS))
            .reason
            .contains("nested"));
        let mut no_record = facts(Start::NotRun);
        no_record.probe = Some(Err(Errno::PERM));
        let why = unavailable(&no_record);
        assert!(why.reason.contains("unshare(CLONE_NEWNET)"), "{why}");
    }

    #[test]
    fn this_process_is_full_or_rootless() {
        // The suite runs as root or as an unprivileged user with user
        // namespaces (ci/rootless); either way namespaces work.
        let privilege = Privilege::get();
        assert!(privilege.check().is_ok(), "{privilege:?}");
        let root = crate::kernel::effective_uid() == 0;
        match record().start {
            Start::Entered => assert_eq!(privilege, &Privilege::Rootless),
            _ => assert!(root && privilege == &Privilege::Full, "{privilege:?}"),
        }
    }
}
