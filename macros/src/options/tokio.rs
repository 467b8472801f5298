//! Adopting `#[tokio::test]`'s options: a `#[tokio::test(..)]` written after
//! `#[netns_test]` gives its `flavor` and `worker_threads` to ours, checked
//! against ours; its other options are errors at tokio's.

use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::{Attribute, Meta, MetaNameValue, Token};

use super::{parse_flavor, parse_worker_threads, Options};
use crate::errors::Errors;

impl Options {
    /// `#[tokio::test]` or `#[tokio::test(flavor = .., worker_threads = ..)]`
    /// written after `#[netns_test]`: its options become ours (the runtime is
    /// built on the namespace thread either way). An option set differently
    /// in both, or one of tokio's that has no counterpart here, is an error
    /// at tokio's.
    pub(crate) fn take_tokio_test(&mut self, attr: &Attribute, errors: &mut Errors) {
        let metas = match &attr.meta {
            Meta::Path(_) => return,
            Meta::List(list) => {
                list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            }
            Meta::NameValue(nv) => Err(syn::Error::new_spanned(
                nv,
                "expected `#[tokio::test]` or `#[tokio::test(flavor = \"multi_thread\")]`",
            )),
        };
        if let Some(metas) = errors.check(metas) {
            for meta in metas {
                errors.check(self.take_tokio_option(meta));
            }
        }
    }

    fn take_tokio_option(&mut self, meta: Meta) -> syn::Result<()> {
        let Some(key) = meta.path().get_ident().map(ToString::to_string) else {
            return Err(syn::Error::new_spanned(
                meta.path(),
                "expected a `#[tokio::test]` option: `flavor` or `worker_threads`",
            ));
        };
        let nv = match meta {
            Meta::NameValue(nv) if key == "flavor" || key == "worker_threads" => nv,
            other if key == "flavor" || key == "worker_threads" => {
                let msg = format!("option `{key}` needs a value, as in `#[tokio::test]`");
                return Err(syn::Error::new_spanned(other, msg));
            }
            other => {
                let hint = match key.as_str() {
                    "crate" => "the runtime is netns-test's own (its `tokio` feature); remove it",
                    "start_paused" => {
                        "pause time in the body instead: `tokio::time::pause()`, with tokio's \
                         `test-util` feature"
                    }
                    _ => "remove it",
                };
                let msg = format!(
                    "`{key}` of `#[tokio::test]` is not supported after `#[netns_test]`, which \
                     builds the runtime on the namespace thread from `flavor` and \
                     `worker_threads` only: {hint}"
                );
                return Err(syn::Error::new_spanned(other, msg));
            }
        };
        let conflict = |ours: &MetaNameValue| {
            let msg = format!(
                "`#[tokio::test]` sets `{}`, which conflicts with `{}` of `#[netns_test]`: \
                 set it in one place",
                nv.to_token_stream(),
                ours.to_token_stream()
            );
            syn::Error::new_spanned(&nv, msg)
        };
        if key == "flavor" {
            let multi = parse_flavor(&nv.value)?;
            match &self.flavor {
                Some((ours, ours_nv)) if *ours != multi => return Err(conflict(ours_nv)),
                Some(_) => {}
                None => self.flavor = Some((multi, nv)),
            }
        } else {
            let n = parse_worker_threads(&nv.value)?;
            match &self.worker_threads {
                Some((ours, ours_nv)) if *ours != n => return Err(conflict(ours_nv)),
                Some(_) => {}
                None => self.worker_threads = Some((n, nv)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Runtime;

    fn tokio(attr: &str, args: &str) -> (Options, Vec<String>) {
        let mut errors = Errors::default();
        let mut options = Options::parse(args.parse().unwrap(), &mut errors);
        let item = format!("{attr} async fn t() {{}}");
        let func: syn::ItemFn = syn::parse_str(&item).unwrap();
        options.take_tokio_test(&func.attrs[0], &mut errors);
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (options, messages)
    }

    #[test]
    fn tokio_test_options_become_ours() {
        let (options, errors) = tokio(
            r#"#[tokio::test(flavor = "multi_thread", worker_threads = 3)]"#,
            "",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            options.runtime(true).unwrap(),
            Some(Runtime::MultiThread {
                worker_threads: Some(3)
            })
        );
        let (options, errors) = tokio("#[tokio::test]", r#"flavor = "multi_thread""#);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            options.runtime(true).unwrap(),
            Some(Runtime::MultiThread {
                worker_threads: None
            })
        );
        let (_, errors) = tokio(
            r#"#[tokio::test(flavor = "multi_thread")]"#,
            r#"flavor = "multi_thread""#,
        );
        assert!(errors.is_empty(), "agreeing options: {errors:?}");
    }

    #[test]
    fn tokio_test_conflicts_and_unsupported_options() {
        let (_, errors) = tokio(
            r#"#[tokio::test(flavor = "current_thread")]"#,
            r#"flavor = "multi_thread""#,
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("conflicts with `flavor = \"multi_thread\"`"),
            "{errors:?}"
        );
        let (_, errors) = tokio(
            r#"#[tokio::test(start_paused = true, unhandled_panic = "ignore")]"#,
            "",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("`start_paused` of `#[tokio::test]` is not supported"));
        let (_, errors) = tokio(r#"#[tokio::test(flavor = "multi")]"#, "");
        assert!(
            errors[0].contains("did you mean `\"multi_thread\"`?"),
            "{errors:?}"
        );
    }
}
