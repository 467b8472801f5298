//! The values of our own options: each `key = value` checked into its
//! type, with a spanned error that shows how to write it.

use proc_macro2::Ident;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, MetaNameValue, Path};

use super::FLAVORS;
use crate::hint::did_you_mean;

pub(super) fn parse_name(value: &Expr) -> syn::Result<LitStr> {
    let lit = string_literal(value, "name", "ns0")?;
    validate_name(&lit.value()).map_err(|why| syn::Error::new(lit.span(), why))?;
    Ok(lit)
}

/// iproute2's rule for a namespace name (`is_valid_nsname` in ip/ipnetns.c),
/// plus no NUL byte, as the name is passed on as a C string. The name becomes
/// a file in /run/netns, so anything else could mount over another file
/// (`../../etc/x`) or name the directory itself.
pub(super) fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("namespace name is empty; iproute2 needs at least one character".into());
    }
    if name == "." || name == ".." {
        return Err(format!(
            "namespace name `{name}` names a directory, not a file in /run/netns; pick another name"
        ));
    }
    if name.len() > 255 {
        return Err(format!(
            "namespace name is {} bytes long; iproute2 allows at most 255 (NAME_MAX)",
            name.len()
        ));
    }
    if name.contains('/') {
        return Err(format!(
            "namespace name `{name}` contains `/`; it becomes one file in /run/netns, \
             so it must not contain a path separator"
        ));
    }
    if name.contains('\0') {
        return Err("namespace name contains a NUL byte; the kernel would cut it there".into());
    }
    Ok(())
}

/// `fixture = LAB`, `fixture = crate::fixtures::LAB`: a path, which the
/// runtime's types check to be a `static` `Fixture`.
pub(super) fn parse_fixture(value: &Expr) -> syn::Result<Path> {
    match value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(path.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if syn::parse_str::<Path>(&s.value()).is_ok() => {
            let msg = format!(
                "`fixture` takes the path of a `static`, not a string: write `fixture = {}`",
                s.value()
            );
            Err(syn::Error::new(s.span(), msg))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`fixture` takes the path of a `static` `Fixture`, for example `fixture = LAB` \
             or `fixture = crate::LAB`",
        )),
    }
}

pub(super) fn parse_host(value: &Expr) -> syn::Result<LitStr> {
    let lit = string_literal(value, "host", "client")?;
    if lit.value().is_empty() {
        let msg = "host name is empty; name one of the fixture's hosts, e.g. `host = \"client\"`";
        return Err(syn::Error::new(lit.span(), msg));
    }
    Ok(lit)
}

/// `crate = "my_crate::netns_test"`: a path in a string, as tokio's
/// `crate` option takes it.
pub(super) fn parse_crate(value: &Expr) -> syn::Result<Path> {
    let lit = string_literal(value, "crate", "my_crate::netns_test")?;
    lit.parse::<Path>().map_err(|_| {
        let msg = format!(
            "`crate` takes the path netns-test is re-exported at, e.g. \
             `crate = \"my_crate::netns_test\"`; `{}` is not a path",
            lit.value()
        );
        syn::Error::new(lit.span(), msg)
    })
}

/// A flag option: `NAME` alone, or `NAME = true` / `NAME = false`.
pub(super) fn parse_flag(meta: &Meta, name: &str) -> syn::Result<bool> {
    let msg = format!("`{name}` is a flag: write `{name}`, or `{name} = true` / `{name} = false`");
    match meta {
        Meta::Path(_) => Ok(true),
        Meta::NameValue(MetaNameValue {
            value: Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }),
            ..
        }) => Ok(b.value),
        Meta::NameValue(nv) => Err(syn::Error::new_spanned(&nv.value, msg)),
        Meta::List(list) => Err(syn::Error::new_spanned(list, msg)),
    }
}

pub(super) fn parse_flavor(value: &Expr) -> syn::Result<bool> {
    let lit = string_literal(value, "flavor", "multi_thread")?;
    match lit.value().as_str() {
        "current_thread" => Ok(false),
        "multi_thread" => Ok(true),
        other => {
            let hint = match did_you_mean(other, FLAVORS) {
                Some(close) => format!("did you mean `\"{close}\"`?"),
                None => "expected `\"current_thread\"` or `\"multi_thread\"`".into(),
            };
            let msg = format!("unknown flavor `\"{other}\"`; {hint}");
            Err(syn::Error::new(lit.span(), msg))
        }
    }
}

pub(super) fn parse_worker_threads(value: &Expr) -> syn::Result<usize> {
    parse_count(value, "worker_threads", 2)
}

/// `seeds = N`: how many runs of a seed sweep.
pub(super) fn parse_seeds(value: &Expr) -> syn::Result<u32> {
    parse_count(value, "seeds", 20)
}

/// The integer literal of `key = N`, at least 1 (`example` in the hint).
fn parse_count<N>(value: &Expr, key: &str, example: u32) -> syn::Result<N>
where
    N: std::str::FromStr + PartialEq + From<u8>,
    N::Err: std::fmt::Display,
{
    let general =
        format!("`{key}` takes an integer literal of at least 1, e.g. `{key} = {example}`");
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => match int.base10_parse::<N>()? {
            n if n == N::from(0) => Err(syn::Error::new(
                int.span(),
                format!("`{key}` must be at least 1"),
            )),
            n => Ok(n),
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if s.value().parse::<N>().is_ok() => {
            let msg = format!(
                "`{key}` takes an integer literal; write `{key} = {}`",
                s.value()
            );
            Err(syn::Error::new(s.span(), msg))
        }
        other => Err(syn::Error::new_spanned(other, general)),
    }
}

/// The string literal of `key = "..."`, or an error that shows how to write
/// one: with the user's own word quoted if they wrote a bare word or number.
pub(super) fn string_literal(value: &Expr, key: &str, example: &str) -> syn::Result<LitStr> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    {
        if lit.suffix().is_empty() {
            return Ok(lit.clone());
        }
    }
    let hint = match bare_word(value) {
        Some(word) => format!("write `{key} = \"{word}\"`"),
        None => format!("for example `{key} = \"{example}\"`"),
    };
    let msg = format!("`{key}` takes a string literal; {hint}");
    Err(syn::Error::new_spanned(value, msg))
}

/// What a user who forgot the quotes meant: `ns0` in `name = ns0`, `3` in
/// `name = 3`.
pub(super) fn bare_word(value: &Expr) -> Option<String> {
    match value {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident().map(Ident::to_string),
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => Some(n.base10_digits().to_owned()),
        _ => None,
    }
}
