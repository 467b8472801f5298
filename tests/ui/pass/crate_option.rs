// `crate = ".."`: netns-test reached through a re-export.
mod reexport {
    pub use netns_test as nt;
}

#[netns_test::netns_test(crate = "crate::reexport::nt")]
fn through_a_reexport() {}

fn main() {}
