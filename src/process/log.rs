//! Per-test logs of spawned processes, and their tails in a failing test's
//! output.
//!
//! A process's stdout and stderr go to one file,
//! `<target dir>/netns-test/logs/<test>/<program>-<pid>.log` (where the
//! target directory is, and where logs go when it cannot be written:
//! `artifacts.rs`, shared with packet captures). The test is the name
//! of the spawning thread (libtest and the harness name a test's thread, and
//! the namespace thread, after the test), or `fixture-<NAME>` during a suite
//! fixture's setup.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::process::artifacts::Artifacts;

/// How many lines of each log a failing test shows.
pub(crate) const TAIL_LINES: usize = 20;

/// How many bytes at the end of a log are read for its tail: a bound on
/// what a failure adds to the output, whatever the lines' length.
const TAIL_BYTES: u64 = 4096;

/// At most this many logs are shown for one failing test (the newest).
const MAX_LOGS_SHOWN: usize = 8;

thread_local! {
    /// Set while a suite fixture's setup runs on this thread: its processes'
    /// logs belong to the fixture, not to the test that happened to build it.
    static CONTEXT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Logs written so far, by test (or `fixture-NAME`).
static LOGS: Mutex<Option<HashMap<String, Vec<PathBuf>>>> = Mutex::new(None);

/// Tests running now (libtest thread names), for processes spawned from
/// threads that carry no test's name (a tokio worker): if exactly one test
/// runs, as under nextest, they are that test's.
static RUNNING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Runs `f` with spawned processes' logs filed under `fixture-<name>`.
pub(crate) fn in_fixture_setup<R>(name: &str, f: impl FnOnce() -> R) -> R {
    let previous = CONTEXT.with(|c| c.replace(Some(fixture_key(name))));
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CONTEXT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

pub(crate) fn fixture_key(name: &str) -> String {
    format!("fixture-{name}")
}

/// Marks `test` as running until the returned guard drops.
pub(crate) fn running(test: String) -> Running {
    RUNNING.lock().push(test.clone());
    Running(test)
}

pub(crate) struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.lock();
        if let Some(i) = running.iter().position(|t| *t == self.0) {
            running.swap_remove(i);
        }
    }
}

/// The test the calling thread works for.
pub(crate) fn current_key() -> String {
    if let Some(key) = CONTEXT.with(|c| c.borrow().clone()) {
        return key;
    }
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("");
    let running = RUNNING.lock();
    if running.iter().any(|t| t == name) {
        return name.to_owned();
    }
    if running.len() == 1 {
        return running[0].clone();
    }
    if name.is_empty() {
        "unnamed-thread".to_owned()
    } else {
        name.to_owned()
    }
}

/// The directory all logs go under, and the owner to give what is made in
/// it (see [`adopt`]).
fn root() -> &'static Artifacts {
    static ROOT: OnceLock<Artifacts> = OnceLock::new();
    ROOT.get_or_init(|| Artifacts::locate("logs"))
}

/// Gives `path` (made under the log directory) to the owner of the target
/// directory, if that is not us.
fn adopt(path: &Path) {
    root().adopt(path);
}

/// A file or directory name made of `s`: `/` and control characters replaced.
fn file_name(s: &str) -> String {
    let name: String = s
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    match name.as_str() {
        "" | "." | ".." => format!("_{name}"),
        _ => name,
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
    let dir = root().dir.join(file_name(&key));
    root().create_dir(&dir)?;
    adopt(&dir);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-spawning-{n}.log", file_name(program)));
    let file = root().create_file(&path)?;
    adopt(&path);
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

/// What a failing test's output ends with: the tail of each log of `test`
/// and of the fixture it used, if any, except the logs whose path the
/// failure's own text `shown` names already; `None` if there is none.
pub(crate) fn failure_report(test: &str, fixture: Option<&str>, shown: &str) -> Option<String> {
    let logs = LOGS.lock();
    let logs = logs.as_ref()?;
    let mut paths: Vec<&PathBuf> = logs.get(test).into_iter().flatten().collect();
    if let Some(fixture) = fixture {
        paths.extend(logs.get(&fixture_key(fixture)).into_iter().flatten());
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
    fn names_cannot_climb() {
        assert_eq!(file_name("a/../b"), "a_.._b");
        assert_eq!(file_name(".."), "_..");
        assert_eq!(file_name("tests::foo"), "tests::foo");
    }

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
