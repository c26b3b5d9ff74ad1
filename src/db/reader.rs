//! Splits a mysqldump / mariadb-dump stream into the statements the `mariadb` client would send.
//!
//! A dump is BYTES, not text: BLOB columns are written as raw bytes inside `'…'` with only
//! `\0 \n \r \Z \\ \' \"` escaped, so nothing here assumes UTF-8. The splitter follows the rules of the
//! `mariadb`/`mysql` command-line client (`add_line` in `client/mysql.cc`):
//!
//! - a statement ends at the current delimiter (`;` until a `DELIMITER xx` line changes it) found outside
//!   strings (`'…'`, `"…"` with backslash escapes; `` `…` `` identifiers without them) and outside plain
//!   comments (`-- ` and `#` to end of line, `/* … */`). Like the client, the delimiter IS recognised inside
//!   executable comments (`/*!40101 … */`, `/*M!100616 … */`), whose bytes are kept verbatim, including any
//!   plain comment nested in them (trigger bodies);
//! - `--` starts a comment only when followed by whitespace or the end of the input (the client's rule),
//!   so `a--1` is code;
//! - `DELIMITER xx` lines and MariaDB's `/*M!999999\- enable the sandbox mode */` line are client
//!   commands: they are obeyed / skipped and never emitted;
//! - whitespace and plain comments before a statement are dropped, so a chunk holding only comments is
//!   never emitted (the server would answer error 1065 "Query was empty"); from its first significant
//!   byte on, a statement's bytes are kept verbatim, trimmed of trailing whitespace, without the delimiter.
//!
//! Guarantees: memory is bounded by a fixed 256 KiB window plus the bytes of the statement being built;
//! the result does not depend on how the input is chunked by the underlying reader; every input ends
//! (no input can make the reader loop). A dump that ends inside a string or a block comment of a
//! statement is reported as truncated rather than silently sent.
//!
//! Known limits (never produced by mysqldump / mariadb-dump): `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`
//! modes are not tracked (backslash always escapes in `'…'`/`"…"`), backslash client commands such as
//! `\g` outside strings are treated as ordinary bytes, and a client character set whose multi-byte
//! characters can contain ASCII bytes (sjis, gbk, big5) is not supported.
//!
//! [`to_utf8_query`] turns a statement into the `&str` the `mysql` crate needs, rewriting only the string
//! literals that are not valid UTF-8 as `X'…'` hex literals.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::iter::FusedIterator;
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

/// Size of the reader's window over the input. Only lookahead bytes (a few, or one client-command line)
/// are ever moved inside it.
const WINDOW: usize = 256 * 1024;
/// Longest `DELIMITER …` / sandbox line accepted (the window must hold it whole).
const MAX_CLIENT_LINE: usize = 64 * 1024;
/// Buffer between the `.gz` file and the decompressor.
const GZ_BUFFER: usize = 1024 * 1024;
/// MariaDB's first dump line, a client command that forbids shell escapes in the rest of the file.
const SANDBOX: &[u8] = b"/*M!999999\\-";

/// What a statement does, from its first keywords (executable-comment markers are looked through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// `SET …`, including `/*!40101 SET … */`.
    SessionSetting,
    CreateTable,
    DropTable,
    /// `INSERT …` and `REPLACE …`.
    Insert,
    LockTables,
    UnlockTables,
    /// `ALTER TABLE …`, including `/*!40000 ALTER TABLE t DISABLE KEYS */`.
    AlterTable,
    CreateView,
    CreateTrigger,
    /// `CREATE PROCEDURE` and `CREATE FUNCTION`.
    CreateRoutine,
    CreateEvent,
    Use,
    /// `CREATE DATABASE` / `CREATE SCHEMA`.
    CreateDatabase,
    /// Anything else (`DROP VIEW`, `DROP PROCEDURE`, `START TRANSACTION`, `ALTER DATABASE`, …).
    Other,
}

/// One statement of the dump, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's bytes, verbatim, without the delimiter, without leading whitespace and comments,
    /// trimmed of trailing whitespace. Never empty.
    pub bytes: Vec<u8>,
    /// 1-based count of statements emitted by this reader.
    pub number: u64,
    /// 1-based line of the dump where the statement's first byte is.
    pub line: u64,
    pub kind: StatementKind,
    /// Unquoted name (schema prefix removed) of the object the statement is about: the table for
    /// CREATE/DROP/ALTER TABLE, INSERT, LOCK TABLES; the view, trigger, routine or event for their
    /// CREATE/DROP; the database for USE and CREATE DATABASE. `None` when there is none.
    pub table: Option<String>,
    /// Number of top-level `(…)` row tuples after `VALUES` in an INSERT/REPLACE (0 for other kinds).
    /// An `ON DUPLICATE KEY UPDATE … VALUES(x)` clause (never written by the dump tools) adds one.
    pub rows: u64,
    /// The delimiter in force was `;`: then no `;` lies in the statement's code (outside strings and
    /// comments), since the client would have ended the statement there. Under `DELIMITER ;;` one
    /// statement can hold several, which the connection runs in turn.
    pub delimiter_is_semicolon: bool,
}

impl Statement {
    /// The statement as a `&str` for the `mysql` crate (see [`to_utf8_query`]).
    pub fn to_query(&self) -> Cow<'_, str> {
        to_utf8_query(&self.bytes)
    }
}

/// Why a dump could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("cannot open the dump '{path}': {cause}. Check that the backup file exists and is readable.")]
    Open { path: PathBuf, cause: io::Error },
    #[error(
        "cannot read {name} near line {line}: {cause}. The backup is probably truncated or corrupt; \
         restore an older backup."
    )]
    Read { name: String, line: u64, cause: io::Error },
    #[error(
        "{name} ends inside {what} of the statement starting at line {line}. The backup is probably \
         truncated; restore an older backup."
    )]
    Unterminated {
        name: String,
        what: &'static str,
        line: u64,
    },
    #[error(
        "{name}, line {line}: invalid client command '{text}': {reason}. The dump was not written by \
         mysqldump or mariadb-dump as expected; check where it comes from."
    )]
    ClientCommand {
        name: String,
        line: u64,
        text: String,
        reason: &'static str,
    },
}

/// Where the lexer is, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// SQL code, at top level or inside an executable comment (see `DumpReader::exec`).
    Code,
    /// Inside a `'…'`, `"…"` string or a `` `…` `` identifier opened by this byte.
    Str(u8),
    /// Inside a `-- ` or `#` comment, up to the end of the line.
    LineComment,
    /// Inside a plain `/* … */` comment.
    BlockComment,
}

/// What a scanning step asks the driver loop to do next.
enum Step {
    /// The state changed: dispatch again.
    Go,
    /// At least this many bytes from `pos` are needed to decide (the driver reads more; scanners never
    /// ask once the input is at its end).
    Need(usize),
    /// A statement was completed.
    Emit,
}

/// What lies at an index of the window.
enum Peek {
    Byte(u8),
    Eof,
    Need,
}

/// Splits a dump read from `R` into [`Statement`]s. Implements `Iterator`; after the first error it
/// returns `None`.
pub struct DumpReader<R> {
    inner: R,
    /// Names the input in error messages, e.g. `the dump '/path/db.gz'`.
    name: String,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Input bytes dropped from the front of `buf` so far.
    base: u64,
    /// Line number at `buf[line_pos]` (lines are counted lazily).
    line: u64,
    line_pos: usize,
    lex: Lex,
    /// Inside an executable comment `/*! … */`.
    exec: bool,
    /// A statement's first significant byte has been seen; `buf[run_start..pos]` belongs to it.
    started: bool,
    run_start: usize,
    stmt: Vec<u8>,
    stmt_line: u64,
    depth: u64,
    tuples: u64,
    delim: Vec<u8>,
    /// Bytes that stop the fast scan of code: quotes, comment starts, parentheses, the delimiter's first.
    special: [bool; 256],
    count: u64,
    done: bool,
}

impl<R: Read> DumpReader<R> {
    /// A reader over any byte stream (a `&[u8]`, a decompressor, a file…), named "the dump" in errors.
    pub fn new(inner: R) -> Self {
        Self::with_name(inner, "the dump".to_string())
    }

    /// Like [`DumpReader::new`], naming the input `name` in error messages (e.g. `the dump '/x/db.gz'`).
    pub fn with_name(inner: R, name: String) -> Self {
        let mut reader = DumpReader {
            inner,
            name,
            buf: vec![0; WINDOW].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            base: 0,
            line: 1,
            line_pos: 0,
            lex: Lex::Code,
            exec: false,
            started: false,
            run_start: 0,
            stmt: Vec::new(),
            stmt_line: 0,
            depth: 0,
            tuples: 0,
            delim: b";".to_vec(),
            special: [false; 256],
            count: 0,
            done: false,
        };
        reader.set_delimiter(b";".to_vec());
        reader
    }

    /// Input bytes processed so far (not counting the read-ahead), for progress reports.
    pub fn consumed_bytes(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The delimiter in force (`;` unless a `DELIMITER` line changed it).
    pub fn delimiter(&self) -> &[u8] {
        &self.delim
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    fn set_delimiter(&mut self, delim: Vec<u8>) {
        let mut special = [false; 256];
        for b in *b"'\"`#-/*()" {
            special[usize::from(b)] = true;
        }
        if let Some(&first) = delim.first() {
            special[usize::from(first)] = true;
        }
        self.special = special;
        self.delim = delim;
    }

    fn peek(&self, i: usize) -> Peek {
        if i < self.end {
            Peek::Byte(self.buf[i])
        } else if self.eof {
            Peek::Eof
        } else {
            Peek::Need
        }
    }

    /// Whether the delimiter starts at `i`: `Some(bool)`, or `None` if more input is needed to tell.
    fn delimiter_at(&self, i: usize) -> Option<bool> {
        let avail = &self.buf[i..self.end];
        let d = &self.delim;
        if avail.len() >= d.len() {
            Some(avail.starts_with(d))
        } else if !d.starts_with(avail) || self.eof {
            Some(false)
        } else {
            None
        }
    }

    /// The 1-based line of `buf[p]` (`p` never goes backwards between compactions).
    fn line_at(&mut self, p: usize) -> u64 {
        let newlines = count_newlines(&self.buf[self.line_pos..p]);
        self.line += newlines as u64;
        self.line_pos = p;
        self.line
    }

    /// Moves the unprocessed bytes to the front of the window and reads until `need` bytes are
    /// available from `pos` or the input ends.
    fn refill(&mut self, need: usize) -> Result<(), ReaderError> {
        if self.started {
            self.stmt.extend_from_slice(&self.buf[self.run_start..self.pos]);
        }
        self.line_at(self.pos);
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.base += self.pos as u64;
        self.pos = 0;
        self.run_start = 0;
        self.line_pos = 0;
        let need = need.min(self.buf.len());
        while self.end < need && !self.eof {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(cause) => {
                    let line = self.line;
                    return Err(ReaderError::Read {
                        name: self.name.clone(),
                        line,
                        cause,
                    });
                }
            }
        }
        Ok(())
    }

    fn next_statement(&mut self) -> Result<Option<Statement>, ReaderError> {
        loop {
            if self.pos >= self.end {
                if self.eof {
                    return self.finish();
                }
                self.refill(1)?;
                continue;
            }
            let step = match self.lex {
                Lex::Code if self.started => self.scan_code(),
                Lex::Code => self.scan_lead()?,
                Lex::Str(quote) => self.scan_str(quote),
                Lex::LineComment => self.scan_line_comment(),
                Lex::BlockComment => self.scan_block_comment(),
            };
            match step {
                Step::Go => {}
                Step::Need(n) => self.refill(n)?,
                Step::Emit => return Ok(Some(self.emit())),
            }
        }
    }

    /// Before a statement: skips whitespace, plain comments, empty statements and client commands;
    /// starts the statement at its first significant byte.
    fn scan_lead(&mut self) -> Result<Step, ReaderError> {
        match self.buf[self.pos..self.end].iter().position(|&b| !is_space(b)) {
            Some(k) => self.pos += k,
            None => {
                self.pos = self.end;
                return Ok(Step::Need(1));
            }
        }
        let i = self.pos;
        let b = self.buf[i];
        if b == self.delim[0] {
            match self.delimiter_at(i) {
                Some(true) => {
                    self.pos = i + self.delim.len();
                    return Ok(Step::Go);
                }
                Some(false) => {}
                None => return Ok(Step::Need(self.delim.len())),
            }
        }
        match b {
            b'#' => {
                self.lex = Lex::LineComment;
                self.pos = i + 1;
                return Ok(Step::Go);
            }
            b'-' => match (self.peek(i + 1), self.peek(i + 2)) {
                (Peek::Need, _) | (Peek::Byte(b'-'), Peek::Need) => return Ok(Step::Need(3)),
                (Peek::Byte(b'-'), Peek::Eof) => {
                    self.lex = Lex::LineComment;
                    self.pos = i + 2;
                    return Ok(Step::Go);
                }
                (Peek::Byte(b'-'), Peek::Byte(c)) if is_space(c) => {
                    self.lex = Lex::LineComment;
                    self.pos = i + 2;
                    return Ok(Step::Go);
                }
                _ => {}
            },
            b'/' => match (self.peek(i + 1), self.peek(i + 2)) {
                (Peek::Need, _) | (Peek::Byte(b'*'), Peek::Need) => return Ok(Step::Need(3)),
                (Peek::Byte(b'*'), Peek::Byte(b'!' | b'M')) => {
                    if self.buf[i + 2] == b'M' && matches!(self.peek(i + 3), Peek::Need) {
                        return Ok(Step::Need(4));
                    }
                    let avail = &self.buf[i..self.end];
                    if avail.len() < SANDBOX.len() && !self.eof && SANDBOX.starts_with(avail) {
                        return Ok(Step::Need(SANDBOX.len()));
                    }
                    if avail.starts_with(SANDBOX) {
                        return self.client_line(i, false);
                    }
                    let plain = self.buf[i + 2] == b'M' && !matches!(self.peek(i + 3), Peek::Byte(b'!'));
                    if plain {
                        // `/*M` not followed by `!` is an ordinary comment.
                        self.lex = Lex::BlockComment;
                        self.pos = i + 2;
                        return Ok(Step::Go);
                    }
                }
                (Peek::Byte(b'*'), _) => {
                    self.lex = Lex::BlockComment;
                    self.pos = i + 2;
                    return Ok(Step::Go);
                }
                _ => {}
            },
            b'd' | b'D' => {
                let avail = &self.buf[i..self.end];
                if avail.len() < 10 && !self.eof {
                    return Ok(Step::Need(10));
                }
                let keyword = avail.len() >= 9 && avail[..9].eq_ignore_ascii_case(b"delimiter");
                if keyword && avail.get(9).is_none_or(|&c| is_space(c)) {
                    return self.client_line(i, true);
                }
            }
            _ => {}
        }
        self.started = true;
        self.run_start = i;
        self.stmt_line = self.line_at(i);
        self.depth = 0;
        self.tuples = 0;
        self.exec = false;
        Ok(Step::Go)
    }

    /// A client-command line starting at `i` (up to and including its newline): a `DELIMITER` line
    /// (`delimiter` true) or MariaDB's sandbox line, which is skipped.
    fn client_line(&mut self, i: usize, delimiter: bool) -> Result<Step, ReaderError> {
        let (line_end, next) = match memchr::memchr(b'\n', &self.buf[i..self.end]) {
            Some(k) => (i + k, i + k + 1),
            None if self.eof => (self.end, self.end),
            None => {
                if self.end - i >= MAX_CLIENT_LINE {
                    return Err(self.client_error(i, "the line is too long"));
                }
                return Ok(Step::Need(self.end - i + 1));
            }
        };
        if delimiter {
            let new = parse_delimiter(&self.buf[i + 9..line_end]);
            match new {
                Ok(d) => self.set_delimiter(d),
                Err(reason) => return Err(self.client_error(i, reason)),
            }
        }
        self.pos = next;
        Ok(Step::Go)
    }

    fn client_error(&mut self, i: usize, reason: &'static str) -> ReaderError {
        let line_end = memchr::memchr(b'\n', &self.buf[i..self.end]).map_or(self.end, |k| i + k);
        let shown = &self.buf[i..line_end.min(i + 200)];
        let text = String::from_utf8_lossy(shown).trim_end().to_string();
        ReaderError::ClientCommand {
            name: self.name.clone(),
            line: self.line_at(i),
            text,
            reason,
        }
    }

    /// Inside a statement, in code: jumps to the next special byte and handles it.
    fn scan_code(&mut self) -> Step {
        loop {
            let special = &self.special;
            let i = match self.buf[self.pos..self.end]
                .iter()
                .position(|&b| special[usize::from(b)])
            {
                Some(k) => self.pos + k,
                None => {
                    self.pos = self.end;
                    return Step::Need(1);
                }
            };
            self.pos = i;
            let b = self.buf[i];
            if b == self.delim[0] {
                match self.delimiter_at(i) {
                    Some(true) => {
                        self.stmt.extend_from_slice(&self.buf[self.run_start..i]);
                        self.pos = i + self.delim.len();
                        return Step::Emit;
                    }
                    Some(false) => {}
                    None => return Step::Need(self.delim.len()),
                }
            }
            match b {
                b'\'' | b'"' | b'`' => {
                    self.lex = Lex::Str(b);
                    self.pos = i + 1;
                    return Step::Go;
                }
                b'#' => {
                    self.lex = Lex::LineComment;
                    self.pos = i + 1;
                    return Step::Go;
                }
                b'-' => match (self.peek(i + 1), self.peek(i + 2)) {
                    (Peek::Need, _) | (Peek::Byte(b'-'), Peek::Need) => return Step::Need(3),
                    (Peek::Byte(b'-'), Peek::Eof) => {
                        self.lex = Lex::LineComment;
                        self.pos = i + 2;
                        return Step::Go;
                    }
                    (Peek::Byte(b'-'), Peek::Byte(c)) if is_space(c) => {
                        self.lex = Lex::LineComment;
                        self.pos = i + 2;
                        return Step::Go;
                    }
                    _ => self.pos = i + 1,
                },
                b'/' => match (self.peek(i + 1), self.peek(i + 2), self.peek(i + 3)) {
                    (Peek::Need, _, _) | (Peek::Byte(b'*'), Peek::Need, _) => return Step::Need(3),
                    (Peek::Byte(b'*'), Peek::Byte(b'!'), _) => {
                        self.exec = true;
                        self.pos = i + 3;
                    }
                    (Peek::Byte(b'*'), Peek::Byte(b'M'), Peek::Need) => return Step::Need(4),
                    (Peek::Byte(b'*'), Peek::Byte(b'M'), Peek::Byte(b'!')) => {
                        self.exec = true;
                        self.pos = i + 4;
                    }
                    (Peek::Byte(b'*'), _, _) => {
                        self.lex = Lex::BlockComment;
                        self.pos = i + 2;
                        return Step::Go;
                    }
                    _ => self.pos = i + 1,
                },
                b'*' if self.exec => match self.peek(i + 1) {
                    Peek::Need => return Step::Need(2),
                    Peek::Byte(b'/') => {
                        self.exec = false;
                        self.pos = i + 2;
                    }
                    _ => self.pos = i + 1,
                },
                b'(' => {
                    if self.depth == 0 {
                        self.tuples += 1;
                    }
                    self.depth += 1;
                    self.pos = i + 1;
                }
                b')' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.pos = i + 1;
                }
                _ => self.pos = i + 1,
            }
        }
    }

    fn scan_str(&mut self, quote: u8) -> Step {
        loop {
            let rest = &self.buf[self.pos..self.end];
            let hit = if quote == b'`' {
                memchr::memchr(quote, rest)
            } else {
                memchr::memchr2(quote, b'\\', rest)
            };
            let Some(k) = hit else {
                self.pos = self.end;
                return Step::Need(1);
            };
            let i = self.pos + k;
            if self.buf[i] == quote {
                self.lex = Lex::Code;
                self.pos = i + 1;
                return Step::Go;
            }
            match self.peek(i + 1) {
                Peek::Byte(_) => self.pos = i + 2,
                Peek::Eof => {
                    self.pos = self.end;
                    return Step::Need(1);
                }
                Peek::Need => {
                    self.pos = i;
                    return Step::Need(2);
                }
            }
        }
    }

    fn scan_line_comment(&mut self) -> Step {
        match memchr::memchr(b'\n', &self.buf[self.pos..self.end]) {
            Some(k) => {
                self.lex = Lex::Code;
                self.pos += k + 1;
                Step::Go
            }
            None => {
                self.pos = self.end;
                Step::Need(1)
            }
        }
    }

    fn scan_block_comment(&mut self) -> Step {
        loop {
            let Some(k) = memchr::memchr(b'*', &self.buf[self.pos..self.end]) else {
                self.pos = self.end;
                return Step::Need(1);
            };
            let i = self.pos + k;
            match self.peek(i + 1) {
                Peek::Byte(b'/') => {
                    self.lex = Lex::Code;
                    self.pos = i + 2;
                    return Step::Go;
                }
                Peek::Byte(_) => self.pos = i + 1,
                Peek::Eof => {
                    self.pos = self.end;
                    return Step::Need(1);
                }
                Peek::Need => {
                    self.pos = i;
                    return Step::Need(2);
                }
            }
        }
    }

    /// The input ended: emits the last statement if it is complete, reports a truncated one.
    fn finish(&mut self) -> Result<Option<Statement>, ReaderError> {
        if !self.started {
            return Ok(None);
        }
        let what = match self.lex {
            Lex::Str(b'\'') => Some("a '…' string"),
            Lex::Str(b'"') => Some("a \"…\" string"),
            Lex::Str(_) => Some("a `…` identifier"),
            Lex::BlockComment => Some("a /* … */ comment"),
            Lex::Code if self.exec => Some("an executable /*! … */ comment"),
            Lex::Code | Lex::LineComment => None,
        };
        if let Some(what) = what {
            return Err(ReaderError::Unterminated {
                name: self.name.clone(),
                what,
                line: self.stmt_line,
            });
        }
        self.stmt.extend_from_slice(&self.buf[self.run_start..self.pos]);
        Ok(Some(self.emit()))
    }

    /// Builds the statement whose bytes are in `stmt` and resets for the next one.
    fn emit(&mut self) -> Statement {
        let capacity = self.stmt.len().min(1 << 20);
        let mut bytes = std::mem::replace(&mut self.stmt, Vec::with_capacity(capacity));
        while bytes.last().is_some_and(|&b| is_space(b)) {
            bytes.pop();
        }
        self.started = false;
        self.exec = false;
        self.lex = Lex::Code;
        self.count += 1;
        let head = classify(&bytes);
        let rows = match head.tuples_before_values {
            Some(before) if head.kind == StatementKind::Insert => self.tuples.saturating_sub(before),
            _ => 0,
        };
        Statement {
            bytes,
            number: self.count,
            line: self.stmt_line,
            kind: head.kind,
            table: head.name,
            rows,
            delimiter_is_semicolon: self.delim == b";",
        }
    }
}

impl<R: Read> Iterator for DumpReader<R> {
    type Item = Result<Statement, ReaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_statement() {
            Ok(Some(statement)) => Some(Ok(statement)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<R: Read> FusedIterator for DumpReader<R> {}

/// Whitespace as the client sees it (`my_isspace`): space, \t, \n, \v, \f, \r.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The argument of a `DELIMITER` line (the bytes after the keyword): its first word, or the content of
/// a quoted first word, like the client's `com_delimiter`.
fn parse_delimiter(rest: &[u8]) -> Result<Vec<u8>, &'static str> {
    let start = rest.iter().position(|&b| !is_space(b)).unwrap_or(rest.len());
    let rest = &rest[start..];
    let word = match rest.first() {
        Some(&q @ (b'\'' | b'"' | b'`')) => {
            let inner = &rest[1..];
            &inner[..memchr::memchr(q, inner).unwrap_or(inner.len())]
        }
        _ => &rest[..rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len())],
    };
    if word.is_empty() {
        return Err("DELIMITER must be followed by a delimiter");
    }
    if word.contains(&b'\\') {
        return Err("a delimiter cannot contain a backslash");
    }
    Ok(word.to_vec())
}

// ---------------------------------------------------------------------------------------------------
// Classification: the first tokens of a statement.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Word(&'a [u8]),
    Ident(Vec<u8>),
    Str,
    Punct(u8),
}

/// A small tokenizer over a statement's head that looks through executable-comment markers (also used
/// over whole statements by [`super::containment`]).
#[derive(Clone)]
pub(crate) struct Head<'a> {
    s: &'a [u8],
    i: usize,
    depth: u64,
    /// Top-level `(` seen so far, counted like the splitter does.
    opens: u64,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Head<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Head {
            s,
            i: 0,
            depth: 0,
            opens: 0,
        }
    }

    /// A tokenizer starting at byte `i` of `s` (at depth 0).
    pub(crate) fn at_offset(s: &'a [u8], i: usize) -> Self {
        Head { i, ..Head::new(s) }
    }

    /// Byte offset of the next token (or of the whitespace or comment before it).
    pub(crate) fn offset(&self) -> usize {
        self.i
    }

    /// The bytes tokenized.
    pub(crate) fn source(&self) -> &'a [u8] {
        self.s
    }

    /// Parentheses open at this point.
    pub(crate) fn depth(&self) -> u64 {
        self.depth
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn skip_to_newline(&mut self) {
        self.i = memchr::memchr(b'\n', &self.s[self.i..]).map_or(self.s.len(), |k| self.i + k + 1);
    }

    pub(crate) fn next_tok(&mut self) -> Option<Tok<'a>> {
        loop {
            while self.at(0).is_some_and(is_space) {
                self.i += 1;
            }
            let b = self.at(0)?;
            match (b, self.at(1), self.at(2)) {
                (b'/', Some(b'*'), Some(b'!')) | (b'/', Some(b'*'), Some(b'M'))
                    if self.at(2) == Some(b'!') || self.at(3) == Some(b'!') =>
                {
                    self.i += if self.at(2) == Some(b'!') { 3 } else { 4 };
                    while self.at(0).is_some_and(|c| c.is_ascii_digit()) {
                        self.i += 1;
                    }
                }
                (b'/', Some(b'*'), _) => {
                    let from = self.i + 2;
                    self.i = memchr::memmem::find(&self.s[from..], b"*/").map_or(self.s.len(), |k| from + k + 2);
                }
                (b'*', Some(b'/'), _) => self.i += 2,
                (b'#', _, _) => self.skip_to_newline(),
                (b'-', Some(b'-'), c) if c.is_none_or(is_space) => self.skip_to_newline(),
                (b'`', _, _) => {
                    let mut name = Vec::new();
                    self.i += 1;
                    while let Some(c) = self.at(0) {
                        self.i += 1;
                        if c == b'`' {
                            if self.at(0) == Some(b'`') {
                                self.i += 1;
                            } else {
                                break;
                            }
                        }
                        name.push(c);
                    }
                    return Some(Tok::Ident(name));
                }
                (b'\'' | b'"', _, _) => {
                    self.i = string_end(self.s, self.i).0;
                    return Some(Tok::Str);
                }
                _ if is_word_byte(b) => {
                    let start = self.i;
                    while self.at(0).is_some_and(is_word_byte) {
                        self.i += 1;
                    }
                    return Some(Tok::Word(&self.s[start..self.i]));
                }
                _ => {
                    self.i += 1;
                    if b == b'(' {
                        if self.depth == 0 {
                            self.opens += 1;
                        }
                        self.depth += 1;
                    } else if b == b')' {
                        self.depth = self.depth.saturating_sub(1);
                    }
                    return Some(Tok::Punct(b));
                }
            }
        }
    }

    /// Consumes the next token if it is the keyword `kw`.
    pub(crate) fn eat(&mut self, kw: &str) -> bool {
        let mut ahead = self.clone();
        if ahead.next_tok().is_some_and(|t| is_kw(&t, kw)) {
            *self = ahead;
            true
        } else {
            false
        }
    }

    pub(crate) fn skip_if_exists(&mut self) {
        if self.eat("IF") {
            self.eat("NOT");
            self.eat("EXISTS");
        }
    }

    /// An object name, possibly `schema.name`: returns the last part.
    fn name(&mut self) -> Option<String> {
        let mut name = as_name(self.next_tok()?)?;
        loop {
            let mut ahead = self.clone();
            if ahead.next_tok() != Some(Tok::Punct(b'.')) {
                return Some(name);
            }
            match ahead.next_tok().and_then(as_name) {
                Some(part) => {
                    name = part;
                    *self = ahead;
                }
                None => return Some(name),
            }
        }
    }
}

fn as_name(tok: Tok<'_>) -> Option<String> {
    match tok {
        Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
        Tok::Ident(v) => Some(String::from_utf8_lossy(&v).into_owned()),
        Tok::Str | Tok::Punct(_) => None,
    }
}

pub(crate) fn is_kw(tok: &Tok<'_>, kw: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw.as_bytes()))
}

struct HeadInfo {
    kind: StatementKind,
    name: Option<String>,
    /// For INSERT: top-level `(` before the VALUES keyword (the column list), `None` without VALUES.
    tuples_before_values: Option<u64>,
}

fn classify(s: &[u8]) -> HeadInfo {
    use StatementKind as K;
    let mut h = Head::new(s);
    let mut info = HeadInfo {
        kind: K::Other,
        name: None,
        tuples_before_values: None,
    };
    let Some(Tok::Word(first)) = h.next_tok() else {
        return info;
    };
    let first = first.to_ascii_uppercase();
    match first.as_slice() {
        b"SET" => info.kind = K::SessionSetting,
        b"USE" => {
            info.kind = K::Use;
            info.name = h.name();
        }
        b"LOCK" if h.eat("TABLES") || h.eat("TABLE") => {
            info.kind = K::LockTables;
            info.name = h.name();
        }
        b"UNLOCK" if h.eat("TABLES") || h.eat("TABLE") => info.kind = K::UnlockTables,
        b"DROP" => {
            h.eat("TEMPORARY");
            if h.eat("TABLE") || h.eat("TABLES") {
                info.kind = K::DropTable;
            } else if ![
                "VIEW",
                "TRIGGER",
                "PROCEDURE",
                "FUNCTION",
                "EVENT",
                "DATABASE",
                "SCHEMA",
            ]
            .iter()
            .any(|kw| h.eat(kw))
            {
                return info;
            }
            h.skip_if_exists();
            info.name = h.name();
        }
        b"ALTER" => {
            h.eat("ONLINE");
            h.eat("IGNORE");
            if h.eat("TABLE") {
                info.kind = K::AlterTable;
                info.name = h.name();
            }
        }
        b"INSERT" | b"REPLACE" => {
            info.kind = K::Insert;
            for kw in ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"] {
                h.eat(kw);
            }
            info.name = h.name();
            while let Some(tok) = h.next_tok() {
                if h.depth == 0 && (is_kw(&tok, "VALUES") || is_kw(&tok, "VALUE")) {
                    info.tuples_before_values = Some(h.opens);
                    break;
                }
                if h.depth == 0 && (is_kw(&tok, "SELECT") || is_kw(&tok, "SET")) {
                    break;
                }
            }
        }
        b"CREATE" => {
            for _ in 0..64 {
                let Some(tok) = h.next_tok() else { break };
                let Tok::Word(w) = tok else {
                    if tok == Tok::Punct(b'(') {
                        break;
                    }
                    continue;
                };
                let kind = match w.to_ascii_uppercase().as_slice() {
                    b"TABLE" => K::CreateTable,
                    b"VIEW" => K::CreateView,
                    b"TRIGGER" => K::CreateTrigger,
                    b"PROCEDURE" | b"FUNCTION" => K::CreateRoutine,
                    b"EVENT" => K::CreateEvent,
                    b"DATABASE" | b"SCHEMA" => K::CreateDatabase,
                    b"INDEX" | b"USER" | b"ROLE" | b"SERVER" | b"SEQUENCE" | b"TABLESPACE" | b"PACKAGE" => break,
                    _ => continue,
                };
                info.kind = kind;
                h.skip_if_exists();
                info.name = h.name();
                break;
            }
        }
        _ => {}
    }
    info
}

// ---------------------------------------------------------------------------------------------------
// UTF-8 queries for the `mysql` crate.

/// The index after the string literal opened by the quote at `s[start]`, and whether it was closed.
/// `''` (or `""`) inside is an escaped quote; a backslash escapes the next byte.
pub(crate) fn string_end(s: &[u8], start: usize) -> (usize, bool) {
    let quote = s[start];
    let mut i = start + 1;
    while let Some(k) = memchr::memchr2(quote, b'\\', &s[i..]) {
        let j = i + k;
        // A backslash escapes the next byte; a doubled quote is one quote: both skip two bytes.
        if s[j] == b'\\' || s.get(j + 1) == Some(&quote) {
            i = j + 2;
        } else {
            return (j + 1, true);
        }
        if i >= s.len() {
            break;
        }
    }
    (s.len(), false)
}

/// The bytes a string literal's content (between its quotes) stands for, by MySQL's escape rules:
/// `\0 \' \" \b \n \r \t \Z \\` are decoded, `\%` and `\_` keep their backslash (they only mean
/// something in LIKE patterns), any other `\x` is `x`, and a doubled quote is one quote.
fn unescape_literal(content: &[u8], quote: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    // Runs without a backslash or a quote (nearly all of a BLOB) are copied whole.
    while let Some(k) = memchr::memchr2(b'\\', quote, &content[i..]) {
        let j = i + k;
        out.extend_from_slice(&content[i..j]);
        match (content[j], content.get(j + 1).copied()) {
            (b'\\', Some(c)) => {
                match c {
                    b'0' => out.push(0),
                    b'b' => out.push(0x08),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'Z' => out.push(0x1a),
                    b'%' | b'_' => out.extend_from_slice(&[b'\\', c]),
                    other => out.push(other),
                }
                i = j + 2;
            }
            (q, Some(c)) if q == quote && c == quote => {
                out.push(quote);
                i = j + 2;
            }
            (b, _) => {
                out.push(b);
                i = j + 1;
            }
        }
    }
    out.extend_from_slice(&content[i..]);
    out
}

/// `stmt` as a `&str` query for the `mysql` crate, which only takes UTF-8.
///
/// A statement that is valid UTF-8 is returned as is (borrowed). Otherwise each `'…'`/`"…"` string
/// literal whose content is not valid UTF-8 (a BLOB written as raw bytes) is replaced by the hex literal
/// `X'…'` of the bytes it stands for, which the server reads as the same binary string; a preceding
/// introducer such as `_binary` is kept (`_binary X'…'` is valid), with a space added if it touched the
/// quote. Literals that are valid UTF-8 are kept verbatim. Bytes that are not UTF-8 outside string
/// literals (possible only in comments or identifiers of a corrupt dump) become U+FFFD.
pub fn to_utf8_query(stmt: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(stmt) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(stmt.len() * 2);
    let mut copied = 0;
    for_each_non_utf8_literal(stmt, |start, end, quote| {
        out.push_str(&String::from_utf8_lossy(&stmt[copied..start]));
        if start > 0 && is_word_byte(stmt[start - 1]) {
            out.push(' ');
        }
        out.push_str("X'");
        out.push_str(&hex::encode_upper(unescape_literal(&stmt[start + 1..end - 1], quote)));
        out.push('\'');
        copied = end;
        true
    });
    out.push_str(&String::from_utf8_lossy(&stmt[copied..]));
    Cow::Owned(out)
}

/// A statement ready for the server's prepared-statement protocol: its string literals that are not
/// UTF-8 became `?` placeholders and their bytes are the parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameterized {
    pub text: String,
    pub params: Vec<Vec<u8>>,
}

/// The server's limit on placeholders in one prepared statement.
const MAX_PARAMS: usize = u16::MAX as usize;

/// `stmt` with its non-UTF-8 string literals as parameters, so that a BLOB travels as its raw bytes
/// (as the `mariadb` client sends it) instead of a hex literal twice its size that the server must decode.
///
/// The server reads a string parameter in the session's `character_set_client`, exactly as it reads the
/// same bytes inside quotes, so the stored value is the same. A `_binary` introducer is dropped with its
/// literal (an introducer cannot precede `?`; a BLOB column takes the bytes as they are either way).
///
/// `None` when there is nothing to gain or it cannot be exact: the statement is UTF-8, a literal carries
/// another introducer or prefix (`_latin1'…'`, `N'…'`), or there would be more than 65,535 parameters.
/// The caller then sends [`to_utf8_query`].
pub fn to_parameterized(stmt: &[u8]) -> Option<Parameterized> {
    if std::str::from_utf8(stmt).is_ok() {
        return None;
    }
    let mut text = String::new();
    let mut params = Vec::new();
    let mut copied = 0;
    let complete = for_each_non_utf8_literal(stmt, |start, end, quote| {
        let Some(cut) = introducer_start(stmt, start) else {
            return false;
        };
        if params.len() == MAX_PARAMS {
            return false;
        }
        text.push_str(&String::from_utf8_lossy(&stmt[copied..cut]));
        text.push('?');
        params.push(unescape_literal(&stmt[start + 1..end - 1], quote));
        copied = end;
        true
    });
    if !complete {
        return None;
    }
    text.push_str(&String::from_utf8_lossy(&stmt[copied..]));
    Some(Parameterized { text, params })
}

/// Where the text replaced by a placeholder starts for the literal opening at `quote_at`: the literal
/// itself, or a `_binary` introducer before it (glued or after spaces). `None` for any other introducer
/// or a prefix glued to the quote.
fn introducer_start(stmt: &[u8], quote_at: usize) -> Option<usize> {
    let mut end = quote_at;
    while end > 0 && is_space(stmt[end - 1]) {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && is_word_byte(stmt[start - 1]) {
        start -= 1;
    }
    let word = &stmt[start..end];
    if word.first() == Some(&b'_') {
        return word.eq_ignore_ascii_case(b"_binary").then_some(start);
    }
    // Nothing or a keyword before a space (`VALUES '…'`): the literal alone. A glued prefix (`N'…'`): no.
    (word.is_empty() || end < quote_at).then_some(quote_at)
}

/// Calls `each(start, end, quote)` for every closed `'…'`/`"…"` literal of `stmt` (outside comments and
/// quoted identifiers) whose content is not valid UTF-8: `start` is its opening quote, `end` is just
/// after its closing quote. Stops when `each` returns false, and then returns false.
fn for_each_non_utf8_literal(stmt: &[u8], mut each: impl FnMut(usize, usize, u8) -> bool) -> bool {
    let mut i = 0;
    while i < stmt.len() {
        let b = stmt[i];
        let next = stmt.get(i + 1).copied();
        match b {
            b'\'' | b'"' => {
                let (end, closed) = string_end(stmt, i);
                if closed && std::str::from_utf8(&stmt[i + 1..end - 1]).is_err() && !each(i, end, b) {
                    return false;
                }
                i = end;
            }
            b'`' => {
                i = memchr::memchr(b'`', &stmt[i + 1..]).map_or(stmt.len(), |k| i + k + 2);
            }
            b'#' => i = memchr::memchr(b'\n', &stmt[i..]).map_or(stmt.len(), |k| i + k + 1),
            b'-' if next == Some(b'-') && stmt.get(i + 2).is_none_or(|&c| is_space(c)) => {
                i = memchr::memchr(b'\n', &stmt[i..]).map_or(stmt.len(), |k| i + k + 1);
            }
            b'/' if next == Some(b'*') => {
                let exec = stmt.get(i + 2) == Some(&b'!') || stmt[i..].starts_with(b"/*M!");
                i = if exec {
                    i + 2
                } else {
                    memchr::memmem::find(&stmt[i + 2..], b"*/").map_or(stmt.len(), |k| i + k + 4)
                };
            }
            _ => i += 1,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------------
// Gzip files.

/// A reader that counts the bytes read through it (the compressed bytes of a `.gz` dump).
pub struct CountingReader<R> {
    inner: R,
    count: u64,
    len: Option<u64>,
}

impl<R> CountingReader<R> {
    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// The reader [`open_gz`] returns.
pub type GzDumpReader = DumpReader<MultiGzDecoder<BufReader<CountingReader<File>>>>;

/// Opens a `.gz` dump (one or several concatenated gzip members, as `gzip` and pipes produce).
pub fn open_gz(path: &Path) -> Result<GzDumpReader, ReaderError> {
    let file = File::open(path).map_err(|cause| ReaderError::Open {
        path: path.to_path_buf(),
        cause,
    })?;
    let len = file.metadata().ok().map(|m| m.len());
    let counting = CountingReader {
        inner: file,
        count: 0,
        len,
    };
    let decoder = MultiGzDecoder::new(BufReader::with_capacity(GZ_BUFFER, counting));
    Ok(DumpReader::with_name(decoder, format!("the dump '{}'", path.display())))
}

impl GzDumpReader {
    /// Compressed bytes read from the file so far (including up to 1 MiB of read-ahead), for progress.
    pub fn compressed_bytes(&self) -> u64 {
        self.inner.get_ref().get_ref().count
    }

    /// The compressed file's size when it was opened, if known.
    pub fn compressed_len(&self) -> Option<u64> {
        self.inner.get_ref().get_ref().len
    }
}

/// The number of `\n` in `bytes`. Every byte of a dump passes here once (for the line numbers of error
/// messages), so it must not cost more than the scan itself: sums kept in 64 one-byte lanes over blocks of
/// at most 255 × 64 bytes (no lane can overflow) compile to wide vector compares, where a plain
/// `filter().count()` widens each byte to 64 bits and ran at about one byte per cycle (6 % of an import's
/// CPU in a profile).
fn count_newlines(bytes: &[u8]) -> usize {
    const LANES: usize = 64;
    let mut total = 0;
    for block in bytes.chunks(255 * LANES) {
        let mut lanes = [0u8; LANES];
        let mut chunks = block.chunks_exact(LANES);
        for chunk in &mut chunks {
            for (lane, &b) in lanes.iter_mut().zip(chunk) {
                *lane += u8::from(b == b'\n');
            }
        }
        total += lanes.iter().map(|&n| usize::from(n)).sum::<usize>();
        total += chunks.remainder().iter().filter(|&&b| b == b'\n').count();
    }
    total
}

#[cfg(test)]
mod tests {
    // Guards the fast newline count (line numbers in error messages) against the obvious one, across
    // block and lane edges.
    #[test]
    fn newlines_are_counted_exactly() {
        let mut bytes = Vec::new();
        for i in 0..40_000usize {
            bytes.push(if i % 7 == 0 || i % 255 == 3 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            });
        }
        for len in [0, 1, 63, 64, 65, 16_319, 16_320, 16_321, 40_000] {
            let slice = &bytes[..len];
            assert_eq!(
                count_newlines(slice),
                slice.iter().filter(|&&b| b == b'\n').count(),
                "{len}"
            );
        }
        assert_eq!(count_newlines(&[b'\n'; 20_000]), 20_000);
    }

    use super::*;
    use StatementKind as K;
    use proptest::prelude::*;

    fn split(input: &[u8]) -> Vec<Statement> {
        DumpReader::new(input).collect::<Result<Vec<_>, _>>().unwrap()
    }

    fn texts(input: &[u8]) -> Vec<Vec<u8>> {
        split(input).into_iter().map(|s| s.bytes).collect()
    }

    fn err(input: &[u8]) -> ReaderError {
        DumpReader::new(input).find_map(Result::err).unwrap()
    }

    /// Reads its data in chunks whose sizes cycle through `sizes`.
    struct Chunked<'a> {
        data: &'a [u8],
        sizes: Vec<usize>,
        k: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.k % self.sizes.len()]
                .min(buf.len())
                .min(self.data.len());
            self.k += 1;
            buf[..size].copy_from_slice(&self.data[..size]);
            self.data = &self.data[size..];
            Ok(size)
        }
    }

    fn split_chunked(input: &[u8], sizes: Vec<usize>) -> Vec<Result<Statement, String>> {
        let reader = DumpReader::new(Chunked {
            data: input,
            sizes,
            k: 0,
        });
        reader.map(|r| r.map_err(|e| e.to_string())).collect()
    }

    #[test]
    fn splits_on_semicolons_and_trims() {
        assert_eq!(
            texts(b"SELECT 1;SELECT 2 ;\n  SELECT 3\n;"),
            [&b"SELECT 1"[..], b"SELECT 2", b"SELECT 3"]
        );
    }

    #[test]
    fn delimiters_inside_strings_and_identifiers_are_not_delimiters() {
        let input = b"INSERT INTO `t;1` VALUES ('a;b','c-- d','#e','/*f','DELIMITER ;;','g\\'h','i''j','k\\\\'),(\"x;\\\"y\");\nSELECT 2;";
        let got = split(input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].bytes, &input[..input.len() - 11]);
        assert_eq!(got[0].table.as_deref(), Some("t;1"));
        assert_eq!(got[0].rows, 2);
        assert_eq!(got[1].bytes, b"SELECT 2");
    }

    #[test]
    fn string_ending_in_escaped_backslash_closes() {
        // Guards the `'…\\'` case: the quote after an escaped backslash ends the string.
        assert_eq!(
            texts(b"SELECT 'a\\\\';SELECT 'b';"),
            [&b"SELECT 'a\\\\'"[..], b"SELECT 'b'"]
        );
    }

    #[test]
    fn backslash_does_not_escape_in_backticks() {
        assert_eq!(texts(b"SELECT `a\\`;SELECT 2;"), [&b"SELECT `a\\`"[..], b"SELECT 2"]);
    }

    #[test]
    fn double_dash_is_a_comment_only_before_whitespace() {
        assert_eq!(texts(b"SELECT 1--1;SELECT 2;"), [&b"SELECT 1--1"[..], b"SELECT 2"]);
        assert_eq!(
            texts(b"SELECT 1 -- x;y\n;SELECT 2;"),
            [&b"SELECT 1 -- x;y"[..], b"SELECT 2"]
        );
        assert_eq!(texts(b"SELECT 1 --\t;\n;"), [&b"SELECT 1 --\t;"[..]]);
        assert_eq!(texts(b"SELECT 1 --\n;"), [&b"SELECT 1 --"[..]]);
        assert_eq!(texts(b"SELECT 1 # x;y\n;"), [&b"SELECT 1 # x;y"[..]]);
    }

    #[test]
    fn leading_comments_are_dropped_and_comment_only_chunks_never_emitted() {
        let input = b"-- c;1\n# c;2\n/* c;3 */\n;\n/* only */;\n-- x\nSELECT /* a;b */ 1;\n/* tail */\n-- end";
        let got = split(input);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].bytes, b"SELECT /* a;b */ 1");
        assert_eq!(got[0].line, 7);
        assert_eq!(got[0].number, 1);
    }

    #[test]
    fn executable_comments_are_statements_kept_verbatim() {
        let input = b"/*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;\n/*!40000 ALTER TABLE `actor` DISABLE KEYS */;";
        let got = split(input);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].bytes, b"/*!40101 SET NAMES utf8mb4 */");
        assert_eq!(got[0].kind, K::SessionSetting);
        assert_eq!(got[1].kind, K::SessionSetting);
        assert_eq!(got[2].kind, K::AlterTable);
        assert_eq!(got[2].table.as_deref(), Some("actor"));
    }

    #[test]
    fn mariadb_sandbox_line_is_skipped() {
        let input = b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n--\n\n/*!40101 SET x=1 */;\n";
        let got = split(input);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].bytes, b"/*!40101 SET x=1 */");
        assert_eq!(got[0].line, 5);
    }

    #[test]
    fn trigger_with_comments_and_semicolons_in_its_body() {
        let input = b"/*!50003 SET sql_mode = 'X' */ ;\nDELIMITER ;;\n\
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `ins_film` AFTER INSERT ON `film` FOR EACH ROW BEGIN -- note ';;' */ here\n\
    INSERT INTO film_text VALUES (new.film_id, ';;'); /* ;; */ # x ;;\n\
  END */;;\n\
DELIMITER ;\n\
/*!50003 SET sql_mode = @saved_sql_mode */ ;\n";
        let got = split(input);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[1].kind, K::CreateTrigger);
        assert_eq!(got[1].table.as_deref(), Some("ins_film"));
        assert_eq!(got[1].line, 3);
        assert!(got[1].bytes.starts_with(b"/*!50003 CREATE*/"));
        assert!(got[1].bytes.ends_with(b"\nEND */"));
        assert_eq!(got[2].bytes, b"/*!50003 SET sql_mode = @saved_sql_mode */");
    }

    #[test]
    fn any_delimiter_string_works_and_delimiter_lines_are_never_emitted() {
        let input = b"delimiter //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT '//'; END//\nDELIMITER $$\r\nSELECT 2$$ DELIMITER \"|\"\nSELECT 3|\nDELIMITER ;\nSELECT 4;";
        assert_eq!(
            texts(input),
            [
                &b"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT '//'; END"[..],
                b"SELECT 2",
                b"SELECT 3",
                b"SELECT 4"
            ]
        );
    }

    #[test]
    fn delimiter_word_inside_a_statement_is_sql() {
        // Guards against taking `DELIMITER` for the client command once a statement has started.
        assert_eq!(
            texts(b"SELECT 1 AS\ndelimiter ;\nSELECT 2;"),
            [&b"SELECT 1 AS\ndelimiter"[..], b"SELECT 2"]
        );
        assert_eq!(texts(b"DELIMITERS;"), [b"DELIMITERS"]);
    }

    #[test]
    fn bad_delimiter_lines_are_errors() {
        let e = err(b"DELIMITER \nSELECT 1;");
        assert!(
            e.to_string().contains("line 1: invalid client command 'DELIMITER'"),
            "{e}"
        );
        let e = err(b"SELECT 1;\nDELIMITER a\\b\n");
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("backslash"),
            "{e}"
        );
    }

    #[test]
    fn truncated_statements_are_errors_naming_the_start_line() {
        let e = err(b"SELECT 1;\nINSERT INTO t VALUES ('abc");
        assert_eq!(
            e.to_string(),
            "the dump ends inside a '…' string of the statement starting at line 2. The backup is probably \
             truncated; restore an older backup."
        );
        assert!(err(b"SELECT 1 /* x").to_string().contains("/* … */ comment"));
        assert!(err(b"/*!40101 SET x=1").to_string().contains("executable"));
        assert!(err(b"SELECT `a").to_string().contains("identifier"));
        // A trailing comment outside any statement loses nothing.
        assert_eq!(texts(b"SELECT 1;\n/* x"), [b"SELECT 1"]);
    }

    #[test]
    fn last_statement_without_delimiter_is_emitted() {
        assert_eq!(texts(b"SELECT 1;\nSELECT 2\n"), [&b"SELECT 1"[..], b"SELECT 2"]);
        assert_eq!(texts(b"SELECT 2 -- c"), [b"SELECT 2 -- c"]);
        assert!(texts(b"").is_empty());
        assert!(texts(b" \n\t ;;; \n").is_empty());
    }

    #[test]
    fn counts_rows_in_both_insert_layouts() {
        let per_line = b"INSERT INTO `actor` VALUES\n(1,'A(',')B','2006-02-15 04:34:33'),\n(2,'NICK','W','x'),\n(3,'ED','C',NULL);";
        let one_line = b"INSERT INTO `actor` VALUES (1,'A(',')B','x'),(2,'N','W','x'),(3,'E','C',NULL);";
        for input in [&per_line[..], &one_line[..]] {
            let got = split(input);
            assert_eq!((got[0].kind, got[0].rows), (K::Insert, 3));
            assert_eq!(got[0].table.as_deref(), Some("actor"));
        }
        let got = split(b"INSERT IGNORE INTO db.`t` (`a`,`b`) VALUES (1,2),(3,(4));REPLACE INTO t VALUE(1);INSERT INTO t SELECT (1);");
        assert_eq!(got.iter().map(|s| s.rows).collect::<Vec<_>>(), [2, 1, 0]);
        assert_eq!(got[0].table.as_deref(), Some("t"));
        assert_eq!(got[1].kind, K::Insert);
    }

    #[test]
    fn raw_blob_bytes_are_split_correctly() {
        let mut input = b"INSERT INTO `b` VALUES (1,_binary '".to_vec();
        input.extend_from_slice(b"\xff\xfe\\0;\\'\\\\\x80\\n\xc3(");
        input.extend_from_slice(b"'),(2,'\xe9t\xe9;');\nSELECT 1;");
        let got = split(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].rows, 2);
        assert_eq!(got[0].bytes, &input[..input.len() - 11]);
    }

    #[test]
    fn classifies_dump_statements() {
        let cases: &[(&[u8], K, Option<&str>)] = &[
            (b"SET @saved_cs_client = @@character_set_client", K::SessionSetting, None),
            (b"CREATE TABLE `actor` (\n `id` int)", K::CreateTable, Some("actor")),
            (b"CREATE TABLE IF NOT EXISTS `x``y` (a int)", K::CreateTable, Some("x`y")),
            (b"DROP TABLE IF EXISTS `actor`", K::DropTable, Some("actor")),
            (b"LOCK TABLES `actor` WRITE", K::LockTables, Some("actor")),
            (b"UNLOCK TABLES", K::UnlockTables, None),
            (b"/*!40000 ALTER TABLE `actor` ENABLE KEYS */", K::AlterTable, Some("actor")),
            (b"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `staff_list` AS select 1 */", K::CreateView, Some("staff_list")),
            (b"/*!50001 CREATE VIEW `customer_list` AS SELECT\n 1 AS `ID` */", K::CreateView, Some("customer_list")),
            (b"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER customer_create_date BEFORE INSERT ON customer\n FOR EACH ROW SET NEW.create_date = NOW() \n*/", K::CreateTrigger, Some("customer_create_date")),
            (b"CREATE DEFINER=`root`@`localhost` PROCEDURE `film_in_stock`(IN p_film_id INT)\nBEGIN\n SELECT 1;\nEND", K::CreateRoutine, Some("film_in_stock")),
            (b"CREATE DEFINER='root'@'%' FUNCTION `get_balance`(p INT) RETURNS decimal(5,2)\nBEGIN RETURN 1; END", K::CreateRoutine, Some("get_balance")),
            (b"/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `ev` ON SCHEDULE EVERY 1 DAY DO SELECT 1 */", K::CreateEvent, Some("ev")),
            (b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `sakila` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", K::CreateDatabase, Some("sakila")),
            (b"USE `sakila`", K::Use, Some("sakila")),
            (b"/*!50001 DROP VIEW IF EXISTS `customer_list`*/", K::Other, Some("customer_list")),
            (b"/*!50003 DROP PROCEDURE IF EXISTS `film_in_stock` */", K::Other, Some("film_in_stock")),
            (b"CREATE INDEX i ON t (a)", K::Other, None),
            (b"START TRANSACTION", K::Other, None),
            (b"(SELECT 1)", K::Other, None),
        ];
        for (text, kind, name) in cases {
            let mut input = text.to_vec();
            input.extend_from_slice(b"\n;;\n");
            let mut with_delim = b"DELIMITER ;;\n".to_vec();
            with_delim.extend_from_slice(&input);
            let got = split(&with_delim);
            assert_eq!(got.len(), 1, "{}", String::from_utf8_lossy(text));
            assert_eq!(
                (got[0].kind, got[0].table.as_deref()),
                (*kind, *name),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn statements_larger_than_the_window_are_whole() {
        let mut input = b"INSERT INTO `big` VALUES ".to_vec();
        let rows = 200_000;
        for i in 0..rows {
            if i > 0 {
                input.push(b',');
            }
            input.extend_from_slice(format!("({i},'row;{i}','\\'-- x',NULL)").as_bytes());
        }
        let len = input.len();
        input.extend_from_slice(b";\nSELECT 1;\n");
        assert!(len > 4 * WINDOW);
        let mut reader = DumpReader::new(&input[..]);
        let first = reader.next().unwrap().unwrap();
        assert_eq!((first.bytes.len(), first.rows), (len, rows));
        assert_eq!(reader.next().unwrap().unwrap().line, 2);
        assert!(reader.next().is_none());
        assert_eq!(reader.consumed_bytes(), input.len() as u64);
    }

    // Guards the containment's shortcut: only a statement ended under another delimiter than `;` may
    // hold a `;` in its code (several statements in one).
    #[test]
    fn statements_say_whether_the_delimiter_was_a_semicolon() {
        let got = split(b"SELECT 1;\nDELIMITER ;;\nSELECT 2; SELECT 3;;\nDELIMITER ;\nSELECT 4");
        let flags: Vec<_> = got.iter().map(|s| s.delimiter_is_semicolon).collect();
        assert_eq!(flags, [true, false, true]);
    }

    #[test]
    fn line_numbers_and_numbers_are_one_based() {
        let got = split(b"\n\nSELECT 1;\r\n-- c\nSELECT\n2; SELECT 3;");
        let positions: Vec<_> = got.iter().map(|s| (s.number, s.line)).collect();
        assert_eq!(positions, [(1, 3), (2, 5), (3, 6)]);
    }

    #[test]
    fn read_errors_name_the_input_and_line() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        let e = DumpReader::with_name(Failing, "the dump 'x.gz'".into())
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read the dump 'x.gz' near line 1: boom. The backup is probably truncated or corrupt; \
             restore an older backup."
        );
    }

    // ------------------------------------------------------------------ to_utf8_query

    /// What mysqldump's `mysql_real_escape_string` writes for `bytes`.
    fn dump_escape(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::db::escape_bytes_into(bytes, &mut out);
        out
    }

    /// The bytes of every `X'…'` literal in `query`.
    fn hex_literals(query: &str) -> Vec<Vec<u8>> {
        query
            .split("X'")
            .skip(1)
            .map(|rest| hex::decode(&rest[..rest.find('\'').unwrap()]).unwrap())
            .collect()
    }

    // Guards the prepared form of BLOB INSERTs: every byte value comes back as the parameter, the
    // `_binary` introducer goes with its literal, UTF-8 literals and comments stay in the text.
    #[test]
    fn non_utf8_literals_become_parameters_with_their_exact_bytes() {
        for b in 0x80..=255u8 {
            for sep in ["", " "] {
                let mut stmt = format!("INSERT INTO t VALUES (1,_binary{sep}'").into_bytes();
                stmt.extend_from_slice(&dump_escape(&[b, 0, b'\'', b'\\']));
                stmt.extend_from_slice(b"','\xc3\xa9')");
                let p = to_parameterized(&stmt).unwrap();
                assert_eq!(p.text, "INSERT INTO t VALUES (1,?,'\u{e9}')", "byte {b:#04x}");
                assert_eq!(p.params, [vec![b, 0, b'\'', b'\\']], "byte {b:#04x}");
            }
        }
        let p = to_parameterized(b"INSERT INTO t VALUES ('\xff'), (\"\xfe\") /* '\xfd' */ -- '\xfc'\n").unwrap();
        assert_eq!(p.text, "INSERT INTO t VALUES (?), (?) /* '\u{fffd}' */ -- '\u{fffd}'\n");
        assert_eq!(p.params, [b"\xff".to_vec(), b"\xfe".to_vec()]);
    }

    #[test]
    fn the_prepared_form_is_declined_where_it_could_not_be_exact() {
        assert_eq!(
            to_parameterized(b"INSERT INTO t VALUES ('\xc3\xa9')"),
            None,
            "UTF-8 needs nothing"
        );
        assert_eq!(to_parameterized(b"INSERT INTO t VALUES (_latin1'\xe9')"), None);
        assert_eq!(to_parameterized(b"INSERT INTO t VALUES (N'\xe9')"), None);
        let mut many = b"INSERT INTO t VALUES ".to_vec();
        for i in 0..=MAX_PARAMS {
            many.extend_from_slice(if i == 0 { b"('\xff')" } else { b",('\xff')" });
        }
        assert_eq!(to_parameterized(&many), None);
    }

    #[test]
    fn utf8_statements_are_borrowed_verbatim() {
        let stmt = "INSERT INTO t VALUES ('été','\\0\\'')".as_bytes();
        assert!(matches!(to_utf8_query(stmt), Cow::Borrowed(s) if s.as_bytes() == stmt));
    }

    #[test]
    fn every_byte_value_survives_the_rewrite() {
        for b in 0..=255u8 {
            let mut stmt = b"INSERT INTO t VALUES (_binary '".to_vec();
            stmt.extend_from_slice(&dump_escape(&[b]));
            stmt.extend_from_slice(b"')");
            let query = to_utf8_query(&stmt);
            if b < 0x80 {
                assert_eq!(query.as_bytes(), &stmt[..], "byte {b:#04x}");
            } else {
                assert_eq!(
                    query,
                    format!("INSERT INTO t VALUES (_binary X'{b:02X}')"),
                    "byte {b:#04x}"
                );
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        let mut stmt = b"INSERT INTO t VALUES (1,_binary '".to_vec();
        stmt.extend_from_slice(&dump_escape(&all));
        stmt.extend_from_slice(b"','ok')");
        let query = to_utf8_query(&stmt);
        assert_eq!(hex_literals(&query), [all]);
        assert!(query.starts_with("INSERT INTO t VALUES (1,_binary X'00010203") && query.ends_with("FF','ok')"));
    }

    #[test]
    fn all_server_escapes_are_decoded() {
        let query = to_utf8_query(b"SELECT '\xff\\0\\b\\n\\r\\t\\Z\\\\\\'\\\"\\%\\_\\q'''");
        assert_eq!(hex_literals(&query), [b"\xff\x00\x08\n\r\t\x1a\\'\"\\%\\_q'".to_vec()]);
        let query = to_utf8_query(b"SELECT \"\xff\"\"'\"");
        assert_eq!(query, "SELECT X'FF2227'");
    }

    #[test]
    fn only_non_utf8_literals_are_rewritten() {
        let query = to_utf8_query(b"INSERT INTO `it's` VALUES ('caf\xc3\xa9',_binary'\xff') -- don't\n/* it's */");
        assert_eq!(
            query,
            "INSERT INTO `it's` VALUES ('caf\u{e9}',_binary X'FF') -- don't\n/* it's */"
        );
        let query = to_utf8_query(b"SELECT '\xff' /* '\xfe' */");
        assert_eq!(query, "SELECT X'FF' /* '\u{fffd}' */");
        let query = to_utf8_query(b"/*!50003 SELECT '\xff' */");
        assert_eq!(query, "/*!50003 SELECT X'FF' */");
    }

    // ------------------------------------------------------------------ properties

    /// Byte sequences that trip naive splitters.
    fn tricky() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            prop::sample::select(vec![
                &b";"[..],
                b";;",
                b"--",
                b"-- ",
                b"#",
                b"/*",
                b"*/",
                b"/*!",
                b"DELIMITER ",
                b"\n",
                b"//",
                b"$$",
                b"|",
                b"'",
                b"\"",
                b"`",
                b"\\",
                b"\xff\xfe",
                b"\xc3\xa9",
                b"\r\n",
            ])
            .prop_map(<[u8]>::to_vec),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
    }

    fn literal(content: Vec<u8>, kind: u8) -> Vec<u8> {
        let mut out = Vec::new();
        match kind {
            0 | 1 => {
                out.push(b'\'');
                for b in content {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\'' if kind == 0 => out.extend_from_slice(b"\\'"),
                        b'\'' => out.extend_from_slice(b"''"),
                        _ => out.push(b),
                    }
                }
                out.push(b'\'');
            }
            2 => {
                out.push(b'"');
                for b in content {
                    match b {
                        b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
                        _ => out.push(b),
                    }
                }
                out.push(b'"');
            }
            _ => {
                out.push(b'`');
                for b in content {
                    if b == b'`' {
                        out.push(b'`');
                    }
                    out.push(b);
                }
                out.push(b'`');
            }
        }
        out
    }

    fn code_word() -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(vec![
            &b"x"[..],
            b"1",
            b"a--1",
            b"(",
            b")",
            b",",
            b"-",
            b"*",
            b"/",
            b"=",
            b";",
            b"END",
            b"_binary",
            b"VALUES",
            b"$",
            b"|",
        ])
        .prop_map(<[u8]>::to_vec)
    }

    /// The last word, followed directly by the delimiter: nothing that could begin one (`;` + `;;`).
    fn last_word() -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(vec![&b"x"[..], b"1", b"END", b")", b"'s'", b"`q`"]).prop_map(<[u8]>::to_vec)
    }

    fn without(mut v: Vec<u8>, bad: &[u8]) -> Vec<u8> {
        while let Some(k) = memchr::memmem::find(&v, bad) {
            v.remove(k);
        }
        v
    }

    /// A piece of a statement body (pieces are joined by spaces); `true` marks code, which must not
    /// contain the delimiter. Line-comment pieces end with their newline.
    fn body_piece() -> impl Strategy<Value = (Vec<u8>, bool)> {
        prop_oneof![
            4 => code_word().prop_map(|w| (w, true)),
            4 => (tricky(), 0..4u8).prop_map(|(c, k)| (literal(c, k), false)),
            1 => tricky().prop_map(|c| ([&b"/* "[..], &without(c, b"*/"), b" */"].concat(), false)),
            1 => tricky().prop_map(|c| ([&b"-- "[..], &without(c, b"\n"), b"\n"].concat(), false)),
            1 => tricky().prop_map(|c| ([&b"#"[..], &without(c, b"\n"), b"\n"].concat(), false)),
        ]
    }

    fn statement_body() -> impl Strategy<Value = Vec<(Vec<u8>, bool)>> {
        let exec = prop::collection::vec(body_piece(), 0..5).prop_map(|pieces| {
            let mut out = vec![(b"/*!50003".to_vec(), false)];
            out.extend(pieces.into_iter().filter(|(p, _)| p != b"*"));
            out.push((b"*/".to_vec(), false));
            out
        });
        let piece = prop_oneof![6 => body_piece().prop_map(|p| vec![p]), 1 => exec];
        (
            prop::sample::select(vec!["SELECT", "INSERT", "SET", "CALL"]),
            prop::collection::vec(piece, 0..8),
            last_word(),
        )
            .prop_map(|(first, pieces, last)| {
                let mut parts = vec![(first.as_bytes().to_vec(), true)];
                parts.extend(pieces.into_iter().flatten());
                parts.push((last, true));
                parts
            })
    }

    /// Joins body pieces, replacing code that holds the delimiter (the client would split there).
    fn render(pieces: Vec<(Vec<u8>, bool)>, delim: &[u8]) -> Vec<u8> {
        let pieces: Vec<Vec<u8>> = pieces
            .into_iter()
            .map(|(p, code)| {
                if code && memchr::memmem::find(&p, delim).is_some() {
                    b"x".to_vec()
                } else {
                    p
                }
            })
            .collect();
        pieces.join(&b' ')
    }

    fn separator() -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(vec![
            &b""[..],
            b" ",
            b"\n",
            b"\n\n",
            b"-- c;x\n",
            b"/* c; */",
            b"# c\n",
            b"\n/* ; */\n",
            b"\n--\n",
            b"EMPTY",
        ])
        .prop_map(<[u8]>::to_vec)
    }

    /// A dump made of statements, their expected texts and lines.
    fn dump() -> impl Strategy<Value = (Vec<u8>, Vec<(Vec<u8>, u64)>)> {
        let delimiters = vec![&b";"[..], b";;", b"//", b"$$", b"|"];
        let item = (
            statement_body(),
            prop::sample::select(delimiters),
            separator(),
            any::<bool>(),
        );
        (any::<bool>(), prop::collection::vec(item, 0..10), any::<bool>()).prop_map(|(sandbox, items, last_open)| {
            let mut out = Vec::new();
            if sandbox {
                out.extend_from_slice(b"/*M!999999\\- enable the sandbox mode */ \n");
            }
            let mut expected = Vec::new();
            let mut delim: &[u8] = b";";
            let count = items.len();
            for (n, (body, new_delim, sep, change)) in items.into_iter().enumerate() {
                if change && new_delim != delim {
                    delim = new_delim;
                    out.extend_from_slice(b"\nDELIMITER ");
                    out.extend_from_slice(delim);
                    out.push(b'\n');
                }
                let body = render(body, delim);
                let line = 1 + out.iter().filter(|&&b| b == b'\n').count() as u64;
                out.extend_from_slice(&body);
                expected.push((body, line));
                if n + 1 == count && last_open {
                    break;
                }
                out.extend_from_slice(delim);
                if sep == b"EMPTY" {
                    out.extend_from_slice(delim);
                } else {
                    out.extend_from_slice(&sep);
                }
            }
            (out, expected)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        #[test]
        fn split_gives_back_the_statements((input, expected) in dump()) {
            let got = split(&input);
            let got: Vec<(Vec<u8>, u64)> = got.into_iter().map(|s| (s.bytes, s.line)).collect();
            prop_assert_eq!(got, expected, "input: {:?}", String::from_utf8_lossy(&input));
        }

        #[test]
        fn chunking_does_not_change_the_result(
            (input, _) in dump(),
            noise in prop::collection::vec(any::<u8>(), 0..300),
            sizes in prop::collection::vec(1..40usize, 1..6),
        ) {
            let mut input = input;
            input.extend_from_slice(&noise);
            let whole = split_chunked(&input, vec![usize::MAX]);
            prop_assert_eq!(split_chunked(&input, sizes), whole.clone());
            prop_assert_eq!(split_chunked(&input, vec![1]), whole);
        }

        #[test]
        fn rewritten_literals_stand_for_the_same_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64), doubled in any::<bool>()) {
            let content = if doubled { literal(bytes.clone(), 1) } else { [&b"'"[..], &dump_escape(&bytes), b"'"].concat() };
            let stmt = [&b"INSERT INTO t VALUES (_binary "[..], &content, b",'\xc3\xa9')"].concat();
            let query = to_utf8_query(&stmt);
            if std::str::from_utf8(&bytes).is_ok() {
                prop_assert_eq!(query.as_bytes(), &stmt[..]);
            } else {
                prop_assert_eq!(hex_literals(&query), vec![bytes]);
                prop_assert!(query.ends_with(",'\u{e9}')"), "{}", query);
            }
        }
    }
}
