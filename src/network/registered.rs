//! The networks a test built, registered while they live: a failing test's state dump
//! shows their hosts (`testing/failure.rs`), not only the test's own
//! namespace (where the body often does nothing but hold the network).
//!
//! [`Topology::build`](crate::Topology::build) registers each network with
//! the test the building thread works for (its context,
//! `src/context/`), as duplicated handles of its hosts' namespaces; the
//! [`Network`](crate::Network) holds the registration and drops it first,
//! so the duplicates never outlive the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::context::TestContext;
use crate::network::built::Network;
use crate::network::carried::Describe;
use crate::network::diagram::Diagram;
use crate::settings::{ReportMode, Settings};
use crate::Netns;

/// One network's hosts: (name, a duplicated handle of its namespace).
type Hosts = Vec<(String, Netns)>;

/// A network's drawing as built, and what says the faults of each of its
/// wire links later (in the order of the drawing's wire edges): kept only
/// when a report may be written (`NETNS_TEST_REPORT`).
type Layout = (Diagram, Vec<Option<Describe>>);

/// One registered network.
struct Registered {
    id: u64,
    hosts: Hosts,
    layout: Option<Layout>,
}

/// The live networks of one test, by registration number.
#[derive(Default)]
struct Built {
    next: AtomicU64,
    networks: Mutex<Vec<Registered>>,
}

/// A network's place in its test's [`Built`]: removed when dropped.
pub(crate) struct Registration {
    ctx: Weak<TestContext>,
    id: u64,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(built) = self.ctx.upgrade().and_then(|c| c.state_if::<Built>()) else {
            return;
        };
        built.networks.lock().retain(|r| r.id != self.id);
    }
}

/// Registers `net` with the calling thread's test, if it works for one:
/// its hosts, and its layout when a report may be written.
pub(crate) fn register(net: &Network) -> Option<Registration> {
    let ctx = crate::context::current()?;
    let layout = (Settings::get().report != ReportMode::Off).then(|| {
        let describers = net.carried.iter().map(|c| c.carrier.describer());
        (net.diagram(), describers.collect())
    });
    let handles = net
        .hosts
        .iter()
        .filter_map(|(name, ns)| Some((name.clone(), ns.duplicate().ok()?)))
        .collect();
    let built = ctx.state::<Built>();
    let id = built.next.fetch_add(1, Ordering::Relaxed);
    built.networks.lock().push(Registered {
        id,
        hosts: handles,
        layout,
    });
    Some(Registration {
        ctx: Arc::downgrade(&ctx),
        id,
    })
}

/// Runs `f` with the hosts of every live network test `ctx` built, in the
/// order they were built: `(host name, namespace)`.
pub(crate) fn with_hosts<R>(ctx: &TestContext, f: impl FnOnce(&[(&str, &Netns)]) -> R) -> R {
    let built = ctx.state_if::<Built>();
    let networks = built.as_ref().map(|b| b.networks.lock());
    let hosts: Vec<(&str, &Netns)> = networks
        .iter()
        .flat_map(|n| n.iter())
        .flat_map(|r| r.hosts.iter().map(|(name, ns)| (name.as_str(), ns)))
        .collect();
    f(&hosts)
}

/// The drawing of every live network test `ctx` built whose layout was
/// kept, with the faults on its wire links now, and its hosts, in the
/// order they were built.
pub(crate) fn with_networks<R>(
    ctx: &TestContext,
    f: impl FnOnce(&[(Diagram, &[(String, Netns)])]) -> R,
) -> R {
    let built = ctx.state_if::<Built>();
    let networks = built.as_ref().map(|b| b.networks.lock());
    let drawn: Vec<(Diagram, &[(String, Netns)])> = networks
        .iter()
        .flat_map(|n| n.iter())
        .filter_map(|r| {
            let (diagram, describers) = r.layout.as_ref()?;
            let mut diagram = diagram.clone();
            let wires = diagram.edges.iter_mut().filter(|e| e.wire.is_some());
            for (edge, describer) in wires.zip(describers) {
                edge.wire = Some(describer.as_ref().map(|d| d()).unwrap_or_default());
            }
            Some((diagram, r.hosts.as_slice()))
        })
        .collect();
    f(&drawn)
}
