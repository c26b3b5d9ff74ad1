//! The web server's files: "Restorer les privilèges" of the seed procedure (`chown -R daemon:daemon`),
//! and every other operation of a restore on folders that belong to the web server's user — setting the
//! live media aside, putting the staged ones in place, removing them — through ONE privileged path.
//!
//! Guarantees:
//! - Only paths strictly inside the environment's folder are ever touched, judged through real folders
//!   (`..` refused, the parent resolved); they are Secours's own folders, never names read from an archive.
//!   Links are never followed: in-process changes use `lchown`, and the administrator commands are
//!   `chown -R -P` (GNU, which then changes links themselves) and `chown -R -h` (macOS, where `-P` is the
//!   default and `-h` changes links themselves); `mv -n` never replaces anything.
//! - [`run_admin_ops`] does each operation itself first; from the first one only an administrator may do,
//!   the rest go in ONE request through the platform ([`crate::platform::admin`]): `sudo -n` when a sudoers
//!   rule allows the commands (it never asks), else the system's password dialog once for one shell script
//!   of fixed, quoted commands. When none works, the error gives the exact commands to run as an
//!   administrator, and [`admin_available`] tells the restore's preflight before anything changes, with the
//!   sudoers line to grant ([`sudoers_rule`]).
//! - After an administrator request, every operation's effect is checked: success means the folders are
//!   where they should be and belong to the owner.
//! - External commands go through the platform's [`CommandRunner`], so tests replace them; the commands are
//!   built by pure functions ([`AdminOp::argv`], [`sudoers_rule`], [`applescript_batch`]) tested for both
//!   systems on Linux. How to ask for root (sudo, the dialogs, the quoting) is the platform's; what to run,
//!   where, and whether it worked is this module's.
//! - Accounts are looked up without `unsafe`: `/etc/passwd` and `/etc/group`, then `getent` (Linux) or
//!   `id` and `dscl` (macOS, whose accounts live in Directory Services).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::platform::Os;
use crate::platform::admin::{self, ADMIN_TIMEOUT, Refusal, manual_script, sudoers_escape, sudoers_line};
use crate::platform::macos::osascript;
use crate::platform::runner::{CommandRunner, Output, SystemRunner};

// The platform's words that the privileged steps' callers speak too (how rights were had, what the process
// may do, who it runs as): re-exported so the restore reads them from one place.
pub use crate::platform::admin::{Privileges, Via, effective_uid};

const LINUX_CHOWN: &str = "/bin/chown";
const MACOS_CHOWN: &str = "/usr/sbin/chown";

/// The runner to pass to [`run_admin_ops`]: the system's, with time for someone to type a password.
pub fn admin_runner() -> SystemRunner {
    SystemRunner::with_timeout(ADMIN_TIMEOUT)
}

/// A resolved `user:group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub user: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    /// `user:group` as `chown` takes it (names as configured, or numbers).
    pub fn spec(&self) -> String {
        format!("{}:{}", self.user, self.group)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error(
        "'{spec}' is not a valid owner: [restore] owner must be 'user:group' with plain names or numbers, like \
         'daemon:daemon'. Fix it in the configuration."
    )]
    BadSpec { spec: String },
    #[error(
        "the user '{user}' (from [restore] owner = '{spec}') does not exist on this computer. Create it ({}), or \
         set [restore] owner to the user the web server runs as (Apache's 'User' setting).",
        create_user_hint(.os, .user)
    )]
    NoUser { user: String, spec: String, os: Os },
    #[error(
        "the group '{group}' (from [restore] owner = '{spec}') does not exist on this computer. Create it ({}), or \
         set [restore] owner to the group the web server runs as (Apache's 'Group' setting).",
        create_group_hint(.os, .group)
    )]
    NoGroup { group: String, spec: String, os: Os },
    #[error(
        "refusing to change the owner of '{path}': it is not a folder strictly inside '{inside}'. Nothing was \
         changed; this is a bug in the restore, please report it."
    )]
    NotInside { path: PathBuf, inside: PathBuf },
    #[error(
        "'{path}' is not a real folder (it is missing, a file or a symbolic link), so its owner was not changed. \
         Run the restore again."
    )]
    NotAFolder { path: PathBuf },
    #[error("cannot change the owner of '{path}': {source}. Check the disk and the permissions, then restore again.")]
    Walk { path: PathBuf, source: io::Error },
    #[error(
        "'{path}' is not valid UTF-8 text, so no administrator command can be built for it. Rename the folder \
         that holds it, then restore again."
    )]
    NotText { path: PathBuf },
    #[error(
        "the administrator password was not given, so the restored media do not belong to '{owner}' yet. \
         Restore again and give an administrator's password, or run this in a terminal: {command}"
    )]
    Declined { owner: String, command: String },
    #[error(
        "giving '{path}' to '{owner}' needs administrator rights, and Secours could not ask for them here. In a \
         terminal, as an administrator, run: {command}"
    )]
    NeedsAdmin {
        path: PathBuf,
        owner: String,
        command: String,
    },
    #[error("the administrator command '{command}' failed: {reason}. Run it yourself in a terminal to see why.")]
    AdminFailed { command: String, reason: String },
}

fn create_user_hint(os: &Os, user: &str) -> String {
    match os {
        Os::Linux => format!("'sudo useradd --system --no-create-home {user}'"),
        Os::MacOs => format!("in System Settings › Users & Groups, or 'sudo sysadminctl -addUser {user}'"),
    }
}

fn create_group_hint(os: &Os, group: &str) -> String {
    match os {
        Os::Linux => format!("'sudo groupadd --system {group}'"),
        Os::MacOs => format!("'sudo dseditgroup -o create {group}'"),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Resolving `user:group`.

/// Resolves `spec` (`user:group`, names or numbers) on this computer.
pub fn resolve_owner(spec: &str) -> Result<Owner, OwnerError> {
    // A missing file is only an empty list: the commands are asked next.
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    resolve_owner_with(spec, Os::current(), &passwd, &group, &SystemRunner::default())
}

/// [`resolve_owner`] with the account files' contents and the runner given.
pub fn resolve_owner_with(
    spec: &str,
    os: Os,
    passwd: &str,
    group_file: &str,
    runner: &dyn CommandRunner,
) -> Result<Owner, OwnerError> {
    let bad = || OwnerError::BadSpec { spec: spec.to_string() };
    let (user, group) = spec.split_once(':').ok_or_else(bad)?;
    if !plain_name(user) || !plain_name(group) {
        return Err(bad());
    }
    let uid = match user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => lookup(os, Account::User, user, passwd, runner).ok_or_else(|| OwnerError::NoUser {
            user: user.to_string(),
            spec: spec.to_string(),
            os,
        })?,
    };
    let gid = match group.parse::<u32>() {
        Ok(n) => n,
        Err(_) => lookup(os, Account::Group, group, group_file, runner).ok_or_else(|| OwnerError::NoGroup {
            group: group.to_string(),
            spec: spec.to_string(),
            os,
        })?,
    };
    Ok(Owner {
        user: user.to_string(),
        group: group.to_string(),
        uid,
        gid,
    })
}

/// Letters, digits, `-`, `_`, `.`, not starting with `.` or `-` (so it can never read as an option or a
/// path, and needs no quoting in a shell command).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with(['.', '-'])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Account {
    User,
    Group,
}

fn lookup(os: Os, account: Account, name: &str, file: &str, runner: &dyn CommandRunner) -> Option<u32> {
    if let Some(id) = id_in_account_file(file, name) {
        return Some(id);
    }
    let ok = |out: Output| (out.status == Some(0)).then(|| String::from_utf8_lossy(&out.stdout).into_owned());
    match (os, account) {
        (Os::Linux, Account::User) => {
            let out = ok(runner.run(Path::new("/usr/bin/getent"), &["passwd", name]).ok()?)?;
            id_in_account_file(&out, name)
        }
        (Os::Linux, Account::Group) => {
            let out = ok(runner.run(Path::new("/usr/bin/getent"), &["group", name]).ok()?)?;
            id_in_account_file(&out, name)
        }
        (Os::MacOs, Account::User) => {
            let out = ok(runner.run(Path::new("/usr/bin/id"), &["-u", name]).ok()?)?;
            out.trim().parse().ok()
        }
        (Os::MacOs, Account::Group) => {
            let record = format!("/Groups/{name}");
            let out = ok(runner
                .run(Path::new("/usr/bin/dscl"), &[".", "-read", &record, "PrimaryGroupID"])
                .ok()?)?;
            dscl_value(&out, "PrimaryGroupID")?.parse().ok()
        }
    }
}

/// The id (third field) of `name` in `/etc/passwd` or `/etc/group` text (`getent` prints the same lines).
pub fn id_in_account_file(text: &str, name: &str) -> Option<u32> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.trim().parse().ok()
    })
}

/// The value of `key` in `dscl . -read` output (`PrimaryGroupID: 1`).
pub fn dscl_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim()).filter(|v| !v.is_empty())
    })
}

// ---------------------------------------------------------------------------------------------------------
// Changing the owner.

/// Visits `root` and everything below it without following links.
fn walk(
    root: &Path,
    mut visit: impl FnMut(&Path, &fs::Metadata) -> io::Result<()>,
) -> Result<(), (PathBuf, io::Error)> {
    let meta = fs::symlink_metadata(root).map_err(|e| (root.to_path_buf(), e))?;
    visit(root, &meta).map_err(|e| (root.to_path_buf(), e))?;
    // A file or a link is its own whole tree (the copy of the software gives single files away).
    let mut stack = if meta.is_dir() {
        vec![root.to_path_buf()]
    } else {
        Vec::new()
    };
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| (dir.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| (dir.clone(), e))?;
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(|e| (path.clone(), e))?;
            visit(&path, &meta).map_err(|e| (path.clone(), e))?;
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(())
}

/// `lchown`s every entry that does not belong to `owner` yet; returns how many were changed.
fn chown_tree(root: &Path, owner: &Owner) -> Result<u64, (PathBuf, io::Error)> {
    let mut changed = 0;
    walk(root, |path, meta| {
        if meta.uid() != owner.uid || meta.gid() != owner.gid {
            std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid))?;
            changed += 1;
        }
        Ok(())
    })?;
    Ok(changed)
}

/// (entries, entries not belonging to `owner`).
fn scan(root: &Path, owner: &Owner) -> Result<(u64, u64), OwnerError> {
    let (mut entries, mut left) = (0, 0);
    walk(root, |_, meta| {
        entries += 1;
        if meta.uid() != owner.uid || meta.gid() != owner.gid {
            left += 1;
        }
        Ok(())
    })
    .map_err(|(path, source)| OwnerError::Walk { path, source })?;
    Ok((entries, left))
}

// ---------------------------------------------------------------------------------------------------------
// The privileged path: the restore's operations on the web server's files, asked for once.

const LINUX_MV: &str = "/bin/mv";
const LINUX_RM: &str = "/bin/rm";
const MACOS_MV: &str = "/bin/mv";
const MACOS_RM: &str = "/bin/rm";

/// One operation on folders that may belong to the web server's user. Fixed forms: the paths are
/// Secours's own folders (the live media folders, the staging folder, the kept previous state), never
/// names read from an archive, and every one must lie strictly inside the environment's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum AdminOp {
    /// `chown -R` of a folder to the owner, links themselves, never what they point to.
    Chown { path: PathBuf },
    /// Rename `from` to `to`, which must not exist (same disk: never a copy).
    Move { from: PathBuf, to: PathBuf },
    /// Remove `path` and everything below it; done already when it is gone.
    Remove { path: PathBuf },
}

impl AdminOp {
    fn paths(&self) -> Vec<&Path> {
        match self {
            AdminOp::Chown { path } | AdminOp::Remove { path } => vec![path],
            AdminOp::Move { from, to } => vec![from, to],
        }
    }

    /// The command that does it as root (without `sudo`), for `os`.
    pub fn argv(&self, os: Os, spec: &str) -> Result<Vec<String>, OwnerError> {
        let text = |p: &Path| {
            p.to_str()
                .map(str::to_owned)
                .ok_or_else(|| OwnerError::NotText { path: p.to_path_buf() })
        };
        let parts: Vec<String> = match (self, os) {
            (AdminOp::Chown { path }, Os::Linux) => {
                vec![LINUX_CHOWN.into(), "-R".into(), "-P".into(), spec.into(), text(path)?]
            }
            (AdminOp::Chown { path }, Os::MacOs) => {
                vec![MACOS_CHOWN.into(), "-R".into(), "-h".into(), spec.into(), text(path)?]
            }
            // -T: never into `to` when a folder of that name appeared meanwhile; -n: never over it.
            (AdminOp::Move { from, to }, Os::Linux) => vec![
                LINUX_MV.into(),
                "-n".into(),
                "-T".into(),
                "--".into(),
                text(from)?,
                text(to)?,
            ],
            (AdminOp::Move { from, to }, Os::MacOs) => {
                vec![MACOS_MV.into(), "-n".into(), "--".into(), text(from)?, text(to)?]
            }
            (AdminOp::Remove { path }, Os::Linux) => vec![LINUX_RM.into(), "-rf".into(), "--".into(), text(path)?],
            (AdminOp::Remove { path }, Os::MacOs) => vec![MACOS_RM.into(), "-rf".into(), "--".into(), text(path)?],
        };
        Ok(parts)
    }

    /// Does it as this process; `Err` with kind `PermissionDenied` when only an administrator can.
    fn in_process(&self, owner: &Owner) -> io::Result<()> {
        match self {
            AdminOp::Chown { path } => chown_tree(path, owner).map(|_| ()).map_err(|(_, e)| e),
            AdminOp::Move { from, to } => {
                if fs::symlink_metadata(to).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("'{}' already exists", to.display()),
                    ));
                }
                fs::rename(from, to)
            }
            AdminOp::Remove { path } => match fs::symlink_metadata(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
                Ok(m) if m.is_dir() => fs::remove_dir_all(path),
                Ok(_) => fs::remove_file(path),
            },
        }
    }

    /// Whether the operation's effect is there, once an administrator command said it succeeded and `later`
    /// operations ran after it (a folder given away and then moved is checked where it went; a folder
    /// removed and then replaced is not looked for).
    fn effect(&self, owner: &Owner, later: &[AdminOp]) -> Result<(), String> {
        let exists = |p: &Path| fs::symlink_metadata(p).is_ok();
        // Where what was at `path` ended up.
        let follow = |path: &Path| {
            let mut at = path.to_path_buf();
            for op in later {
                if let AdminOp::Move { from, to } = op
                    && *from == at
                {
                    at = to.clone();
                }
            }
            at
        };
        let refilled = |path: &Path| {
            later
                .iter()
                .any(|op| matches!(op, AdminOp::Move { to, .. } if to == path))
        };
        match self {
            AdminOp::Move { from, to } if (exists(from) && !refilled(from)) || !exists(&follow(to)) => {
                Err(format!("'{}' was not moved to '{}'", from.display(), to.display()))
            }
            AdminOp::Remove { path } if exists(path) && !refilled(path) => {
                Err(format!("'{}' is still there", path.display()))
            }
            AdminOp::Chown { path } => match scan(&follow(path), owner) {
                Ok((entries, left)) if left > 0 => Err(format!(
                    "{left} of {entries} entries of '{}' still belong to someone else",
                    path.display()
                )),
                // A folder only its new owner may read: the command's own success stands.
                Err(OwnerError::Walk { source, .. }) if source.kind() == io::ErrorKind::PermissionDenied => Ok(()),
                Err(e) => Err(e.to_string()),
                Ok(_) => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// Whether a restore with this owner, onto live media folders `live`, needs administrator rights: Secours
/// is not root, and either the owner is another user or a live folder belongs to one.
pub fn needs_admin(privileges: &Privileges, owner: &Owner, live: &[PathBuf]) -> bool {
    if privileges.euid == 0 {
        return false;
    }
    owner.uid != privileges.euid
        || live
            .iter()
            .filter_map(|p| fs::symlink_metadata(p).ok())
            .any(|m| m.uid() != privileges.euid)
}

/// Checks that `path` lies strictly inside `inside`, through real folders: `..` and `.` are refused, and the
/// path's parent, resolved, must be `inside` or below it. Returns the path rebuilt on the resolved parent.
fn strictly_inside(path: &Path, inside: &Path) -> Result<PathBuf, OwnerError> {
    let not_inside = || OwnerError::NotInside {
        path: path.to_path_buf(),
        inside: inside.to_path_buf(),
    };
    if !path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(not_inside());
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(not_inside());
    };
    let canonical = |p: &Path| {
        fs::canonicalize(p).map_err(|source| OwnerError::Walk {
            path: p.to_path_buf(),
            source,
        })
    };
    let parent = canonical(parent)?;
    if !parent.starts_with(canonical(inside)?) {
        return Err(not_inside());
    }
    Ok(parent.join(name))
}

/// Runs `ops` in order, inside `inside` (the environment's folder). Each is first tried by Secours itself;
/// from the first one that only an administrator may do, the rest go through the privileged path in ONE
/// request: `sudo -n` when a sudoers rule allows the commands (never a prompt), else the system's dialog
/// (`pkexec` with a desktop on Linux, the administrator dialog on macOS) for one shell script made of the
/// fixed, quoted commands. Returns how the rights were had, if they were needed.
pub fn run_admin_ops(
    ops: &[AdminOp],
    owner: &Owner,
    inside: &Path,
    runner: &dyn CommandRunner,
    privileges: &Privileges,
) -> Result<Option<Via>, OwnerError> {
    let mut checked = Vec::with_capacity(ops.len());
    for op in ops {
        let fix = |p: &Path| strictly_inside(p, inside);
        checked.push(match op {
            AdminOp::Chown { path } => AdminOp::Chown { path: fix(path)? },
            AdminOp::Move { from, to } => AdminOp::Move {
                from: fix(from)?,
                to: fix(to)?,
            },
            AdminOp::Remove { path } => AdminOp::Remove { path: fix(path)? },
        });
    }
    for (i, op) in checked.iter().enumerate() {
        match op.in_process(owner) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && privileges.euid != 0 => {
                return admin_request(&checked[i..], owner, runner, privileges).map(Some);
            }
            Err(source) => {
                return Err(OwnerError::Walk {
                    path: op.paths().first().map(|p| p.to_path_buf()).unwrap_or_default(),
                    source,
                });
            }
        }
    }
    Ok(None)
}

/// The operations, as root, in one request (see [`run_admin_ops`], which calls it from the first operation
/// Secours may not do itself).
pub fn admin_request(
    ops: &[AdminOp],
    owner: &Owner,
    runner: &dyn CommandRunner,
    privileges: &Privileges,
) -> Result<Via, OwnerError> {
    let spec = owner.spec();
    let argvs = ops
        .iter()
        .map(|op| op.argv(privileges.os, &spec))
        .collect::<Result<Vec<_>, _>>()?;
    let manual = manual_script(&argvs);
    let via = match admin::run_as_root(&argvs, &admin_prompt(&spec), privileges, runner) {
        Ok(via) => via,
        Err(Refusal::Failed { command, reason }) => return Err(OwnerError::AdminFailed { command, reason }),
        Err(Refusal::Declined) => {
            return Err(OwnerError::Declined {
                owner: spec,
                command: manual,
            });
        }
        Err(Refusal::Unavailable) => {
            return Err(OwnerError::NeedsAdmin {
                path: ops
                    .first()
                    .and_then(|op| op.paths().first().map(|p| p.to_path_buf()))
                    .unwrap_or_default(),
                owner: spec,
                command: manual,
            });
        }
    };
    for (i, op) in ops.iter().enumerate() {
        op.effect(owner, &ops[i + 1..])
            .map_err(|reason| OwnerError::AdminFailed {
                command: manual.clone(),
                reason: format!("it finished, but {reason}"),
            })?;
    }
    Ok(via)
}

/// What macOS's administrator dialog says when the restore asks for rights.
fn admin_prompt(spec: &str) -> String {
    format!("Secours needs an administrator to put the restored documents in place and give them to {spec}.")
}

/// The AppleScript that runs `script` with macOS's administrator dialog, once, with the restore's prompt.
pub fn applescript_batch(script: &str, spec: &str) -> String {
    osascript::administrator_script(script, &admin_prompt(spec))
}

/// How a restore will get administrator rights, learnt before anything changes (the restore's
/// preflight): `Ok(None)` when it needs none (Secours runs as root); `Err` with what to grant when it can
/// get none here. `sudo -n -l` asks sudo whether the rule allows each command form without running it or
/// asking anything.
pub fn admin_available(
    privileges: &Privileges,
    runner: &dyn CommandRunner,
    spec: &str,
    inside: &Path,
) -> Result<Option<Via>, String> {
    if privileges.euid == 0 {
        return Ok(None);
    }
    let probe = inside.join(".secours-staging-probe");
    let probes = [
        AdminOp::Chown {
            path: probe.join("documents"),
        },
        AdminOp::Move {
            from: probe.join("documents"),
            to: inside.join("web").join("documents"),
        },
        AdminOp::Remove { path: probe.clone() },
    ];
    let sudo_ok = probes.iter().all(|op| {
        op.argv(privileges.os, spec)
            .is_ok_and(|argv| admin::sudo_allows(&argv, runner))
    });
    if sudo_ok {
        return Ok(Some(Via::Sudo));
    }
    match admin::dialog(privileges) {
        Some(via) => Ok(Some(via)),
        None => Err(format!(
            "the restore must move the web server's folders and give them to '{spec}', which needs administrator \
             rights, and none can be had here: 'sudo -n' does not allow it and there is no desktop for pkexec's \
             password dialog. Ask an administrator to allow exactly these commands, with 'sudo visudo -f \
             /etc/sudoers.d/secours': {}",
            sudoers_rule(&user_name(privileges.euid), spec, inside, Os::Linux)
        )),
    }
}

/// The sudoers line allowing `user` the privileged path's commands inside `inside`, and nothing else.
pub fn sudoers_rule(user: &str, spec: &str, inside: &Path, os: Os) -> String {
    let at = sudoers_escape(&format!("{}/", inside.display()));
    let spec = sudoers_escape(spec);
    let (chown, mv, rm) = match os {
        Os::Linux => (format!("{LINUX_CHOWN} -R -P"), format!("{LINUX_MV} -n -T --"), LINUX_RM),
        Os::MacOs => (format!("{MACOS_CHOWN} -R -h"), format!("{MACOS_MV} -n --"), MACOS_RM),
    };
    sudoers_line(
        user,
        &[
            format!("{chown} {spec} {at}*"),
            format!("{mv} {at}* {at}*"),
            format!("{rm} -rf -- {at}*"),
        ],
    )
}

/// The name of the user `uid` (for the sudoers line), or its number.
fn user_name(uid: u32) -> String {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.trim().parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
        .or_else(|| std::env::var("USER").ok().filter(|u| plain_name(u)))
        .unwrap_or_else(|| format!("#{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::admin::sh_script;
    use crate::platform::fake::FakeRunner;
    use crate::platform::macos::osascript::applescript_unescape;

    // Guards the macOS request: the script reaches `do shell script` exactly, on one line, with a prompt.
    #[test]
    fn the_applescript_runs_the_script_once_with_a_prompt() {
        let script = sh_script(&[vec![
            "/bin/mv".into(),
            "-n".into(),
            "--".into(),
            "/tmp/it's \"x\"".into(),
            "/b".into(),
        ]]);
        assert_eq!(script, r#"/bin/mv -n -- '/tmp/it'\''s "x"' /b"#);
        let apple = applescript_batch(&script, "daemon:daemon");
        let rest = apple.strip_prefix("do shell script ").unwrap();
        let (literal, tail) = rest.split_at(rest.find("\" with prompt ").unwrap() + 1);
        assert_eq!(applescript_unescape(literal), script);
        assert_eq!(
            tail,
            " with prompt \"Secours needs an administrator to put the restored documents in place and give them to \
             daemon:daemon.\" with administrator privileges"
        );
        assert!(!apple.contains('\n'));
    }

    // Guards the exact commands of the privileged path on both systems (what a sudoers rule must allow).
    #[test]
    fn each_operation_has_one_fixed_command_per_system() {
        let chown = AdminOp::Chown {
            path: "/srv/app/.stage x/documents".into(),
        };
        let mv = AdminOp::Move {
            from: "/srv/app/web/documents".into(),
            to: "/srv/app/.prev/documents".into(),
        };
        let rm = AdminOp::Remove {
            path: "/srv/app/.prev".into(),
        };
        let line = |op: &AdminOp, os| op.argv(os, "daemon:daemon").unwrap().join(" ");
        assert_eq!(
            line(&chown, Os::Linux),
            "/bin/chown -R -P daemon:daemon /srv/app/.stage x/documents"
        );
        assert_eq!(
            line(&chown, Os::MacOs),
            "/usr/sbin/chown -R -h daemon:daemon /srv/app/.stage x/documents"
        );
        assert_eq!(
            line(&mv, Os::Linux),
            "/bin/mv -n -T -- /srv/app/web/documents /srv/app/.prev/documents"
        );
        assert_eq!(
            line(&mv, Os::MacOs),
            "/bin/mv -n -- /srv/app/web/documents /srv/app/.prev/documents"
        );
        assert_eq!(line(&rm, Os::Linux), "/bin/rm -rf -- /srv/app/.prev");
        assert_eq!(line(&rm, Os::MacOs), "/bin/rm -rf -- /srv/app/.prev");
    }

    // Guards the sudoers line Secours tells an administrator to grant: it parses (visudo, when there) and
    // allows exactly the three command forms inside the environment's folder.
    #[test]
    fn the_sudoers_rule_allows_the_three_commands_inside_the_folder() {
        let rule = sudoers_rule(
            "pierre",
            "daemon:daemon",
            Path::new("/Applications/mampstack 8/apps/secours"),
            Os::MacOs,
        );
        assert_eq!(
            rule,
            r"pierre ALL=(root) NOPASSWD: /usr/sbin/chown -R -h daemon\:daemon /Applications/mampstack\ 8/apps/secours/*, /bin/mv -n -- /Applications/mampstack\ 8/apps/secours/* /Applications/mampstack\ 8/apps/secours/*, /bin/rm -rf -- /Applications/mampstack\ 8/apps/secours/*"
        );
        let visudo = Path::new("/usr/sbin/visudo");
        if visudo.exists() {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("rule");
            std::fs::write(&file, format!("{rule}\n")).unwrap();
            let out = std::process::Command::new(visudo)
                .arg("-cf")
                .arg(&file)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }

    #[test]
    fn account_files_are_read() {
        let passwd = "# comment\nroot:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                      _www:*:70:70:World Wide Web Server:/Library/WebServer:/usr/bin/false\n";
        assert_eq!(id_in_account_file(passwd, "daemon"), Some(1));
        assert_eq!(id_in_account_file(passwd, "_www"), Some(70));
        assert_eq!(id_in_account_file(passwd, "daem"), None);
        assert_eq!(id_in_account_file("staff:*:20:root\n", "staff"), Some(20));
        let dscl = "PrimaryGroupID: 20\n";
        assert_eq!(dscl_value(dscl, "PrimaryGroupID"), Some("20"));
        assert_eq!(dscl_value("No such key: PrimaryGroupID\n", "PrimaryGroupID"), None);
    }

    #[test]
    fn macos_accounts_come_from_directory_services() {
        let fake = FakeRunner::default()
            .answer("/usr/bin/id -u pierre", Output::new(0, "501\n", ""))
            .answer(
                "/usr/bin/dscl . -read /Groups/staff PrimaryGroupID",
                Output::new(0, "PrimaryGroupID: 20\n", ""),
            );
        let owner = resolve_owner_with("pierre:staff", Os::MacOs, "", "", &fake).unwrap();
        assert_eq!((owner.uid, owner.gid), (501, 20));
        // The files answer first when they can.
        let fake = FakeRunner::default();
        let owner = resolve_owner_with(
            "daemon:daemon",
            Os::MacOs,
            "daemon:*:1:1::/:/x\n",
            "daemon:*:1:root\n",
            &fake,
        )
        .unwrap();
        assert_eq!((owner.uid, owner.gid), (1, 1));
        assert!(fake.calls().is_empty());
    }

    #[test]
    fn linux_accounts_fall_back_to_getent_and_numbers_need_no_lookup() {
        let fake = FakeRunner::default()
            .answer(
                "/usr/bin/getent passwd ldapweb",
                Output::new(0, "ldapweb:*:5001:5001::/:/x\n", ""),
            )
            .answer("/usr/bin/getent group ldapweb", Output::new(0, "ldapweb:*:5002:\n", ""));
        let owner = resolve_owner_with("ldapweb:ldapweb", Os::Linux, "", "", &fake).unwrap();
        assert_eq!((owner.uid, owner.gid), (5001, 5002));
        let owner = resolve_owner_with("33:33", Os::Linux, "", "", &FakeRunner::default()).unwrap();
        assert_eq!((owner.uid, owner.gid, owner.spec()), (33, 33, "33:33".to_string()));
    }

    #[test]
    fn missing_accounts_and_bad_specs_say_what_to_do() {
        let e = resolve_owner_with("www:daemon", Os::Linux, "", "daemon:x:1:\n", &FakeRunner::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("the user 'www'"), "{msg}");
        assert!(msg.contains("sudo useradd --system --no-create-home www"), "{msg}");
        assert!(msg.contains("[restore] owner"), "{msg}");
        let e = resolve_owner_with("1:www", Os::MacOs, "", "", &FakeRunner::default()).unwrap_err();
        assert!(e.to_string().contains("sudo dseditgroup -o create www"), "{e}");
        for bad in ["daemon", "daemon:", ":daemon", "-R:daemon", "a b:c", "x:y;rm", "d:d:d"] {
            let e = resolve_owner_with(bad, Os::Linux, "", "", &FakeRunner::default()).unwrap_err();
            assert!(matches!(e, OwnerError::BadSpec { .. }), "{bad}: {e}");
        }
    }
}
