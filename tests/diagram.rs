//! `Network::diagram` of a real network: three hosts, a router, a LAN and
//! a wire link with faults; the text shows what was built and what is set
//! now (the faults' guard dropped, they are gone from it).

#![cfg(feature = "wire")]
mod common;

use std::time::Duration;

use netns_test::{netns_test, Topology};

/// client -- router -(wire)- server, and a LAN `office` of the router and
/// the client, with addresses.
fn network() -> Topology {
    Topology::new()
        .host("client")
        .router("router")
        .host("server")
        .link("client", "eth0", "router", "eth0")
        .wire("router", "eth1", "server", "eth0")
        .lan("office", &[("router", "eth2"), ("client", "eth1")])
        .addr("client", "eth0", "192.0.2.2/24")
        .addr("router", "eth0", "192.0.2.1/24")
        .addr("router", "eth1", "198.51.100.1/24")
        .addr("server", "eth0", "198.51.100.2/24")
        .addr("office", "br0", "203.0.113.1/24")
}

#[netns_test]
fn a_built_network_is_drawn_with_its_wire_faults() {
    let net = network().build().unwrap();
    let wire = net.wire("router", "eth1").unwrap();
    let guard = wire
        .set(
            netns_test::Direction::Out,
            netns_test::Faults::new()
                .loss(0.1)
                .delay(Duration::from_millis(20)),
        )
        .unwrap();
    let mermaid = net.diagram().mermaid();
    assert_eq!(
        mermaid,
        "graph LR
  n0[\"client\"]
  n1{{\"router<br/>router\"}}
  n2[\"server\"]
  n3([\"office<br/>LAN bridge br0<br/>203.0.113.1/24\"])
  n0 ---|\"eth0 192.0.2.2/24 -- eth0 192.0.2.1/24\"| n1
  n1 ---|\"eth2 -- p0\"| n3
  n0 ---|\"eth1 -- p1\"| n3
  n1 -.-|\"eth1 198.51.100.1/24 -- eth0 198.51.100.2/24 (wire)<br/>router/eth1 -#62; server/eth0: loss 10%, delay 20 ms\"| n2
"
    );
    let dot = net.diagram().dot();
    assert!(
        dot.contains("  n1 [label=\"router\\nrouter\", shape=hexagon];\n"),
        "{dot}"
    );
    assert!(
        dot.contains("router/eth1 -> server/eth0: loss 10%, delay 20 ms\", style=dashed];"),
        "{dot}"
    );
    drop(guard);
    let after = net.diagram();
    assert!(after
        .mermaid()
        .ends_with("  n1 -.-|\"eth1 198.51.100.1/24 -- eth0 198.51.100.2/24 (wire)\"| n2\n"));
    // A cut shows on both directions.
    let _cut = wire.cut();
    let cut = net.diagram().mermaid();
    assert!(
        cut.contains("router/eth1 -#62; server/eth0: cut<br/>server/eth0 -#62; router/eth1: cut"),
        "{cut}"
    );
}

/// README's drawing of its lab is what `diagram()` gives for it (the lab
/// is `common::client_router_server`).
#[netns_test]
fn the_readme_shows_the_labs_diagram() {
    let readme = include_str!("../README.md");
    let block = readme
        .split_once("```mermaid\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a mermaid block in README.md")
        .0;
    let net = common::client_router_server().build().unwrap();
    assert_eq!(net.diagram().mermaid(), block);
}

/// A NAT router is marked as one (feature `nftables`, `nft` installed).
#[cfg(feature = "nftables")]
#[netns_test]
fn a_nat_router_is_marked() {
    if !common::have("nft", "nftables") {
        return;
    }
    let net = Topology::new()
        .host("client")
        .router("nat")
        .host("server")
        .link("client", "eth0", "nat", "eth0")
        .link("nat", "eth1", "server", "eth0")
        .addr("client", "eth0", "10.0.0.2/24")
        .addr("nat", "eth0", "10.0.0.1/24")
        .addr("nat", "eth1", "203.0.113.1/24")
        .addr("server", "eth0", "203.0.113.2/24")
        .nat("nat", netns_test::Nat::outside("eth1"))
        .build()
        .unwrap();
    let mermaid = net.diagram().mermaid();
    assert!(
        mermaid.contains("  n1{{\"nat<br/>NAT router\"}}\n"),
        "{mermaid}"
    );
    assert!(net
        .diagram()
        .dot()
        .contains("  n1 [label=\"nat\\nNAT router\", shape=hexagon];"));
}
