use netns_test::netns_test;

#[netns_test(nmae = "ns0")]
fn misspelt_option() {}

fn main() {}
