//! Links whose frames are carried by a thread of a layer above (the wire
//! layer, `src/wire/`), rather than by the kernel's veth pair alone.
//!
//! The network layer builds them in order with the other links of a
//! [`Topology`](crate::Topology) and owns them in the [`Network`], but knows
//! nothing of how they carry frames: the layer above hands it a [`Start`]
//! function with the step, and gets its [`Carrier`] back through
//! [`Network::carriers`]. Imports keep pointing down (ARCHITECTURE.md 1).

// Only the wire layer carries links, and it is a cargo feature.
#![cfg_attr(not(feature = "wire"), allow(dead_code))]

use std::any::Any;
use std::fmt;
use std::sync::OnceLock;

use crate::error::Result;
use crate::network::topology::Network;
use crate::Netns;

/// What carries the frames of one link; dropped with the [`Network`].
pub(crate) trait Carrier: Any + Send + Sync + fmt::Debug {
    /// For the layer that made it, to get its own type back.
    fn as_any(&self) -> &dyn Any;

    /// What says what is set on the link at any later time, one line per
    /// direction that has something (`"client/eth0 -> router/eth0: loss
    /// 10%"`), for [`Network::diagram`] and a failing test's report, which
    /// asks after the link's owner may have moved; `None`: nothing is ever
    /// set on it.
    fn describer(&self) -> Option<Describe> {
        None
    }

    /// What [`Carrier::describer`] says now; empty for a link that passes
    /// frames unchanged.
    fn describe(&self) -> Vec<String> {
        self.describer().map(|d| d()).unwrap_or_default()
    }
}

/// What a carried link says is set on it (`Carrier::describer`).
pub(crate) type Describe = std::sync::Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// Makes the link between `link_a` of host `a` and `link_b` of host `b` and
/// starts carrying its frames.
pub(crate) type Start = fn(a: End<'_>, b: End<'_>) -> Result<Box<dyn Carrier>>;

/// One end of a carried link: the host's name, its namespace, the link name.
#[derive(Clone, Copy)]
pub(crate) struct End<'a> {
    pub(crate) host: &'a str,
    pub(crate) netns: &'a Netns,
    pub(crate) link: &'a str,
}

/// A carried link of a built network.
#[derive(Debug)]
pub(crate) struct Carried {
    pub(crate) a: (String, String),
    pub(crate) b: (String, String),
    pub(crate) carrier: Box<dyn Carrier>,
}

impl Network {
    /// The carried links of this network, in the order they were declared.
    pub(crate) fn carriers(&self) -> &[Carried] {
        &self.carried
    }
}

/// Called with each network [`Topology::build`](crate::Topology::build)
/// made, on the thread that built it: how a layer above learns of networks
/// (the wire layer's capture of a test's hosts). Set once, by that layer.
pub(crate) static ON_BUILD: OnceLock<fn(&Network)> = OnceLock::new();
