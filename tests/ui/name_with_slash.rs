use netns_test::netns_test;

#[netns_test(name = "../../etc/x")]
fn path_traversal() {}

fn main() {}
