use netns_test::netns_test;

#[netns_test(fixture = "LAB", host = "client")]
fn fixture_as_a_string() {}

fn main() {}
