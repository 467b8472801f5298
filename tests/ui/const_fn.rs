use netns_test::netns_test;

#[netns_test]
const fn constant() {}

fn main() {}
