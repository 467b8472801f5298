use netns_test::netns_test;

#[netns_test]
#[tokio::test(start_paused = true)]
async fn paused_clock() {}

#[netns_test]
#[tokio::test(crate = "my_tokio")]
async fn renamed_tokio() {}

fn main() {}
