use netns_test::netns_test;

#[netns_test(name = "")]
fn empty_name() {}

fn main() {}
