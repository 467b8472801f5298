//! Settings: a `NETNS_TEST_*` variable with a value it does not take fails
//! every test, with one line that names the variable and what it takes;
//! nothing runs, nothing is left.

mod common;

use std::process::Command;

use netns_test::netns_test;

/// Set in the child only: the demo writes a marker file when its body runs.
const MARKER_ENV: &str = "NETNS_TEST_SETTINGS_MARKER";

#[netns_test]
fn demo_body() {
    if let Some(path) = std::env::var_os(MARKER_ENV) {
        std::fs::write(path, "ran").unwrap();
    }
}

fn run_demo(var: &str, value: &str) -> (bool, String, bool) {
    let marker =
        std::env::temp_dir().join(format!("netns-test-settings-{}-{var}", std::process::id()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "demo_body", "--test-threads=1"])
        .env(var, value)
        .env(MARKER_ENV, &marker)
        .output()
        .unwrap();
    let ran = std::fs::remove_file(&marker).is_ok();
    (out.status.success(), common::output_text(&out), ran)
}

#[test]
fn a_misspelt_value_fails_the_test_before_it_runs() {
    for (var, value, takes) in [
        ("NETNS_TEST_CAPTURE", "fialed", "off, failed or all"),
        ("NETNS_TEST_KEEP", "always", "off or failed"),
        (
            "NETNS_TEST_DUMP",
            "nope",
            "1, on, true or yes, or 0, off, false or no",
        ),
        ("NETNS_TEST_SEED", "0x2a", "a decimal number"),
    ] {
        let (passed, text, ran) = run_demo(var, value);
        assert!(!passed, "{var}={value} passed:\n{text}");
        assert!(!ran, "{var}={value}: the body ran");
        assert!(
            text.contains(&format!(
                "netns-test: environment variable {var}=\"{value}\" is not a value it takes: it \
                 takes {takes}"
            )),
            "{text}"
        );
    }
}

#[test]
fn a_good_value_or_an_empty_one_runs_the_test() {
    for (var, value) in [
        ("NETNS_TEST_CAPTURE", "off"),
        ("NETNS_TEST_KEEP", ""),
        ("NETNS_TEST_DUMP", "0"),
        ("NETNS_TEST_SEED", "42"),
    ] {
        let (passed, text, ran) = run_demo(var, value);
        assert!(passed && ran, "{var}={value}:\n{text}");
    }
}
