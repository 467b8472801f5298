//! Allocation-free byte handling for the rootless constructor (which runs
//! before Rust's runtime is set up) and for reading `/proc` in
//! [`privilege`](super): fixed buffers, no panics.

use std::ffi::CStr;

/// `/proc/self/fd/FD/NAME`, NUL-terminated, in `buf`.
pub(crate) fn fd_path<'a>(buf: &'a mut [u8], fd: i32, name: &[u8]) -> Option<&'a CStr> {
    let mut w = Writer { buf, len: 0 };
    w.put(b"/proc/self/fd/")?;
    w.put_uint(u64::try_from(fd).ok()?)?;
    w.put(b"/")?;
    w.put(name)?;
    w.put(b"\0")?;
    let len = w.len;
    CStr::from_bytes_with_nul(w.buf.get(..len)?).ok()
}

/// `0 ID 1\n`: a one-line uid_map or gid_map that maps uid (gid) 0 inside to
/// `id` outside.
pub(crate) fn map_line(buf: &mut [u8; 32], id: u32) -> &[u8] {
    let mut w = Writer {
        buf: &mut buf[..],
        len: 0,
    };
    // 2 + 10 + 3 bytes: always fits.
    let _ = w.put(b"0 ").and_then(|()| w.put_uint(u64::from(id)));
    let _ = w.put(b" 1\n");
    let len = w.len;
    &buf[..len]
}

/// A decimal number, surrounded by whitespace or not (a sysctl file).
pub(crate) fn parse_uint(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The number after `KEY:` in `/proc/self/status`-style text.
pub(crate) fn status_field(text: &[u8], key: &[u8]) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(b":")?;
        parse_uint(rest)
    })
}

/// Finds one variable in the NUL-separated `KEY=VALUE` records of
/// `/proc/PID/environ`, fed in chunks of any size. The first record for the
/// key counts, as with `getenv`; values longer than 16 bytes are not kept.
pub(crate) struct EnvScan<'k> {
    key: &'k [u8],
    /// Bytes of the current record matched against `KEY=` so far, or `None`
    /// once it cannot match.
    matched: Option<usize>,
    in_value: bool,
    value: [u8; 16],
    len: usize,
    too_long: bool,
    done: bool,
}

impl<'k> EnvScan<'k> {
    pub(crate) fn new(key: &'k [u8]) -> Self {
        EnvScan {
            key,
            matched: Some(0),
            in_value: false,
            value: [0; 16],
            len: 0,
            too_long: false,
            done: false,
        }
    }

    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if self.done {
                return;
            }
            if b == 0 {
                if self.in_value {
                    self.done = true;
                    return;
                }
                self.matched = Some(0);
                continue;
            }
            if self.in_value {
                match self.value.get_mut(self.len) {
                    Some(slot) => {
                        *slot = b;
                        self.len += 1;
                    }
                    None => self.too_long = true,
                }
                continue;
            }
            self.matched = match self.matched {
                Some(i) if i == self.key.len() && b == b'=' => {
                    self.in_value = true;
                    None
                }
                Some(i) if self.key.get(i) == Some(&b) => Some(i + 1),
                _ => None,
            };
        }
    }

    /// The value, if the key was found (a record cut short by the end of the
    /// data counts).
    pub(crate) fn value(&self) -> Option<&[u8]> {
        (self.in_value && !self.too_long).then(|| &self.value[..self.len])
    }
}

/// Appends to a fixed buffer; `None` when it is full.
struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    fn put_uint(&mut self, mut n: u64) -> Option<()> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[i..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_lines() {
        let mut buf = [0u8; 32];
        assert_eq!(map_line(&mut buf, 65534), b"0 65534 1\n");
        assert_eq!(map_line(&mut buf, 0), b"0 0 1\n");
        assert_eq!(map_line(&mut buf, u32::MAX), b"0 4294967295 1\n");
    }

    #[test]
    fn fd_paths() {
        let mut buf = [0u8; 320];
        assert_eq!(
            fd_path(&mut buf, 7, b"dbus").unwrap().to_bytes(),
            b"/proc/self/fd/7/dbus"
        );
        let long = [b'x'; 255];
        assert!(fd_path(&mut buf, i32::MAX, &long).is_some());
        assert!(fd_path(&mut [0u8; 16], 3, b"too-long-for-it").is_none());
        assert!(fd_path(&mut buf, -1, b"x").is_none());
    }

    #[test]
    fn numbers_from_proc() {
        assert_eq!(parse_uint(b"0\n"), Some(0));
        assert_eq!(parse_uint(b" 15000 \n"), Some(15000));
        assert_eq!(parse_uint(b""), None);
        assert_eq!(parse_uint(b"1x"), None);
        assert_eq!(parse_uint(b"99999999999999999999999"), None);
        let status = b"Name:\tt\nThreads:\t3\nSeccomp:\t2\nSeccomp_filters:\t1\n";
        assert_eq!(status_field(status, b"Threads"), Some(3));
        assert_eq!(status_field(status, b"Seccomp"), Some(2));
        assert_eq!(status_field(status, b"NoNewPrivs"), None);
    }

    fn scan(env: &[u8], chunk: usize) -> Option<Vec<u8>> {
        let mut scan = EnvScan::new(b"NETNS_TEST_ROOTLESS");
        for part in env.chunks(chunk) {
            scan.feed(part);
        }
        scan.value().map(<[u8]>::to_vec)
    }

    #[test]
    fn environ_scan_finds_the_first_record_in_any_chunking() {
        let env = b"PATH=/bin\0XNETNS_TEST_ROOTLESS=1\0NETNS_TEST_ROOTLESS_X=1\0\
                    NETNS_TEST_ROOTLESS=0\0NETNS_TEST_ROOTLESS=1\0HOME=/\0";
        for chunk in 1..env.len() {
            assert_eq!(scan(env, chunk).as_deref(), Some(&b"0"[..]), "{chunk}");
        }
        assert_eq!(scan(b"A=NETNS_TEST_ROOTLESS=0\0", 3), None);
        assert_eq!(scan(b"NETNS_TEST_ROOTLESS=", 4).as_deref(), Some(&b""[..]));
        assert_eq!(
            scan(b"NETNS_TEST_ROOTLESS=0", 4).as_deref(),
            Some(&b"0"[..])
        );
        assert_eq!(scan(b"NETNS_TEST_ROOTLESS", 4), None);
        assert_eq!(scan(b"NETNS_TEST_ROOTLESS=0123456789abcdefg\0", 5), None);
        assert_eq!(scan(b"", 1), None);
    }

    #[test]
    fn environ_scan_matches_the_key_byte_by_byte() {
        // Keys of the same length (19 bytes) are other variables.
        let env = b"XDG_SESSION_DESKTOP=gnome\0NETNS_TEST_ROOTLESX=2\0\
                    NETNS_TEST_ROOTLESS=1\0";
        for chunk in 1..env.len() {
            assert_eq!(scan(env, chunk).as_deref(), Some(&b"1"[..]), "{chunk}");
        }
        assert_eq!(scan(b"XDG_SESSION_DESKTOP=gnome\0", 7), None);
        assert_eq!(scan(b"ANETNS_TEST_ROOTLESS=1\0", 7), None);
    }
}
