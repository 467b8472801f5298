//! The user's attributes that the test harness reads.

use syn::{AttrStyle, Attribute, Expr, ExprLit, Lit, LitStr, Meta, MetaNameValue};

/// Whether the attribute's path ends in `name`, written any way:
/// `#[test]`, `#[::core::prelude::v1::test]`, `#[tokio::test]`.
pub(crate) fn ends_in(attr: &Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

/// Whether the attribute's path is exactly `segments`, with or without a
/// leading `::`: `#[tokio::test]`, `#[::tokio::test]`.
pub(crate) fn is_path(attr: &Attribute, segments: &[&str]) -> bool {
    let path = attr.path();
    path.segments.len() == segments.len()
        && path
            .segments
            .iter()
            .zip(segments)
            .all(|(segment, name)| segment.ident == name)
}

/// `#[tokio::test]`, whose options `#[netns_test]` takes over.
pub(crate) fn is_tokio_test(attr: &Attribute) -> bool {
    is_path(attr, &["tokio", "test"])
}

/// `#[async_std::test]`: its runtime is global, outside the namespace.
pub(crate) fn is_async_std_test(attr: &Attribute) -> bool {
    is_path(attr, &["async_std", "test"])
}

/// `#[test_log::test]`, which goes on the runner, so that logging is set up
/// under both harnesses.
pub(crate) fn is_test_log(attr: &Attribute) -> bool {
    is_path(attr, &["test_log", "test"])
}

/// A test attribute is already present: adding ours would make it two tests.
/// (`#[test_log::test]` is not one here: it moves to the runner.)
pub(crate) fn has_test(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|attr| ends_in(attr, "test") && !is_test_log(attr))
}

/// What `#[should_panic]` asks of the test.
#[derive(Clone)]
pub(crate) enum ShouldPanic {
    /// No `#[should_panic]`.
    No,
    /// `#[should_panic]`: any panic passes.
    Yes,
    /// `#[should_panic = ".."]` or `#[should_panic(expected = "..")]`: a
    /// panic whose message contains the string passes.
    Expected(LitStr),
}

/// `#[should_panic]`, `#[should_panic = ".."]` or
/// `#[should_panic(expected = "..")]`, read here because the libtest-mimic
/// harness has to act on it too (without `--test`, rustc never sees it).
pub(crate) fn should_panic(attrs: &[Attribute]) -> syn::Result<ShouldPanic> {
    let Some(attr) = attrs.iter().find(|attr| ends_in(attr, "should_panic")) else {
        return Ok(ShouldPanic::No);
    };
    let bad = || {
        syn::Error::new_spanned(
            attr,
            "expected `#[should_panic]`, `#[should_panic = \"..\"]` or \
             `#[should_panic(expected = \"..\")]`",
        )
    };
    let expected = |value: &Expr| match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(ShouldPanic::Expected(s.clone())),
        _ => Err(bad()),
    };
    match &attr.meta {
        Meta::Path(_) => Ok(ShouldPanic::Yes),
        Meta::NameValue(nv) => expected(&nv.value),
        Meta::List(list) => match list.parse_args::<MetaNameValue>() {
            Ok(nv) if nv.path.is_ident("expected") => expected(&nv.value),
            _ => Err(bad()),
        },
    }
}

/// `#[ignore]` or `#[ignore = ".."]`.
pub(crate) fn is_ignored(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| ends_in(attr, "ignore"))
}

/// Where one of the user's outer attributes goes in the expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On the `#[test]` function only: what libtest reads (`#[test]`,
    /// `#[should_panic]`, `#[ignore]`), doc comments, and `#[cfg_attr]`,
    /// which may stand for any of those.
    Test,
    /// On every item of the expansion: `#[cfg(..)]`.
    Everywhere,
    /// On the function that runs the test in both harnesses: everything else
    /// (`#[serial]`, lint levels, ...), so that it takes effect under
    /// libtest-mimic as well.
    Runner,
}

pub(crate) fn place(attr: &Attribute) -> Place {
    let path = attr.path();
    if path.is_ident("cfg") {
        Place::Everywhere
    } else if is_test_log(attr) {
        Place::Runner
    } else if path.is_ident("doc") || path.is_ident("cfg_attr") || is_harness_only(attr) {
        Place::Test
    } else {
        Place::Runner
    }
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

    fn expected(item: &str) -> Option<String> {
        match should_panic(&attrs(item)).unwrap() {
            ShouldPanic::Expected(s) => Some(s.value()),
            _ => panic!("{item}: no expected string"),
        }
    }

    #[test]
    fn should_panic_in_every_form() {
        let yes = should_panic(&attrs("#[should_panic] fn t() {}")).unwrap();
        assert!(matches!(yes, ShouldPanic::Yes));
        assert_eq!(
            expected("#[should_panic = \"boom\"] fn t() {}").as_deref(),
            Some("boom")
        );
        assert_eq!(
            expected("#[should_panic(expected = \"boom\")] fn t() {}").as_deref(),
            Some("boom")
        );
        let no = should_panic(&attrs("#[ignore] fn t() {}")).unwrap();
        assert!(matches!(no, ShouldPanic::No));
    }

    #[test]
    fn malformed_should_panic_is_an_error() {
        for item in [
            "#[should_panic = 3] fn t() {}",
            "#[should_panic(expect = \"x\")] fn t() {}",
            "#[should_panic(\"x\")] fn t() {}",
        ] {
            let err = should_panic(&attrs(item)).err().unwrap().to_string();
            assert!(
                err.starts_with("expected `#[should_panic]`"),
                "{item}: {err}"
            );
        }
    }

    #[test]
    fn ignore_in_both_forms() {
        assert!(is_ignored(&attrs("#[ignore] fn t() {}")));
        assert!(is_ignored(&attrs("#[ignore = \"slow\"] fn t() {}")));
        assert!(!is_ignored(&attrs("#[should_panic] fn t() {}")));
    }

    #[test]
    fn attributes_are_placed() {
        let item = "#[doc = \"d\"] #[cfg(unix)] #[cfg_attr(x, ignore)] #[test] #[should_panic] \
                    #[ignore] #[serial] #[allow(unused)] fn t() {}";
        let places: Vec<Place> = attrs(item).iter().map(place).collect();
        use Place::*;
        assert_eq!(
            places,
            [Test, Everywhere, Test, Test, Test, Test, Runner, Runner]
        );
    }

    #[test]
    fn inner_attributes_are_told_apart() {
        let attrs = attrs("#[doc = \"x\"] fn t() { #![allow(unused)] }");
        let inner: Vec<bool> = attrs.iter().map(is_inner).collect();
        assert_eq!(inner, [false, true]);
    }
}
