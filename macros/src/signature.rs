//! What a test function may look like: the harness calls it with no
//! arguments, no `self` and no type to pick, and reads its return type.

use quote::quote;
use syn::{FnArg, ReturnType, Signature, Type};

use crate::errors::Errors;

/// Pushes an error for each part of `sig` that a test function cannot have.
/// `async` is fine: the body then runs on a runtime of its own.
pub(crate) fn check(sig: &Signature, errors: &mut Errors) {
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            "a test function cannot be `const fn`; remove `const`",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new(
            unsafety.span,
            "a test function cannot be `unsafe fn`: the harness calls it as safe code; \
             put an `unsafe { .. }` block in the body instead",
        ));
    }
    if let Some(abi) = &sig.abi {
        let written = match &abi.name {
            Some(name) => format!("extern {}", name.token()),
            None => "extern".to_owned(),
        };
        let msg = format!("a test function uses the Rust ABI; remove `{written}`");
        errors.push(syn::Error::new_spanned(abi, msg));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a test function cannot be generic: the harness has no types or values to pick \
             for its parameters",
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(syn::Error::new_spanned(
            where_clause,
            "a test function cannot have a `where` clause; remove it",
        ));
    }
    let mut arguments = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                "`#[netns_test]` cannot go on a method: the harness calls a free function, \
                 with no `self`; move the test out of the `impl` block",
            )),
            FnArg::Typed(argument) => arguments.push(quote!(#argument)),
        }
    }
    if let Some(variadic) = &sig.variadic {
        arguments.push(quote!(#variadic));
    }
    if !arguments.is_empty() {
        errors.push(syn::Error::new_spanned(
            quote!(#(#arguments)*),
            "test functions take no arguments; build what the test needs in its body",
        ));
    }
}

/// The return types the expansion tells apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Returns {
    /// No return type, or `-> ()`: the generated test returns nothing too,
    /// which libtest requires of a `#[should_panic]` test.
    Unit,
    /// Anything else, for the runtime's `TestReturn` to accept
    /// (`Result<(), E>`) or reject with a clear message.
    Value,
}

pub(crate) fn returns(output: &ReturnType) -> Returns {
    match output {
        ReturnType::Default => Returns::Unit,
        ReturnType::Type(_, ty) if is_unit(ty) => Returns::Unit,
        ReturnType::Type(..) => Returns::Value,
    }
}

fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(tuple) => tuple.elems.is_empty(),
        Type::Paren(paren) => is_unit(&paren.elem),
        // A type passed in through a `macro_rules!` fragment.
        Type::Group(group) => is_unit(&group.elem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(item: &str) -> Vec<String> {
        let func: syn::ItemFn = syn::parse_str(item).unwrap();
        let mut errors = Errors::default();
        check(&func.sig, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn returns_of(item: &str) -> Returns {
        let func: syn::ItemFn = syn::parse_str(item).unwrap();
        returns(&func.sig.output)
    }

    #[test]
    fn plain_and_async_fns_pass() {
        assert!(errors_of("fn t() {}").is_empty());
        assert!(errors_of("pub async fn t() -> Result<(), String> { Ok(()) }").is_empty());
    }

    #[test]
    fn each_misuse_is_reported() {
        let cases = [
            ("const fn t() {}", "cannot be `const fn`"),
            ("unsafe fn t() {}", "cannot be `unsafe fn`"),
            (r#"extern "C" fn t() {}"#, r#"remove `extern "C"`"#),
            ("extern fn t() {}", "remove `extern`"),
            ("fn t<T>() {}", "cannot be generic"),
            ("fn t<const N: usize>() {}", "cannot be generic"),
            ("fn t<'a>() {}", "cannot be generic"),
            ("fn t() where u8: Copy {}", "cannot have a `where` clause"),
            ("fn t(&self) {}", "cannot go on a method"),
            ("fn t(self: Box<Self>) {}", "cannot go on a method"),
            ("fn t(a: u8, b: u8) {}", "take no arguments"),
            (
                r#"unsafe extern "C" fn t(a: u8, ...) {}"#,
                "take no arguments",
            ),
        ];
        for (item, expected) in cases {
            let errors = errors_of(item);
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{item}: {errors:?}"
            );
        }
    }

    #[test]
    fn all_misuses_are_reported_at_once() {
        let errors = errors_of("const unsafe fn t<T>(&self, a: T) {}");
        assert_eq!(errors.len(), 5, "{errors:?}");
        let errors = errors_of(r#"unsafe extern "C" fn t(a: u8, ...) {}"#);
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn unit_returns() {
        assert_eq!(returns_of("fn t() {}"), Returns::Unit);
        assert_eq!(returns_of("fn t() -> () {}"), Returns::Unit);
        assert_eq!(returns_of("fn t() -> (()) {}"), Returns::Unit);
        assert_eq!(returns_of("async fn t() -> () {}"), Returns::Unit);
    }

    #[test]
    fn value_returns() {
        assert_eq!(
            returns_of("fn t() -> Result<(), String> { Ok(()) }"),
            Returns::Value
        );
        assert_eq!(
            returns_of("fn t() -> std::io::Result<()> { Ok(()) }"),
            Returns::Value
        );
        assert_eq!(returns_of("fn t() -> u8 { 0 }"), Returns::Value);
        assert_eq!(returns_of("fn t() -> ((),) { ((),) }"), Returns::Value);
    }
}
