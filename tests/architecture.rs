//! The rules of ARCHITECTURE.md 1, checked on the source: only the kernel
//! layer calls rustix or libc, imports point down the layers, and `error.rs`
//! uses nothing of ours (so formatting an error cannot reach the kernel).

use std::path::{Path, PathBuf};

/// The layers, lowest first, by folder under `src/`.
const LAYERS: &[(&str, u8)] = &[
    ("kernel", 0),
    ("privilege", 1),
    ("namespace", 2),
    ("network", 3),
    ("process", 4),
    ("wire", 4),
    ("testing", 5),
];

/// Public re-exports of `lib.rs` (`crate::Netns`) and the layer they live in.
const REEXPORTS: &[(&str, &str)] = &[
    ("Netns", "namespace"),
    ("RunDir", "namespace"),
    ("validate_name", "namespace"),
    ("Link", "network"),
    ("LinkStats", "network"),
    ("Addr", "network"),
    ("Route", "network"),
    ("validate_link_name", "network"),
    ("Topology", "network"),
    ("Network", "network"),
    ("Privilege", "privilege"),
    ("Unavailable", "privilege"),
    ("Process", "process"),
    ("Listening", "process"),
    ("DEFAULT_GRACE", "process"),
    ("Fixture", "testing"),
    ("FixtureGuard", "testing"),
    ("Hosts", "testing"),
    ("harness", "testing"),
    ("Wire", "wire"),
    ("Faults", "wire"),
    ("Direction", "wire"),
    ("Capture", "wire"),
];

/// The crate's root: nextest sets `CARGO_MANIFEST_DIR` at run time, to the
/// remapped workspace when it runs an archive elsewhere; else the build's.
fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn rank(layer: &str) -> Option<u8> {
    LAYERS.iter().find(|(l, _)| *l == layer).map(|(_, r)| *r)
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

/// The lines of `path` that are code: comments and the `#[cfg(test)]` module
/// at the end are left out (tests may reach anywhere).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

/// Every `crate::NAME` on a line, with `crate::{A, B}` groups expanded.
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        // `$crate::` in macros and `netns_test_crate::` are not ours.
        let before = &rest[..at];
        rest = &rest[at + "crate::".len()..];
        if before.ends_with('$') || before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(',').map(|p| p.trim().to_owned()));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
        }
    }
    out
}

fn layer_of(file: &Path, src: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    rank(&first).map(|_| first)
}

/// Whether `line` names a function (or a module, to call through) of the
/// crate `prefix`: a lower-case item after the path. Types (`Errno`,
/// `FileType`) may be named anywhere.
fn calls_into(line: &str, prefix: &str) -> bool {
    let Some(at) = line.find(prefix) else {
        return false;
    };
    let path = &line[at + prefix.len()..];
    let end = path
        .find(|c: char| !(c.is_alphanumeric() || "_:{}, ".contains(c)))
        .unwrap_or(path.len());
    path[..end]
        .split([':', '{', '}', ',', ' '])
        .filter(|item| !item.is_empty())
        .any(|item| item.starts_with(|c: char| c.is_lowercase()) && !is_module(item))
}

/// Module names on the way to a type (`rustix::io::Errno`).
fn is_module(item: &str) -> bool {
    ["io", "fs", "process", "thread", "mount", "net", "fd"].contains(&item)
}

#[test]
fn only_the_kernel_layer_calls_rustix_or_libc() {
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut offences = Vec::new();
    for file in &files {
        if file.starts_with(src.join("kernel")) {
            continue;
        }
        for (n, line) in code_lines(file) {
            if calls_into(&line, "rustix::") || calls_into(&line, "libc::") {
                offences.push(format!("{}:{n}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "rustix/libc used outside src/kernel/ (ARCHITECTURE.md 1):\n{}",
        offences.join("\n")
    );
}

#[test]
fn imports_point_down_the_layers() {
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut offences = Vec::new();
    let mut checked = 0;
    for file in &files {
        let Some(layer) = layer_of(file, &src) else {
            continue;
        };
        let own = rank(&layer).unwrap();
        for (n, line) in code_lines(file) {
            for path in crate_paths(&line) {
                let target = REEXPORTS
                    .iter()
                    .find(|(name, _)| *name == path)
                    .map(|(_, layer)| (*layer).to_owned())
                    .or_else(|| rank(&path).map(|_| path.clone()));
                let Some(target) = target else { continue };
                checked += 1;
                if rank(&target).unwrap() > own {
                    offences.push(format!(
                        "{}:{n}: the {layer} layer uses crate::{path} of the {target} layer",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(checked > 20, "the check found only {checked} imports");
    assert!(
        offences.is_empty(),
        "imports pointing up the layers (ARCHITECTURE.md 1):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_error_type_uses_nothing_of_ours() {
    let mut files = Vec::new();
    sources(&root().join("src/error"), &mut files);
    assert!(files.len() >= 3, "{files:?}");
    let uses: Vec<_> = files
        .iter()
        .flat_map(|file| code_lines(file).into_iter().map(move |l| (file.clone(), l)))
        .filter(|(_, (_, line))| !crate_paths(line).is_empty())
        .collect();
    assert!(
        uses.is_empty(),
        "src/error/ must not call into the crate: {uses:?}"
    );
}

#[test]
fn the_path_scanner_sees_groups_and_skips_macro_paths() {
    assert!(calls_into("rustix::fs::flock(&file, op)", "rustix::"));
    assert!(calls_into(
        "use rustix::process::{pidfd_open, Pid};",
        "rustix::"
    ));
    assert!(calls_into("unsafe { libc::atexit(f) };", "libc::"));
    assert!(!calls_into("use rustix::fs::FileType;", "rustix::"));
    assert!(!calls_into(
        "Err(rustix::io::Errno::INVAL) => {",
        "rustix::"
    ));
    assert_eq!(
        crate_paths("use crate::{kernel, Netns};"),
        ["kernel", "Netns"]
    );
    assert_eq!(crate_paths("crate::testing::runner::x()"), ["testing"]);
    assert!(crate_paths("$crate::harness::main()").is_empty());
}
