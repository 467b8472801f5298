use netns_test::netns_test;

#[netns_test(name = "..")]
fn parent_directory() {}

fn main() {}
