//! Processes and the calling process: capabilities, ids, whether a pid is
//! gone, `atexit(3)`.

use rustix::io::Errno;

/// `capget(2)`: whether `CAP_SYS_ADMIN` is in the calling thread's effective
/// set, or `None` if the call fails.
///
/// # References
/// - [capget(2)](https://man7.org/linux/man-pages/man2/capget.2.html)
pub(crate) fn has_cap_sys_admin() -> Option<bool> {
    let caps = rustix::thread::capabilities(None).ok()?;
    Some(
        caps.effective
            .contains(rustix::thread::CapabilitySet::SYS_ADMIN),
    )
}

/// `geteuid()` and `getegid()`, as raw ids.
///
/// # References
/// - [geteuid(2)](https://man7.org/linux/man-pages/man2/getuid.2.html)
pub(crate) fn effective_ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

/// `kill(pid, 0)` (kill(2)): whether the process `pid`, given as the decimal
/// text a record or a name carries, is gone (`ESRCH`). Anything that is not a
/// valid pid, or any other answer (`EPERM`: it exists but is another user's),
/// counts as alive, so nothing of a live process is ever taken for a leftover.
///
/// # References
/// - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
pub(crate) fn pid_is_gone(pid: &str) -> bool {
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some(pid) = pid
        .parse::<i32>()
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::test_kill_process(pid) == Err(Errno::SRCH)
}

/// `geteuid()`: whether the process runs as uid 0 in its user namespace.
///
/// # References
/// - [geteuid(2)](https://man7.org/linux/man-pages/man2/getuid.2.html)
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// `atexit(f)` (atexit(3)); rustix has no wrapper. `f` runs at `exit`, in the
/// thread that calls it, after `main` returns; never after `_exit` or a
/// signal.
///
/// # References
/// - [atexit(3)](https://man7.org/linux/man-pages/man3/atexit.3.html)
pub(crate) fn at_exit(f: extern "C" fn()) {
    // SAFETY: registers a plain `extern "C" fn()`, as atexit(3) requires; what
    // `f` may touch at exit is its own caller's concern.
    unsafe { libc::atexit(f) };
}

/// `kill(getpid(), SIGKILL)`: dies at once, as under `kill -9`: no unwinding,
/// no `atexit` handler, no core file. For the crash points of tests only.
///
/// # References
/// - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
#[cfg(feature = "__crash-points")]
pub(crate) fn kill_self() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    std::process::abort()
}

/// The effective uid as the initial user namespace sees it: `geteuid()`
/// mapped through `/proc/self/uid_map` (user_namespaces(7)). In a rootless
/// test, uid 0 inside is the real user outside; as root, the map is the
/// identity. The uid itself where the map cannot be read.
///
/// # References
/// - [user_namespaces(7)](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
pub(crate) fn initial_uid() -> u32 {
    let uid = effective_ids().0;
    let Ok(map) = std::fs::read_to_string("/proc/self/uid_map") else {
        return uid;
    };
    map_uid(&map, uid).unwrap_or(uid)
}

/// `uid` through the lines `INSIDE OUTSIDE COUNT` of a uid_map.
fn map_uid(map: &str, uid: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut fields = line.split_whitespace().map(str::parse::<u64>);
        let (inside, outside, count) = (
            fields.next()?.ok()?,
            fields.next()?.ok()?,
            fields.next()?.ok()?,
        );
        let offset = u64::from(uid).checked_sub(inside).filter(|o| *o < count)?;
        u32::try_from(outside + offset).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_maps() {
        assert_eq!(
            map_uid("         0          0 4294967295\n", 1000),
            Some(1000)
        );
        assert_eq!(
            map_uid("         0      65534          1\n", 0),
            Some(65534)
        );
        assert_eq!(map_uid("         0      65534          1\n", 5), None);
        assert_eq!(map_uid("0 1000 1\n1 100000 65536\n", 2), Some(100001));
    }
}
