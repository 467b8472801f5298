//! The namespace layer: the [`Netns`](crate::Netns) handle, the iproute2 run
//! directory and what `ip netns exec` does to a thread (ARCHITECTURE.md,
//! "Layers").

pub(crate) mod exec;
pub(crate) mod netns;
pub(crate) mod registry;
pub(crate) mod rundir;
pub(crate) mod thread;
