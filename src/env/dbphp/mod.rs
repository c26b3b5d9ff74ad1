//! Reading an environment's `config/db.php` without running PHP.
//!
//! A Yii application keeps its MySQL connection in a PHP file that `return`s an array: Yii 2
//! (`'dsn' => 'mysql:host=…;dbname=…'`, possibly nested under `'components' => ['db' => …]`) or Yii 1.1
//! (`array('connectionString' => …)`). Secours needs that connection to restore a dump, but must not run
//! the office's PHP. So this module holds a small PHP tokenizer and a recursive-descent parser for array
//! literals: strings (with PHP's escapes), numbers, `true`/`false`/`null` and nested arrays become values;
//! anything else (a `getenv()` call, a variable, a constant, a `require`, string interpolation) becomes an
//! opaque *computed* value that remembers its line and how it was written.
//!
//! Guarantees:
//! - Computed values are an error only where Secours needs them (the DSN, `username`, `password`); the
//!   error names the file, the line and the construct, and says where to put the value in Secours' config.
//! - A non-MySQL connection is an error naming the driver, never a silent fallback.
//! - No error message ever contains the password (nor any other string literal of the file except DSN
//!   pieces, `getenv()` names, `require` paths and array keys).
//! - The last of duplicate keys wins, as in PHP; the connection's `charset` wins over the DSN's.

mod lexer;
mod parser;
mod resolve;
mod value;

use lexer::{SyntaxError, lex};
use parser::find_return;
use resolve::resolve;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::secret::Secret;

/// The MySQL connection an environment's application uses, as far as its `db.php` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbSettings {
    /// `host=` of the DSN.
    pub host: Option<String>,
    /// `port=` of the DSN.
    pub port: Option<u16>,
    /// `unix_socket=` of the DSN.
    pub socket: Option<PathBuf>,
    /// `dbname=` of the DSN.
    pub name: Option<String>,
    /// `username`.
    pub user: Option<String>,
    /// `password` (never printed).
    pub password: Option<Secret>,
    /// `charset` of the connection array, else of the DSN.
    pub charset: Option<String>,
}

/// Why a `db.php` could not be read.
///
/// No variant carries the password or any other literal value the file may hold as a secret.
#[derive(Debug, thiserror::Error)]
pub enum DbPhpError {
    #[error("cannot read '{path}': {source}. Check that the file exists and that Secours may read it.")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "'{path}', line {line}: cannot parse this db.php ({message}). Secours reads db.php without running \
         PHP and understands a plain 'return [...]' of literal values; fix the file, or set the connection in \
         the Secours config under [environments.<name>.database] (keys host, port, socket, name, user, password)."
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "'{path}': no top-level 'return' statement, so this file hands no connection to Yii. Check that this is \
         the application's config/db.php, or set the connection in the Secours config under \
         [environments.<name>.database] (keys host, port, socket, name, user, password)."
    )]
    NoReturn { path: PathBuf },
    #[error(
        "'{path}', line {line}: {what} is {found}, not an array. Make db.php return the connection array, or set \
         the connection in the Secours config under [environments.<name>.database] (keys host, port, socket, \
         name, user, password)."
    )]
    NotAnArray {
        path: PathBuf,
        line: usize,
        what: String,
        found: &'static str,
    },
    #[error(
        "'{path}', line {line}: {detail}. Check that this is the application's db.php (a Yii 2 'dsn' or Yii 1.1 \
         'connectionString' connection), or set the connection in the Secours config under \
         [environments.<name>.database] (keys host, port, socket, name, user, password)."
    )]
    NoConnection { path: PathBuf, line: usize, detail: String },
    #[error(
        "'{path}', line {line}: the database connection has no 'dsn' (Yii 2) or 'connectionString' (Yii 1.1). \
         Add one, or set the connection in the Secours config under [environments.<name>.database] (keys host, \
         port, socket, name, user, password)."
    )]
    MissingDsn { path: PathBuf, line: usize },
    #[error(
        "'{path}', line {line}: {what} is computed by {construct}; Secours reads db.php without running PHP, so \
         it cannot know the value. Set it in the Secours config under [environments.<name>.database] (keys \
         host, port, socket, name, user, password) instead."
    )]
    Computed {
        path: PathBuf,
        line: usize,
        what: String,
        construct: String,
    },
    #[error(
        "'{path}', line {line}: {what} is {found}, not a string. Write it as a quoted string, or set it in the \
         Secours config under [environments.<name>.database] (keys host, port, socket, name, user, password)."
    )]
    NotAString {
        path: PathBuf,
        line: usize,
        what: String,
        found: &'static str,
    },
    #[error(
        "'{path}', line {line}: the database connection uses the '{driver}' driver, but Secours restores only \
         MySQL/MariaDB databases (a DSN starting with 'mysql:'). Point this environment at a MySQL \
         application, or set the database in the Secours config under [environments.<name>.database] (keys \
         host, port, socket, name, user, password)."
    )]
    UnsupportedDriver { path: PathBuf, line: usize, driver: String },
    #[error(
        "'{path}', line {line}: the connection's DSN is malformed: {problem}. Write it as \
         'mysql:host=…;port=…;dbname=…', or set the connection in the Secours config under \
         [environments.<name>.database] (keys host, port, socket, name, user, password)."
    )]
    BadDsn {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// Reads and parses a `db.php` file.
pub fn read_db_php(path: &Path) -> Result<DbSettings, DbPhpError> {
    let bytes = std::fs::read(path).map_err(|source| DbPhpError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_db_php(path, &String::from_utf8_lossy(&bytes))
}

/// Parses the text of a `db.php`; `path` is only used in messages.
pub fn parse_db_php(path: &Path, text: &str) -> Result<DbSettings, DbPhpError> {
    let syntax = |e: SyntaxError| DbPhpError::Syntax {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    };
    let tokens = lex(text).map_err(syntax)?;
    let root = find_return(&tokens, text).map_err(syntax)?;
    let Some(root) = root else {
        return Err(DbPhpError::NoReturn { path: path.to_owned() });
    };
    resolve(path, &root)
}

#[cfg(test)]
mod tests {
    use super::lexer::*;
    use super::parser::*;
    use super::resolve::*;
    use super::value::*;
    use super::*;

    fn parse(text: &str) -> Result<DbSettings, DbPhpError> {
        parse_db_php(Path::new("config/db.php"), text)
    }

    fn returned(text: &str) -> Value {
        let tokens = lex(text).unwrap();
        find_return(&tokens, text).unwrap().unwrap().value
    }

    fn password_of(text: &str) -> String {
        parse(text).unwrap().password.unwrap().expose().to_owned()
    }

    // Guards: single quotes know only \' and \\; every other backslash stays.
    #[test]
    fn single_quote_escapes() {
        assert_eq!(
            returned(r"<?php return 'it\'s a \\ back\slash \n';"),
            Value::Str(r"it's a \ back\slash \n".into())
        );
    }

    // Guards: the double-quote escapes PHP documents, including octal overflow and unknown escapes.
    #[test]
    fn double_quote_escapes() {
        let v = returned(r#"<?php return "a\tb\nc\\d\"e\$f\x41\101\u{e9}\u{1F600}\q\e\v\f\r\400";"#);
        assert_eq!(v, Value::Str("a\tb\nc\\d\"e$fAAé😀\\q\x1b\x0b\x0c\r\0".into()));
    }

    // Guards: a lone `$` or `{` in double quotes is literal, not interpolation.
    #[test]
    fn double_quote_literal_dollar() {
        assert_eq!(
            returned(r#"<?php return "cost $5 {x} $";"#),
            Value::Str("cost $5 {x} $".into())
        );
    }

    // Guards: every interpolation style becomes computed, naming only the interpolated piece.
    #[test]
    fn interpolation_is_computed() {
        for (src, piece) in [
            (r#""pre{$a['k']}post""#, "{$a['k']}"),
            (r#""x{$a["k"]}y""#, r#"{$a["k"]}"#),
            (r#""pre$name post""#, "$name"),
            (r#""pre$arr[key]""#, "$arr[key]"),
            (r#""pre$obj->prop""#, "$obj->prop"),
            (r#""pre${name}""#, "${name}"),
        ] {
            let Value::Computed { construct, .. } = returned(&format!("<?php return {src};")) else {
                panic!("{src} should be computed");
            };
            assert!(construct.starts_with(piece), "{src}: {construct}");
            assert!(!construct.contains("pre"), "{src}: {construct}");
        }
    }

    // Guards: heredoc applies double-quote escapes and removes the closing indentation; nowdoc is raw.
    #[test]
    fn heredoc_and_nowdoc() {
        let text = "<?php return [\n    'a' => <<<EOT\n      x\\ty\n        z\\\"\n      EOT,\n    'b' => <<<'RAW'\n\\t$x\nRAW\n];";
        let Value::Array(entries) = returned(text) else {
            panic!()
        };
        assert_eq!(lookup(&entries, "a").unwrap().value, Value::Str("x\ty\n  z\\\"".into()));
        assert_eq!(lookup(&entries, "b").unwrap().value, Value::Str("\\t$x".into()));
    }

    // Guards: numbers in every PHP notation, with negatives.
    #[test]
    fn numbers() {
        let Value::Array(e) = returned("<?php return [0x1F, 0b101, 017, 0o17, 1_000, -5, 1.5, 2e3, .5];") else {
            panic!()
        };
        let values: Vec<_> = e.into_iter().map(|e| e.node.value).collect();
        assert_eq!(
            values,
            vec![
                Value::Int(31),
                Value::Int(5),
                Value::Int(15),
                Value::Int(15),
                Value::Int(1000),
                Value::Int(-5),
                Value::Float(1.5),
                Value::Float(2000.0),
                Value::Float(0.5)
            ]
        );
    }

    // Guards: implicit keys count from the largest int key, and string keys like '8' are ints, as in PHP.
    #[test]
    fn keys_as_php_normalises_them() {
        let Value::Array(e) = returned("<?php return ['a', '5' => 'b', 'c', true => 'd', PDO::X => 'e'];") else {
            panic!()
        };
        let keys: Vec<_> = e.into_iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            vec![Key::Int(0), Key::Int(5), Key::Int(6), Key::Int(1), Key::Opaque]
        );
    }

    // Guards: the last of duplicate keys wins, at every level.
    #[test]
    fn duplicate_keys_last_wins() {
        let s = parse(
            "<?php return ['dsn' => 'mysql:host=a;dbname=x', 'username' => 'u1', 'username' => 'u2', \
             'password' => 'p1', 'dsn' => 'mysql:host=b;dbname=y', 'password' => 'p2'];",
        )
        .unwrap();
        assert_eq!(s.host.as_deref(), Some("b"));
        assert_eq!(s.name.as_deref(), Some("y"));
        assert_eq!(s.user.as_deref(), Some("u2"));
        assert_eq!(s.password.unwrap().expose(), "p2");
    }

    // Guards: the DSN parts, whitespace tolerance, unknown keys and the last-wins rule.
    #[test]
    fn dsn_parts() {
        assert_eq!(
            parse_dsn(
                " mysql : host = db.lan ; port = 3307 ;dbname=shop;unix_socket=/tmp/m.sock;charset=utf8;x=y;host=h2;"
            ),
            Ok(Dsn {
                host: Some("h2".into()),
                port: Some(3307),
                socket: Some("/tmp/m.sock".into()),
                name: Some("shop".into()),
                charset: Some("utf8".into()),
            })
        );
        assert_eq!(
            parse_dsn("MySQL:dbname=a"),
            Ok(Dsn {
                name: Some("a".into()),
                ..Dsn::default()
            })
        );
        assert_eq!(parse_dsn("mysql:"), Ok(Dsn::default()));
    }

    // Guards: non-MySQL drivers are named; malformed DSNs are refused.
    #[test]
    fn dsn_errors() {
        assert_eq!(
            parse_dsn("sqlite:/var/db.sqlite"),
            Err(DsnError::Driver("sqlite".into()))
        );
        assert_eq!(
            parse_dsn("pgsql:host=x;dbname=y"),
            Err(DsnError::Driver("pgsql".into()))
        );
        assert!(matches!(
            parse_dsn("host=localhost;dbname=x"),
            Err(DsnError::Malformed(_))
        ));
        assert!(matches!(parse_dsn("mysql:host=x;port=abc"), Err(DsnError::Malformed(m)) if m.contains("'abc'")));
        assert!(matches!(parse_dsn("mysql:host=x;port=0"), Err(DsnError::Malformed(_))));
        assert!(matches!(
            parse_dsn("mysql:host=x;port=70000"),
            Err(DsnError::Malformed(_))
        ));
        assert!(matches!(parse_dsn("mysql:localhost"), Err(DsnError::Malformed(m)) if m.contains("'localhost'")));
    }

    // Guards: literal concatenations fold; any computed operand makes the whole computed.
    #[test]
    fn concatenation() {
        assert_eq!(returned("<?php return 'a' . 'b' . 3;"), Value::Str("ab3".into()));
        let Value::Computed { construct, .. } = returned("<?php return 'secretpart' . getenv('X') . 'x';") else {
            panic!()
        };
        assert_eq!(construct, "getenv('X') (in an expression using '.')");
    }

    // Guards: how constructs are named, without quoting literals that could be secrets.
    #[test]
    fn construct_names() {
        for (src, want) in [
            ("getenv('DB_PASSWORD')", "getenv('DB_PASSWORD')"),
            ("$_ENV['DB_USER']", "$_ENV['DB_USER']"),
            (
                "$_SERVER[\"DB_USER\"] ?? 'hidden'",
                "$_SERVER[\"DB_USER\"] (in an expression using '??')",
            ),
            (
                "Yii::$app->params['db']['password']",
                "Yii::$app->params['db']['password']",
            ),
            ("DB_PASSWORD", "DB_PASSWORD"),
            ("\\App\\Config::DB_PASS", "\\App\\Config::DB_PASS"),
            ("base64_decode('aGlkZGVu')", "base64_decode(…)"),
            ("require __DIR__ . '/db-local.php'", "require __DIR__ . '/db-local.php'"),
            (
                "YII_ENV_PROD ? 'hidden' : 'hidden2'",
                "YII_ENV_PROD (in an expression using '?')",
            ),
            ("(string) getenv('P')", "getenv('P') (in a larger expression)"),
            ("function () { return 'hidden'; }", "a closure"),
            ("fn() => 'hidden'", "a closure"),
            ("new Foo('hidden')", "new Foo(…)"),
            ("1 + 2", "an expression using '+'"),
            ("`cat /etc/pw`", "a backtick shell command"),
        ] {
            let Value::Computed { construct, .. } = returned(&format!("<?php return {src};")) else {
                panic!("{src} should be computed")
            };
            assert_eq!(construct, want, "{src}");
            assert!(!construct.contains("hidden"), "{src}");
        }
    }

    // Guards: lines are 1-based and point at the computed piece, even inside a multi-line expression.
    #[test]
    fn computed_line() {
        let e = parse("<?php\nreturn [\n  'dsn' => 'mysql:host=x',\n  'password' => 'a'\n    . getenv('P'),\n];")
            .unwrap_err();
        assert!(matches!(e, DbPhpError::Computed { line: 5, .. }), "{e}");
    }

    // Guards: unneeded computed keys and values (PDO constants, YII_DEBUG, closures) do not break parsing.
    #[test]
    fn computed_unneeded_values_are_fine() {
        let s = parse(
            "<?php return ['class' => yii\\db\\Connection::class, 'dsn' => 'mysql:host=h;dbname=d', \
             'enableSchemaCache' => YII_DEBUG, 'attributes' => [PDO::ATTR_TIMEOUT => 5, \\PDO::MYSQL_ATTR_INIT_COMMAND => \"SET x=$y\"], \
             'on afterOpen' => function ($e) { $e->sender->createCommand(\"SET time_zone='+00:00'\")->execute(); }, \
             'charset' => getenv('CS')];",
        )
        .unwrap();
        assert_eq!(s.host.as_deref(), Some("h"));
        assert_eq!(s.charset, None);
    }

    // Guards: the array's charset wins over the DSN's; an empty/absent one falls back to the DSN.
    #[test]
    fn charset_precedence() {
        let s = parse("<?php return ['dsn' => 'mysql:dbname=d;charset=latin1', 'charset' => 'utf8mb4'];").unwrap();
        assert_eq!(s.charset.as_deref(), Some("utf8mb4"));
        let s = parse("<?php return ['dsn' => 'mysql:dbname=d;charset=latin1'];").unwrap();
        assert_eq!(s.charset.as_deref(), Some("latin1"));
    }

    // Guards: null/absent password is None, an empty one is Some(""), an int one is its decimal text.
    #[test]
    fn password_shapes() {
        assert_eq!(
            parse("<?php return ['dsn' => 'mysql:', 'password' => null];")
                .unwrap()
                .password,
            None
        );
        assert_eq!(parse("<?php return ['dsn' => 'mysql:'];").unwrap().password, None);
        assert_eq!(password_of("<?php return ['dsn' => 'mysql:', 'password' => ''];"), "");
        assert_eq!(
            password_of("<?php return ['dsn' => 'mysql:', 'password' => 123456];"),
            "123456"
        );
    }

    // Guards: syntax errors name the line and never quote a string literal.
    #[test]
    fn syntax_errors() {
        let e = parse("<?php\nreturn [\n 'dsn' => 'mysql:'\n 'password' => 'hunter2'\n];").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("line 4") && !msg.contains("hunter2"), "{msg}");
        let e = parse("<?php\n\nreturn ['password' => 'hunter2").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = parse("<?php\nreturn [\n'a' => [1, 2,\n];").unwrap_err();
        assert!(matches!(e, DbPhpError::Syntax { .. }), "{e}");
        let e = parse("<?php /* never closed\nreturn [];").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    // Guards: code after `?>` is HTML; `?>` ends the statement; `//` comments stop at `?>`.
    #[test]
    fn php_tags() {
        let s = parse("<html><?php // c ?><?php return ['dsn' => 'mysql:dbname=x'] ?>\n<p>return ['x'];</p>").unwrap();
        assert_eq!(s.name.as_deref(), Some("x"));
        let s = parse("<? return array('connectionString' => 'mysql:dbname=y')?>").unwrap();
        assert_eq!(s.name.as_deref(), Some("y"));
    }

    // Guards: parentheses around a value are transparent; casts and larger expressions stay computed.
    #[test]
    fn parentheses() {
        let s = parse("<?php return (['dsn' => ('mysql:dbname=p'), 'username' => ((('u')))]);").unwrap();
        assert_eq!((s.name.as_deref(), s.user.as_deref()), (Some("p"), Some("u")));
        let e = parse("<?php return ['dsn' => 'mysql:', 'password' => (string) getenv('P')];").unwrap_err();
        assert!(e.to_string().contains("getenv('P')"), "{e}");
        let e = parse("<?php return ['dsn' => 'mysql:', 'password' => ('a') . $b];").unwrap_err();
        assert!(e.to_string().contains("$b"), "{e}");
    }

    // Guards: absurd nesting is a syntax error, not a stack overflow.
    #[test]
    fn deep_nesting_is_an_error() {
        for open in ["[", "(", "array("] {
            let text = format!("<?php return {};", open.repeat(100_000));
            let e = parse(&text).unwrap_err();
            assert!(matches!(e, DbPhpError::Syntax { .. }), "{e}");
        }
    }

    proptest::proptest! {
        // Guards: no input, however broken, makes the lexer or parser panic (byte slicing, escapes,
        // heredocs, recursion).
        #[test]
        fn never_panics(text in "(<\\?php |<\\?|\\?>|return |array\\(|\\[|\\]|\\(|\\)|,|=>|;|'[^']{0,4}'?|\"[^\"]{0,6}\"?|\\$[a-z]{1,2}|\\{\\$|\\\\[nxu0-7{$\"]|[0-9a-fxob_.e+-]{1,4}|<<<[A-Z'\"]{0,3}\n?|[A-Z]{1,3}|/\\*|\\*/|//|#|\n|\r| |é|::|\\.|\\?|:|`){0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_any_text(text in proptest::prelude::any::<String>()) {
            let _ = parse(&text);
            let _ = parse(&format!("<?php return [{text}];"));
        }
    }

    // Guards: a `return` inside a closure or block before the real one is not taken.
    #[test]
    fn top_level_return_only() {
        let s = parse(
            "<?php $f = function () { return ['dsn' => 'sqlite:x']; };\nif (X) { return 1; }\nreturn ['dsn' => 'mysql:dbname=z'];",
        )
        .unwrap();
        assert_eq!(s.name.as_deref(), Some("z"));
        assert!(matches!(parse("<?php $x = 1;"), Err(DbPhpError::NoReturn { .. })));
        assert!(matches!(parse("no php here"), Err(DbPhpError::NoReturn { .. })));
    }
}
