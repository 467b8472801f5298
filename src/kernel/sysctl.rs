//! Sysctl files under `/proc/sys` (proc(5)). A `/proc/sys/net` file acts on
//! the network namespace of the thread that opens it: call these on a thread
//! inside the namespace.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// `open(path, O_RDONLY)` and `read` to the end: the value, without the
/// trailing newline.
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn read_sysctl(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("open", path, &e))?;
    let mut value = String::new();
    file.read_to_string(&mut value)
        .map_err(|e| Error::io("read", path, &e))?;
    if value.ends_with('\n') {
        value.pop();
    }
    Ok(value)
}

/// `open(path, O_WRONLY)` and one `write(value)`: a `/proc/sys` integer file
/// ignores writes past offset 0 (`kernel.sysctl_writes_strict`).
///
/// # References
/// - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn write_sysctl(path: &Path, value: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open", path, &e))?;
    file.write_all(value.as_bytes())
        .map_err(|e| Error::io("write", path, &e))
}
