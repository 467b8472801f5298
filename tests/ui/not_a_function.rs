use netns_test::netns_test;

#[netns_test]
struct Fixture {
    port: u16,
}

fn main() {}
