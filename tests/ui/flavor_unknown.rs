use netns_test::netns_test;

#[netns_test(flavor = "multithread")]
async fn misspelt_flavor() {}

fn main() {}
