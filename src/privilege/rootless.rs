//! Rootless mode: namespaces without root, in a user namespace of the test
//! process's own, entered before `main`.
//!
//! # What happens
//! A binary that links this crate and starts without `CAP_SYS_ADMIN` does,
//! before `main`:
//!
//! 1. `unshare(CLONE_NEWUSER|CLONE_NEWNS)`: a user namespace, and a mount
//!    namespace owned by it;
//! 2. writes `deny` to `/proc/self/setgroups`, then `0 GID 1` to `gid_map` and
//!    `0 UID 1` to `uid_map` (user_namespaces(7) requires that order): uid 0
//!    in the namespace is the real user outside it, with every capability over
//!    namespaces the process creates from now on. Child processes it starts
//!    (`ip`, the `setns` CLI) are root there too;
//! 3. makes `/` recursively private (`MS_PRIVATE|MS_REC`): nothing it mounts
//!    reaches the host, and nothing the host mounts afterwards (say, a
//!    namespace another test run adds to the host's `/run/netns`) shows up in
//!    the process's mount table;
//! 4. covers `/run` (or `/var/run`, wherever iproute2's run directory is, as
//!    [`RunDir::get`](crate::RunDir::get) decides) with a tmpfs in which
//!    every entry of the old `/run` is bind-mounted back, except `netns`,
//!    which is a new empty directory. `/run/netns` is then private to the
//!    process and its children: [`Netns::create`](crate::Netns::create),
//!    `#[netns_test(name = ...)]`, `ip netns add/list/exec/del` run by the test
//!    all use it, and the host's `ip netns` never sees it. It is gone when the
//!    process exits (a mount namespace dies with its last process): nothing
//!    to clean up, even after `SIGKILL`.
//!
//! The host's network namespace is kept: the main thread and plain `#[test]`s
//! still reach the host's network. Only namespaces the process creates are
//! owned by its user namespace.
//!
//! # Why before `main`, in `.init_array`
//! `unshare(CLONE_NEWUSER)` fails with `EINVAL` in a multithreaded process
//! (ARCHITECTURE.md 2.5), and libtest starts its threads in `main`. A function pointer
//! in `.init_array` runs in every binary that links the crate (test binaries,
//! doc tests, benches, nextest's process per test), before `main`, on the only
//! thread, with no cooperation from the test harness and no `fork`. The
//! alternatives were worse: re-executing the test binary in a child made
//! single-threaded costs a process per test and breaks `--nocapture` and
//! debuggers; a `fork` without `exec` in a threaded process can deadlock
//! (ARCHITECTURE.md 4.13).
//!
//! The constructor runs before Rust's runtime is set up, so it uses rustix
//! system calls only (through [`sys`]), fixed-size stack buffers,
//! no allocation and no panics; it reads the environment from
//! `/proc/self/environ` rather than through std. It records what it did in
//! atomics that [`Privilege::get`](crate::Privilege::get) reads.
//!
//! Its section is `.init_array.00200`: priority sections run before plain
//! `.init_array` ones (other crates' constructors, which might start a
//! thread), and after std's own (`.init_array.00099`).
//!
//! # When it does nothing
//! - The process has `CAP_SYS_ADMIN` (root, the `sudo -E` runner, root in a
//!   container, a child of a rootless test process).
//! - `NETNS_TEST_ROOTLESS=0` is set: tests then fail with the privilege error.
//! - The binary opted out with `netns_test::no_rootless!()`: the `setns` CLI
//!   does, since its namespaces must be the host's. The opt-out is a
//!   constructor in `.init_array.00150`, so it runs first. (Deciding by the
//!   binary's path, such as `target/*/deps/`, breaks for copied binaries and
//!   doc tests; cargo sets no environment variable that marks a test run.)
//! - AppArmor restricts unprivileged user namespaces and the process is
//!   unconfined: the namespace would be created without capabilities, and the
//!   process could not leave it again.
//!
//! If a step fails, the step and errno are recorded; the reason is worked out
//! from them by [`privilege`](crate::privilege).

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::Ordering;

use rustix::fs::FileType;
use rustix::io::Errno;

use super::bytes::{fd_path, map_line, parse_uint, status_field, EnvScan};
use super::record::*;
use crate::kernel::{self, raw};

/// The name of the directory beside the run directory that holds what
/// coordinates test processes (`RunDir::coordination_dir`): in rootless mode
/// it starts empty, like `netns`, private to the process.
pub(crate) const COORDINATION_DIR: &str = "netns-test";

/// The environment variable that turns rootless mode off: `NETNS_TEST_ROOTLESS=0`.
pub use crate::settings::ROOTLESS_ENV;

// The constructor. `extern "C"`, as the loader calls it (glibc passes argc,
// argv and envp, which it ignores).
#[used]
#[link_section = ".init_array.00200"]
static ENTER_ROOTLESS: extern "C" fn() = enter_rootless;

/// Called by the constructor `no_rootless!()` puts in a binary, before
/// the rootless constructor runs.
pub fn opt_out() {
    BINARY_OPT_OUT.store(true, Ordering::Release);
}

/// Keeps this binary out of rootless mode: started without `CAP_SYS_ADMIN`,
/// it stays in the host's user namespace and fails with the privilege error.
/// For programs whose namespaces must be the host's (the `setns` CLI).
///
/// It puts a constructor in `.init_array.00150`, which runs before the
/// rootless one (`.init_array.00200`: lower numbers run first). Not a public
/// API yet: no stability promise.
#[doc(hidden)]
#[macro_export]
macro_rules! no_rootless {
    () => {
        const _: () = {
            extern "C" fn netns_test_no_rootless() {
                $crate::__private::opt_out_of_rootless();
            }
            #[used]
            #[link_section = ".init_array.00150"]
            static NETNS_TEST_NO_ROOTLESS: extern "C" fn() = netns_test_no_rootless;
        };
    };
}

/// The constructor. Raw system calls, stack buffers, no panics.
extern "C" fn enter_rootless() {
    let state = match start() {
        Ok(state) => state,
        Err((step, errno)) => {
            STEP.store(step as u8, Ordering::Release);
            ERRNO.store(errno.raw_os_error(), Ordering::Release);
            S_FAILED
        }
    };
    STATE.store(state, Ordering::Release);
}

fn start() -> Result<u8, (Step, Errno)> {
    let (uid, gid) = kernel::effective_ids();
    UID.store(uid, Ordering::Release);
    if kernel::has_cap_sys_admin().unwrap_or(uid == 0) {
        return Ok(S_PRIVILEGED);
    }
    if BINARY_OPT_OUT.load(Ordering::Acquire) {
        return Ok(S_OPT_OUT_BINARY);
    }
    if env_turns_rootless_off() {
        return Ok(S_OPT_OUT_ENV);
    }
    if apparmor_would_deny() {
        return Ok(S_APPARMOR);
    }
    if let Err(e) = raw::unshare_user_and_mount_ns() {
        if e == Errno::INVAL {
            THREADS.store(thread_count().unwrap_or(0), Ordering::Release);
        }
        return Err((Step::UnshareUser, e));
    }
    // Without /proc/self/setgroups (before Linux 3.19) gid_map needs no "deny".
    match raw::write_once(c"/proc/self/setgroups", b"deny") {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err((Step::Setgroups, e)),
    }
    let mut line = [0u8; 32];
    raw::write_once(c"/proc/self/gid_map", map_line(&mut line, gid))
        .map_err(|e| (Step::GidMap, e))?;
    raw::write_once(c"/proc/self/uid_map", map_line(&mut line, uid))
        .map_err(|e| (Step::UidMap, e))?;
    raw::make_private_rec_raw(c"/").map_err(|e| (Step::MountPrivate, e))?;
    if let Err((step, e)) = private_run_dir() {
        RUN_ERRNO.store(e.raw_os_error(), Ordering::Release);
        RUN_STEP.store(step as u8 + 1, Ordering::Release);
    }
    Ok(S_ENTERED)
}

/// `NETNS_TEST_ROOTLESS=0` in `/proc/self/environ` (the environment the
/// process was started with; std's view of it is not set up yet).
fn env_turns_rootless_off() -> bool {
    let mut scan = EnvScan::new(ROOTLESS_ENV.as_bytes());
    let mut buf = [0u8; 1024];
    if raw::read_chunks(c"/proc/self/environ", &mut buf, |chunk| scan.feed(chunk)).is_err() {
        return false;
    }
    scan.value() == Some(b"0")
}

/// Ubuntu's `kernel.apparmor_restrict_unprivileged_userns = 1` and an
/// unconfined process: `unshare(CLONE_NEWUSER)` would succeed, but in a
/// namespace without capabilities (the map writes fail with `EPERM`), which
/// the process could never leave. A process confined by a profile that allows
/// `userns` tries.
fn apparmor_would_deny() -> bool {
    let mut buf = [0u8; 64];
    let restricted = raw::read_small(
        c"/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        &mut buf,
    )
    .ok()
    .and_then(|n| parse_uint(buf.get(..n)?));
    if restricted != Some(1) {
        return false;
    }
    let label = raw::read_small(c"/proc/self/attr/apparmor/current", &mut buf)
        .or_else(|_| raw::read_small(c"/proc/self/attr/current", &mut buf));
    match label {
        Ok(n) => buf.get(..n).is_some_and(|l| l.starts_with(b"unconfined")),
        // No label to read: assume the common case, unconfined.
        Err(_) => true,
    }
}

/// `Threads:` of `/proc/self/status`.
fn thread_count() -> Option<u32> {
    let mut buf = [0u8; 4096];
    let n = raw::read_small(c"/proc/self/status", &mut buf).ok()?;
    status_field(buf.get(..n)?, b"Threads").and_then(|n| u32::try_from(n).ok())
}

/// Covers iproute2's run directory's parent (`/run`) with a tmpfs holding a
/// bind mount of every old entry but `netns` and `netns-test` (suite fixture
/// locks), and a new, empty `netns`.
fn private_run_dir() -> Result<(), (RunStep, Errno)> {
    // Where RunDir::get looks: /var/run/netns if /var/run is not /run.
    let parent = match raw::same_dir(c"/run", c"/var/run") {
        Some(false) => c"/var/run",
        _ => c"/run",
    };
    let old = raw::open_dir_raw(parent).map_err(|e| (RunStep::OpenOld, e))?;
    raw::mount_tmpfs_raw(parent).map_err(|e| (RunStep::MountTmpfs, e))?;
    let new = raw::open_dir_raw(parent).map_err(|e| (RunStep::OpenNew, e))?;
    let mut skipped = 0u32;
    let mut dents = [MaybeUninit::<u8>::uninit(); 4096];
    raw::for_each_dir_entry(old.as_fd(), &mut dents, |name, file_type| {
        let name_bytes = name.to_bytes();
        // `netns` and the fixture locks' `netns-test` start empty: they
        // belong to this process's private world.
        let coordination = COORDINATION_DIR.as_bytes();
        if matches!(name_bytes, b"." | b".." | b"netns") || name_bytes == coordination {
            return;
        }
        if bind_back(old.as_fd(), new.as_fd(), name, file_type).is_err() {
            skipped += 1;
        }
    })
    .map_err(|e| (RunStep::ReadDir, e))?;
    RUN_SKIPPED.store(skipped, Ordering::Release);
    raw::mkdirat_raw(new.as_fd(), c"netns").map_err(|e| (RunStep::MkdirNetns, e))
}

/// Puts the old entry `name` back into the new directory: a symlink is copied,
/// anything else is bind-mounted (`MS_BIND|MS_REC`) onto a new directory or
/// empty file. The paths go through `/proc/self/fd/N/`, so the old directory
/// is reached although the new one covers it.
fn bind_back(
    old: BorrowedFd<'_>,
    new: BorrowedFd<'_>,
    name: &CStr,
    file_type: FileType,
) -> Result<(), Errno> {
    let file_type = match file_type {
        FileType::Unknown => raw::file_type_at(old, name)?,
        known => known,
    };
    match file_type {
        FileType::Symlink => {
            let mut target = [0u8; 4097];
            let (body, _) = target.split_at_mut(4096);
            let n = raw::readlinkat_raw(old, name, body)?;
            if n >= body.len() {
                return Err(Errno::NAMETOOLONG);
            }
            let target = CStr::from_bytes_until_nul(&target).map_err(|_| Errno::INVAL)?;
            return raw::symlinkat_raw(target, new, name);
        }
        FileType::Directory => raw::mkdirat_raw(new, name)?,
        _ => raw::create_file_at(new, name)?,
    }
    let mut src = [0u8; 320];
    let mut dst = [0u8; 320];
    let src = fd_path(&mut src, old.as_raw_fd(), name.to_bytes()).ok_or(Errno::NAMETOOLONG)?;
    let dst = fd_path(&mut dst, new.as_raw_fd(), name.to_bytes()).ok_or(Errno::NAMETOOLONG)?;
    raw::bind_mount_rec_raw(src, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constructor_ran() {
        assert_ne!(record().start, Start::NotRun);
        assert!(record().uid.is_some());
    }
}
