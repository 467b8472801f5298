//! What a [`Network`](crate::Network) owns for a layer above: the
//! processes spawned in its hosts (the process layer's `Network::spawn`),
//! stopped before its hosts go.
//!
//! The network layer cannot name a process (imports point down,
//! ARCHITECTURE.md 1): it keeps each as an [`Owned`], a thing it can stop,
//! and hands it back to that layer to downcast.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// Something a network owns: stopped when the network drops.
pub(crate) trait Owned: Any + Send + Sync + fmt::Debug {
    /// Stops it (and waits for that); a stopped one again is a no-op.
    fn stop(&self);
    /// For the layer that made it, to get its own type back.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// The things a network owns, each with the host it belongs to, in the
/// order they were added; stopped in reverse order on drop, whoever else
/// still holds them.
#[derive(Debug, Default)]
pub(crate) struct OwnedList(Mutex<Vec<(String, Arc<dyn Owned>)>>);

impl OwnedList {
    pub(crate) fn push(&self, host: &str, owned: Arc<dyn Owned>) {
        self.0.lock().push((host.to_owned(), owned));
    }

    /// What `host` holds (every host's for `None`), in the order added.
    pub(crate) fn of(&self, host: Option<&str>) -> Vec<Arc<dyn Owned>> {
        self.0
            .lock()
            .iter()
            .filter(|(h, _)| host.map_or(true, |host| h == host))
            .map(|(_, o)| Arc::clone(o))
            .collect()
    }
}

impl Drop for OwnedList {
    fn drop(&mut self) {
        for (_, owned) in self.0.get_mut().drain(..).rev() {
            owned.stop();
        }
    }
}
