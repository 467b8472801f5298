use netns_test::netns_test;

#[netns_test(name = ns0)]
fn unquoted_name() {}

fn main() {}
