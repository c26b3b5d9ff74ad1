//! Runs `secours::env::dbphp` over the real-world-shaped `db.php` files in `tests/fixtures/dbphp/`.
//!
//! `valid/<name>.php` must parse to `valid/<name>.expected.json` (the `DbSettings` as JSON, password shown
//! as `***`); `invalid/<name>.php` must fail with a message containing every non-empty line of
//! `invalid/<name>.error.txt`. Literal passwords in the invalid fixtures all contain `s3cr3t`, which no
//! error message may contain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use secours::env::dbphp::{DbSettings, read_db_php};

/// The marker every literal password in the invalid fixtures contains.
const SECRET_MARKER: &str = "s3cr3t";

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dbphp")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "php"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .php fixtures in {}", dir.display());
    files
}

/// `<dir>/<name>.php` → `<dir>/<name><suffix>`, which must exist.
fn companion(php: &Path, suffix: &str) -> String {
    let stem = php.file_stem().unwrap().to_string_lossy();
    let path = php.with_file_name(format!("{stem}{suffix}"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} lacks its {suffix} ({e})", php.display()))
}

// Guards: every valid db.php shape (Yii 2, Yii 2 advanced, Yii 1.1, comments, quotes, duplicates, several
// connections…) resolves to exactly the expected settings.
#[test]
fn valid_fixtures_parse_to_their_expected_settings() {
    let files = fixtures("valid");
    assert!(files.len() >= 15, "only {} valid fixtures", files.len());
    for php in files {
        let expected: serde_json::Value = serde_json::from_str(&companion(&php, ".expected.json"))
            .unwrap_or_else(|e| panic!("{}: bad expected JSON: {e}", php.display()));
        let settings: DbSettings =
            read_db_php(&php).unwrap_or_else(|e| panic!("{} should parse, got: {e}", php.display()));
        let actual = serde_json::to_value(&settings).unwrap();
        assert_eq!(actual, expected, "{}", php.display());
    }
}

// Guards: every unsupported or broken db.php fails with the expected explanation (line, construct, driver).
#[test]
fn invalid_fixtures_fail_with_their_expected_message() {
    let files = fixtures("invalid");
    assert!(files.len() >= 10, "only {} invalid fixtures", files.len());
    for php in files {
        let wanted = companion(&php, ".error.txt");
        let needles: Vec<&str> = wanted.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!needles.is_empty(), "{}: empty .error.txt", php.display());
        let message = match read_db_php(&php) {
            Ok(settings) => panic!("{} should fail, parsed to {settings:?}", php.display()),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains(&php.display().to_string()),
            "{}: message lacks the path: {message}",
            php.display()
        );
        for needle in needles {
            assert!(
                message.contains(needle),
                "{}: message lacks '{needle}':\n{message}",
                php.display()
            );
        }
    }
}

// Guards: no error message (Display or Debug) ever reveals a password written in the file.
#[test]
fn errors_never_reveal_the_password() {
    let mut checked = 0;
    for php in fixtures("invalid") {
        let text = fs::read_to_string(&php).unwrap();
        let Err(e) = read_db_php(&php) else {
            panic!("{} should fail", php.display())
        };
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                !shown.contains(SECRET_MARKER),
                "{} leaks the password: {shown}",
                php.display()
            );
        }
        if text.contains(SECRET_MARKER) {
            checked += 1;
        }
    }
    // The test means something only if many fixtures do hold a marked password.
    assert!(
        checked >= 10,
        "only {checked} invalid fixtures contain a marked password"
    );
}

// Guards: the password is read exactly (escapes applied), though it serialises as `***`.
#[test]
fn passwords_are_exposed_exactly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dbphp/valid");
    for (name, password) in [
        ("yii2-port-and-charsets", "Tr0ub4dor&3"),
        ("double-quoted-escapes", "p\"a$s\\w\u{f6}rd\tA"),
        ("single-quoted-escapes", "it's\\a\\n$secret"),
        ("namespace-heredoc-nowdoc", "n0w$doc\\n"),
        ("duplicate-keys", "second-pass"),
        ("literal-concatenation", "concat-pass"),
        ("html-before-and-crlf", "20190401"),
        ("short-open-tag-and-close", "old;pass"),
        ("yii2-basic-template", ""),
    ] {
        let settings = read_db_php(&dir.join(format!("{name}.php"))).unwrap();
        assert_eq!(settings.password.as_ref().map(|p| p.expose()), Some(password), "{name}");
        assert!(
            password.is_empty() || !format!("{settings:?}").contains(password),
            "{name}: Debug leaks"
        );
    }
}

// Guards: a missing file is an I/O error naming the path.
#[test]
fn missing_file_names_the_path() {
    let e = read_db_php(Path::new("/nonexistent/config/db.php")).unwrap_err();
    assert!(e.to_string().contains("'/nonexistent/config/db.php'"), "{e}");
}
