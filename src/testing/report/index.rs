//! The index of report pages, `<per-test files>/index.html`: a link to
//! every test's `report.html` present in the directory of per-test files,
//! failed ones first, newest first. Written again, under a file lock,
//! each time a page is written; what it lists is what is there (a test's
//! earlier page is removed when the test starts again, `process/artifacts.rs`).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::FlockOperation;

use crate::error::{Error, Result};
use crate::namespace::lock_file::LockFile;
use crate::process::artifacts::Artifacts;
use crate::testing::report::html::escape;
use crate::testing::report::FILE;

/// The index's file name in the directory of per-test files.
pub(crate) const INDEX: &str = "index.html";
/// Pages listed, at most (newest first).
const MAX_PAGES: usize = 2000;

/// One page found: the test's directory name, whether it failed, when it
/// was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) test: String,
    pub(crate) failed: bool,
    pub(crate) written: SystemTime,
}

/// Writes the index of `artifacts`' directory again, holding its lock
/// (`.index.lock`, waited for at most 5 s); returns its path.
///
/// # Errors
/// [`Error::Sys`] from the lock, the file's creation, its write or its
/// rename; [`Error::File`] with `EAGAIN` if the lock stayed taken 5 s.
pub(crate) fn write(artifacts: &Artifacts) -> Result<PathBuf> {
    let dir = &artifacts.dir;
    let deadline = Instant::now() + Duration::from_secs(5);
    let lock_path = dir.join(".index.lock");
    // Made 0600 like every file of ours (O_EXCL: a name already there,
    // a planted link included, is left as it is and never followed).
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&lock_path);
    let Some(_lock) = LockFile::lock(&lock_path, FlockOperation::LockExclusive, Some(deadline))?
    else {
        return Err(Error::File {
            op: "lock (another test process held it for 5 s)",
            path: lock_path,
            errno: rustix::io::Errno::AGAIN,
        });
    };
    let entries = scan(dir);
    let text = render(&entries);
    let path = dir.join(INDEX);
    let tmp = dir.join(".index.html.tmp");
    let mut file = artifacts.create_file(&tmp)?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", &tmp, &e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &tmp, &e))?;
    artifacts.adopt(&path);
    Ok(path)
}

/// Every `TEST/report.html` under `dir`.
fn scan(dir: &Path) -> Vec<Entry> {
    let names = crate::kernel::dir_entries(dir).unwrap_or_default();
    names
        .iter()
        .filter_map(|name| {
            let page = dir.join(name).join(FILE);
            let meta = std::fs::symlink_metadata(&page).ok()?;
            if !meta.is_file() {
                return None;
            }
            Some(Entry {
                test: name.to_string_lossy().into_owned(),
                failed: failed(&page),
                written: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            })
        })
        .collect()
}

/// Whether the page at `path` is a failure's: its title ends in `failed`
/// (`html.rs` writes it in the first few hundred bytes).
fn failed(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    head.contains(" failed</title>")
}

/// The index's HTML: failed tests first, then passed ones, each newest
/// first, at most [`MAX_PAGES`].
pub(crate) fn render(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        b.failed
            .cmp(&a.failed)
            .then(b.written.cmp(&a.written))
            .then(a.test.cmp(&b.test))
    });
    let failed = sorted.iter().filter(|e| e.failed).count();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>netns-test reports</title><style>body{{font-family:sans-serif;margin:1.5em}}\
         .failed{{color:#b00}}.passed{{color:#070}}td{{padding:2px 8px}}</style></head><body>\n\
         <h1>netns-test reports</h1>\n<p>{failed} failed, {} passed: the page of each test's \
         latest run that wrote one.</p>\n<table id=\"reports\">\n",
        sorted.len() - failed
    );
    for e in sorted.iter().take(MAX_PAGES) {
        let verdict = if e.failed { "failed" } else { "passed" };
        let secs = e
            .written
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let test = escape(&e.test);
        out.push_str(&format!(
            "<tr><td class=\"{verdict}\">{verdict}</td><td><a href=\"{test}/{FILE}\">{test}</a>\
             </td><td>{}</td></tr>\n",
            utc(secs)
        ));
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

/// `secs` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(test: &str, failed: bool, secs: u64) -> Entry {
        Entry {
            test: test.into(),
            failed,
            written: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    #[test]
    fn failed_first_then_newest_first_and_names_escaped() {
        let html = render(&[
            entry("a.passes", false, 300),
            entry("a.old_failure", true, 100),
            entry("a.new_<failure>", true, 200),
        ]);
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} not in {html}"));
        assert!(at("a.new_&lt;failure&gt;/report.html") < at("a.old_failure/report.html"));
        assert!(at("a.old_failure/report.html") < at("a.passes/report.html"));
        assert!(html.contains("<p>2 failed, 1 passed"));
        assert!(!html.contains("<failure>"));
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_825_600), "2000-02-29 12:00:00 UTC");
        assert_eq!(utc(1_796_259_661), "2026-12-03 01:01:01 UTC");
    }
}
