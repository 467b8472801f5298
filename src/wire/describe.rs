//! What is set on a wire link, as short text: one line per direction that
//! has faults or a cut (`"client/eth0 -> router/eth0: loss 10%, delay 20
//! ms"`), for the network's diagram (`network/diagram.rs`, through
//! `Carrier::describe`, ARCHITECTURE.md 1).

use std::time::Duration;

use crate::wire::faults::Faults;
use crate::wire::link::Shared;

/// One line per direction of `shared`'s link with faults or a cut; empty if
/// both pass frames unchanged. Waits at most 100 ms for the lanes' lock (a
/// rule may hold it): `["(busy)"]` then.
pub(crate) fn lanes(shared: &Shared) -> Vec<String> {
    let Some(lanes) = shared.lanes.try_lock_for(Duration::from_millis(100)) else {
        return vec!["(busy)".to_owned()];
    };
    let names = &shared.names;
    (0..2)
        .filter_map(|i| {
            let text = faults(&lanes[i].faults, lanes[i].cuts > 0);
            (!text.is_empty()).then(|| format!("{} -> {}: {text}", names[i], names[1 - i]))
        })
        .collect()
}

/// `faults` as `loss 10%, delay 20 ms, ...` (`cut` first when `cut`); empty
/// for a perfect direction that is not cut. The seed is not shown: a
/// failure's seed line names it.
pub(crate) fn faults(f: &Faults, cut: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if cut {
        parts.push("cut".to_owned());
    }
    if f.loss > 0.0 {
        parts.push(format!("loss {}", percent(f.loss)));
    }
    if let Some(mean) = f.loss_burst {
        parts.push(format!("bursts of {mean} frames"));
    }
    if !f.delay.is_zero() {
        parts.push(format!("delay {}", millis(f.delay)));
    }
    if !f.jitter.is_zero() {
        parts.push(format!("jitter {}", millis(f.jitter)));
    }
    for (word, v) in [
        ("reorder", f.reorder),
        ("duplicate", f.duplicate),
        ("corrupt", f.corrupt),
    ] {
        if v > 0.0 {
            parts.push(format!("{word} {}", percent(v)));
        }
    }
    if let Some(rate) = f.rate_bits_per_sec {
        parts.push(format!("rate {rate} bit/s"));
    }
    if let Some(q) = f.queue_bytes {
        parts.push(format!("queue {q} B"));
    }
    parts.join(", ")
}

/// A fraction as a percentage, at most three decimals, no trailing zeros.
fn percent(v: f64) -> String {
    trim(format!("{:.3}", v * 100.0)) + "%"
}

/// A duration in milliseconds, at most three decimals, no trailing zeros.
pub(crate) fn millis(d: Duration) -> String {
    trim(format!("{:.3}", d.as_secs_f64() * 1000.0)) + " ms"
}

fn trim(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_direction_says_nothing_and_a_cut_one_says_cut() {
        assert_eq!(faults(&Faults::new().seed(3), false), "");
        assert_eq!(faults(&Faults::new(), true), "cut");
    }

    #[test]
    fn every_fault_is_named_in_order() {
        let f = Faults::new()
            .loss(0.1)
            .loss_burst(3.0)
            .delay(Duration::from_millis(20))
            .jitter(Duration::from_micros(1500))
            .reorder(0.005)
            .duplicate(0.25)
            .corrupt(1.0)
            .rate_bits_per_sec(1_000_000)
            .queue_bytes(4096);
        assert_eq!(
            faults(&f, true),
            "cut, loss 10%, bursts of 3 frames, delay 20 ms, jitter 1.5 ms, reorder 0.5%, \
             duplicate 25%, corrupt 100%, rate 1000000 bit/s, queue 4096 B"
        );
    }

    #[test]
    fn numbers_lose_trailing_zeros_only_after_a_point() {
        assert_eq!(trim("100".into()), "100");
        assert_eq!(trim("10.500".into()), "10.5");
        assert_eq!(trim("3.000".into()), "3");
    }
}
