//! The test-integration layer: the runner that `#[netns_test]` expands to,
//! suite fixtures, and the `main!()` harness (ARCHITECTURE.md 1).

pub(crate) mod failure;
pub(crate) mod fixture;
#[cfg(feature = "harness")]
#[cfg_attr(docsrs, doc(cfg(feature = "harness")))]
pub mod harness;
pub(crate) mod report;
pub(crate) mod runner;
pub(crate) mod runtime;
pub(crate) mod sweep;
pub(crate) mod teardown;

/// The message of a panic's payload: the `&str` of `panic!("literal")` or
/// the `String` of `panic!("{}", x)`; `None` for any other payload
/// (`std::panic::panic_any`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

#[cfg(test)]
mod tests {
    #[test]
    fn panic_messages_of_both_kinds_and_none_for_others() {
        let literal = std::panic::catch_unwind(|| panic!("literal")).unwrap_err();
        assert_eq!(super::panic_message(&*literal), Some("literal"));
        let formatted = std::panic::catch_unwind(|| panic!("{}", 7)).unwrap_err();
        assert_eq!(super::panic_message(&*formatted), Some("7"));
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(super::panic_message(&*other), None);
    }
}
