//! The architecture, checked: arrows between the top-level modules of `src/` only point down, so the two
//! shells (`cli`, `ui`) never import each other and no room reaches up into one above it (the layers are
//! listed in `src/lib.rs`). A reference counts wherever `crate::<module>` appears in code outside comments
//! and unit tests.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of lower layers only; modules of one layer do not
/// use each other.
const LAYERS: &[&[&str]] = &[
    &["progress", "i18n"],
    &["files"],
    &["platform"],
    &["env"],
    &["db", "store"],
    &["timemachine"],
    &["backup"],
    &["restore"],
    &["report", "demo"],
    &["run"],
    &["cli", "ui"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests (`#[cfg(test)] mod tests` at the end, or a `tests.rs`).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// `(line, module)` for each `crate::<module>` outside comments.
fn references(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let code_part = line.split("//").next().unwrap_or("");
        let mut rest = code_part;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let preceded_by_word = rest[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if !preceded_by_word && !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn arrows_between_top_level_modules_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let from =
            layer_of(&module).unwrap_or_else(|| panic!("'{module}' (src/{}) is in no layer of LAYERS", rel.display()));
        for (line, target) in references(&code_of(path)) {
            if target == module {
                continue;
            }
            let to = layer_of(&target)
                .unwrap_or_else(|| panic!("src/{}:{line}: 'crate::{target}' is in no layer", rel.display()));
            *edges.entry((module.clone(), target.clone())).or_default() += 1;
            if to >= from {
                wrong.push(format!("src/{}:{line}: {module} uses crate::{target}", rel.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows pointing up or sideways:\n{}",
        wrong.join("\n")
    );
    // The check sees the real code: the shells use the library.
    assert!(edges.contains_key(&("cli".into(), "backup".into())));
    assert!(edges.contains_key(&("restore".into(), "db".into())));
}

#[test]
fn the_reference_finder_sees_paths_and_skips_comments() {
    let refs = references("use crate::backup::status; // crate::ui\nlet x = my_crate::cli::f(); crate::db::q()");
    assert_eq!(refs, vec![(1, "backup".to_owned()), (2, "db".to_owned())]);
}
