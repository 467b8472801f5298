//! Which process is which: `/proc/PID/stat` (proc(5)), read to tell a live
//! process from a gone one whose pid the kernel has since given to another.
//!
//! A pid alone does not identify a process: pids are reused. The pair
//! (pid, `starttime`) does: `starttime`, field 22 of `/proc/PID/stat`, is
//! when the process started, in clock ticks after boot, and two processes
//! with one pid cannot have started at the same tick (the first must have
//! exited and been reaped before the pid is given again).

use std::io::ErrorKind;

use crate::error::{Error, Result};

/// What `/proc/PID/stat` says about a process that is still listed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Field 3, `state`: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub(crate) state: u8,
    /// Field 22, `starttime`: clock ticks after boot.
    pub(crate) start_time: u64,
}

impl ProcStat {
    /// A zombie (`Z`) or dead (`X`) process runs no code any more: it can
    /// neither use nor remove anything.
    pub(crate) fn has_exited(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// Reads `/proc/PID/stat` (proc(5)): `None` if there is no such process
/// (`ENOENT`, `ESRCH`), or its state and start time.
///
/// # Errors
/// [`Error::Sys`] naming `read` and the path for another failure (`EACCES`
/// under `hidepid=`), and `EINVAL` for content that does not parse.
///
/// # References
/// - [proc(5)](https://man7.org/linux/man-pages/man5/proc.5.html)
pub(crate) fn proc_stat(pid: u32) -> Result<Option<ProcStat>> {
    let path = std::path::PathBuf::from(format!("/proc/{pid}/stat"));
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error()) => {
            return Ok(None)
        }
        Err(e) => return Err(Error::io("read", &path, &e)),
    };
    parse_stat(&text)
        .map(Some)
        .ok_or_else(|| Error::sys("parse", path, rustix::io::Errno::INVAL))
}

/// The state and start time of the calling process (of its thread-group
/// leader: `/proc/PID/stat` with `PID = getpid()`, never a thread's).
pub(crate) fn own_start_time() -> Result<u64> {
    match proc_stat(std::process::id())? {
        Some(stat) => Ok(stat.start_time),
        None => Err(Error::sys(
            "read",
            std::path::PathBuf::from(format!("/proc/{}/stat", std::process::id())),
            rustix::io::Errno::NOENT,
        )),
    }
}

/// Parses a `/proc/PID/stat` line. Field 2, `comm`, is in parentheses and
/// may itself contain spaces and parentheses (a thread named `a) (b`), so
/// the fields are counted from the *last* `)`: field 3 follows it.
pub(crate) fn parse_stat(text: &[u8]) -> Option<ProcStat> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    // Field 3 first; field 22 is 19 fields later.
    let state = fields.next()?;
    let &[state] = state.as_bytes() else {
        return None;
    };
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(comm: &str, state: char, start: u64) -> String {
        // Fields 4..=21 are filler here; 22 is the start time.
        let filler: Vec<String> = (4..=21).map(|n| n.to_string()).collect();
        format!(
            "4242 ({comm}) {state} {} {start} 23 24 25\n",
            filler.join(" ")
        )
    }

    #[test]
    fn start_time_is_field_22_counted_after_the_last_parenthesis() {
        for comm in ["sleep", "a b", "a) (b", ") 1 2 3 (", "((", ""] {
            let stat = parse_stat(line(comm, 'S', 987_654).as_bytes()).unwrap();
            assert_eq!(stat.start_time, 987_654, "{comm:?}");
            assert_eq!(stat.state, b'S', "{comm:?}");
        }
        let zombie = parse_stat(line("x", 'Z', 1).as_bytes()).unwrap();
        assert!(zombie.has_exited());
    }

    #[test]
    fn garbage_does_not_parse() {
        for bad in [
            "",
            "1 (x)",
            "1 (x) S 1 2",
            "no parenthesis S 1",
            "1 (x) SS 4",
        ] {
            assert_eq!(parse_stat(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn the_own_start_time_is_the_one_proc_lists() {
        let start = own_start_time().unwrap();
        let me = proc_stat(std::process::id()).unwrap().unwrap();
        assert_eq!(me.start_time, start);
        assert!(!me.has_exited());
    }
}
