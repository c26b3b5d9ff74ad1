//! The state of every watched backup source, for `secours status`, the menu and monitoring.
//!
//! Gathering is metadata only (see `inspect`); judging is the pure `freshness::assess`. The overall
//! state is the worst of all sources, and its exit code follows the monitoring-plugin convention.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::backup::freshness::{self, Assessment, FileFacts, Reason, State, Thresholds};
use crate::backup::inspect::file_key;
use crate::backup::inspect::{self, FileObservation, FileState, FolderProblem, PairObservation};
use crate::backup::sources::sources;
use crate::env::config::Config;
use crate::i18n::{Lang, Texts, fill, local_minute};
use crate::platform::runner::CommandRunner;
use crate::timemachine::{self, TimeMachineStatus, TmState, TmThresholds};

/// The whole picture.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Worst of all sources.
    pub state: State,
    pub checked_at: Timestamp,
    pub sources: Vec<SourceStatus>,
    /// Time Machine, next to the hourly backup (`available: false` where there is none).
    pub time_machine: TimeMachineStatus,
    /// The newest safe copy at each configured destination.
    pub safe_copies: Vec<crate::backup::operations::CopyStatus>,
    /// Restore rehearsals (advice only: never part of the exit code).
    pub drill: DrillStatus,
    /// The standby made ready ahead of time (see `restore::prestage`); an unrestorable latest pair makes
    /// the state `unrestorable`.
    pub standby: StandbyStatus,
}

/// The pre-staged pair on the standby.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StandbyStatus {
    /// Whether pre-staging runs on this machine (`[standby] prestage`, and where the restore target is).
    pub enabled: bool,
    /// A pair is restored beside the target, proven, and waiting for the switch-over.
    pub ready: bool,
    /// That pair.
    pub pair: Option<StandbyPair>,
    pub proven_at: Option<Timestamp>,
    pub import_seconds: Option<f64>,
    /// The latest pair verifies but its trial restore failed (the state is then `unrestorable`).
    pub unrestorable: bool,
    /// Why it is not ready, or how the latest pair failed to restore; `None` when all is well.
    pub problem: Option<String>,
}

/// A pre-staged pair: where it came from and when it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandbyPair {
    pub folder: PathBuf,
    /// The backup's time (the older of the two files).
    pub time: Timestamp,
    pub db_modified: Timestamp,
    pub media_modified: Timestamp,
}

/// Why pre-staging does not run on this machine (`None`: it runs): `[standby] prestage = false`, or
/// `"auto"` and the restore target's web folder is not here.
pub fn prestage_off_reason(config: &Config) -> Option<String> {
    use crate::env::config::Prestage;
    match config.standby.prestage {
        Prestage::Off => Some("[standby] prestage = false".to_owned()),
        Prestage::On => None,
        Prestage::Auto => match crate::env::environment::named(config, &config.restore.target) {
            Ok(t) if t.web.is_dir() => None,
            Ok(t) => Some(format!(
                "the restore target's web folder '{}' is not on this machine ([standby] prestage = \"auto\")",
                t.web.display()
            )),
            Err(e) => Some(e.to_string()),
        },
    }
}

/// The history operation kind of the pre-staging (what `restore::prestage` records).
pub const PRESTAGE: &str = "prestage";

/// The newest pre-staging that failed with no proven pair since, and its outcome's details (an empty object
/// when it has none).
pub fn last_prestage_failure(
    history: &crate::store::history::History,
) -> Option<(crate::store::history::Operation, serde_json::Value)> {
    let last_ok = history.last_operation(PRESTAGE, Some("ok")).ok().flatten();
    let failed = history.last_operation(PRESTAGE, Some("failed")).ok().flatten()?;
    if last_ok.is_some_and(|ok| ok.id > failed.id) {
        return None;
    }
    let details = failed
        .outcome_details_json
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    Some((failed, details))
}

/// The standby's pre-staged pair, from its record and history.
pub fn standby(config: &Config, history: Option<&crate::store::history::History>, lang: Lang) -> StandbyStatus {
    if prestage_off_reason(config).is_some() {
        return StandbyStatus::default();
    }
    let mut out = StandbyStatus {
        enabled: true,
        ..StandbyStatus::default()
    };
    let root = crate::env::environment::named(config, &config.restore.target)
        .ok()
        .map(|t| t.beside_web());
    let record = root.as_deref().map(crate::store::standby::read);
    match record {
        Some(Ok(state)) => {
            if let (Some(staged), Some(root)) = (state.ready, root.as_deref())
                && staged.media_dir(root).is_dir()
            {
                out.ready = true;
                out.pair = Some(StandbyPair {
                    folder: staged.folder.clone(),
                    time: staged.backup_time(),
                    db_modified: staged.db_modified,
                    media_modified: staged.media_modified,
                });
                out.proven_at = Some(staged.proven_at);
                out.import_seconds = Some(staged.import_seconds);
            }
        }
        Some(Err(e)) => out.problem = Some(e.to_string()),
        None => {}
    }
    let Some(h) = history else {
        return out;
    };
    if let Some((_, details)) = last_prestage_failure(h) {
        let text = |k: &str| details.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        out.unrestorable = details.get("unrestorable").and_then(|v| v.as_bool()).unwrap_or(false);
        let time = details
            .get("backup_time")
            .and_then(|f| f.as_str())
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(local_minute)
            .unwrap_or_else(|| text("folder"));
        out.problem = Some(if out.unrestorable {
            fill(
                lang.standby().unrestorable,
                &[("time", &time), ("step", &text("step")), ("error", &text("error"))],
            )
        } else {
            text("error")
        });
    } else if !out.ready && out.problem.is_none() {
        out.problem = Some("no backup is pre-staged yet".to_owned());
    }
    out
}

/// The standby's line for people (status text, menu): ready with the backup's time, or the unrestorable
/// pair; `None` where pre-staging does not run or has nothing to say yet.
pub fn standby_line(standby: &StandbyStatus, lang: Lang) -> Option<String> {
    if !standby.enabled {
        return None;
    }
    if standby.unrestorable {
        return standby.problem.clone();
    }
    let pair = standby.pair.as_ref()?;
    Some(fill(lang.standby().menu_ready, &[("time", &local_minute(pair.time))]))
}

/// Sets the standby's status and makes the overall state `unrestorable` when the latest pair is.
pub fn apply_standby(
    report: &mut StatusReport,
    config: &Config,
    history: Option<&crate::store::history::History>,
    lang: Lang,
) {
    report.standby = standby(config, history, lang);
    if report.standby.unrestorable {
        report.state = report.state.worst(State::Unrestorable);
    }
}

/// Restore rehearsals ("drills"): every successful restore onto the standby counts as one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DrillStatus {
    /// When the last successful restore finished; `None` when there never was one.
    pub last: Option<Timestamp>,
    /// Never done, or longer ago than `[drill] every`: a rehearsal is advised.
    pub due: bool,
    /// `[drill] every`, in whole days.
    pub every_days: u64,
    /// The last real restore (not counting the pairs proven ahead of time).
    pub last_restore: Option<Timestamp>,
}

impl DrillStatus {
    /// Judges the last drill against the advised rhythm.
    pub fn judge(last: Option<Timestamp>, every: Duration, now: Timestamp) -> DrillStatus {
        let every_secs = i64::try_from(every.as_secs()).unwrap_or(i64::MAX);
        DrillStatus {
            last,
            due: last.is_none_or(|at| now.as_second() - at.as_second() > every_secs),
            every_days: every.as_secs() / 86_400,
            last_restore: None,
        }
    }
}

/// When the last drill ended: the newest restore that finished `ok`, or the newest pair the standby
/// proved restorable ahead of time (each is a full restore, beside the target); unfinished or failed ones
/// do not count. `None` also when history cannot say.
pub fn last_drill(history: &crate::store::history::History) -> Option<Timestamp> {
    last_restore(history).max(
        history
            .last_operation(PRESTAGE, Some("ok"))
            .ok()
            .flatten()
            .and_then(|op| op.finished_at),
    )
}

/// When the last real restore onto the standby finished `ok`.
pub fn last_restore(history: &crate::store::history::History) -> Option<Timestamp> {
    history
        .last_operation("restore", Some("ok"))
        .ok()
        .flatten()
        .and_then(|op| op.finished_at)
}

/// The drill status from history (`None`: no history, so no drill is known).
pub fn drill(config: &Config, history: Option<&crate::store::history::History>, now: Timestamp) -> DrillStatus {
    DrillStatus {
        last_restore: history.and_then(last_restore),
        ..DrillStatus::judge(history.and_then(last_drill), config.drill.every.0, now)
    }
}

impl StatusReport {
    /// The process exit code: the backups' state, made worse by Time Machine (stale or excluded → 2,
    /// late → 1); an unavailable Time Machine changes nothing, and neither does a drill due.
    pub fn exit_code(&self) -> u8 {
        let tm = match self.time_machine.state {
            TmState::Stale | TmState::Excluded => 2,
            TmState::Late => 1,
            _ => 0,
        };
        self.state.exit_code().max(tm)
    }
}

/// One watched folder.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The environment's name, or the watched folder's name.
    pub name: String,
    pub folder: PathBuf,
    /// Where the pair was found (a dated sub-folder for safe copies).
    pub pair_folder: PathBuf,
    pub state: State,
    pub age_seconds: Option<i64>,
    pub reason: Option<Reason>,
    /// What is wrong and what to do, in the user's language.
    pub problem: Option<String>,
    pub db: FileStatus,
    pub media: FileStatus,
    /// What makes the current pair suspect (see `anomaly`); empty when nothing does.
    pub anomalies: Vec<crate::backup::anomaly::Anomaly>,
}

/// One file of a pair.
#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    pub path: PathBuf,
    pub bytes: Option<u64>,
    pub modified: Option<Timestamp>,
    pub problem: Option<String>,
    #[serde(skip)]
    pub observation: Option<FileObservation>,
}

/// The freshness thresholds of a configuration.
pub fn thresholds(config: &Config) -> Thresholds {
    Thresholds::new(config.freshness.late_after.0, config.freshness.stale_after.0)
}

/// Observes and judges every source. `is_corrupt` tells whether verification found a file broken
/// (from history; it never rereads the file). The drill is judged as never done: a caller holding the
/// history sets it with [`drill`].
pub fn gather(
    config: &Config,
    lang: Lang,
    now: Timestamp,
    is_corrupt: &dyn Fn(&FileObservation) -> bool,
) -> StatusReport {
    let th = thresholds(config);
    let list: Vec<SourceStatus> = sources(config)
        .into_iter()
        .map(|s| {
            let obs = inspect::observe_folder(&s.folder, s.dbname.as_deref());
            judge(s.name, obs, &th, lang, now, is_corrupt)
        })
        .collect();
    let state = list.iter().fold(State::Fresh, |acc, s| acc.worst(s.state));
    // Nothing watched is not "fresh": say we do not know.
    let state = if list.is_empty() { State::Unknown } else { state };
    // A backup that never left the machine is at risk: a missing or old safe copy makes it late.
    let safe_copies = crate::backup::operations::copy_statuses(config, now);
    let copy_at_risk = safe_copies.iter().any(|c| {
        c.problem.is_some()
            || c.age_seconds
                .is_none_or(|a| a as u64 > config.freshness.stale_after.as_secs())
    });
    let state = if copy_at_risk { state.worst(State::Late) } else { state };
    StatusReport {
        state,
        checked_at: now,
        sources: list,
        time_machine: TimeMachineStatus::unavailable(),
        safe_copies,
        drill: DrillStatus::judge(None, config.drill.every.0, now),
        standby: StandbyStatus::default(),
    }
}

/// Asks Time Machine (through `runner`) about the first watched folder and its latest pair.
pub fn read_time_machine(
    config: &Config,
    report: &StatusReport,
    runner: &dyn CommandRunner,
    lang: Lang,
) -> TimeMachineStatus {
    let tm = &config.time_machine;
    let Some(first) = report.sources.first() else {
        return TimeMachineStatus::unavailable();
    };
    let pair_mtime = match (first.db.modified, first.media.modified) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    let thresholds = TmThresholds {
        late_after: tm.late_after.0,
        stale_after: tm.stale_after.0,
    };
    let now = report.checked_at.to_zoned(jiff::tz::TimeZone::system());
    let tmutil = tm.enabled.then_some(tm.tmutil.as_path());
    let mut status = timemachine::read_status(runner, tmutil, &first.folder, pair_mtime, &thresholds, &now);
    status.localize(lang);
    status
}

fn facts(f: &FileState, is_corrupt: &dyn Fn(&FileObservation) -> bool) -> FileFacts {
    match f {
        FileState::Present(o) => FileFacts::Present {
            modified: o.modified,
            corrupt: is_corrupt(o),
        },
        FileState::Absent { .. } => FileFacts::Absent,
        FileState::Unreadable { .. } => FileFacts::Unreadable,
    }
}

/// Judges one observed pair.
pub fn judge(
    name: String,
    obs: PairObservation,
    th: &Thresholds,
    lang: Lang,
    now: Timestamp,
    is_corrupt: &dyn Fn(&FileObservation) -> bool,
) -> SourceStatus {
    let t = lang.t();
    let a = freshness::assess(&facts(&obs.db, is_corrupt), &facts(&obs.media, is_corrupt), th, now);
    // A problem with the folder explains the state better than the state's own reason.
    let problem = match &obs.folder_problem {
        Some(fp) => Some(folder_problem_text(fp, t)),
        None => reason_text(&a, th, t),
    };
    SourceStatus {
        name,
        folder: obs.folder.clone(),
        pair_folder: obs.pair_folder.clone(),
        state: a.state,
        age_seconds: a.age_seconds,
        reason: a.reason.clone(),
        problem,
        db: file_status(&obs.db, t),
        media: file_status(&obs.media, t),
        anomalies: Vec::new(),
    }
}

/// Marks the sources whose current pair departs sharply from the last good ones (`suspect`, exit code 1,
/// unless their state is already worse) and lists what changed in `anomalies`. A pair verified but not yet
/// judged is judged now (from the verification's details in history: nothing is read again).
pub fn apply_anomalies(
    report: &mut StatusReport,
    config: &Config,
    history: &crate::store::history::History,
    lang: Lang,
) {
    if !config.anomaly.enabled {
        return;
    }
    let now = report.checked_at;
    for s in &mut report.sources {
        let (Some(db), Some(media)) = (&s.db.observation, &s.media.observation) else {
            continue;
        };
        let Some(j) = crate::backup::anomaly::judgement(history, &config.anomaly, &s.folder, db, media, now) else {
            continue;
        };
        if !j.is_suspect() {
            continue;
        }
        s.anomalies = j.anomalies(lang, now);
        if s.state.worst(State::Suspect) == State::Suspect {
            s.state = State::Suspect;
            s.reason = Some(Reason::Suspect);
            s.problem = Some(format!("{}. {}", j.summary(lang, now), lang.report().advice));
        }
    }
    report.state = report.sources.iter().fold(report.state, |acc, s| acc.worst(s.state));
}

fn file_status(f: &FileState, t: &Texts) -> FileStatus {
    match f {
        FileState::Present(o) => FileStatus {
            path: o.path.clone(),
            bytes: Some(o.bytes),
            modified: Some(o.modified),
            problem: None,
            observation: Some(o.clone()),
        },
        FileState::Absent { path } => FileStatus {
            path: path.clone(),
            bytes: None,
            modified: None,
            problem: Some(t.state_missing.to_owned()),
            observation: None,
        },
        FileState::Unreadable { path, error } => FileStatus {
            path: path.clone(),
            bytes: None,
            modified: None,
            problem: Some(error.clone()),
            observation: None,
        },
    }
}

fn folder_problem_text(p: &FolderProblem, t: &Texts) -> String {
    match p {
        FolderProblem::Absent => format!("{} {}", t.folder_absent, t.advice_missing),
        FolderProblem::NotAFolder => t.folder_not_a_folder.to_owned(),
        FolderProblem::Unreadable { error } => fill(t.folder_unreadable, &[("error", error)]),
        FolderProblem::SeveralDumps { names } => {
            let list = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
            fill(t.folder_several_dumps, &[("names", &list)])
        }
    }
}

fn reason_text(a: &Assessment, th: &Thresholds, t: &Texts) -> Option<String> {
    let limit = |secs: u64| t.age(secs as i64);
    let text = match a.reason.as_ref()? {
        Reason::DbMissing => format!("{}. {}", t.reason_db_missing, t.advice_missing),
        Reason::MediaMissing => format!("{}. {}", t.reason_media_missing, t.advice_missing),
        Reason::BothMissing => format!("{}. {}", t.reason_both_missing, t.advice_missing),
        Reason::Unreadable => format!("{}. {}", t.reason_unreadable, t.advice_unknown),
        Reason::Corrupt => format!("{}. {}", t.reason_corrupt, t.advice_corrupt),
        Reason::ClockSkew { seconds_ahead } => fill(t.reason_clock_skew, &[("age", &t.age(*seconds_ahead))]),
        Reason::Writing => t.reason_writing.to_owned(),
        Reason::Suspect => t.state_suspect.to_owned(),
        Reason::Old if a.state == State::Stale => {
            format!(
                "{}. {}",
                fill(t.reason_stale, &[("limit", &limit(th.stale_after.as_secs()))]),
                t.advice_stale
            )
        }
        Reason::Old => fill(t.reason_late, &[("limit", &limit(th.late_after.as_secs()))]),
    };
    Some(text)
}

/// The report as text for a terminal.
pub fn render_text(report: &StatusReport, lang: Lang) -> String {
    let t = lang.t();
    let mut out = fill(t.overall, &[("state", report.state.word(t))]);
    out.push('\n');
    let tm = &report.time_machine;
    if tm.available {
        let when = match tm.latest_backup {
            Some(at) => fill(
                t.ago,
                &[("age", &t.age(report.checked_at.as_second() - at.as_second()))],
            ),
            None => "—".to_owned(),
        };
        let mut line = fill(t.tm_line, &[("when", &when)]);
        if tm.running {
            line.push_str(&format!(" ({} {} %)", t.tm_running, tm.percent));
        }
        if let Some(m) = &tm.message {
            line.push_str(&format!(" — {m}"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    for c in &report.safe_copies {
        let line = match (&c.problem, c.age_seconds) {
            (Some(p), _) => fill(
                t.copy_problem,
                &[("dest", &c.destination.display().to_string()), ("problem", p)],
            ),
            (None, Some(age)) => fill(
                t.copy_line,
                &[("dest", &c.destination.display().to_string()), ("age", &t.age(age))],
            ),
            (None, None) => fill(t.copy_none, &[("dest", &c.destination.display().to_string())]),
        };
        out.push_str(&line);
        out.push('\n');
    }
    let drill = &report.drill;
    let mut line = match drill.last {
        Some(at) => fill(
            t.menu_last_drill,
            &[("age", &t.age(report.checked_at.as_second() - at.as_second()))],
        ),
        None => t.menu_no_drill.to_owned(),
    };
    if drill.due {
        line.push_str(" — ");
        line.push_str(t.menu_drill_due);
    }
    out.push_str(&line);
    out.push('\n');
    if let Some(line) = standby_line(&report.standby, lang) {
        out.push_str(&line);
        out.push('\n');
    }
    for s in &report.sources {
        out.push('\n');
        out.push_str(&fill(
            t.source_line,
            &[
                ("name", &s.name),
                ("folder", &s.folder.display().to_string()),
                ("state", s.state.word(t)),
            ],
        ));
        out.push('\n');
        if let (Some(age), Some(db), Some(media)) = (s.age_seconds, s.db.bytes, s.media.bytes) {
            out.push_str("  ");
            out.push_str(&fill(
                t.last_backup,
                &[("age", &t.age(age)), ("db", &t.bytes(db)), ("media", &t.bytes(media))],
            ));
            out.push('\n');
        } else {
            out.push_str(&format!("  {}\n", t.no_backup));
        }
        for (label, f) in [(t.database, &s.db), (t.media, &s.media)] {
            let path = f.path.display().to_string();
            let line = match (f.bytes, f.modified) {
                (Some(bytes), Some(m)) => {
                    let secs = report.checked_at.as_second() - m.as_second();
                    let when = if secs >= 0 {
                        fill(t.ago, &[("age", &t.age(secs))])
                    } else {
                        fill(t.in_future, &[("age", &t.age(-secs))])
                    };
                    fill(
                        t.file_line,
                        &[
                            ("label", label),
                            ("path", &path),
                            ("size", &t.bytes(bytes)),
                            ("when", &when),
                        ],
                    )
                }
                _ if f.problem.as_deref() == Some(t.state_missing) => {
                    fill(t.file_absent, &[("label", label), ("path", &path)])
                }
                _ => fill(
                    t.file_unreadable,
                    &[
                        ("label", label),
                        ("path", &path),
                        ("error", f.problem.as_deref().unwrap_or("")),
                    ],
                ),
            };
            out.push_str(&format!("  {line}\n"));
        }
        if let Some(p) = &s.problem {
            out.push_str(&format!("  → {p}\n"));
        }
    }
    out
}

/// Whether history holds a failed verification for this very file (no rereading).
pub fn corrupt_in_history(history: &crate::store::history::History, o: &FileObservation) -> bool {
    matches!(
        history.verification(&file_key(o)),
        Ok(Some(v)) if v.verdict.is_bad()
    )
}

/// Records a report in history: one observation per source (deduplicated by history) and the state
/// changes. Returns the changes. Failures are logged: watching must go on without history.
pub fn record(
    report: &StatusReport,
    history: &crate::store::history::History,
) -> Vec<crate::store::history::StateChange> {
    let mut changes = Vec::new();
    // The report draws Time Machine's backups next to the hourly pairs.
    if let Some(at) = report.time_machine.latest_backup
        && let Err(e) = history.record_time_machine_backup(at, report.checked_at)
    {
        log::warn!("{e}");
    }
    for s in &report.sources {
        let obs = crate::store::history::ObservationRecord {
            at: report.checked_at,
            source: s.name.clone(),
            state: s.state.as_str().to_owned(),
            age_seconds: s.age_seconds,
            db_bytes: s.db.bytes,
            media_bytes: s.media.bytes,
            detail: None,
        };
        if let Err(e) = history.record_observation(&obs) {
            log::warn!("{e}");
        }
        match history.record_state(&s.name, s.state.as_str(), report.checked_at) {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(e) => log::warn!("{e}"),
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the rule shared with the menu: due when never done or strictly older than `every`.
    #[test]
    fn a_drill_is_due_when_never_done_or_too_old() {
        let now = Timestamp::from_second(1_764_079_200).unwrap();
        let ago = |days: i64| Some(Timestamp::from_second(now.as_second() - days * 86_400).unwrap());
        let every = Duration::from_secs(182 * 86_400);
        assert!(DrillStatus::judge(None, every, now).due);
        assert!(!DrillStatus::judge(ago(40), every, now).due);
        assert!(!DrillStatus::judge(ago(182), every, now).due);
        assert!(DrillStatus::judge(ago(183), every, now).due);
        assert_eq!(DrillStatus::judge(None, every, now).every_days, 182);
    }
}
