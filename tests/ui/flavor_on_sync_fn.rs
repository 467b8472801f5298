use netns_test::netns_test;

#[netns_test(flavor = "multi_thread")]
fn not_async() {}

fn main() {}
