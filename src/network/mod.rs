//! The network layer: links, addresses, routes and sysctls of a namespace
//! over rtnetlink and `/proc/sys/net`, and [`Topology`](crate::Topology)
//! (ARCHITECTURE.md 1).

pub(crate) mod addr;
pub(crate) mod bridge;
pub(crate) mod built;
pub(crate) mod carried;
pub(crate) mod conntrack;
pub(crate) mod diagram;
pub(crate) mod dump;
pub(crate) mod firewall;
mod hosts;
pub(crate) mod link;
pub(crate) mod names;
pub(crate) mod nat;
pub(crate) mod nft_plan;
pub(crate) mod owned;
pub(crate) mod registered;
pub(crate) mod request;
pub(crate) mod route;
pub(crate) mod step;
pub(crate) mod sysctl;
pub(crate) mod topology;
