//! A recursive-descent parser for the array a `db.php` returns; anything it cannot evaluate without running PHP becomes a computed value.

use super::lexer::{SyntaxError, Tok, Token};
use super::value::{Entry, Key, Node, Value};

/// Functions whose arguments name where a value comes from (an environment variable, a constant), so the
/// error may quote them in full; other calls are shown as `name(…)` since their arguments could be secrets.
pub(super) const SOURCE_FUNCTIONS: &[&str] = &[
    "getenv",
    "env",
    "constant",
    "ini_get",
    "get_cfg_var",
    "apache_getenv",
    "file_get_contents",
    "file",
];

pub(super) const CASTS: &[&str] = &[
    "int", "integer", "bool", "boolean", "float", "double", "real", "string", "array", "object",
];

/// Finds the top-level `return` and parses its value; `None` when the file has none.
pub(super) fn find_return(tokens: &[Token], src: &str) -> Result<Option<Node>, SyntaxError> {
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
pub(super) fn describe_token(t: &Token) -> String {
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
pub(super) const MAX_DEPTH: usize = 200;

pub(super) struct Parser<'a> {
    pub(super) tokens: &'a [Token],
    pub(super) src: &'a str,
    pub(super) pos: usize,
    /// Current nesting of arrays and parentheses.
    pub(super) depth: usize,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    pub(super) fn is_punct(&self, i: usize, p: &str) -> bool {
        matches!(self.tokens.get(i), Some(Token { tok: Tok::Punct(q), .. }) if *q == p)
    }

    pub(super) fn is_ident(&self, i: usize, name: &str) -> bool {
        matches!(self.tokens.get(i), Some(Token { tok: Tok::Ident(n), .. }) if n.eq_ignore_ascii_case(name))
    }

    pub(super) fn end_line(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.line)
    }

    /// Parses one value (an array entry's key or value, or the returned value). `after` names what
    /// precedes it, for the "expected a value" message.
    pub(super) fn value(&mut self, after: &str) -> Result<Node, SyntaxError> {
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

    pub(super) fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(t) => matches!(t.tok, Tok::Semi | Tok::Punct("," | "]" | ")" | "}" | "=>")),
        }
    }

    /// Entries after an opening `[` or `array(`, through the closing `close`.
    pub(super) fn array_entries(&mut self, close: &str, open_line: usize) -> Result<Vec<Entry>, SyntaxError> {
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
    pub(super) fn key(&self, node: Node) -> Result<Key, SyntaxError> {
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
    pub(super) fn chunk_end(&self, start: usize) -> Result<usize, SyntaxError> {
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
    pub(super) fn evaluate(&self, start: usize, end: usize) -> Value {
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
    pub(super) fn describe(&self, start: usize, end: usize) -> (String, usize) {
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
    pub(super) fn first_operator(&self, start: usize, end: usize) -> Option<&'static str> {
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
    pub(super) fn chain(&self, mut i: usize, end: usize) -> (String, usize) {
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
    pub(super) fn matching(&self, open: usize, end: usize) -> usize {
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
    pub(super) fn text(&self, from: usize, to: usize) -> String {
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
pub(super) fn fold_concatenation(toks: &[Token]) -> Option<String> {
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
