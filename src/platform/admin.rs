//! Asking for administrator rights: how, not what for. The caller (the restore's privileged steps) gives
//! fixed commands; this module runs them as root in ONE request — `sudo -n` for each command when a
//! sudoers rule allows them (it never asks anything), else the system's password dialog once for one shell
//! script of the quoted commands (macOS: `osascript … with administrator privileges`,
//! [`crate::platform::macos::osascript`]; Linux with a desktop: `pkexec /bin/sh -c`,
//! [`crate::platform::linux::pkexec`]).
//!
//! Guarantees:
//! - Every word of a command reaches the shell exactly as it is ([`shell_quote`], tested through a real
//!   shell), and the script stops at the first failure.
//! - Each tool's answer is judged by its own conventions (a dismissed dialog, a refused `sudo`, a failed
//!   command are told apart); only the first command of a way can find it closed, so a way that started is
//!   never left half-way for another.
//! - All commands go through a [`CommandRunner`]; the arguments are built by pure functions tested for both
//!   systems on either.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::platform::Os;
use crate::platform::linux::pkexec;
use crate::platform::macos::osascript;
use crate::platform::runner::{CommandRunner, Output};

/// How long an administrator command may take, the password dialog included.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// `sudo`, the way that never asks (`-n`).
pub const SUDO: &str = "/usr/bin/sudo";

/// How administrator rights were had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// By Secours itself (it runs as root, or as the owner).
    InProcess,
    Osascript,
    Pkexec,
    Sudo,
}

/// What the process may do, learnt once; a parameter so tests can pretend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privileges {
    /// The effective user id (0: root).
    pub euid: u32,
    pub os: Os,
    /// `pkexec` is installed (Linux).
    pub pkexec: bool,
    /// A graphical session is there to show `pkexec`'s dialog (`DISPLAY` or `WAYLAND_DISPLAY`).
    pub display: bool,
}

impl Privileges {
    pub fn current() -> io::Result<Privileges> {
        Ok(Privileges {
            euid: effective_uid()?,
            os: Os::current(),
            pkexec: pkexec::installed(),
            display: pkexec::desktop(),
        })
    }
}

/// The effective user id, learnt without `unsafe`: the owner of a file this process has just created.
pub fn effective_uid() -> io::Result<u32> {
    let dir = std::env::temp_dir();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100 {
        let probe = dir.join(format!(".secours-uid-{}-{nanos}-{attempt}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&probe)
        {
            Ok(file) => {
                let uid = file.metadata().map(|m| m.uid());
                let _ = fs::remove_file(&probe);
                return uid;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("cannot create a probe file in '{}'", dir.display()),
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Shell words (pure).

/// `s` for a POSIX shell: as is when it holds only safe characters, otherwise in single quotes.
pub fn shell_quote(s: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"/._-+:,=@%".contains(&b);
    if !s.is_empty() && s.bytes().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One command line for a POSIX shell, each word quoted.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// The commands as one POSIX shell script: each word quoted, stopping at the first failure.
pub fn sh_script(argvs: &[Vec<String>]) -> String {
    argvs.iter().map(|a| shell_words(a)).collect::<Vec<_>>().join(" && ")
}

/// What a person types in a terminal to do the same: each command with `sudo`.
pub fn manual_script(argvs: &[Vec<String>]) -> String {
    argvs
        .iter()
        .map(|a| format!("sudo {}", shell_words(a)))
        .collect::<Vec<_>>()
        .join(" && ")
}

// ---------------------------------------------------------------------------------------------------------
// sudoers (pure).

/// The sudoers line allowing `user` to run `commands` (each a command with its fixed arguments and
/// patterns, already escaped with [`sudoers_escape`] where needed) as root without a password.
pub fn sudoers_line(user: &str, commands: &[String]) -> String {
    format!("{user} ALL=(root) NOPASSWD: {}", commands.join(", "))
}

/// sudoers wants `,` `:` `=` `\` and spaces escaped in command arguments.
pub fn sudoers_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | ':' | '=' | '\\' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// Asking.

#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Done,
    /// This way of getting rights is not available here; try the next.
    Unavailable(String),
    Declined,
    Failed(String),
}

fn judge(via: Via, result: io::Result<Output>) -> Attempt {
    let out = match result {
        Ok(out) => out,
        Err(e) => return Attempt::Unavailable(e.to_string()),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let reason = || match (stderr.is_empty(), out.status) {
        (false, _) => stderr.clone(),
        (true, Some(code)) => format!("exit status {code}"),
        (true, None) => "stopped by a signal".to_string(),
    };
    match (via, out.status) {
        (_, Some(0)) => Attempt::Done,
        // "execution error: User canceled. (-128)"
        (Via::Osascript, _) if stderr.contains("(-128)") => Attempt::Declined,
        // pkexec: 126 = the dialog was dismissed, 127 = not authorised or no authentication agent.
        (Via::Pkexec, Some(126)) => Attempt::Declined,
        (Via::Pkexec, Some(127)) => Attempt::Unavailable(reason()),
        // "sudo: a password is required", "sudo: a terminal is required…": sudo itself refused.
        // "Sorry, user … is not allowed to execute …": no rule for this command.
        (Via::Sudo, _) if stderr.starts_with("sudo:") || stderr.starts_with("Sorry, user") => {
            Attempt::Unavailable(reason())
        }
        _ => Attempt::Failed(reason()),
    }
}

/// Why the commands were not run as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No way of getting rights works here (no sudoers rule, no dialog to show).
    Unavailable,
    /// The person dismissed the password dialog.
    Declined,
    /// A command ran as root and failed: the command line, and what it said.
    Failed { command: String, reason: String },
}

/// The password dialog this system can show, if any: macOS's administrator dialog; `pkexec`'s on Linux
/// when it is installed and a desktop is there to show it.
pub fn dialog(privileges: &Privileges) -> Option<Via> {
    match privileges.os {
        Os::MacOs => Some(Via::Osascript),
        Os::Linux if privileges.pkexec && privileges.display => Some(Via::Pkexec),
        Os::Linux => None,
    }
}

/// Runs `argvs` (commands without `sudo`) as root in ONE request: `sudo -n` for each when a sudoers rule
/// allows them, else one password dialog ([`dialog`]) showing `prompt` (macOS only; polkit writes its own)
/// for one shell script of them all. Returns how; the caller checks their effect.
pub fn run_as_root(
    argvs: &[Vec<String>],
    prompt: &str,
    privileges: &Privileges,
    runner: &dyn CommandRunner,
) -> Result<Via, Refusal> {
    let mut ways: Vec<(Via, Vec<Vec<String>>)> = vec![(
        Via::Sudo,
        argvs
            .iter()
            .map(|a| {
                [SUDO.to_string(), "-n".to_string()]
                    .into_iter()
                    .chain(a.iter().cloned())
                    .collect()
            })
            .collect(),
    )];
    let script = sh_script(argvs);
    match dialog(privileges) {
        Some(Via::Pkexec) => ways.push((Via::Pkexec, vec![pkexec::administrator_argv(&script)])),
        Some(Via::Osascript) => ways.push((Via::Osascript, vec![osascript::administrator_argv(&script, prompt)])),
        Some(Via::Sudo | Via::InProcess) | None => {}
    }
    'ways: for (via, commands) in ways {
        for (n, argv) in commands.iter().enumerate() {
            let Some((program, args)) = argv.split_first() else {
                continue;
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match judge(via, runner.run(Path::new(program), &args)) {
                Attempt::Done => {}
                // Only the first command can find the way closed; later ones have been allowed already.
                Attempt::Unavailable(why) if n == 0 => {
                    log::info!("'{program}' could not give administrator rights: {why}");
                    continue 'ways;
                }
                Attempt::Unavailable(reason) | Attempt::Failed(reason) => {
                    return Err(Refusal::Failed {
                        command: shell_words(argv),
                        reason,
                    });
                }
                Attempt::Declined => return Err(Refusal::Declined),
            }
        }
        return Ok(via);
    }
    Err(Refusal::Unavailable)
}

/// Whether a sudoers rule lets this user run `argv` as root without a password: `sudo -n -l <argv>` asks
/// sudo without running the command or asking anything.
pub fn sudo_allows(argv: &[String], runner: &dyn CommandRunner) -> bool {
    let args: Vec<&str> = ["-n", "-l"]
        .into_iter()
        .chain(argv.iter().map(String::as_str))
        .collect();
    runner.run(Path::new(SUDO), &args).is_ok_and(|o| o.success())
}

/// Paths that test quoting and escaping: spaces, quotes, non-ASCII, shell syntax, backslashes, controls.
#[cfg(test)]
pub(crate) const NASTY_PATHS: &[&str] = &[
    "/Application/mamstack/apps/secours/web/.secours-staging",
    "/Users/Pierre Dupont/Sites/web/stage",
    "/tmp/it's \"quoted\"/x",
    "/tmp/éàç ü/ñ",
    "/tmp/$HOME/`id`/$(reboot)",
    "/tmp/back\\slash\\\"/x",
    "/tmp/new\nline\ttab\r",
    "/tmp/end\\",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::fake::FakeRunner;

    // Guards the manual command: pasted into a shell, the path arrives unchanged.
    #[test]
    fn shell_quoting_survives_a_real_shell() {
        assert_eq!(shell_quote("/web/documents"), "/web/documents");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        for p in NASTY_PATHS {
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(p)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), *p);
        }
    }

    fn out(code: i32, stderr: &str) -> io::Result<Output> {
        Ok(Output::new(code, "", stderr))
    }

    #[test]
    fn results_are_judged_per_tool() {
        assert_eq!(judge(Via::Osascript, out(0, "")), Attempt::Done);
        assert_eq!(
            judge(Via::Osascript, out(1, "0:120: execution error: User canceled. (-128)")),
            Attempt::Declined
        );
        assert!(matches!(judge(Via::Osascript, out(1, "chown: bad")), Attempt::Failed(r) if r == "chown: bad"));
        assert_eq!(judge(Via::Pkexec, out(126, "")), Attempt::Declined);
        assert!(matches!(judge(Via::Pkexec, out(127, "")), Attempt::Unavailable(_)));
        assert!(matches!(
            judge(Via::Sudo, out(1, "sudo: a password is required")),
            Attempt::Unavailable(_)
        ));
        assert!(matches!(
            judge(Via::Sudo, out(1, "/bin/chown: invalid user: 'x'")),
            Attempt::Failed(_)
        ));
        let missing = Err(io::Error::new(io::ErrorKind::NotFound, "no sudo"));
        assert!(matches!(judge(Via::Sudo, missing), Attempt::Unavailable(_)));
    }

    fn privileges(os: Os, pkexec: bool, display: bool) -> Privileges {
        Privileges {
            euid: 4242,
            os,
            pkexec,
            display,
        }
    }

    // Guards the one request per system: sudo first, then the one dialog of the system, once.
    #[test]
    fn each_system_asks_its_own_dialog_once_after_sudo() {
        let argvs = vec![vec![
            "/bin/rm".to_owned(),
            "-rf".to_owned(),
            "--".to_owned(),
            "/a b".to_owned(),
        ]];
        let refused = Output::new(1, "", "sudo: a password is required\n");
        let linux = FakeRunner::default()
            .answer("/usr/bin/sudo -n /bin/rm -rf -- /a b", refused.clone())
            .answer(
                "/usr/bin/pkexec /bin/sh -c /bin/rm -rf -- '/a b'",
                Output::new(0, "", ""),
            );
        let via = run_as_root(&argvs, "prompt", &privileges(Os::Linux, true, true), &linux);
        assert_eq!(via, Ok(Via::Pkexec));
        assert_eq!(linux.calls().len(), 2);

        let apple = osascript::administrator_script("/bin/rm -rf -- '/a b'", "prompt");
        let mac = FakeRunner::default()
            .answer("/usr/bin/sudo -n /bin/rm -rf -- /a b", refused.clone())
            .answer(
                &format!("/usr/bin/osascript -e {apple}"),
                Output::new(1, "", "User canceled. (-128)"),
            );
        let via = run_as_root(&argvs, "prompt", &privileges(Os::MacOs, false, false), &mac);
        assert_eq!(via, Err(Refusal::Declined));

        let headless = FakeRunner::default().answer("/usr/bin/sudo -n /bin/rm -rf -- /a b", refused);
        let via = run_as_root(&argvs, "prompt", &privileges(Os::Linux, true, false), &headless);
        assert_eq!(via, Err(Refusal::Unavailable));
        assert_eq!(headless.calls().len(), 1);
        assert_eq!(dialog(&privileges(Os::Linux, false, true)), None);
    }

    #[test]
    fn sudo_is_asked_without_running_the_command() {
        let argv = vec!["/bin/rm".to_owned(), "-rf".to_owned(), "--".to_owned(), "/x".to_owned()];
        let fake = FakeRunner::default().answer("/usr/bin/sudo -n -l /bin/rm -rf -- /x", Output::new(0, "", ""));
        assert!(sudo_allows(&argv, &fake));
        assert!(!sudo_allows(&argv[..2], &fake));
    }
}
