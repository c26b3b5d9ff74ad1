//! The forward steps of a restore and its commit, shared by a new run and `--resume`.
//!
//! - Each step is journaled `start` before it acts and `done` after; on resume the steps journaled `done`
//!   are skipped and every other one runs again, which each may (a staging left by a crash is extracted
//!   anew, a folder already moved is not moved again).
//! - `snapshot` then `database` run alongside `media`; the import starts only once the snapshot is
//!   complete. The first real failure stops the other side and is the one reported.
//! - `set-aside` and `swap` are renames within one disk, in one administrator request when the web
//!   server's folders need one; nothing of the target is deleted here.
//! - Any failure goes to `undo::fail`, which rolls back; the commit marks the operation finished
//!   before anything no longer needed is removed.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use jiff::Timestamp;

use super::faults::{MidStep, fault};
use super::journal::Journal;
use super::preflight::{preflight, refuse_unverified};
use super::undo::{expired_previous, fail, purge_previous, remove_any};
use super::{
    ADVICE_RETRY, ADVICE_SOURCE, ADVICE_SPACE, Outcome, Recorded, Request, RestoreError, StepFailure, env_root, step,
};
use crate::backup::operations;
use crate::db::connect::{ConnectError, connect};
use crate::db::dumper::{DumpError, dump_database};
use crate::db::importer::{ImportError, ImportOptions, ImportSummary, import_dump};
use crate::env::dbphp::DbSettings;
use crate::progress::{Cancel, Progress, Update};
use crate::restore::check::{self, CheckReport};
use crate::restore::media::{self, ExtractSummary, MediaError};
use crate::restore::owner::{self, AdminOp, OwnerError};
use crate::restore::prestage;
use crate::restore::snapshot::{self, SnapshotError};
use crate::store::standby::Staged;

/// Runs the forward steps not yet `done`, then commits, or rolls back on failure.
pub(super) fn drive(
    req: &Request,
    recorded: &Recorded,
    journal: &Journal,
    done: BTreeSet<String>,
    started: Instant,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Outcome, RestoreError> {
    let fresh = done.is_empty();
    let mut state = Forward {
        req,
        recorded,
        journal,
        done,
        steps: Vec::new(),
        import: None,
        media: None,
        strip: String::new(),
        warnings: Vec::new(),
    };
    match state.forward(fresh, progress, cancel) {
        Ok(check) => state.commit(check, started),
        Err(failure) => Err(fail(journal, recorded, &req.target, failure, progress)),
    }
}

/// What the database thread did: the snapshot's seconds, and the import's seconds and summary.
type DbPart = (Option<f64>, Option<(f64, ImportSummary)>);

/// The forward steps, shared by a new run and `--resume`.
struct Forward<'a> {
    req: &'a Request,
    recorded: &'a Recorded,
    journal: &'a Journal,
    /// Steps already journaled `done` (on resume).
    done: BTreeSet<String>,
    steps: Vec<(String, f64)>,
    import: Option<ImportSummary>,
    media: Option<ExtractSummary>,
    /// Where the media folders sit in the archive (`""`, `"web/"`…), from the verification: stripped when
    /// extracting. Found again on resume (the same file: its identity is checked).
    strip: String,
    warnings: Vec<String>,
}

impl Forward<'_> {
    fn forward(&mut self, fresh: bool, progress: &dyn Progress, cancel: &Cancel) -> Result<CheckReport, StepFailure> {
        let req = self.req;
        let rec = self.recorded;
        let journal = self.journal;

        // 1. Verify.
        let t = journal.start(step::VERIFY)?;
        let verification = {
            let history = journal
                .history
                .lock()
                .map_err(|_| StepFailure::new(step::VERIFY, "the journal is unusable", ADVICE_RETRY))?;
            operations::verify(&req.pair, Some(&history), false, progress, cancel)
        };
        if cancel.is_cancelled() {
            return Err(cancelled(step::VERIFY));
        }
        refuse_unverified(&verification).map_err(|e| StepFailure::new(step::VERIFY, e, ADVICE_SOURCE))?;
        // Where the media folders are in the archive; an archive that would leave the standby without media is
        // refused here, before anything changes.
        self.strip = media::media_plan(&verification.media.details)
            .map_err(|e| StepFailure::new(step::VERIFY, e, ADVICE_SOURCE))?
            .strip;
        self.unchanged(step::VERIFY)?;
        self.note(step::VERIFY, journal.done(step::VERIFY, t, serde_json::Value::Null)?);

        // 2. Preflight (on resume the target is already partly changed; its database may be empty).
        let t = journal.start(step::PREFLIGHT)?;
        let settings = if fresh {
            let (plan, settings) =
                preflight(req, Some(&verification)).map_err(|e| StepFailure::new(step::PREFLIGHT, e, ADVICE_RETRY))?;
            self.warnings.extend(plan.warnings);
            settings
        } else {
            req.target
                .database()
                .map_err(|e| StepFailure::new(step::PREFLIGHT, e, ADVICE_RETRY))?
        };
        self.note(
            step::PREFLIGHT,
            journal.done(step::PREFLIGHT, t, serde_json::Value::Null)?,
        );

        // 3–5. Snapshot then database, alongside the media.
        let work_cancel = Cancel::new();
        fs::create_dir_all(rec.work.join("media")).map_err(|e| {
            StepFailure::new(
                step::SNAPSHOT,
                format!("cannot create '{}': {e}", rec.work.display()),
                ADVICE_SPACE,
            )
        })?;
        let need_media = !self.done.contains(step::MEDIA);
        let need_snapshot = !self.done.contains(step::SNAPSHOT);
        let need_db = !self.done.contains(step::DATABASE);
        let (db_result, media_result) = std::thread::scope(|s| {
            let media_thread = s.spawn(|| {
                if !need_media {
                    return Ok(None);
                }
                let r = self.media_step(progress, cancel, &work_cancel);
                if r.is_err() {
                    work_cancel.cancel();
                }
                r
            });
            let db_result = (|| -> Result<DbPart, StepFailure> {
                let snap = if need_snapshot {
                    Some(self.snapshot_step(&settings, progress, cancel, &work_cancel)?)
                } else {
                    None
                };
                let import = if need_db {
                    Some(self.database_step(&settings, progress, cancel, &work_cancel)?)
                } else {
                    None
                };
                Ok((snap, import))
            })();
            if db_result.is_err() {
                work_cancel.cancel();
            }
            let media_result = media_thread.join().unwrap_or_else(|_| {
                Err(StepFailure::new(
                    step::MEDIA,
                    "the extraction stopped unexpectedly",
                    ADVICE_RETRY,
                ))
            });
            (db_result, media_result)
        });
        // The first real failure explains; a step stopped only because the other failed does not.
        let (db, media) = match (db_result, media_result) {
            (Ok(d), Ok(m)) => (d, m),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
            (Err(a), Err(b)) => return Err(if a.cancelled && !cancel.is_cancelled() { b } else { a }),
        };
        if let Some(s) = db.0 {
            self.note(step::SNAPSHOT, s);
        }
        if let Some((s, summary)) = db.1 {
            self.note(step::DATABASE, s);
            if summary.definers_rewritten > 0 {
                self.warnings.push(format!(
                    "{} DEFINER clauses were set to the target's database user.",
                    summary.definers_rewritten
                ));
            }
            self.import = Some(summary);
        }
        if let Some((s, summary)) = media {
            self.note(step::MEDIA, s);
            self.media = Some(summary);
        }
        if cancel.is_cancelled() {
            return Err(cancelled(step::MEDIA));
        }

        // 6. Set aside the live media, then swap the staged folders in: the staged folders given to the owner,
        // the live ones moved into the work folder, the staged ones into place. When that needs an
        // administrator, all of it (and the removal of old kept states) is one request.
        let (owner, privileges, admin) = self.rights(step::SET_ASIDE)?;
        let t = journal.start(step::SET_ASIDE)?;
        let mut first: Vec<AdminOp> = Vec::new();
        if admin {
            // Checked again just before root's chown, unless an interrupted request already gave it away.
            let ours = fs::symlink_metadata(&rec.staging)
                .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == privileges.euid);
            let handed = rec.media_dirs.iter().any(|d| {
                fs::symlink_metadata(rec.staging.join(d))
                    .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) != privileges.euid)
            });
            if ours && !handed {
                media::check_private_tree(&rec.staging)
                    .map_err(|e| StepFailure::new(step::SET_ASIDE, e, ADVICE_SOURCE))?;
            }
            for d in &rec.media_dirs {
                let staged = rec.staging.join(d);
                if fs::symlink_metadata(&staged).is_ok() {
                    first.push(AdminOp::Chown { path: staged });
                }
            }
            first.extend(expired_previous(
                &rec.web,
                req.keep_previous,
                Some(&rec.work),
                Some(&settings),
            ));
        }
        first.extend(rec.media_dirs.iter().filter_map(|d| set_aside_op(rec, d)));
        let swaps: Vec<AdminOp> = rec.media_dirs.iter().filter_map(|d| swap_op(rec, d)).collect();
        let runner = owner::admin_runner();
        let root = self.root();
        let run_ops = |ops: &[AdminOp], name: &'static str| {
            owner::run_admin_ops(ops, &owner, &root, &runner, &privileges)
                .map(|via| {
                    if let Some(via) = via {
                        log::info!("administrator rights for step '{name}' through {via:?}");
                    }
                })
                .map_err(|e: OwnerError| StepFailure::new(name, e, ADVICE_RETRY))
        };
        if admin {
            // One request: the swap is announced before it, as it may happen within it.
            let t_swap = journal.start(step::SWAP)?;
            let all: Vec<AdminOp> = first.iter().chain(&swaps).cloned().collect();
            run_ops(&all, step::SWAP)?;
            self.note(
                step::SET_ASIDE,
                journal.done(step::SET_ASIDE, t, serde_json::Value::Null)?,
            );
            let _ = fs::remove_dir(&rec.staging);
            self.sync_web();
            self.note(step::SWAP, journal.done(step::SWAP, t_swap, serde_json::Value::Null)?);
        } else {
            run_ops(&first, step::SET_ASIDE)?;
            self.note(
                step::SET_ASIDE,
                journal.done(step::SET_ASIDE, t, serde_json::Value::Null)?,
            );
            let t = journal.start(step::SWAP)?;
            for (i, op) in swaps.iter().enumerate() {
                run_ops(std::slice::from_ref(op), step::SWAP)?;
                if i == 0 {
                    // Between two folders: the worst moment for a crash, so the tests can aim at it.
                    fault("swap-between")?;
                }
            }
            for d in &rec.media_dirs {
                if fs::symlink_metadata(rec.staging.join(d)).is_err() && fs::symlink_metadata(rec.web.join(d)).is_err()
                {
                    return Err(StepFailure::new(
                        step::SWAP,
                        format!("'{d}' is missing from the staging folder"),
                        ADVICE_RETRY,
                    ));
                }
            }
            let _ = fs::remove_dir(&rec.staging);
            self.sync_web();
            self.note(step::SWAP, journal.done(step::SWAP, t, serde_json::Value::Null)?);
        }

        // 7. Check.
        let t = journal.start(step::CHECK)?;
        let expected_files = self.media.as_ref().map(|m| m.files);
        // Swapped in: the rows were counted when the pair was proven, and one rename moved them all (the
        // database step checked every table arrived); counting them again would cost seconds per million.
        let rows = if rec.prestaged.is_some() {
            None
        } else {
            self.import.as_ref().map(|i| i.rows_per_table.clone())
        };
        let report = check::check(&settings, rows.as_ref(), &req.target, expected_files);
        if !report.problems.is_empty() {
            return Err(StepFailure::new(
                step::CHECK,
                report.problems.join("; "),
                "The backup itself may be inconsistent: choose another one (secours restore --list-sources).",
            ));
        }
        self.warnings.extend(report.warnings.iter().cloned());
        self.note(
            step::CHECK,
            journal.done(step::CHECK, t, serde_json::to_value(&report).unwrap_or_default())?,
        );
        Ok(report)
    }

    fn note(&mut self, name: &str, seconds: f64) {
        self.steps.push((name.to_owned(), seconds));
    }

    /// The environment's folder, inside which every privileged operation must lie.
    fn root(&self) -> PathBuf {
        env_root(&self.recorded.web)
    }

    /// The renames themselves, durable before the check and commit build on them.
    fn sync_web(&self) {
        let rec = self.recorded;
        for dir in [rec.web.clone(), rec.work.join("media")] {
            if let Err(e) = crate::files::durable::sync_dir(&dir) {
                log::warn!("cannot sync the folder '{}': {e}", dir.display());
            }
        }
    }

    /// The media's owner, what this process may do, and whether moving and giving away the web server's
    /// folders needs an administrator.
    fn rights(&self, name: &'static str) -> Result<(owner::Owner, owner::Privileges, bool), StepFailure> {
        let rec = self.recorded;
        let owner = owner::resolve_owner(&rec.owner).map_err(|e| StepFailure::new(name, e, ADVICE_RETRY))?;
        let privileges = owner::Privileges::current().map_err(|e| StepFailure::new(name, e, ADVICE_RETRY))?;
        let live: Vec<PathBuf> = rec.media_dirs.iter().map(|d| rec.web.join(d)).collect();
        let admin = owner::needs_admin(&privileges, &owner, &live);
        Ok((owner, privileges, admin))
    }

    /// Stops the restore when the dump or the archive is no longer the file the restore began with.
    fn unchanged(&self, name: &'static str) -> Result<(), StepFailure> {
        self.recorded.unchanged().map_err(|changed| {
            StepFailure::new(
                name,
                changed,
                "Start the restore again: it will verify and use the backup as it is now.",
            )
        })
    }

    fn media_step(
        &self,
        progress: &dyn Progress,
        user: &Cancel,
        work: &Cancel,
    ) -> Result<Option<(f64, ExtractSummary)>, StepFailure> {
        let rec = self.recorded;
        if let Some(staged) = &rec.prestaged {
            return self.media_from_prestaged(staged);
        }
        let t = self.journal.start(step::MEDIA)?;
        // A staging left by a crash is incomplete: start it again.
        if fs::symlink_metadata(&rec.staging).is_ok() {
            remove_any(&rec.staging).map_err(|e| StepFailure::new(step::MEDIA, e, ADVICE_RETRY))?;
        }
        if !rec.web.is_dir() {
            fs::create_dir_all(&rec.web).map_err(|e| {
                StepFailure::new(
                    step::MEDIA,
                    format!("cannot create '{}': {e}", rec.web.display()),
                    ADVICE_RETRY,
                )
            })?;
        }
        let p = StepProgress::new(step::MEDIA, progress, user, work);
        let summary = media::extract_media_under(&rec.media_file, &rec.staging, &rec.media_dirs, &self.strip, &p, work)
            .map_err(|e| {
                let cancelled = matches!(e, MediaError::Cancelled { .. });
                let advice = if matches!(e, MediaError::Write { .. }) {
                    ADVICE_SPACE
                } else {
                    ADVICE_SOURCE
                };
                StepFailure {
                    cancelled,
                    ..StepFailure::new(step::MEDIA, e, advice)
                }
            })?;
        // Durable before the journal says done: the swap must never put half-written files in place.
        crate::files::durable::sync_tree(&rec.staging).map_err(|e| {
            StepFailure::new(
                step::MEDIA,
                format!("cannot write '{}' to disk: {e}", rec.staging.display()),
                ADVICE_SPACE,
            )
        })?;
        // The owner now when Secours may give the files itself (it runs as root, or as the owner), alongside the
        // import; otherwise in the one administrator request of the set-aside.
        let (owner, privileges, admin) = self.rights(step::MEDIA)?;
        // Nothing in the staged tree may lead root's chown elsewhere: one name per file, nothing others may write.
        media::check_private_tree(&rec.staging).map_err(|e| StepFailure::new(step::MEDIA, e, ADVICE_SOURCE))?;
        if !admin {
            let ops: Vec<AdminOp> = rec
                .media_dirs
                .iter()
                .map(|d| AdminOp::Chown {
                    path: rec.staging.join(d),
                })
                .collect();
            owner::run_admin_ops(&ops, &owner, &self.root(), &owner::admin_runner(), &privileges)
                .map_err(|e: OwnerError| StepFailure::new(step::MEDIA, e, ADVICE_RETRY))?;
        }
        self.unchanged(step::MEDIA)?;
        let details = serde_json::json!({ "files": summary.files, "bytes": summary.bytes, "owner_later": admin });
        let seconds = self.journal.done(step::MEDIA, t, details)?;
        Ok(Some((seconds, summary)))
    }

    /// The media step of a switch-over: the pre-staged folder becomes this restore's staging (one rename),
    /// given to the owner here when Secours may, else in the set-aside's one administrator request.
    fn media_from_prestaged(&self, staged: &Staged) -> Result<Option<(f64, ExtractSummary)>, StepFailure> {
        let rec = self.recorded;
        let t = self.journal.start(step::MEDIA)?;
        prestage::move_media(staged, &self.root(), &rec.staging).map_err(|e| {
            StepFailure::new(
                step::MEDIA,
                e,
                "Run 'secours restore --rollback', then restore again: it will import the backup.",
            )
        })?;
        let (owner, privileges, admin) = self.rights(step::MEDIA)?;
        if !admin && !staged.owner_set {
            media::check_private_tree(&rec.staging).map_err(|e| StepFailure::new(step::MEDIA, e, ADVICE_SOURCE))?;
            let ops: Vec<AdminOp> = rec
                .media_dirs
                .iter()
                .map(|d| rec.staging.join(d))
                .filter(|p| fs::symlink_metadata(p).is_ok())
                .map(|path| AdminOp::Chown { path })
                .collect();
            owner::run_admin_ops(&ops, &owner, &self.root(), &owner::admin_runner(), &privileges)
                .map_err(|e: OwnerError| StepFailure::new(step::MEDIA, e, ADVICE_RETRY))?;
        }
        let summary = ExtractSummary {
            files: staged.files,
            bytes: staged.media_bytes,
            ..ExtractSummary::default()
        };
        let details = serde_json::json!({ "files": summary.files, "bytes": summary.bytes, "owner_later": admin, "from": "pre-staged" });
        let seconds = self.journal.done(step::MEDIA, t, details)?;
        Ok(Some((seconds, summary)))
    }

    fn snapshot_step(
        &self,
        settings: &DbSettings,
        progress: &dyn Progress,
        user: &Cancel,
        work: &Cancel,
    ) -> Result<f64, StepFailure> {
        let t = self.journal.start(step::SNAPSHOT)?;
        let p = StepProgress::new(step::SNAPSHOT, progress, user, work);
        // The tables moved aside in a second when the user may create a database; a dump otherwise.
        match snapshot::set_aside(settings, &self.recorded.work, &p, work) {
            Ok(Some(aside)) => {
                return self.journal.done(
                    step::SNAPSHOT,
                    t,
                    serde_json::json!({ "form": "set-aside", "schema": aside.schema, "tables": aside.tables }),
                );
            }
            Ok(None) => {}
            Err(e) => {
                let cancelled = matches!(e, SnapshotError::Dump(DumpError::Cancelled { .. }));
                return Err(StepFailure {
                    cancelled,
                    ..StepFailure::new(step::SNAPSHOT, e, ADVICE_RETRY)
                });
            }
        }
        let mut conn =
            connect(settings).map_err(|e: ConnectError| StepFailure::new(step::SNAPSHOT, e, ADVICE_RETRY))?;
        let summary = dump_database(&mut conn, &self.recorded.snapshot(), &p, work).map_err(|e| {
            let cancelled = matches!(e, DumpError::Cancelled { .. });
            let advice = if matches!(e, DumpError::Io { .. }) {
                ADVICE_SPACE
            } else {
                ADVICE_RETRY
            };
            StepFailure {
                cancelled,
                ..StepFailure::new(step::SNAPSHOT, e, advice)
            }
        })?;
        self.journal.done(
            step::SNAPSHOT,
            t,
            serde_json::json!({ "tables": summary.tables, "rows": summary.rows, "bytes": summary.bytes }),
        )
    }

    fn database_step(
        &self,
        settings: &DbSettings,
        progress: &dyn Progress,
        user: &Cancel,
        work: &Cancel,
    ) -> Result<(f64, ImportSummary), StepFailure> {
        let t = self.journal.start(step::DATABASE)?;
        if let Some(staged) = &self.recorded.prestaged {
            // The switch-over: the pre-staged tables moved in, in one rename.
            let summary = prestage::move_in(settings, staged, &self.root()).map_err(|e| {
                StepFailure::new(
                    step::DATABASE,
                    e,
                    "Restore again: the backup will be imported instead of swapped in.",
                )
            })?;
            let seconds = self.journal.done(
                step::DATABASE,
                t,
                serde_json::json!({ "tables": summary.tables, "rows": summary.rows, "form": "pre-staged" }),
            )?;
            return Ok((seconds, summary));
        }
        let p = StepProgress::new(step::DATABASE, progress, user, work);
        let options = ImportOptions {
            replace: true,
            // The dump's objects may name prod's database user; on the target they belong to its own.
            rewrite_definers: true,
            connections: self.recorded.connections.max(1),
            // The dump was verified, and a rollback undoes an import that stops half-way: its checks
            // run as it goes instead of in one more read of the dump first.
            prescan: false,
            ..ImportOptions::default()
        };
        let summary = import_dump(settings, &self.recorded.db_file, &options, &p, work).map_err(|e| {
            let cancelled = matches!(e, ImportError::Cancelled { .. });
            StepFailure {
                cancelled,
                ..StepFailure::new(step::DATABASE, e, ADVICE_SOURCE)
            }
        })?;
        self.unchanged(step::DATABASE)?;
        let seconds = self.journal.done(
            step::DATABASE,
            t,
            serde_json::json!({ "tables": summary.tables, "rows": summary.rows }),
        )?;
        Ok((seconds, summary))
    }

    fn commit(self, check: CheckReport, started: Instant) -> Result<Outcome, RestoreError> {
        let rec = self.recorded;
        let kept_until = Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(self.req.keep_previous).unwrap_or_default())
            .unwrap_or_else(|_| Timestamp::now());
        let outcome = Outcome {
            operation: self.journal.id.0,
            kind: rec.kind,
            source: rec.source.clone(),
            target: rec.target.clone(),
            seconds: started.elapsed().as_secs_f64(),
            steps: self.steps,
            database: self.import,
            media: self.media,
            check: Some(check),
            previous: rec.work.clone(),
            kept_until,
            warnings: self.warnings,
            swapped: rec.prestaged.is_some(),
        };
        if let Err(f) = fault(step::COMMIT) {
            return Err(fail(self.journal, rec, &self.req.target, f, &crate::progress::Silent));
        }
        let details = serde_json::json!({
            "source": outcome.source, "target": outcome.target, "seconds": outcome.seconds,
            "steps": outcome.steps,
            "tables": outcome.database.as_ref().map(|d| d.tables), "rows": outcome.database.as_ref().map(|d| d.rows),
            "files": outcome.media.as_ref().map(|m| m.files), "media_bytes": outcome.media.as_ref().map(|m| m.bytes),
            "swapped": outcome.swapped,
            "previous": outcome.previous, "kept_until": outcome.kept_until,
        });
        self.journal.finish("ok", details)?;
        purge_previous(
            &rec.web,
            self.req.keep_previous,
            Some(&rec.work),
            self.req.target.database().ok().as_ref(),
        );
        Ok(outcome)
    }
}

fn cancelled(step: &'static str) -> StepFailure {
    StepFailure {
        cancelled: true,
        ..StepFailure::new(step, "cancelled", ADVICE_RETRY)
    }
}

/// Moves the live media folder `d` into the work folder; `None` when done already (it is there) or when
/// there is none.
fn set_aside_op(rec: &Recorded, d: &str) -> Option<AdminOp> {
    let live = rec.web.join(d);
    let aside = rec.aside(d);
    (fs::symlink_metadata(&aside).is_err() && fs::symlink_metadata(&live).is_ok())
        .then_some(AdminOp::Move { from: live, to: aside })
}

/// Moves the staged folder `d` into place; `None` when done already (staging no longer has it).
fn swap_op(rec: &Recorded, d: &str) -> Option<AdminOp> {
    let staged = rec.staging.join(d);
    fs::symlink_metadata(&staged).is_ok().then(|| AdminOp::Move {
        from: staged,
        to: rec.web.join(d),
    })
}

/// Progress that forwards to the caller's sink, stops the work when the user cancels, and serves the
/// `pause-in:` fault in the middle of a long step.
struct StepProgress<'a> {
    inner: &'a dyn Progress,
    user: &'a Cancel,
    work: &'a Cancel,
    /// The `pause-in:` fault, if armed (test builds only).
    pause: Option<MidStep>,
}

impl<'a> StepProgress<'a> {
    fn new(name: &str, inner: &'a dyn Progress, user: &'a Cancel, work: &'a Cancel) -> Self {
        StepProgress {
            inner,
            user,
            work,
            pause: MidStep::armed(name),
        }
    }
}

impl Progress for StepProgress<'_> {
    fn update(&self, update: Update) {
        if self.user.is_cancelled() {
            self.work.cancel();
        }
        if let Some(pause) = &self.pause {
            pause.report(update.step);
        }
        self.inner.update(update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn rec_in(root: &std::path::Path) -> Recorded {
        Recorded {
            kind: super::super::Kind::Restore,
            source: root.join("backup"),
            db_file: root.join("backup/gestion.gz"),
            media_file: root.join("backup/media.tar.gz"),
            target: "secours".to_owned(),
            web: root.join("web"),
            media_dirs: vec!["uploads".to_owned()],
            present: vec!["uploads".to_owned()],
            work: root.join(".secours-previous/s"),
            staging: root.join(".secours-staging-s"),
            owner: "daemon:daemon".to_owned(),
            connections: 1,
            db_identity: None,
            media_identity: None,
            prestaged: None,
        }
    }

    // Guards the resumable set-aside: the live folder is moved into the work folder once; when it is there
    // already (a resume after a crash), or when the target has no such folder, there is nothing to move.
    #[test]
    fn the_set_aside_moves_each_live_folder_once() {
        let root = tempfile::tempdir().unwrap();
        let rec = rec_in(root.path());
        assert_eq!(set_aside_op(&rec, "uploads"), None);
        fs::create_dir_all(rec.web.join("uploads")).unwrap();
        assert_eq!(
            set_aside_op(&rec, "uploads"),
            Some(AdminOp::Move {
                from: rec.web.join("uploads"),
                to: rec.aside("uploads"),
            })
        );
        fs::create_dir_all(rec.aside("uploads")).unwrap();
        assert_eq!(set_aside_op(&rec, "uploads"), None);
    }

    // Guards the resumable swap: a staged folder is moved into place; once staging no longer has it, the
    // swap of that folder is done.
    #[test]
    fn the_swap_moves_each_staged_folder_once() {
        let root = tempfile::tempdir().unwrap();
        let rec = rec_in(root.path());
        assert_eq!(swap_op(&rec, "uploads"), None);
        fs::create_dir_all(rec.staging.join("uploads")).unwrap();
        assert_eq!(
            swap_op(&rec, "uploads"),
            Some(AdminOp::Move {
                from: rec.staging.join("uploads"),
                to: rec.web.join("uploads"),
            })
        );
    }

    #[derive(Default)]
    struct Seen(Mutex<Vec<&'static str>>);

    impl Progress for Seen {
        fn update(&self, update: Update) {
            self.0.lock().unwrap().push(update.step);
        }
    }

    fn update(step: &'static str) -> Update {
        Update {
            step,
            done: 1,
            total: None,
            detail: None,
        }
    }

    // Guards the cancel of a long step: the user's cancel reaches the work at the next progress report, and
    // every report still reaches the caller.
    #[test]
    fn a_user_cancel_stops_the_work_at_the_next_report() {
        let (seen, user, work) = (Seen::default(), Cancel::new(), Cancel::new());
        let p = StepProgress::new(step::MEDIA, &seen, &user, &work);
        p.update(update("media"));
        assert!(!work.is_cancelled());
        user.cancel();
        p.update(update("media"));
        assert!(work.is_cancelled());
        assert_eq!(*seen.0.lock().unwrap(), ["media", "media"]);
    }

    // Guards the cancel's journal entry: it is marked cancelled (not a failure to explain) at its step.
    #[test]
    fn a_cancel_is_a_cancelled_failure_of_its_step() {
        let c = cancelled(step::VERIFY);
        assert!(c.cancelled);
        assert_eq!((c.step, c.cause.as_str()), (step::VERIFY, "cancelled"));
    }
}
