//! Deterministic crash points, for the crash tests (tests/crash.rs) only.
//!
//! With the doc-hidden cargo feature `__crash-points`, a process whose
//! environment holds `NETNS_TEST_CRASH_AT=STEP` (or `STEP:N`) kills itself
//! with `SIGKILL` right after the `N`th time (default: the first) it passes
//! the crash point `STEP`: exactly what `kill -9` at that instant would
//! leave. Without the feature [`crash_point`] is an empty inline function.
//!
//! The steps of one named namespace's life, in order (see
//! src/namespace/owner.rs for what each leaves behind):
//! `locked`, `record-written`, `recorded`, `placeholder`, `mounted`,
//! `created`, `body`, `unmounted`, `unlinked`, `forgotten`.

/// Every crash point, in the order one named namespace passes them.
#[cfg_attr(not(feature = "__crash-points"), allow(dead_code))]
pub const STEPS: &[&str] = &[
    "locked",
    "record-written",
    "recorded",
    "placeholder",
    "mounted",
    "created",
    "body",
    "unmounted",
    "unlinked",
    "forgotten",
];

/// Dies here (SIGKILL) if `NETNS_TEST_CRASH_AT` names this step and this is
/// its `N`th pass; does nothing without the `__crash-points` feature.
#[inline]
pub(crate) fn crash_point(step: &'static str) {
    debug_assert!(STEPS.contains(&step), "unknown crash point {step}");
    #[cfg(feature = "__crash-points")]
    armed::reached(step);
    #[cfg(not(feature = "__crash-points"))]
    let _ = step;
}

#[cfg(feature = "__crash-points")]
mod armed {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;

    fn target() -> Option<&'static (String, usize)> {
        static TARGET: OnceLock<Option<(String, usize)>> = OnceLock::new();
        TARGET
            .get_or_init(|| crate::settings::Settings::get().crash_at.clone())
            .as_ref()
    }

    pub(super) fn reached(step: &'static str) {
        static PASSES: AtomicUsize = AtomicUsize::new(0);
        let Some((target, nth)) = target() else {
            return;
        };
        if target != step {
            return;
        }
        if PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "netns-test: crash point {step}:{nth} reached, SIGKILL"
            );
            crate::kernel::kill_self();
        }
    }
}
