//! Per-test logs of spawned processes, and their tails in a failing test's
//! output.
//!
//! A process's stdout and stderr go to one file,
//! `<per-test files>/<test>/<program>-<pid>.log` (where the per-test files
//! are, the target directory or a temporary one: `artifacts.rs`). The test
//! is the one the spawning thread works for ([`crate::context::current`]):
//! its [`TestId::file_name`](crate::context::TestId::file_name)
//! (`services.nginx_serves`), or `fixture-NAME` during a suite fixture's
//! setup; a process spawned outside any `#[netns_test]` logs under the
//! spawning thread's name (libtest names a plain `#[test]`'s thread after
//! the test), or `unattributed`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::context::file_name;
use crate::process::artifacts::Artifacts;

/// How many lines of each log a failing test shows.
pub(crate) const TAIL_LINES: usize = 20;

/// How many bytes at the end of a log are read for its tail: a bound on
/// what a failure adds to the output, whatever the lines' length.
const TAIL_BYTES: u64 = 4096;

/// At most this many logs are shown for one failing test (the newest).
const MAX_LOGS_SHOWN: usize = 8;

/// Logs written so far, by the directory name of their test (or fixture):
/// a fixture's outlive the context of its setup, and every test of the
/// fixture shows them.
static LOGS: Mutex<Option<HashMap<String, Vec<PathBuf>>>> = Mutex::new(None);

/// The directory name of what the calling thread works for.
pub(crate) fn current_key() -> String {
    if let Some(ctx) = crate::context::current() {
        return ctx.file_name();
    }
    match std::thread::current().name() {
        Some(name) => file_name(name),
        None => "unattributed".to_owned(),
    }
}

/// Creates the log for a process of `program` about to be spawned for the
/// current test: a file named `<program>-spawning-<n>.log` until the pid is
/// known ([`Log::named_after`]).
///
/// # Errors
/// [`Error::Sys`](crate::Error::Sys) naming `mkdir` or `open` and the path
/// (`private_dir.rs` says how they are made).
pub(crate) fn create(program: &str) -> crate::error::Result<(File, Log)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let key = current_key();
    let artifacts = Artifacts::get();
    let dir = artifacts.test_dir(&key)?;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-spawning-{n}.log", file_name(program)));
    let file = artifacts.create_file(&path)?;
    artifacts.adopt(&path);
    Ok((file, Log { path, key }))
}

/// A log file of a spawned process.
#[derive(Debug, Clone)]
pub(crate) struct Log {
    pub(crate) path: PathBuf,
    key: String,
}

impl Log {
    /// Renames the file to `<program>-<pid>.log` and records it as the
    /// current test's.
    pub(crate) fn named_after(mut self, program: &str, pid: u32) -> Log {
        let path = self
            .path
            .with_file_name(format!("{}-{pid}.log", file_name(program)));
        if std::fs::rename(&self.path, &path).is_ok() {
            self.path = path;
        }
        LOGS.lock()
            .get_or_insert_with(HashMap::new)
            .entry(self.key.clone())
            .or_default()
            .push(self.path.clone());
        self
    }
}

/// Removes the log at `path` and its record: a run with nothing to show
/// (`nft.rs`: an `nft` run that succeeded), which a failing test's output
/// would otherwise list as empty.
#[cfg(feature = "nftables")]
pub(crate) fn forget(path: &Path) {
    if let Some(logs) = LOGS.lock().as_mut() {
        for paths in logs.values_mut() {
            paths.retain(|p| p != path);
        }
    }
    let _ = std::fs::remove_file(path);
}

/// The last `lines` lines of the file at `path` (at most [`TAIL_BYTES`]).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(TAIL_BYTES).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let mut all: Vec<&str> = text.lines().collect();
    if start > 0 && !all.is_empty() {
        all.remove(0); // cut in the middle
    }
    let from = all.len().saturating_sub(lines);
    all[from..].join("\n")
}

/// The tail of a log, each line indented, after a heading that names it.
pub(crate) fn show_tail(path: &Path, lines: usize) -> String {
    let tail = tail(path, lines);
    let mut out = format!(
        "netns-test: last lines of {} ({}):",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path.display()
    );
    if tail.is_empty() {
        out.push_str("\n  | (empty)");
    }
    for line in tail.lines() {
        out.push_str("\n  | ");
        out.push_str(line);
    }
    out
}

/// What a failing test's output ends with: the tail of each log of the
/// test whose directory name is `test` and of the fixture it used, if any,
/// except the logs whose path the failure's own text `shown` names
/// already; `None` if there is none.
pub(crate) fn failure_report(test: &str, fixture: Option<&str>, shown: &str) -> Option<String> {
    let logs = LOGS.lock();
    let logs = logs.as_ref()?;
    let mut paths: Vec<&PathBuf> = logs.get(test).into_iter().flatten().collect();
    if let Some(fixture) = fixture {
        let key = crate::context::fixture_file_name(fixture);
        paths.extend(logs.get(&key).into_iter().flatten());
    }
    // A tail the failure already shows (a failed readiness wait's error
    // carries its process's) is not shown twice.
    paths.retain(|path| !shown.contains(&*path.to_string_lossy()));
    if paths.is_empty() {
        return None;
    }
    let skipped = paths.len().saturating_sub(MAX_LOGS_SHOWN);
    let mut out = String::new();
    if skipped > 0 {
        out.push_str(&format!(
            "netns-test: {skipped} more logs of this test are not shown\n"
        ));
    }
    for path in &paths[skipped..] {
        out.push_str(&show_tail(path, TAIL_LINES));
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_of_a_bounded_read() {
        // A random name, made new: never a file another user planted in
        // the shared temporary directory.
        let path = std::env::temp_dir().join(format!(
            "netns-test-tail-{:016x}",
            crate::kernel::random_u64().unwrap()
        ));
        let text: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        let mut file = crate::kernel::create_new_file(&path, 0o600).unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        assert_eq!(tail(&path, 2), "line 9998\nline 9999");
        let long = tail(&path, 100_000);
        assert!(long.len() <= TAIL_BYTES as usize, "{}", long.len());
        assert!(long.starts_with("line "), "cut line kept: {long:.20}");
        std::fs::remove_file(path).unwrap();
    }
}
