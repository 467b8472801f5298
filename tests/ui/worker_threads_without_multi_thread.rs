use netns_test::netns_test;

#[netns_test(worker_threads = 2)]
async fn current_thread_workers() {}

fn main() {}
