use netns_test::netns_test;

#[netns_test(name = 3)]
fn numeric_name() {}

fn main() {}
