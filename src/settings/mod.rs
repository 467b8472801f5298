//! Every `NETNS_TEST_*` environment variable, read once, in one place, into
//! one typed value ([`Settings`]); a value a variable does not take is an
//! [`Error::Setting`] that names the variable and what it takes.
//!
//! Beside the layers, like `src/error/`: it imports only the error type, so
//! every layer may read it (ARCHITECTURE.md 1). The one exception is
//! `NETNS_TEST_ROOTLESS`, which the rootless constructor must read before
//! `main` without allocating (`privilege/bytes.rs`); it is checked here too,
//! so a misspelt value fails the tests instead of meaning "on".
//!
//! When a bad value shows: every `#[netns_test]` and harness test fails
//! before it runs, with the error's one line (a CI typo fails the run
//! rather than being ignored). Library calls outside a test use the
//! default for a variable they cannot parse.
//!
//! The table of variables, their values and defaults is the crate docs'
//! `settings` topic; each constant below says its own.

use std::ffi::OsString;
use std::path::PathBuf;

use parking_lot::RwLock;

use crate::error::{Error, Result};

pub(crate) mod parse;

pub(crate) use parse::{CaptureMode, KeepMode, ReportMode};

/// `NETNS_TEST_RUN_DIR`: the run directory instead of iproute2's
/// `/run/netns` (a path; unset or empty: `/run/netns`).
pub const RUN_DIR_ENV: &str = "NETNS_TEST_RUN_DIR";
/// `NETNS_TEST_ROOTLESS=0`: no rootless mode (default `1`).
pub const ROOTLESS_ENV: &str = "NETNS_TEST_ROOTLESS";
/// `NETNS_TEST_CAPTURE`: `off` (default), `failed` or `all`.
pub const CAPTURE_ENV: &str = "NETNS_TEST_CAPTURE";
/// `NETNS_TEST_CAPTURE_DIR`: where capture files go instead of each test's
/// directory (a path).
pub const CAPTURE_DIR_ENV: &str = "NETNS_TEST_CAPTURE_DIR";
/// `NETNS_TEST_CAPTURE_LIMIT`: bytes of frames kept per captured interface
/// (decimal, greater than 0; default 4 MiB).
pub const CAPTURE_LIMIT_ENV: &str = "NETNS_TEST_CAPTURE_LIMIT";
/// `NETNS_TEST_SEED`: the seed of wire faults that name none (a decimal
/// `u64`; default: drawn at random once per process).
pub const SEED_ENV: &str = "NETNS_TEST_SEED";
/// `NETNS_TEST_SEEDS=N`: run every `#[netns_test]` N times, each with a
/// fault seed of its own, stopping at the first failure (a decimal number
/// from 1; default 1, or the test's `seeds = N`).
pub const SEEDS_ENV: &str = "NETNS_TEST_SEEDS";
/// `NETNS_TEST_DUMP=0`: no state dump on failure (default `1`).
pub const DUMP_ENV: &str = "NETNS_TEST_DUMP";
/// `NETNS_TEST_KEEP=failed`: keep a failing test's namespaces (default
/// `off`).
pub const KEEP_ENV: &str = "NETNS_TEST_KEEP";
/// `NETNS_TEST_REPORT`: `off`, `failed` or `all`: which tests get an HTML
/// page, `report.html` in their directory (default: `failed` when
/// `NETNS_TEST_CAPTURE` or `NETNS_TEST_KEEP` is on, else `off`).
pub const REPORT_ENV: &str = "NETNS_TEST_REPORT";
/// `NETNS_TEST_REQUIRE=1`: a test that cannot run here fails rather than
/// being reported as ignored by the harness (default: `1` under
/// cargo-nextest, else `0`).
pub const REQUIRE_ENV: &str = "NETNS_TEST_REQUIRE";
/// `NETNS_TEST_CRASH_AT=STEP[:N]`: the crash tests' own (feature
/// `__crash-points`); not a user setting.
pub(crate) const CRASH_AT_ENV: &str = "NETNS_TEST_CRASH_AT";

/// Every setting of the process, as the environment gave it when first
/// read.
// Some settings are read only with the features that use them (`wire`,
// `capture`, `harness`, `__crash-points`).
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct Settings {
    pub(crate) run_dir: Option<PathBuf>,
    pub(crate) capture: CaptureMode,
    pub(crate) capture_dir: Option<PathBuf>,
    pub(crate) capture_limit: Option<usize>,
    pub(crate) seed: Option<u64>,
    pub(crate) seeds: Option<u32>,
    pub(crate) dump: bool,
    pub(crate) keep: KeepMode,
    pub(crate) report: ReportMode,
    pub(crate) require: Option<bool>,
    /// cargo-nextest runs the process (`NEXTEST` is set; nextest's, not
    /// ours, read here so that no other module reads the environment).
    pub(crate) under_nextest: bool,
    pub(crate) crash_at: Option<(String, usize)>,
    /// The first variable whose value was refused (its field holds the
    /// default).
    refused: Option<(&'static str, String, parse::Refused)>,
}

/// The settings in force: read once, or again by [`reload`].
static CURRENT: RwLock<Option<&'static Settings>> = RwLock::new(None);

/// Reads the environment again, for the crate's own tests and benchmarks,
/// which change a variable between runs in one process. What is read once
/// elsewhere stays as it was (the run directory of `RunDir::get`, the
/// process's fault seed). Each call leaks the previous value (a few hundred
/// bytes): not for a loop of a user's.
#[doc(hidden)]
pub fn reload() {
    *CURRENT.write() = Some(Box::leak(Box::new(Settings::from_env())));
}

impl Settings {
    /// This process's settings, read from the environment on first use.
    pub(crate) fn get() -> &'static Settings {
        if let Some(settings) = *CURRENT.read() {
            return settings;
        }
        let mut current = CURRENT.write();
        let settings: &'static Settings =
            current.get_or_insert_with(|| Box::leak(Box::new(Settings::from_env())));
        settings
    }

    fn from_env() -> Settings {
        Settings::from_lookup(|var| std::env::var_os(var))
    }

    /// Fails with [`Error::Setting`] if a variable held a value it does not
    /// take: the runner calls it before every test.
    ///
    /// # Errors
    /// [`Error::Setting`], naming the first such variable.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.refused {
            None => Ok(()),
            Some((var, value, accepted)) => Err(Error::Setting {
                var,
                value: value.clone(),
                accepted,
            }),
        }
    }

    /// The settings `lookup` gives (the environment, or a table in tests).
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Settings {
        let mut read = Reader {
            lookup: &lookup,
            refused: None,
        };
        let capture = read.take(CAPTURE_ENV, parse::capture, CaptureMode::Off);
        let capture_limit = read.take(CAPTURE_LIMIT_ENV, parse::positive, None);
        let seed = read.take(SEED_ENV, parse::seed, None);
        let seeds = read.take(SEEDS_ENV, parse::runs, None);
        let dump = read.take(DUMP_ENV, |v| parse::switch(v, true), true);
        let keep = read.take(KEEP_ENV, parse::keep, KeepMode::Off);
        let report = read.take(REPORT_ENV, parse::report, None);
        let report = parse::report_default(report, capture, keep);
        let require = read.take(REQUIRE_ENV, parse::require, None);
        read.take(ROOTLESS_ENV, parse::rootless, true);
        let crash_at = read.take(CRASH_AT_ENV, parse::crash_at, None);
        let path = |var: &str| lookup(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        Settings {
            run_dir: path(RUN_DIR_ENV),
            capture,
            capture_dir: path(CAPTURE_DIR_ENV),
            capture_limit,
            seed,
            seeds,
            dump,
            keep,
            report,
            require,
            under_nextest: lookup("NEXTEST").is_some(),
            crash_at,
            refused: read.refused,
        }
    }
}

/// Reads variables one by one, keeping the first refusal.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<OsString>,
    refused: Option<(&'static str, String, parse::Refused)>,
}

impl Reader<'_> {
    /// `var` parsed by `parse`, or `default` (and the refusal noted).
    fn take<T>(
        &mut self,
        var: &'static str,
        parse: impl FnOnce(Option<&str>) -> std::result::Result<T, parse::Refused>,
        default: T,
    ) -> T {
        let text = match (self.lookup)(var).map(OsString::into_string) {
            None => None,
            Some(Ok(text)) => Some(text),
            Some(Err(raw)) => {
                let value = raw.to_string_lossy().into_owned();
                self.refused.get_or_insert((var, value, "UTF-8 text"));
                return default;
            }
        };
        parse(text.as_deref()).unwrap_or_else(|accepted| {
            let value = text.unwrap_or_default();
            self.refused.get_or_insert((var, value, accepted));
            default
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_lookup(|var| {
            vars.iter()
                .find(|(v, _)| *v == var)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn an_empty_environment_gives_every_default() {
        let s = settings(&[]);
        s.check().unwrap();
        assert_eq!(s.capture, CaptureMode::Off);
        assert_eq!(s.keep, KeepMode::Off);
        assert_eq!(s.report, ReportMode::Off);
        assert!(s.dump);
        assert_eq!((s.seed, s.capture_limit, s.require), (None, None, None));
        assert!(s.run_dir.is_none() && s.capture_dir.is_none());
        assert!(!s.under_nextest);
    }

    #[test]
    fn each_variable_lands_in_its_field() {
        let s = settings(&[
            (CAPTURE_ENV, "failed"),
            (CAPTURE_DIR_ENV, "/tmp/caps"),
            (CAPTURE_LIMIT_ENV, "1024"),
            (SEED_ENV, "42"),
            (SEEDS_ENV, "20"),
            (DUMP_ENV, "0"),
            (KEEP_ENV, "failed"),
            (REQUIRE_ENV, "1"),
            (RUN_DIR_ENV, "/tmp/rd"),
            ("NEXTEST", "1"),
        ]);
        s.check().unwrap();
        assert_eq!(s.capture, CaptureMode::Failed);
        assert_eq!(s.capture_dir.as_deref(), Some("/tmp/caps".as_ref()));
        assert_eq!(s.capture_limit, Some(1024));
        assert_eq!(s.seed, Some(42));
        assert_eq!(s.seeds, Some(20));
        assert!(!s.dump);
        assert_eq!(s.keep, KeepMode::Failed);
        assert_eq!(s.report, ReportMode::Failed, "keep on: reports of failures");
        assert_eq!(s.require, Some(true));
        assert_eq!(s.run_dir.as_deref(), Some("/tmp/rd".as_ref()));
        assert!(s.under_nextest);
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable_and_what_it_takes() {
        let s = settings(&[(CAPTURE_ENV, "fialed"), (SEED_ENV, "x")]);
        assert_eq!(s.capture, CaptureMode::Off, "the default stands in");
        let e = s.check().unwrap_err();
        assert!(
            matches!(
                e,
                Error::Setting {
                    var: CAPTURE_ENV,
                    ..
                }
            ),
            "{e:#?}"
        );
        assert_eq!(
            e.to_string(),
            "environment variable NETNS_TEST_CAPTURE=\"fialed\" is not a value it takes: it \
             takes off, failed or all; fix or unset it"
        );
        for (var, value) in [
            (DUMP_ENV, "nope"),
            (KEEP_ENV, "always"),
            (REQUIRE_ENV, "2"),
            (ROOTLESS_ENV, "off"),
            (CAPTURE_LIMIT_ENV, "0"),
            (SEED_ENV, "-1"),
            (SEEDS_ENV, "0"),
            (CRASH_AT_ENV, "x:0"),
            (REPORT_ENV, "yes"),
        ] {
            let e = settings(&[(var, value)]).check().unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("environment variable {var}=")),
                "{e}"
            );
        }
    }

    #[test]
    fn the_report_setting_wins_over_its_default() {
        assert_eq!(settings(&[(REPORT_ENV, "all")]).report, ReportMode::All);
        let off = settings(&[(REPORT_ENV, "off"), (CAPTURE_ENV, "all")]);
        assert_eq!(off.report, ReportMode::Off);
        assert_eq!(settings(&[(CAPTURE_ENV, "all")]).report, ReportMode::Failed);
    }

    #[test]
    fn a_value_that_is_not_utf8_is_refused() {
        use std::os::unix::ffi::OsStringExt;
        let s = Settings::from_lookup(|var| {
            (var == KEEP_ENV).then(|| OsString::from_vec(vec![0x66, 0xff]))
        });
        let e = s.check().unwrap_err();
        assert!(matches!(
            e,
            Error::Setting {
                var: KEEP_ENV,
                accepted: "UTF-8 text",
                ..
            }
        ));
    }
}
