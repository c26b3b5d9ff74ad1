//! Ordinary users for the tests of what Secours does on the office's Macs, where it runs as the logged-in
//! user, never root, and the web server's files belong to `daemon`.
//!
//! [`require`] makes (once, idempotently) a user with a sudoers rule allowing exactly the privileged path's
//! commands — the rule Secours itself prints when none is there (`owner::sudoers_rule`) — or without any
//! rule, copies the `secours` binary where that user may run it, and runs commands as that user with
//! `setpriv` (which keeps the environment). The tests' folders live under [`BASE`], the only place the rule
//! allows. Making users needs root: under `CI=true` a run that is not root, or without `sudo`, fails; elsewhere
//! the test is skipped with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use secours::platform::Os;
use secours::restore::owner::sudoers_rule;

/// Where the ordinary users' test folders live (and all the sudoers rule allows).
pub const BASE: &str = "/tmp/secours-user-tests";
/// A user whose sudoers rule allows the privileged path's commands.
pub const WITH_SUDO: &str = "secours-tester";
/// A user with no sudoers rule at all.
pub const WITHOUT_SUDO: &str = "secours-nosudo";

#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// A copy of the `secours` binary this user may run.
    pub bin: PathBuf,
}

static SETUP: Mutex<()> = Mutex::new(());

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn skip_or_fail(test: &str, why: &str) -> Option<TestUser> {
    assert!(!ci(), "CI=true but {test} cannot run: {why}");
    eprintln!("SKIPPED {test}: {why}");
    None
}

fn id(flag: &str, name: &str) -> Option<u32> {
    let out = Command::new("id").arg(flag).arg(name).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The user `name` (with the sudoers rule when `name` is [`WITH_SUDO`]), ready; `None`: skip.
pub fn require(test: &str, name: &str) -> Option<TestUser> {
    if id("-u", "root") != id("-u", &whoami()) {
        return skip_or_fail(test, "making an ordinary user needs root");
    }
    if !Path::new("/usr/bin/sudo").exists() || !Path::new("/usr/sbin/visudo").exists() {
        return skip_or_fail(test, "sudo is not installed (scripts/setup --test installs it)");
    }
    let _guard = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    if id("-u", name).is_none() {
        run(Command::new("useradd").args(["-m", "-s", "/bin/sh", name]));
    }
    let uid = id("-u", name).unwrap();
    let gid = id("-g", name).unwrap();

    std::fs::create_dir_all(BASE).unwrap();
    std::fs::set_permissions(BASE, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rule_file = PathBuf::from(format!("/etc/sudoers.d/{name}"));
    if name == WITH_SUDO {
        // Exactly what Secours tells an administrator to grant, for the folders of these tests.
        let rule = format!(
            "Defaults:{name} !lecture\n{}\n",
            sudoers_rule(name, "daemon:daemon", Path::new(BASE), Os::Linux)
        );
        let tmp = PathBuf::from(format!("/etc/sudoers.d/.{name}.tmp"));
        std::fs::write(&tmp, &rule).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o440)).unwrap();
        run(Command::new("/usr/sbin/visudo").arg("-cf").arg(&tmp));
        std::fs::rename(&tmp, &rule_file).unwrap();
    } else {
        let _ = std::fs::remove_file(&rule_file);
    }

    // The binary, where the user may run it (the build's target folder may be under /root).
    let bin_dir = Path::new(BASE).join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let bin = bin_dir.join(format!("secours-{}", std::process::id()));
    if !bin.exists() {
        let tmp = bin.with_extension("tmp");
        std::fs::copy(env!("CARGO_BIN_EXE_secours"), &tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &bin).unwrap();
    }
    Some(TestUser {
        name: name.to_owned(),
        uid,
        gid,
        bin,
    })
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl TestUser {
    /// `program` run as this user, with the caller's environment (HOME and USER set to the user's).
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("/usr/bin/setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--init-groups")
            .arg("--")
            .arg(program)
            .env("HOME", format!("/home/{}", self.name))
            .env("USER", &self.name)
            .env("LOGNAME", &self.name);
        c
    }

    /// A new folder under [`BASE`] belonging to this user.
    pub fn tempdir(&self) -> tempfile::TempDir {
        let dir = tempfile::Builder::new().prefix("site-").tempdir_in(BASE).unwrap();
        self.give(dir.path());
        dir
    }

    /// Gives `path` and everything below it to this user.
    pub fn give(&self, path: &Path) {
        chown(path, &format!("{}:{}", self.uid, self.gid));
    }
}

/// `chown -R -P spec path`, as the test (root).
pub fn chown(path: &Path, spec: &str) {
    run(Command::new("chown").args(["-R", "-P", spec]).arg(path));
}

/// `root` and everything below it, links not followed.
pub fn all_entries(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                out.push(e.unwrap().path());
            }
        }
        i += 1;
    }
    out
}

/// Whether every entry below `path` (and itself) belongs to `uid`.
pub fn all_owned_by(path: &Path, uid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    all_entries(path)
        .iter()
        .all(|p| std::fs::symlink_metadata(p).unwrap().uid() == uid)
}
