// `#[tokio::test]` after `#[netns_test]` compiles to one test: tokio's
// options are ours (tests/composition.rs runs the same).
use netns_test::netns_test;

#[netns_test]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_workers() {}

#[netns_test(flavor = "multi_thread")]
#[tokio::test(flavor = "multi_thread")]
async fn agreeing_flavors() {}

fn main() {}
