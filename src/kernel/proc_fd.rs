//! Which process holds a socket: `/proc/PID/fd/N` is a symbolic link that
//! reads `socket:[INODE]` for a socket (proc(5)), the inode sock_diag
//! reports (`idiag_inode`). Read only for a namespace's state (a failing
//! test's, or `Netns::state`), and bounded: this process and its direct
//! children, a fixed number of fds.
//!
//! `/proc/PID/fd` is the process's fd table, which all its threads share:
//! whose thread reads it does not matter (unlike `/proc/PID/net`, 2.2).

use std::collections::HashMap;

/// This process, its children (processes whose `/proc/PID/stat` field 4,
/// `ppid`, is this process) and their children (a spawned program is the
/// child of its init, ARCHITECTURE.md 2.13), looking at no more than
/// `max_scan` entries of `/proc`. Without `CONFIG_PROC_CHILDREN` there is
/// no `/proc/PID/task/TID/children`, so the children are found by their
/// `ppid`.
pub(crate) fn self_and_children(max_scan: usize) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![me];
    };
    let parents: Vec<(u32, u32)> = entries
        .flatten()
        .take(max_scan)
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((pid, ppid(pid)?))
        })
        .collect();
    let mut pids = vec![me];
    pids.extend(
        parents
            .iter()
            .filter(|&&(pid, parent)| parent == me && pid != me)
            .map(|p| p.0),
    );
    let children = pids.len();
    for &(pid, parent) in &parents {
        if pids[1..children].contains(&parent) {
            pids.push(pid);
        }
    }
    pids
}

/// The processes whose parent is `parent` (field 4 of `/proc/PID/stat`),
/// looking at no more than `max_scan` entries of `/proc`.
pub(crate) fn children_of(parent: u32, max_scan: usize) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .take(max_scan)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| ppid(pid) == Some(parent))
        .collect()
}

/// Field 4 of `/proc/PID/stat`, counted after the last `)` (the command
/// name may hold spaces and parentheses).
fn ppid(pid: u32) -> Option<u32> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Socket inode → the pid of a process in `pids` that has it open,
/// reading at most `max_fds` fd links in all (`readlink` of each
/// `/proc/PID/fd/N`).
pub(crate) fn socket_owners(pids: &[u32], max_fds: usize) -> HashMap<u64, u32> {
    let mut owners = HashMap::new();
    let mut budget = max_fds;
    for &pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if budget == 0 {
                return owners;
            }
            budget -= 1;
            let Ok(target) = rustix::fs::readlink(fd.path(), Vec::new()) else {
                continue;
            };
            let inode = target
                .to_str()
                .ok()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok());
            if let Some(inode) = inode {
                owners.entry(inode).or_insert(pid);
            }
        }
    }
    owners
}
