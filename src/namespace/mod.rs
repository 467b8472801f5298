//! The namespace layer: the [`Netns`](crate::Netns) handle, the iproute2 run
//! directory, owner records and the sweep of what killed runs left, and what
//! `ip netns exec` does to a thread (ARCHITECTURE.md 1).

pub(crate) mod crash_points;
pub(crate) mod etc;
pub(crate) mod exec;
pub(crate) mod keep;
pub(crate) mod leftover;
pub(crate) mod lock_file;
pub(crate) mod name_lock;
pub(crate) mod netns;
mod open;
pub(crate) mod owner;
pub(crate) mod registry;
pub(crate) mod remove;
#[cfg(feature = "tokio")]
mod run_async;
pub(crate) mod rundir;
pub(crate) mod sweep;
pub(crate) mod thread;
