use netns_test::netns_test;

#[netns_test]
unsafe fn unsafe_test() {}

fn main() {}
