use netns_test::netns_test;

#[netns_test(name = "ns0", fixture = LAB)]
fn named_and_fixture() {}

fn main() {}
