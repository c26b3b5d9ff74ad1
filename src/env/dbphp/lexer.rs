//! PHP tokens, as far as array literals need: strings (with PHP's escapes), numbers, names, punctuation; comments and whitespace dropped.

/// A PHP token, as far as array literals need. Comments and whitespace are dropped by the lexer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Byte offsets into the source, to quote constructs as written.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) line: usize,
}

/// A lexing or parsing failure; `message` never contains a string literal's content.
#[derive(Debug)]
pub(super) struct SyntaxError {
    pub(super) line: usize,
    pub(super) message: String,
}

/// Operators, longest first so that the first match is the right one.
pub(super) const PUNCTS: &[&str] = &[
    "<<=", ">>=", "**=", "...", "<=>", "===", "!==", "??=", "?->", "=>", "->", "::", "==", "!=", "<>", "<=", ">=",
    "&&", "||", "??", "++", "--", "+=", "-=", "*=", "/=", ".=", "%=", "&=", "|=", "^=", "<<", ">>", "**", "(", ")",
    "[", "]", "{", "}", ",", ".", "+", "-", "*", "/", "%", "=", "<", ">", "!", "?", ":", "&", "|", "^", "~", "@", "$",
    "\\",
];

pub(super) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

pub(super) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

pub(super) struct Lexer<'a> {
    pub(super) src: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) line_starts: Vec<usize>,
    pub(super) tokens: Vec<Token>,
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
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
    pub(super) fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line: self.line_of(offset),
            message: message.into(),
        }
    }

    pub(super) fn at(&self, offset: usize) -> u8 {
        self.bytes.get(offset).copied().unwrap_or(0)
    }

    pub(super) fn starts_with(&self, offset: usize, s: &str) -> bool {
        self.bytes
            .get(offset..)
            .is_some_and(|rest| rest.starts_with(s.as_bytes()))
    }

    pub(super) fn push(&mut self, tok: Tok, start: usize, end: usize) {
        let line = self.line_of(start);
        self.tokens.push(Token { tok, start, end, line });
    }

    pub(super) fn run(&mut self) -> Result<(), SyntaxError> {
        // Outside `<?php … ?>` is inline HTML, which PHP prints and we ignore.
        while self.skip_html() {
            self.php()?;
        }
        Ok(())
    }

    /// Skips to just after the next opening tag; false when there is none.
    pub(super) fn skip_html(&mut self) -> bool {
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
    pub(super) fn php(&mut self) -> Result<(), SyntaxError> {
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
    pub(super) fn line_comment(&mut self) {
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos] == b'\n' || self.starts_with(self.pos, "?>") {
                return;
            }
            self.pos += 1;
        }
    }

    pub(super) fn ident_end(&self, mut i: usize) -> usize {
        while is_ident_char(self.at(i)) {
            i += 1;
        }
        i
    }

    /// A (possibly namespaced) name: `PDO`, `\PDO`, `yii\db\Connection`.
    pub(super) fn name(&mut self) {
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

    pub(super) fn number(&mut self) -> Result<(), SyntaxError> {
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

    pub(super) fn single_quoted(&mut self) -> Result<(), SyntaxError> {
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

    pub(super) fn double_quoted(&mut self) -> Result<(), SyntaxError> {
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
    pub(super) fn matching_brace(&self, open: usize) -> usize {
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

    pub(super) fn backtick(&mut self) -> Result<(), SyntaxError> {
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
    pub(super) fn heredoc(&mut self) -> Result<(), SyntaxError> {
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
pub(super) fn unescape_double(body: &str, quote: u8) -> Result<Tok, String> {
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
