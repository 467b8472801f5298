use netns_test::netns_test;

#[netns_test(flavor = "multi_thread", worker_threads = 2)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_worker_threads() {}

fn main() {}
