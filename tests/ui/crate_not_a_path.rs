use netns_test::netns_test;

#[netns_test(crate = "not a path")]
fn bad_crate_path() {}

#[netns_test(crate = netns_test)]
fn unquoted_crate_path() {}

fn main() {}
