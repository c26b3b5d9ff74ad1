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

// ---------------------------------------------------------------------------------------------------------
// Tokens

/// A PHP token, as far as array literals need. Comments and whitespace are dropped by the lexer.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A string literal without interpolation, escapes already applied.
    Str(String),
    /// A double-quoted string or heredoc with interpolation; holds the first interpolated piece, as written.
    Interp(String),
    /// A `` `shell command` ``.
    Shell,
    Int(i64),
    Float(f64),
    /// `$name` (without the `$`).
    Var(String),
    /// A name: keyword, constant, function or class, possibly namespaced (`\PDO`, `yii\db\Connection`).
    Ident(String),
    Punct(&'static str),
    /// `;` or `?>` (which ends a statement too).
    Semi,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offsets into the source, to quote constructs as written.
    start: usize,
    end: usize,
    line: usize,
}

/// A lexing or parsing failure; `message` never contains a string literal's content.
#[derive(Debug)]
struct SyntaxError {
    line: usize,
    message: String,
}

/// Operators, longest first so that the first match is the right one.
const PUNCTS: &[&str] = &[
    "<<=", ">>=", "**=", "...", "<=>", "===", "!==", "??=", "?->", "=>", "->", "::", "==", "!=", "<>", "<=", ">=",
    "&&", "||", "??", "++", "--", "+=", "-=", "*=", "/=", ".=", "%=", "&=", "|=", "^=", "<<", ">>", "**", "(", ")",
    "[", "]", "{", "}", ",", ".", "+", "-", "*", "/", "%", "=", "<", ">", "!", "?", ":", "&", "|", "^", "~", "@", "$",
    "\\",
];

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line_starts: Vec<usize>,
    tokens: Vec<Token>,
}

fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = src.as_bytes();
    let mut line_starts = vec![0];
    line_starts.extend(
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    let mut lexer = Lexer {
        src,
        bytes,
        pos: 0,
        line_starts,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

impl Lexer<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line: self.line_of(offset),
            message: message.into(),
        }
    }

    fn at(&self, offset: usize) -> u8 {
        self.bytes.get(offset).copied().unwrap_or(0)
    }

    fn starts_with(&self, offset: usize, s: &str) -> bool {
        self.bytes
            .get(offset..)
            .is_some_and(|rest| rest.starts_with(s.as_bytes()))
    }

    fn push(&mut self, tok: Tok, start: usize, end: usize) {
        let line = self.line_of(start);
        self.tokens.push(Token { tok, start, end, line });
    }

    fn run(&mut self) -> Result<(), SyntaxError> {
        // Outside `<?php … ?>` is inline HTML, which PHP prints and we ignore.
        while self.skip_html() {
            self.php()?;
        }
        Ok(())
    }

    /// Skips to just after the next opening tag; false when there is none.
    fn skip_html(&mut self) -> bool {
        let Some(found) = self.src.get(self.pos..).and_then(|rest| rest.find("<?")) else {
            self.pos = self.bytes.len();
            return false;
        };
        let open = self.pos + found;
        let after = open + 2;
        let is_php = self
            .bytes
            .get(after..after + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"php"))
            && !is_ident_char(self.at(after + 3));
        self.pos = if is_php {
            after + 3
        } else if self.at(after) == b'=' {
            after + 1
        } else {
            after
        };
        true
    }

    /// Lexes PHP code until `?>` or the end of the file.
    fn php(&mut self) -> Result<(), SyntaxError> {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let b = self.bytes[start];
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => self.pos += 1,
                b'#' => self.line_comment(),
                b'/' if self.at(start + 1) == b'/' => self.line_comment(),
                b'/' if self.at(start + 1) == b'*' => {
                    let Some(end) = self.src.get(start + 2..).and_then(|r| r.find("*/")) else {
                        return Err(self.error(start, "a '/*' comment is never closed"));
                    };
                    self.pos = start + 2 + end + 2;
                }
                b'?' if self.at(start + 1) == b'>' => {
                    self.push(Tok::Semi, start, start + 2);
                    self.pos = start + 2;
                    // PHP swallows one newline right after `?>`.
                    if self.starts_with(self.pos, "\r\n") {
                        self.pos += 2;
                    } else if self.at(self.pos) == b'\n' {
                        self.pos += 1;
                    }
                    return Ok(());
                }
                b';' => {
                    self.push(Tok::Semi, start, start + 1);
                    self.pos += 1;
                }
                b'\'' => self.single_quoted()?,
                b'"' => self.double_quoted()?,
                b'`' => self.backtick()?,
                b'<' if self.starts_with(start, "<<<") => self.heredoc()?,
                b'$' if is_ident_start(self.at(start + 1)) => {
                    let end = self.ident_end(start + 1);
                    self.push(Tok::Var(self.src[start + 1..end].to_owned()), start, end);
                    self.pos = end;
                }
                b'0'..=b'9' => self.number()?,
                b'.' if self.at(start + 1).is_ascii_digit() => self.number()?,
                _ if is_ident_start(b) || (b == b'\\' && is_ident_start(self.at(start + 1))) => self.name(),
                _ => {
                    let Some(&p) = PUNCTS.iter().find(|p| self.starts_with(start, p)) else {
                        let shown = self.src.get(start..).and_then(|r| r.chars().next()).unwrap_or('?');
                        return Err(self.error(start, format!("unexpected character '{}'", shown.escape_default())));
                    };
                    self.push(Tok::Punct(p), start, start + p.len());
                    self.pos = start + p.len();
                }
            }
        }
        Ok(())
    }

    /// `//` and `#` comments end at the line's end or at `?>`, as in PHP.
    fn line_comment(&mut self) {
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos] == b'\n' || self.starts_with(self.pos, "?>") {
                return;
            }
            self.pos += 1;
        }
    }

    fn ident_end(&self, mut i: usize) -> usize {
        while is_ident_char(self.at(i)) {
            i += 1;
        }
        i
    }

    /// A (possibly namespaced) name: `PDO`, `\PDO`, `yii\db\Connection`.
    fn name(&mut self) {
        let start = self.pos;
        let mut i = start;
        loop {
            if self.at(i) == b'\\' {
                i += 1;
            }
            i = self.ident_end(i);
            if !(self.at(i) == b'\\' && is_ident_start(self.at(i + 1))) {
                break;
            }
        }
        self.push(Tok::Ident(self.src[start..i].to_owned()), start, i);
        self.pos = i;
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let radix_prefix = |c: u8| match c {
            b'x' | b'X' => Some(16),
            b'b' | b'B' => Some(2),
            b'o' | b'O' => Some(8),
            _ => None,
        };
        let radix = if self.at(start) == b'0' {
            radix_prefix(self.at(start + 1))
        } else {
            None
        };
        if let Some(radix) = radix {
            let mut i = start + 2;
            while self.at(i).is_ascii_hexdigit() || self.at(i) == b'_' {
                i += 1;
            }
            let digits: String = self.src[start + 2..i].chars().filter(|c| *c != '_').collect();
            let tok = match i64::from_str_radix(&digits, radix) {
                Ok(n) => Tok::Int(n),
                Err(_) if !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) => {
                    // Too big for an int: PHP makes it a float.
                    Tok::Float(digits.chars().fold(0.0, |acc, c| {
                        acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
                    }))
                }
                Err(_) => return Err(self.error(start, "malformed number")),
            };
            self.push(tok, start, i);
            self.pos = i;
            return Ok(());
        }
        let mut i = start;
        let mut is_float = false;
        while self.at(i).is_ascii_digit() || self.at(i) == b'_' {
            i += 1;
        }
        if self.at(i) == b'.' && self.at(i + 1) != b'.' {
            is_float = true;
            i += 1;
            while self.at(i).is_ascii_digit() || self.at(i) == b'_' {
                i += 1;
            }
        }
        if matches!(self.at(i), b'e' | b'E') {
            let mut j = i + 1;
            if matches!(self.at(j), b'+' | b'-') {
                j += 1;
            }
            if self.at(j).is_ascii_digit() {
                is_float = true;
                i = j;
                while self.at(i).is_ascii_digit() {
                    i += 1;
                }
            }
        }
        let text: String = self.src[start..i].chars().filter(|c| *c != '_').collect();
        let float = || text.parse::<f64>().map_err(|_| self.error(start, "malformed number"));
        let tok = if is_float {
            Tok::Float(float()?)
        } else if text.len() > 1 && text.starts_with('0') {
            // A leading zero means octal in PHP.
            match i64::from_str_radix(&text[1..], 8) {
                Ok(n) => Tok::Int(n),
                Err(_) => return Err(self.error(start, "malformed octal number")),
            }
        } else {
            match text.parse::<i64>() {
                Ok(n) => Tok::Int(n),
                Err(_) => Tok::Float(float()?),
            }
        };
        self.push(tok, start, i);
        self.pos = i;
        Ok(())
    }

    fn single_quoted(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let mut i = start + 1;
        let mut out = String::new();
        let mut run = i;
        loop {
            match self.bytes.get(i) {
                None => return Err(self.error(start, "a single-quoted string is never closed")),
                Some(b'\'') => break,
                // Only `\'` and `\\` are escapes in single quotes; any other backslash stays.
                Some(b'\\') if matches!(self.at(i + 1), b'\'' | b'\\') => {
                    out.push_str(&self.src[run..i]);
                    out.push(char::from(self.bytes[i + 1]));
                    i += 2;
                    run = i;
                }
                Some(_) => i += 1,
            }
        }
        out.push_str(&self.src[run..i]);
        self.push(Tok::Str(out), start, i + 1);
        self.pos = i + 1;
        Ok(())
    }

    fn double_quoted(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.bytes.get(i) {
                None => return Err(self.error(start, "a double-quoted string is never closed")),
                Some(b'"') => break,
                Some(b'\\') => i += 2,
                // `{$…}` may itself contain double quotes (`"{$a["k"]}"`).
                Some(b'{') if self.at(i + 1) == b'$' => i = self.matching_brace(i),
                Some(_) => i += 1,
            }
        }
        let tok = unescape_double(&self.src[start + 1..i], b'"').map_err(|m| self.error(start, m))?;
        self.push(tok, start, i + 1);
        self.pos = i + 1;
        Ok(())
    }

    /// The offset just after the `}` matching the `{` at `open` (naive: braces inside strings count).
    fn matching_brace(&self, open: usize) -> usize {
        let mut depth = 0usize;
        let mut i = open;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        i
    }

    fn backtick(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.bytes.get(i) {
                None => return Err(self.error(start, "a backtick command is never closed")),
                Some(b'`') => break,
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
        self.push(Tok::Shell, start, i + 1);
        self.pos = i + 1;
        Ok(())
    }

    /// `<<<ID` (heredoc, like double quotes) and `<<<'ID'` (nowdoc, raw), with PHP 7.3 indented closers.
    fn heredoc(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let mut i = start + 3;
        while matches!(self.at(i), b' ' | b'\t') {
            i += 1;
        }
        let quote = self.at(i);
        let nowdoc = quote == b'\'';
        if matches!(quote, b'\'' | b'"') {
            i += 1;
        }
        let id_start = i;
        i = self.ident_end(i);
        let id = &self.src[id_start..i];
        if id.is_empty() || !is_ident_start(self.bytes[id_start]) {
            return Err(self.error(start, "'<<<' is not followed by a heredoc name"));
        }
        if matches!(quote, b'\'' | b'"') {
            if self.at(i) != quote {
                return Err(self.error(start, "the heredoc name's quote is never closed"));
            }
            i += 1;
        }
        if self.starts_with(i, "\r\n") {
            i += 2;
        } else if self.at(i) == b'\n' {
            i += 1;
        } else {
            return Err(self.error(start, "a heredoc name must end its line"));
        }
        let body_start = i;
        let mut line_start = body_start;
        let (body_end, indent, close_end) = loop {
            if line_start >= self.bytes.len() {
                return Err(self.error(start, format!("the heredoc '{id}' is never closed")));
            }
            let mut j = line_start;
            while matches!(self.at(j), b' ' | b'\t') {
                j += 1;
            }
            if self.starts_with(j, id) && !is_ident_char(self.at(j + id.len())) {
                // The body excludes the newline before the closing line.
                let mut end = line_start.saturating_sub(1).max(body_start);
                if end > body_start && self.at(end - 1) == b'\r' {
                    end -= 1;
                }
                break (end, j - line_start, j + id.len());
            }
            line_start = match self.src.get(line_start..).and_then(|r| r.find('\n')) {
                Some(n) => line_start + n + 1,
                None => self.bytes.len(),
            };
        };
        let raw = &self.src[body_start..body_end];
        // The closing line's indentation is removed from every line of the body.
        let body: Vec<&str> = raw
            .split('\n')
            .map(|l| {
                let strip = l.bytes().take(indent).take_while(|b| matches!(b, b' ' | b'\t')).count();
                &l[strip..]
            })
            .collect();
        let body = body.join("\n");
        let tok = if nowdoc {
            Tok::Str(body)
        } else {
            unescape_double(&body, 0).map_err(|m| self.error(start, m))?
        };
        self.push(tok, start, close_end);
        self.pos = close_end;
        Ok(())
    }
}

/// Applies PHP's double-quote escapes to a string body, or reports its first interpolation.
///
/// `quote` is `b'"'` for a double-quoted string and 0 for a heredoc, where `\"` stays as written.
fn unescape_double(body: &str, quote: u8) -> Result<Tok, String> {
    let b = body.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let c = at(i + 1);
                i += 2;
                match c {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'v' => out.push(0x0b),
                    b'e' => out.push(0x1b),
                    b'f' => out.push(0x0c),
                    b'\\' => out.push(b'\\'),
                    b'$' => out.push(b'$'),
                    b'"' if quote == b'"' => out.push(b'"'),
                    b'0'..=b'7' => {
                        let mut value = u32::from(c - b'0');
                        let mut n = 1;
                        while n < 3 && matches!(at(i), b'0'..=b'7') {
                            value = value * 8 + u32::from(at(i) - b'0');
                            i += 1;
                            n += 1;
                        }
                        // PHP keeps the low byte of `\400`…`\777`.
                        out.push((value & 0xff) as u8);
                    }
                    b'x' if at(i).is_ascii_hexdigit() => {
                        let mut value = 0u32;
                        let mut n = 0;
                        while n < 2 && at(i).is_ascii_hexdigit() {
                            value = value * 16 + char::from(at(i)).to_digit(16).unwrap_or(0);
                            i += 1;
                            n += 1;
                        }
                        out.push((value & 0xff) as u8);
                    }
                    b'u' if at(i) == b'{' => {
                        let close = body[i..].find('}').ok_or("a '\\u{' escape is never closed")?;
                        let hex = &body[i + 1..i + close];
                        let ch = u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or("an invalid '\\u{…}' code point escape")?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += close + 1;
                    }
                    0 => out.push(b'\\'),
                    _ => {
                        // Unknown escapes keep their backslash.
                        out.push(b'\\');
                        i -= 1;
                    }
                }
            }
            b'{' if at(i + 1) == b'$' => {
                let end = body[i..].find('}').map_or(body.len(), |n| i + n + 1);
                return Ok(Tok::Interp(body[i..end].to_owned()));
            }
            b'$' if at(i + 1) == b'{' => {
                let end = body[i..].find('}').map_or(body.len(), |n| i + n + 1);
                return Ok(Tok::Interp(body[i..end].to_owned()));
            }
            b'$' if is_ident_start(at(i + 1)) => {
                let mut end = i + 1;
                while is_ident_char(at(end)) {
                    end += 1;
                }
                if at(end) == b'[' {
                    end = body[end..].find(']').map_or(body.len(), |n| end + n + 1);
                } else if at(end) == b'-' && at(end + 1) == b'>' && is_ident_start(at(end + 2)) {
                    end += 2;
                    while is_ident_char(at(end)) {
                        end += 1;
                    }
                }
                return Ok(Tok::Interp(body[i..end].to_owned()));
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    Ok(Tok::Str(String::from_utf8_lossy(&out).into_owned()))
}

// ---------------------------------------------------------------------------------------------------------
// Values

/// A parsed PHP value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Array(Vec<Entry>),
    /// Anything PHP would have to run to know: `construct` says how it is written, `line` where.
    Computed {
        construct: String,
        line: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    value: Value,
    /// The line where the value starts.
    line: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Int(i64),
    Str(String),
    /// A computed key (`PDO::ATTR_TIMEOUT`): kept, but never equal to a name we look up.
    Opaque,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: Key,
    node: Node,
}

impl Value {
    /// What kind of value this is, for messages (never the value itself).
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::Array(_) => "an array",
            Value::Computed { .. } => "a computed value",
        }
    }
}

/// The entry for `name`; with duplicate keys the last one wins, as in PHP.
fn lookup<'a>(entries: &'a [Entry], name: &str) -> Option<&'a Node> {
    entries
        .iter()
        .rev()
        .find(|e| matches!(&e.key, Key::Str(k) if k == name))
        .map(|e| &e.node)
}

// ---------------------------------------------------------------------------------------------------------
// Parser

/// Functions whose arguments name where a value comes from (an environment variable, a constant), so the
/// error may quote them in full; other calls are shown as `name(…)` since their arguments could be secrets.
const SOURCE_FUNCTIONS: &[&str] = &[
    "getenv",
    "env",
    "constant",
    "ini_get",
    "get_cfg_var",
    "apache_getenv",
    "file_get_contents",
    "file",
];

const CASTS: &[&str] = &[
    "int", "integer", "bool", "boolean", "float", "double", "real", "string", "array", "object",
];

/// Finds the top-level `return` and parses its value; `None` when the file has none.
fn find_return(tokens: &[Token], src: &str) -> Result<Option<Node>, SyntaxError> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match &t.tok {
            Tok::Punct("(" | "[" | "{") => depth += 1,
            Tok::Punct(")" | "]" | "}") => depth = depth.saturating_sub(1),
            Tok::Ident(name) if depth == 0 && name.eq_ignore_ascii_case("return") => {
                let mut parser = Parser {
                    tokens,
                    src,
                    pos: i + 1,
                    depth: 0,
                };
                let node = parser.value("'return'")?;
                return match parser.peek() {
                    None | Some(Token { tok: Tok::Semi, .. }) => Ok(Some(node)),
                    Some(t) => Err(SyntaxError {
                        line: t.line,
                        message: format!("found {} after the returned value", describe_token(t)),
                    }),
                };
            }
            _ => {}
        }
    }
    Ok(None)
}

/// A token for a syntax message: punctuation and names as written, literals only by kind.
fn describe_token(t: &Token) -> String {
    match &t.tok {
        Tok::Str(_) | Tok::Interp(_) => "a string".into(),
        Tok::Shell => "a backtick command".into(),
        Tok::Int(_) | Tok::Float(_) => "a number".into(),
        Tok::Var(v) => format!("'${v}'"),
        Tok::Ident(n) => format!("'{n}'"),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Semi => "';'".into(),
    }
}

/// How deep arrays and parentheses may nest: far more than any config, and a bound on the recursion.
const MAX_DEPTH: usize = 200;

struct Parser<'a> {
    tokens: &'a [Token],
    src: &'a str,
    pos: usize,
    /// Current nesting of arrays and parentheses.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn is_punct(&self, i: usize, p: &str) -> bool {
        matches!(self.tokens.get(i), Some(Token { tok: Tok::Punct(q), .. }) if *q == p)
    }

    fn is_ident(&self, i: usize, name: &str) -> bool {
        matches!(self.tokens.get(i), Some(Token { tok: Tok::Ident(n), .. }) if n.eq_ignore_ascii_case(name))
    }

    fn end_line(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.line)
    }

    /// Parses one value (an array entry's key or value, or the returned value). `after` names what
    /// precedes it, for the "expected a value" message.
    fn value(&mut self, after: &str) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let Some(first) = self.tokens.get(start) else {
            return Err(SyntaxError {
                line: self.end_line(),
                message: format!("the file ends where a value should follow {after}"),
            });
        };
        if self.depth >= MAX_DEPTH {
            return Err(SyntaxError {
                line: first.line,
                message: format!("values are nested more than {MAX_DEPTH} levels deep"),
            });
        }
        let array_close = if self.is_punct(start, "[") {
            Some((start + 1, "]"))
        } else if self.is_ident(start, "array") && self.is_punct(start + 1, "(") {
            Some((start + 2, ")"))
        } else {
            None
        };
        if let Some((inner, close)) = array_close {
            self.pos = inner;
            self.depth += 1;
            let entries = self.array_entries(close, first.line);
            self.depth -= 1;
            let entries = entries?;
            if self.at_terminator() {
                return Ok(Node {
                    value: Value::Array(entries),
                    line: first.line,
                });
            }
            // An array inside a larger expression (`[...] + $x`): computed like any other expression.
            self.pos = start;
        }
        // `(value)`: parentheses around a single value change nothing (`return ([...]);`).
        if self.is_punct(start, "(") {
            self.pos = start + 1;
            self.depth += 1;
            let inner = self.value("'('");
            self.depth -= 1;
            let inner = inner?;
            if self.is_punct(self.pos, ")") {
                self.pos += 1;
                if self.at_terminator() {
                    return Ok(Node {
                        value: inner.value,
                        line: first.line,
                    });
                }
            }
            // A cast or a larger expression: `(int) $x`, `('a') . $b`.
            self.pos = start;
        }
        let end = self.chunk_end(start)?;
        if end == start {
            return Err(SyntaxError {
                line: first.line,
                message: format!("expected a value after {after}, found {}", describe_token(first)),
            });
        }
        self.pos = end;
        Ok(Node {
            value: self.evaluate(start, end),
            line: first.line,
        })
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(t) => matches!(t.tok, Tok::Semi | Tok::Punct("," | "]" | ")" | "}" | "=>")),
        }
    }

    /// Entries after an opening `[` or `array(`, through the closing `close`.
    fn array_entries(&mut self, close: &str, open_line: usize) -> Result<Vec<Entry>, SyntaxError> {
        let mut entries = Vec::new();
        let mut next_index = 0i64;
        loop {
            if self.is_punct(self.pos, close) {
                self.pos += 1;
                return Ok(entries);
            }
            if self.peek().is_none() {
                return Err(SyntaxError {
                    line: open_line,
                    message: format!("the array opened here is never closed with '{close}'"),
                });
            }
            let first = self.value("'[' or ','")?;
            let (key, node) = if self.is_punct(self.pos, "=>") {
                self.pos += 1;
                let node = self.value("'=>'")?;
                (self.key(first)?, node)
            } else {
                (Key::Int(next_index), first)
            };
            match key {
                Key::Int(k) if k >= next_index => next_index = k.saturating_add(1),
                _ => {}
            }
            entries.push(Entry { key, node });
            if self.is_punct(self.pos, ",") {
                self.pos += 1;
            } else if !self.is_punct(self.pos, close) {
                return Err(match self.peek() {
                    // A `;` or the end of the file inside an array: the bracket was never closed.
                    Some(t) if t.tok != Tok::Semi => SyntaxError {
                        line: t.line,
                        message: format!(
                            "expected ',' or '{close}' after an array entry, found {}",
                            describe_token(t)
                        ),
                    },
                    _ => SyntaxError {
                        line: open_line,
                        message: format!("the array opened here is never closed with '{close}'"),
                    },
                });
            }
        }
    }

    /// A key as PHP normalises it: decimal strings become ints, bools ints, null the empty string.
    fn key(&self, node: Node) -> Result<Key, SyntaxError> {
        Ok(match node.value {
            Value::Str(s) => match s.parse::<i64>() {
                Ok(n) if n.to_string() == s => Key::Int(n),
                _ => Key::Str(s),
            },
            Value::Int(n) => Key::Int(n),
            // PHP truncates float keys.
            Value::Float(f) => Key::Int(f as i64),
            Value::Bool(b) => Key::Int(i64::from(b)),
            Value::Null => Key::Str(String::new()),
            Value::Computed { .. } => Key::Opaque,
            Value::Array(_) => {
                return Err(SyntaxError {
                    line: node.line,
                    message: "an array cannot be an array key".into(),
                });
            }
        })
    }

    /// The end (exclusive) of the expression starting at `start`: the first `,`, `;`, `=>` or unmatched
    /// closing bracket outside brackets.
    fn chunk_end(&self, start: usize) -> Result<usize, SyntaxError> {
        let mut open: Vec<(&str, usize)> = Vec::new();
        // Each `fn` of an arrow function owns one `=>`.
        let mut arrows = 0usize;
        // Two operands in a row (`'a' 'b'`) are never PHP: usually a missing comma.
        let operand = |t: &Tok| {
            matches!(
                t,
                Tok::Str(_) | Tok::Interp(_) | Tok::Int(_) | Tok::Float(_) | Tok::Var(_)
            )
        };
        let mut previous_was_operand = false;
        for (i, t) in self.tokens.iter().enumerate().skip(start) {
            if open.is_empty() && previous_was_operand && operand(&t.tok) {
                return Err(SyntaxError {
                    line: t.line,
                    message: format!("{} follows another value without a ',' in between", describe_token(t)),
                });
            }
            previous_was_operand = open.is_empty() && operand(&t.tok);
            match &t.tok {
                Tok::Punct(p @ ("(" | "[" | "{")) => open.push((p, t.line)),
                Tok::Punct(p @ (")" | "]" | "}")) => {
                    let Some((opener, line)) = open.pop() else {
                        return Ok(i);
                    };
                    let expected = match opener {
                        "(" => ")",
                        "[" => "]",
                        _ => "}",
                    };
                    if *p != expected {
                        return Err(SyntaxError {
                            line: t.line,
                            message: format!("'{p}' does not match the '{opener}' opened on line {line}"),
                        });
                    }
                }
                Tok::Punct(",") | Tok::Semi if open.is_empty() => return Ok(i),
                Tok::Punct("=>") if open.is_empty() => {
                    if arrows == 0 {
                        return Ok(i);
                    }
                    arrows -= 1;
                }
                Tok::Ident(n) if open.is_empty() && n.eq_ignore_ascii_case("fn") => arrows += 1,
                _ => {}
            }
        }
        match open.last() {
            Some((opener, line)) => Err(SyntaxError {
                line: *line,
                message: format!("the '{opener}' opened here is never closed"),
            }),
            None => Ok(self.tokens.len()),
        }
    }

    /// The value of the expression `tokens[start..end]`: a literal, a fold of literal concatenations, or
    /// a computed value.
    fn evaluate(&self, start: usize, end: usize) -> Value {
        let toks = &self.tokens[start..end];
        let literal = |t: &Tok| match t {
            Tok::Str(s) => Some(Value::Str(s.clone())),
            Tok::Int(n) => Some(Value::Int(*n)),
            Tok::Float(f) => Some(Value::Float(*f)),
            Tok::Ident(n) => match n.trim_start_matches('\\').to_ascii_lowercase().as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                "null" => Some(Value::Null),
                _ => None,
            },
            _ => None,
        };
        match toks {
            [one] => {
                if let Some(v) = literal(&one.tok) {
                    return v;
                }
            }
            [sign, number] => match (&sign.tok, &number.tok) {
                (Tok::Punct("-"), Tok::Int(n)) => return Value::Int(n.wrapping_neg()),
                (Tok::Punct("-"), Tok::Float(f)) => return Value::Float(-f),
                (Tok::Punct("+"), Tok::Int(n)) => return Value::Int(*n),
                (Tok::Punct("+"), Tok::Float(f)) => return Value::Float(*f),
                _ => {}
            },
            _ => {
                if let Some(s) = fold_concatenation(toks) {
                    return Value::Str(s);
                }
            }
        }
        let (construct, line) = self.describe(start, end);
        Value::Computed { construct, line }
    }

    /// How the expression `tokens[start..end]` is computed, named by its first non-literal piece, and the
    /// line of that piece. String literals are never quoted here, except as arguments of
    /// [`SOURCE_FUNCTIONS`], `require` paths and array subscripts.
    fn describe(&self, start: usize, end: usize) -> (String, usize) {
        let toks = &self.tokens[start..end];
        for (k, t) in toks.iter().enumerate() {
            let i = start + k;
            let (construct, leaf_end) = match &t.tok {
                Tok::Interp(piece) => (format!("{piece} (interpolated in a double-quoted string)"), i + 1),
                Tok::Shell => ("a backtick shell command".to_owned(), i + 1),
                Tok::Var(v) => {
                    let (chain, j) = self.chain(i + 1, end);
                    (format!("${v}{chain}"), j)
                }
                Tok::Ident(name) => {
                    let lower = name.trim_start_matches('\\').to_ascii_lowercase();
                    match lower.as_str() {
                        "true" | "false" | "null" => continue,
                        "array" if self.is_punct(i + 1, "(") => continue,
                        _ if CASTS.contains(&lower.as_str())
                            && k > 0
                            && self.is_punct(i - 1, "(")
                            && self.is_punct(i + 1, ")") =>
                        {
                            continue;
                        }
                        "require" | "require_once" | "include" | "include_once" => (self.text(i, end), end),
                        "new" => {
                            let class = match self.tokens.get(i + 1) {
                                Some(Token { tok: Tok::Ident(c), .. }) if i + 1 < end => c.as_str(),
                                _ => "…",
                            };
                            (format!("new {class}(…)"), end)
                        }
                        "function" | "fn" => ("a closure".to_owned(), end),
                        "static" if self.is_ident(i + 1, "function") || self.is_ident(i + 1, "fn") => {
                            ("a closure".to_owned(), end)
                        }
                        _ if self.is_punct(i + 1, "(") => {
                            let close = self.matching(i + 1, end);
                            if SOURCE_FUNCTIONS.contains(&lower.as_str()) {
                                (self.text(i, close), close)
                            } else {
                                (format!("{name}(…)"), close)
                            }
                        }
                        _ if self.is_punct(i + 1, "::") => {
                            let (chain, j) = self.chain(i + 1, end);
                            (format!("{name}{chain}"), j)
                        }
                        _ => (name.clone(), i + 1),
                    }
                }
                _ => continue,
            };
            let whole = k == 0 && leaf_end >= end;
            let context = if whole {
                String::new()
            } else if let Some(op) = self.first_operator(start, end) {
                format!(" (in an expression using '{op}')")
            } else {
                " (in a larger expression)".to_owned()
            };
            return (format!("{construct}{context}"), t.line);
        }
        let line = toks.first().map_or(1, |t| t.line);
        match self.first_operator(start, end) {
            Some(op) => (format!("an expression using '{op}'"), line),
            None => ("an expression".to_owned(), line),
        }
    }

    /// The first operator outside brackets in `tokens[start..end]`.
    fn first_operator(&self, start: usize, end: usize) -> Option<&'static str> {
        let mut depth = 0usize;
        for t in &self.tokens[start..end] {
            match t.tok {
                Tok::Punct("(" | "[" | "{") => depth += 1,
                Tok::Punct(")" | "]" | "}") => depth = depth.saturating_sub(1),
                Tok::Punct(p) if depth == 0 && !matches!(p, "::" | "->" | "?->" | "\\" | "$" | "@") => {
                    return Some(p);
                }
                _ => {}
            }
        }
        None
    }

    /// Subscripts, property and method accesses after a variable or class name: `['DB_USER']`,
    /// `->params['db']`, `::$app`. Returns the text and the index after it.
    fn chain(&self, mut i: usize, end: usize) -> (String, usize) {
        let mut out = String::new();
        while i < end && out.len() < 80 {
            match self.tokens.get(i).map(|t| &t.tok) {
                Some(Tok::Punct("[")) => {
                    let close = self.matching(i, end);
                    let inner = &self.tokens[i + 1..close.saturating_sub(1).max(i + 1)];
                    match inner {
                        [t] if matches!(t.tok, Tok::Str(_) | Tok::Int(_) | Tok::Ident(_) | Tok::Var(_)) => {
                            out.push('[');
                            out.push_str(&self.src[t.start..t.end]);
                            out.push(']');
                        }
                        _ => out.push_str("[…]"),
                    }
                    i = close;
                }
                Some(Tok::Punct("(")) => {
                    out.push_str("(…)");
                    i = self.matching(i, end);
                }
                Some(Tok::Punct(p @ ("->" | "?->" | "::"))) => {
                    match self.tokens.get(i + 1).filter(|_| i + 1 < end).map(|t| &t.tok) {
                        Some(Tok::Ident(n)) => out.push_str(&format!("{p}{n}")),
                        Some(Tok::Var(v)) => out.push_str(&format!("{p}${v}")),
                        _ => break,
                    }
                    i += 2;
                }
                _ => break,
            }
        }
        (out, i)
    }

    /// The index just after the bracket matching the one at `open` (or `end`).
    fn matching(&self, open: usize, end: usize) -> usize {
        let mut depth = 0usize;
        for i in open..end {
            match self.tokens[i].tok {
                Tok::Punct("(" | "[" | "{") => depth += 1,
                Tok::Punct(")" | "]" | "}") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        end
    }

    /// The source text of `tokens[from..to]`, on one line and at most 100 characters.
    fn text(&self, from: usize, to: usize) -> String {
        let (Some(first), Some(last)) = (self.tokens.get(from), self.tokens.get(to.saturating_sub(1))) else {
            return String::new();
        };
        let raw = self.src.get(first.start..last.end).unwrap_or("");
        let flat = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match flat.char_indices().nth(100) {
            Some((cut, _)) => format!("{}…", &flat[..cut]),
            None => flat,
        }
    }
}

/// `'a' . 'b' . 3` as one string, when every operand is a literal string or number.
fn fold_concatenation(toks: &[Token]) -> Option<String> {
    if toks.len() < 3 || toks.len() % 2 == 0 {
        return None;
    }
    let mut out = String::new();
    for (k, t) in toks.iter().enumerate() {
        match (&t.tok, k % 2) {
            (Tok::Str(s), 0) => out.push_str(s),
            (Tok::Int(n), 0) => out.push_str(&n.to_string()),
            (Tok::Punct("."), 1) => {}
            _ => return None,
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------------------
// Resolution

/// The parts of a MySQL DSN Secours uses.
#[derive(Debug, Default, PartialEq)]
struct Dsn {
    host: Option<String>,
    port: Option<u16>,
    socket: Option<String>,
    name: Option<String>,
    charset: Option<String>,
}

#[derive(Debug, PartialEq)]
enum DsnError {
    Driver(String),
    Malformed(String),
}

/// Parses `mysql:host=…;port=…;dbname=…;unix_socket=…;charset=…`; unknown keys are ignored, the last of
/// duplicate keys wins, whitespace around keys and values is tolerated.
fn parse_dsn(dsn: &str) -> Result<Dsn, DsnError> {
    let Some((driver, rest)) = dsn.split_once(':') else {
        return Err(DsnError::Malformed("it has no driver prefix such as 'mysql:'".into()));
    };
    let driver = driver.trim();
    if driver.is_empty() || driver.contains('=') || driver.contains(';') {
        return Err(DsnError::Malformed("it has no driver prefix such as 'mysql:'".into()));
    }
    if !driver.eq_ignore_ascii_case("mysql") {
        return Err(DsnError::Driver(driver.to_owned()));
    }
    let mut out = Dsn::default();
    for part in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(DsnError::Malformed(format!("the part '{part}' has no '='")));
        };
        let value = value.trim();
        let value = (!value.is_empty()).then(|| value.to_owned());
        match key.trim().to_ascii_lowercase().as_str() {
            "host" => out.host = value,
            "dbname" => out.name = value,
            "unix_socket" => out.socket = value,
            "charset" => out.charset = value,
            "port" => {
                out.port = match value {
                    None => None,
                    Some(v) => match v.parse::<u16>() {
                        Ok(p) if p > 0 => Some(p),
                        _ => {
                            return Err(DsnError::Malformed(format!(
                                "port '{v}' is not a number from 1 to 65535"
                            )));
                        }
                    },
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Finds the `db` connection in the returned value and reads the settings out of it.
fn resolve(path: &Path, root: &Node) -> Result<DbSettings, DbPhpError> {
    let p = || path.to_owned();
    let computed = |node: &Node, what: &str| match &node.value {
        Value::Computed { construct, line } => Some(DbPhpError::Computed {
            path: p(),
            line: *line,
            what: what.to_owned(),
            construct: construct.clone(),
        }),
        _ => None,
    };
    let top = match &root.value {
        Value::Array(entries) => entries,
        other => {
            return Err(
                computed(root, "the value db.php returns").unwrap_or(DbPhpError::NotAnArray {
                    path: p(),
                    line: root.line,
                    what: "the value db.php returns".into(),
                    found: other.kind(),
                }),
            );
        }
    };

    let is_connection = |entries: &[Entry]| {
        lookup(entries, "dsn").is_some()
            || lookup(entries, "connectionString").is_some()
            || (lookup(entries, "class").is_some()
                && lookup(entries, "components").is_none()
                && lookup(entries, "db").is_none())
    };
    let components = lookup(top, "components");
    let db_in_components = match components.map(|c| &c.value) {
        Some(Value::Array(c)) => lookup(c, "db"),
        _ => None,
    };
    let (conn_node, what) = if is_connection(top) {
        (root, "the returned connection")
    } else if let Some(db) = db_in_components {
        (db, "the 'db' component")
    } else if let Some(db) = lookup(top, "db") {
        (db, "the 'db' entry")
    } else {
        let (line, detail) = match components {
            Some(c) if matches!(c.value, Value::Array(_)) => (
                c.line,
                "'components' has no 'db' entry, so the application has no database connection".into(),
            ),
            Some(c) => {
                return Err(computed(c, "'components'").unwrap_or(DbPhpError::NotAnArray {
                    path: p(),
                    line: c.line,
                    what: "'components'".into(),
                    found: c.value.kind(),
                }));
            }
            None => (
                root.line,
                "the returned array holds no database connection: no 'dsn' or 'connectionString', and no 'db' \
                 entry (at the top or under 'components')"
                    .to_owned(),
            ),
        };
        return Err(DbPhpError::NoConnection {
            path: p(),
            line,
            detail,
        });
    };
    let conn = match &conn_node.value {
        Value::Array(entries) => entries,
        Value::Null => {
            return Err(DbPhpError::NoConnection {
                path: p(),
                line: conn_node.line,
                detail: format!("{what} is null"),
            });
        }
        other => {
            return Err(computed(conn_node, what).unwrap_or(DbPhpError::NotAnArray {
                path: p(),
                line: conn_node.line,
                what: what.to_owned(),
                found: other.kind(),
            }));
        }
    };

    // A needed string: absent or null is `None`; numbers become strings as PHP would cast them.
    let string = |key: &str| -> Result<Option<(String, usize)>, DbPhpError> {
        let Some(node) = lookup(conn, key) else {
            return Ok(None);
        };
        let what = format!("the connection's '{key}'");
        match &node.value {
            Value::Str(s) => Ok(Some((s.clone(), node.line))),
            Value::Int(n) => Ok(Some((n.to_string(), node.line))),
            Value::Float(f) => Ok(Some((f.to_string(), node.line))),
            Value::Null => Ok(None),
            Value::Computed { construct, line } => Err(DbPhpError::Computed {
                path: p(),
                line: *line,
                what,
                construct: construct.clone(),
            }),
            other => Err(DbPhpError::NotAString {
                path: p(),
                line: node.line,
                what,
                found: other.kind(),
            }),
        }
    };

    let dsn_key = if lookup(conn, "dsn").is_some() {
        "dsn"
    } else {
        "connectionString"
    };
    let Some((dsn_text, dsn_line)) = string(dsn_key)? else {
        return Err(DbPhpError::MissingDsn {
            path: p(),
            line: conn_node.line,
        });
    };
    let dsn = parse_dsn(&dsn_text).map_err(|e| match e {
        DsnError::Driver(driver) => DbPhpError::UnsupportedDriver {
            path: p(),
            line: dsn_line,
            driver,
        },
        DsnError::Malformed(problem) => DbPhpError::BadDsn {
            path: p(),
            line: dsn_line,
            problem,
        },
    })?;
    let user = string("username")?.map(|(s, _)| s);
    let password = string("password")?.map(|(s, _)| Secret::new(s));
    // The charset is not needed to restore (dumps carry `SET NAMES`), so a computed one only falls back to
    // the DSN's instead of failing.
    let charset = match lookup(conn, "charset").map(|n| &n.value) {
        Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
        _ => dsn.charset,
    };
    Ok(DbSettings {
        host: dsn.host,
        port: dsn.port,
        socket: dsn.socket.map(PathBuf::from),
        name: dsn.name,
        user,
        password,
        charset,
    })
}

#[cfg(test)]
mod tests {
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
