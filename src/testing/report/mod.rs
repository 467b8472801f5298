//! A test's report page (`NETNS_TEST_REPORT`): one self-contained HTML
//! file, `report.html` in the test's directory of per-test files
//! (`process/artifacts.rs`), with the failure's message, the networks the
//! test built drawn as SVG with each link's counters and faults at the
//! failure, each namespace's state, the log tails, the seed line and the
//! capture as a link and a packet ladder (README, "When a test fails";
//! the `failures` topic).
//!
//! What the page shows of the namespaces is read at the failure, on the
//! thread the state dump is read on (`failure.rs`, ARCHITECTURE.md 2.12):
//! [`snapshot`] keeps it in the test's context; [`write`] renders it when
//! the test is over. Nothing is read or rendered for a passing test under
//! `failed`. Rendering is pure (`html.rs`, `svg.rs`, `ladder.rs`).

use std::io::Write as _;
use std::path::PathBuf;

use parking_lot::Mutex;

use crate::context::TestContext;
use crate::network::diagram::Diagram;
use crate::process::artifacts::Artifacts;
use crate::settings::{ReportMode, Settings};
use crate::Link;

pub(crate) mod html;
pub(crate) mod index;
#[cfg(feature = "capture")]
pub(crate) mod ladder;
pub(crate) mod svg;

/// The file's name in the test's directory.
pub(crate) const FILE: &str = "report.html";

/// A network at the failure: its drawing, with the faults on its wire
/// links then, and each host's links with their counters.
#[derive(Debug, Clone)]
pub(crate) struct NetView {
    pub(crate) diagram: Diagram,
    pub(crate) links: Vec<(String, Vec<Link>)>,
}

impl NetView {
    /// The counters of `link` of `host`, if they were read.
    pub(crate) fn link(&self, host: &str, link: &str) -> Option<&Link> {
        let (_, links) = self.links.iter().find(|(h, _)| h == host)?;
        links.iter().find(|l| l.name == link)
    }
}

/// What [`snapshot`] read, kept in the test's context until [`write`].
#[derive(Default)]
struct Held {
    networks: Mutex<Option<Vec<NetView>>>,
    states: Mutex<Option<Vec<(String, String)>>>,
}

/// Whether a page may be written for this test: `NETNS_TEST_REPORT` is
/// not `off`.
pub(crate) fn wanted() -> bool {
    Settings::get().report != ReportMode::Off
}

/// Reads the networks `ctx`'s test built (their drawing, faults now, and
/// each host's link counters) and keeps them, with `states` (each
/// namespace's label and state text), for the page; the first call of a
/// test wins (the first panic's view).
pub(crate) fn snapshot(ctx: &TestContext, states: Vec<(String, String)>) {
    let held = ctx.state::<Held>();
    if held.networks.lock().is_some() {
        return;
    }
    let networks = crate::network::registered::with_networks(ctx, |networks| {
        networks
            .iter()
            .map(|(diagram, hosts)| NetView {
                diagram: diagram.clone(),
                links: hosts
                    .iter()
                    .map(|(name, ns)| (name.clone(), ns.links().unwrap_or_default()))
                    .collect(),
            })
            .collect()
    });
    *held.networks.lock() = Some(networks);
    held.states.lock().get_or_insert(states);
}

/// Writes the page of `ctx`'s test, if the setting asks for it (`failed`
/// and the test failed, or `all`), and returns the line that names it
/// (`netns-test: report: PATH`) or says why it was not written.
/// `message` is the panic's message or the error's text, `logs` the log
/// tails the failure shows, `notes` the capture and seed lines.
pub(crate) fn write(
    ctx: &TestContext,
    failed: bool,
    message: &str,
    logs: &str,
    notes: &[String],
) -> Option<String> {
    match Settings::get().report {
        ReportMode::Off => return None,
        ReportMode::Failed if !failed => return None,
        _ => {}
    }
    // An `Err`'s text has the failure's own lines appended (the state
    // dump): the page shows those in their own sections.
    let message = message.split("\nnetns-test: ").next().unwrap_or(message);
    let name = ctx.file_name();
    let held = ctx.state_if::<Held>();
    let networks = held
        .as_ref()
        .and_then(|h| h.networks.lock().take())
        .unwrap_or_default();
    let states = held
        .as_ref()
        .and_then(|h| h.states.lock().take())
        .unwrap_or_default();
    let artifacts = Artifacts::get();
    let written = artifacts.test_dir(&name).and_then(|dir| {
        let capture = capture_file(&name);
        #[cfg(feature = "capture")]
        let ladder = capture
            .as_ref()
            .map(|path| ladder::read(path, &networks))
            .unwrap_or_default();
        #[cfg(not(feature = "capture"))]
        let ladder = html::Ladder::default();
        let capture_link = capture.as_ref().map(|path| match path.strip_prefix(&dir) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => format!("file://{}", path.display()),
        });
        let page = html::Page {
            test: &ctx
                .test()
                .map(|id| id.libtest_name())
                .unwrap_or(name.clone()),
            failed,
            message,
            networks: &networks,
            states: &states,
            logs,
            notes,
            capture: capture_link.as_deref(),
            ladder: &ladder,
        };
        let text = html::render(&page);
        let path = dir.join(FILE);
        let mut file = artifacts.create_file(&path)?;
        file.write_all(text.as_bytes())
            .map_err(|e| crate::Error::io("write", &path, &e))?;
        artifacts.adopt(&path);
        Ok(path)
    });
    Some(match written {
        Ok(path) => {
            let mut line = format!("netns-test: report: {}", path.display());
            if let Err(e) = index::write(artifacts) {
                line.push_str(&format!("\nnetns-test: report index not written: {e}"));
            }
            line
        }
        Err(e) => format!("netns-test: report not written: {e}"),
    })
}

/// The test's capture file, if one was written (`NETNS_TEST_CAPTURE`).
fn capture_file(_name: &str) -> Option<PathBuf> {
    #[cfg(feature = "capture")]
    {
        let (path, _) = crate::wire::per_test::file_for(_name).ok()?;
        if path.is_file() {
            return Some(path);
        }
    }
    None
}
