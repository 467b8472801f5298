use netns_test::netns_test;

#[netns_test]
fn generic<T: Default>() {
    let _ = T::default();
}

fn main() {}
