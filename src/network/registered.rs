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
use crate::Netns;

/// One network's hosts: (name, a duplicated handle of its namespace).
type Hosts = Vec<(String, Netns)>;

/// The live networks of one test, by registration number.
#[derive(Default)]
struct Built {
    next: AtomicU64,
    networks: Mutex<Vec<(u64, Hosts)>>,
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
        built.networks.lock().retain(|(id, _)| *id != self.id);
    }
}

/// Registers a network of `hosts` with the calling thread's test, if it
/// works for one.
pub(crate) fn register(hosts: &[(String, Netns)]) -> Option<Registration> {
    let ctx = crate::context::current()?;
    let handles = hosts
        .iter()
        .filter_map(|(name, ns)| Some((name.clone(), ns.duplicate().ok()?)))
        .collect();
    let built = ctx.state::<Built>();
    let id = built.next.fetch_add(1, Ordering::Relaxed);
    built.networks.lock().push((id, handles));
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
        .flat_map(|(_, hosts)| hosts.iter().map(|(name, ns)| (name.as_str(), ns)))
        .collect();
    f(&hosts)
}
