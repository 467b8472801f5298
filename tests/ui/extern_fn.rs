use netns_test::netns_test;

#[netns_test]
extern "C" fn c_abi() {}

fn main() {}
