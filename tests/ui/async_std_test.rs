use netns_test::netns_test;

#[netns_test]
#[async_std::test]
async fn on_async_std() {}

fn main() {}
