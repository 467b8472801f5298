use netns_test::netns_test;

#[netns_test(fixture = LAB, host = client)]
fn host_without_quotes() {}

#[netns_test(fixture = LAB, exclusive = "yes")]
fn exclusive_as_a_string() {}

#[netns_test(fixture = &LAB)]
fn fixture_as_a_reference() {}

fn main() {}
