use netns_test::netns_test;

#[netns_test(flavor = "current_thread")]
#[tokio::test(flavor = "multi_thread")]
async fn conflicting_flavors() {}

fn main() {}
