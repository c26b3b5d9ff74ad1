//! Linux (and other freedesktop systems): launch at login as an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/secours.desktop`, that starts `secours app`.
//!
//! Guarantees: the entry is written and read by pure functions ([`autostart_desktop_entry`],
//! [`parse_desktop_entry`]) that quote any executable path as the Desktop Entry specification asks (a
//! property test round-trips unusual folder names); an entry the desktop switched off (`Hidden=true`,
//! `X-GNOME-Autostart-enabled=false`) reads as off. Writing, reading and removing the file is the front's
//! ([`crate::platform::login_item`]).

use std::path::{Path, PathBuf};

use crate::platform::login_entry::{APP_ARG, LoginItemError};

/// The entry file under the user's configuration folder (`$XDG_CONFIG_HOME`, usually `~/.config`).
pub fn entry_file(config_dir: &Path) -> PathBuf {
    config_dir.join("autostart").join("secours.desktop")
}

/// The XDG autostart entry that starts `exe app` at login.
pub fn autostart_desktop_entry(exe: &Path) -> Result<String, LoginItemError> {
    let exe_str = exe.to_str().ok_or_else(|| LoginItemError::BadExecutable {
        path: exe.to_path_buf(),
        reason: "the path is not valid UTF-8".into(),
    })?;
    if exe_str.chars().any(char::is_control) {
        return Err(LoginItemError::BadExecutable {
            path: exe.to_path_buf(),
            reason: "the path contains a control character".into(),
        });
    }
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Secours\n\
         Comment=Surveille les sauvegardes et les restaure / Watches the backups and restores them\n\
         Exec={} {APP_ARG}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        escape_exec_value(&quote_exec_arg(exe_str))
    ))
}

/// The executable an autostart entry starts: `Some(None)` when the entry is switched off (`Hidden=true` or
/// `X-GNOME-Autostart-enabled=false`), `None` when it has no usable `Exec` line.
pub fn parse_desktop_entry(text: &str) -> Option<Option<PathBuf>> {
    let mut in_main = false;
    let (mut exec, mut off) = (None, false);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_main = line == "[Desktop Entry]";
            continue;
        }
        if !in_main {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match (key.trim(), value.trim()) {
            ("Exec", v) => exec = Some(v.to_string()),
            ("Hidden", "true") | ("X-GNOME-Autostart-enabled", "false") => off = true,
            _ => {}
        }
    }
    if off {
        return Some(None);
    }
    let args = split_exec(&unescape_exec_value(&exec?))?;
    let first = args.into_iter().next()?;
    Some(Some(PathBuf::from(first)))
}

/// Quotes one `Exec` argument as the Desktop Entry spec asks: inside double quotes, `"`, `` ` ``, `$` and
/// `\` get a backslash; `%` (field codes) is doubled.
fn quote_exec_arg(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':'));
    if plain {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The string-level escaping of a desktop entry value: a backslash is written `\\`.
fn escape_exec_value(value: &str) -> String {
    value.replace('\\', "\\\\")
}

fn unescape_exec_value(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Splits an (already unescaped) `Exec` value into arguments; `None` on an unterminated quote.
fn split_exec(value: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(arg) = current.take() {
                    args.push(arg);
                }
            }
            '"' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => arg.push(chars.next()?),
                        '%' if chars.peek() == Some(&'%') => {
                            chars.next();
                            arg.push('%');
                        }
                        other => arg.push(other),
                    }
                }
            }
            '%' if chars.peek() == Some(&'%') => {
                chars.next();
                current.get_or_insert_with(String::new).push('%');
            }
            other => current.get_or_insert_with(String::new).push(other),
        }
    }
    args.extend(current);
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_entry_switched_off_by_the_desktop_reads_as_off() {
        let text = "[Desktop Entry]\nExec=/usr/bin/secours app\nX-GNOME-Autostart-enabled=false\n";
        assert_eq!(parse_desktop_entry(text), Some(None));
        let hidden = "[Desktop Entry]\nExec=/usr/bin/secours app\nHidden=true\n";
        assert_eq!(parse_desktop_entry(hidden), Some(None));
    }

    #[test]
    fn desktop_entry_quotes_paths_with_spaces_and_specials() {
        let exe = Path::new("/home/ann/Mes Apps/se$cours \"v2\" 100%\\x");
        let text = autostart_desktop_entry(exe).unwrap();
        assert!(text.contains("X-GNOME-Autostart-enabled=true"));
        assert_eq!(parse_desktop_entry(&text), Some(Some(exe.to_path_buf())));
        let plain = autostart_desktop_entry(Path::new("/usr/local/bin/secours")).unwrap();
        assert!(plain.contains("\nExec=/usr/local/bin/secours app\n"), "{plain}");
    }

    proptest::proptest! {
        #[test]
        fn desktop_exec_round_trips(name in "[ -~éà%\\\\\"$`]{1,24}") {
            // Guards the quoting of unusual folder names in the Exec line.
            let exe = PathBuf::from(format!("/opt/{name}/secours"));
            let text = autostart_desktop_entry(&exe).unwrap();
            proptest::prop_assert_eq!(parse_desktop_entry(&text), Some(Some(exe)));
        }
    }
}
