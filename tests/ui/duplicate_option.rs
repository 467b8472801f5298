use netns_test::netns_test;

#[netns_test(name = "ns0", name = "ns1")]
fn named_twice() {}

fn main() {}
