//! Launch at login: a per-user LaunchAgent on macOS, an XDG autostart entry on Linux.
//!
//! Guarantees:
//! - [`LoginItem::enable`] and [`LoginItem::disable`] are idempotent, and write files atomically (temp file +
//!   rename), so a crash never leaves a half-written entry.
//! - [`LoginItem::status`] reads what is on disk, never a cached flag: an entry whose executable has moved
//!   or been deleted is reported as [`Status::Stale`], not as on.
//! - Nothing is started or stopped now. On macOS, `launchctl bootstrap` of an agent with `RunAtLoad` would
//!   start a second Secours immediately, and `launchctl bootout` would kill the running one if it was itself
//!   started at login; the agent file is simply read by launchd at the next login. The only `launchctl` call
//!   is `launchctl enable gui/<uid>/<label>`, which clears a "disabled" override (left by System Settings ›
//!   Login Items) without starting anything. It goes through a [`CommandRunner`] so tests can fake it.
//!
//! The file formats are produced and parsed by pure functions ([`launch_agent_plist`],
//! [`autostart_desktop_entry`] and their parsers), tested on every OS.

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::{fmt, fs, io};

/// The bundle identifier `bundle/make-app` uses unless told otherwise; also the LaunchAgent's label.
pub const DEFAULT_BUNDLE_ID: &str = "ch.secours.Secours";

/// The argument that makes the binary start the menu-bar app.
pub const APP_ARG: &str = "app";

/// Errors while reading or changing the login item.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    /// The user's home directory is unknown.
    #[error("cannot find your home directory. Set the HOME environment variable and try again.")]
    NoHome,
    /// Reading the entry failed.
    #[error("cannot read the login item '{path}': {source}. Check the file's permissions.")]
    Read {
        /// The entry file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the entry failed.
    #[error("cannot write the login item '{path}': {source}. Check that the folder is writable.")]
    Write {
        /// The entry file (or its folder).
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Removing the entry failed.
    #[error("cannot remove the login item '{path}': {source}. Delete the file by hand.")]
    Remove {
        /// The entry file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The LaunchAgent plist could not be produced.
    #[error(
        "cannot write the LaunchAgent property list for '{label}': {reason}. This is a bug in Secours; please report it."
    )]
    Plist {
        /// The agent's label.
        label: String,
        /// The serializer's message.
        reason: String,
    },
    /// The executable path cannot be written into an entry.
    #[error(
        "cannot register '{path}' to launch at login: {reason}. Move Secours to a folder whose path is plain text."
    )]
    BadExecutable {
        /// The executable.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// An external command failed.
    #[error("'{command}' failed: {reason}. Enable Secours in System Settings › General › Login Items instead.")]
    Command {
        /// The command line.
        command: String,
        /// Its error output or exit status.
        reason: String,
    },
}

/// What is registered to launch at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No entry (or an entry the user switched off in the desktop's settings).
    Off,
    /// An entry starts `exe`, which exists.
    On {
        /// The entry file.
        file: PathBuf,
        /// The executable it starts.
        exe: PathBuf,
    },
    /// An entry exists but will not start Secours: its executable is gone, or the entry is unreadable.
    Stale {
        /// The entry file.
        file: PathBuf,
        /// The executable it names, if it could be read.
        exe: Option<PathBuf>,
    },
}

impl Status {
    /// True when an entry exists and will start an existing executable.
    pub fn is_on(&self) -> bool {
        matches!(self, Status::On { .. })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Off => f.write_str("off"),
            Status::On { exe, .. } => write!(f, "on ('{}')", exe.display()),
            Status::Stale { file, exe: Some(exe) } => write!(
                f,
                "on (stale: '{}' no longer exists; entry '{}'); turn it off and on again",
                exe.display(),
                file.display()
            ),
            Status::Stale { file, exe: None } => {
                write!(
                    f,
                    "on (stale: entry '{}' is unreadable); turn it off and on again",
                    file.display()
                )
            }
        }
    }
}

/// Which mechanism the login item uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `~/Library/LaunchAgents/<label>.plist` (macOS).
    LaunchAgent,
    /// `$XDG_CONFIG_HOME/autostart/secours.desktop` (Linux and other freedesktop systems).
    XdgAutostart,
}

impl Flavor {
    /// The mechanism of the OS this binary was built for.
    pub fn native() -> Flavor {
        if cfg!(target_os = "macos") {
            Flavor::LaunchAgent
        } else {
            Flavor::XdgAutostart
        }
    }
}

/// Runs external commands; replaced by a fake in tests.
pub trait CommandRunner: Send + Sync {
    /// Runs `program` with `args` and returns its standard output, or an error naming what failed.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, LoginItemError>;
}

/// Runs commands for real.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRunner;

impl CommandRunner for SystemRunner {
    fn run(&self, program: &str, args: &[&str]) -> Result<String, LoginItemError> {
        let command = std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let output = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| LoginItemError::Command {
                command: command.clone(),
                reason: e.to_string(),
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            let reason = if stderr.is_empty() {
                output.status.to_string()
            } else {
                stderr
            };
            return Err(LoginItemError::Command { command, reason });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The login item of one user.
pub struct LoginItem {
    flavor: Flavor,
    label: String,
    file: PathBuf,
    runner: Box<dyn CommandRunner>,
}

impl fmt::Debug for LoginItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginItem")
            .field("flavor", &self.flavor)
            .field("file", &self.file)
            .finish()
    }
}

impl LoginItem {
    /// The native login item under `home`, labelled `bundle_id` (the LaunchAgent's label on macOS).
    ///
    /// On Linux the entry goes to `<home>/.config/autostart`; use [`LoginItem::for_current_user`] to honour
    /// `$XDG_CONFIG_HOME`.
    pub fn new(home: &Path, bundle_id: &str) -> LoginItem {
        LoginItem::with_flavor(Flavor::native(), home, &home.join(".config"), bundle_id)
    }

    /// The native login item of the user running this process (`$HOME`, `$XDG_CONFIG_HOME`).
    pub fn for_current_user(bundle_id: &str) -> Result<LoginItem, LoginItemError> {
        let dirs = directories::BaseDirs::new().ok_or(LoginItemError::NoHome)?;
        Ok(LoginItem::with_flavor(
            Flavor::native(),
            dirs.home_dir(),
            dirs.config_dir(),
            bundle_id,
        ))
    }

    /// A login item of the given flavor; `config_dir` is only used by [`Flavor::XdgAutostart`].
    pub fn with_flavor(flavor: Flavor, home: &Path, config_dir: &Path, bundle_id: &str) -> LoginItem {
        let file = match flavor {
            Flavor::LaunchAgent => home
                .join("Library")
                .join("LaunchAgents")
                .join(format!("{bundle_id}.plist")),
            Flavor::XdgAutostart => config_dir.join("autostart").join("secours.desktop"),
        };
        LoginItem {
            flavor,
            label: bundle_id.to_string(),
            file,
            runner: Box::new(SystemRunner),
        }
    }

    /// Replaces the command runner (tests use a fake one).
    pub fn with_runner(mut self, runner: Box<dyn CommandRunner>) -> LoginItem {
        self.runner = runner;
        self
    }

    /// The entry file this login item reads and writes.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// What is registered now, read from disk.
    pub fn status(&self) -> Result<Status, LoginItemError> {
        let bytes = match fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Status::Off),
            Err(source) => {
                return Err(LoginItemError::Read {
                    path: self.file.clone(),
                    source,
                });
            }
        };
        let parsed = match self.flavor {
            Flavor::LaunchAgent => parse_launch_agent(&bytes).map(Some),
            Flavor::XdgAutostart => parse_desktop_entry(&String::from_utf8_lossy(&bytes)),
        };
        Ok(match parsed {
            // The user switched the entry off in the desktop's startup settings.
            Some(None) => Status::Off,
            Some(Some(exe)) if exe.is_file() => Status::On {
                file: self.file.clone(),
                exe,
            },
            Some(Some(exe)) => Status::Stale {
                file: self.file.clone(),
                exe: Some(exe),
            },
            None => Status::Stale {
                file: self.file.clone(),
                exe: None,
            },
        })
    }

    /// Registers `exe` to start (as `exe app`) at the next login; rewrites the entry only if it differs.
    pub fn enable(&self, exe: &Path) -> Result<Status, LoginItemError> {
        let contents = match self.flavor {
            Flavor::LaunchAgent => launch_agent_plist(&self.label, exe)?,
            Flavor::XdgAutostart => autostart_desktop_entry(exe)?.into_bytes(),
        };
        if fs::read(&self.file).ok().as_deref() != Some(contents.as_slice()) {
            write_atomically(&self.file, &contents)?;
        }
        if self.flavor == Flavor::LaunchAgent {
            self.clear_launchd_override()?;
        }
        self.status()
    }

    /// Removes the entry; does nothing if there is none.
    pub fn disable(&self) -> Result<Status, LoginItemError> {
        match fs::remove_file(&self.file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LoginItemError::Remove {
                    path: self.file.clone(),
                    source,
                });
            }
        }
        self.status()
    }

    /// `launchctl enable gui/<uid>/<label>`: undoes a "disabled" override without starting the agent.
    fn clear_launchd_override(&self) -> Result<(), LoginItemError> {
        let uid = self.runner.run("id", &["-u"])?;
        let uid = uid.trim();
        if uid.is_empty() || !uid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LoginItemError::Command {
                command: "id -u".into(),
                reason: format!("printed '{uid}'"),
            });
        }
        let target = format!("gui/{uid}/{}", self.label);
        self.runner.run("launchctl", &["enable", &target])?;
        Ok(())
    }
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), LoginItemError> {
    let write_err = |source| LoginItemError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, contents).map_err(write_err)?;
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        write_err(source)
    })
}

/// The LaunchAgent property list that starts `exe app` at login, labelled `label`.
pub fn launch_agent_plist(label: &str, exe: &Path) -> Result<Vec<u8>, LoginItemError> {
    let exe_str = exe.to_str().ok_or_else(|| LoginItemError::BadExecutable {
        path: exe.to_path_buf(),
        reason: "the path is not valid UTF-8".into(),
    })?;
    let mut dict = plist::Dictionary::new();
    dict.insert("Label".into(), label.into());
    dict.insert(
        "ProgramArguments".into(),
        plist::Value::Array(vec![exe_str.into(), APP_ARG.into()]),
    );
    dict.insert("RunAtLoad".into(), true.into());
    // Interactive: launchd does not throttle it like a background daemon; Aqua: only in a graphical login,
    // never for an SSH session.
    dict.insert("ProcessType".into(), "Interactive".into());
    dict.insert("LimitLoadToSessionType".into(), "Aqua".into());
    let mut out = Vec::new();
    plist::Value::Dictionary(dict)
        .to_writer_xml(&mut out)
        .map_err(|e| LoginItemError::Plist {
            label: label.to_string(),
            reason: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}

/// The executable a LaunchAgent plist starts (`ProgramArguments[0]`, else `Program`); `None` if unreadable.
pub fn parse_launch_agent(bytes: &[u8]) -> Option<PathBuf> {
    let value = plist::Value::from_reader(io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let from_args = dict
        .get("ProgramArguments")
        .and_then(|a| a.as_array())
        .and_then(|a| a.first());
    let exe = from_args.or_else(|| dict.get("Program"))?.as_string()?;
    Some(PathBuf::from(exe))
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

/// True when `exe` runs from inside an app bundle (`….app/Contents/MacOS/…`).
///
/// macOS delivers notifications only to bundled apps (notify-rust needs `set_application(bundle_id)`), so
/// outside a bundle the app should leave notifications off.
pub fn running_inside_bundle(exe: &Path) -> bool {
    bundle_root(exe).is_some()
}

/// The `….app` folder `exe` runs from, if it runs from `….app/Contents/MacOS/<exe>`.
pub fn bundle_root(exe: &Path) -> Option<PathBuf> {
    let parts: Vec<Component<'_>> = exe.components().collect();
    let n = parts.len();
    if n < 4 {
        return None;
    }
    let name = |c: &Component<'_>| c.as_os_str().to_string_lossy().into_owned();
    let app = name(&parts[n - 4]);
    let inside = app.len() > 4
        && app.to_ascii_lowercase().ends_with(".app")
        && name(&parts[n - 3]) == "Contents"
        && name(&parts[n - 2]) == "MacOS";
    inside.then(|| parts[..n - 3].iter().collect())
}

/// The `CFBundleIdentifier` of the bundle `exe` runs from, read from its `Info.plist`; `None` outside a
/// bundle or if unreadable. Use it for notify-rust's `set_application` and for [`LoginItem`]'s label.
pub fn bundle_identifier(exe: &Path) -> Option<String> {
    let info = bundle_root(exe)?.join("Contents").join("Info.plist");
    let value = plist::Value::from_file(info).ok()?;
    value
        .as_dictionary()?
        .get("CFBundleIdentifier")?
        .as_string()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct FakeRunner {
        calls: Arc<Mutex<Vec<String>>>,
    }

    impl CommandRunner for FakeRunner {
        fn run(&self, program: &str, args: &[&str]) -> Result<String, LoginItemError> {
            self.calls.lock().unwrap().push(format!("{program} {}", args.join(" ")));
            Ok(if program == "id" { "501\n".into() } else { String::new() })
        }
    }

    fn fake_exe(dir: &Path, name: &str) -> PathBuf {
        let exe = dir.join(name);
        fs::write(&exe, b"#!/bin/sh\n").unwrap();
        exe
    }

    #[test]
    fn launch_agent_plist_has_the_keys_launchd_needs() {
        let bytes = launch_agent_plist(
            "ch.secours.Secours",
            Path::new("/Applications/Secours.app/Contents/MacOS/secours"),
        )
        .unwrap();
        let value = plist::Value::from_reader(io::Cursor::new(&bytes)).unwrap();
        let dict = value.as_dictionary().unwrap();
        assert_eq!(dict.get("Label").unwrap().as_string(), Some("ch.secours.Secours"));
        let args: Vec<_> = dict
            .get("ProgramArguments")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect();
        assert_eq!(args, ["/Applications/Secours.app/Contents/MacOS/secours", "app"]);
        assert_eq!(dict.get("RunAtLoad").unwrap().as_boolean(), Some(true));
        assert_eq!(dict.get("ProcessType").unwrap().as_string(), Some("Interactive"));
        assert_eq!(
            parse_launch_agent(&bytes),
            Some(PathBuf::from("/Applications/Secours.app/Contents/MacOS/secours"))
        );
    }

    #[test]
    fn launch_agent_enable_writes_plist_and_clears_override_without_starting() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let runner = FakeRunner::default();
        let item = LoginItem::with_flavor(Flavor::LaunchAgent, home.path(), home.path(), "ch.secours.Test")
            .with_runner(Box::new(runner.clone()));
        assert_eq!(item.status().unwrap(), Status::Off);
        let status = item.enable(&exe).unwrap();
        assert!(status.is_on(), "{status}");
        assert_eq!(
            item.file(),
            home.path().join("Library/LaunchAgents/ch.secours.Test.plist")
        );
        // Guards against `launchctl bootstrap`/`bootout`, which would start a second app or kill this one.
        assert_eq!(
            *runner.calls.lock().unwrap(),
            ["id -u", "launchctl enable gui/501/ch.secours.Test"]
        );
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert!(!item.file().exists());
    }

    #[test]
    fn xdg_enable_disable_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let config = home.path().join("cfg");
        let item = LoginItem::with_flavor(Flavor::XdgAutostart, home.path(), &config, DEFAULT_BUNDLE_ID);
        assert_eq!(item.file(), config.join("autostart/secours.desktop"));
        let on = Status::On {
            file: item.file().to_path_buf(),
            exe: exe.clone(),
        };
        assert_eq!(item.enable(&exe).unwrap(), on);
        let first = fs::read(item.file()).unwrap();
        assert_eq!(item.enable(&exe).unwrap(), on);
        assert_eq!(fs::read(item.file()).unwrap(), first);
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(item.disable().unwrap(), Status::Off);
    }

    #[test]
    fn entry_pointing_at_a_deleted_executable_is_stale() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let item = LoginItem::with_flavor(Flavor::XdgAutostart, home.path(), home.path(), DEFAULT_BUNDLE_ID);
        item.enable(&exe).unwrap();
        fs::remove_file(&exe).unwrap();
        let status = item.status().unwrap();
        assert_eq!(
            status,
            Status::Stale {
                file: item.file().to_path_buf(),
                exe: Some(exe)
            }
        );
        assert!(status.to_string().starts_with("on (stale:"), "{status}");
    }

    #[test]
    fn unreadable_entry_is_stale_not_on() {
        let home = tempfile::tempdir().unwrap();
        let item = LoginItem::with_flavor(Flavor::LaunchAgent, home.path(), home.path(), "x.y")
            .with_runner(Box::new(FakeRunner::default()));
        fs::create_dir_all(item.file().parent().unwrap()).unwrap();
        fs::write(item.file(), b"not a plist").unwrap();
        assert_eq!(
            item.status().unwrap(),
            Status::Stale {
                file: item.file().to_path_buf(),
                exe: None
            }
        );
    }

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

    #[test]
    fn bundle_detection_needs_the_full_app_layout() {
        let exe = Path::new("/Applications/Secours.app/Contents/MacOS/secours");
        assert!(running_inside_bundle(exe));
        assert_eq!(bundle_root(exe), Some(PathBuf::from("/Applications/Secours.app")));
        assert!(!running_inside_bundle(Path::new("/usr/local/bin/secours")));
        assert!(!running_inside_bundle(Path::new("/x/Secours/Contents/MacOS/secours")));
        assert!(!running_inside_bundle(Path::new("/x/Secours.app/Contents/secours")));
    }

    #[test]
    fn bundle_identifier_is_read_from_info_plist() {
        let dir = tempfile::tempdir().unwrap();
        let contents = dir.path().join("Secours.app/Contents");
        fs::create_dir_all(contents.join("MacOS")).unwrap();
        let mut dict = plist::Dictionary::new();
        dict.insert("CFBundleIdentifier".into(), "org.example.Secours".into());
        plist::Value::Dictionary(dict)
            .to_file_xml(contents.join("Info.plist"))
            .unwrap();
        let exe = contents.join("MacOS/secours");
        assert_eq!(bundle_identifier(&exe).as_deref(), Some("org.example.Secours"));
        assert_eq!(bundle_identifier(Path::new("/usr/bin/secours")), None);
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
