//! macOS: what Secours asks through `osascript` — the administrator's password dialog for one shell script,
//! and the folder chooser — and the AppleScript string literals both are built from.
//!
//! Guarantees: every text reaches AppleScript exactly as it is, on one line ([`applescript_string`], tested
//! with a property test); the arguments are built by pure functions, tested on every system.

use std::path::{Path, PathBuf};

use crate::platform::runner::{CommandRunner, SystemRunner};

/// macOS's AppleScript runner.
pub const OSASCRIPT: &str = "/usr/bin/osascript";

/// An AppleScript string literal: `"` and `\` escaped, line breaks and tabs written as escapes so the
/// script stays on one line.
pub fn applescript_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The AppleScript that runs the POSIX shell `script` as root after macOS's administrator dialog, which
/// shows `prompt`.
pub fn administrator_script(script: &str, prompt: &str) -> String {
    format!(
        "do shell script {} with prompt {} with administrator privileges",
        applescript_string(script),
        applescript_string(prompt)
    )
}

/// The command that runs `script` as root after one administrator dialog showing `prompt`.
pub fn administrator_argv(script: &str, prompt: &str) -> Vec<String> {
    vec![OSASCRIPT.into(), "-e".into(), administrator_script(script, prompt)]
}

/// The `osascript` arguments that ask for a folder with `prompt` and print its POSIX path.
pub fn choose_folder_script(prompt: &str) -> [String; 4] {
    [
        "-e".to_owned(),
        "activate".to_owned(),
        "-e".to_owned(),
        format!(
            "POSIX path of (choose folder with prompt {})",
            applescript_string(prompt)
        ),
    ]
}

/// Lets the user choose a folder with the system's open panel, shown by `osascript`'s `choose folder`
/// (a menu-bar app has no window to attach AppKit's panel to). Waits as long as the user takes; `None` when
/// they cancel or the panel cannot be shown (logged).
pub fn choose_folder(title: &str) -> Option<PathBuf> {
    choose_folder_with(title, &SystemRunner::without_timeout())
}

fn choose_folder_with(title: &str, runner: &dyn CommandRunner) -> Option<PathBuf> {
    let args = choose_folder_script(title);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match runner.run(Path::new(OSASCRIPT), &args) {
        // Cancel exits with error -128.
        Ok(out) if out.success() => {
            let path = String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned();
            (!path.is_empty()).then(|| PathBuf::from(path))
        }
        Ok(_) => None,
        Err(e) => {
            log::warn!("cannot show the folder chooser with '{OSASCRIPT}': {e}");
            None
        }
    }
}

/// Reads an AppleScript string literal back (the inverse of [`applescript_string`]), for tests.
#[cfg(test)]
pub(crate) fn applescript_unescape(lit: &str) -> String {
    let inner = lit.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next().unwrap() {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            '"' => panic!("unescaped quote in {lit}"),
            '\n' | '\r' => panic!("line break in {lit}"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::admin::NASTY_PATHS;
    use crate::platform::fake::FakeRunner;
    use crate::platform::runner::Output;

    // Guards the AppleScript escaping: every path reaches `quoted form of` exactly as it is.
    #[test]
    fn applescript_strings_round_trip_for_nasty_paths() {
        for p in NASTY_PATHS {
            let lit = applescript_string(p);
            assert_eq!(applescript_unescape(&lit), *p, "{lit}");
        }
        assert_eq!(applescript_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    proptest::proptest! {
        #[test]
        fn applescript_string_round_trips(s in "\\PC*") {
            proptest::prop_assert_eq!(applescript_unescape(&applescript_string(&s)), s);
        }
    }

    #[test]
    fn the_folder_prompt_is_quoted_for_applescript() {
        let args = choose_folder_script("Choisissez le dossier \"sauvegarde\"");
        assert_eq!(args[1], "activate");
        assert_eq!(
            args[3],
            "POSIX path of (choose folder with prompt \"Choisissez le dossier \\\"sauvegarde\\\"\")"
        );
    }

    #[test]
    fn the_chosen_folder_is_read_and_a_cancel_is_none() {
        let line = format!("{OSASCRIPT} {}", choose_folder_script("Dossier").join(" "));
        let chosen = FakeRunner::default().answer(&line, Output::new(0, "/Volumes/TM/Sauvegardes/\n", ""));
        assert_eq!(
            choose_folder_with("Dossier", &chosen),
            Some(PathBuf::from("/Volumes/TM/Sauvegardes/"))
        );
        let cancelled =
            FakeRunner::default().answer(&line, Output::new(1, "", "execution error: User canceled. (-128)"));
        assert_eq!(choose_folder_with("Dossier", &cancelled), None);
        let missing = FakeRunner::default().refuse(&line, std::io::ErrorKind::NotFound);
        assert_eq!(choose_folder_with("Dossier", &missing), None);
    }
}
