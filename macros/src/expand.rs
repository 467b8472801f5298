//! The expansion: the user's function nested, unchanged, in a runner
//! function whose whole body is one call to `::netns_test::__private::run_test`;
//! a `#[test]` function that calls the runner, for libtest; and a
//! registration of the runner, for the libtest-mimic harness of
//! `netns_test::main!()`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Item, ItemFn, Meta, ReturnType, Visibility};

use crate::attrs::{self, Place, ShouldPanic};
use crate::errors::Errors;
use crate::options::{Options, Runtime};
use crate::signature::{self, Returns};

/// `#[netns_test(args)] item`, as tokens in and out. On misuse the output is
/// the item itself plus one `compile_error!` per problem, so that an IDE keeps
/// completing inside the body.
pub(crate) fn netns_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(func)) => func,
        Ok(other) => return with_error(item, not_a_function(&other)),
        Err(error) => return with_error(item, error),
    };
    let mut errors = Errors::default();
    let mut options = Options::parse(args, &mut errors);
    compose(&mut func, &mut options, &mut errors);
    signature::check(&func.sig, &mut errors);
    let runtime = errors.check(options.runtime(func.sig.asyncness.is_some()));
    let should_panic = errors.check(attrs::should_panic(&func.attrs));
    if let Some(ShouldPanic::Yes | ShouldPanic::Expected(_)) = &should_panic {
        if signature::returns(&func.sig.output) == Returns::Value {
            errors.push(syn::Error::new_spanned(
                &func.sig.output,
                "a `#[should_panic]` test must return `()`, as with `#[test]`",
            ));
        }
    }
    match (errors.finish(), runtime, should_panic) {
        (Ok(()), Some(runtime), Some(should_panic)) => {
            test_function(func, &options, runtime, should_panic)
        }
        (Err(error), _, _) => with_error(plain_function(func), error),
        (Ok(()), _, _) => unreachable!("a failed check leaves an error"),
    }
}

/// Other crates' test attributes written after `#[netns_test]`:
/// - `#[tokio::test(..)]` is taken off, its `flavor` and `worker_threads`
///   becoming ours: the runtime is built on the namespace thread, as tokio's
///   own would be on the libtest thread, outside the namespace;
/// - `#[async_std::test]` is an error that says what to write instead: its
///   executor's threads are global, made outside the namespace;
/// - `#[test_log::test]` becomes `#[test_log::test(allow(dead_code))]`
///   (test-log's form for "this attribute instead of `#[test]`", here a
///   no-op) and goes on the runner: logging is set up before the body under
///   libtest and under the harness of `main!()`, which both call the runner,
///   and the test stays one test.
fn compose(func: &mut ItemFn, options: &mut Options, errors: &mut Errors) {
    let is_async = func.sig.asyncness.is_some();
    func.attrs.retain_mut(|attr| {
        if attrs::is_tokio_test(attr) {
            if is_async {
                options.take_tokio_test(attr, errors);
            } else {
                // One error: its options would add "not async" errors of
                // their own.
                errors.push(syn::Error::new_spanned(
                    &*attr,
                    "`#[tokio::test]` runs an `async fn`, and this test is not async: \
                     make it `async fn`, or remove `#[tokio::test]`",
                ));
            }
            return false;
        }
        if attrs::is_async_std_test(attr) {
            errors.push(syn::Error::new_spanned(
                &*attr,
                "`#[async_std::test]` cannot run a test in a network namespace: async-std's \
                 executor threads are global, made outside the namespace. Write \
                 `#[netns_test] async fn` (netns-test's `tokio` feature: the runtime is built \
                 inside the namespace), or a `#[netns_test] fn` whose body calls \
                 `async_std::task::block_on(..)` (tasks it spawns still run outside)",
            ));
            return false;
        }
        if attrs::is_test_log(attr) {
            match &attr.meta {
                Meta::Path(path) => attr.meta = syn::parse_quote!(#path(allow(dead_code))),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "write `#[test_log::test]` without arguments after `#[netns_test]`; for an \
                     async test add `#[tokio::test]` or the options of `#[netns_test(..)]`",
                )),
            }
        }
        true
    });
}

/// The expansion of `#[netns_test(options)] fn foo() -> R { body }`, in three
/// items:
///
/// ```text
/// #[cfg(..)] #[other user attributes]
/// fn __netns_test_foo() -> Result<(), TestFailure> {  // `-> ..` only if R is not ()
///     fn foo() -> R { body }
///     ::netns_test::__private::run_test_seeds(TestOptions { .. }, foo)
/// }
///
/// #[cfg(..)] #[doc, test, should_panic, ignore attributes] #[::core::prelude::v1::test]
/// vis fn foo() -> Result<(), TestFailure> { __netns_test_foo() }
///
/// #[cfg(..)]
/// ::netns_test::__private::register_test!("foo", ignored, ShouldPanic, __netns_test_foo);
/// ```
///
/// (`::netns_test` or the path of the `crate = ".."` option.) With the
/// runtime's `harness` feature, `register_test!` is a link-time entry
/// (`Registration { .., run: || .. __netns_test_foo() .. }`) in the list
/// `main!()` reads; without it, only a use of the runner.
///
/// Under libtest (`--test`), `foo` is the test and calls the runner. In a
/// `harness = false` target, rustc drops every `#[test]` function, so the
/// registration, which exists in both, is how `netns_test::main!()` finds
/// the runner. Each item is used in either build: no dead code, no warning.
/// An attribute of another crate is handled by [`compose`] first.
///
/// The nested function keeps `return` and `?` meaning what the user wrote;
/// the test function keeps the user's spans, so errors point at their code.
/// Attributes that act on the body (`#[serial]`, lint levels) go on the
/// runner, so they work under both harnesses.
fn test_function(
    func: ItemFn,
    options: &Options,
    runtime: Option<Runtime>,
    should_panic: ShouldPanic,
) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) = attrs.into_iter().partition(attrs::is_inner);
    let test_attr = (!attrs::has_test(&outer_attrs)).then(|| quote!(#[::core::prelude::v1::test]));
    let ignored = attrs::is_ignored(&outer_attrs);
    let on = |places: &[Place]| -> Vec<&Attribute> {
        outer_attrs
            .iter()
            .filter(|attr| places.contains(&attrs::place(attr)))
            .collect()
    };
    let test_attrs = on(&[Place::Test, Place::Everywhere]);
    let runner_attrs = on(&[Place::Runner, Place::Everywhere]);
    let cfg_attrs = on(&[Place::Everywhere]);

    let krate = options.crate_path();
    let (output, call_span) = match &sig.output {
        ReturnType::Type(_, ty) if signature::returns(&sig.output) == Returns::Value => (
            Some(quote!(-> ::core::result::Result<(), #krate::__private::TestFailure>)),
            ty.span(),
        ),
        _ => (None, Span::call_site()),
    };
    let ident = &sig.ident;
    let runner = format_ident!("__netns_test_{}", ident.unraw());
    let body = match runtime {
        None => quote!(#ident),
        Some(runtime) => {
            let flavor = flavor(&krate, runtime);
            // Without the runtime's `tokio` feature, rustc blames this call:
            // point at the user's `async`.
            let span = sig.asyncness.map_or_else(Span::call_site, |a| a.span);
            quote_spanned!(span=> || #krate::__private::block_on(#flavor, #ident()))
        }
    };
    let user_fn = ItemFn {
        attrs: inner_attrs,
        vis: Visibility::Inherited,
        sig: sig.clone(),
        block,
    };
    let options = test_options(&krate, ident, options, &should_panic);
    // A return type the runtime rejects is blamed on this call: give it the
    // span of the user's return type.
    let call = quote_spanned! {call_span=>
        #krate::__private::run_test_seeds(#options, #body)
    };
    let runner_fn = quote! {
        #(#runner_attrs)*
        fn #runner() #output {
            #user_fn
            #call
        }
    };

    let fn_token = &sig.fn_token;
    let mut test_fn = quote!(#(#test_attrs)* #test_attr #vis #fn_token #ident);
    sig.paren_token.surround(&mut test_fn, |_| {});
    output.to_tokens(&mut test_fn);
    test_fn.extend(quote!({ #runner() }));

    let registration = registration(&krate, ident, &runner, ignored, &should_panic);
    quote! {
        #runner_fn
        #test_fn
        #(#cfg_attrs)*
        #registration
    }
}

/// The `TestOptions` the runner passes to `run_test`.
fn test_options(
    krate: &TokenStream,
    ident: &syn::Ident,
    options: &Options,
    should_panic: &ShouldPanic,
) -> TokenStream {
    let some_or_none = |value: Option<TokenStream>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let name = some_or_none(options.name.as_ref().map(ToTokens::to_token_stream));
    // `&LAB` coerces to `&'static dyn SuiteFixture`; if `LAB` is not a
    // `static` `Fixture`, rustc says so at the user's path.
    let fixture = some_or_none(
        options
            .fixture
            .as_ref()
            .map(|path| quote_spanned!(path.span()=> &#path)),
    );
    let host = some_or_none(options.host.as_ref().map(ToTokens::to_token_stream));
    let exclusive = options.exclusive;
    let seeds = options
        .seeds
        .map(|n| quote!(seeds: ::core::option::Option::Some(#n),));
    // `capture`: the runtime's `capture` feature must be on, which only the
    // runtime knows: a call whose bound fails, with a message, without it.
    let capture = options.capture.then(|| {
        quote! { capture: #krate::__private::capture_option_needs_the_feature::<()>(), }
    });
    let should_panic = !matches!(should_panic, ShouldPanic::No);
    // The test's identity, passed explicitly (never read from a thread's
    // name): `module_path!()` where the test is, and its name.
    let test_name = ident.unraw().to_string();
    // `..Default::default()` keeps this valid when the runtime adds a field;
    // until then clippy, which lints inside macro expansions, calls it
    // needless.
    quote! {
        {
            #![allow(clippy::needless_update)]
            #krate::__private::TestOptions {
                test: ::core::option::Option::Some(#krate::__private::TestId::new(
                    ::core::module_path!(),
                    #test_name,
                )),
                name: #name,
                should_panic: #should_panic,
                fixture: #fixture,
                host: #host,
                exclusive: #exclusive,
                #capture
                #seeds
                ..::core::default::Default::default()
            }
        }
    }
}

/// The test's entry in the list that the libtest-mimic harness of
/// `netns_test::main!()` reads, made by the runtime's `register_test!`: the
/// runtime knows whether its `harness` feature is on (an entry) or off
/// (none), this crate cannot.
fn registration(
    krate: &TokenStream,
    ident: &syn::Ident,
    runner: &syn::Ident,
    ignored: bool,
    should_panic: &ShouldPanic,
) -> TokenStream {
    // As libtest names it: `r#match` keeps its `r#`.
    let name = ident.to_string();
    let should_panic = match should_panic {
        ShouldPanic::No => quote!(No),
        ShouldPanic::Yes => quote!(Yes),
        ShouldPanic::Expected(expected) => quote!(Expected(#expected)),
    };
    quote! {
        #krate::__private::register_test!(#name, #ignored, #should_panic, #runner);
    }
}

fn flavor(krate: &TokenStream, runtime: Runtime) -> TokenStream {
    match runtime {
        Runtime::CurrentThread => quote!(#krate::__private::Flavor::CurrentThread),
        Runtime::MultiThread { worker_threads } => {
            let worker_threads = match worker_threads {
                Some(n) => {
                    let n = proc_macro2::Literal::usize_unsuffixed(n);
                    quote!(::core::option::Option::Some(#n))
                }
                None => quote!(::core::option::Option::None),
            };
            quote!(#krate::__private::Flavor::MultiThread { worker_threads: #worker_threads })
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

    /// The options block for `name`/`should_panic`, the other fields left
    /// at their defaults.
    fn options(name: TokenStream, should_panic: bool) -> TokenStream {
        quote! {
            {
                #![allow(clippy::needless_update)]
                ::netns_test::__private::TestOptions {
                    test: ::core::option::Option::Some(::netns_test::__private::TestId::new(
                        ::core::module_path!(),
                        "foo",
                    )),
                    name: #name,
                    should_panic: #should_panic,
                    fixture: ::core::option::Option::None,
                    host: ::core::option::Option::None,
                    exclusive: false,
                    ..::core::default::Default::default()
                }
            }
        }
    }

    fn registration(ignored: bool, should_panic: TokenStream) -> TokenStream {
        quote! {
            ::netns_test::__private::register_test!("foo", #ignored, #should_panic, __netns_test_foo);
        }
    }

    #[test]
    fn plain_test() {
        let options = options(quote!(::core::option::Option::None), false);
        let registration = registration(false, quote!(No));
        let expected = quote! {
            fn __netns_test_foo() {
                fn foo() { body(); }
                ::netns_test::__private::run_test_seeds(#options, foo)
            }
            #[::core::prelude::v1::test]
            fn foo() { __netns_test_foo() }
            #registration
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
        let options = options(quote!(::core::option::Option::Some("ns0")), true);
        let registration = registration(false, quote!(Expected("boom")));
        let expected = quote! {
            fn __netns_test_foo() {
                fn foo() -> () { #![allow(unused)] body() }
                ::netns_test::__private::run_test_seeds(#options, foo)
            }
            #[doc = " doc"]
            #[should_panic(expected = "boom")]
            #[::core::prelude::v1::test]
            pub(crate) fn foo() { __netns_test_foo() }
            #registration
        };
        assert_eq!(expand(r#"name = "ns0""#, item), tokens(expected));
    }

    #[test]
    fn result_test_places_each_attribute_and_adds_no_second_test_attribute() {
        let item = r#"
            #[ignore = "slow"] #[test] #[serial] #[cfg(unix)] #[allow(unused)]
            fn foo() -> std::io::Result<()> { Ok(()) }
        "#;
        let options = options(quote!(::core::option::Option::None), false);
        let registration = registration(true, quote!(No));
        let expected = quote! {
            #[serial] #[cfg(unix)] #[allow(unused)]
            fn __netns_test_foo() -> ::core::result::Result<(), ::netns_test::__private::TestFailure> {
                fn foo() -> std::io::Result<()> { Ok(()) }
                ::netns_test::__private::run_test_seeds(#options, foo)
            }
            #[ignore = "slow"] #[test] #[cfg(unix)]
            fn foo() -> ::core::result::Result<(), ::netns_test::__private::TestFailure> {
                __netns_test_foo()
            }
            #[cfg(unix)]
            #registration
        };
        assert_eq!(expand("", item), tokens(expected));
    }

    #[test]
    fn fixture_options() {
        let output = expand(
            r#"fixture = crate::LAB, host = "client", exclusive"#,
            "fn foo() {}",
        );
        let fields = quote! {
            name: ::core::option::Option::None,
            should_panic: false,
            fixture: ::core::option::Option::Some(&crate::LAB),
            host: ::core::option::Option::Some("client"),
            exclusive: true,
        };
        assert!(output.contains(&tokens(fields)), "{output}");
        let output = expand("fixture = LAB, exclusive = false", "fn foo() {}");
        let fields = quote! {
            fixture: ::core::option::Option::Some(&LAB),
            host: ::core::option::Option::None,
            exclusive: false,
        };
        assert!(output.contains(&tokens(fields)), "{output}");
    }

    #[test]
    fn should_panic_forms_reach_the_registration() {
        let yes = expand("", "#[should_panic] fn foo() {}");
        assert!(yes.contains(&tokens(quote!(should_panic: true,))), "{yes}");
        assert!(
            yes.contains(&tokens(quote!(("foo", false, Yes, __netns_test_foo)))),
            "{yes}"
        );
        let expected = expand("", r#"#[should_panic = "x"] fn foo() {}"#);
        assert!(
            expected.contains(&tokens(quote!((
                "foo",
                false,
                Expected("x"),
                __netns_test_foo
            )))),
            "{expected}"
        );
        let ignored = expand("", "#[ignore] fn foo() {}");
        assert!(
            ignored.contains(&tokens(quote!(("foo", true, No, __netns_test_foo)))),
            "{ignored}"
        );
    }

    #[test]
    fn should_panic_on_a_result_test_is_an_error() {
        let output = expand(
            "",
            "#[should_panic] fn foo() -> Result<(), String> { Ok(()) }",
        );
        assert!(
            output.contains("a `#[should_panic]` test must return `()`"),
            "{output}"
        );
    }

    #[test]
    fn raw_identifiers_are_named_as_libtest_names_them() {
        let output = expand("", "fn r#match() {}");
        assert!(output.contains("fn __netns_test_match ()"), "{output}");
        assert!(output.contains(r#"("r#match""#), "{output}");
    }

    #[test]
    fn async_test() {
        let options = options(quote!(::core::option::Option::None), false);
        let registration = registration(false, quote!(No));
        let expected = quote! {
            fn __netns_test_foo() -> ::core::result::Result<(), ::netns_test::__private::TestFailure> {
                async fn foo() -> Result<(), E> { body().await }
                ::netns_test::__private::run_test_seeds(
                    #options,
                    || ::netns_test::__private::block_on(
                        ::netns_test::__private::Flavor::CurrentThread,
                        foo()
                    )
                )
            }
            #[::core::prelude::v1::test]
            fn foo() -> ::core::result::Result<(), ::netns_test::__private::TestFailure> {
                __netns_test_foo()
            }
            #registration
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

    #[test]
    fn crate_option_replaces_the_path() {
        let output = expand(
            r#"crate = "my::nt", flavor = "multi_thread""#,
            "async fn foo() -> Result<(), E> { Ok(()) }",
        );
        assert!(!output.contains(":: netns_test ::"), "{output}");
        for path in [
            quote!(my::nt::__private::run_test_seeds),
            quote!(my::nt::__private::block_on),
            quote!(my::nt::__private::Flavor::MultiThread),
            quote!(my::nt::__private::TestOptions),
            quote!(my::nt::__private::TestFailure),
            quote!(my::nt::__private::register_test!),
        ] {
            assert!(output.contains(&tokens(path.clone())), "{path}: {output}");
        }
    }

    #[test]
    fn tokio_test_is_taken_over() {
        let output = expand(
            "",
            r#"#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn foo() {}"#,
        );
        assert!(!output.contains("tokio"), "{output}");
        let flavor = quote! {
            ::netns_test::__private::Flavor::MultiThread {
                worker_threads: ::core::option::Option::Some(2)
            }
        };
        assert!(output.contains(&tokens(flavor)), "{output}");
        let test = tokens(quote!(#[::core::prelude::v1::test] fn foo()));
        assert_eq!(output.matches(&test).count(), 1, "{output}");
        let plain = expand("", "#[::tokio::test] async fn foo() {}");
        assert!(plain.contains("Flavor :: CurrentThread"), "{plain}");
    }

    #[test]
    fn test_log_moves_to_the_runner() {
        let output = expand("", "#[test_log::test] fn foo() {}");
        let runner = quote! {
            #[test_log::test(allow(dead_code))]
            fn __netns_test_foo()
        };
        assert!(output.contains(&tokens(runner)), "{output}");
        let test = tokens(quote!(#[::core::prelude::v1::test] fn foo()));
        assert_eq!(output.matches(&test).count(), 1, "{output}");
    }

    #[test]
    fn tokio_test_on_a_sync_fn_is_one_error() {
        let output = expand("", r#"#[tokio::test(flavor = "multi_thread")] fn foo() {}"#);
        assert_eq!(output.matches("compile_error").count(), 1, "{output}");
        assert!(output.contains("this test is not async"), "{output}");
    }

    #[test]
    fn async_std_test_is_an_error() {
        let output = expand("", "#[async_std::test] async fn foo() {}");
        assert!(output.contains("compile_error"), "{output}");
        assert!(!output.contains("async_std :: test"), "{output}");
    }
}
