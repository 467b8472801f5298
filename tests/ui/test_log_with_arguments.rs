use netns_test::netns_test;

#[netns_test]
#[test_log::test(tokio::test)]
async fn test_log_wrapping_tokio() {}

fn main() {}
