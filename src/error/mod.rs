//! The crate's error type.
//!
//! Every error says which operation failed on which path and with which errno,
//! so a failing test's output alone tells what to fix. A missing privilege
//! (`EPERM`/`EACCES` from a namespace or mount operation) adds one line that
//! names the capability and how to get it.

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use rustix::io::Errno;

mod debug;
mod errno;

pub(crate) use errno::ShowErrno;

/// A specialized [`Result`](std::result::Result) for this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a namespace operation.
///
/// Match on the variant to react to a kind of failure; print it (`Display`) to
/// tell a person. New variants may be added in minor releases.
///
/// `Debug` prints the same text as `Display`, so that `.unwrap()`, `?` in a
/// test that returns `Result` (libtest prints `Error: {:?}`) and `{:?}` show
/// a readable message, multi-line parts (a process's log tail) included;
/// `{:#?}` shows the variant's fields.
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    Sys {
        /// The operation, in the kernel's words (`unshare(CLONE_NEWNET)`,
        /// `mount --bind`, `setns(CLONE_NEWNET)`, ...).
        op: &'static str,
        /// The path it acted on, if any.
        path: Option<PathBuf>,
        /// What the kernel answered.
        errno: Errno,
    },
    /// A namespace name that iproute2 would refuse too (ip/ipnetns.c,
    /// `is_valid_netns_name`): nothing was created.
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// `Netns::create` found the name taken (`O_EXCL` on the placeholder); the
    /// existing namespace was left untouched.
    AlreadyExists {
        /// The taken path in the run directory.
        path: PathBuf,
    },
    /// The path exists but is not a network namespace: not an nsfs file, or
    /// the nsfs file of another namespace type.
    NotNetns {
        /// The path that was opened.
        path: PathBuf,
        /// What it is instead (the target of its `/proc/thread-self/fd` link).
        found: String,
    },
    /// A netlink request was refused or could not be made.
    Netlink {
        /// The request (`RTM_NEWLINK lo up`, ...).
        op: String,
        /// The kernel's errno, or `None` for a malformed or missing reply.
        errno: Option<Errno>,
        /// Detail for a malformed reply.
        detail: String,
    },
    /// A thread could not be spawned.
    Spawn(std::io::Error),
    /// An argument that cannot be used: a link name the kernel would refuse
    /// (`dev_valid_name`), a sysctl key outside `net.`, an address that does
    /// not parse, a host a topology did not declare. Nothing was changed.
    InvalidArgument {
        /// What kind of argument (`link name`, `sysctl key`, `address`, ...).
        what: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An environment variable of netns-test (`NETNS_TEST_*`) holds a value
    /// it does not take: nothing was done. Every variable, its values and
    /// its default are listed in one table (the `settings` topic of the
    /// crate docs).
    Setting {
        /// The variable (`NETNS_TEST_CAPTURE`).
        var: &'static str,
        /// Its value as found (lossy UTF-8).
        value: String,
        /// The values it takes, in words (`off, failed or all`).
        accepted: &'static str,
    },
    /// A step of [`Topology::build`](crate::Topology::build) failed;
    /// everything built before it was removed again.
    Topology {
        /// Which step, in words (`step 3 of 9 (link client:eth0 - router:eth0)`).
        step: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// A file in the run directory or in `/run/netns-test` is not what
    /// netns-test makes there (an owner record it did not write; a
    /// directory or symlink where a namespace of a gone owner should be),
    /// so it was neither used nor removed. The message says what to remove
    /// by hand.
    Leftover {
        /// The file.
        path: PathBuf,
        /// What is wrong with it and what to do, in words.
        problem: String,
    },
    /// A suite [`Fixture`](crate::Fixture) could not be built; every test
    /// that uses it gets this error.
    Fixture {
        /// The fixture's name.
        name: &'static str,
        /// The setup's error (or panic) message.
        message: String,
    },
    /// A test named a host (`#[netns_test(fixture = .., host = "..")]`) that
    /// its suite [`Fixture`](crate::Fixture) does not have. The fixture was
    /// built and stays usable by other tests.
    NoSuchHost {
        /// The fixture's name.
        fixture: &'static str,
        /// The host as the test names it.
        host: String,
        /// The hosts the fixture has.
        hosts: Vec<String>,
    },
    /// A file this crate writes for a person (a packet capture) could not
    /// be written. Unlike [`Error::Sys`], an `EACCES` here is the file's or
    /// directory's mode, not a missing namespace privilege: the message
    /// carries no privilege hint, and
    /// [`is_permission_denied`](Error::is_permission_denied) is `false`.
    File {
        /// What was done (`write pcapng`).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// What the kernel answered (`EIO` if the error had no errno).
        errno: Errno,
    },
    /// A process started with [`Netns::spawn`](crate::Netns::spawn) could
    /// not be started, stopped or waited for, or did not get ready in time.
    Process {
        /// The program, as given to the command.
        program: String,
        /// Its pid, once it was started.
        pid: Option<u32>,
        /// What failed, with the process's exit status and the tail of its
        /// log where it died.
        message: String,
        /// The errno, where one was the cause.
        errno: Option<Errno>,
    },
}

impl Error {
    pub(crate) fn sys(op: &'static str, path: impl Into<Option<PathBuf>>, errno: Errno) -> Self {
        Error::Sys {
            op,
            path: path.into(),
            errno,
        }
    }

    /// An error of a std I/O call (no errno means EIO).
    pub(crate) fn io(op: &'static str, path: &std::path::Path, e: &std::io::Error) -> Self {
        let errno = e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error);
        Error::sys(op, path.to_path_buf(), errno)
    }

    /// An I/O error on a file of ours that is no namespace operation
    /// ([`Error::File`]; no errno means EIO).
    #[cfg_attr(not(feature = "capture"), allow(dead_code))]
    pub(crate) fn file(op: &'static str, path: &std::path::Path, e: &std::io::Error) -> Self {
        let errno = e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error);
        Error::File {
            op,
            path: path.to_path_buf(),
            errno,
        }
    }

    /// The errno behind this error, if the kernel gave one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } | Error::File { errno, .. } => Some(*errno),
            Error::Netlink { errno, .. } => *errno,
            Error::AlreadyExists { .. } => Some(Errno::EXIST),
            Error::Spawn(e) => e.raw_os_error().map(Errno::from_raw_os_error),
            Error::Process { errno, .. } => *errno,
            Error::Topology { source, .. } => source.errno(),
            Error::InvalidName { .. }
            | Error::NotNetns { .. }
            | Error::InvalidArgument { .. }
            | Error::Setting { .. }
            | Error::Leftover { .. }
            | Error::Fixture { .. }
            | Error::NoSuchHost { .. } => None,
        }
    }

    /// Whether the operation failed for lack of privilege (`EPERM` or
    /// `EACCES`): the process lacks `CAP_SYS_ADMIN` (or `CAP_NET_ADMIN`) in the
    /// user namespace that owns the network namespace. Never for
    /// [`Error::File`]: a file's mode is not a namespace privilege.
    pub fn is_permission_denied(&self) -> bool {
        !matches!(self, Error::File { .. })
            && matches!(self.errno(), Some(Errno::PERM | Errno::ACCESS))
    }
}

/// The line an `EPERM`/`EACCES` error ends with when the process has
/// `CAP_SYS_ADMIN` ([`Privilege::Full`](crate::Privilege::Full)): privilege
/// is not what is missing, so name what else refuses. Otherwise the detected
/// reason and its fix take its place (`crate::privilege::Hint`, recorded
/// by [`set_privilege_hint`]).
pub(crate) const PRIVILEGE_HINT: &str = "refused although the process has CAP_SYS_ADMIN: \
     check the path's owner and mode, the mount's flags, ptrace access to /proc/PID \
     (ptrace_may_access), and LSMs such as AppArmor or SELinux";

/// The line a privilege error ends with before the process's privilege has
/// been worked out ([`Privilege::get`](crate::Privilege::get) has not run).
pub(crate) const UNKNOWN_PRIVILEGE_HINT: &str = "creating and entering namespaces needs \
     CAP_SYS_ADMIN: run as root, through the `sudo -E` runner, or rootless (README, \
     \"Rootless\"); Privilege::get() says which applies here";

/// The detected reason and fix that privilege errors end with, set once by
/// [`Privilege::get`](crate::Privilege::get). Formatting an error only reads
/// it: it never probes the kernel.
static DETECTED_HINT: OnceLock<String> = OnceLock::new();

/// Records the hint for privilege errors (called once, by the privilege
/// layer, when it has worked out what the process may do).
pub(crate) fn set_privilege_hint(hint: String) {
    let _ = DETECTED_HINT.set(hint);
}

/// The line a privilege error ends with in rootless mode.
pub(crate) const ROOTLESS_HINT: &str = "rootless mode: the process has CAP_SYS_ADMIN only in \
     its own user namespace, so the host's namespaces, mounts and files stay out of reach; \
     for those, run as root or through the `sudo -E` runner (README, \"Rootless\")";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { op, path, errno } => {
                write!(f, "{op}")?;
                if let Some(path) = path {
                    write!(f, " {}", path.display())?;
                }
                write!(f, ": {}", ShowErrno(*errno))?;
            }
            Error::InvalidName { name, reason } => {
                write!(f, "invalid network namespace name {name:?}: {reason}")?;
            }
            Error::AlreadyExists { path } => write!(
                f,
                "create network namespace {}: it already exists ({}); \
                 open it with Netns::open, or remove it with `ip netns del`",
                path.display(),
                ShowErrno(Errno::EXIST)
            )?,
            Error::NotNetns { path, found } => {
                write!(
                    f,
                    "open network namespace {}: not a network namespace (it is {found})",
                    path.display()
                )?;
                if found.starts_with("an empty regular file") {
                    // ip/ipnetns.c creates the placeholder, then bind-mounts.
                    f.write_str(
                        "; an empty file in the run directory is a placeholder: one being \
                         created right now, or one left by a failed `ip netns add` (remove \
                         that with ",
                    )?;
                    match path.file_name() {
                        Some(name) if path.parent() == Some(std::path::Path::new("/run/netns")) => {
                            write!(f, "`ip netns del {}`)", name.to_string_lossy())?
                        }
                        _ => write!(f, "`rm {}`)", path.display())?,
                    }
                }
            }
            Error::Netlink { op, errno, detail } => {
                write!(f, "netlink {op}")?;
                match errno {
                    Some(e) if detail.is_empty() => write!(f, ": {}", ShowErrno(*e))?,
                    // The kernel's extended ACK text ("mtu less than device minimum").
                    Some(e) => write!(f, ": {}: {detail}", ShowErrno(*e))?,
                    None => write!(f, ": {detail}")?,
                }
            }
            Error::Spawn(e) => write!(f, "spawn namespace thread: {e}")?,
            Error::InvalidArgument {
                what,
                value,
                reason,
            } => write!(f, "invalid {what} {value:?}: {reason}")?,
            Error::Setting {
                var,
                value,
                accepted,
            } => {
                return write!(
                    f,
                    "environment variable {var}={value:?} is not a value it takes: it takes \
                     {accepted}; fix or unset it"
                )
            }
            // The source carries its own privilege hint.
            Error::Topology { step, source } => return write!(f, "topology {step}: {source}"),
            Error::Fixture { name, message } => {
                return write!(f, "fixture {name} could not be built: {message}")
            }
            Error::NoSuchHost {
                fixture,
                host,
                hosts,
            } => {
                return write!(
                    f,
                    "fixture {fixture} has no host {host:?} (its hosts: {}): check the test's \
                     `host = ..`",
                    hosts.join(", ")
                )
            }
            Error::Process {
                program,
                pid,
                message,
                ..
            } => {
                return match pid {
                    Some(pid) => write!(f, "{program} (pid {pid}): {message}"),
                    None => write!(f, "{program}: {message}"),
                }
            }
            Error::Leftover { path, problem } => return write!(f, "{}: {problem}", path.display()),
            // The file's mode, not a namespace privilege: no hint.
            Error::File { op, path, errno } => {
                return write!(f, "{op} {}: {}", path.display(), ShowErrno(*errno))
            }
        }
        if self.is_permission_denied() {
            let hint = DETECTED_HINT
                .get()
                .map_or(UNKNOWN_PRIVILEGE_HINT, String::as_str);
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) => Some(e),
            Error::Topology { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::InvalidName { .. } | Error::InvalidArgument { .. } | Error::Setting { .. } => {
                std::io::ErrorKind::InvalidInput
            }
            Error::NotNetns { .. } => std::io::ErrorKind::InvalidInput,
            Error::AlreadyExists { .. } => std::io::ErrorKind::AlreadyExists,
            _ => match e.errno() {
                Some(errno) => std::io::Error::from(errno).kind(),
                None => std::io::ErrorKind::Other,
            },
        };
        std::io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_error_names_op_path_and_errno() {
        let e = Error::sys("mount --bind", PathBuf::from("/run/netns/a"), Errno::BUSY);
        assert_eq!(
            e.to_string(),
            "mount --bind /run/netns/a: Device or resource busy (EBUSY)"
        );
        assert!(!e.is_permission_denied());
    }

    #[test]
    fn privilege_error_is_one_line_with_the_fix() {
        let e = Error::sys("unshare(CLONE_NEWNET)", None, Errno::PERM);
        // Formatting only reads the hint that working out the privilege left.
        crate::Privilege::get();
        let s = e.to_string();
        assert!(s.starts_with("unshare(CLONE_NEWNET): Operation not permitted (EPERM); "));
        assert!(s.contains("CAP_SYS_ADMIN"), "{s}");
        if crate::Privilege::get() == &crate::Privilege::Full {
            // Privilege is not what is missing: the hint must not say so.
            assert!(
                s.contains("refused although the process has CAP_SYS_ADMIN"),
                "{s}"
            );
            assert!(!s.contains("run as root"), "{s}");
        } else {
            assert!(s.contains("sudo -E"), "{s}");
        }
        assert!(!s.contains('\n'));
        assert!(e.is_permission_denied());
    }

    #[test]
    fn a_file_error_carries_no_privilege_hint() {
        crate::Privilege::get();
        let e = Error::file(
            "write pcapng",
            std::path::Path::new("/t/captures/x.pcapng"),
            &std::io::Error::from_raw_os_error(Errno::ACCESS.raw_os_error()),
        );
        assert_eq!(
            e.to_string(),
            "write pcapng /t/captures/x.pcapng: Permission denied (EACCES)"
        );
        assert_eq!(e.errno(), Some(Errno::ACCESS));
        assert!(!e.is_permission_denied());
    }

    #[test]
    fn debug_is_the_message_and_alternate_debug_the_fields() {
        let e = Error::Process {
            program: "sh".to_owned(),
            pid: Some(7),
            message: "exited\n  | a log line".to_owned(),
            errno: None,
        };
        assert_eq!(format!("{e:?}"), e.to_string());
        assert!(format!("{e:?}").contains("\n  | a log line"), "{e:?}");
        assert!(format!("{e:#?}").starts_with("Process {"), "{e:#?}");
    }

    #[test]
    fn unknown_errno_shows_its_number() {
        let s = ShowErrno(Errno::from_raw_os_error(133)).to_string();
        assert!(s.ends_with("(errno 133)"), "{s}");
    }
}
