use netns_test::netns_test;

#[netns_test(name = "ns\0zero")]
fn nul_in_name() {}

fn main() {}
