//! Bringing the standby's software to parity with production ("Lors de chaque modification de
//! l'environnement de production, une copie du logiciel est effectuée vers l'environnement de secours").
//!
//! [`plan`] compares the source's code — production's live folder (`--from prod`) or the `software.taz`
//! a safe copy carries (`--from copy:ID`, see [`crate::backup::software`]) — with the target's, by code
//! manifests and with the exclusions of `secours parity` (both environments'): the files *changed*,
//! *added* (only in the source) and *removed* (only in the target). [`apply`] then makes the target's code
//! the source's:
//!
//! 1. **stage**: what differs is written into `<target root>/.secours-software-<stamp>/` (same disk, mode
//!    0700, beside `web/`, never inside the served folder), each file hashed while
//!    written and checked against the source's manifest (a source that changed since the plan stops
//!    here); links are written as links, never followed, and a link of the archive that is absolute or
//!    leads out of the tree is refused;
//! 2. **swap**, in one step: each replaced or removed entry of the target is renamed into
//!    `<target root>/.secours-previous/software-<stamp>/`, then each staged entry is renamed into place
//!    (renames on one disk: instant, never a copy). When a folder it must rename in is not writable by
//!    Secours (it belongs to the web server's user), each staged entry is given to `[restore] owner` and
//!    every rename goes through the one privileged path ([`super::owner::run_admin_ops`]), all in one
//!    request (so the new files belong to the web server's user, as the media do);
//! 3. **check**: the target's manifest is read again and compared with the source's; identical is success.
//!
//! Guarantees:
//! - Media folders, `runtime/`, the backup folder, `config/db.php` and Secours's own `.secours-*` folders
//!   are never touched: they are not in the manifests, and a removed folder that holds one of them is
//!   refused before anything changes.
//! - Journaled in history (operation kind `software`, the plan's renames recorded before the swap, each
//!   step `start`/`done`): on any failure the swap is undone by itself — staged entries renamed back
//!   into staging, the set-aside ones renamed back — so the target ends wholly old or wholly new. Every
//!   undo action is decided from what is on disk, so it is idempotent; an operation left unfinished by a
//!   crash is rolled back the same way by the next `secours software` before it plans.
//! - The replaced files stay in the `.secours-previous` folder (reported as `previous`).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::media::{file_mode, folder_mode};
use super::owner::{self, AdminOp};
use crate::backup::copy;
use crate::backup::parity::{self, CodeManifest, Entry, Exclusions, ParityError, escape, unescape};
use crate::backup::software::SOFTWARE_FILE;
use crate::backup::verify::GzSource;
use crate::env::config::Config;
use crate::env::environment::{self, EnvError, Environment};
use crate::files::archive::{self, Reader};
use crate::progress::{Cancel, Progress, Update};
use crate::store::history::{History, OperationId};

/// The history operation kind.
pub const KIND: &str = "software";
/// Prefix of the staging folder, in the target's root.
pub const STAGING_PREFIX: &str = ".secours-software-";
/// Where replaced entries go: `<root>/.secours-previous/software-<stamp>/`.
pub const PREVIOUS_DIR: &str = ".secours-previous";
/// The progress step.
pub const STEP: &str = "software";
const BUF: usize = 256 * 1024;
const STAGING_MODE: u32 = 0o700;

/// Why the software was not brought to parity.
#[derive(Debug, thiserror::Error)]
pub enum SoftwareError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Parity(#[from] ParityError),
    #[error("{0}")]
    Refused(String),
    #[error(
        "the copy of the software stopped at step '{step}': {cause}. It was undone: '{target}' runs exactly the \
         software it ran before. {advice}"
    )]
    RolledBack {
        step: String,
        cause: String,
        target: String,
        advice: String,
    },
    #[error(
        "the copy of the software stopped at step '{step}': {cause}. Undoing it failed too: {rollback}. '{target}' \
         may hold a mix of old and new files; the replaced ones are in '{previous}'. Fix the cause, then run \
         'secours software' again: it finishes undoing the unfinished copy first."
    )]
    RollbackFailed {
        step: String,
        cause: String,
        rollback: String,
        target: String,
        previous: PathBuf,
    },
    #[error(
        "cannot keep the journal in '{path}': {cause}. Without a journal the copy could not be undone after a \
         crash, so nothing was changed. Check that the folder is writable."
    )]
    Journal { path: PathBuf, cause: String },
    #[error("another copy of the software or a restore is running (lock '{lock}'). Wait for it to finish.")]
    Busy { lock: PathBuf },
    #[error("the copy of the software was cancelled; '{target}' is as it was.")]
    Cancelled { target: String },
}

impl SoftwareError {
    /// 2 when the target is as it was (refused, undone, cancelled), 3 when it may be mixed or Secours cannot
    /// work (configuration, journal).
    pub fn exit_code(&self) -> u8 {
        match self {
            SoftwareError::Env(_)
            | SoftwareError::Parity(_)
            | SoftwareError::RollbackFailed { .. }
            | SoftwareError::Journal { .. } => 3,
            _ => 2,
        }
    }
}

/// Where the source's code is.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// An environment's live folder.
    Live { environment: String, root: PathBuf },
    /// The `software.taz` of a safe copy.
    Archive { copy: String, archive: PathBuf },
}

/// What [`apply`] would change; the dry run's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// As given to `--from`: an environment's name or `copy:ID`.
    pub from: String,
    pub source: Source,
    pub target: String,
    pub target_root: PathBuf,
    pub identical: bool,
    /// Paths (relative to the root, written as `secours parity` writes them) whose content, link target
    /// or kind differs.
    pub changed: Vec<String>,
    /// Only in the source: they will be created.
    pub added: Vec<String>,
    /// Only in the target: they will be set aside.
    pub removed: Vec<String>,
    /// Entries compared on each side.
    pub source_entries: usize,
    pub target_entries: usize,
    #[serde(skip)]
    work: Work,
}

/// The plan's raw paths and the source's manifest.
#[derive(Debug, Clone, Default)]
struct Work {
    manifest: Option<CodeManifest>,
    exclude: Exclusions,
    /// Source entries to write into staging (changed ∪ added), in path order.
    stage: Vec<Vec<u8>>,
    /// Top-most of them: renamed from staging into the target.
    place: Vec<Vec<u8>>,
    /// Top-most of changed ∪ removed: renamed out of the target.
    aside: Vec<Vec<u8>>,
    /// Source entries that may not be written (unsafe in the archive), with why.
    unsafe_entries: BTreeMap<Vec<u8>, String>,
}

/// What a successful [`apply`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub ok: bool,
    pub from: String,
    pub target: String,
    pub changed: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Where the replaced entries were set aside (`null` when nothing was replaced).
    pub previous: Option<PathBuf>,
    /// How administrator rights were had, when they were needed.
    pub administrator: Option<owner::Via>,
    pub operation: Option<i64>,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

/// What the journal remembers, enough to undo after a crash. Paths relative to `root` are written as
/// [`escape`] writes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorded {
    from: String,
    target: String,
    root: PathBuf,
    staging: PathBuf,
    previous: PathBuf,
    aside: Vec<String>,
    place: Vec<String>,
    /// Whether the renames go through the privileged path.
    admin: bool,
    owner: String,
}

// ----- planning -----

/// Compares the source named by `from` (an environment, default `[restore] production`, or `copy:ID`)
/// with the target `to` (default `[restore] target`); changes nothing.
pub fn plan(
    config: &Config,
    from: Option<&str>,
    to: Option<&str>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Plan, SoftwareError> {
    let from = from.unwrap_or(&config.restore.production).to_owned();
    let target_name = to.unwrap_or(&config.restore.target).to_owned();
    let target = environment::named(config, &target_name)?;
    if !target.root.is_dir() {
        return Err(ParityError::RootMissing {
            env: target.name.clone(),
            root: target.root.clone(),
        }
        .into());
    }
    let mut exclude = Exclusions::for_environment(&target);
    let (source, mut source_manifest, unsafe_entries) = if let Some(id) = from.strip_prefix("copy:") {
        if let Ok(prod) = environment::named(config, &config.restore.production) {
            exclude = exclude.union(&Exclusions::for_environment(&prod));
        }
        let archive = find_copy_archive(config, id)?;
        let (m, unsafe_entries) = archive_manifest(&archive, progress, cancel)?;
        (
            Source::Archive {
                copy: id.to_owned(),
                archive,
            },
            m,
            unsafe_entries,
        )
    } else {
        if from == target.name {
            return Err(SoftwareError::Refused(format!(
                "'{from}' is both the source and the target. Name the environment to copy from with --from (or \
                 copy:ID) and the one to bring to parity with --to."
            )));
        }
        let env = environment::named(config, &from)?;
        if !env.root.is_dir() {
            return Err(SoftwareError::Refused(format!(
                "the folder of '{from}', '{}', is not on this computer. Use the software a safe copy carries: \
                 --from copy:ID ('secours copies' lists them), or run this on the computer where '{from}' is.",
                env.root.display()
            )));
        }
        exclude = exclude.union(&Exclusions::for_environment(&env));
        let m = parity::environment_manifest(&env, progress, cancel)?;
        (
            Source::Live {
                environment: env.name.clone(),
                root: env.root.clone(),
            },
            m,
            BTreeMap::new(),
        )
    };
    let mut target_manifest = parity::environment_manifest(&target, progress, cancel)?;
    source_manifest.retain(&exclude);
    target_manifest.retain(&exclude);
    let mut work = diff(&source_manifest, &target_manifest);
    refuse_protected(&work.aside, &exclude.trees, &target.root)?;
    work.manifest = Some(source_manifest.clone());
    work.exclude = exclude;
    work.unsafe_entries = unsafe_entries;
    for p in &work.stage {
        if let Some(why) = work.unsafe_entries.get(p) {
            return Err(SoftwareError::Refused(format!(
                "the software archive holds the unsafe entry '{}' ({why}), which would have to be copied; nothing \
                 was changed. Copy from production itself (--from {}) or from another copy.",
                escape(p, &[]),
                config.restore.production
            )));
        }
    }
    let report = parity::compare(&source_manifest, &target_manifest);
    Ok(Plan {
        from,
        source,
        target: target.name.clone(),
        target_root: target.root.clone(),
        identical: report.identical,
        changed: report.different,
        added: report.only_in_a,
        removed: report.only_in_b,
        source_entries: report.files_a,
        target_entries: report.files_b,
        work,
    })
}

/// The paths to stage, place and set aside for making `target` equal to `source`.
fn diff(source: &CodeManifest, target: &CodeManifest) -> Work {
    let mut stage = Vec::new();
    let mut aside = Vec::new();
    for (path, entry) in &source.entries {
        match target.entries.get(path) {
            None => stage.push(path.clone()),
            Some(other) if other != entry => {
                stage.push(path.clone());
                aside.push(path.clone());
            }
            Some(_) => {}
        }
    }
    for path in target.entries.keys() {
        if !source.entries.contains_key(path) {
            aside.push(path.clone());
        }
    }
    aside.sort();
    Work {
        place: top_most(&stage),
        aside: top_most(&aside),
        stage,
        ..Work::default()
    }
}

/// The paths of `sorted` that have no ancestor in it (a folder moved as a whole carries its content).
fn top_most(sorted: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let set: BTreeSet<&[u8]> = sorted.iter().map(Vec::as_slice).collect();
    sorted
        .iter()
        .filter(|p| {
            let mut at = p.as_slice();
            while let Some(i) = at.iter().rposition(|&b| b == b'/') {
                at = &at[..i];
                if set.contains(at) {
                    return false;
                }
            }
            true
        })
        .cloned()
        .collect()
}

/// Refuses to set aside a folder that holds a protected path present on disk (`protected`: the excluded
/// trees — media, `runtime/`, the backup folder, `db.php` — relative to the root), or a Secours folder.
fn refuse_protected(aside: &[Vec<u8>], protected: &[PathBuf], root: &Path) -> Result<(), SoftwareError> {
    for a in aside {
        let a_path = Path::new(OsStr::from_bytes(a));
        for p in protected {
            if p.starts_with(a_path) && fs::symlink_metadata(root.join(p)).is_ok() {
                return Err(SoftwareError::Refused(format!(
                    "'{}' is not in the source's software and would be set aside, but it holds '{}', which the copy \
                     of the software never touches (media, runtime/, the backup folder, db.php). Nothing was \
                     changed. Move '{}' where the configuration expects it, or add '{}' to the source.",
                    a_path.display(),
                    p.display(),
                    p.display(),
                    a_path.display()
                )));
            }
        }
        if let Ok(list) = fs::read_dir(root.join(a_path)) {
            // A folder: Secours's own folders below it (never in a manifest) stay where they are.
            if has_own_folder(list) {
                return Err(SoftwareError::Refused(format!(
                    "'{}' holds a folder of Secours ('.secours-…'), which the copy of the software never moves. \
                     Nothing was changed; remove that folder if it is a leftover, then try again.",
                    a_path.display()
                )));
            }
        }
    }
    Ok(())
}

fn has_own_folder(list: fs::ReadDir) -> bool {
    let mut stack = vec![list];
    let mut guard = 0usize;
    while let Some(entries) = stack.pop() {
        for e in entries.flatten() {
            if e.file_name().as_bytes().starts_with(b".secours-") {
                return true;
            }
            guard += 1;
            if guard > 1_000_000 {
                return false;
            }
            if e.file_type().is_ok_and(|t| t.is_dir())
                && let Ok(sub) = fs::read_dir(e.path())
            {
                stack.push(sub);
            }
        }
    }
    false
}

/// The `software.taz` of the safe copy `id` (a folder `YYYY-MM-DD_HHMM` in a watched folder or a safe-copy
/// destination), checked against the copy's `SHA256SUMS`.
fn find_copy_archive(config: &Config, id: &str) -> Result<PathBuf, SoftwareError> {
    if copy::parse_folder_name(id).is_none() {
        return Err(SoftwareError::Refused(format!(
            "'copy:{id}' does not name a safe copy: the name is the copy's folder, like 'copy:2026-11-25_1400' \
             ('secours copies' lists them)."
        )));
    }
    let folders = parity::manifest_folders(config);
    let Some(folder) = folders.iter().map(|f| f.join(id)).find(|f| f.is_dir()) else {
        return Err(SoftwareError::Refused(format!(
            "no safe copy '{id}' in {}. 'secours copies' lists the copies.",
            folders
                .iter()
                .map(|f| format!("'{}'", f.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let archive = folder.join(SOFTWARE_FILE);
    if !archive.is_file() {
        return Err(SoftwareError::Refused(format!(
            "the safe copy '{}' carries no {SOFTWARE_FILE} (it was made before copies carried the software, or \
             on a computer where production's folder is not visible). Choose a newer copy, or copy from \
             production itself.",
            folder.display()
        )));
    }
    let sums = fs::read_to_string(folder.join(copy::MANIFEST)).map_err(|e| {
        SoftwareError::Refused(format!(
            "cannot read the copy's '{}' in '{}': {e}. Choose another copy.",
            copy::MANIFEST,
            folder.display()
        ))
    })?;
    let expected = copy::parse_manifest(&sums)
        .ok()
        .and_then(|m| m.get(SOFTWARE_FILE).cloned())
        .ok_or_else(|| {
            SoftwareError::Refused(format!(
                "'{}' is not listed in the copy's {}: it is not part of the proven copy. Choose another copy.",
                archive.display(),
                copy::MANIFEST
            ))
        })?;
    let mut file = File::open(&archive).map_err(|e| read_refusal(&archive, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF];
    loop {
        let n = file.read(&mut buf).map_err(|e| read_refusal(&archive, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let actual = hex::encode(hasher.finalize());
    if actual != expected {
        return Err(SoftwareError::Refused(format!(
            "'{}' does not match its SHA-256 in the copy's {} (damaged). Choose another copy.",
            archive.display(),
            copy::MANIFEST
        )));
    }
    Ok(archive)
}

fn read_refusal(path: &Path, e: io::Error) -> SoftwareError {
    SoftwareError::Refused(format!(
        "cannot read '{}': {e}. Check the disk that holds it.",
        path.display()
    ))
}

/// The name of an archive entry as a manifest path: `./` and empty components dropped, no trailing `/`;
/// `None` for the archive's root itself.
fn entry_key(name: &[u8]) -> Option<Vec<u8>> {
    let parts: Vec<&[u8]> = name
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    (!parts.is_empty()).then(|| parts.join(&b'/'))
}

fn archive_error(archive: &Path, e: archive::Error) -> SoftwareError {
    let what = match e {
        archive::Error::Read(e) => e.to_string(),
        archive::Error::Malformed(m) => format!("{} at byte {} of the tar stream", m.reason, m.offset),
    };
    SoftwareError::Refused(format!(
        "the software archive '{}' cannot be read: {what}. Choose another copy ('secours copies --check').",
        archive.display()
    ))
}

/// The code manifest of a `software.taz` (every entry's content hashed), and the entries a copy may not
/// write (unsafe names or kinds), with why.
fn archive_manifest(
    archive: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<(CodeManifest, BTreeMap<Vec<u8>, String>), SoftwareError> {
    let file = File::open(archive).map_err(|e| read_refusal(archive, e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = Reader::new(GzSource::new(file));
    let mut entries = BTreeMap::new();
    let mut unsafe_entries = BTreeMap::new();
    let mut buf = vec![0u8; BUF];
    while let Some(e) = reader.next_entry().map_err(|e| archive_error(archive, e))? {
        if cancel.is_cancelled() {
            return Err(ParityError::Cancelled.into());
        }
        let Some(key) = entry_key(&e.name) else { continue };
        if e.apple_double {
            continue;
        }
        if let Some(why) = e.refusal() {
            unsafe_entries.insert(key.clone(), why);
        }
        let entry = match e.kind {
            b'5' => Entry::Dir,
            b'2' => Entry::Link { target: e.link.clone() },
            b'0' | b'\0' | b'7' => {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                loop {
                    let n = reader.read_data(&mut buf).map_err(|e| archive_error(archive, e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    size += n as u64;
                }
                Entry::File {
                    size,
                    sha256: hex::encode(hasher.finalize()),
                }
            }
            other => {
                unsafe_entries
                    .entry(key.clone())
                    .or_insert_with(|| format!("an entry of type '{}', which software never holds", other as char));
                continue;
            }
        };
        entries.insert(key, entry);
        progress.update(Update {
            step: STEP,
            done: reader.get_ref().compressed_offset(),
            total: Some(total),
            detail: Some(format!("reading {}", archive.display())),
        });
    }
    let now = Timestamp::now();
    Ok((
        CodeManifest {
            environment: "software.taz".to_owned(),
            root: archive.to_path_buf(),
            at: Timestamp::from_second(now.as_second()).unwrap_or(now),
            entries,
        },
        unsafe_entries,
    ))
}

// ----- applying -----

/// Where the journal and the lock are, and who the web server's files belong to.
pub struct Apply<'a> {
    pub config: &'a Config,
    /// The history database (the journal); its folder also holds the lock.
    pub history: PathBuf,
}

/// Makes the target's code the source's, as planned (see the module documentation). A plan with no
/// difference changes nothing.
pub fn apply(a: &Apply, plan: &Plan, progress: &dyn Progress, cancel: &Cancel) -> Result<Outcome, SoftwareError> {
    let started = std::time::Instant::now();
    let mut outcome = Outcome {
        ok: true,
        from: plan.from.clone(),
        target: plan.target.clone(),
        changed: plan.changed.clone(),
        added: plan.added.clone(),
        removed: plan.removed.clone(),
        previous: None,
        administrator: None,
        operation: None,
        seconds: 0.0,
        warnings: Vec::new(),
    };
    if plan.identical {
        return Ok(outcome);
    }
    let Some(source_manifest) = &plan.work.manifest else {
        return Err(SoftwareError::Refused("the plan holds no source manifest".to_owned()));
    };
    let _lock = lock(&a.history)?;
    let history = open_history(&a.history)?;
    let target = environment::named(a.config, &plan.target)?;
    let root = target.root.clone();
    let stamp = jiff::Zoned::now().strftime("%Y-%m-%d_%H%M%S").to_string();
    let staging = unique(root.join(format!("{STAGING_PREFIX}{stamp}")));
    let previous = unique(root.join(PREVIOUS_DIR).join(format!("software-{stamp}")));
    let admin = needs_admin(&root, &plan.work)?;
    let recorded = Recorded {
        from: plan.from.clone(),
        target: plan.target.clone(),
        root: root.clone(),
        staging: staging.clone(),
        previous: previous.clone(),
        aside: plan.work.aside.iter().map(|p| escape(p, &[])).collect(),
        place: plan.work.place.iter().map(|p| escape(p, &[])).collect(),
        admin,
        owner: a.config.restore.owner.clone(),
    };
    let journal_err = |e: crate::store::history::HistoryError| SoftwareError::Journal {
        path: a.history.clone(),
        cause: e.to_string(),
    };
    let details = serde_json::to_string(&recorded).map_err(|e| SoftwareError::Journal {
        path: a.history.clone(),
        cause: e.to_string(),
    })?;
    let id = history
        .begin_operation(KIND, &details, Timestamp::now())
        .map_err(journal_err)?;
    outcome.operation = Some(id.0);
    let journal = Journal { history: &history, id };

    // Stage: nothing of the target changes.
    let staged = journal
        .step("stage", || stage(plan, source_manifest, &staging, progress, cancel))
        .and_then(|()| {
            if cancel.is_cancelled() {
                return Err(failure("stage", "cancelled", ""));
            }
            Ok(())
        });
    if let Err(f) = staged {
        let _ = fs::remove_dir_all(&staging);
        let _ = journal.finish("rolled-back", serde_json::json!({ "step": f.step, "cause": f.cause }));
        return Err(if cancel.is_cancelled() {
            SoftwareError::Cancelled {
                target: plan.target.clone(),
            }
        } else {
            SoftwareError::RolledBack {
                step: f.step.to_owned(),
                cause: f.cause,
                target: plan.target.clone(),
                advice: f.advice.to_owned(),
            }
        });
    }

    // Swap, then check; a failure of either undoes the swap.
    let mut via = None;
    let result = journal.step("swap", || swap(&recorded, &mut via)).and_then(|()| {
        journal.step("check", || {
            check(&target, &plan.work.exclude, source_manifest, progress, cancel)
        })
    });
    outcome.administrator = via;
    match result {
        Ok(()) => {
            let _ = fs::remove_dir_all(&staging);
            outcome.previous = previous.exists().then_some(previous);
            outcome.seconds = started.elapsed().as_secs_f64();
            journal
                .finish("ok", serde_json::to_value(&outcome).unwrap_or_default())
                .map_err(journal_err)?;
            Ok(outcome)
        }
        Err(f) => match undo(&recorded) {
            Ok(()) => {
                let _ = journal.finish("rolled-back", serde_json::json!({ "step": f.step, "cause": f.cause }));
                let _ = fs::remove_dir_all(&staging);
                let _ = remove_empty_tree(&previous);
                Err(SoftwareError::RolledBack {
                    step: f.step.to_owned(),
                    cause: f.cause,
                    target: plan.target.clone(),
                    advice: f.advice.to_owned(),
                })
            }
            Err(rollback) => {
                let _ = history.journal_step(
                    id,
                    "rollback",
                    "failed",
                    &serde_json::json!({ "error": rollback }).to_string(),
                    Timestamp::now(),
                );
                Err(SoftwareError::RollbackFailed {
                    step: f.step.to_owned(),
                    cause: f.cause,
                    rollback,
                    target: plan.target.clone(),
                    previous,
                })
            }
        },
    }
}

/// Undoes the copies of the software a crash left unfinished (decided from disk, see [`undo`]); returns
/// the operations undone.
pub fn rollback_unfinished(history_path: &Path) -> Result<Vec<i64>, SoftwareError> {
    if !history_path.exists() {
        return Ok(Vec::new());
    }
    let _lock = lock(history_path)?;
    let history = open_history(history_path)?;
    let journal_err = |e: crate::store::history::HistoryError| SoftwareError::Journal {
        path: history_path.to_path_buf(),
        cause: e.to_string(),
    };
    let mut undone = Vec::new();
    for op in history.unfinished_operations().map_err(journal_err)? {
        if op.kind != KIND {
            continue;
        }
        if let Ok(recorded) = serde_json::from_str::<Recorded>(&op.details_json) {
            undo(&recorded).map_err(|rollback| SoftwareError::RollbackFailed {
                step: "rollback".to_owned(),
                cause: format!("the copy of the software begun {} did not finish", op.started_at),
                rollback,
                target: recorded.target.clone(),
                previous: recorded.previous.clone(),
            })?;
            let _ = fs::remove_dir_all(&recorded.staging);
            let _ = remove_empty_tree(&recorded.previous);
        }
        history
            .finish_operation(
                op.id,
                "rolled-back",
                &serde_json::json!({ "by": "secours software (unfinished after a crash)" }).to_string(),
                Timestamp::now(),
            )
            .map_err(journal_err)?;
        undone.push(op.id.0);
    }
    Ok(undone)
}

/// A step's failure, before the undo turns it into a [`SoftwareError`].
#[derive(Debug)]
struct StepFailure {
    step: &'static str,
    cause: String,
    advice: &'static str,
}

fn failure(step: &'static str, cause: impl ToString, advice: &'static str) -> StepFailure {
    StepFailure {
        step,
        cause: cause.to_string(),
        advice,
    }
}

const ADVICE_RETRY: &str = "Fix the cause named above and copy the software again.";
const ADVICE_SOURCE: &str = "The source changed meanwhile: wait until nobody changes it, then copy again.";

struct Journal<'a> {
    history: &'a History,
    id: OperationId,
}

impl Journal<'_> {
    /// Runs `f` between a durable `start` and a `done` (or `failed`) row.
    fn step(&self, name: &'static str, f: impl FnOnce() -> Result<(), StepFailure>) -> Result<(), StepFailure> {
        let row = |phase: &str, details: serde_json::Value| {
            self.history
                .journal_step(self.id, name, phase, &details.to_string(), Timestamp::now())
                .map_err(|e| failure(name, format!("the journal is unusable: {e}"), ADVICE_RETRY))
        };
        row("start", serde_json::Value::Null)?;
        let started = std::time::Instant::now();
        match f() {
            Ok(()) => row(
                "done",
                serde_json::json!({ "seconds": started.elapsed().as_secs_f64() }),
            ),
            Err(e) => {
                let _ = row("failed", serde_json::json!({ "cause": e.cause }));
                Err(e)
            }
        }
    }

    fn finish(&self, outcome: &str, details: serde_json::Value) -> Result<(), crate::store::history::HistoryError> {
        self.history
            .finish_operation(self.id, outcome, &details.to_string(), Timestamp::now())
    }
}

fn open_history(path: &Path) -> Result<History, SoftwareError> {
    let err = |e: crate::store::history::HistoryError| SoftwareError::Journal {
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let history = History::open(path).map_err(err)?;
    history.make_durable().map_err(err)?;
    Ok(history)
}

/// Holds the lock (the restore's lock file: a copy of the software and a restore never run at once).
struct Lock {
    _file: File,
}

fn lock(history: &Path) -> Result<Lock, SoftwareError> {
    let path = history.with_file_name("restore.lock");
    if let Some(parent) = path.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| SoftwareError::Journal {
            path: path.clone(),
            cause: e.to_string(),
        })?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Lock { _file: file }),
        Err(fs4::TryLockError::WouldBlock) => Err(SoftwareError::Busy { lock: path }),
        Err(fs4::TryLockError::Error(e)) => Err(SoftwareError::Journal {
            path,
            cause: e.to_string(),
        }),
    }
}

/// A path that does not exist yet: `path`, or `path-2`, `path-3`…
fn unique(path: PathBuf) -> PathBuf {
    if fs::symlink_metadata(&path).is_err() {
        return path;
    }
    for n in 2.. {
        let p = PathBuf::from(format!("{}-{n}", path.display()));
        if fs::symlink_metadata(&p).is_err() {
            return p;
        }
    }
    path
}

fn rel(p: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(p))
}

/// Whether the renames need an administrator: Secours is not root and a folder it must rename in is not
/// writable by it (the web server's files).
fn needs_admin(root: &Path, work: &Work) -> Result<bool, SoftwareError> {
    let euid =
        owner::effective_uid().map_err(|e| SoftwareError::Refused(format!("cannot know who runs Secours: {e}")))?;
    if euid == 0 {
        return Ok(false);
    }
    let folders: BTreeSet<PathBuf> = work
        .aside
        .iter()
        .chain(&work.place)
        .map(|p| root.join(rel(p)).parent().map(Path::to_path_buf).unwrap_or_default())
        .collect();
    Ok(folders.iter().any(|f| !writable(f)))
}

fn writable(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
}

// ----- stage -----

/// Writes the entries to stage into `staging`, from the live folder or the archive, each file checked
/// against the source's manifest as it is written.
fn stage(
    plan: &Plan,
    manifest: &CodeManifest,
    staging: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<(), StepFailure> {
    const S: &str = "stage";
    let werr = |p: &Path, e: io::Error| failure(S, format!("cannot write '{}': {e}", p.display()), ADVICE_RETRY);
    fs::DirBuilder::new()
        .mode(STAGING_MODE)
        .create(staging)
        .map_err(|e| werr(staging, e))?;
    fs::set_permissions(staging, fs::Permissions::from_mode(STAGING_MODE)).map_err(|e| werr(staging, e))?;
    let wanted: BTreeSet<&[u8]> = plan.work.stage.iter().map(Vec::as_slice).collect();
    let total: u64 = plan
        .work
        .stage
        .iter()
        .filter_map(|p| match manifest.entries.get(p) {
            Some(Entry::File { size, .. }) => Some(*size),
            _ => None,
        })
        .sum();
    let mut done = 0u64;
    let mut report = |n: u64| {
        done += n;
        progress.update(Update {
            step: STEP,
            done,
            total: Some(total),
            detail: Some("staging".to_owned()),
        });
    };
    // Folders get their mode at the end, deepest first, so a read-only one can still be filled.
    let mut folder_modes: Vec<(PathBuf, u32)> = Vec::new();
    let mut buf = vec![0u8; BUF];
    let mut write = |key: &[u8], kind: Staged, data: Option<&mut dyn Read>| -> Result<(), StepFailure> {
        if cancel.is_cancelled() {
            return Err(failure(S, "cancelled", ""));
        }
        let dest = staging.join(rel(key));
        make_parents(staging, key).map_err(|e| werr(&dest, e))?;
        match (kind, manifest.entries.get(key)) {
            (Staged::Dir(mode), Some(Entry::Dir)) => {
                match fs::DirBuilder::new().mode(0o700).create(&dest) {
                    Ok(()) => {}
                    // Made already as the parent of an entry read before it.
                    Err(e)
                        if e.kind() == io::ErrorKind::AlreadyExists
                            && fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) => {}
                    Err(e) => return Err(werr(&dest, e)),
                }
                folder_modes.push((dest, folder_mode(mode)));
            }
            (Staged::Link(target), Some(Entry::Link { target: expected })) if &target == expected => {
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &dest).map_err(|e| werr(&dest, e))?;
            }
            (Staged::File(mode, mtime), Some(Entry::File { size, sha256 })) => {
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&dest)
                    .map_err(|e| werr(&dest, e))?;
                let mut hasher = Sha256::new();
                let mut written = 0u64;
                if let Some(input) = data {
                    loop {
                        let n = input.read(&mut buf).map_err(|e| {
                            failure(
                                S,
                                format!("cannot read the source of '{}': {e}", escape(key, &[])),
                                ADVICE_RETRY,
                            )
                        })?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buf[..n]);
                        out.write_all(&buf[..n]).map_err(|e| werr(&dest, e))?;
                        written += n as u64;
                        report(n as u64);
                    }
                }
                if written != *size || hex::encode(hasher.finalize()) != *sha256 {
                    return Err(failure(
                        S,
                        format!("'{}' is no longer what was compared", escape(key, &[])),
                        ADVICE_SOURCE,
                    ));
                }
                out.set_permissions(fs::Permissions::from_mode(file_mode(mode)))
                    .map_err(|e| werr(&dest, e))?;
                if let Some(t) = mtime {
                    let _ = out.set_modified(t);
                }
                out.sync_all().map_err(|e| werr(&dest, e))?;
            }
            _ => {
                return Err(failure(
                    S,
                    format!("'{}' is no longer what was compared", escape(key, &[])),
                    ADVICE_SOURCE,
                ));
            }
        }
        Ok(())
    };
    let mut seen = BTreeSet::new();
    match &plan.source {
        Source::Live { root, .. } => {
            for key in &plan.work.stage {
                let path = root.join(rel(key));
                let meta = fs::symlink_metadata(&path)
                    .map_err(|e| failure(S, format!("cannot read '{}': {e}", path.display()), ADVICE_SOURCE))?;
                let mode = meta.mode() & 0o7777;
                if meta.is_dir() {
                    write(key, Staged::Dir(mode), None)?;
                } else if meta.file_type().is_symlink() {
                    let target = fs::read_link(&path)
                        .map_err(|e| failure(S, format!("cannot read '{}': {e}", path.display()), ADVICE_SOURCE))?;
                    write(key, Staged::Link(target.as_os_str().as_bytes().to_vec()), None)?;
                } else {
                    let mut input = OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                        .open(&path)
                        .map_err(|e| failure(S, format!("cannot read '{}': {e}", path.display()), ADVICE_SOURCE))?;
                    write(key, Staged::File(mode, meta.modified().ok()), Some(&mut input))?;
                }
                seen.insert(key.clone());
            }
        }
        Source::Archive { archive, .. } => {
            let file = File::open(archive)
                .map_err(|e| failure(S, format!("cannot read '{}': {e}", archive.display()), ADVICE_RETRY))?;
            let mut reader = Reader::new(GzSource::new(file));
            let aerr = |e: archive::Error| match archive_error(archive, e) {
                SoftwareError::Refused(text) => failure(S, text, ADVICE_RETRY),
                other => failure(S, other.to_string(), ADVICE_RETRY),
            };
            while let Some(e) = reader.next_entry().map_err(aerr)? {
                let Some(key) = entry_key(&e.name) else { continue };
                if !wanted.contains(key.as_slice()) || e.apple_double || seen.contains(&key) {
                    continue;
                }
                if let Some(why) = e.refusal() {
                    return Err(failure(
                        S,
                        format!("unsafe entry '{}' ({why})", escape(&key, &[])),
                        ADVICE_RETRY,
                    ));
                }
                let mode = e.mode.unwrap_or(0o644);
                let mtime = e
                    .mtime
                    .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)));
                match e.kind {
                    b'5' => write(&key, Staged::Dir(mode), None)?,
                    b'2' => write(&key, Staged::Link(e.link.clone()), None)?,
                    _ => {
                        let mut data = EntryData { reader: &mut reader };
                        write(&key, Staged::File(mode, mtime), Some(&mut data))?;
                    }
                }
                seen.insert(key);
            }
        }
    }
    if let Some(missing) = plan.work.stage.iter().find(|k| !seen.contains(*k)) {
        return Err(failure(
            S,
            format!("'{}' is missing from the source", escape(missing, &[])),
            ADVICE_SOURCE,
        ));
    }
    folder_modes.sort_by(|a, b| b.0.cmp(&a.0));
    for (dir, mode) in folder_modes {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(|e| werr(&dir, e))?;
    }
    crate::files::durable::sync_dir(staging).map_err(|e| werr(staging, e))?;
    Ok(())
}

enum Staged {
    Dir(u32),
    Link(Vec<u8>),
    File(u32, Option<SystemTime>),
}

/// The current archive entry's data as a reader.
struct EntryData<'a, R> {
    reader: &'a mut Reader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reader.read_data(out).map_err(|e| match e {
            archive::Error::Read(e) => e,
            archive::Error::Malformed(m) => io::Error::other(m.reason),
        })
    }
}

/// Makes the folders that lead to `key` inside `staging`, one component at a time; each one there must be
/// a real folder (never a link).
fn make_parents(staging: &Path, key: &[u8]) -> io::Result<()> {
    let mut at = staging.to_path_buf();
    let comps: Vec<&[u8]> = key.split(|&b| b == b'/').collect();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        at.push(OsStr::from_bytes(c));
        match fs::DirBuilder::new().mode(0o700).create(&at) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !fs::symlink_metadata(&at)?.is_dir() {
                    return Err(io::Error::other(format!(
                        "'{}' is not a folder in the staging tree",
                        at.display()
                    )));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ----- swap and undo -----

/// The renames of the swap, in order: set-asides, then placements.
fn swap_moves(r: &Recorded) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let mut moves = Vec::new();
    for a in &r.aside {
        let p = unescape(a)?;
        moves.push((r.root.join(rel(&p)), r.previous.join(rel(&p))));
    }
    for a in &r.place {
        let p = unescape(a)?;
        moves.push((r.staging.join(rel(&p)), r.root.join(rel(&p))));
    }
    Ok(moves)
}

fn swap(r: &Recorded, via: &mut Option<owner::Via>) -> Result<(), StepFailure> {
    const S: &str = "swap";
    let moves = swap_moves(r).map_err(|e| failure(S, e, ADVICE_RETRY))?;
    // The set-aside folders are Secours's own.
    for (from, to) in &moves {
        if to.starts_with(&r.previous)
            && let Some(parent) = to.parent()
        {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| failure(S, format!("cannot create '{}': {e}", parent.display()), ADVICE_RETRY))?;
        }
        // Neither end of a rename may be reached through a link.
        inside(from, &r.root).map_err(|e| failure(S, e, ADVICE_RETRY))?;
        inside(to, &r.root).map_err(|e| failure(S, e, ADVICE_RETRY))?;
    }
    if r.admin {
        super::media::check_private_tree(&r.staging).map_err(|e| failure(S, e, ADVICE_RETRY))?;
        let owner = owner::resolve_owner(&r.owner).map_err(|e| failure(S, e, ADVICE_RETRY))?;
        // Each staged entry is given to the owner (the folders that lead to them stay Secours's, and are
        // removed by it afterwards), then every rename, in the same request.
        let mut ops: Vec<AdminOp> = moves
            .iter()
            .filter(|(from, _)| from.starts_with(&r.staging))
            .map(|(from, _)| AdminOp::Chown { path: from.clone() })
            .collect();
        ops.extend(moves.iter().map(|(from, to)| AdminOp::Move {
            from: from.clone(),
            to: to.clone(),
        }));
        let privileges = owner::Privileges::current()
            .map_err(|e| failure(S, format!("cannot know who runs Secours: {e}"), ADVICE_RETRY))?;
        *via = owner::run_admin_ops(&ops, &owner, &r.root, &owner::admin_runner(), &privileges)
            .map_err(|e| failure(S, e, ADVICE_RETRY))?;
        return Ok(());
    }
    for (i, (from, to)) in moves.iter().enumerate() {
        injected_fault(i).map_err(|e| failure(S, e, ADVICE_RETRY))?;
        rename_new(from, to).map_err(|e| {
            failure(
                S,
                format!("cannot rename '{}' to '{}': {e}", from.display(), to.display()),
                ADVICE_RETRY,
            )
        })?;
    }
    Ok(())
}

/// Renames `from` to `to`, which must not exist.
fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("'{}' already exists", to.display()),
        ));
    }
    fs::rename(from, to)
}

/// `path`'s folder, resolved, must be `root` or below it (no link in the way).
fn inside(path: &Path, root: &Path) -> Result<(), String> {
    let parent = path.parent().unwrap_or(path);
    let (Ok(p), Ok(r)) = (fs::canonicalize(parent), fs::canonicalize(root)) else {
        return Err(format!("'{}' cannot be resolved", parent.display()));
    };
    if p.starts_with(&r) {
        Ok(())
    } else {
        Err(format!(
            "'{}' leads out of '{}' (a symbolic link in the way); nothing is renamed through a link",
            path.display(),
            root.display()
        ))
    }
}

/// Puts the target back as it was: each placed entry still in the target goes back into staging (last
/// first), then each set-aside entry goes back into the target (last first). Decided from disk, so it can
/// run again after a crash.
fn undo(r: &Recorded) -> Result<(), String> {
    let mut back = Vec::new();
    for a in r.place.iter().rev() {
        let p = unescape(a)?;
        let (live, staged) = (r.root.join(rel(&p)), r.staging.join(rel(&p)));
        if fs::symlink_metadata(&live).is_ok() && fs::symlink_metadata(&staged).is_err() && r.staging.exists() {
            back.push((live, staged));
        }
    }
    // Placements first: a set-aside entry comes back to where a placed one stood.
    let aside: Vec<(PathBuf, PathBuf)> = r
        .aside
        .iter()
        .rev()
        .map(|a| unescape(a).map(|p| (r.previous.join(rel(&p)), r.root.join(rel(&p)))))
        .collect::<Result<_, _>>()?;
    let run = |moves: &[(PathBuf, PathBuf)]| -> Result<(), String> {
        if moves.is_empty() {
            return Ok(());
        }
        if r.admin {
            let owner = owner::resolve_owner(&r.owner).map_err(|e| e.to_string())?;
            let ops: Vec<AdminOp> = moves
                .iter()
                .map(|(from, to)| AdminOp::Move {
                    from: from.clone(),
                    to: to.clone(),
                })
                .collect();
            let privileges = owner::Privileges::current().map_err(|e| e.to_string())?;
            owner::run_admin_ops(&ops, &owner, &r.root, &owner::admin_runner(), &privileges)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            for (from, to) in moves {
                if let Some(parent) = to.parent() {
                    let _ = fs::create_dir_all(parent);
                }
                rename_new(from, to)
                    .map_err(|e| format!("cannot rename '{}' back to '{}': {e}", from.display(), to.display()))?;
            }
            Ok(())
        }
    };
    run(&back)?;
    // Only what is in the set-aside folder and missing from the target (after the placements left).
    let returning: Vec<(PathBuf, PathBuf)> = aside
        .into_iter()
        .filter(|(kept, live)| fs::symlink_metadata(kept).is_ok() && fs::symlink_metadata(live).is_err())
        .collect();
    run(&returning)?;
    Ok(())
}

/// Removes `dir` when it holds only empty folders.
fn remove_empty_tree(dir: &Path) -> io::Result<()> {
    fn empty(d: &Path) -> bool {
        fs::read_dir(d).is_ok_and(|list| {
            list.flatten()
                .all(|e| e.file_type().is_ok_and(|t| t.is_dir()) && empty(&e.path()))
        })
    }
    if empty(dir) {
        fs::remove_dir_all(dir)?;
        if let Some(parent) = dir.parent()
            && fs::read_dir(parent).is_ok_and(|mut l| l.next().is_none())
        {
            let _ = fs::remove_dir(parent);
        }
    }
    Ok(())
}

/// The target's code after the swap must be the source's.
fn check(
    target: &Environment,
    exclude: &Exclusions,
    source: &CodeManifest,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<(), StepFailure> {
    const S: &str = "check";
    let mut now = parity::environment_manifest(target, progress, cancel).map_err(|e| failure(S, e, ADVICE_RETRY))?;
    now.retain(exclude);
    let report = parity::compare(source, &now);
    if report.identical {
        return Ok(());
    }
    let first = report
        .different
        .iter()
        .chain(&report.only_in_a)
        .chain(&report.only_in_b)
        .take(3)
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(failure(
        S,
        format!("after the swap the software still differs ({first})"),
        ADVICE_SOURCE,
    ))
}

/// `SECOURS_FAULT=software-swap:N` (tests only, Cargo feature `fault-injection`): the swap fails before
/// its rename number N (from 0); `software-swap-abort:N`: the process dies there, as in a power cut.
#[cfg(feature = "fault-injection")]
fn injected_fault(i: usize) -> Result<(), String> {
    let Ok(spec) = std::env::var("SECOURS_FAULT") else {
        return Ok(());
    };
    for part in spec.split(',') {
        if let Some(n) = part.trim().strip_prefix("software-swap:")
            && n.parse::<usize>().ok() == Some(i)
        {
            return Err(format!("injected fault before rename {i} of the swap (SECOURS_FAULT)"));
        }
        // A crash (power cut, kill -9) in the middle of the swap.
        if let Some(n) = part.trim().strip_prefix("software-swap-abort:")
            && n.parse::<usize>().ok() == Some(i)
        {
            std::process::abort();
        }
    }
    Ok(())
}

#[cfg(not(feature = "fault-injection"))]
#[inline]
fn injected_fault(_i: usize) -> Result<(), String> {
    Ok(())
}

// ----- for people -----

/// "3 changed, 1 added, 1 removed (set aside)" in `lang`.
pub fn counts_text(plan: &Plan, lang: crate::i18n::Lang) -> String {
    let t = lang.software();
    let mut parts = Vec::new();
    for (template, list) in [
        (t.changed, &plan.changed),
        (t.added, &plan.added),
        (t.removed, &plan.removed),
    ] {
        if !list.is_empty() {
            parts.push(crate::i18n::fill(template, &[("count", &list.len().to_string())]));
        }
    }
    parts.join(", ")
}

/// The plan for a terminal: what comes from where, then the paths of each kind (the first
/// [`parity::SHOWN`]), or that the software is identical.
pub fn render_plan(plan: &Plan, lang: crate::i18n::Lang) -> String {
    use crate::i18n::fill;
    use std::fmt::Write as _;
    let t = lang.software();
    let mut out = String::new();
    if plan.identical {
        let _ = writeln!(
            out,
            "{}",
            fill(
                t.identical,
                &[
                    ("target", &plan.target),
                    ("from", &plan.from),
                    ("count", &plan.source_entries.to_string())
                ]
            )
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{}",
        fill(t.title, &[("from", &plan.from), ("target", &plan.target)])
    );
    for (template, list, mark) in [
        (t.changed, &plan.changed, "~"),
        (t.added, &plan.added, "+"),
        (t.removed, &plan.removed, "-"),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {}", fill(template, &[("count", &list.len().to_string())]));
        for p in list.iter().take(parity::SHOWN) {
            let _ = writeln!(out, "    {mark} {p}");
        }
        if list.len() > parity::SHOWN {
            let more = (list.len() - parity::SHOWN).to_string();
            let _ = writeln!(out, "    {}", fill(t.more, &[("count", &more)]));
        }
    }
    out
}

/// A failure for people: the state the target is in, in `lang`, then the detail.
pub fn failure_text(e: &SoftwareError, target: &str, lang: crate::i18n::Lang) -> String {
    let t = lang.software();
    let headline = match e {
        SoftwareError::RolledBack { .. } | SoftwareError::Cancelled { .. } => {
            crate::i18n::fill(t.failed_rolled_back, &[("target", target)])
        }
        SoftwareError::RollbackFailed { .. } => crate::i18n::fill(t.failed_mixed, &[("target", target)]),
        _ => t.failed_refused.to_owned(),
    };
    lang.t().failure(&headline, &e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(c: &str) -> Entry {
        Entry::File {
            size: c.len() as u64,
            sha256: hex::encode(Sha256::digest(c.as_bytes())),
        }
    }

    fn manifest(entries: &[(&str, Entry)]) -> CodeManifest {
        CodeManifest {
            environment: "x".into(),
            root: "/x".into(),
            at: Timestamp::UNIX_EPOCH,
            entries: entries
                .iter()
                .map(|(p, e)| (p.as_bytes().to_vec(), e.clone()))
                .collect(),
        }
    }

    fn strings(v: &[Vec<u8>]) -> Vec<String> {
        v.iter().map(|p| escape(p, &[])).collect()
    }

    // Guards what moves: a folder added or set aside moves as a whole (its content with it), a kind change
    // is both set aside and placed, and identical entries never move.
    #[test]
    fn the_diff_moves_top_most_entries_only() {
        let source = manifest(&[
            ("web", Entry::Dir),
            ("web/index.php", file("new")),
            ("web/same.php", file("same")),
            ("lib", Entry::Dir),
            ("lib/a.php", file("a")),
            ("lib/sub", Entry::Dir),
            ("lib/sub/b.php", file("b")),
            ("bin", Entry::Dir),
        ]);
        let target = manifest(&[
            ("web", Entry::Dir),
            ("web/index.php", file("old")),
            ("web/same.php", file("same")),
            ("web/gone.php", file("gone")),
            ("old", Entry::Dir),
            ("old/x.php", file("x")),
            ("bin", file("was a file")),
        ]);
        let w = diff(&source, &target);
        assert_eq!(
            strings(&w.stage),
            ["bin", "lib", "lib/a.php", "lib/sub", "lib/sub/b.php", "web/index.php"]
        );
        assert_eq!(strings(&w.place), ["bin", "lib", "web/index.php"]);
        assert_eq!(strings(&w.aside), ["bin", "old", "web/gone.php", "web/index.php"]);
    }

    #[test]
    fn archive_names_become_manifest_paths() {
        assert_eq!(entry_key(b"./web/index.php"), Some(b"web/index.php".to_vec()));
        assert_eq!(entry_key(b"web/"), Some(b"web".to_vec()));
        assert_eq!(entry_key(b"./"), None);
        assert_eq!(entry_key(b"a//b"), Some(b"a/b".to_vec()));
    }

    // Guards the exit codes scripts rely on: 2 when the target is as before, 3 when it may be mixed.
    #[test]
    fn exit_codes_say_whether_the_target_is_as_before() {
        assert_eq!(SoftwareError::Refused("x".into()).exit_code(), 2);
        assert_eq!(
            SoftwareError::RolledBack {
                step: "swap".into(),
                cause: "c".into(),
                target: "t".into(),
                advice: "a".into()
            }
            .exit_code(),
            2
        );
        assert_eq!(
            SoftwareError::RollbackFailed {
                step: "swap".into(),
                cause: "c".into(),
                rollback: "r".into(),
                target: "t".into(),
                previous: PathBuf::new()
            }
            .exit_code(),
            3
        );
    }

    // Guards the undo: after a swap stopped half-way, the target is put back exactly (set-aside entries
    // back, placed ones out), and running it again changes nothing.
    #[test]
    fn undo_puts_back_a_half_done_swap_and_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("secours");
        let staging = root.join(".secours-software-1");
        let previous = root.join(".secours-previous/software-1");
        fs::create_dir_all(root.join("web")).unwrap();
        fs::create_dir_all(staging.join("web")).unwrap();
        fs::write(root.join("web/index.php"), "old").unwrap();
        fs::write(root.join("web/gone.php"), "gone").unwrap();
        fs::write(staging.join("web/index.php"), "new").unwrap();
        fs::write(staging.join("web/added.php"), "added").unwrap();
        let r = Recorded {
            from: "prod".into(),
            target: "secours".into(),
            root: root.clone(),
            staging: staging.clone(),
            previous: previous.clone(),
            aside: vec!["web/gone.php".into(), "web/index.php".into()],
            place: vec!["web/added.php".into(), "web/index.php".into()],
            admin: false,
            owner: "daemon:daemon".into(),
        };
        // Half-way: both set aside, one placed.
        fs::create_dir_all(previous.join("web")).unwrap();
        for m in swap_moves(&r).unwrap().into_iter().take(3) {
            rename_new(&m.0, &m.1).unwrap();
        }
        assert_eq!(fs::read_to_string(root.join("web/added.php")).unwrap(), "added");
        undo(&r).unwrap();
        undo(&r).unwrap();
        assert_eq!(fs::read_to_string(root.join("web/index.php")).unwrap(), "old");
        assert_eq!(fs::read_to_string(root.join("web/gone.php")).unwrap(), "gone");
        assert!(!root.join("web/added.php").exists());
        assert_eq!(fs::read_to_string(staging.join("web/added.php")).unwrap(), "added");
    }
}
