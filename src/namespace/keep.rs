//! Keeping a failed test's namespace (`NETNS_TEST_KEEP=failed`, README,
//! "When a test fails"): the calling thread's namespace is bind-mounted as
//! `netns-test-TEST[-HOST]` in the run directory, through the same
//! owned-create path as every named namespace ([`Netns::create`]'s steps,
//! ARCHITECTURE.md 3.4), so it carries an owner record naming this process.
//!
//! What the record decides:
//! - this process never removes it: the handle is disowned (not removed
//!   on drop, nor by the exit hook of `registry.rs`), but the record stays;
//! - once this process is gone, the record names a gone process, so
//!   [`RunDir::sweep`] (`setns --sweep`) removes it, as it removes what a
//!   killed run left;
//! - a later test run never removes it by accident: nothing sweeps
//!   automatically except a named [`Topology`](crate::Topology), which
//!   looks at `PREFIX-DIGITS-*` only (a kept name goes on with the test's
//!   path, which starts with an identifier, never with digits), and a
//!   create of the *same* name, which a keep never makes: a name that is
//!   taken, by a live or a gone process's entry or record, gets `-PID`
//!   (then `-PID-N`) instead.

use std::path::Path;

use crate::error::{Error, Result};
use crate::kernel;
use crate::namespace::netns::Netns;
use crate::namespace::owner;
use crate::namespace::rundir::{RunDir, MAX_NAME_LEN};

/// The prefix of every kept namespace's name.
pub(crate) const KEPT_PREFIX: &str = "netns-test-";

/// Room left at the end of a name for `-PID-N`.
const SUFFIX_ROOM: usize = 24;

/// `netns-test-TEST` or `netns-test-TEST-HOST`: `test` is the test's
/// directory name (`TestId::file_name`, already escaped), `host` is
/// escaped by the same function (`context::file_name`), and the whole is
/// cut to leave room for a `-PID-N` suffix within `NAME_MAX`.
pub(crate) fn kept_name(test: &str, host: &str) -> String {
    let mut name = format!("{KEPT_PREFIX}{test}");
    if !host.is_empty() {
        name.push('-');
        name.push_str(&crate::context::file_name(host));
    }
    // Every byte is ASCII: any cut is on a character boundary.
    name.truncate(MAX_NAME_LEN - SUFFIX_ROOM);
    name
}

/// Pins the calling thread's network namespace as `base` (or `base-PID`,
/// `base-PID-N` if that name is taken) in `dir`, with an owner record
/// naming this process, and returns the name. Must run on a thread inside
/// the namespace (a failing test's body thread): an anonymous namespace
/// dies with its last thread.
///
/// # Errors
/// What [`Netns::create`] returns for the steps it shares (`EPERM` without
/// `CAP_SYS_ADMIN`, a run directory that cannot be prepared); a name still
/// taken after 100 tries is [`Error::AlreadyExists`].
pub(crate) fn keep_current(dir: &RunDir, base: &str) -> Result<String> {
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..100u32 {
        let name = match attempt {
            0 => base.to_owned(),
            1 => format!("{base}-{pid}"),
            n => format!("{base}-{pid}-{n}"),
        };
        let path = dir.entry(&name)?;
        if taken(dir, &name, &path)? {
            last = Some(path);
            continue;
        }
        match Netns::create_with(dir, &name, |path| {
            let here = kernel::thread_netns_path();
            kernel::bind_mount(&here, path)?;
            kernel::open_ns_file(&here)
        }) {
            Ok(mut ns) => {
                ns.keep_recorded();
                return Ok(name);
            }
            // Another process took it meanwhile (cargo-nextest runs the
            // same test in another process only when asked to, but a
            // concurrent run of the suite may fail it too).
            Err(Error::AlreadyExists { path }) => last = Some(path),
            Err(e) => return Err(e),
        }
    }
    Err(Error::AlreadyExists {
        path: last.unwrap_or_else(|| dir.path().join(base)),
    })
}

/// Whether `name` has an entry or a record: a kept namespace never
/// replaces anything, not even a gone process's leftover.
fn taken(dir: &RunDir, name: &str, path: &Path) -> Result<bool> {
    Ok(kernel::lstat_type(path)?.is_some() || owner::read(dir, name)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_names_are_sanitised_and_short_enough() {
        let test = crate::context::TestId::new("keep", "fails").file_name();
        assert_eq!(kept_name(&test, ""), "netns-test-keep.fails");
        assert_eq!(kept_name(&test, "web 1"), "netns-test-keep.fails-web%201");
        let long = kept_name(&"x".repeat(400), "h");
        assert!(long.len() <= MAX_NAME_LEN - SUFFIX_ROOM, "{}", long.len());
        crate::validate_name(&format!("{long}-4194304-99")).unwrap();
        crate::validate_name(&kept_name("..", "..")).unwrap();
    }
}
