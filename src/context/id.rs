//! A test's identity, as the macro passes it, and the one function that
//! turns a test's (or a fixture's) name into a file or namespace name.

/// Which test this is: the module path the macro saw (`module_path!()`,
/// which starts with the crate's name: the test target's for an
/// integration test) and the function's name. Passed explicitly by
/// `#[netns_test]`, never guessed from a thread's name.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TestId {
    module_path: &'static str,
    name: &'static str,
}

impl TestId {
    /// The test `name` in `module_path` (what `module_path!()` gives).
    pub const fn new(module_path: &'static str, name: &'static str) -> TestId {
        TestId { module_path, name }
    }

    /// The name libtest and cargo-nextest give the test, and that
    /// `cargo test NAME -- --exact` takes: the module path without the
    /// crate's name, then the function (`tests::binds_8080`).
    pub fn libtest_name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_, rest)) => format!("{rest}::{}", self.name),
            None => self.name.to_owned(),
        }
    }

    /// The full path, crate first (`parallel_ports::binds_8080`): unique
    /// across the test targets of a package.
    pub fn full_path(&self) -> String {
        format!("{}::{}", self.module_path, self.name)
    }

    /// The fault seed of run `run` (from 0) of a seed sweep
    /// (`#[netns_test(seeds = N)]`, `NETNS_TEST_SEEDS`): drawn from the
    /// test's full path and the run's number, so a sweep tries the same
    /// seeds every time it runs, and two tests try different ones.
    pub fn sweep_seed(&self, run: u32) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.full_path().bytes().chain(run.to_be_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // A finaliser (MurmurHash3's): neighbouring runs get unrelated seeds.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    /// The test's file name ([`file_name`] of its full path): its
    /// directory of per-test files, its capture file, its kept namespace.
    pub fn file_name(&self) -> String {
        file_name(&self.full_path())
    }
}

/// The longest name [`file_name`] returns, in bytes: room is left for a
/// prefix and suffix within `NAME_MAX` (255), as kept namespaces need.
pub(crate) const MAX_FILE_NAME: usize = 160;

/// The one sanitiser: a name usable as a file name and as a network
/// namespace name (ARCHITECTURE.md 3.1 step 1) made of a test path, a
/// fixture's or a host's name, distinct inputs giving distinct outputs.
///
/// `::` becomes `.`; ASCII letters, digits, `_` and `-` stay; every other
/// byte (`.`, `%`, `/`, spaces, control and non-ASCII bytes) becomes `%XX`.
/// A result longer than [`MAX_FILE_NAME`] is cut and ends in `~` and 16
/// hex digits of an FNV-1a hash of the whole input, so it stays distinct.
/// Never empty, `.` or `..`.
pub(crate) fn file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("::") {
            out.push('.');
            rest = after;
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    if out.is_empty() {
        return "%".to_owned();
    }
    if out.len() > MAX_FILE_NAME {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // Every byte of `out` is ASCII (the rest is escaped): any cut is on
        // a character boundary.
        out.truncate(MAX_FILE_NAME - 17);
        out.push_str(&format!("~{h:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_path_becomes_dots() {
        let id = TestId::new("services", "nginx_serves");
        assert_eq!(id.file_name(), "services.nginx_serves");
        assert_eq!(id.libtest_name(), "nginx_serves");
        let id = TestId::new("netns_test::wire::tests", "drops");
        assert_eq!(id.libtest_name(), "wire::tests::drops");
        assert_eq!(id.full_path(), "netns_test::wire::tests::drops");
        assert_eq!(id.file_name(), "netns_test.wire.tests.drops");
    }

    /// Golden values, recorded once: a sweep prints seeds that must replay
    /// on the next version too.
    #[test]
    fn sweep_seeds_match_their_recorded_values() {
        let id = TestId::new("sweep", "flaky_client");
        let seeds: Vec<u64> = (0..3).map(|run| id.sweep_seed(run)).collect();
        assert_eq!(seeds, GOLDEN_SWEEP);
        assert_ne!(TestId::new("sweep", "other").sweep_seed(0), seeds[0]);
    }

    const GOLDEN_SWEEP: [u64; 3] = [
        14_794_261_813_015_394_383,
        9_589_527_130_977_259_561,
        7_424_762_411_163_399_127,
    ];

    #[test]
    fn every_other_byte_is_escaped_so_names_stay_distinct() {
        assert_eq!(file_name("a/../b"), "a%2F%2E%2E%2Fb");
        assert_eq!(file_name(".."), "%2E%2E");
        assert_eq!(file_name(""), "%");
        assert_eq!(file_name("web 1"), "web%201");
        assert_eq!(file_name("é"), "%C3%A9");
        assert_eq!(file_name("a:b"), "a%3Ab");
        // `.` in the input is escaped, so `a.b` and `a::b` differ.
        assert_ne!(file_name("a.b"), file_name("a::b"));
        assert_ne!(file_name("a%2Fb"), file_name("a/b"));
    }

    #[test]
    fn long_names_are_cut_with_a_hash_of_the_whole() {
        let a = file_name(&"x".repeat(400));
        let b = file_name(&format!("{}y", "x".repeat(399)));
        assert_eq!(a.len(), MAX_FILE_NAME);
        assert_eq!(b.len(), MAX_FILE_NAME);
        assert_ne!(a, b);
        assert!(a.starts_with("xxx") && a.as_bytes()[MAX_FILE_NAME - 17] == b'~');
        assert!(file_name(&"é".repeat(100)).len() <= MAX_FILE_NAME);
        // Exactly the limit: kept whole; one byte more: cut.
        let at_limit = "y".repeat(MAX_FILE_NAME);
        assert_eq!(file_name(&at_limit), at_limit);
        assert!(file_name(&format!("{at_limit}y")).contains('~'));
    }
}
