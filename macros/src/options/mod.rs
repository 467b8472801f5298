//! The `name = value` options of `#[netns_test(...)]`.
//!
//! To add an option: a row in [`KNOWN`], a field in [`Options`] and an arm in
//! [`Options::set`]. Checks between options go in [`Options::check_together`];
//! checks that need the function (an option that only fits an `async fn`) go
//! in [`Options::runtime`]. The options of a `#[tokio::test]` written after
//! ours are adopted in a step of their own (`tokio.rs`).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Meta, MetaNameValue, Path, Token};

use crate::errors::Errors;
use crate::hint::did_you_mean;

mod tokio;
mod values;

#[cfg(test)]
use values::validate_name;
use values::{
    parse_crate, parse_fixture, parse_flag, parse_flavor, parse_host, parse_name, parse_seeds,
    parse_worker_threads,
};

/// Each option, with the example that hints show for it.
const KNOWN: &[(&str, &str)] = &[
    ("name", r#"name = "ns0""#),
    ("flavor", r#"flavor = "multi_thread""#),
    ("worker_threads", "worker_threads = 2"),
    ("fixture", "fixture = LAB"),
    ("host", r#"host = "client""#),
    ("exclusive", "exclusive"),
    ("capture", "capture"),
    ("seeds", "seeds = 20"),
    ("crate", r#"crate = "my_crate::netns_test""#),
];

/// The values of `flavor`, as tokio's `#[tokio::test]` spells them.
const FLAVORS: &[&str] = &["current_thread", "multi_thread"];

/// The options as written, each kept with its tokens for later errors.
#[derive(Default)]
pub(crate) struct Options {
    /// `name = "ns0"`: already checked against iproute2's rule.
    pub(crate) name: Option<LitStr>,
    /// `flavor = "multi_thread"`: `true` for multi_thread.
    flavor: Option<(bool, MetaNameValue)>,
    /// `worker_threads = N`, N >= 1.
    worker_threads: Option<(usize, MetaNameValue)>,
    /// `fixture = LAB`: the path of a `static` `Fixture`.
    pub(crate) fixture: Option<Path>,
    /// `host = "client"`: a host of the fixture.
    pub(crate) host: Option<LitStr>,
    /// `exclusive` or `exclusive = true`: no other test of the fixture runs
    /// meanwhile.
    pub(crate) exclusive: bool,
    /// `capture` or `capture = true`: keep a pcapng capture of this test,
    /// as `NETNS_TEST_CAPTURE=all` would (the `capture` feature).
    pub(crate) capture: bool,
    /// `seeds = N`: a seed sweep of N runs.
    pub(crate) seeds: Option<u32>,
    /// `crate = "my_crate::netns_test"`: where the expansion finds the
    /// runtime, for a crate that re-exports netns-test.
    krate: Option<Path>,
    /// The keys of the options seen so far, to report a second `name = ..`
    /// and to point at options that do not go together.
    seen: Vec<Ident>,
}

/// The tokio runtime an `async fn` test body runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    CurrentThread,
    MultiThread { worker_threads: Option<usize> },
}

impl Options {
    /// Parses the attribute's arguments. Every bad option is pushed to
    /// `errors` and left unset; the others are kept, so later checks still run.
    pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        let parser = Punctuated::<Meta, Token![,]>::parse_terminated;
        let metas = parser.parse2(args).map_err(|e| {
            let msg = format!("{e}; options are written `key = value`, as in `name = \"ns0\"`");
            syn::Error::new(e.span(), msg)
        });
        if let Some(metas) = errors.check(metas) {
            for meta in metas {
                errors.check(options.set(meta));
            }
        }
        options.check_together(errors);
        options
    }

    fn set(&mut self, meta: Meta) -> syn::Result<()> {
        let key = option_key(&meta)?;
        let name = key.to_string();
        let Some(&(_, example)) = KNOWN.iter().find(|(known, _)| *known == name) else {
            return Err(unknown_option(key));
        };
        if self.seen.iter().any(|seen| *seen == name) {
            let msg = format!("option `{name}` is set twice; keep one");
            return Err(syn::Error::new(key.span(), msg));
        }
        self.seen.push(key.clone());
        if name == "exclusive" {
            self.exclusive = parse_flag(&meta, "exclusive")?;
            return Ok(());
        }
        if name == "capture" {
            self.capture = parse_flag(&meta, "capture")?;
            return Ok(());
        }
        let nv = match meta {
            Meta::NameValue(nv) => nv,
            other => {
                let msg = format!("option `{name}` needs a value: write `{example}`");
                return Err(syn::Error::new_spanned(other, msg));
            }
        };
        match name.as_str() {
            "name" => self.name = Some(parse_name(&nv.value)?),
            "flavor" => self.flavor = Some((parse_flavor(&nv.value)?, nv)),
            "worker_threads" => self.worker_threads = Some((parse_worker_threads(&nv.value)?, nv)),
            "fixture" => self.fixture = Some(parse_fixture(&nv.value)?),
            "host" => self.host = Some(parse_host(&nv.value)?),
            "seeds" => self.seeds = Some(parse_seeds(&nv.value)?),
            "crate" => self.krate = Some(parse_crate(&nv.value)?),
            _ => unreachable!("every row of KNOWN has an arm"),
        }
        Ok(())
    }

    /// The path the expansion reaches the runtime by: `::netns_test`, or
    /// the `crate = ".."` option's.
    pub(crate) fn crate_path(&self) -> TokenStream {
        match &self.krate {
            Some(path) => path.to_token_stream(),
            None => quote::quote!(::netns_test),
        }
    }

    /// Where the option `key` was written, if it was.
    fn key_span(&self, key: &str) -> Option<Span> {
        self.seen.iter().find(|seen| *seen == key).map(Ident::span)
    }

    /// Options that need or exclude each other: `host` and `exclusive` are
    /// about a fixture, and a test runs either in a named namespace or in a
    /// fixture's host, not both.
    fn check_together(&self, errors: &mut Errors) {
        let position = |key: &str| self.seen.iter().position(|seen| *seen == key);
        if let (Some(name), Some(fixture)) = (position("name"), position("fixture")) {
            let msg = "`name` and `fixture` exclude each other: the test runs either in the \
                       named namespace or in a host of the fixture; keep one";
            // Point at whichever came second: that is the one to reconsider.
            errors.push(syn::Error::new(self.seen[name.max(fixture)].span(), msg));
        }
        if position("fixture").is_some() {
            return;
        }
        if let Some(host) = self.key_span("host") {
            let msg = "`host` picks a host of a fixture: add `fixture = LAB`, the path of a \
                       `static LAB: Fixture<..>`";
            errors.push(syn::Error::new(host, msg));
        }
        if let Some(exclusive) = self.key_span("exclusive") {
            let msg = "`exclusive` asks for sole use of a fixture: add `fixture = LAB`, or drop \
                       it (a test without a fixture has its namespace to itself)";
            errors.push(syn::Error::new(exclusive, msg));
        }
    }

    /// The runtime for the body: `None` for a plain `fn`. `flavor` and
    /// `worker_threads` only make sense on an `async fn`, and
    /// `worker_threads` only with `flavor = "multi_thread"`, as in tokio.
    pub(crate) fn runtime(&self, is_async: bool) -> syn::Result<Option<Runtime>> {
        let flavor = self.flavor.as_ref();
        let worker_threads = self.worker_threads.as_ref();
        if !is_async {
            let mut errors = Errors::default();
            for (key, nv) in [
                ("flavor", flavor.map(|f| &f.1)),
                ("worker_threads", worker_threads.map(|w| &w.1)),
            ] {
                if let Some(nv) = nv {
                    let msg = format!(
                        "`{key}` picks the tokio runtime of an `async fn` test; this test is not async: \
                         remove `{key}` or make it `async fn`"
                    );
                    errors.push(syn::Error::new_spanned(nv, msg));
                }
            }
            return errors.finish().map(|()| None);
        }
        let runtime = match (flavor, worker_threads) {
            (Some((true, _)), worker_threads) => Runtime::MultiThread {
                worker_threads: worker_threads.map(|(n, _)| *n),
            },
            (_, Some((_, nv))) => {
                let msg = "`worker_threads` needs the multi-thread runtime: \
                           add `flavor = \"multi_thread\"`";
                return Err(syn::Error::new_spanned(nv, msg));
            }
            (_, None) => Runtime::CurrentThread,
        };
        Ok(Some(runtime))
    }
}

/// The bare identifier an option is named by.
fn option_key(meta: &Meta) -> syn::Result<&Ident> {
    meta.path().get_ident().ok_or_else(|| {
        let msg = format!("expected an option name, one of {}", known_list());
        syn::Error::new_spanned(meta.path(), msg)
    })
}

fn unknown_option(key: &Ident) -> syn::Error {
    let names: Vec<&str> = KNOWN.iter().map(|(name, _)| *name).collect();
    let msg = match did_you_mean(&key.to_string(), &names) {
        Some(close) => format!("unknown option `{key}`; did you mean `{close}`?"),
        None => format!("unknown option `{key}`; the options are {}", known_list()),
    };
    syn::Error::new(key.span(), msg)
}

fn known_list() -> String {
    let names: Vec<String> = KNOWN.iter().map(|(name, _)| format!("`{name}`")).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str) -> (Options, Vec<String>) {
        let mut errors = Errors::default();
        let options = Options::parse(args.parse().unwrap(), &mut errors);
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (options, messages)
    }

    fn errors_of(args: &str) -> Vec<String> {
        parse(args).1
    }

    #[test]
    fn no_options() {
        let (options, errors) = parse("");
        assert!(errors.is_empty());
        assert!(options.name.is_none());
        assert_eq!(options.runtime(false).unwrap(), None);
        assert_eq!(options.runtime(true).unwrap(), Some(Runtime::CurrentThread));
    }

    #[test]
    fn all_options() {
        let (options, errors) =
            parse(r#"name = "ns0", flavor = "multi_thread", worker_threads = 4,"#);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(options.name.as_ref().unwrap().value(), "ns0");
        let runtime = options.runtime(true).unwrap();
        assert_eq!(
            runtime,
            Some(Runtime::MultiThread {
                worker_threads: Some(4)
            })
        );
    }

    #[test]
    fn flavors() {
        let runtime = |args| parse(args).0.runtime(true).unwrap();
        assert_eq!(
            runtime(r#"flavor = "current_thread""#),
            Some(Runtime::CurrentThread)
        );
        let multi = Some(Runtime::MultiThread {
            worker_threads: None,
        });
        assert_eq!(runtime(r#"flavor = "multi_thread""#), multi);
    }

    #[test]
    fn unknown_option_suggests_the_near_one() {
        assert_eq!(
            errors_of(r#"nmae = "ns0""#),
            ["unknown option `nmae`; did you mean `name`?"]
        );
        assert_eq!(
            errors_of("colour = 1"),
            [
                "unknown option `colour`; the options are `name`, `flavor`, `worker_threads`, \
                 `fixture`, `host`, `exclusive`, `capture`, `seeds`, `crate`"
            ]
        );
    }

    #[test]
    fn every_bad_option_is_reported() {
        let errors = errors_of(r#"nmae = "a", flavour = "multi_thread", name = 3"#);
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn syntax_errors_show_the_form() {
        let errors = errors_of("name = ");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].ends_with(r#"; options are written `key = value`, as in `name = "ns0"`"#));
    }

    #[test]
    fn duplicate_option() {
        let (options, errors) = parse(r#"name = "a", name = "b""#);
        assert_eq!(errors, ["option `name` is set twice; keep one"]);
        assert_eq!(options.name.unwrap().value(), "a");
    }

    #[test]
    fn options_need_values() {
        assert_eq!(
            errors_of("name"),
            [r#"option `name` needs a value: write `name = "ns0"`"#]
        );
        assert_eq!(
            errors_of(r#"flavor("multi_thread")"#),
            [r#"option `flavor` needs a value: write `flavor = "multi_thread"`"#]
        );
        assert_eq!(
            errors_of("a::name = 1")[0],
            "expected an option name, one of `name`, `flavor`, `worker_threads`, `fixture`, \
             `host`, `exclusive`, `capture`, `seeds`, `crate`"
        );
    }

    #[test]
    fn name_must_be_a_string_literal() {
        assert_eq!(
            errors_of("name = ns0"),
            [r#"`name` takes a string literal; write `name = "ns0"`"#]
        );
        assert_eq!(
            errors_of("name = 3"),
            [r#"`name` takes a string literal; write `name = "3"`"#]
        );
        assert_eq!(
            errors_of(r#"name = concat!("a", "b")"#),
            [r#"`name` takes a string literal; for example `name = "ns0"`"#]
        );
    }

    #[test]
    fn name_follows_iproute2() {
        for good in ["ns0", "a.b", "...", "with space", &"x".repeat(255)] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../../etc/x",
            "/",
            "a\0b",
            &"x".repeat(256),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("a\0b").unwrap_err().contains("NUL"));
        assert_eq!(
            errors_of(r#"name = "../etc""#),
            [
                "namespace name `../etc` contains `/`; it becomes one file in /run/netns, \
              so it must not contain a path separator"
            ]
        );
    }

    /// The macro checks `name = ".."` at compile time and the runtime's
    /// `netns_test::validate_name` at run time; the two cannot share code (a
    /// proc-macro crate cannot depend on the runtime), so they are held to
    /// one table here, through the attribute's parser too.
    #[test]
    fn the_macro_and_the_runtime_agree_on_names() {
        let long = "x".repeat(255);
        let too_long = "x".repeat(256);
        // Bytes, not characters: 'é' is two.
        let long_utf8 = format!("{}x", "é".repeat(127));
        let too_long_utf8 = "é".repeat(128);
        let names: &[(&str, bool)] = &[
            ("ns0", true),
            ("a.b", true),
            ("...", true),
            (".hidden", true),
            ("with space", true),
            ("-", true),
            ("tab\there", true),
            ("new\nline", true),
            ("é", true),
            (&long, true),
            (&long_utf8, true),
            ("", false),
            (".", false),
            ("..", false),
            ("/", false),
            ("a/b", false),
            ("../../etc/x", false),
            ("ns0/", false),
            ("\0", false),
            ("a\0b", false),
            (&too_long, false),
            (&too_long_utf8, false),
        ];
        for &(name, valid) in names {
            assert_eq!(validate_name(name).is_ok(), valid, "the macro on {name:?}");
            assert_eq!(
                netns_test::validate_name(name).is_ok(),
                valid,
                "the runtime on {name:?}"
            );
            let errors = errors_of(&format!("name = {name:?}"));
            assert_eq!(
                errors.is_empty(),
                valid,
                "#[netns_test(name = {name:?})]: {errors:?}"
            );
        }
    }

    #[test]
    fn bad_flavor() {
        assert_eq!(
            errors_of(r#"flavor = "multithread""#),
            [r#"unknown flavor `"multithread"`; did you mean `"multi_thread"`?"#]
        );
        assert_eq!(
            errors_of(r#"flavor = "rayon""#),
            [r#"unknown flavor `"rayon"`; expected `"current_thread"` or `"multi_thread"`"#]
        );
        assert_eq!(
            errors_of("flavor = multi_thread"),
            [r#"`flavor` takes a string literal; write `flavor = "multi_thread"`"#]
        );
    }

    #[test]
    fn bad_worker_threads() {
        assert_eq!(
            errors_of("worker_threads = 0"),
            ["`worker_threads` must be at least 1"]
        );
        assert_eq!(
            errors_of(r#"worker_threads = "4""#),
            ["`worker_threads` takes an integer literal; write `worker_threads = 4`"]
        );
        assert_eq!(errors_of("worker_threads = -1").len(), 1);
    }

    #[test]
    fn worker_threads_needs_multi_thread() {
        let (options, errors) = parse("worker_threads = 2");
        assert!(errors.is_empty());
        let err = options.runtime(true).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"`worker_threads` needs the multi-thread runtime: add `flavor = "multi_thread"`"#
        );
        let (options, _) = parse(r#"flavor = "current_thread", worker_threads = 2"#);
        assert!(options.runtime(true).is_err());
    }

    #[test]
    fn runtime_options_need_an_async_fn() {
        let (options, _) = parse(r#"flavor = "multi_thread", worker_threads = 2"#);
        let errors: Vec<String> = options
            .runtime(false)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("`flavor` picks the tokio runtime of an `async fn` test"));
        assert!(errors[1].starts_with("`worker_threads` picks"));
    }

    #[test]
    fn fixture_options() {
        let (options, errors) =
            parse(r#"fixture = crate::fixtures::LAB, host = "client", exclusive"#);
        assert!(errors.is_empty(), "{errors:?}");
        let fixture = options.fixture.unwrap();
        let segments: Vec<String> = fixture
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        assert_eq!(segments, ["crate", "fixtures", "LAB"]);
        assert_eq!(options.host.unwrap().value(), "client");
        assert!(options.exclusive);
        for (args, exclusive) in [
            ("fixture = LAB", false),
            ("fixture = LAB, exclusive = true", true),
            ("fixture = LAB, exclusive = false", false),
        ] {
            let (options, errors) = parse(args);
            assert!(errors.is_empty(), "{args}: {errors:?}");
            assert_eq!(options.exclusive, exclusive, "{args}");
        }
    }

    #[test]
    fn bad_fixture_options() {
        assert_eq!(
            errors_of(r#"fixture = "LAB""#),
            ["`fixture` takes the path of a `static`, not a string: write `fixture = LAB`"]
        );
        assert_eq!(
            errors_of("fixture = &LAB"),
            [
                "`fixture` takes the path of a `static` `Fixture`, for example `fixture = LAB` \
                 or `fixture = crate::LAB`"
            ]
        );
        assert_eq!(
            errors_of("fixture"),
            ["option `fixture` needs a value: write `fixture = LAB`"]
        );
        assert_eq!(
            errors_of("fixture = LAB, host = client"),
            [r#"`host` takes a string literal; write `host = "client"`"#]
        );
        assert_eq!(
            errors_of(r#"fixture = LAB, host = """#),
            [r#"host name is empty; name one of the fixture's hosts, e.g. `host = "client"`"#]
        );
        let flag =
            "`exclusive` is a flag: write `exclusive`, or `exclusive = true` / `exclusive = false`";
        assert_eq!(errors_of("fixture = LAB, exclusive = 1"), [flag]);
        assert_eq!(errors_of("fixture = LAB, exclusive(true)"), [flag]);
        assert_eq!(
            errors_of("fixture = LAB, exclusive, exclusive"),
            ["option `exclusive` is set twice; keep one"]
        );
        assert_eq!(
            did_you_mean("fixtures", &["name", "fixture"]),
            Some("fixture")
        );
        assert_eq!(
            errors_of("exclusiv"),
            ["unknown option `exclusiv`; did you mean `exclusive`?"]
        );
    }

    #[test]
    fn fixture_options_that_do_not_go_together() {
        let both = "`name` and `fixture` exclude each other: the test runs either in the named \
                    namespace or in a host of the fixture; keep one";
        assert_eq!(errors_of(r#"name = "ns0", fixture = LAB"#), [both]);
        assert_eq!(errors_of(r#"fixture = LAB, name = "ns0""#), [both]);
        let errors = errors_of(r#"host = "client", exclusive"#);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("`host` picks a host of a fixture: add `fixture = LAB`"));
        assert!(errors[1].starts_with("`exclusive` asks for sole use of a fixture"));
        // A misspelt fixture is reported once, not again through `host`.
        assert_eq!(errors_of(r#"fixture = "LAB", host = "client""#).len(), 1);
    }

    #[test]
    fn crate_option() {
        let (options, errors) = parse(r#"crate = "my::nt""#);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(options.crate_path().to_string(), "my :: nt");
        assert_eq!(Options::default().crate_path().to_string(), ":: netns_test");
        let errors = errors_of(r#"crate = "a b""#);
        assert!(errors[0].contains("is not a path"), "{errors:?}");
    }
}
