//! The expansion: the user's function nested, unchanged, in a test function
//! whose whole body is one call to `::netns_test::__private::run_test`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Item, ItemFn, ReturnType, Visibility};

use crate::attrs;
use crate::errors::Errors;
use crate::options::{Options, Runtime};
use crate::signature::{self, Returns};

/// `#[netns_test(args)] item`, as tokens in and out. On misuse the output is
/// the item itself plus one `compile_error!` per problem, so that an IDE keeps
/// completing inside the body.
pub(crate) fn netns_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(func)) => func,
        Ok(other) => return with_error(item, not_a_function(&other)),
        Err(error) => return with_error(item, error),
    };
    let mut errors = Errors::default();
    let options = Options::parse(args, &mut errors);
    signature::check(&func.sig, &mut errors);
    let runtime = errors.check(options.runtime(func.sig.asyncness.is_some()));
    match (errors.finish(), runtime) {
        (Ok(()), Some(runtime)) => test_function(func, &options, runtime),
        (Err(error), _) => with_error(plain_function(func), error),
        (Ok(()), None) => unreachable!("a failed check leaves an error"),
    }
}

/// The test function. For `fn foo() -> R { body }`:
///
/// ```text
/// #[user attributes] #[::core::prelude::v1::test]
/// vis fn foo() -> Result<(), TestFailure> {   // `-> ..` only if R is not ()
///     fn foo() -> R { body }
///     ::netns_test::__private::run_test(TestOptions { .. }, foo)
/// }
/// ```
///
/// The nested function keeps `return` and `?` meaning what the user wrote;
/// the outer one keeps the user's spans, so errors point at their code.
fn test_function(func: ItemFn, options: &Options, runtime: Option<Runtime>) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) = attrs.into_iter().partition(attrs::is_inner);
    let test_attr = (!attrs::has_test(&outer_attrs)).then(|| quote!(#[::core::prelude::v1::test]));
    let should_panic = attrs::has_should_panic(&outer_attrs);
    let name = match &options.name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let (output, call_span) = match &sig.output {
        ReturnType::Type(_, ty) if signature::returns(&sig.output) == Returns::Value => (
            Some(quote!(-> ::core::result::Result<(), ::netns_test::__private::TestFailure>)),
            ty.span(),
        ),
        _ => (None, Span::call_site()),
    };
    let ident = &sig.ident;
    let body = match runtime {
        None => quote!(#ident),
        Some(runtime) => {
            let flavor = flavor(runtime);
            // Without the runtime's `tokio` feature, rustc blames this call:
            // point at the user's `async`.
            let span = sig.asyncness.map_or_else(Span::call_site, |a| a.span);
            quote_spanned!(span=> || ::netns_test::__private::block_on(#flavor, #ident()))
        }
    };
    let fn_token = &sig.fn_token;
    let user_fn = ItemFn {
        attrs: inner_attrs,
        vis: Visibility::Inherited,
        sig: sig.clone(),
        block,
    };
    let mut outer = quote!(#(#outer_attrs)* #test_attr #vis #fn_token #ident);
    sig.paren_token.surround(&mut outer, |_| {});
    output.to_tokens(&mut outer);
    user_fn.block.brace_token.surround(&mut outer, |outer| {
        // `..Default::default()` keeps this valid when the runtime adds a
        // field; until then clippy, which lints inside macro expansions,
        // calls it needless.
        let options = quote! {
            {
                #![allow(clippy::needless_update)]
                ::netns_test::__private::TestOptions {
                    name: #name,
                    should_panic: #should_panic,
                    ..::core::default::Default::default()
                }
            }
        };
        // A return type the runtime rejects is blamed on this call: give it
        // the span of the user's return type.
        let call = quote_spanned! {call_span=>
            ::netns_test::__private::run_test(#options, #body)
        };
        outer.extend(quote!(#user_fn #call));
    });
    outer
}

fn flavor(runtime: Runtime) -> TokenStream {
    match runtime {
        Runtime::CurrentThread => quote!(::netns_test::__private::Flavor::CurrentThread),
        Runtime::MultiThread { worker_threads } => {
            let worker_threads = match worker_threads {
                Some(n) => {
                    let n = proc_macro2::Literal::usize_unsuffixed(n);
                    quote!(::core::option::Option::Some(#n))
                }
                None => quote!(::core::option::Option::None),
            };
            quote!(::netns_test::__private::Flavor::MultiThread { worker_threads: #worker_threads })
        }
    }
}

/// The user's function as an ordinary item, next to the errors: without
/// test-only attributes (they would add warnings of their own) and allowed to
/// be unused, as nothing calls it.
fn plain_function(mut func: ItemFn) -> TokenStream {
    func.attrs.retain(|attr| !attrs::is_harness_only(attr));
    quote!(#[allow(dead_code)] #func)
}

fn with_error(mut item: TokenStream, error: syn::Error) -> TokenStream {
    item.extend(error.into_compile_error());
    item
}

/// The error for the attribute on an item that is not a function, spanned on
/// the item's head (`struct Foo`) rather than all of its body.
fn not_a_function(item: &Item) -> syn::Error {
    let head = match item {
        Item::Struct(i) => head(&i.struct_token, &i.ident),
        Item::Enum(i) => head(&i.enum_token, &i.ident),
        Item::Union(i) => head(&i.union_token, &i.ident),
        Item::Mod(i) => head(&i.mod_token, &i.ident),
        Item::Trait(i) => head(&i.trait_token, &i.ident),
        Item::Type(i) => head(&i.type_token, &i.ident),
        Item::Const(i) => head(&i.const_token, &i.ident),
        Item::Static(i) => head(&i.static_token, &i.ident),
        Item::Impl(i) => head(&i.impl_token, &i.self_ty),
        other => other.to_token_stream(),
    };
    let msg = "`#[netns_test]` goes on a test function, like `#[test]`: `fn name() { .. }`";
    syn::Error::new_spanned(head, msg)
}

fn head(keyword: &dyn ToTokens, name: &dyn ToTokens) -> TokenStream {
    quote!(#keyword #name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &str, item: &str) -> String {
        netns_test(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    fn tokens(expected: TokenStream) -> String {
        expected.to_string()
    }

    #[test]
    fn plain_test() {
        let expected = quote! {
            #[::core::prelude::v1::test]
            fn foo() {
                fn foo() { body(); }
                ::netns_test::__private::run_test(
                    {
                        #![allow(clippy::needless_update)]
                        ::netns_test::__private::TestOptions {
                            name: ::core::option::Option::None,
                            should_panic: false,
                            ..::core::default::Default::default()
                        }
                    },
                    foo
                )
            }
        };
        assert_eq!(expand("", "fn foo() { body(); }"), tokens(expected));
    }

    #[test]
    fn the_example_of_the_docs() {
        let item = r#"
            /// doc
            #[should_panic(expected = "boom")]
            pub(crate) fn foo() -> () { #![allow(unused)] body() }
        "#;
        let expected = quote! {
            #[doc = " doc"]
            #[should_panic(expected = "boom")]
            #[::core::prelude::v1::test]
            pub(crate) fn foo() {
                fn foo() -> () { #![allow(unused)] body() }
                ::netns_test::__private::run_test(
                    {
                        #![allow(clippy::needless_update)]
                        ::netns_test::__private::TestOptions {
                            name: ::core::option::Option::Some("ns0"),
                            should_panic: true,
                            ..::core::default::Default::default()
                        }
                    },
                    foo
                )
            }
        };
        assert_eq!(expand(r#"name = "ns0""#, item), tokens(expected));
    }

    #[test]
    fn result_test_keeps_the_attributes_in_order_and_no_second_test_attribute() {
        let item = r#"
            #[ignore = "slow"] #[test] #[serial] #[cfg(unix)]
            fn foo() -> std::io::Result<()> { Ok(()) }
        "#;
        let expected = quote! {
            #[ignore = "slow"] #[test] #[serial] #[cfg(unix)]
            fn foo() -> ::core::result::Result<(), ::netns_test::__private::TestFailure> {
                fn foo() -> std::io::Result<()> { Ok(()) }
                ::netns_test::__private::run_test(
                    {
                        #![allow(clippy::needless_update)]
                        ::netns_test::__private::TestOptions {
                            name: ::core::option::Option::None,
                            should_panic: false,
                            ..::core::default::Default::default()
                        }
                    },
                    foo
                )
            }
        };
        assert_eq!(expand("", item), tokens(expected));
    }

    #[test]
    fn async_test() {
        let expected = quote! {
            #[::core::prelude::v1::test]
            fn foo() -> ::core::result::Result<(), ::netns_test::__private::TestFailure> {
                async fn foo() -> Result<(), E> { body().await }
                ::netns_test::__private::run_test(
                    {
                        #![allow(clippy::needless_update)]
                        ::netns_test::__private::TestOptions {
                            name: ::core::option::Option::None,
                            should_panic: false,
                            ..::core::default::Default::default()
                        }
                    },
                    || ::netns_test::__private::block_on(
                        ::netns_test::__private::Flavor::CurrentThread,
                        foo()
                    )
                )
            }
        };
        assert_eq!(
            expand("", "async fn foo() -> Result<(), E> { body().await }"),
            tokens(expected)
        );
    }

    #[test]
    fn async_flavors() {
        let multi = expand(
            r#"flavor = "multi_thread", worker_threads = 4"#,
            "async fn foo() {}",
        );
        let flavor = quote! {
            ::netns_test::__private::Flavor::MultiThread {
                worker_threads: ::core::option::Option::Some(4)
            }
        };
        assert!(multi.contains(&tokens(flavor)), "{multi}");
        let default = expand(r#"flavor = "multi_thread""#, "async fn foo() {}");
        let flavor = quote! {
            ::netns_test::__private::Flavor::MultiThread {
                worker_threads: ::core::option::Option::None
            }
        };
        assert!(default.contains(&tokens(flavor)), "{default}");
    }

    #[test]
    fn misuse_emits_the_plain_function_and_every_error() {
        let item = "#[should_panic] #[doc = \"d\"] fn foo(a: u8) { body(); }";
        let output = expand("nmae = \"x\"", item);
        let plain = tokens(quote!(
            #[allow(dead_code)]
            #[doc = "d"]
            fn foo(a: u8) {
                body();
            }
        ));
        assert!(output.starts_with(&plain), "{output}");
        assert_eq!(output.matches("compile_error").count(), 2, "{output}");
        assert!(output.contains("did you mean `name`?"), "{output}");
        assert!(output.contains("take no arguments"), "{output}");
    }

    #[test]
    fn not_a_function_is_emitted_unchanged() {
        let item = "struct Foo { a: u8 }";
        let output = expand("", item);
        let unchanged = item.parse::<TokenStream>().unwrap().to_string();
        assert!(output.starts_with(&unchanged), "{output}");
        assert!(
            output.contains("goes on a test function, like `#[test]`"),
            "{output}"
        );
    }
}
