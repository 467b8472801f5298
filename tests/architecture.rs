//! The rules of ARCHITECTURE.md 1, checked on the source read as Rust (syn):
//! only the kernel layer calls rustix or libc, imports point down the layers,
//! `src/error/` uses nothing of the crate, the `setns` binary does not reach
//! into `netns_test::__private`, and files stay short.
//!
//! How a path is read. Every path of a file is resolved the way rustc
//! resolves it, far enough to know what it names: `crate::`, `self::` and
//! `super::` against the file's module path (`src/network/link.rs` is
//! `crate::network::link`), a first segment against the `use` items in scope
//! (groups, nested groups, renames; a block's own `use` items inside it), a
//! child `mod` of the module, or else an extern crate. A `crate::` path is
//! followed through the re-exports of `src/lib.rs` (`crate::Netns` is
//! `crate::namespace::netns::Netns`), so its layer is the folder it really
//! lives in. Macro arguments are read as expressions where they parse, else
//! token by token. Items under `#[cfg(test)]` are skipped: tests may reach
//! anywhere.
//!
//! What is a call into rustix or libc. A value path (an expression, not a
//! type) that resolves to `rustix::…` or `libc::…` and whose segments after
//! the crate name are all lower-case names a free function (the segments
//! before it are modules): `rustix::fs::flock`, or `fs::flock` after
//! `use rustix::fs;`, or `getpid` after `use rustix::process::getpid;`. A
//! path through a type (`Errno::INVAL`, `Errno::from_raw_os_error`) names
//! the type's items, which the other layers may use; so may every path in a
//! type position (`rustix::io::Errno`, `libc::c_int`). An imported
//! lower-case name is a module if the file uses it as one (`fs::…`) and a
//! type if it appears in a type; otherwise it is a function, and importing
//! it is reported (its uses are then not reported again). A glob import of
//! rustix or libc outside the kernel layer is reported: what it brings in
//! cannot be checked.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// What a layer may use of the crate besides its own folder.
#[derive(Clone, Copy)]
enum May {
    /// Every layer of its rank or lower.
    UseBelow,
    /// These folders only.
    UseOnly(&'static [&'static str]),
}

/// A folder under `src/`, its rank (ARCHITECTURE.md 1), and its rules.
struct Layer {
    folder: &'static str,
    rank: u8,
    may: May,
    /// Whether it may call rustix and libc functions.
    calls_the_kernel: bool,
}

impl Layer {
    const fn new(folder: &'static str, rank: u8) -> Self {
        Layer {
            folder,
            rank,
            may: May::UseBelow,
            calls_the_kernel: false,
        }
    }

    const fn only(self, folders: &'static [&'static str]) -> Self {
        Layer {
            may: May::UseOnly(folders),
            ..self
        }
    }

    const fn calls_the_kernel(self) -> Self {
        Layer {
            calls_the_kernel: true,
            ..self
        }
    }
}

/// The layers, lowest first: a new folder under `src/` is one line here (a
/// folder that is not here is an offence; one here that does not exist yet
/// is fine).
const LAYERS: &[Layer] = &[
    Layer::new("error", 0).only(&[]),
    Layer::new("kernel", 0).calls_the_kernel(),
    Layer::new("settings", 0).only(&["error"]),
    Layer::new("privilege", 1),
    Layer::new("context", 1),
    Layer::new("namespace", 2),
    Layer::new("network", 3),
    Layer::new("process", 4),
    Layer::new("wire", 4),
    Layer::new("testing", 5),
    // Documentation only (the crate docs' topics): it uses nothing.
    Layer::new("_topic", 6).only(&[]),
];

/// Files of `src/` and `macros/src/` have at most this many lines outside
/// `#[cfg(test)]` items (ARCHITECTURE.md 1: about 400).
const MAX_LINES: usize = 400;

/// Files over [`MAX_LINES`] today, each with its count today as its limit:
/// it is to be split, and may not grow meanwhile.
const OVER_TODAY: &[(&str, usize)] = &[];

fn layer(folder: &str) -> Option<&'static Layer> {
    LAYERS.iter().find(|l| l.folder == folder)
}

// ---------------------------------------------------------------------------
// The checker: functions over source text.

/// The crate as far as the checks need it: lib.rs's re-exports and items.
#[derive(Default)]
struct Crate {
    /// `crate::Netns` → `crate::namespace::netns::Netns`, for every `use`
    /// item of lib.rs (nested modules such as `__private` included).
    reexports: HashMap<Vec<String>, Vec<String>>,
    /// Names lib.rs defines itself (exported macros, `__private`).
    root_items: HashSet<String>,
}

/// Offences of the layer and kernel-call rules in `files`, each
/// `(path under src/, text)`; `lib.rs` must be one of them.
fn check_sources(files: &[(&str, &str)]) -> Vec<String> {
    check_sources_counted(files).0
}

/// [`check_sources`], and how many `crate::` paths it placed in a layer (a
/// check that finds nothing to check cannot fail).
fn check_sources_counted(files: &[(&str, &str)]) -> (Vec<String>, usize) {
    let mut placed = 0;
    let mut offences = Vec::new();
    let parsed: Vec<_> = files
        .iter()
        .filter_map(|(path, text)| match syn::parse_file(text) {
            Ok(file) => Some((*path, file)),
            Err(e) => {
                offences.push(format!("{path}: does not parse: {e}"));
                None
            }
        })
        .collect();
    let krate = match parsed.iter().find(|(p, _)| *p == "lib.rs") {
        Some((_, lib)) => read_lib(lib),
        None => {
            offences.push("lib.rs: missing".to_owned());
            Crate::default()
        }
    };
    for (path, file) in &parsed {
        let (found, n) = check_file(&krate, path, file);
        offences.extend(found);
        placed += n;
    }
    (offences, placed)
}

fn read_lib(lib: &syn::File) -> Crate {
    let mut krate = Crate::default();
    read_lib_items(&mut krate, &[], &lib.items);
    krate
}

fn read_lib_items(krate: &mut Crate, module: &[String], items: &[syn::Item]) {
    let children = child_mods(items);
    for item in items {
        if is_cfg_test(item_attrs(item)) {
            continue;
        }
        match item {
            syn::Item::Use(u) => {
                for leaf in use_leaves(&u.tree) {
                    let Some(name) = leaf.name else { continue };
                    let mut key = crate_path(module);
                    key.push(name);
                    let target = resolve_lexical(&leaf.path, module, &children, &[]);
                    krate.reexports.insert(key, target);
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let mut module = module.to_vec();
                    module.push(m.ident.to_string());
                    read_lib_items(krate, &module, inner);
                }
                if module.is_empty() && layer(&m.ident.to_string()).is_none() {
                    krate.root_items.insert(m.ident.to_string());
                }
            }
            syn::Item::Macro(m) => {
                if let Some(ident) = &m.ident {
                    krate.root_items.insert(ident.to_string());
                }
            }
            syn::Item::Fn(f) if module.is_empty() => {
                krate.root_items.insert(f.sig.ident.to_string());
            }
            _ => {}
        }
    }
}

fn crate_path(module: &[String]) -> Vec<String> {
    std::iter::once("crate".to_owned())
        .chain(module.iter().cloned())
        .collect()
}

/// The module path of a file under `src/`: `network/link.rs` →
/// `[network, link]`, `kernel/mod.rs` → `[kernel]`, `lib.rs` → `[]`.
fn module_of(path: &str) -> Vec<String> {
    let path = path.strip_suffix(".rs").unwrap_or(path);
    let mut parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn check_file(krate: &Crate, path: &str, file: &syn::File) -> (Vec<String>, usize) {
    // A binary is a crate of its own, a user of the public API.
    if path.starts_with("bin/") {
        let mut checker = Checker::new(krate, path, Vec::new(), None);
        checker.binary = true;
        checker.check_items(&file.items, true);
        return (checker.offences, 0);
    }
    let module = module_of(path);
    let layer = match module.first() {
        None => None,
        Some(folder) => match layer(folder) {
            Some(layer) => Some(layer),
            None => {
                let offence = format!(
                    "{path}: src/{folder}/ is in no layer of the table (tests/architecture.rs LAYERS)"
                );
                return (vec![offence], 0);
            }
        },
    };
    let mut checker = Checker::new(krate, path, module, layer);
    checker.check_items(&file.items, true);
    (checker.offences, checker.placed)
}

/// One leaf of a `use` tree: the path it imports and the name it binds
/// (`None` for a glob).
struct Leaf {
    path: Vec<String>,
    name: Option<String>,
    span: Span,
}

fn use_leaves(tree: &syn::UseTree) -> Vec<Leaf> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Leaf>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let ident = n.ident.to_string();
                // `use a::b::{self}` binds `b`.
                let (path, name) = if ident == "self" {
                    (prefix.clone(), prefix.last().cloned())
                } else {
                    let mut path = prefix.clone();
                    path.push(ident.clone());
                    (path, Some(ident))
                };
                out.push(Leaf {
                    path,
                    name,
                    span: n.ident.span(),
                });
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                out.push(Leaf {
                    path,
                    name: Some(r.rename.to_string()),
                    span: r.ident.span(),
                });
            }
            syn::UseTree::Glob(g) => {
                out.push(Leaf {
                    path: prefix.clone(),
                    name: None,
                    span: g.star_token.span,
                });
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    walk(tree, prefix, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

/// `path` made absolute: `crate`, `self`, `super` against `module`, a first
/// segment bound by `scopes` or a child module of `module`; otherwise it is
/// left as it is (an extern crate, a local name).
fn resolve_lexical(
    path: &[String],
    module: &[String],
    children: &HashSet<String>,
    scopes: &[&Scope],
) -> Vec<String> {
    let Some(first) = path.first() else {
        return Vec::new();
    };
    match first.as_str() {
        "crate" => path.to_vec(),
        "self" | "super" => {
            let mut base = module.to_vec();
            let mut rest = path;
            if rest[0] == "self" {
                rest = &rest[1..];
            }
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            let mut out = crate_path(&base);
            out.extend(rest.iter().cloned());
            out
        }
        _ => {
            for scope in scopes.iter().rev() {
                if let Some(import) = scope.names.get(first) {
                    let mut out = import.path.clone();
                    out.extend(path[1..].iter().cloned());
                    if path.len() > 1 {
                        import.as_module.set(true);
                    }
                    return out;
                }
            }
            if children.contains(first) {
                let mut out = crate_path(module);
                out.extend(path.iter().cloned());
                return out;
            }
            path.to_vec()
        }
    }
}

/// A name a `use` item binds.
struct Import {
    path: Vec<String>,
    span: Span,
    /// Used as `name::…`: a module (or a type).
    as_module: Cell<bool>,
    /// Named in a type.
    as_type: Cell<bool>,
}

/// The `use` items of a module or a block.
#[derive(Default)]
struct Scope {
    names: HashMap<String, Import>,
}

struct Checker<'a> {
    krate: &'a Crate,
    file: &'a str,
    layer: Option<&'static Layer>,
    binary: bool,
    module: Vec<String>,
    children: HashSet<String>,
    /// The scopes of the current module, outermost first: the module's, then
    /// each enclosing block's.
    scopes: Vec<Scope>,
    offences: Vec<String>,
    /// `crate::` paths placed in a layer.
    placed: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Position {
    Use,
    Type,
    Value,
}

impl<'a> Checker<'a> {
    fn new(
        krate: &'a Crate,
        file: &'a str,
        module: Vec<String>,
        layer: Option<&'static Layer>,
    ) -> Self {
        Checker {
            krate,
            file,
            layer,
            binary: false,
            module,
            children: HashSet::new(),
            scopes: Vec::new(),
            offences: Vec::new(),
            placed: 0,
        }
    }

    fn offence(&mut self, span: Span, what: String) {
        let line = span.start().line;
        self.offences
            .push(format!("src/{}:{line}: {what}", self.file));
    }

    fn calls_allowed(&self) -> bool {
        self.binary || self.layer.is_some_and(|l| l.calls_the_kernel)
    }

    /// Checks `items`, a module's, in a scope of their own `use` items.
    fn check_items(&mut self, items: &[syn::Item], module: bool) {
        if module {
            self.children = child_mods(items);
        }
        self.push_scope(items);
        for item in items {
            self.visit_item(item);
        }
        self.pop_scope();
    }

    /// Opens the scope of the `use` items among `items` (a module's or a
    /// block's) and checks what they import.
    fn push_scope(&mut self, items: &[syn::Item]) {
        let mut scope = Scope::default();
        let mut leaves = Vec::new();
        for item in items {
            let syn::Item::Use(u) = item else { continue };
            if is_cfg_test(&u.attrs) {
                continue;
            }
            for leaf in use_leaves(&u.tree) {
                let scopes: Vec<&Scope> = self.scopes.iter().chain([&scope]).collect();
                let path = resolve_lexical(&leaf.path, &self.module, &self.children, &scopes);
                if let Some(name) = &leaf.name {
                    let import = Import {
                        path: path.clone(),
                        span: leaf.span,
                        as_module: Cell::new(false),
                        as_type: Cell::new(false),
                    };
                    scope.names.insert(name.clone(), import);
                }
                leaves.push((path, leaf));
            }
        }
        self.scopes.push(scope);
        for (path, leaf) in &leaves {
            self.check_resolved(path, leaf.name.is_none(), Position::Use, leaf.span);
        }
    }

    /// Closes the innermost scope: an imported rustix or libc function
    /// (neither used as a module nor as a type) is an offence.
    fn pop_scope(&mut self) {
        let scope = self.scopes.pop().unwrap();
        if self.calls_allowed() {
            return;
        }
        let mut imports: Vec<_> = scope.names.values().collect();
        imports.sort_by_key(|i| i.span.start().line);
        for import in imports {
            if is_kernel_function(&import.path) && !import.as_module.get() && !import.as_type.get()
            {
                let path = import.path.join("::");
                self.offence(
                    import.span,
                    format!("imports the function {path}: only src/kernel/ calls rustix and libc"),
                );
            }
        }
    }

    fn check_path(&mut self, path: &syn::Path, position: Position) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.check_segments(&segments, position, path.span());
    }

    fn check_segments(&mut self, segments: &[String], position: Position, span: Span) {
        if segments.is_empty() {
            return;
        }
        // An imported function named alone is reported at its import.
        let imported_alone = segments.len() == 1
            && self
                .scopes
                .iter()
                .any(|s| s.names.contains_key(&segments[0]));
        let scopes: Vec<&Scope> = self.scopes.iter().collect();
        let resolved = resolve_lexical(segments, &self.module, &self.children, &scopes);
        if position == Position::Type && segments.len() == 1 {
            if let Some(import) = self
                .scopes
                .iter()
                .rev()
                .find_map(|s| s.names.get(&segments[0]))
            {
                import.as_type.set(true);
            }
        }
        if imported_alone && position == Position::Value {
            return self.check_resolved(&resolved, false, Position::Type, span);
        }
        self.check_resolved(&resolved, false, position, span);
    }

    fn check_resolved(&mut self, path: &[String], glob: bool, position: Position, span: Span) {
        let Some(first) = path.first() else { return };
        if self.binary {
            if first == "netns_test" && path.get(1).is_some_and(|s| s == "__private") {
                self.offence(
                    span,
                    "the setns binary uses netns_test::__private: it uses the public API (and rustix itself)".to_owned(),
                );
            }
            return;
        }
        if (first == "rustix" || first == "libc") && !self.calls_allowed() {
            if glob {
                let path = path.join("::");
                self.offence(span, format!("glob import of {path}: only src/kernel/ calls rustix and libc, and a glob hides what it brings in"));
            } else if position == Position::Value && is_kernel_function(path) {
                let path = path.join("::");
                self.offence(
                    span,
                    format!("calls {path}: only src/kernel/ calls rustix and libc"),
                );
            }
        }
        if first == "crate" {
            self.check_layer(path, span);
        }
    }

    fn check_layer(&mut self, path: &[String], span: Span) {
        let Some(own) = self.layer else { return };
        let path = follow_reexports(self.krate, path);
        let Some(target) = path.get(1) else { return };
        if target == own.folder {
            return;
        }
        let shown = path.join("::");
        let Some(to) = layer(target) else {
            if path[0] == "crate" && !self.krate.root_items.contains(target) {
                self.offence(span, format!("uses {shown}, in no layer of the table"));
            }
            return;
        };
        self.placed += 1;
        let allowed = match own.may {
            May::UseBelow => to.rank <= own.rank,
            May::UseOnly(folders) => folders.contains(&to.folder),
        };
        if !allowed {
            let (from, rank) = (own.folder, own.rank);
            let rule = match own.may {
                May::UseBelow => format!("rank {rank} uses rank {}", to.rank),
                May::UseOnly(folders) => format!("{from} may use only {folders:?}"),
            };
            self.offence(
                span,
                format!(
                    "the {from} layer uses {shown} of the {} layer ({rule})",
                    to.folder
                ),
            );
        }
    }

    fn check_macro(&mut self, mac: &syn::Macro) {
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        match mac.parse_body_with(parser) {
            Ok(exprs) => {
                for expr in &exprs {
                    self.visit_expr(expr);
                }
            }
            Err(_) => {
                for (segments, span) in token_paths(mac.tokens.clone()) {
                    self.check_segments(&segments, Position::Value, span);
                }
            }
        }
    }
}

fn follow_reexports(krate: &Crate, path: &[String]) -> Vec<String> {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let hit = (2..=path.len())
            .rev()
            .find_map(|k| krate.reexports.get(&path[..k]).map(|target| (k, target)));
        let Some((k, target)) = hit else { break };
        let mut next = target.clone();
        next.extend(path[k..].iter().cloned());
        if next == path {
            break;
        }
        path = next;
    }
    path
}

/// `rustix::a::b::f` or `libc::f`: every segment after the crate lower-case
/// (modules, then the function).
fn is_kernel_function(path: &[String]) -> bool {
    matches!(path.first().map(String::as_str), Some("rustix" | "libc"))
        && path.len() > 1
        && path[1..]
            .iter()
            .all(|s| s.starts_with(|c: char| c.is_lowercase() || c == '_'))
}

/// The paths (`a::b::c`, single names too) among `tokens`, macro bodies that
/// do not parse as expressions; `$crate::…` and `.method` are left out.
fn token_paths(tokens: TokenStream) -> Vec<(Vec<String>, Span)> {
    fn walk(tokens: TokenStream, out: &mut Vec<(Vec<String>, Span)>) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => walk(g.stream(), out),
                TokenTree::Ident(ident) => {
                    let after_punct = |c: char| {
                        i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == c)
                    };
                    let skip = after_punct('$') || after_punct('.');
                    let mut segments = vec![ident.to_string()];
                    let span = ident.span();
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segments.push(next.to_string());
                        i += 3;
                    }
                    if !skip {
                        out.push((segments, span));
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    let mut out = Vec::new();
    walk(tokens, &mut out);
    out
}

fn child_mods(items: &[syn::Item]) -> HashSet<String> {
    items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]`, or `#[cfg(all(test, …))]`.
fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let syn::Meta::List(list) = &attr.meta else {
            return false;
        };
        if !list.path.is_ident("cfg") {
            return false;
        }
        let tokens = list.tokens.to_string().replace(' ', "");
        tokens == "test" || tokens.starts_with("all(test,")
    })
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if is_cfg_test(item_attrs(item)) {
            return;
        }
        match item {
            syn::Item::Use(_) => {}
            // `macro_rules!` bodies are templates, read where they expand.
            syn::Item::Macro(m) if m.ident.is_some() => {}
            syn::Item::Mod(m) => {
                let Some((_, items)) = &m.content else { return };
                let outer = (
                    std::mem::take(&mut self.scopes),
                    std::mem::take(&mut self.children),
                );
                self.module.push(m.ident.to_string());
                self.check_items(items, true);
                self.module.pop();
                (self.scopes, self.children) = outer;
            }
            _ => visit::visit_item(self, item),
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !is_cfg_test(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let items: Vec<syn::Item> = block
            .stmts
            .iter()
            .filter_map(|s| match s {
                syn::Stmt::Item(item) => Some(item.clone()),
                _ => None,
            })
            .collect();
        // A block's `use` items are in scope in all of it.
        self.push_scope(&items);
        for stmt in &block.stmts {
            match stmt {
                syn::Stmt::Local(local) if is_cfg_test(&local.attrs) => {}
                syn::Stmt::Macro(m) if is_cfg_test(&m.attrs) => {}
                syn::Stmt::Macro(m) => self.check_macro(&m.mac),
                _ => self.visit_stmt(stmt),
            }
        }
        self.pop_scope();
    }

    fn visit_expr_path(&mut self, expr: &'ast syn::ExprPath) {
        if let Some(qself) = &expr.qself {
            self.visit_type(&qself.ty);
        }
        self.check_path(&expr.path, Position::Value);
        for segment in &expr.path.segments {
            self.visit_path_arguments(&segment.arguments);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.check_path(path, Position::Type);
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.check_macro(mac);
    }
}

// ---------------------------------------------------------------------------
// The size rule.

/// Lines of `text` outside `#[cfg(test)]` items.
fn non_test_lines(text: &str) -> usize {
    let total = text.lines().count();
    let Ok(file) = syn::parse_file(text) else {
        return total;
    };
    let mut test_lines = 0;
    for item in &file.items {
        if is_cfg_test(item_attrs(item)) {
            let span = item.span();
            test_lines += span.end().line - span.start().line + 1;
        }
    }
    total - test_lines
}

// ---------------------------------------------------------------------------
// The real tree.

/// The crate's root: nextest sets `CARGO_MANIFEST_DIR` at run time, to the
/// remapped workspace when it runs an archive elsewhere; else the build's.
fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every file under `dir`, as `(path under dir, text)`.
fn read_tree(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    sources(dir, &mut files);
    files.sort();
    files
        .iter()
        .map(|file| {
            let rel = file.strip_prefix(dir).unwrap().to_str().unwrap().to_owned();
            (rel, std::fs::read_to_string(file).unwrap())
        })
        .collect()
}

#[test]
fn the_source_keeps_the_layer_rules() {
    let files = read_tree(&root().join("src"));
    assert!(files.len() > 60, "{} files", files.len());
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let (offences, placed) = check_sources_counted(&refs);
    assert!(
        placed > 300,
        "only {placed} crate:: paths placed in a layer"
    );
    assert!(
        offences.is_empty(),
        "offences against ARCHITECTURE.md 1:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_lib_rs_reexports_are_read() {
    let text = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let krate = read_lib(&syn::parse_file(&text).unwrap());
    let netns = follow_reexports(&krate, &["crate".to_owned(), "Netns".to_owned()]);
    assert_eq!(netns, ["crate", "namespace", "netns", "Netns"]);
    assert!(krate.reexports.len() > 20, "{}", krate.reexports.len());
}

#[test]
fn files_are_short() {
    let mut over = Vec::new();
    for dir in ["src", "macros/src"] {
        for (path, text) in read_tree(&root().join(dir)) {
            let path = format!("{dir}/{path}");
            let lines = non_test_lines(&text);
            let limit = OVER_TODAY
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(MAX_LINES, |(_, n)| *n);
            if lines > limit {
                over.push(format!(
                    "{path}: {lines} lines outside #[cfg(test)], over {limit}"
                ));
            }
        }
    }
    assert!(
        over.is_empty(),
        "files too long (ARCHITECTURE.md 1):\n{}",
        over.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The checker on small sources: each probe is one real way around a
// line-by-line scan.

const LIB: &str = "
    mod error;
    mod kernel;
    mod network;
    mod testing;
    pub use error::Error;
    pub use testing::fixture::Fixture;
    pub use network::link::{Link, validate_link_name as check_link};
    pub mod __private {
        pub use crate::testing::runner::run_test;
    }
";

fn offences(path: &str, text: &str) -> Vec<String> {
    check_sources(&[("lib.rs", LIB), (path, text)])
}

fn assert_caught(path: &str, text: &str, what: &str) {
    let found = offences(path, text);
    assert!(
        found.iter().any(|o| o.contains(what)),
        "not caught ({what}): {found:?}"
    );
}

#[test]
fn a_module_import_then_a_call_through_it_is_a_call() {
    let text = "use rustix::fs;\npub fn f(file: &File) { fs::flock(file, x).unwrap(); }";
    assert_caught("network/link.rs", text, "calls rustix::fs::flock");
    // In the kernel layer it is what the layer is for.
    assert_eq!(offences("kernel/fs.rs", text), Vec::<String>::new());
}

#[test]
fn a_multi_line_group_import_of_a_function_is_caught() {
    let text = "use rustix::{\n    process::getpid,\n};\n\npub fn f() -> u32 { getpid().as_raw_nonzero().get() as u32 }";
    assert_caught(
        "network/link.rs",
        text,
        "src/network/link.rs:2: imports the function rustix::process::getpid",
    );
    // Unused, or passed as a value: the import alone is reported.
    assert_caught(
        "namespace/x.rs",
        "use rustix::{\n    process::getpid,\n};\n",
        "imports the function",
    );
}

#[test]
fn super_super_into_a_higher_layer_is_caught() {
    let text = "use super::super::testing::fixture::Hosts;\npub fn f(_: Hosts) {}";
    assert_caught(
        "network/link.rs",
        text,
        "the network layer uses crate::testing::fixture::Hosts of the testing layer",
    );
    // `super::` resolves against the module: from `network/mod.rs` one
    // `super` is the crate root.
    assert_caught(
        "network/mod.rs",
        "use super::testing::x;",
        "uses crate::testing::x",
    );
    assert_eq!(
        offences(
            "testing/fixture.rs",
            "use super::super::network::link::Link;"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn a_group_of_the_crate_root_is_followed() {
    assert_caught(
        "kernel/fs.rs",
        "use crate::{error::Error, testing::runner::x};",
        "the kernel layer uses crate::testing::runner::x",
    );
    assert_caught(
        "kernel/fs.rs",
        "use crate::{\n    error::Error,\n    testing::{self, runner},\n};",
        "kernel/fs.rs:3: the kernel layer uses crate::testing",
    );
}

#[test]
fn crate_root_reexports_are_read_from_lib_rs() {
    // `crate::Fixture` is in no table: lib.rs says it is the testing layer's.
    assert_caught(
        "network/link.rs",
        "use crate::Fixture;",
        "uses crate::testing::fixture::Fixture",
    );
    assert_caught(
        "network/link.rs",
        "fn f() -> crate::Fixture { todo!() }",
        "of the testing layer",
    );
    // A rename and `__private` too.
    assert_caught(
        "kernel/fs.rs",
        "use crate::check_link;",
        "crate::network::link::validate_link_name",
    );
    assert_caught(
        "privilege/mod.rs",
        "fn f() { crate::__private::run_test(); }",
        "crate::testing::runner::run_test",
    );
    assert_eq!(
        offences("network/addr.rs", "use crate::{Error, Link};"),
        Vec::<String>::new()
    );
}

#[test]
fn the_error_layer_and_settings_use_only_what_they_may() {
    assert_caught(
        "error/mod.rs",
        "use crate::kernel::x;",
        "error may use only []",
    );
    assert_caught(
        "settings/mod.rs",
        "use crate::kernel::x;",
        "settings may use only [\"error\"]",
    );
    assert_eq!(
        offences("settings/mod.rs", "use crate::Error;"),
        Vec::<String>::new()
    );
    assert_caught(
        "context/mod.rs",
        "use crate::network::x;",
        "rank 1 uses rank 3",
    );
    assert_caught("gadgets/mod.rs", "", "src/gadgets/ is in no layer");
}

#[test]
fn types_of_rustix_may_be_named_and_globs_may_not() {
    let text = "use rustix::io::Errno;\nuse rustix::fs::FileType;\n\
        fn f(e: rustix::io::Errno, n: libc::c_int) -> bool {\n\
            matches!(e, Errno::INVAL) && Errno::from_raw_os_error(n) == rustix::io::Errno::NOENT\n}";
    assert_eq!(offences("namespace/owner.rs", text), Vec::<String>::new());
    assert_caught(
        "namespace/owner.rs",
        "use rustix::fs::*;",
        "glob import of rustix::fs",
    );
    assert_caught(
        "namespace/owner.rs",
        "fn f() { unsafe { libc::atexit(g) }; }",
        "calls libc::atexit",
    );
    // In macro arguments, parsed or not.
    assert_caught(
        "namespace/owner.rs",
        "fn f() { println!(\"{}\", rustix::process::getpid()); }",
        "calls rustix::process::getpid",
    );
    assert_caught(
        "namespace/owner.rs",
        "fn f() { matches!(rustix::process::getpid(), x if x > 1); }",
        "calls rustix::process::getpid",
    );
    // A block's own import.
    assert_caught(
        "namespace/owner.rs",
        "fn f() { use rustix::fs as f; f::flock(x, y); }",
        "calls rustix::fs::flock",
    );
}

#[test]
fn tests_may_reach_anywhere() {
    let text = "#[cfg(test)]\nmod tests {\n    use crate::testing::x;\n    fn f() { rustix::process::getpid(); }\n}\n";
    assert_eq!(offences("kernel/fs.rs", text), Vec::<String>::new());
    assert_eq!(non_test_lines(&format!("fn a() {{}}\n{text}")), 1);
}

#[test]
fn the_binary_uses_the_public_api() {
    assert_caught(
        "bin/setns.rs",
        "use netns_test::__private::PidFd;",
        "uses netns_test::__private",
    );
    assert_eq!(
        offences(
            "bin/setns.rs",
            "use netns_test::Netns;\nfn main() { rustix::process::getpid(); }"
        ),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------
// ARCHITECTURE.md itself.

/// The row of the layer table for `src/FOLDER/`, if there is one.
fn table_row<'a>(doc: &'a str, folder: &str) -> Option<&'a str> {
    let cell = format!("| `src/{folder}/`");
    doc.lines()
        .find(|line| line.starts_with('|') && line.contains(&cell))
}

#[test]
fn every_file_of_src_is_in_the_layer_table() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for (path, _) in read_tree(&root().join("src")) {
        let Some((folder, file)) = path.split_once('/') else {
            continue;
        };
        if folder == "bin" {
            continue;
        }
        let listed = table_row(&doc, folder).is_some_and(|row| row.contains(&format!("`{file}`")));
        if !listed {
            missing.push(path);
        }
    }
    assert!(
        missing.is_empty(),
        "not in ARCHITECTURE.md's layer table: {missing:?}"
    );
}

/// The citations `ARCHITECTURE.md N` / `N.M` in the source, and `(N.M)` in
/// ARCHITECTURE.md, each name a section (`## N.`, `### N.M`) or an item of
/// section 4's numbered list.
#[test]
fn every_architecture_citation_names_a_section() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut sections: HashSet<String> = HashSet::new();
    let mut in_four = false;
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            let number = title.split('.').next().unwrap().to_owned();
            in_four = number == "4";
            sections.insert(number);
        } else if let Some(title) = line.strip_prefix("### ") {
            sections.insert(title.split(' ').next().unwrap().to_owned());
        } else if in_four {
            if let Some((n, _)) = line.split_once(". ") {
                if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() {
                    sections.insert(format!("4.{n}"));
                }
            }
        }
    }
    assert!(sections.contains("2.2") && sections.contains("3.4") && sections.contains("4.16"));
    let cited = |text: &str, after: &str| -> Vec<String> {
        text.match_indices(after)
            .filter_map(|(at, _)| {
                let rest = &text[at + after.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                let n = rest[..end].trim_end_matches('.');
                (!n.is_empty()).then(|| n.to_owned())
            })
            .collect()
    };
    let mut wrong = Vec::new();
    for dir in ["src", "macros/src", "tests", "benches"] {
        for (path, text) in read_tree(&root().join(dir)) {
            for n in cited(&text, "ARCHITECTURE.md ") {
                if !sections.contains(&n) {
                    wrong.push(format!("{dir}/{path}: ARCHITECTURE.md {n}"));
                }
            }
        }
    }
    for n in cited(&doc, "(").into_iter().chain(cited(&doc, ", ")) {
        if n.contains('.') && !sections.contains(&n) && n.split('.').count() == 2 {
            wrong.push(format!("ARCHITECTURE.md: ({n})"));
        }
    }
    assert!(wrong.is_empty(), "citations of no section: {wrong:?}");
}
