//! The capture of one `#[netns_test]` (`NETNS_TEST_CAPTURE`): started by
//! the runner, fed with the namespaces the test uses (its own, and every
//! network it builds), written at its end (README, "Faults and capture").

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::context::TestContext;
use crate::error::{Error, Result};
use crate::network::topology::Network;
use crate::process::artifacts::Artifacts;
use crate::process::private_dir;
use crate::settings::CaptureMode;
use crate::wire::capture::{add_here, add_netns, add_network, Capture, Inner};
use crate::Netns;

/// When files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Failed,
    All,
}

/// What `NETNS_TEST_CAPTURE` asks for, if anything.
pub(crate) fn mode() -> Option<Mode> {
    match crate::settings::Settings::get().capture {
        CaptureMode::Off => None,
        CaptureMode::Failed => Some(Mode::Failed),
        CaptureMode::All => Some(Mode::All),
    }
}

/// The capture of a running test, in its context.
#[derive(Default)]
struct Slot(Mutex<Option<Arc<Inner>>>);

/// The capture of the test the calling thread works for, if it is
/// captured.
fn current() -> Option<Arc<Inner>> {
    crate::context::current()?
        .state_if::<Slot>()?
        .0
        .lock()
        .clone()
}

/// A test's capture: started by the runner, written at the end.
pub(crate) struct TestCapture {
    /// The test's directory name.
    name: String,
    slot: Arc<Slot>,
    mode: Mode,
    capture: Capture,
}

/// Starts the capture of the calling thread's test, if
/// `NETNS_TEST_CAPTURE` asks for one: nothing is started otherwise.
pub(crate) fn start(ctx: &TestContext, forced: bool) -> Option<TestCapture> {
    // `#[netns_test(capture)]` keeps the capture as `=all` does.
    let mode = if forced { Some(Mode::All) } else { mode() }?;
    let capture = Capture::new().ok()?;
    let _ = crate::network::carried::ON_BUILD.set(on_build);
    let slot = ctx.state::<Slot>();
    *slot.0.lock() = Some(capture.inner.clone());
    Some(TestCapture {
        name: ctx.file_name(),
        slot,
        mode,
        capture,
    })
}

/// Adds the calling thread's namespace (a test body's, before it
/// starts) to its test's capture, as `label/link`.
pub(crate) fn here(label: &str) {
    if let Some(inner) = current() {
        if let Err(e) = add_here(&inner, label, &[], false) {
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
            .try_for_each(|(host, netns)| add_netns(&inner, host, netns, true))
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
        self.slot.0.lock().take();
        if !failed && self.mode == Mode::Failed {
            return None;
        }
        let (path, artifacts) = match file_for(&self.name) {
            Ok(found) => found,
            Err(e) => return Some(format!("netns-test: capture not written: {e}")),
        };
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

/// Where a test's capture goes: `DIR/TEST.pcapng` if
/// `NETNS_TEST_CAPTURE_DIR` names `DIR`, else `capture.pcapng` in the
/// test's directory of per-test files (`process/artifacts.rs`, beside its
/// processes' logs); with that directory's owner to give the file to.
/// `test` is the test's directory name (a `file_name`).
pub(crate) fn file_for(test: &str) -> Result<(PathBuf, Option<&'static Artifacts>)> {
    if let Some(dir) = &crate::settings::Settings::get().capture_dir {
        return Ok((dir.join(format!("{test}.pcapng")), None));
    }
    let artifacts = Artifacts::get();
    Ok((
        artifacts.test_dir(test)?.join("capture.pcapng"),
        Some(artifacts),
    ))
}
