//! Compile-fail tests: what a user sees for each misuse of `#[netns_test]`.
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`
//! and read every one before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
