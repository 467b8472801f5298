//! The capture of one `#[netns_test]` (`NETNS_TEST_CAPTURE`): started by
//! the runner, fed with the namespaces the test uses (its own, and every
//! network it builds), written at its end (README, "Faults and capture").

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::network::topology::Network;
use crate::wire::capture::{
    add_network, add_sockets, open_all, Capture, Inner, CAPTURE_DIR_ENV, CAPTURE_ENV,
};

/// When files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Failed,
    All,
}

pub(crate) fn mode() -> Option<Mode> {
    match std::env::var(CAPTURE_ENV).ok()?.trim() {
        "failed" => Some(Mode::Failed),
        "all" => Some(Mode::All),
        _ => None,
    }
}

/// Captures of tests running now, by test (thread) name.
static RUNNING: Mutex<Vec<(String, Arc<Inner>)>> = Mutex::new(Vec::new());

fn test_name() -> String {
    std::thread::current().name().unwrap_or("test").to_owned()
}

fn current() -> Option<Arc<Inner>> {
    let name = test_name();
    let running = RUNNING.lock();
    Some(running.iter().find(|(n, _)| *n == name)?.1.clone())
}

/// A test's capture: started by the runner, written at the end.
pub(crate) struct TestCapture {
    name: String,
    mode: Mode,
    capture: Capture,
}

/// Starts the capture of the calling thread's test, if
/// `NETNS_TEST_CAPTURE` asks for one: nothing is started otherwise.
pub(crate) fn start(forced: bool) -> Option<TestCapture> {
    // `#[netns_test(capture)]` keeps the capture as `=all` does.
    let mode = if forced { Some(Mode::All) } else { mode() }?;
    let capture = Capture::new().ok()?;
    let name = test_name();
    let _ = crate::network::carried::ON_BUILD.set(on_build);
    RUNNING.lock().push((name.clone(), capture.inner.clone()));
    Some(TestCapture {
        name,
        mode,
        capture,
    })
}

/// Adds the calling thread's namespace (a test body's, before it
/// starts) to its test's capture, as `label/link`.
pub(crate) fn here(label: &str) {
    if let Some(inner) = current() {
        if let Err(e) = open_all().and_then(|s| add_sockets(&inner, label, s)) {
            eprintln!("netns-test: capture of {label}: {e}");
        }
    }
}

/// Every network built by a captured test joins its capture.
fn on_build(net: &Network) {
    if let Some(inner) = current() {
        if let Err(e) = add_network(&inner, net) {
            eprintln!("netns-test: capture of a network: {e}");
        }
    }
}

impl TestCapture {
    /// Ends the capture; writes the file if the mode keeps it, and
    /// returns the line for the failure message.
    pub(crate) fn finish(self, failed: bool) -> Option<String> {
        RUNNING
            .lock()
            .retain(|(n, i)| !(n == &self.name && Arc::ptr_eq(i, &self.capture.inner)));
        if !failed && self.mode == Mode::Failed {
            return None;
        }
        let path = file_for(&self.name);
        match self.capture.write_pcapng(&path) {
            Ok(()) => Some(format!("netns-test: capture: {}", path.display())),
            Err(e) => Some(format!("netns-test: capture not written: {e}")),
        }
    }
}

/// `TARGET/netns-test/captures/TEST.pcapng`: `NETNS_TEST_CAPTURE_DIR`,
/// else `CARGO_TARGET_DIR`, else the `target` directory the test binary
/// was built in (`target/debug/deps/NAME`), else the temp directory.
pub(crate) fn file_for(test: &str) -> PathBuf {
    let file: String = test
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = std::env::var_os(CAPTURE_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|t| PathBuf::from(t).join("netns-test/captures"))
        })
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            let deps = exe.parent()?;
            let target = deps.parent()?.parent()?;
            (deps.file_name()? == "deps").then(|| target.join("netns-test/captures"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("netns-test-captures"));
    dir.join(format!("{file}.pcapng"))
}
