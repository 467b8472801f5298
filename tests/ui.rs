//! Compile-fail tests: what a user sees for each misuse of `#[netns_test]`;
//! and compile-pass tests of its composition with other test attributes.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`
//! and read every one before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    // Their attributes need the `tokio` feature (and they run nothing).
    if cfg!(feature = "tokio") {
        t.pass("tests/ui/pass/*.rs");
    }
    // What a user without the feature sees (ci/root-cargo-test runs this
    // target once with default features).
    if cfg!(not(feature = "capture")) {
        t.compile_fail("tests/ui/no_feature/*.rs");
    }
}
