use netns_test::netns_test;

#[netns_test]
#[tokio::test]
fn not_async() {}

fn main() {}
