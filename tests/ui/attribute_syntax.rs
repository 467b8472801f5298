use netns_test::netns_test;

#[netns_test(name = )]
fn missing_value() {}

fn main() {}
