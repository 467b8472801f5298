//! The user's attributes that the test harness reads.

use syn::{AttrStyle, Attribute};

/// Whether the attribute's path ends in `name`, written any way:
/// `#[test]`, `#[::core::prelude::v1::test]`, `#[tokio::test]`.
pub(crate) fn ends_in(attr: &Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

/// A test attribute is already present: adding ours would make it two tests.
pub(crate) fn has_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| ends_in(attr, "test"))
}

/// `#[should_panic]`, `#[should_panic = ".."]` or `#[should_panic(expected = "..")]`.
pub(crate) fn has_should_panic(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| ends_in(attr, "should_panic"))
}

/// Attributes that only mean something on a test: left off the plain
/// function emitted next to an error, where they would add noise.
pub(crate) fn is_harness_only(attr: &Attribute) -> bool {
    ["test", "should_panic", "ignore"]
        .iter()
        .any(|name| ends_in(attr, name))
}

/// `#![..]` at the top of the body, which syn collects with the outer ones.
pub(crate) fn is_inner(attr: &Attribute) -> bool {
    matches!(attr.style, AttrStyle::Inner(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(item: &str) -> Vec<Attribute> {
        syn::parse_str::<syn::ItemFn>(item).unwrap().attrs
    }

    #[test]
    fn test_attributes_are_found_by_last_segment() {
        for item in [
            "#[test] fn t() {}",
            "#[::core::prelude::v1::test] fn t() {}",
            "#[std::prelude::rust_2021::test] fn t() {}",
            "#[tokio::test] async fn t() {}",
            "#[doc = \"x\"] #[test] #[ignore] fn t() {}",
        ] {
            assert!(has_test(&attrs(item)), "{item}");
        }
        for item in [
            "fn t() {}",
            "#[tests] fn t() {}",
            "#[test_case(1)] fn t() {}",
            "#[cfg(test)] fn t() {}",
        ] {
            assert!(!has_test(&attrs(item)), "{item}");
        }
    }

    #[test]
    fn should_panic_in_every_form() {
        for item in [
            "#[should_panic] fn t() {}",
            "#[should_panic = \"boom\"] fn t() {}",
            "#[should_panic(expected = \"boom\")] fn t() {}",
        ] {
            assert!(has_should_panic(&attrs(item)), "{item}");
        }
        assert!(!has_should_panic(&attrs("#[ignore] fn t() {}")));
    }

    #[test]
    fn inner_attributes_are_told_apart() {
        let attrs = attrs("#[doc = \"x\"] fn t() { #![allow(unused)] }");
        let inner: Vec<bool> = attrs.iter().map(is_inner).collect();
        assert_eq!(inner, [false, true]);
    }
}
