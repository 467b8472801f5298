use netns_test::netns_test;

#[netns_test]
fn with_arguments(port: u16, addr: &str) {
    let _ = (port, addr);
}

fn main() {}
