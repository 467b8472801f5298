//! The capture of one `#[netns_test]` (`NETNS_TEST_CAPTURE`): started by
//! the runner, fed with the namespaces the test uses (its own, and every
//! network it builds), written at its end (README, "Faults and capture").

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::network::topology::Network;
use crate::process::artifacts::Artifacts;
use crate::process::private_dir;
use crate::wire::capture::{
    add_here, add_netns, add_network, Capture, Inner, CAPTURE_DIR_ENV, CAPTURE_ENV,
};
use crate::Netns;

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
        if let Err(e) = add_here(&inner, label, &[]) {
            eprintln!("netns-test: capture of {label}: {e}");
        }
    }
}

/// Adds every host of a suite fixture (`hosts` is called only if the test
/// is captured) to the calling thread's test's capture, as `host/link`:
/// every test of a fixture sees all of its hosts, whichever test built it.
pub(crate) fn fixture_hosts<'a>(hosts: impl FnOnce() -> Result<Vec<(String, &'a Netns)>>) {
    let Some(inner) = current() else { return };
    let added = hosts().and_then(|hosts| {
        hosts
            .iter()
            .try_for_each(|(host, netns)| add_netns(&inner, host, netns))
    });
    if let Err(e) = added {
        eprintln!("netns-test: capture of the fixture's hosts: {e}");
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
        let (path, artifacts) = file_for(&self.name);
        let file = match artifacts {
            Some(artifacts) => artifacts.create_file(&path),
            // NETNS_TEST_CAPTURE_DIR: the user's directory.
            None => path
                .parent()
                .map_or(Ok(()), |dir| {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, &e))
                })
                .and_then(|()| private_dir::create_shared_file(&path)),
        };
        match file.and_then(|file| self.capture.write_pcapng_into(file, &path)) {
            Ok(()) => {
                if let Some(artifacts) = artifacts {
                    artifacts.adopt(&path);
                }
                Some(format!("netns-test: capture: {}", path.display()))
            }
            // An I/O error on the file is `Error::File`: no namespace
            // privilege hint.
            Err(e) => Some(format!("netns-test: capture not written: {e}")),
        }
    }
}

/// `DIR/TEST.pcapng`: `DIR` is `NETNS_TEST_CAPTURE_DIR` if set, else
/// `netns-test/captures` in the target directory, or a temporary directory
/// where that cannot be written (`process/artifacts.rs`, as for process
/// logs); with that directory's owner to give the file to.
pub(crate) fn file_for(test: &str) -> (PathBuf, Option<&'static Artifacts>) {
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
    let file = format!("{file}.pcapng");
    if let Some(dir) = std::env::var_os(CAPTURE_DIR_ENV) {
        return (PathBuf::from(dir).join(file), None);
    }
    static CAPTURES: OnceLock<Artifacts> = OnceLock::new();
    let artifacts = CAPTURES.get_or_init(|| Artifacts::locate("captures"));
    (artifacts.dir.join(file), Some(artifacts))
}
