use netns_test::netns_test;

#[netns_test]
#[should_panic]
fn should_panic_returning_result() -> Result<(), String> {
    Ok(())
}

#[netns_test]
#[should_panic(expect = "boom")]
fn should_panic_misspelt() {}

fn main() {}
