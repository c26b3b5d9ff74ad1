//! The menu-bar menu and icon, as a pure function of (state, now, language).
//!
//! The tray only draws what [`build`] returns, so everything the user sees can be tested without a
//! display, and `secours menu --json` prints exactly what the app would show.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::backup::freshness::State;
use crate::backup::status::StatusReport;
use crate::i18n::{Lang, Texts, fill};

/// What a menu item does when chosen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action", content = "arg")]
pub enum Action {
    CopyNow,
    VerifyNow,
    RestoreLatest,
    RestoreCopy(String),
    RestoreChooseFolder,
    Failback,
    BackupNow,
    OpenSecours,
    ShowBackups,
    History,
    Preferences,
    GrantFullDiskAccess,
    LaunchAtLogin,
    ResumeRestore,
    RollbackRestore,
    /// "This change is expected": the suspect pairs become the reference.
    AcceptChange,
    Cancel,
    Quit,
    /// The demo only: open production's page.
    DemoOpenProd,
    /// The demo only: stop its hourly backup (the backup turns late).
    DemoStopJob,
    /// The demo only: make its backup 4 h old (stale).
    DemoAge,
    /// The demo only: damage its backup (corrupt).
    DemoCorrupt,
    /// The demo only: a new backup, the hourly backup running again.
    DemoRepair,
    /// Bring the standby's software to parity with production (offered when `parity` differs).
    CopySoftware,
}

impl Action {
    /// A stable id for the tray's menu items.
    pub fn id(&self) -> String {
        match self {
            Action::RestoreCopy(id) => format!("restore-copy:{id}"),
            other => serde_json::to_value(other)
                .ok()
                .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_owned))
                .unwrap_or_default(),
        }
    }

    /// The action for an id made by [`Action::id`].
    pub fn from_id(id: &str) -> Option<Action> {
        if let Some(copy) = id.strip_prefix("restore-copy:") {
            return Some(Action::RestoreCopy(copy.to_owned()));
        }
        serde_json::from_value::<Action>(serde_json::json!({ "action": id })).ok()
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Tagged {
            action: String,
        }
        let t = Tagged::deserialize(d)?;
        let a = match t.action.as_str() {
            "copy-now" => Action::CopyNow,
            "verify-now" => Action::VerifyNow,
            "restore-latest" => Action::RestoreLatest,
            "restore-choose-folder" => Action::RestoreChooseFolder,
            "failback" => Action::Failback,
            "backup-now" => Action::BackupNow,
            "open-secours" => Action::OpenSecours,
            "show-backups" => Action::ShowBackups,
            "history" => Action::History,
            "preferences" => Action::Preferences,
            "grant-full-disk-access" => Action::GrantFullDiskAccess,
            "launch-at-login" => Action::LaunchAtLogin,
            "resume-restore" => Action::ResumeRestore,
            "rollback-restore" => Action::RollbackRestore,
            "accept-change" => Action::AcceptChange,
            "cancel" => Action::Cancel,
            "quit" => Action::Quit,
            "demo-open-prod" => Action::DemoOpenProd,
            "demo-stop-job" => Action::DemoStopJob,
            "demo-age" => Action::DemoAge,
            "demo-corrupt" => Action::DemoCorrupt,
            "demo-repair" => Action::DemoRepair,
            "copy-software" => Action::CopySoftware,
            other => return Err(serde::de::Error::custom(format!("unknown action '{other}'"))),
        };
        Ok(a)
    }
}

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub label: String,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Item>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub separator: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

impl Item {
    pub(crate) fn info(label: impl Into<String>) -> Item {
        Item {
            label: label.into(),
            enabled: false,
            checked: None,
            children: Vec::new(),
            separator: false,
            action: None,
        }
    }

    pub(crate) fn act(label: impl Into<String>, action: Action, enabled: bool) -> Item {
        Item {
            action: Some(action),
            enabled,
            ..Item::info(label)
        }
    }

    fn separator() -> Item {
        Item {
            separator: true,
            ..Item::info("")
        }
    }
}

/// The icon shown for the overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Icon {
    Fresh,
    Late,
    /// Stale, missing, corrupt or unknown.
    Stale,
    /// A copy or restore is running.
    Working,
    /// Time Machine problem, rehearsal due, unfinished restore, a suspect backup.
    Attention,
}

impl Icon {
    pub fn as_str(self) -> &'static str {
        match self {
            Icon::Fresh => "fresh",
            Icon::Late => "late",
            Icon::Stale => "stale",
            Icon::Working => "working",
            Icon::Attention => "attention",
        }
    }
}

/// The kind of long operation running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationKind {
    Verify,
    Copy,
    Restore,
    Failback,
    Backup,
    Software,
}

/// A long operation in progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Running {
    pub kind: OperationKind,
    /// Parts and their percentages, e.g. [("media", 63), ("database", 41)].
    pub parts: Vec<(String, u8)>,
}

/// The Time Machine line, already judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeMachineLine {
    pub text: String,
    /// A problem that deserves the attention icon.
    pub problem: bool,
    pub needs_full_disk_access: bool,
}

/// A safe copy one can restore from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyChoice {
    pub id: String,
    pub at: Timestamp,
    pub destination: String,
}

/// Everything the menu depends on.
#[derive(Debug, Clone, Default)]
pub struct MenuInput {
    pub status: Option<StatusReport>,
    /// A configuration that cannot be used: shown instead of the status.
    pub config_problem: Option<String>,
    pub time_machine: Option<TimeMachineLine>,
    /// Safe copies, newest first.
    pub copies: Vec<CopyChoice>,
    pub last_drill: Option<Timestamp>,
    pub drill_every: Option<Duration>,
    /// An interrupted restore waiting for resume or rollback.
    pub unfinished_restore: Option<String>,
    pub running: Option<Running>,
    /// `None` where launch at login is not supported.
    pub launch_at_login: Option<bool>,
    /// The target's URL, to open it.
    pub target_url: Option<String>,
    /// The name of the restore target environment, for labels.
    pub target_name: String,
    /// The configuration is the demo's: its "Demo" submenu shows.
    pub demo: bool,
    /// The app has just started and not looked at the backups yet: the menu says so.
    pub checking: bool,
    /// Time Machine is being asked for the first time (`tmutil` may take a while): "checking…".
    pub time_machine_checking: bool,
    /// Launch at login waits for the user's approval in System Settings (macOS 13+): unticked, and says so.
    pub login_needs_approval: bool,
    /// The standby's software differs from production's (what differs, in words): the menu offers to copy it.
    pub software_differs: Option<String>,
}

/// The icon for a state.
pub fn icon(input: &MenuInput, now: Timestamp) -> Icon {
    if input.running.is_some() || input.checking {
        return Icon::Working;
    }
    let state = input.status.as_ref().map_or(State::Unknown, |s| s.state);
    if input.config_problem.is_some()
        || matches!(
            state,
            State::Stale | State::Missing | State::Corrupt | State::Unrestorable | State::Unknown
        )
    {
        return Icon::Stale;
    }
    if state == State::Suspect {
        return Icon::Attention;
    }
    if state == State::Late {
        return Icon::Late;
    }
    let tm_problem = input.time_machine.as_ref().is_some_and(|t| t.problem);
    if tm_problem || drill_due(input, now) || input.unfinished_restore.is_some() {
        return Icon::Attention;
    }
    Icon::Fresh
}

/// Whether a restore rehearsal is due.
pub fn drill_due(input: &MenuInput, now: Timestamp) -> bool {
    let Some(every) = input.drill_every else { return false };
    match input.last_drill {
        None => true,
        Some(at) => (now.as_second() - at.as_second()) as u64 > every.as_secs(),
    }
}

/// The short title next to the icon ("12 min"), when there is a backup.
pub fn title(input: &MenuInput, lang: Lang) -> Option<String> {
    let s = input.status.as_ref()?;
    let age = s.sources.iter().filter_map(|s| s.age_seconds).max()?;
    Some(lang.t().age(age))
}

/// The menu for a state.
pub fn build(input: &MenuInput, now: Timestamp, lang: Lang) -> Vec<Item> {
    let t = lang.t();
    let mut items = Vec::new();
    let busy = input.running.is_some();

    if let Some(run) = &input.running {
        items.push(Item::info(running_line(run, t)));
    }
    if input.checking {
        items.push(Item::info(lang.app().checking));
    }
    if let Some(problem) = &input.config_problem {
        items.push(Item::info(fill(t.menu_config_problem, &[("problem", problem)])));
    }
    if let Some(status) = &input.status {
        items.extend(status_lines(status, t));
        // "Secours prêt : sauvegarde de 14:00", or the backup that does not restore.
        if let Some(line) = crate::backup::status::standby_line(&status.standby, lang) {
            items.push(Item::info(line));
        }
    }
    if let Some(tm) = &input.time_machine {
        items.push(Item::info(fill(t.menu_time_machine, &[("text", &tm.text)])));
    } else if input.time_machine_checking {
        items.push(Item::info(fill(
            t.menu_time_machine,
            &[("text", lang.app().tm_checking)],
        )));
    }
    if !input.checking {
        items.extend(copy_and_drill_lines(input, now, t));
    }
    if let Some(what) = &input.unfinished_restore {
        items.push(Item::info(fill(t.menu_unfinished, &[("what", what)])));
        items.push(Item::act(t.menu_resume, Action::ResumeRestore, !busy));
        items.push(Item::act(t.menu_rollback, Action::RollbackRestore, !busy));
    }
    let suspect = input
        .status
        .as_ref()
        .is_some_and(|s| s.sources.iter().any(|s| !s.anomalies.is_empty()));
    if suspect {
        items.push(Item::act(lang.report().menu_accept, Action::AcceptChange, !busy));
    }
    if busy {
        items.push(Item::act(t.menu_cancel, Action::Cancel, true));
    }
    items.push(Item::separator());

    let has_pair = input.status.as_ref().is_some_and(|s| {
        s.sources
            .iter()
            .any(|s| s.db.bytes.is_some() && s.media.bytes.is_some())
    });
    let idle = !busy && input.unfinished_restore.is_none();
    items.push(Item::act(t.menu_copy, Action::CopyNow, idle && has_pair));
    items.push(Item::act(t.menu_verify, Action::VerifyNow, !busy && has_pair));
    let mut restore = Item::info(fill(t.menu_restore, &[("target", &input.target_name)]));
    restore.enabled = idle;
    restore.children.push(Item::act(
        t.menu_restore_latest,
        Action::RestoreLatest,
        idle && (has_pair || !input.copies.is_empty()),
    ));
    for c in &input.copies {
        let label = fill(
            t.menu_restore_copy,
            &[
                ("date", &c.at.strftime("%Y-%m-%d %H:%M").to_string()),
                ("destination", &c.destination),
            ],
        );
        restore
            .children
            .push(Item::act(label, Action::RestoreCopy(c.id.clone()), idle));
    }
    restore
        .children
        .push(Item::act(t.menu_restore_choose, Action::RestoreChooseFolder, idle));
    items.push(restore);
    if let Some(what) = &input.software_differs {
        let mut item = Item::act(
            fill(lang.software().menu_item, &[("target", &input.target_name)]),
            Action::CopySoftware,
            idle,
        );
        item.label = format!("{} ({what})", item.label);
        items.push(item);
    }
    items.push(Item::act(t.menu_failback, Action::Failback, idle));
    items.push(Item::act(t.menu_backup_now, Action::BackupNow, idle));
    items.push(Item::separator());
    items.push(Item::act(
        fill(t.menu_open, &[("target", &input.target_name)]),
        Action::OpenSecours,
        input.target_url.is_some(),
    ));
    let show = if cfg!(target_os = "macos") {
        t.menu_show_backups
    } else {
        t.menu_show_backups_other
    };
    items.push(Item::act(show, Action::ShowBackups, true));
    items.push(Item::act(t.menu_history, Action::History, true));
    items.push(Item::act(t.menu_preferences, Action::Preferences, true));
    if input.time_machine.as_ref().is_some_and(|tm| tm.needs_full_disk_access) {
        items.push(Item::act(t.menu_grant_fda, Action::GrantFullDiskAccess, true));
    }
    if let Some(on) = input.launch_at_login {
        let label = if input.login_needs_approval {
            lang.app().login_approval
        } else {
            t.menu_login
        };
        let mut login = Item::act(label, Action::LaunchAtLogin, true);
        login.checked = Some(on && !input.login_needs_approval);
        items.push(login);
    }
    if input.demo {
        items.push(demo_menu(lang, idle, has_pair));
    }
    items.push(Item::separator());
    items.push(Item::act(t.menu_quit, Action::Quit, true));
    items
}

/// The demo's submenu: its production page, and things that go wrong on request.
fn demo_menu(lang: Lang, idle: bool, has_pair: bool) -> Item {
    let d = lang.demo();
    let mut menu = Item::info(d.menu);
    menu.enabled = true;
    menu.children = vec![
        Item::act(d.menu_open_prod, Action::DemoOpenProd, true),
        Item::act(d.menu_stop_job, Action::DemoStopJob, idle && has_pair),
        Item::act(d.menu_age, Action::DemoAge, idle && has_pair),
        Item::act(d.menu_corrupt, Action::DemoCorrupt, idle && has_pair),
        Item::act(d.menu_repair, Action::DemoRepair, idle),
    ];
    menu
}

/// The newest safe copy and the last rehearsal.
fn copy_and_drill_lines(input: &MenuInput, now: Timestamp, t: &Texts) -> Vec<Item> {
    let mut items = Vec::new();
    match input.copies.first() {
        Some(c) => items.push(Item::info(fill(
            t.menu_newest_copy,
            &[
                ("age", &t.age(now.as_second() - c.at.as_second())),
                ("destination", &c.destination),
            ],
        ))),
        None => items.push(Item::info(t.menu_no_copy)),
    }
    let drill = match input.last_drill {
        Some(at) => fill(t.menu_last_drill, &[("age", &t.age(now.as_second() - at.as_second()))]),
        None => t.menu_no_drill.to_owned(),
    };
    let drill = if drill_due(input, now) {
        format!("{drill} — {}", t.menu_drill_due)
    } else {
        drill
    };
    items.push(Item::info(drill));
    items
}

fn running_line(run: &Running, t: &Texts) -> String {
    let what = match run.kind {
        OperationKind::Verify => t.menu_running_verify,
        OperationKind::Copy => t.menu_running_copy,
        OperationKind::Restore => t.menu_running_restore,
        OperationKind::Failback => t.menu_running_failback,
        OperationKind::Backup => t.menu_running_backup,
        OperationKind::Software => t.menu_running_software,
    };
    if run.parts.is_empty() {
        return what.to_owned();
    }
    let parts: Vec<String> = run.parts.iter().map(|(name, pct)| format!("{name} {pct} %")).collect();
    format!("{what} {}", parts.join(", "))
}

fn status_lines(status: &StatusReport, t: &Texts) -> Vec<Item> {
    let mut items = Vec::new();
    for s in &status.sources {
        let line = match (s.age_seconds, s.db.bytes, s.media.bytes) {
            (Some(age), Some(db), Some(media)) => fill(
                t.last_backup,
                &[("age", &t.age(age)), ("db", &t.bytes(db)), ("media", &t.bytes(media))],
            ),
            _ => t.no_backup.to_owned(),
        };
        let prefix = if status.sources.len() > 1 {
            format!("{} — ", s.name)
        } else {
            String::new()
        };
        items.push(Item::info(format!("{prefix}{line}")));
        if let Some(p) = &s.problem {
            // The whole explanation goes to the notification; the menu keeps a line that fits a screen.
            let line = format!("{}{}{p}", capitalize(s.state.word(t)), t.colon);
            items.push(Item::info(shorten(&line, MAX_LINE)));
        }
    }
    if status.sources.is_empty() {
        items.push(Item::info(t.menu_nothing_watched));
    }
    items
}

/// The longest status line, in characters (longer menus run off small screens).
const MAX_LINE: usize = 90;

/// Cuts a line at the last word boundary before `max` characters, with an ellipsis.
fn shorten(line: &str, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let cut: String = line.chars().take(max - 1).collect();
    let cut = cut
        .rsplit_once(' ')
        .map_or(cut.as_str(), |(head, _)| head)
        .trim_end_matches([',', ';', ':', ' ']);
    format!("{cut}…")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::status::{FileStatus, SourceStatus};

    const NOW: i64 = 1_764_079_200;

    fn ts(ago: i64) -> Timestamp {
        Timestamp::from_second(NOW - ago).unwrap()
    }

    fn report(state: State, age: i64) -> StatusReport {
        let file = |bytes| FileStatus {
            path: "/x".into(),
            bytes: Some(bytes),
            modified: Some(ts(age)),
            problem: None,
            observation: None,
        };
        StatusReport {
            state,
            checked_at: ts(0),
            time_machine: crate::timemachine::TimeMachineStatus::unavailable(),
            safe_copies: Vec::new(),
            drill: Default::default(),
            standby: Default::default(),
            sources: vec![SourceStatus {
                name: "prod".into(),
                folder: "/b".into(),
                pair_folder: "/b".into(),
                state,
                age_seconds: Some(age),
                reason: None,
                problem: None,
                db: file(48_000_000),
                media: file(1_200_000_000),
                anomalies: Vec::new(),
            }],
        }
    }

    fn input(state: State, age: i64) -> MenuInput {
        MenuInput {
            status: Some(report(state, age)),
            target_name: "secours".into(),
            target_url: Some("http://imac-de-reunion.local/secours".into()),
            drill_every: Some(Duration::from_secs(182 * 86_400)),
            last_drill: Some(ts(30 * 86_400)),
            launch_at_login: Some(false),
            ..Default::default()
        }
    }

    fn labels(items: &[Item]) -> Vec<String> {
        items.iter().map(|i| i.label.clone()).collect()
    }

    // Guards issue 17's offer: when the standby's software differs from production's the menu offers to copy
    // it, saying what differs; when it is identical, nothing is offered. The standby's line says it is ready.
    #[test]
    fn the_copy_of_the_software_is_offered_only_when_it_differs() {
        let mut i = input(State::Fresh, 60);
        let find = |items: &[Item]| items.iter().find(|it| it.action == Some(Action::CopySoftware)).cloned();
        assert!(find(&build(&i, ts(0), Lang::En)).is_none());
        i.software_differs = Some("1 changed, 1 added, 1 removed".into());
        let item = find(&build(&i, ts(0), Lang::Fr)).unwrap();
        assert_eq!(
            item.label,
            "Copier le logiciel vers secours… (1 changed, 1 added, 1 removed)"
        );
        assert!(item.enabled);
        assert_eq!(Action::from_id(&Action::CopySoftware.id()), Some(Action::CopySoftware));
    }

    // Guards the standby's line: « Secours prêt : sauvegarde de … » when a pair is pre-staged, the failure when
    // the latest pair does not restore (and the icon red), nothing where pre-staging does not run.
    #[test]
    fn the_standby_line_says_ready_or_unrestorable() {
        let mut i = input(State::Fresh, 60);
        let labels_fr = |i: &MenuInput| labels(&build(i, ts(0), Lang::Fr));
        assert!(!labels_fr(&i).iter().any(|l| l.starts_with("Secours prêt")));
        let status = i.status.as_mut().unwrap();
        status.standby = crate::backup::status::StandbyStatus {
            enabled: true,
            ready: true,
            pair: Some(crate::backup::status::StandbyPair {
                folder: "/b".into(),
                time: ts(3600),
                db_modified: ts(3600),
                media_modified: ts(3600),
            }),
            ..Default::default()
        };
        assert!(
            labels_fr(&i)
                .iter()
                .any(|l| l.starts_with("Secours prêt : sauvegarde de ")),
            "{:?}",
            labels_fr(&i)
        );
        let status = i.status.as_mut().unwrap();
        status.standby.unrestorable = true;
        status.standby.problem = Some("The backup of 2026-12-05 14:00 does not restore".into());
        status.state = State::Unrestorable;
        assert!(labels_fr(&i).contains(&"The backup of 2026-12-05 14:00 does not restore".to_owned()));
        assert_eq!(icon(&i, ts(0)), Icon::Stale);
    }

    // Guards the status line the issue spells out, in French.
    #[test]
    fn first_line_says_age_and_sizes_in_french() {
        let items = build(&input(State::Fresh, 12 * 60), ts(0), Lang::Fr);
        assert_eq!(
            items[0].label,
            "Dernière sauvegarde : il y a 12 min — base 48 Mo, médias 1,2 Go"
        );
        assert!(!items[0].enabled);
    }

    #[test]
    fn icon_follows_the_worst_news() {
        let now = ts(0);
        assert_eq!(icon(&input(State::Fresh, 60), now), Icon::Fresh);
        assert_eq!(icon(&input(State::Late, 7200), now), Icon::Late);
        for s in [
            State::Stale,
            State::Missing,
            State::Corrupt,
            State::Unrestorable,
            State::Unknown,
        ] {
            assert_eq!(icon(&input(s, 60), now), Icon::Stale, "{s:?}");
        }
        let mut due = input(State::Fresh, 60);
        due.last_drill = Some(ts(200 * 86_400));
        assert_eq!(icon(&due, now), Icon::Attention);
        let mut tm = input(State::Fresh, 60);
        tm.time_machine = Some(TimeMachineLine {
            text: "x".into(),
            problem: true,
            needs_full_disk_access: true,
        });
        assert_eq!(icon(&tm, now), Icon::Attention);
        let mut busy = input(State::Stale, 60);
        busy.running = Some(Running {
            kind: OperationKind::Copy,
            parts: vec![],
        });
        assert_eq!(icon(&busy, now), Icon::Working);
    }

    // Guards the item 3: a suspect backup shows attention, says what changed, and offers
    // "This change is expected" (only then).
    #[test]
    fn a_suspect_backup_shows_attention_and_offers_to_accept() {
        let now = ts(0);
        let fresh = input(State::Fresh, 60);
        let has_accept = |i: &MenuInput| {
            build(i, now, Lang::Fr)
                .iter()
                .any(|it| it.action == Some(Action::AcceptChange) && it.label == "Ce changement est normal")
        };
        assert!(!has_accept(&fresh));
        let mut suspect = input(State::Suspect, 60);
        if let Some(s) = suspect.status.as_mut() {
            s.sources[0].anomalies = vec![crate::backup::anomaly::Anomaly {
                kind: crate::backup::anomaly::Kind::TableEmptied,
                before: 812,
                now: 0,
                message: "La table `facture` est vide".into(),
                table: Some("facture".into()),
                folder: None,
            }];
            s.sources[0].problem = Some("La table `facture` est vide".into());
        }
        assert_eq!(icon(&suspect, now), Icon::Attention);
        assert!(has_accept(&suspect));
        let labels = labels(&build(&suspect, now, Lang::Fr));
        assert!(
            labels.contains(&"Suspecte : La table `facture` est vide".to_owned()),
            "{labels:?}"
        );
        assert_eq!(Action::from_id("accept-change"), Some(Action::AcceptChange));
    }

    // Guards: while a restore runs, conflicting actions are off, progress comes first, Cancel appears.
    #[test]
    fn running_operation_disables_conflicts_and_offers_cancel() {
        let mut i = input(State::Fresh, 60);
        i.running = Some(Running {
            kind: OperationKind::Restore,
            parts: vec![("médias".into(), 63), ("base".into(), 41)],
        });
        let items = build(&i, ts(0), Lang::Fr);
        assert_eq!(items[0].label, "Restauration… médias 63 %, base 41 %");
        let find = |a: Action| items.iter().find(|it| it.action.as_ref() == Some(&a)).cloned();
        assert!(find(Action::Cancel).unwrap().enabled);
        assert!(!find(Action::CopyNow).unwrap().enabled);
        assert!(!find(Action::Failback).unwrap().enabled);
        assert!(find(Action::Quit).unwrap().enabled);
    }

    #[test]
    fn restore_submenu_lists_latest_each_copy_and_a_folder_choice() {
        let mut i = input(State::Fresh, 60);
        i.copies = vec![
            CopyChoice {
                id: "d/2026-11-25_1400".into(),
                at: ts(3600),
                destination: "Sauvegarde".into(),
            },
            CopyChoice {
                id: "d/2026-11-25_1300".into(),
                at: ts(7200),
                destination: "Sauvegarde".into(),
            },
        ];
        let items = build(&i, ts(0), Lang::En);
        let restore = items.iter().find(|it| !it.children.is_empty()).unwrap();
        assert_eq!(restore.label, "Restore onto secours");
        assert_eq!(restore.children.len(), 4);
        assert_eq!(
            restore.children[1].action,
            Some(Action::RestoreCopy("d/2026-11-25_1400".into()))
        );
        assert!(
            labels(&items)
                .iter()
                .any(|l| l.starts_with("Newest safe copy: 1 h 00 ago"))
        );
    }

    #[test]
    fn full_disk_access_item_only_when_needed() {
        let i = input(State::Fresh, 60);
        let has = |items: &[Item]| items.iter().any(|it| it.action == Some(Action::GrantFullDiskAccess));
        assert!(!has(&build(&i, ts(0), Lang::En)));
        let mut j = i.clone();
        j.time_machine = Some(TimeMachineLine {
            text: "x".into(),
            problem: true,
            needs_full_disk_access: true,
        });
        assert!(has(&build(&j, ts(0), Lang::En)));
    }

    // Guards: a long problem text must not make the menu wider than a small screen.
    #[test]
    fn long_lines_are_shortened_at_a_word() {
        let long = "Stale: The last backup is older than 3 h 00: the hourly backup has stopped. Check that the production computer is on.";
        let s = shorten(long, 60);
        assert!(s.chars().count() <= 60, "{s}");
        assert!(s.ends_with('…'));
        assert_eq!(shorten("short", 60), "short");
    }

    // Guards: the "Demo" submenu shows only in the demo, its items act, and it comes before Quit.
    #[test]
    fn demo_submenu_only_in_the_demo() {
        let i = input(State::Fresh, 60);
        let demo_items = |items: &[Item]| items.iter().find(|it| it.label == "Demo").cloned();
        assert!(demo_items(&build(&i, ts(0), Lang::En)).is_none());
        let mut d = i.clone();
        d.demo = true;
        let items = build(&d, ts(0), Lang::En);
        let menu = demo_items(&items).unwrap();
        let actions: Vec<Action> = menu.children.iter().filter_map(|c| c.action.clone()).collect();
        assert_eq!(
            actions,
            [
                Action::DemoOpenProd,
                Action::DemoStopJob,
                Action::DemoAge,
                Action::DemoCorrupt,
                Action::DemoRepair
            ]
        );
        assert!(menu.children.iter().all(|c| c.enabled));
        assert_eq!(items.last().and_then(|q| q.action.clone()), Some(Action::Quit));
        assert!(build(&d, ts(0), Lang::Fr).iter().any(|it| it.label == "Démo"));
    }

    #[test]
    fn action_ids_round_trip() {
        for a in [
            Action::CopyNow,
            Action::RestoreCopy("a/b".into()),
            Action::GrantFullDiskAccess,
            Action::Quit,
            Action::DemoAge,
            Action::DemoRepair,
        ] {
            assert_eq!(Action::from_id(&a.id()), Some(a.clone()), "{}", a.id());
        }
        assert_eq!(Action::from_id("nope"), None);
    }

    #[test]
    fn json_has_label_enabled_and_children() {
        let items = build(&input(State::Fresh, 60), ts(0), Lang::En);
        let json = serde_json::to_value(&items).unwrap();
        assert!(json[0]["label"].is_string());
        assert_eq!(json[0]["enabled"], false);
        let login = json
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["checked"].is_boolean())
            .unwrap();
        assert_eq!(login["checked"], false);
        assert!(json.as_array().unwrap().iter().any(|v| v["children"].is_array()));
    }

    // Guards item 4 of the Mac issue: the icon is up at once, before anything was read, and says
    // "checking" (the working icon, not the red one of an unknown state); Time Machine says "checking…"
    // until tmutil answers.
    #[test]
    fn the_menu_before_the_first_look_says_checking() {
        let input = MenuInput {
            checking: true,
            time_machine_checking: true,
            target_name: "secours".into(),
            ..Default::default()
        };
        assert_eq!(icon(&input, ts(0)), Icon::Working);
        let items = build(&input, ts(0), Lang::En);
        assert_eq!(
            labels(&items)[..2],
            ["Checking the backups…", "Time Machine: checking…"]
        );
        assert!(labels(&items).contains(&"Quit Secours".to_owned()));
        assert!(
            !labels(&items).iter().any(|l| l.starts_with("No safe copy")),
            "{:?}",
            labels(&items)
        );
        let french = build(&input, ts(0), Lang::Fr);
        assert_eq!(french[0].label, "Vérification des sauvegardes…");

        let mut later = input.clone();
        later.checking = false;
        later.status = Some(report(State::Fresh, 60));
        let items = build(&later, ts(0), Lang::En);
        assert!(
            items[1].label.starts_with("Time Machine: checking…"),
            "{:?}",
            labels(&items)
        );
        assert_eq!(icon(&later, ts(0)), Icon::Fresh);
    }

    // Guards "a switch-off in System Settings must show in the menu": launch at login waiting for approval
    // is unticked and says where to allow it.
    #[test]
    fn launch_at_login_waiting_for_approval_is_unticked_and_says_where() {
        let mut i = input(State::Fresh, 60);
        i.launch_at_login = Some(true);
        i.login_needs_approval = true;
        let items = build(&i, ts(0), Lang::En);
        let login = items
            .iter()
            .find(|it| it.action == Some(Action::LaunchAtLogin))
            .unwrap();
        assert_eq!(login.label, "Launch at login (to allow in System Settings)");
        assert_eq!(login.checked, Some(false));
    }
}
