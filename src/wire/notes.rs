//! What the wire did to a frame, as the packet comment a capture file
//! gives it (pcapng `opt_comment`, which Wireshark shows): `dropped by
//! loss`, `delayed 20 ms`, `duplicated`, `held (Wire::hold)`, `dropped by
//! rule #1 (syn only)`, ...
//!
//! Worked out from the lane's counters before and after it took the frame
//! in (`model.rs` counts every fate) and from the rule that decided it, if
//! one did (`rules.rs` keeps which), so the fault model is untouched; the
//! forwarding thread asks only while a capture takes the link's frames and
//! the frame did not skip the model (`link.rs`), and text is made only for
//! a frame something happened to.

use crate::wire::faults::Faults;
use crate::wire::frame::Verdict;
use crate::wire::model::{Lane, LaneStats};
use crate::wire::tap::Tap;

/// A lane's view before it takes a frame in: its counters and how many
/// frames it holds.
#[derive(Clone, Copy)]
pub(crate) struct Before {
    stats: LaneStats,
    held: usize,
}

impl Before {
    pub(crate) fn of(lane: &Lane) -> Before {
        Before {
            stats: lane.stats,
            held: lane.rules.held.len(),
        }
    }
}

/// Notes on the frame `lane` has just taken in (which `tap` recorded last
/// on `end`) what happened to it, if anything did.
pub(crate) fn after_admit(tap: &mut Tap, end: usize, lane: &Lane, before: Before) {
    let held = lane.rules.held.len() > before.held;
    let hold_all = lane.rules.hold_all > 0;
    // Text only for a frame a rule decided: a passed frame costs nothing.
    let by = (lane.rules.decided).map(|(i, v)| (v, lane.rules.describe(i)));
    let by = by.as_ref().map(|(v, who)| (*v, who.as_str()));
    if let Some(note) = fate(&before.stats, &lane.stats, &lane.faults, held, hold_all, by) {
        tap.rings[end].note_last(note);
    }
}

/// The options of a frame's block in a pcapng file: its note as a
/// comment (`opt_comment`), if it has one.
#[cfg(feature = "capture")]
pub(crate) fn comment(
    note: Option<&str>,
) -> Vec<pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption<'_>> {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    note.map(|n| vec![EnhancedPacketOption::Comment(std::borrow::Cow::Borrowed(n))])
        .unwrap_or_default()
}

/// The comment of a frame whose lane counted `before` and then `after`
/// taking it in, `by` the rule that decided it (its verdict, and the rule
/// as `Rules::describe` names it, `rules.rs`)
/// if one did: what dropped it, or what it went through; `None` if it
/// passed untouched.
pub(crate) fn fate(
    before: &LaneStats,
    after: &LaneStats,
    faults: &Faults,
    held: bool,
    hold_all: bool,
    by: Option<(Verdict, &str)>,
) -> Option<String> {
    let grew = |f: fn(&LaneStats) -> u64| f(after) > f(before);
    let who = by.map_or("a rule (Wire::rule)", |(_, who)| who);
    if grew(|s| s.cut) {
        return Some("dropped: the link is cut".to_owned());
    }
    if grew(|s| s.rule_drops) {
        return Some(format!("dropped by {who}"));
    }
    if grew(|s| s.hold_drops) {
        return Some(match by {
            Some((Verdict::Hold, who)) => {
                format!("dropped by {who}: the hold is full (Wire::hold_limit)")
            }
            _ => "dropped: the hold is full (Wire::hold_limit)".to_owned(),
        });
    }
    if grew(|s| s.lost) {
        return Some("dropped by loss".to_owned());
    }
    if held {
        return Some(if hold_all {
            "held (Wire::hold)".to_owned()
        } else {
            format!("held by {who}")
        });
    }
    if let Some((Verdict::Delay(delay), who)) = by {
        let delay = crate::wire::describe::millis(delay);
        return Some(format!("delayed {delay} by {who}"));
    }
    let mut parts: Vec<String> = Vec::new();
    if grew(|s| s.queue_drops) {
        parts.push("dropped: the rate limit's queue is full".to_owned());
    }
    if grew(|s| s.corrupted) {
        parts.push("corrupted (one bit flipped)".to_owned());
    }
    if grew(|s| s.duplicated) {
        parts.push("duplicated".to_owned());
    }
    if grew(|s| s.reordered) {
        parts.push("reordered".to_owned());
    }
    let passed =
        after.queue_drops - before.queue_drops < 1 + (after.duplicated - before.duplicated);
    if passed && !(faults.delay.is_zero() && faults.jitter.is_zero()) {
        let mut delay = format!("delayed {}", crate::wire::describe::millis(faults.delay));
        if !faults.jitter.is_zero() {
            delay.push_str(&format!(
                " \u{b1} {}",
                crate::wire::describe::millis(faults.jitter)
            ));
        }
        parts.push(delay);
    }
    if passed && faults.rate_bits_per_sec.is_some() {
        parts.push("rate-limited".to_owned());
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn with(f: impl Fn(&mut LaneStats)) -> LaneStats {
        let mut s = LaneStats {
            frames: 1,
            ..LaneStats::default()
        };
        f(&mut s);
        s
    }

    fn note(after: LaneStats, faults: &Faults, held: bool, hold_all: bool) -> Option<String> {
        fate(&LaneStats::default(), &after, faults, held, hold_all, None)
    }

    fn by(after: LaneStats, held: bool, by: Verdict, who: &str) -> Option<String> {
        let f = Faults::new().delay(Duration::from_millis(20));
        fate(
            &LaneStats::default(),
            &after,
            &f,
            held,
            false,
            Some((by, who)),
        )
    }

    #[test]
    fn each_drop_says_why() {
        let none = Faults::new();
        type Case = (fn(&mut LaneStats), &'static str);
        let cases: [Case; 4] = [
            (|s| s.cut += 1, "dropped: the link is cut"),
            (|s| s.rule_drops += 1, "dropped by a rule (Wire::rule)"),
            (
                |s| s.hold_drops += 1,
                "dropped: the hold is full (Wire::hold_limit)",
            ),
            (|s| s.lost += 1, "dropped by loss"),
        ];
        for (f, want) in cases {
            assert_eq!(note(with(f), &none, false, false).as_deref(), Some(want));
        }
        let full = with(|s| s.queue_drops += 1);
        let rate = Faults::new().rate_bits_per_sec(1000);
        assert_eq!(
            note(full, &rate, false, false).as_deref(),
            Some("dropped: the rate limit's queue is full")
        );
    }

    #[test]
    fn a_held_frame_says_by_what() {
        let none = Faults::new();
        let s = with(|_| {});
        assert_eq!(
            note(s, &none, true, true).as_deref(),
            Some("held (Wire::hold)")
        );
        assert_eq!(
            note(s, &none, true, false).as_deref(),
            Some("held by a rule (Wire::rule)")
        );
    }

    #[test]
    fn a_rule_that_decided_is_named() {
        let r1 = "rule #1 (syn only)";
        assert_eq!(
            by(with(|s| s.rule_drops += 1), false, Verdict::Drop, r1).as_deref(),
            Some("dropped by rule #1 (syn only)")
        );
        assert_eq!(
            by(with(|_| {}), true, Verdict::Hold, "rule #2 (Wire::rule)").as_deref(),
            Some("held by rule #2 (Wire::rule)")
        );
        assert_eq!(
            by(with(|s| s.hold_drops += 1), false, Verdict::Hold, r1).as_deref(),
            Some("dropped by rule #1 (syn only): the hold is full (Wire::hold_limit)")
        );
        // A delay of a rule replaces the faults' (20 ms here): the rule's
        // is the one said.
        let delay = Verdict::Delay(Duration::from_micros(30_500));
        assert_eq!(
            by(with(|_| {}), false, delay, r1).as_deref(),
            Some("delayed 30.5 ms by rule #1 (syn only)")
        );
        // A cut comes before every rule.
        assert_eq!(
            by(with(|s| s.cut += 1), false, Verdict::Drop, r1).as_deref(),
            Some("dropped: the link is cut")
        );
        // A frame a rule passed is not said to be the rule's: `by` is
        // `None` then, and the faults speak.
        assert_eq!(
            fate(
                &LaneStats::default(),
                &with(|_| {}),
                &Faults::new().delay(Duration::from_millis(20)),
                false,
                false,
                None
            )
            .as_deref(),
            Some("delayed 20 ms")
        );
    }

    #[test]
    fn what_a_delivered_frame_went_through_is_listed() {
        let f = Faults::new()
            .delay(Duration::from_millis(20))
            .jitter(Duration::from_millis(5));
        let s = with(|s| {
            s.corrupted += 1;
            s.duplicated += 1;
            s.reordered += 1;
        });
        assert_eq!(
            note(s, &f, false, false).as_deref(),
            Some("corrupted (one bit flipped), duplicated, reordered, delayed 20 ms \u{b1} 5 ms")
        );
        let rate = Faults::new().rate_bits_per_sec(1000);
        assert_eq!(
            note(with(|_| {}), &rate, false, false).as_deref(),
            Some("rate-limited")
        );
    }

    #[test]
    fn an_untouched_frame_gets_no_note() {
        assert_eq!(
            note(with(|_| {}), &Faults::new().loss(0.5), false, false),
            None
        );
    }
}
