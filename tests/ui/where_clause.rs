use netns_test::netns_test;

#[netns_test]
fn bounded()
where
    u8: Copy,
{
}

fn main() {}
