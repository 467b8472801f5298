use netns_test::netns_test;

#[netns_test(timeout = 5)]
fn unrelated_option() {}

fn main() {}
