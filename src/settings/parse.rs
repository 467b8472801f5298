//! The values each `NETNS_TEST_*` variable takes: pure functions from the
//! variable's text to its typed value, or the words that list what it
//! takes (for [`Error::Setting`](crate::Error::Setting)).
//!
//! Shared rules: surrounding whitespace is ignored; an empty value is the
//! variable unset (`NETNS_TEST_CAPTURE= cargo test` turns a setting of the
//! shell off); words are matched exactly, lower case.

/// Why a value was refused: the values the variable takes, in words.
pub(crate) type Refused = &'static str;

/// `NETNS_TEST_CAPTURE`: which tests' packet captures are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum CaptureMode {
    /// No capture (the default).
    #[default]
    Off,
    /// Every test is captured; the file is written for a failing test.
    Failed,
    /// Every test is captured and its file written.
    All,
}

/// `NETNS_TEST_KEEP`: whose network namespaces outlive the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum KeepMode {
    /// None (the default).
    #[default]
    Off,
    /// A failing test's namespaces are kept in the run directory.
    Failed,
}

/// `NETNS_TEST_REPORT`: which tests get an HTML report page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReportMode {
    /// None.
    #[default]
    Off,
    /// A failing test's page is written.
    Failed,
    /// Every test's page is written.
    All,
}

/// The text of a variable that is set, or `None` for unset or empty.
pub(crate) fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
}

/// An on/off switch: `1`, `on`, `true`, `yes` or `0`, `off`, `false`,
/// `no`; `default` if unset.
pub(crate) fn switch(raw: Option<&str>, default: bool) -> Result<bool, Refused> {
    match present(raw) {
        None => Ok(default),
        Some("1" | "on" | "true" | "yes") => Ok(true),
        Some("0" | "off" | "false" | "no") => Ok(false),
        Some(_) => Err("1, on, true or yes, or 0, off, false or no"),
    }
}

/// `NETNS_TEST_CAPTURE`: `off` (or `0`), `failed` or `all`.
pub(crate) fn capture(raw: Option<&str>) -> Result<CaptureMode, Refused> {
    match present(raw) {
        None | Some("off" | "0") => Ok(CaptureMode::Off),
        Some("failed") => Ok(CaptureMode::Failed),
        Some("all") => Ok(CaptureMode::All),
        Some(_) => Err("off, failed or all"),
    }
}

/// `NETNS_TEST_KEEP`: `off` (or `0`) or `failed`.
pub(crate) fn keep(raw: Option<&str>) -> Result<KeepMode, Refused> {
    match present(raw) {
        None | Some("off" | "0") => Ok(KeepMode::Off),
        Some("failed") => Ok(KeepMode::Failed),
        Some(_) => Err("off or failed"),
    }
}

/// `NETNS_TEST_ROOTLESS`: `0` turns rootless mode off, `1` (the default)
/// leaves it on. (The rootless constructor reads the variable itself,
/// before `main`, and acts on `0` only; this check makes any other word
/// an error rather than a silent "on".)
pub(crate) fn rootless(raw: Option<&str>) -> Result<bool, Refused> {
    match present(raw) {
        None | Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(_) => Err("0 (rootless mode off) or 1 (on, the default)"),
    }
}

/// `NETNS_TEST_REQUIRE`: whether a test that cannot run fails rather than
/// being reported as ignored: `1` (or `on`, `true`, `yes`) or `0` (...);
/// `None` if unset (then nextest decides).
pub(crate) fn require(raw: Option<&str>) -> Result<Option<bool>, Refused> {
    match present(raw) {
        None => Ok(None),
        some => switch(some, false).map(Some),
    }
}

/// A decimal count greater than zero (`NETNS_TEST_CAPTURE_LIMIT`, bytes).
pub(crate) fn positive(raw: Option<&str>) -> Result<Option<usize>, Refused> {
    match present(raw) {
        None => Ok(None),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err("a decimal number of bytes greater than 0"),
        },
    }
}

/// `NETNS_TEST_SEEDS`: how many runs, a decimal number from 1.
pub(crate) fn runs(raw: Option<&str>) -> Result<Option<u32>, Refused> {
    match present(raw) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err("a decimal number of runs from 1"),
        },
    }
}

/// `NETNS_TEST_SEED`: a decimal `u64`.
pub(crate) fn seed(raw: Option<&str>) -> Result<Option<u64>, Refused> {
    match present(raw) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| "a decimal number from 0 to 18446744073709551615"),
    }
}

/// `NETNS_TEST_CRASH_AT` (the crash tests' own): `STEP` or `STEP:N`, N
/// from 1.
pub(crate) fn crash_at(raw: Option<&str>) -> Result<Option<(String, usize)>, Refused> {
    const TAKES: Refused = "STEP or STEP:N (a crash point's name, N from 1)";
    let Some(v) = present(raw) else {
        return Ok(None);
    };
    let (step, nth) = match v.split_once(':') {
        Some((step, n)) => (step, n.parse::<usize>().map_err(|_| TAKES)?),
        None => (v, 1),
    };
    if step.is_empty() || nth == 0 {
        return Err(TAKES);
    }
    Ok(Some((step.to_owned(), nth)))
}

/// `NETNS_TEST_REPORT`: `off` (or `0`), `failed` or `all`; `None` if
/// unset (then the capture and keep settings decide, `mod.rs`).
pub(crate) fn report(raw: Option<&str>) -> Result<Option<ReportMode>, Refused> {
    match present(raw) {
        None => Ok(None),
        Some("off" | "0") => Ok(Some(ReportMode::Off)),
        Some("failed") => Ok(Some(ReportMode::Failed)),
        Some("all") => Ok(Some(ReportMode::All)),
        Some(_) => Err("off, failed or all"),
    }
}

/// The report mode in force: `set` if the variable said, else `failed`
/// when a failing test's capture or namespace is kept (there is something
/// to look at), else `off`.
pub(crate) fn report_default(
    set: Option<ReportMode>,
    capture: CaptureMode,
    keep: KeepMode,
) -> ReportMode {
    match set {
        Some(mode) => mode,
        None if capture != CaptureMode::Off || keep != KeepMode::Off => ReportMode::Failed,
        None => ReportMode::Off,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_empty_are_the_default() {
        for raw in [None, Some(""), Some("  ")] {
            assert_eq!(capture(raw), Ok(CaptureMode::Off));
            assert_eq!(keep(raw), Ok(KeepMode::Off));
            assert_eq!(switch(raw, true), Ok(true));
            assert_eq!(switch(raw, false), Ok(false));
            assert_eq!(rootless(raw), Ok(true));
            assert_eq!(require(raw), Ok(None));
            assert_eq!(positive(raw), Ok(None));
            assert_eq!(seed(raw), Ok(None));
            assert_eq!(runs(raw), Ok(None));
            assert_eq!(crash_at(raw), Ok(None));
            assert_eq!(report(raw), Ok(None));
        }
    }

    #[test]
    fn each_word_maps_to_its_value() {
        assert_eq!(capture(Some("failed")), Ok(CaptureMode::Failed));
        assert_eq!(capture(Some(" all\n")), Ok(CaptureMode::All));
        assert_eq!(capture(Some("off")), Ok(CaptureMode::Off));
        assert_eq!(capture(Some("0")), Ok(CaptureMode::Off));
        assert_eq!(keep(Some("failed")), Ok(KeepMode::Failed));
        assert_eq!(keep(Some("0")), Ok(KeepMode::Off));
        for on in ["1", "on", "true", "yes"] {
            assert_eq!(switch(Some(on), false), Ok(true), "{on}");
            assert_eq!(require(Some(on)), Ok(Some(true)), "{on}");
        }
        for off in ["0", "off", "false", "no"] {
            assert_eq!(switch(Some(off), true), Ok(false), "{off}");
            assert_eq!(require(Some(off)), Ok(Some(false)), "{off}");
        }
        assert_eq!(rootless(Some("0")), Ok(false));
        assert_eq!(rootless(Some("1")), Ok(true));
        assert_eq!(positive(Some("4096")), Ok(Some(4096)));
        assert_eq!(runs(Some("20")), Ok(Some(20)));
        assert_eq!(runs(Some("1")), Ok(Some(1)));
        assert_eq!(seed(Some("18446744073709551615")), Ok(Some(u64::MAX)));
        assert_eq!(seed(Some("0")), Ok(Some(0)));
        assert_eq!(crash_at(Some("mount")), Ok(Some(("mount".to_owned(), 1))));
        assert_eq!(crash_at(Some("mount:3")), Ok(Some(("mount".to_owned(), 3))));
        assert_eq!(report(Some("off")), Ok(Some(ReportMode::Off)));
        assert_eq!(report(Some("0")), Ok(Some(ReportMode::Off)));
        assert_eq!(report(Some("failed")), Ok(Some(ReportMode::Failed)));
        assert_eq!(report(Some(" all ")), Ok(Some(ReportMode::All)));
    }

    #[test]
    fn the_report_follows_capture_and_keep_unless_set() {
        use CaptureMode as C;
        use KeepMode as K;
        use ReportMode as R;
        assert_eq!(report_default(None, C::Off, K::Off), R::Off);
        assert_eq!(report_default(None, C::Failed, K::Off), R::Failed);
        assert_eq!(report_default(None, C::All, K::Off), R::Failed);
        assert_eq!(report_default(None, C::Off, K::Failed), R::Failed);
        assert_eq!(report_default(Some(R::Off), C::All, K::Failed), R::Off);
        assert_eq!(report_default(Some(R::All), C::Off, K::Off), R::All);
        assert_eq!(report_default(Some(R::Failed), C::Off, K::Off), R::Failed);
    }

    #[test]
    fn a_misspelt_value_is_refused_with_what_is_taken() {
        assert_eq!(capture(Some("fialed")), Err("off, failed or all"));
        assert_eq!(capture(Some("FAILED")), Err("off, failed or all"));
        assert_eq!(keep(Some("all")), Err("off or failed"));
        assert!(switch(Some("2"), true).unwrap_err().contains("0, off"));
        assert!(require(Some("maybe")).is_err());
        assert!(rootless(Some("off"))
            .unwrap_err()
            .starts_with("0 (rootless"));
        assert!(positive(Some("0")).is_err());
        assert!(positive(Some("-1")).is_err());
        assert!(positive(Some("4k")).is_err());
        assert!(runs(Some("0")).is_err());
        assert!(runs(Some("-2")).is_err());
        assert!(runs(Some("4294967296")).is_err());
        assert!(seed(Some("18446744073709551616")).is_err());
        assert!(seed(Some("0x10")).is_err());
        assert!(crash_at(Some("mount:0")).is_err());
        assert!(crash_at(Some("mount:x")).is_err());
        assert!(crash_at(Some(":2")).is_err());
        assert_eq!(report(Some("yes")), Err("off, failed or all"));
        assert_eq!(report(Some("Failed")), Err("off, failed or all"));
    }
}
