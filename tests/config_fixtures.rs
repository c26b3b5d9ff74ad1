//! Every configuration in `tests/fixtures/config/valid` loads; every one in `invalid` is refused with
//! each line of its `.expected` file found in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn fixtures(kind: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut list: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    list.sort();
    assert!(!list.is_empty(), "no fixtures in {}", dir.display());
    list
}

#[test]
fn valid_configurations_load() {
    for path in fixtures("valid") {
        secours::env::config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn invalid_configurations_say_what_and_where() {
    for path in fixtures("invalid") {
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} lacks its .expected file", path.display()));
        let message = secours::env::config::load(&path)
            .expect_err(&path.display().to_string())
            .to_string();
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                message.contains(line),
                "{}: expected '{line}' in:\n{message}",
                path.display()
            );
        }
    }
}

// Guards the public contract: the example shipped in resources/ documents valid keys only.
#[test]
fn shipped_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/config.example.toml");
    secours::env::config::load(&path).unwrap();
}
