//! Pure parsers for what `tmutil` prints, tested on recorded outputs in `tests/fixtures/timemachine/`.
//!
//! They never run anything and never panic: an output they do not understand is an `Err` or `None`, and
//! the caller decides what that means. They accept every variant we know of between macOS 12 (Monterey) and
//! 26 (Tahoe): XML plists from `-X`, the older NeXTSTEP-style text (`Backup session status: { … }`), numbers
//! printed as integers, reals or strings, and booleans printed as `<true/>`, `1` or `"1"`.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use jiff::civil::DateTime;
use plist::Value;
use serde::{Deserialize, Serialize};

/// What `tmutil status` says about the current backup session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionStatus {
    /// A backup is running (`Running` = 1 and the phase is not `BackupNotRunning`).
    pub running: bool,
    /// `BackupPhase` as printed (`Starting`, `FindingChanges`, `Copying`, …), only while running.
    pub phase: Option<String>,
    /// The fraction done as printed: `Progress.Percent`, else the top-level `Percent`, else
    /// `Progress._raw_Percent`, else `FractionDone`. May be -1 (not known yet) or exceed 1.
    pub raw_fraction: Option<f64>,
    /// `FirstBackup`: this destination has never received a backup.
    pub first_backup: bool,
    /// `Progress.bytes` / `Progress.totalBytes`.
    pub bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// `Progress.TimeRemaining`, in seconds.
    pub time_remaining_secs: Option<f64>,
}

impl SessionStatus {
    /// 0–100: the raw fraction clamped (-1 and other nonsense read as 0), and 0 when idle.
    pub fn percent(&self) -> u8 {
        match self.raw_fraction {
            Some(f) if self.running && f.is_finite() => {
                // The epsilon keeps 0.29 from flooring to 28 through binary rounding.
                (f * 100.0 + 1e-6).floor().clamp(0.0, 100.0) as u8
            }
            _ => 0,
        }
    }
}

/// Why a `tmutil` output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("'{0}' is neither a property list nor the 'Backup session status' text")]
    NotAStatus(String),
    #[error("'{0}' is not a property list of Time Machine destinations")]
    NotDestinations(String),
    #[error("'{0}' is not the path of a Time Machine backup")]
    NotABackupPath(String),
    #[error("'{0}' is not an '[Excluded]' or '[Included]' line")]
    NotAnExclusion(String),
}

/// Parses `tmutil status -X` (XML or binary plist) or `tmutil status` (text form).
pub fn parse_status(stdout: &[u8]) -> Result<SessionStatus, ParseError> {
    let value = read_plist(stdout)
        .or_else(|| read_session_text(stdout))
        .ok_or_else(|| ParseError::NotAStatus(excerpt(stdout)))?;
    let dict = value
        .as_dictionary()
        .ok_or_else(|| ParseError::NotAStatus(excerpt(stdout)))?;
    let phase = dict.get("BackupPhase").and_then(as_string);
    // Before macOS 10.15 an idle session said `BackupPhase = BackupNotRunning`; later ones drop the key.
    let running =
        dict.get("Running").and_then(as_bool).unwrap_or(false) && phase.as_deref() != Some("BackupNotRunning");
    let progress = dict.get("Progress").and_then(Value::as_dictionary);
    let from_progress = |key: &str| progress.and_then(|p| p.get(key)).and_then(as_f64);
    let raw_fraction = from_progress("Percent")
        .or_else(|| dict.get("Percent").and_then(as_f64))
        .or_else(|| from_progress("_raw_Percent"))
        .or_else(|| dict.get("FractionDone").and_then(as_f64));
    Ok(SessionStatus {
        running,
        phase: if running { phase } else { None },
        raw_fraction,
        first_backup: dict.get("FirstBackup").and_then(as_bool).unwrap_or(false),
        bytes: from_progress("bytes").map(|b| b.max(0.0) as u64),
        total_bytes: from_progress("totalBytes").map(|b| b.max(0.0) as u64),
        time_remaining_secs: from_progress("TimeRemaining"),
    })
}

/// Whether a destination is a disk plugged into this Mac or a share on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    Local,
    Network,
}

/// One Time Machine destination, as `tmutil destinationinfo` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub name: String,
    pub kind: DestinationKind,
    /// It has a mount point right now. Network destinations are normally unmounted between backups.
    pub mounted: bool,
    /// `MountPoint`, when mounted.
    #[serde(skip)]
    pub mount_point: Option<PathBuf>,
    /// `ID` (a UUID).
    #[serde(skip)]
    pub id: Option<String>,
    /// `LastDestination` = 1: the destination of the most recent backup.
    #[serde(skip)]
    pub last: bool,
}

/// Parses `tmutil destinationinfo -X` (plist) or `tmutil destinationinfo` (text). An empty list means no
/// destination is configured.
pub fn parse_destinations(stdout: &[u8]) -> Result<Vec<Destination>, ParseError> {
    if let Some(value) = read_plist(stdout) {
        let dict = value
            .as_dictionary()
            .ok_or_else(|| ParseError::NotDestinations(excerpt(stdout)))?;
        let Some(list) = dict.get("Destinations") else {
            // An empty `<dict/>` is what `-X` prints when nothing is configured.
            return Ok(Vec::new());
        };
        let list = list
            .as_array()
            .ok_or_else(|| ParseError::NotDestinations(excerpt(stdout)))?;
        return Ok(list
            .iter()
            .filter_map(Value::as_dictionary)
            .map(destination_from_dict)
            .collect());
    }
    parse_destinations_text(stdout).ok_or_else(|| ParseError::NotDestinations(excerpt(stdout)))
}

fn destination_from_dict(d: &plist::Dictionary) -> Destination {
    let get = |k: &str| d.get(k).and_then(as_string);
    let mount_point = get("MountPoint").filter(|m| !m.is_empty()).map(PathBuf::from);
    Destination {
        name: get("Name").unwrap_or_default(),
        kind: kind_from(get("Kind").as_deref(), get("URL").is_some()),
        mounted: mount_point.is_some(),
        mount_point,
        id: get("ID"),
        last: d.get("LastDestination").and_then(as_bool).unwrap_or(false),
    }
}

fn kind_from(kind: Option<&str>, has_url: bool) -> DestinationKind {
    match kind.map(str::to_ascii_lowercase).as_deref() {
        Some("network") => DestinationKind::Network,
        Some("local") => DestinationKind::Local,
        // Unknown kinds: a URL (smb://, afp://) only exists for network shares.
        _ if has_url => DestinationKind::Network,
        _ => DestinationKind::Local,
    }
}

/// The text form: blocks of `Key : Value` lines between `====` rules; a rule starting with `>` marks the
/// destination of the most recent backup.
fn parse_destinations_text(stdout: &[u8]) -> Option<Vec<Destination>> {
    let text = String::from_utf8_lossy(stdout);
    let mut blocks: Vec<(bool, Vec<(String, String)>)> = Vec::new();
    let mut saw_rule = false;
    for line in text.lines() {
        let trimmed = line.trim();
        let rule = trimmed.trim_start_matches('>').trim();
        if !rule.is_empty() && rule.chars().all(|c| c == '=') {
            saw_rule = true;
            blocks.push((trimmed.starts_with('>'), Vec::new()));
        } else if let (Some((key, value)), Some(block)) = (trimmed.split_once(':'), blocks.last_mut()) {
            block.1.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !saw_rule {
        return None;
    }
    let list = blocks
        .into_iter()
        .filter(|(_, fields)| !fields.is_empty())
        .map(|(last, fields)| {
            let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            let mount_point = get("Mount Point").filter(|m| !m.is_empty()).map(PathBuf::from);
            Destination {
                name: get("Name").unwrap_or_default(),
                kind: kind_from(get("Kind").as_deref(), get("URL").is_some()),
                mounted: mount_point.is_some(),
                mount_point,
                id: get("ID"),
                last,
            }
        })
        .collect();
    Some(list)
}

/// What a backup's folder name says: `YYYY-MM-DD-HHMMSS` in local time, and a state suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackupSuffix {
    /// No suffix: a completed HFS+ backup (`Backups.backupdb/<host>/2026-11-25-140312`).
    None,
    /// `.backup`: a completed APFS backup.
    Backup,
    /// `.previous`: left behind when a new backup started before this one was finalised; not complete.
    Previous,
    /// `.interrupted`: stopped before the end; not complete.
    Interrupted,
    /// `.inprogress` (HFS+ spells it `.inProgress`): being written now.
    InProgress,
}

impl BackupSuffix {
    /// Only these hold a whole, consistent copy of the Mac.
    pub fn is_completed(self) -> bool {
        matches!(self, BackupSuffix::None | BackupSuffix::Backup)
    }
}

/// One backup named in `tmutil latestbackup` / `listbackups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupEntry {
    /// The path as printed: the HFS+ backup folder, or the APFS snapshot mount.
    pub path: PathBuf,
    /// The local wall-clock time of the name.
    pub taken_at: DateTime,
    pub suffix: BackupSuffix,
}

impl BackupEntry {
    pub fn is_completed(&self) -> bool {
        self.suffix.is_completed()
    }
}

/// Splits a backup folder name such as `2026-11-25-140312.backup` into its time and suffix.
pub fn parse_backup_name(name: &str) -> Option<(DateTime, BackupSuffix)> {
    let (stamp, suffix) = match name.split_once('.') {
        Some((stamp, suffix)) => (stamp, Some(suffix)),
        None => (name, None),
    };
    // strptime alone would accept single-digit fields; the shape is fixed, so check it first.
    let shape_ok = stamp.len() == 17
        && stamp.char_indices().all(|(i, c)| {
            if [4, 7, 10].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return None;
    }
    let when = DateTime::strptime("%Y-%m-%d-%H%M%S", stamp).ok()?;
    let suffix = match suffix.map(str::to_ascii_lowercase).as_deref() {
        None => BackupSuffix::None,
        Some("backup") => BackupSuffix::Backup,
        Some("previous") => BackupSuffix::Previous,
        Some("interrupted") => BackupSuffix::Interrupted,
        Some("inprogress") => BackupSuffix::InProgress,
        Some(_) => return None,
    };
    Some((when, suffix))
}

/// Reads one printed backup path; its last component must be a backup name.
pub fn parse_backup_path(line: &str) -> Option<BackupEntry> {
    let line = line.trim();
    if !line.starts_with('/') {
        return None;
    }
    let path = Path::new(line);
    let name = path.file_name()?.to_str()?;
    let (taken_at, suffix) = parse_backup_name(name)?;
    Some(BackupEntry {
        path: path.to_owned(),
        taken_at,
        suffix,
    })
}

/// Parses `tmutil latestbackup`: the first line that is a backup path.
pub fn parse_latest_backup(stdout: &[u8]) -> Result<BackupEntry, ParseError> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .find_map(parse_backup_path)
        .ok_or_else(|| ParseError::NotABackupPath(excerpt(stdout)))
}

/// Parses `tmutil listbackups`: every line that is a backup path, oldest first, whatever its state.
pub fn parse_backup_list(stdout: &[u8]) -> Vec<BackupEntry> {
    let text = String::from_utf8_lossy(stdout);
    let mut list: Vec<BackupEntry> = text.lines().filter_map(parse_backup_path).collect();
    list.sort_by(|a, b| a.taken_at.cmp(&b.taken_at).then_with(|| a.path.cmp(&b.path)));
    list
}

/// Parses `tmutil isexcluded <path>`: `[Excluded]    /path` is `true`, `[Included]    /path` is `false`.
/// Also reads the `-X` plist form (`IsExcluded`).
pub fn parse_is_excluded(stdout: &[u8]) -> Result<bool, ParseError> {
    if let Some(value) = read_plist(stdout) {
        let first = match &value {
            Value::Array(items) => items.first(),
            other => Some(other),
        };
        if let Some(flag) = first
            .and_then(Value::as_dictionary)
            .and_then(|d| d.get("IsExcluded"))
            .and_then(as_bool)
        {
            return Ok(flag);
        }
        return Err(ParseError::NotAnExclusion(excerpt(stdout)));
    }
    let text = String::from_utf8_lossy(stdout);
    for line in text.lines().map(str::trim) {
        if line.starts_with("[Excluded]") {
            return Ok(true);
        }
        if line.starts_with("[Included]") {
            return Ok(false);
        }
    }
    Err(ParseError::NotAnExclusion(excerpt(stdout)))
}

/// A failure `tmutil` reports in words. The exit code is not reliable (some verbs exit 0 after printing
/// an error), so these are recognised in the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TmFailure {
    /// `… requires Full Disk Access privileges.`
    FullDiskAccess,
    /// `No destinations configured.`
    NoDestination,
    /// `Failed to mount backup destination`, `The backup destination could not be found`, …
    DestinationUnavailable,
    /// `No machine directory found for host.`
    NoMachineDirectory,
    /// `No backups found for host.`
    NoBackups,
}

/// Recognises a known failure in either stream; `None` when the texts say nothing we know.
pub fn classify_failure(stdout: &[u8], stderr: &[u8]) -> Option<TmFailure> {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    )
    .to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    // Order matters: the Full Disk Access text also mentions destinations on some releases, and "no
    // destinations configured" must win over the generic "destination … not found".
    if has(&["full disk access"]) {
        Some(TmFailure::FullDiskAccess)
    } else if has(&[
        "no destinations configured",
        "no destination configured",
        "no backup destination",
    ]) {
        Some(TmFailure::NoDestination)
    } else if has(&[
        "no machine directory",
        "unable to locate machine directory",
        "machine directory not found",
    ]) {
        Some(TmFailure::NoMachineDirectory)
    } else if has(&["no backups found", "no backups exist"]) {
        Some(TmFailure::NoBackups)
    } else if has(&[
        "failed to mount",
        "unable to mount",
        "could not be mounted",
        "destination could not be found",
        "destination not found",
        "not mounted",
        "is not available",
    ]) {
        Some(TmFailure::DestinationUnavailable)
    } else {
        None
    }
}

/// A short, single-line excerpt of an output for messages.
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut short: String = line.chars().take(160).collect();
    if line.chars().count() > 160 {
        short.push('…');
    }
    short
}

fn read_plist(bytes: &[u8]) -> Option<Value> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &bytes[start..];
    if body.starts_with(b"<?xml")
        || body.starts_with(b"<plist")
        || body.starts_with(b"<!DOCTYPE")
        || body.starts_with(b"bplist")
    {
        Value::from_reader(Cursor::new(body)).ok()
    } else {
        None
    }
}

/// The text form: an optional `Backup session status:` line, then an old-style (NeXTSTEP) dictionary.
fn read_session_text(bytes: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(bytes);
    let brace = text.find('{')?;
    let before = text[..brace].trim();
    if !(before.is_empty() || before.ends_with("Backup session status:")) {
        return None;
    }
    let value = Value::from_reader_ascii(Cursor::new(text[brace..].as_bytes())).ok()?;
    value.as_dictionary().is_some().then_some(value)
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Real(r) => Some(*r),
        Value::Integer(i) => i
            .as_signed()
            .map(|i| i as f64)
            .or_else(|| i.as_unsigned().map(|u| u as f64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Boolean(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Some(true),
            "0" | "false" | "no" => Some(false),
            _ => None,
        },
        other => as_f64(other).map(|f| f != 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    macro_rules! fixture {
        ($path:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/timemachine/",
                $path
            ))
            .as_slice()
        };
    }

    #[test]
    fn status_idle_xml() {
        let s = parse_status(fixture!("valid/status/idle.xml")).unwrap();
        assert!(!s.running);
        assert_eq!(s.phase, None);
        assert_eq!(s.raw_fraction, Some(-1.0));
        assert_eq!(s.percent(), 0);
    }

    #[test]
    fn status_idle_with_boolean_running() {
        let s = parse_status(fixture!("valid/status/idle-bool.xml")).unwrap();
        assert!(!s.running);
        assert_eq!(s.percent(), 0);
    }

    #[test]
    fn status_preparing_phases() {
        for (file, phase) in [
            (fixture!("valid/status/starting.xml"), "Starting"),
            (fixture!("valid/status/thinning-pre-backup.xml"), "ThinningPreBackup"),
            (fixture!("valid/status/finding-changes.xml"), "FindingChanges"),
        ] {
            let s = parse_status(file).unwrap();
            assert!(s.running, "{phase}");
            assert_eq!(s.phase.as_deref(), Some(phase));
            // Percent = -1 while preparing: reads as 0, not as an error.
            assert_eq!(s.percent(), 0, "{phase}");
        }
    }

    #[test]
    fn status_copying_with_progress() {
        let s = parse_status(fixture!("valid/status/copying.xml")).unwrap();
        assert!(s.running);
        assert_eq!(s.phase.as_deref(), Some("Copying"));
        assert_eq!(s.percent(), 42);
        assert_eq!(s.bytes, Some(1_283_457_024));
        assert_eq!(s.total_bytes, Some(3_055_849_472));
        assert_eq!(s.time_remaining_secs.map(|t| t.round()), Some(1035.0));
        assert!(!s.first_backup);
    }

    #[test]
    fn status_copying_with_string_numbers() {
        // Sonoma and later print most numbers as strings inside the plist.
        let s = parse_status(fixture!("valid/status/copying-strings.xml")).unwrap();
        assert!(s.running);
        assert_eq!(s.percent(), 28);
        assert!(s.first_backup);
    }

    #[test]
    fn status_first_backup() {
        let s = parse_status(fixture!("valid/status/first-backup.xml")).unwrap();
        assert!(s.first_backup);
        assert_eq!(s.percent(), 3);
    }

    // Guards the clamp: _raw_Percent above 1 must not overflow or show more than 100 %.
    #[test]
    fn status_percent_above_one_is_clamped() {
        let s = parse_status(fixture!("valid/status/percent-over-one.xml")).unwrap();
        assert_eq!(s.raw_fraction, Some(1.0734));
        assert_eq!(s.percent(), 100);
    }

    #[test]
    fn status_text_form() {
        let s = parse_status(fixture!("valid/status/text-copying.txt")).unwrap();
        assert!(s.running);
        assert_eq!(s.phase.as_deref(), Some("Copying"));
        assert_eq!(s.percent(), 42);
        let s = parse_status(fixture!("valid/status/text-copying-progress.txt")).unwrap();
        assert_eq!(s.phase.as_deref(), Some("Copying"));
        assert_eq!(s.percent(), 33);
        assert_eq!(s.total_bytes, Some(3_318_261_760));
        let s = parse_status(fixture!("valid/status/text-idle.txt")).unwrap();
        assert!(!s.running);
        assert_eq!(s.percent(), 0);
    }

    #[test]
    fn status_legacy_backup_not_running() {
        let s = parse_status(fixture!("valid/status/text-backup-not-running.txt")).unwrap();
        assert!(!s.running);
        assert_eq!(s.phase, None);
    }

    #[test]
    fn status_rejects_usage_text() {
        let err = parse_status(fixture!("invalid/unrecognised/status-x-refused.txt")).unwrap_err();
        assert!(matches!(err, ParseError::NotAStatus(_)), "{err}");
        assert!(parse_status(b"").is_err());
    }

    #[test]
    fn destinations_local_and_network() {
        let d = parse_destinations(fixture!("valid/destinationinfo/local-and-network.xml")).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "TM Bureau");
        assert_eq!(d[0].kind, DestinationKind::Local);
        assert!(d[0].mounted);
        assert_eq!(d[0].mount_point.as_deref(), Some(Path::new("/Volumes/TM Bureau")));
        assert!(d[0].last);
        assert_eq!(d[1].name, "NAS");
        assert_eq!(d[1].kind, DestinationKind::Network);
        assert!(!d[1].mounted);
        assert!(!d[1].last);
    }

    #[test]
    fn destinations_unmounted_local() {
        let d = parse_destinations(fixture!("valid/destinationinfo/local-unmounted.xml")).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DestinationKind::Local);
        assert!(!d[0].mounted);
    }

    #[test]
    fn destinations_empty_plist_means_none() {
        assert_eq!(
            parse_destinations(fixture!("valid/destinationinfo/empty.xml")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn destinations_text_form() {
        let d = parse_destinations(fixture!("valid/destinationinfo/text-two.txt")).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].name.as_str(), d[0].kind, d[0].mounted, d[0].last),
            ("TM Bureau", DestinationKind::Local, true, false)
        );
        assert_eq!(
            (d[1].name.as_str(), d[1].kind, d[1].mounted, d[1].last),
            ("NAS", DestinationKind::Network, false, true)
        );
        assert_eq!(d[1].id.as_deref(), Some("9A1C6C7E-3F0B-4C55-8E57-0C3B8D2E71A4"));
    }

    #[test]
    fn destinations_reject_error_text() {
        assert!(parse_destinations(fixture!("invalid/no-destination/destinationinfo.txt")).is_err());
    }

    #[test]
    fn backup_names() {
        let at = date(2026, 11, 25).at(14, 3, 12, 0);
        assert_eq!(parse_backup_name("2026-11-25-140312"), Some((at, BackupSuffix::None)));
        assert_eq!(
            parse_backup_name("2026-11-25-140312.backup"),
            Some((at, BackupSuffix::Backup))
        );
        assert_eq!(
            parse_backup_name("2026-11-25-140312.previous"),
            Some((at, BackupSuffix::Previous))
        );
        assert_eq!(
            parse_backup_name("2026-11-25-140312.interrupted"),
            Some((at, BackupSuffix::Interrupted))
        );
        assert_eq!(
            parse_backup_name("2026-11-25-140312.inProgress"),
            Some((at, BackupSuffix::InProgress))
        );
        assert_eq!(
            parse_backup_name("2026-11-25-140312.inprogress"),
            Some((at, BackupSuffix::InProgress))
        );
        for bad in [
            "Latest",
            "2026-11-25-14031",
            "2026-11-25-1403120",
            "2026-13-25-140312",
            "2026-11-25-140312.tmp",
            "2026/11/25-140312",
            "",
        ] {
            assert_eq!(parse_backup_name(bad), None, "{bad}");
        }
        assert!(BackupSuffix::Backup.is_completed() && BackupSuffix::None.is_completed());
        assert!(!BackupSuffix::Previous.is_completed() && !BackupSuffix::InProgress.is_completed());
    }

    #[test]
    fn latest_backup_hfs_and_apfs() {
        let b = parse_latest_backup(fixture!("valid/latestbackup/hfs.txt")).unwrap();
        assert_eq!(b.path, Path::new("/Volumes/TM/Backups.backupdb/iMac/2026-11-25-140312"));
        assert_eq!(b.taken_at, date(2026, 11, 25).at(14, 3, 12, 0));
        assert!(b.is_completed());
        let b = parse_latest_backup(fixture!("valid/latestbackup/apfs.txt")).unwrap();
        assert_eq!(
            b.path,
            Path::new(
                "/Volumes/.timemachine/8D1F2B3C-6A7E-4F21-9B0D-5E4C3A2B1F00/2026-11-25-140312.backup/2026-11-25-140312.backup"
            )
        );
        assert_eq!(b.suffix, BackupSuffix::Backup);
    }

    #[test]
    fn latest_backup_rejects_failures() {
        assert!(parse_latest_backup(fixture!("invalid/needs-full-disk-access/latestbackup-monterey.txt")).is_err());
        assert!(parse_latest_backup(b"").is_err());
    }

    #[test]
    fn backup_list_keeps_all_states_sorted() {
        let list = parse_backup_list(fixture!("valid/listbackups/apfs-mixed.txt"));
        let names: Vec<_> = list
            .iter()
            .map(|b| b.path.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "2026-11-24-090455.backup",
                "2026-11-24-100512.backup",
                "2026-11-25-120233.interrupted",
                "2026-11-25-130301.backup",
                "2026-11-25-140312.backup",
                "2026-11-25-150020.inprogress",
            ]
        );
        assert_eq!(list.iter().filter(|b| b.is_completed()).count(), 4);
        let hfs = parse_backup_list(fixture!("valid/listbackups/hfs.txt"));
        assert_eq!(hfs.len(), 4);
        assert_eq!(hfs.iter().filter(|b| b.is_completed()).count(), 3);
    }

    #[test]
    fn is_excluded_text_and_plist() {
        assert!(parse_is_excluded(fixture!("valid/isexcluded/excluded.txt")).unwrap());
        assert!(!parse_is_excluded(fixture!("valid/isexcluded/included.txt")).unwrap());
        assert!(parse_is_excluded(fixture!("valid/isexcluded/excluded.xml")).unwrap());
        assert!(parse_is_excluded(b"tmutil: something else").is_err());
    }

    /// Every file under `invalid/<state>/` must be recognised as that failure; files under
    /// `invalid/unrecognised/` as none. Adding a recorded text is enough to test it.
    #[test]
    fn failure_texts_are_recognised() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/timemachine/invalid");
        let mut seen = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            let dir = dir.unwrap().path();
            let want = match dir.file_name().unwrap().to_str().unwrap() {
                "needs-full-disk-access" => Some(TmFailure::FullDiskAccess),
                "no-destination" => Some(TmFailure::NoDestination),
                "destination-unavailable" => Some(TmFailure::DestinationUnavailable),
                "no-machine-directory" => Some(TmFailure::NoMachineDirectory),
                "no-backups" => Some(TmFailure::NoBackups),
                "unrecognised" => None,
                other => panic!("unexpected fixture folder '{other}'"),
            };
            for file in std::fs::read_dir(&dir).unwrap() {
                let file = file.unwrap().path();
                let text = std::fs::read(&file).unwrap();
                // On stderr or on stdout: both must be recognised.
                assert_eq!(classify_failure(b"", &text), want, "{}", file.display());
                assert_eq!(classify_failure(&text, b""), want, "{}", file.display());
                seen += 1;
            }
        }
        assert!(seen >= 10, "only {seen} failure fixtures");
    }

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(excerpt(b"\n  first line \nsecond"), "first line");
        assert_eq!(excerpt(&[b'x'; 300]).chars().count(), 161);
    }
}
