//! Frames recorded for a capture file, per interface, in a bounded ring.

// Rings are filled only while a capture (feature `capture`) takes them.
#![cfg_attr(not(feature = "capture"), allow(dead_code))]

use std::collections::VecDeque;
use std::time::Duration;

/// The environment variable that bounds each captured interface's ring, in
/// bytes of frames (decimal; default [`DEFAULT_RING_BYTES`]). When a ring is
/// full, its oldest frames make room: a capture keeps the end of a test.
pub use crate::settings::CAPTURE_LIMIT_ENV;

/// The default bound of one interface's ring: 4 MiB.
pub const DEFAULT_RING_BYTES: usize = 4 << 20;

/// The ring bound in force: [`CAPTURE_LIMIT_ENV`] or the default.
pub(crate) fn ring_limit() -> usize {
    crate::settings::Settings::get()
        .capture_limit
        .unwrap_or(DEFAULT_RING_BYTES)
}

/// One interface's recorded frames, oldest first, with their times since
/// the Unix epoch.
#[derive(Debug)]
pub(crate) struct Ring {
    pub(crate) frames: VecDeque<(Duration, Vec<u8>)>,
    bytes: usize,
    limit: usize,
    /// Frames pushed out by newer ones.
    pub(crate) dropped: u64,
}

impl Ring {
    pub(crate) fn new(limit: usize) -> Ring {
        Ring {
            frames: VecDeque::new(),
            bytes: 0,
            limit,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, at: Duration, frame: &[u8]) {
        self.bytes += frame.len();
        self.frames.push_back((at, frame.to_vec()));
        while self.bytes > self.limit {
            let Some((_, old)) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= old.len();
            self.dropped += 1;
        }
    }
}

/// The two interfaces of a wire link (host A's end, host B's end) as the
/// forwarding thread sees them: what each host sent (when it was read) and
/// what it was given (when it was written).
#[derive(Debug)]
pub(crate) struct Tap {
    pub(crate) rings: [Ring; 2],
}

impl Tap {
    pub(crate) fn new(limit: usize) -> Tap {
        Tap {
            rings: [Ring::new(limit), Ring::new(limit)],
        }
    }

    pub(crate) fn record(&mut self, end: usize, frame: &[u8]) {
        let at = crate::kernel::packet::realtime_now();
        self.rings[end].push(at, frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_drops_its_oldest_frames() {
        let mut ring = Ring::new(250);
        for i in 0..5u8 {
            ring.push(Duration::from_secs(u64::from(i)), &[i; 100]);
        }
        assert_eq!(ring.frames.len(), 2);
        assert_eq!(ring.frames[0].1[0], 3);
        assert_eq!(ring.dropped, 3);
    }
}
