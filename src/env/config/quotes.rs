//! Typographic ("smart") quotes where TOML expects straight ones.
//!
//! Preferences… opens the configuration in TextEdit, whose smart quotes turn a typed `"…"` into `“…”`
//! (or `« … »` with French punctuation, `‘…’` for single quotes). TOML refuses them. [`straighten`] puts
//! straight quotes back where a value starts with a typographic opening quote outside any string and
//! comment, and ends at the matching closing quote on the same line; everything inside real strings and
//! comments is left as written. [`super::parse`] uses it only when the file does not parse as it is, so
//! a valid file is never rewritten in memory, and a typographic quote inside a real string stays.
//!
//! What is between the quotes is taken literally (a backslash or a straight quote there is escaped),
//! which is what the user typed. The spaces French typography puts inside `« »` are dropped.

/// Double-quote openers and closers that editors substitute for `"`.
const DOUBLE: &[char] = &['“', '”', '„', '‟', '«', '»'];
/// Single-quote openers and closers that editors substitute for `'`.
const SINGLE: &[char] = &['‘', '’', '‚', '‛', '‹', '›'];
/// The spaces French typography puts inside guillemets.
const INNER_SPACES: &[char] = &['\u{a0}', '\u{202f}', '\u{2009}'];

/// The result of [`straighten`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Straightened {
    /// The text with straight quotes where typographic ones stood for them.
    pub text: String,
    /// 1-based lines where typographic quotes were replaced.
    pub fixed: Vec<usize>,
    /// 1-based lines where a typographic quote outside any string has no closing quote on its line
    /// (left as it was).
    pub unpaired: Vec<usize>,
}

/// Replaces typographic quotes that stand where TOML expects a quote; `None` when there is none.
pub fn straighten(text: &str) -> Option<Straightened> {
    let mut out = String::with_capacity(text.len());
    let mut fixed = Vec::new();
    let mut unpaired = Vec::new();
    let mut line = 1usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    // Inside a multi-line string ("""…""" or '''…'''): its delimiter.
    let mut multi: Option<&str> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(delim) = multi {
            if starts_with(&chars, i, delim) {
                out.push_str(delim);
                i += 3;
                multi = None;
                continue;
            }
            if c == '\\' && delim == "\"\"\"" && i + 1 < chars.len() {
                out.push(c);
                out.push(chars[i + 1]);
                line += usize::from(chars[i + 1] == '\n');
                i += 2;
                continue;
            }
            line += usize::from(c == '\n');
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '\n' => {
                line += 1;
                out.push(c);
                i += 1;
            }
            '#' => {
                // A comment runs to the end of the line, as written.
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '"' | '\'' => {
                let delim = if c == '"' { "\"\"\"" } else { "'''" };
                if starts_with(&chars, i, delim) {
                    out.push_str(delim);
                    i += 3;
                    multi = Some(delim);
                    continue;
                }
                // A one-line string: copied to its closing quote (escapes in basic strings).
                out.push(c);
                i += 1;
                while i < chars.len() && chars[i] != '\n' {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if d == '\\' && c == '"' && i < chars.len() && chars[i] != '\n' {
                        out.push(chars[i]);
                        i += 1;
                    } else if d == c {
                        break;
                    }
                }
            }
            _ if DOUBLE.contains(&c) || SINGLE.contains(&c) => {
                let family = if DOUBLE.contains(&c) { DOUBLE } else { SINGLE };
                let end = (i + 1..chars.len())
                    .take_while(|&j| chars[j] != '\n')
                    .find(|&j| family.contains(&chars[j]));
                match end {
                    Some(end) => {
                        let inner: String = chars[i + 1..end].iter().collect();
                        // French guillemets are written with spaces inside: « valeur ».
                        let inner = if matches!(c, '«' | '‹') {
                            inner.trim_matches(|d: char| d == ' ' || INNER_SPACES.contains(&d))
                        } else {
                            inner.trim_matches(INNER_SPACES)
                        };
                        out.push('"');
                        for d in inner.chars() {
                            if d == '"' || d == '\\' {
                                out.push('\\');
                            }
                            out.push(d);
                        }
                        out.push('"');
                        if fixed.last() != Some(&line) {
                            fixed.push(line);
                        }
                        i = end + 1;
                    }
                    None => {
                        if unpaired.last() != Some(&line) {
                            unpaired.push(line);
                        }
                        out.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (!fixed.is_empty() || !unpaired.is_empty()).then_some(Straightened {
        text: out,
        fixed,
        unpaired,
    })
}

fn starts_with(chars: &[char], at: usize, what: &str) -> bool {
    what.chars().enumerate().all(|(k, w)| chars.get(at + k) == Some(&w))
}

/// The lines, for a message: "3", "3 and 7", "3, 5 and 7".
pub fn lines_text(lines: &[usize]) -> String {
    let text: Vec<String> = lines.iter().map(usize::to_string).collect();
    match text.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [head @ .., last] => format!("{} and {last}", head.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards Preferences… in TextEdit: its smart quotes, English and French, stand for straight ones.
    #[test]
    fn typographic_quotes_become_straight_where_toml_expects_quotes() {
        let text = "language = “fr”\n[environments.prod]\nroot = «\u{a0}/Application/mamstack/apps/prod\u{a0}»\n\
                    [watch]\nenvironments = [‘prod’]\n";
        let s = straighten(text).unwrap();
        assert_eq!(
            s.text,
            "language = \"fr\"\n[environments.prod]\nroot = \"/Application/mamstack/apps/prod\"\n\
             [watch]\nenvironments = [\"prod\"]\n"
        );
        assert_eq!(s.fixed, [1, 3, 5]);
        assert!(s.unpaired.is_empty());
    }

    #[test]
    fn real_strings_and_comments_are_left_as_written() {
        let text = "url = \"http://x/“a”\" # “comment”\nname = 'l’école'\nnotes = \"\"\"\n“x”\n\"\"\"\n";
        assert_eq!(straighten(text), None);
        // An escaped quote does not end a basic string.
        assert_eq!(straighten("a = \"say \\\"“hi”\\\"\"\n"), None);
    }

    #[test]
    fn an_unpaired_quote_is_named_by_its_line() {
        let s = straighten("a = 1\nroot = “/Application/mamstack\n").unwrap();
        assert_eq!(s.unpaired, [2]);
        assert!(s.fixed.is_empty());
        assert_eq!(lines_text(&[2]), "2");
        assert_eq!(lines_text(&[2, 5, 9]), "2, 5 and 9");
    }

    // Guards the whole path: a configuration saved by TextEdit loads with the values the user typed, and a
    // valid file with a typographic quote inside a string keeps it.
    #[test]
    fn a_textedit_configuration_loads_with_its_values() {
        let config = crate::env::config::parse(
            "language = “en”\n[environments.prod]\nroot = « /srv/prod »\n[environments.secours]\n\
             root = “/srv/secours”\nurl = “http://x/secours”\n",
        )
        .unwrap();
        assert_eq!(config.language, crate::i18n::LanguageSetting::En);
        assert_eq!(config.environments["prod"].root, std::path::PathBuf::from("/srv/prod"));
        assert_eq!(config.environments["secours"].url.as_deref(), Some("http://x/secours"));
        let kept = crate::env::config::parse("[environments.secours]\nroot = \"/srv/“s”\"\n[restore]\ntarget = \"secours\"\n[watch]\nenvironments = []\n").unwrap();
        assert_eq!(kept.environments["secours"].root, std::path::PathBuf::from("/srv/“s”"));
    }

    #[test]
    fn what_is_inside_is_taken_literally() {
        let s = straighten("password = “a\"b\\c”\n").unwrap();
        assert_eq!(s.text, "password = \"a\\\"b\\\\c\"\n");
    }
}
