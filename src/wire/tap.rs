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
    /// Frames ever pushed, and the notes on some of them by their number
    /// (0 for the first pushed), oldest first: what the wire did to a
    /// frame, its packet comment in the file (`notes.rs`).
    pushed: u64,
    notes: VecDeque<(u64, String)>,
}

impl Ring {
    pub(crate) fn new(limit: usize) -> Ring {
        Ring {
            frames: VecDeque::new(),
            bytes: 0,
            limit,
            dropped: 0,
            pushed: 0,
            notes: VecDeque::new(),
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
        self.pushed += 1;
        let first = self.pushed - self.frames.len() as u64;
        while self.notes.front().is_some_and(|(n, _)| *n < first) {
            self.notes.pop_front();
        }
    }

    /// Notes `note` on the frame pushed last.
    pub(crate) fn note_last(&mut self, note: String) {
        if let Some(last) = self.pushed.checked_sub(1) {
            self.notes.push_back((last, note));
        }
    }

    /// The frames, oldest first, each with its note if it has one.
    pub(crate) fn noted(&self) -> impl Iterator<Item = (Duration, &[u8], Option<&str>)> {
        let first = self.pushed - self.frames.len() as u64;
        let mut notes = self.notes.iter().peekable();
        self.frames.iter().enumerate().map(move |(k, (at, data))| {
            let n = first + k as u64;
            while notes.peek().is_some_and(|(m, _)| *m < n) {
                notes.next();
            }
            let note = notes
                .peek()
                .filter(|(m, _)| *m == n)
                .map(|(_, text)| text.as_str());
            (*at, data.as_slice(), note)
        })
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

    #[test]
    fn notes_follow_their_frames_and_go_with_them() {
        let mut ring = Ring::new(250);
        ring.note_last("before any frame".into());
        for i in 0..5u8 {
            ring.push(Duration::from_secs(u64::from(i)), &[i; 100]);
            if i % 2 == 0 {
                ring.note_last(format!("note {i}"));
            }
        }
        let got: Vec<(u8, Option<&str>)> = ring.noted().map(|(_, d, n)| (d[0], n)).collect();
        assert_eq!(got, [(3, None), (4, Some("note 4"))]);
        // Notes of frames pushed out are gone too.
        assert_eq!(ring.notes.len(), 1);
    }
}
