// `#[test_log::test]` after `#[netns_test]` compiles, with no warning.
#![deny(warnings)]
use netns_test::netns_test;

#[netns_test]
#[test_log::test]
fn logs() {
    log::info!("hello");
}

fn main() {}
