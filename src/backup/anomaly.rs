//! Backups that look wrong: a pair can be complete and readable and still not what the office needs — the
//! dump half its usual size because a table was emptied by mistake, `media.taz` holding 200 files instead of
//! 5,000 because a folder was moved. Verification reads every pair completely, so it also knows its
//! *shape*: the dump's uncompressed size and each table's rows (counted in the same read, see
//! [`crate::backup::verify::DumpShape`]), the media's files and bytes, in total and per media folder.
//!
//! Rules ([`judge`], a pure function; thresholds under `[anomaly]`): a new pair is **suspect** when, against
//! the median of the last `compare-with` good pairs of the same watched folder,
//! - the database (uncompressed) shrank by more than `db-shrink-percent` (`db-shrunk`);
//! - a table that had rows (in the median) has none (`table-emptied`) or is missing (`table-missing`);
//! - the media's bytes shrank by more than `media-shrink-percent` (`media-shrunk`);
//! - the media lost more than `files-drop-percent` of their files (`files-dropped`).
//!
//! Growth is never an anomaly. The first pair of a folder has nothing to be compared with: it is the first
//! reference. A suspect pair is not a reference for the next pairs; when the user says the change is
//! expected ([`accept`]), it becomes the reference and the pairs before it are no longer compared with.
//!
//! Guarantees: a pair is judged once (history keeps the judgement by its files' path, size, time and inode,
//! see [`crate::store::history::History::record_pair_shape`]) and the judgement is metadata only for every later
//! look; nothing here reads a backup file. Judgements are language-free; messages are made when shown.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::backup::inspect::FileObservation;
use crate::backup::inspect::file_key;
use crate::backup::verify::{DumpShape, MediaLayout};
use crate::env::config::{AnomalyConfig, Config};
use crate::i18n::{Lang, fill};
use crate::store::history::{History, HistoryError, PairShapeRecord};

/// What a verified pair holds, as compared with the next pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// The dump's uncompressed size.
    pub db_bytes: Option<u64>,
    /// Each table and its rows; `None` when the verification did not count them (recorded before it did).
    #[serde(default)]
    pub tables: Option<BTreeMap<String, u64>>,
    /// Files in the whole archive.
    pub media_files: Option<u64>,
    /// Bytes of file data in the whole archive.
    pub media_bytes: Option<u64>,
    /// Per media folder (`documents`, `pictures`).
    #[serde(default)]
    pub folders: BTreeMap<String, FolderShape>,
}

/// One media folder's files and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderShape {
    pub files: u64,
    pub bytes: u64,
}

impl Shape {
    /// The shape from the two files' stored verification details (the `FileOutcome`s as JSON).
    pub fn from_details(db: &serde_json::Value, media: &serde_json::Value) -> Shape {
        let number = |v: &serde_json::Value, path: &[&str]| {
            path.iter()
                .try_fold(v, |v, k| v.get(*k))
                .and_then(serde_json::Value::as_u64)
        };
        let folders = MediaLayout::from_details(media)
            .map(|l| {
                l.folders
                    .iter()
                    .map(|f| {
                        (
                            f.name.clone(),
                            FolderShape {
                                files: f.files,
                                bytes: f.bytes,
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Shape {
            db_bytes: number(db, &["decompressed_bytes"]),
            tables: DumpShape::from_details(db).map(|s| s.tables),
            media_files: number(media, &["counts", "files"]),
            media_bytes: number(media, &["counts", "bytes"]),
            folders,
        }
    }
}

/// What departs from the earlier pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    DbShrunk,
    TableEmptied,
    TableMissing,
    MediaShrunk,
    FilesDropped,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DbShrunk => "db-shrunk",
            Kind::TableEmptied => "table-emptied",
            Kind::TableMissing => "table-missing",
            Kind::MediaShrunk => "media-shrunk",
            Kind::FilesDropped => "files-dropped",
        }
    }
}

/// One departure, without words (stored in history). `before` is the median of the earlier pairs, `now`
/// the new pair's value: bytes for `db-shrunk` and `media-shrunk`, rows for the table kinds, files for
/// `files-dropped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    pub before: u64,
    pub now: u64,
    /// The table, for `table-emptied` and `table-missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// For `files-dropped`: the media folder that lost the most files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// One anomaly as `status --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// `db-shrunk`, `media-shrunk`, `table-emptied`, `table-missing` or `files-dropped`.
    pub kind: Kind,
    pub before: u64,
    pub now: u64,
    /// What changed, in words, in the user's language.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// The median (the mean of the two middle values for an even count); `None` for no value.
pub fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        Some(values[mid])
    } else {
        Some(((u128::from(values[mid - 1]) + u128::from(values[mid])) / 2) as u64)
    }
}

/// True when `now` is smaller than `before` by more than `percent` percent.
fn shrank(before: u64, now: u64, percent: u32) -> bool {
    u128::from(now) * 100 < u128::from(before) * u128::from(100u32.saturating_sub(percent))
}

/// The whole percentage lost from `before` to `now` (rounded down: 99.7 % lost is never "100 %").
pub fn percent_lost(before: u64, now: u64) -> u64 {
    if before == 0 || now >= before {
        return 0;
    }
    (u128::from(before - now) * 100 / u128::from(before)) as u64
}

/// Compares a new pair with the earlier good ones (see the module documentation). `refs` in any order.
pub fn judge(now: &Shape, refs: &[Shape], rules: &AnomalyConfig) -> Vec<Finding> {
    let mut found = Vec::new();
    if !rules.enabled || refs.is_empty() {
        return found;
    }
    let typical = |get: &dyn Fn(&Shape) -> Option<u64>| median(&mut refs.iter().filter_map(get).collect::<Vec<_>>());
    let finding = |kind, before, now| Finding {
        kind,
        before,
        now,
        table: None,
        folder: None,
    };

    if let (Some(n), Some(m)) = (now.db_bytes, typical(&|s| s.db_bytes))
        && shrank(m, n, rules.db_shrink_percent)
    {
        found.push(finding(Kind::DbShrunk, m, n));
    }
    if rules.empty_tables
        && let Some(tables) = &now.tables
    {
        let counted: Vec<&BTreeMap<String, u64>> = refs.iter().filter_map(|s| s.tables.as_ref()).collect();
        let names: std::collections::BTreeSet<&String> = counted.iter().flat_map(|t| t.keys()).collect();
        for name in names {
            if rules.ignore_tables.iter().any(|i| i == name) {
                continue;
            }
            let mut rows: Vec<u64> = counted.iter().map(|t| t.get(name).copied().unwrap_or(0)).collect();
            let before = median(&mut rows).unwrap_or(0);
            if before == 0 {
                continue;
            }
            let kind = match tables.get(name) {
                None => Kind::TableMissing,
                Some(0) => Kind::TableEmptied,
                Some(_) => continue,
            };
            found.push(Finding {
                table: Some(name.clone()),
                ..finding(kind, before, 0)
            });
        }
    }
    if let (Some(n), Some(m)) = (now.media_bytes, typical(&|s| s.media_bytes))
        && shrank(m, n, rules.media_shrink_percent)
    {
        found.push(finding(Kind::MediaShrunk, m, n));
    }
    if let (Some(n), Some(m)) = (now.media_files, typical(&|s| s.media_files))
        && shrank(m, n, rules.files_drop_percent)
    {
        // The folder that lost the most files says where to look.
        let folder = refs
            .iter()
            .flat_map(|s| s.folders.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|name| {
                let mut files: Vec<u64> = refs
                    .iter()
                    .map(|s| s.folders.get(name).map_or(0, |f| f.files))
                    .collect();
                let before = median(&mut files)?;
                let lost = before.saturating_sub(now.folders.get(name).map_or(0, |f| f.files));
                (lost > 0).then_some((lost, name.clone()))
            })
            .max_by_key(|(lost, _)| *lost)
            .map(|(_, name)| name);
        found.push(Finding {
            folder,
            ..finding(Kind::FilesDropped, m, n)
        });
    }
    found
}

/// The stored verdict of a pair: what departs, and the time of the newest pair it was compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    findings: Vec<Finding>,
}

/// A pair's judgement, as history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub record: PairShapeRecord,
    pub findings: Vec<Finding>,
    /// The newest earlier pair it was compared with ("since yesterday").
    pub since: Option<Timestamp>,
}

impl Judgement {
    fn from_record(record: PairShapeRecord) -> Judgement {
        let stored: Stored = serde_json::from_str(&record.findings_json).unwrap_or_default();
        Judgement {
            findings: stored.findings,
            since: stored.since.and_then(|s| Timestamp::from_second(s).ok()),
            record,
        }
    }

    /// Suspect, and not (yet) accepted.
    pub fn is_suspect(&self) -> bool {
        self.record.status == "suspect"
    }

    /// The anomalies with their messages.
    pub fn anomalies(&self, lang: Lang, now: Timestamp) -> Vec<Anomaly> {
        anomalies(&self.findings, self.since, lang, now)
    }

    /// All that changed, in one sentence.
    pub fn summary(&self, lang: Lang, now: Timestamp) -> String {
        summary(&self.findings, self.since, lang, now)
    }
}

/// The judgement of the pair `db` + `media` found in the watched folder `series`: the stored one, or, when
/// both files were verified ok and it was not judged yet, a new one (compared with the folder's earlier
/// good pairs, then stored). `None` when the pair is not verified ok, or history cannot say.
pub fn judgement(
    history: &History,
    rules: &AnomalyConfig,
    series: &Path,
    db: &FileObservation,
    media: &FileObservation,
    now: Timestamp,
) -> Option<Judgement> {
    let (db_key, media_key) = (file_key(db), file_key(media));
    match history.pair_shape(series, &db_key, &media_key) {
        Ok(Some(r)) => return Some(Judgement::from_record(r)),
        Ok(None) => {}
        Err(e) => {
            log::warn!("{e}");
            return None;
        }
    }
    let verified = |key| {
        history
            .verification(key)
            .ok()
            .flatten()
            .filter(|v| v.verdict.is_ok())
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v.details_json).ok())
    };
    let (db_details, media_details) = (verified(&db_key)?, verified(&media_key)?);
    let shape = Shape::from_details(&db_details, &media_details);
    let pair_at = db.modified.min(media.modified);
    let refs = match history.reference_shapes(series, pair_at, rules.compare_with) {
        Ok(r) => r,
        Err(e) => {
            log::warn!("{e}");
            return None;
        }
    };
    let since = refs.first().map(|r| r.pair_at.as_second());
    let ref_shapes: Vec<Shape> = refs
        .iter()
        .filter_map(|r| serde_json::from_str(&r.shape_json).ok())
        .collect();
    let findings = judge(&shape, &ref_shapes, rules);
    let status = if findings.is_empty() { "reference" } else { "suspect" };
    if status == "suspect" {
        log::warn!(
            "the backup in '{}' departs from the earlier ones: {}",
            series.display(),
            summary(&findings, None, Lang::En, now)
        );
    }
    let record = PairShapeRecord {
        id: 0,
        series: series.to_owned(),
        pair_at,
        db: db_key,
        media: media_key,
        shape_json: serde_json::to_string(&shape).unwrap_or_else(|_| "{}".to_owned()),
        status: status.to_owned(),
        findings_json: serde_json::to_string(&Stored { since, findings }).unwrap_or_else(|_| "{}".to_owned()),
        judged_at: now,
        accepted_at: None,
        accepted_by: None,
    };
    match history.record_pair_shape(&record) {
        Ok(stored) => Some(Judgement::from_record(stored)),
        Err(e) => {
            log::warn!("{e}");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Words.

/// `5 000` / `5,000`.
fn count(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Fr => "\u{202f}",
        Lang::En => ",",
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// "since yesterday", "since 13:00", "since 2026-11-20".
fn since_text(since: Option<Timestamp>, lang: Lang, now: Timestamp) -> String {
    let t = lang.report();
    let Some(since) = since else {
        return String::new();
    };
    let tz = jiff::tz::TimeZone::system();
    let (then, today) = (since.to_zoned(tz.clone()), now.to_zoned(tz));
    if then.date() == today.date() {
        fill(t.since_today, &[("time", &then.strftime("%H:%M").to_string())])
    } else if today.date().yesterday().is_ok_and(|y| y == then.date()) {
        t.since_yesterday.to_owned()
    } else {
        let date = match lang {
            Lang::Fr => then.strftime("%d/%m").to_string(),
            Lang::En => then.strftime("%Y-%m-%d").to_string(),
        };
        fill(t.since_date, &[("date", &date)])
    }
}

/// One finding in words (not capitalised).
fn sentence(f: &Finding, since: &str, lang: Lang) -> String {
    let t = lang.report();
    let tt = lang.t();
    let pct = percent_lost(f.before, f.now).to_string();
    let table = f.table.as_deref().unwrap_or("?");
    let text = match f.kind {
        Kind::DbShrunk => fill(
            t.db_shrunk,
            &[
                ("pct", &pct),
                ("since", since),
                ("before", &tt.bytes(f.before)),
                ("now", &tt.bytes(f.now)),
            ],
        ),
        Kind::MediaShrunk => fill(
            t.media_shrunk,
            &[
                ("pct", &pct),
                ("since", since),
                ("before", &tt.bytes(f.before)),
                ("now", &tt.bytes(f.now)),
            ],
        ),
        Kind::TableEmptied => fill(t.table_emptied, &[("table", table), ("before", &count(f.before, lang))]),
        Kind::TableMissing => fill(t.table_missing, &[("table", table), ("before", &count(f.before, lang))]),
        Kind::FilesDropped => {
            let folder = f
                .folder
                .as_deref()
                .map(|name| fill(t.files_dropped_folder, &[("folder", name)]))
                .unwrap_or_default();
            fill(
                t.files_dropped,
                &[
                    ("pct", &pct),
                    ("before", &count(f.before, lang)),
                    ("now", &count(f.now, lang)),
                    ("folder", &folder),
                ],
            )
        }
    };
    // Without a time to compare with, "since …" is left out.
    text.replace("  ", " ").trim().to_owned()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Each finding with its message.
pub fn anomalies(findings: &[Finding], since: Option<Timestamp>, lang: Lang, now: Timestamp) -> Vec<Anomaly> {
    let since = since_text(since, lang, now);
    findings
        .iter()
        .map(|f| Anomaly {
            kind: f.kind,
            before: f.before,
            now: f.now,
            message: capitalize(&sentence(f, &since, lang)),
            table: f.table.clone(),
            folder: f.folder.clone(),
        })
        .collect()
}

/// Everything that changed in one sentence: "La base a perdu 48 % de sa taille depuis hier : la table
/// `facture` est vide". Empty without findings.
pub fn summary(findings: &[Finding], since: Option<Timestamp>, lang: Lang, now: Timestamp) -> String {
    let t = lang.report();
    let since = since_text(since, lang, now);
    let of = |kinds: &[Kind]| -> Vec<String> {
        findings
            .iter()
            .filter(|f| kinds.contains(&f.kind))
            .map(|f| sentence(f, &since, lang))
            .collect()
    };
    let db = of(&[Kind::DbShrunk]);
    let tables = of(&[Kind::TableEmptied, Kind::TableMissing]);
    let media = of(&[Kind::MediaShrunk, Kind::FilesDropped]);
    let mut parts = Vec::new();
    match (db.first(), tables.is_empty()) {
        (Some(db), false) => parts.push(format!("{db}{}{}", t.because, tables.join(", "))),
        (Some(db), true) => parts.push(db.clone()),
        (None, false) => parts.push(tables.join(", ")),
        (None, true) => {}
    }
    parts.extend(media);
    capitalize(&parts.join(t.and))
}

// ---------------------------------------------------------------------------------------------------------
// Acceptance.

/// Who is at the keyboard, for "accepted by".
pub fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(Path::new(&home).file_name()?.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// A suspect pair the user accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub source: String,
    pub folder: std::path::PathBuf,
    /// The pair's time.
    pub pair_at: Timestamp,
    pub by: String,
    pub anomalies: Vec<Anomaly>,
    /// Safe copies of this pair that carried the suspect mark and no longer do.
    pub copies_unmarked: Vec<std::path::PathBuf>,
}

/// What an acceptance says to people: "The 14:00 backup of 'prod' is the new reference (accepted by …)."
pub fn accepted_text(a: &Accepted, lang: Lang) -> String {
    let t = lang.report();
    let time = a
        .pair_at
        .to_zoned(jiff::tz::TimeZone::system())
        .strftime(t.date_format)
        .to_string();
    fill(t.accepted, &[("time", &time), ("name", &a.source), ("by", &a.by)])
}

/// "This change is expected": the current pair of each watched source (or of `only`) that is suspect
/// becomes the reference, and history records who accepted what (an `accept-change` operation). Returns
/// what was accepted (empty: nothing was suspect).
pub fn accept(
    config: &Config,
    history: &History,
    only: Option<&str>,
    by: &str,
    lang: Lang,
    now: Timestamp,
) -> Result<Vec<Accepted>, HistoryError> {
    let mut done = Vec::new();
    for source in crate::backup::sources::sources(config) {
        if only.is_some_and(|name| name != source.name) {
            continue;
        }
        let obs = crate::backup::inspect::observe_folder(&source.folder, source.dbname.as_deref());
        let (Some(db), Some(media)) = (obs.db.observation(), obs.media.observation()) else {
            continue;
        };
        let Some(j) = judgement(history, &config.anomaly, &obs.folder, db, media, now) else {
            continue;
        };
        if !j.is_suspect() || !history.accept_pair_shape(j.record.id, by, now)? {
            continue;
        }
        let details = serde_json::json!({
            "source": source.name,
            "folder": obs.folder,
            "pair_at": j.record.pair_at,
            "db": db.path,
            "media": media.path,
            "by": by,
            "findings": j.findings,
        });
        let id = history.begin_operation("accept-change", &details.to_string(), now)?;
        history.finish_operation(id, "ok", &details.to_string(), now)?;
        let copies_unmarked = unmark_copies(config, db, media);
        done.push(Accepted {
            source: source.name,
            folder: obs.folder.clone(),
            pair_at: j.record.pair_at,
            by: by.to_owned(),
            anomalies: j.anomalies(lang, now),
            copies_unmarked,
        });
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------------------------
// The mark a safe copy of a suspect pair carries (so rotation keeps the last good copy, and a restore from
// the copy, on this Mac or another, knows).

/// What [`crate::backup::copy::SUSPECT_MARK`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyMark {
    pub db: String,
    pub db_bytes: u64,
    pub media: String,
    pub media_bytes: u64,
    #[serde(default)]
    pub since: Option<i64>,
    pub findings: Vec<Finding>,
}

impl CopyMark {
    /// The mark for a copy of `db` + `media`, judged suspect.
    pub fn new(j: &Judgement, db: &FileObservation, media: &FileObservation) -> CopyMark {
        CopyMark {
            db: file_name(db),
            db_bytes: db.bytes,
            media: file_name(media),
            media_bytes: media.bytes,
            since: j.since.map(Timestamp::as_second),
            findings: j.findings.clone(),
        }
    }

    /// The mark in a copy folder, if any.
    pub fn read(folder: &Path) -> Option<CopyMark> {
        let text = std::fs::read(folder.join(crate::backup::copy::SUSPECT_MARK)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn is_of(&self, db: &FileObservation, media: &FileObservation) -> bool {
        (self.db.as_str(), self.db_bytes, self.media.as_str(), self.media_bytes)
            == (file_name(db).as_str(), db.bytes, file_name(media).as_str(), media.bytes)
    }
}

fn file_name(o: &FileObservation) -> String {
    o.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Removes the suspect mark from the copies of this (now accepted) pair at every destination.
fn unmark_copies(config: &Config, db: &FileObservation, media: &FileObservation) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for dest in &config.safe_copy.destinations {
        for c in crate::backup::copy::list_copies(dest).unwrap_or_default() {
            if c.suspect && CopyMark::read(&c.folder).is_some_and(|m| m.is_of(db, media)) {
                match std::fs::remove_file(c.folder.join(crate::backup::copy::SUSPECT_MARK)) {
                    Ok(()) => out.push(c.folder),
                    Err(e) => log::warn!("cannot remove the suspect mark of '{}': {e}", c.folder.display()),
                }
            }
        }
    }
    out
}

/// Why a pair a restore is about to use is suspect, in one sentence (`None`: it is not). Asks history
/// (judging the pair when it was verified but not judged yet), then the mark of a safe copy.
pub fn suspect_pair(
    history: Option<&History>,
    config: &Config,
    pair: &crate::backup::inspect::Pair,
    lang: Lang,
    now: Timestamp,
) -> Option<String> {
    if let Some(h) = history {
        if let Ok(Some(r)) = h.pair_shape_of_files(&file_key(&pair.db), &file_key(&pair.media)) {
            let j = Judgement::from_record(r);
            return j.is_suspect().then(|| j.summary(lang, now));
        }
        if let Some(j) = judgement(h, &config.anomaly, &pair.observation.folder, &pair.db, &pair.media, now)
            && j.is_suspect()
        {
            return Some(j.summary(lang, now));
        }
    }
    let mark = CopyMark::read(&pair.observation.pair_folder)?;
    let since = mark.since.and_then(|s| Timestamp::from_second(s).ok());
    Some(summary(&mark.findings, since, lang, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(bytes: u64, tables: &[(&str, u64)]) -> Shape {
        Shape {
            db_bytes: Some(bytes),
            tables: Some(tables.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect()),
            media_files: Some(5000),
            media_bytes: Some(1_000_000_000),
            folders: [
                (
                    "documents".to_owned(),
                    FolderShape {
                        files: 4000,
                        bytes: 800_000_000,
                    },
                ),
                (
                    "pictures".to_owned(),
                    FolderShape {
                        files: 1000,
                        bytes: 200_000_000,
                    },
                ),
            ]
            .into(),
        }
    }

    fn media(files: u64, bytes: u64, documents: u64) -> Shape {
        let mut s = db(100, &[("facture", 10)]);
        s.media_files = Some(files);
        s.media_bytes = Some(bytes);
        if let Some(d) = s.folders.get_mut("documents") {
            d.files = documents;
        }
        s
    }

    fn kinds(found: &[Finding]) -> Vec<(Kind, u64, u64, Option<&str>)> {
        found
            .iter()
            .map(|f| (f.kind, f.before, f.now, f.table.as_deref().or(f.folder.as_deref())))
            .collect()
    }

    // The rules, as a table of cases: (name, earlier pairs, new pair, expected findings).
    #[test]
    fn anomaly_rules_table() {
        use Kind::*;
        let rules = AnomalyConfig::default();
        let usual = || vec![db(1000, &[("facture", 500), ("client", 20), ("log", 0)]); 3];
        type Case = (
            &'static str,
            Vec<Shape>,
            Shape,
            Vec<(Kind, u64, u64, Option<&'static str>)>,
        );
        let cases: Vec<Case> = vec![
            ("no earlier pair: nothing to compare", vec![], db(1, &[]), vec![]),
            (
                "same shape",
                usual(),
                db(1000, &[("facture", 500), ("client", 20), ("log", 0)]),
                vec![],
            ),
            (
                "growth is never an anomaly",
                usual(),
                db(9000, &[("facture", 5000), ("client", 20), ("log", 0), ("new", 3)]),
                vec![],
            ),
            (
                "shrunk by exactly 20 %: not more than 20 %",
                usual(),
                db(800, &[("facture", 500), ("client", 20), ("log", 0)]),
                vec![],
            ),
            (
                "shrunk by 21 %",
                usual(),
                db(790, &[("facture", 500), ("client", 20), ("log", 0)]),
                vec![(DbShrunk, 1000, 790, None)],
            ),
            (
                "a table emptied, and the dump half its size",
                usual(),
                db(520, &[("facture", 0), ("client", 20), ("log", 0)]),
                vec![(DbShrunk, 1000, 520, None), (TableEmptied, 500, 0, Some("facture"))],
            ),
            (
                "a table missing",
                usual(),
                db(990, &[("facture", 500), ("log", 0)]),
                vec![(TableMissing, 20, 0, Some("client"))],
            ),
            (
                "a table that never had rows may be missing or empty",
                usual(),
                db(1000, &[("facture", 500), ("client", 20)]),
                vec![],
            ),
            (
                "a table that had rows in fewer than half the earlier pairs is not missed",
                vec![
                    db(1000, &[("queue", 4)]),
                    db(1000, &[("queue", 0)]),
                    db(1000, &[("queue", 0)]),
                ],
                db(1000, &[("queue", 0)]),
                vec![],
            ),
            (
                "against the median: one odd earlier pair changes nothing",
                vec![db(1000, &[]), db(1000, &[]), db(5000, &[]), db(100, &[])],
                db(900, &[]),
                vec![],
            ),
            (
                "media: files down by 11 %, mostly in documents",
                vec![media(5000, 1_000_000_000, 4000); 2],
                media(4450, 990_000_000, 3450),
                vec![(FilesDropped, 5000, 4450, Some("documents"))],
            ),
            (
                "media: files down by 10 % exactly",
                vec![media(5000, 1_000_000_000, 4000); 2],
                media(4500, 1_000_000_000, 3500),
                vec![],
            ),
            (
                "media: a folder moved away",
                vec![media(5000, 1_000_000_000, 4000); 2],
                media(1000, 200_000_000, 0),
                vec![
                    (MediaShrunk, 1_000_000_000, 200_000_000, None),
                    (FilesDropped, 5000, 1000, Some("documents")),
                ],
            ),
            (
                "shapes recorded before tables were counted compare sizes only",
                vec![Shape {
                    tables: None,
                    ..db(1000, &[])
                }],
                db(1000, &[]),
                vec![],
            ),
        ];
        for (name, refs, now, expected) in cases {
            assert_eq!(kinds(&judge(&now, &refs, &rules)), expected, "{name}");
        }
    }

    #[test]
    fn rules_follow_the_configuration() {
        let refs = vec![db(1000, &[("session", 50), ("facture", 9)])];
        let now = db(700, &[("session", 0), ("facture", 9)]);
        let mut rules = AnomalyConfig::default();
        assert_eq!(judge(&now, &refs, &rules).len(), 2);
        rules.ignore_tables = vec!["session".into()];
        assert_eq!(kinds(&judge(&now, &refs, &rules)), [(Kind::DbShrunk, 1000, 700, None)]);
        rules.db_shrink_percent = 40;
        assert!(judge(&now, &refs, &rules).is_empty());
        rules.db_shrink_percent = 20;
        rules.enabled = false;
        assert!(judge(&now, &refs, &rules).is_empty());
    }

    #[test]
    fn median_and_percentages() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3, 1, 2]), Some(2));
        assert_eq!(median(&mut [4, 1, 2, 3]), Some(2));
        assert_eq!(median(&mut [u64::MAX, u64::MAX]), Some(u64::MAX));
        assert_eq!(percent_lost(1000, 520), 48);
        assert_eq!(percent_lost(1000, 2000), 0);
        assert_eq!(percent_lost(1000, 3), 99, "something is left");
        assert!(!shrank(u64::MAX, 0, 100), "100 % turns the rule off");
    }

    // Guards the sentence: what changed, in words, the database first and the table that explains it.
    #[test]
    fn the_summary_says_what_changed_in_words() {
        let now = Timestamp::now();
        let yesterday = Timestamp::from_second(now.as_second() - 86_400).unwrap();
        let findings = judge(
            &db(52_000_000, &[("facture", 0)]),
            &[db(100_000_000, &[("facture", 812)])],
            &AnomalyConfig::default(),
        );
        let fr = summary(&findings, Some(yesterday), Lang::Fr, now);
        assert!(
            fr.starts_with(
                "La base a perdu 48 % de sa taille depuis hier (52 Mo au lieu de 100 Mo) : la table `facture` est vide"
            ),
            "{fr}"
        );
        let en = summary(&findings, None, Lang::En, now);
        assert_eq!(
            en,
            "The database lost 48 % of its size (52 MB instead of 100 MB): table `facture` is empty (it had 812 rows)"
        );
        let list = anomalies(&findings, None, Lang::En, now);
        assert_eq!(list[1].message, "Table `facture` is empty (it had 812 rows)");
        assert_eq!(serde_json::to_value(&list[0]).unwrap()["kind"], "db-shrunk");
        assert_eq!(summary(&[], None, Lang::Fr, now), "");
    }
}
