use netns_test::netns_test;

#[netns_test(name)]
fn name_without_value() {}

fn main() {}
