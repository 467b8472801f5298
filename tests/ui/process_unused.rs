// A `Process` dropped at once stops the daemon it just started: the
// guard must be kept.
#![deny(unused_must_use)]

use netns_test::Netns;
use std::process::Command;

fn start(ns: &Netns) -> netns_test::Result<()> {
    ns.spawn(&mut Command::new("socat"))?;
    Ok(())
}

fn main() {
    let _ = start;
}
