//! What this process may do with namespaces, worked out once.

use std::fmt;
use std::sync::OnceLock;

/// Whether this process can create network namespaces, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Privilege {
    /// `CAP_SYS_ADMIN` in the initial user namespace (root, or the `sudo -E`
    /// runner): everything works, named namespaces go to `/run/netns`.
    Full,
    /// No privilege: namespaces cannot be created. The reason says why and
    /// how to fix it.
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
    /// Works out, once per process, what is possible: it tries
    /// `unshare(CLONE_NEWNET)` on a throwaway thread.
    pub fn get() -> &'static Privilege {
        static PRIVILEGE: OnceLock<Privilege> = OnceLock::new();
        PRIVILEGE.get_or_init(detect)
    }

    /// `Ok` if namespaces can be created, else why not.
    pub fn check(&self) -> Result<(), &Unavailable> {
        match self {
            Privilege::Full => Ok(()),
            Privilege::Unavailable(why) => Err(why),
        }
    }
}

fn detect() -> Privilege {
    let probe = std::thread::spawn(crate::sys::unshare_netns).join();
    match probe {
        Ok(Ok(())) => Privilege::Full,
        Ok(Err(e)) => Privilege::Unavailable(Unavailable {
            reason: format!("{}", ErrorOnly(&e)),
            fix: "run the tests as root, or build as yourself and run the test binaries \
                  through the `sudo -E` runner (README, \"Running without sudo cargo\")"
                .to_owned(),
        }),
        Err(_) => Privilege::Unavailable(Unavailable {
            reason: "the privilege probe thread panicked".to_owned(),
            fix: "report this as a bug".to_owned(),
        }),
    }
}

/// An error's text without the privilege hint (the fix is separate here).
struct ErrorOnly<'a>(&'a crate::Error);

impl fmt::Display for ErrorOnly<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            crate::Error::Sys { op, errno, .. } => {
                write!(f, "{op}: {}", crate::error::ShowErrno(*errno))
            }
            other => write!(f, "{other}"),
        }
    }
}
