use netns_test::netns_test;

#[netns_test(host = "client")]
fn host_alone() {}

#[netns_test(exclusive)]
fn exclusive_alone() {}

fn main() {}
