//! Traffic control over rtnetlink (tc(8), rtnetlink(7) `RTM_*QDISC`,
//! `RTM_*TFILTER`, `RTM_*ACTION`): what a wire link's kernel fast path
//! needs (ARCHITECTURE.md 2.10), an `ingress` qdisc on a link, a match-all
//! `u32` filter that hands every frame arriving on the link to a `mirred
//! egress redirect` action, one before it that lets every frame pass on,
//! and the action's packet counter.
//!
//! Each call acts on the namespace `socket` was opened in. Needs
//! `CAP_NET_ADMIN` over that namespace (in its owning user namespace: a
//! rootless test's namespaces qualify) for qdiscs and filters. Standalone
//! actions (`RTM_NEWACTION`) would need it in the initial user namespace
//! (`tc_ctl_action` checks `netlink_capable`): the action is made with its
//! filter, and read back by index, which needs no privilege.

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMessage, TcActionMessageAttribute,
    TcActionMirrorOption, TcActionOption, TcActionType, TcAttribute, TcFilterU32Option, TcHandle,
    TcMessage, TcMirror, TcMirrorActionType, TcOption, TcStats2, TcU32Key, TcU32Selector,
    TcU32SelectorFlags,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::error::{Error, Result};
use crate::kernel::netlink::RouteSocket;

/// The priority of the filter that lets frames pass: it comes first.
pub(crate) const PASS_PRIO: u32 = 1;

/// The priority of the redirecting filter, reached when no pass filter is.
pub(crate) const REDIRECT_PRIO: u32 = 2;

/// `htons(ETH_P_ALL)`: the filter sees every protocol.
const ETH_P_ALL_BE: u32 = (libc::ETH_P_ALL as u16).to_be() as u32;

/// `ffff:`, the ingress qdisc's handle and its filters' parent.
const INGRESS_HANDLE: TcHandle = TcHandle {
    major: 0xffff,
    minor: 0,
};

/// `tc qdisc add dev INDEX handle ffff: ingress`.
///
/// # Errors
/// [`Error::Netlink`] with the kernel's errno (`EEXIST` if the link has
/// one, `EPERM` without `CAP_NET_ADMIN`, `ENOENT` if the kernel lacks
/// `sch_ingress`).
pub(crate) fn add_ingress_qdisc(socket: &mut RouteSocket, index: u32, name: &str) -> Result<()> {
    let mut msg = TcMessage::default();
    msg.header.index = index as i32;
    msg.header.handle = INGRESS_HANDLE;
    msg.header.parent = TcHandle::INGRESS;
    msg.attributes.push(TcAttribute::Kind("ingress".to_owned()));
    socket.request_ack_with(
        RouteNetlinkMessage::NewQueueDiscipline(msg),
        NLM_F_CREATE | NLM_F_EXCL,
        &|| format!("RTM_NEWQDISC ingress on {name} (index {index})"),
    )
}

/// The `mirred` action numbered `action`, redirecting to the egress of link
/// `to`, with `STOLEN` as its verdict (the frame goes no further where it
/// came in).
fn mirred(action: u32, to: u32) -> TcAction {
    let mut generic = TcActionGeneric::default();
    generic.index = action;
    generic.action = TcActionType::Stolen;
    let mut parms = TcMirror::default();
    parms.generic = generic;
    parms.eaction = TcMirrorActionType::EgressRedir;
    parms.ifindex = to;
    let mut act = TcAction::default();
    act.attributes = vec![
        TcActionAttribute::Kind("mirred".to_owned()),
        TcActionAttribute::Options(vec![TcActionOption::Mirror(TcActionMirrorOption::Parms(
            parms,
        ))]),
    ];
    act
}

/// A match-all `u32` filter at `prio` on link `index`'s ingress (`match
/// u32 0 0`: one key, nothing masked in; terminal), with `actions`.
fn add_u32(socket: &mut RouteSocket, index: u32, prio: u32, actions: Vec<TcAction>) -> Result<()> {
    let mut selector = TcU32Selector::default();
    selector.flags = TcU32SelectorFlags::Terminal;
    selector.nkeys = 1;
    selector.keys = vec![TcU32Key::default()];
    let mut options = vec![TcOption::U32(TcFilterU32Option::Selector(selector))];
    if !actions.is_empty() {
        options.push(TcOption::U32(TcFilterU32Option::Action(actions)));
    }
    let mut msg = TcMessage::default();
    msg.header.index = index as i32;
    msg.header.parent = INGRESS_HANDLE;
    msg.header.info = (prio << 16) | ETH_P_ALL_BE;
    msg.attributes = vec![
        TcAttribute::Kind("u32".to_owned()),
        TcAttribute::Options(options),
    ];
    socket.request_ack_with(
        RouteNetlinkMessage::NewTrafficFilter(msg),
        NLM_F_CREATE | NLM_F_EXCL,
        &|| format!("RTM_NEWTFILTER u32 prio {prio} on index {index}"),
    )
}

/// `tc filter add dev INDEX parent ffff: protocol all prio 2 u32 match u32
/// 0 0 action mirred egress redirect dev TO index ACTION`: every frame
/// arriving on link `index` that no filter before took goes out of `to`.
/// The action, numbered `action` (each number once per namespace), lives
/// as long as the filter, and so does its counter ([`action_packets`]).
/// `cls_u32`, not `cls_matchall`: more kernels have it built in.
///
/// # Errors
/// [`Error::Netlink`] with the kernel's errno (`EEXIST` if the filter is
/// there, `EINVAL` without the qdisc, `ENOENT` without `cls_u32` or
/// `act_mirred`).
pub(crate) fn add_redirect_filter(
    socket: &mut RouteSocket,
    index: u32,
    action: u32,
    to: u32,
) -> Result<()> {
    add_u32(socket, index, REDIRECT_PRIO, vec![mirred(action, to)])
}

/// `tc filter add dev INDEX parent ffff: protocol all prio 1 u32 match u32
/// 0 0`: a match without action, whose verdict is `TC_ACT_OK`: every frame
/// goes on up the link's stack, past the redirect.
///
/// # Errors
/// [`Error::Netlink`] with the kernel's errno (`EEXIST` if it is there).
pub(crate) fn add_pass_filter(socket: &mut RouteSocket, index: u32) -> Result<()> {
    add_u32(socket, index, PASS_PRIO, Vec::new())
}

/// `tc filter del dev INDEX parent ffff: prio PRIO`: the filter of
/// [`add_pass_filter`] ([`PASS_PRIO`]) goes, so frames reach the redirect;
/// or the redirect ([`REDIRECT_PRIO`]) goes, and its action with it.
///
/// # Errors
/// [`Error::Netlink`] with the kernel's errno (`ENOENT` if there is none).
pub(crate) fn del_filter(socket: &mut RouteSocket, index: u32, prio: u32) -> Result<()> {
    let mut msg = TcMessage::default();
    msg.header.index = index as i32;
    msg.header.parent = INGRESS_HANDLE;
    msg.header.info = (prio << 16) | ETH_P_ALL_BE;
    socket.request_ack(RouteNetlinkMessage::DelTrafficFilter(msg), &|| {
        format!("RTM_DELTFILTER prio {prio} on index {index}")
    })
}

/// The priorities of the filters on link `index`'s ingress qdisc, each
/// once (`tc filter show dev INDEX ingress`).
///
/// # Errors
/// [`Error::Netlink`] from the dump.
pub(crate) fn ingress_filters(socket: &mut RouteSocket, index: u32) -> Result<Vec<u32>> {
    let mut msg = TcMessage::default();
    msg.header.index = index as i32;
    msg.header.parent = INGRESS_HANDLE;
    let replies = socket.dump(RouteNetlinkMessage::GetTrafficFilter(msg), &|| {
        format!("RTM_GETTFILTER dump on index {index}")
    })?;
    // A `u32` filter lists as several entries (its hash table and its
    // keys), all of one priority.
    let mut prios: Vec<u32> = replies
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewTrafficFilter(f) => Some(f.header.info >> 16),
            _ => None,
        })
        .collect();
    prios.sort_unstable();
    prios.dedup();
    Ok(prios)
}

/// How many packets the `mirred` action numbered `action` handled
/// (`tc -s actions get action mirred index ACTION`).
///
/// # Errors
/// [`Error::Netlink`] with the kernel's errno (`ENOENT` for no such
/// action), or an answer without counters.
pub(crate) fn action_packets(socket: &mut RouteSocket, action: u32) -> Result<u64> {
    let mut act = TcAction::default();
    act.attributes = vec![
        TcActionAttribute::Kind("mirred".to_owned()),
        TcActionAttribute::Index(action),
    ];
    let mut msg = TcActionMessage::default();
    msg.attributes
        .push(TcActionMessageAttribute::Actions(vec![act]));
    let op = || format!("RTM_GETACTION mirred index {action}");
    let reply = socket.get(RouteNetlinkMessage::GetTrafficAction(msg), &op)?;
    let attributes = match reply {
        RouteNetlinkMessage::NewTrafficAction(m) | RouteNetlinkMessage::GetTrafficAction(m) => {
            m.attributes
        }
        _ => Vec::new(),
    };
    for attribute in attributes {
        let TcActionMessageAttribute::Actions(actions) = attribute else {
            continue;
        };
        for act in actions {
            for a in act.attributes {
                let TcActionAttribute::Stats(stats) = a else {
                    continue;
                };
                for s in stats {
                    if let TcStats2::Basic(basic) = s {
                        return Ok(basic.packets as u64);
                    }
                }
            }
        }
    }
    Err(Error::Netlink {
        op: op(),
        errno: None,
        detail: "the answer carries no packet counter (TCA_STATS_BASIC)".to_owned(),
    })
}
