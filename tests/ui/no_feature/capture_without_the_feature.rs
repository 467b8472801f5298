use netns_test::netns_test;

#[netns_test(capture)]
fn captured() {}

fn main() {}
