//! The menu-bar app's brain, without any display: what to show (a [`MenuInput`] snapshot), when to
//! notify, and what each menu action does. The tray (`tray.rs`) only draws and forwards clicks.
//!
//! `secours menu --json` uses the same [`Session::snapshot`], so scripts and tests see exactly what the
//! app would show.
//!
//! In the app ([`Session::in_background`]) a snapshot never waits for an external command: Time Machine is
//! read on a thread of its own (`tmutil` may take 20 s per call, more when a network disk is out of
//! reach), and the menu says "checking…" until its first answer; launch at login is read again at most
//! every minute or when the menu opens (before macOS 13 that runs `launchctl`). Everything a menu item does
//! runs on a worker thread (the tray sees to it), dialogs included.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::backup::duties::Duty;
use crate::backup::operations;
use crate::backup::status;
use crate::backup::status::StatusReport;
use crate::env::config::Config;
use crate::env::environment;
use crate::env::paths::Locations;
use crate::i18n::{Lang, fill};
use crate::platform;
use crate::platform::login_item::{LoginItem, Status as LoginStatus};
use crate::platform::macos::bundle::current_bundle_id;
use crate::platform::runner::SystemRunner;
use crate::progress::{Cancel, Progress, Update};
use crate::run::Context;
use crate::store::history::History;
use crate::store::history::VerdictKind;
use crate::timemachine::TmState;
use crate::ui::menu::{Action, CopyChoice, MenuInput, OperationKind, Running, TimeMachineLine};
use crate::ui::notifications::Note;

/// Everything the app needs to look and act; cheap to clone (shared between threads).
#[derive(Clone)]
pub struct Session {
    pub locations: Locations,
    pub config: Config,
    pub lang: Lang,
    /// A configuration that could not be loaded: the app keeps running and says so.
    pub config_problem: Option<String>,
    /// Remembered alerts, per subject (persisted through history when available).
    pub alerts: Arc<Mutex<crate::ui::alert_memory::AlertStore>>,
    /// The long operation running now, if any (shared with its worker thread).
    pub running: Arc<Mutex<Option<Running>>>,
    /// Cancels the running operation.
    pub cancel: Arc<Mutex<Cancel>>,
    /// Asks the event loop to show a confirmation (set by the tray; `None` without a display).
    pub ask: Arc<Mutex<Option<Asker>>>,
    /// The last Time Machine reading: read again after [`crate::timemachine::next_poll`] (60 s idle,
    /// 5 s while a backup runs), when the pair changes, or at once when the menu opens.
    pub time_machine: Arc<Mutex<Option<TmReading>>>,
    /// Set when the menu opens: the next snapshot reads Time Machine whatever the cache says.
    pub time_machine_now: Arc<std::sync::atomic::AtomicBool>,
    /// When the history was last pruned (once a day is plenty).
    pub pruned_at: Arc<Mutex<Option<std::time::Instant>>>,
    /// The standby's pre-staging: its process (`secours standby --once`, at low priority) and when the
    /// last one started.
    prestage: Arc<Mutex<PrestageRun>>,
    /// The comparison of the standby's software with production's (for the menu's offer to copy it).
    software: Arc<Mutex<SoftwareCheck>>,
    /// The app: Time Machine is read on its own thread and a snapshot never waits for it. `false` (the
    /// CLI's `menu`): read in place, so the answer is complete.
    pub in_background: bool,
    /// A Time Machine reading is under way on its thread.
    tm_busy: Arc<AtomicBool>,
    /// Wakes the watcher for a new snapshot (set by the tray): Time Machine answered, launch at login
    /// changed.
    pub wake: Arc<Mutex<Option<Sender<()>>>>,
    /// Launch at login as last read, and when.
    login: Arc<Mutex<Option<LoginReading>>>,
    /// Set when the menu opens or launch at login was changed: read it again now.
    login_now: Arc<AtomicBool>,
    /// Without a configuration file: the stack found on this machine (Preferences… writes its paths).
    stack: Option<crate::env::stack::Stack>,
}

/// One reading of Time Machine and what it was read for.
#[derive(Debug, Clone)]
pub struct TmReading {
    at: std::time::Instant,
    /// The pair's file times when it was read: a new pair is read again.
    pair: Option<(Option<Timestamp>, Option<Timestamp>)>,
    status: crate::timemachine::TimeMachineStatus,
    /// What the last full reading learnt (`latestbackup`, `isexcluded`), for the quick polls.
    kept: Option<crate::timemachine::schedule::Kept>,
}

/// Launch at login as the menu shows it.
#[derive(Debug, Clone, Copy)]
struct LoginReading {
    at: std::time::Instant,
    /// `None` where it cannot be read.
    on: Option<bool>,
    needs_approval: bool,
}

/// How long a reading of launch at login is shown before it is read again (the menu opening reads it at
/// once): a switch-off in System Settings shows within this time.
const LOGIN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Asks for a confirmation (the tray shows the dialog from a thread of its own and starts the restore on
/// yes).
pub type Asker = Box<dyn Fn(Confirmation) + Send>;

/// A restore waiting for the user's yes: the summary to show, and what to run on yes.
pub struct Confirmation {
    pub title: String,
    pub message: String,
    /// A second question (the return to production asks twice).
    pub again: Option<String>,
    pub ok: String,
    pub cancel: String,
    /// What runs on yes.
    pub then: Confirmed,
}

/// What a confirmation starts.
pub enum Confirmed {
    /// A restore or the return to production.
    Restore(Box<crate::restore::transaction::Request>),
    /// The copy of the software onto the standby, as planned.
    Software(Box<crate::restore::software::Plan>),
}

impl std::fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmation")
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// How often the app compares the standby's software with production's.
const SOFTWARE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// The last comparison of the software: when, whether one runs, and what differs.
#[derive(Debug, Default)]
struct SoftwareCheck {
    checked: Option<std::time::Instant>,
    running: bool,
    differs: Option<String>,
}

/// The pre-staging's process, if one runs, and when the last started.
#[derive(Debug, Default)]
struct PrestageRun {
    child: Option<std::process::Child>,
    started: Option<std::time::Instant>,
}

impl Session {
    /// A session from a loaded context.
    pub fn new(ctx: Context) -> Session {
        let alerts = crate::ui::alert_memory::AlertStore::open(&ctx.locations);
        Session {
            stack: ctx.stack,
            locations: ctx.locations,
            config: ctx.config,
            lang: ctx.lang,
            config_problem: None,
            alerts: Arc::new(Mutex::new(alerts)),
            running: Arc::default(),
            cancel: Arc::default(),
            ask: Arc::default(),
            time_machine: Arc::default(),
            time_machine_now: Arc::default(),
            pruned_at: Arc::default(),
            prestage: Arc::default(),
            software: Arc::default(),
            in_background: false,
            tm_busy: Arc::default(),
            wake: Arc::default(),
            login: Arc::default(),
            login_now: Arc::default(),
        }
    }

    /// A session whose configuration is broken: the app shows the problem instead of exiting.
    pub fn broken(locations: Locations, problem: String) -> Session {
        let lang = Lang::choose(crate::i18n::LanguageSetting::Auto);
        let alerts = crate::ui::alert_memory::AlertStore::open(&locations);
        Session {
            stack: None,
            locations,
            config: Config::default(),
            lang,
            config_problem: Some(problem),
            alerts: Arc::new(Mutex::new(alerts)),
            running: Arc::default(),
            cancel: Arc::default(),
            ask: Arc::default(),
            time_machine: Arc::default(),
            time_machine_now: Arc::default(),
            pruned_at: Arc::default(),
            prestage: Arc::default(),
            software: Arc::default(),
            in_background: false,
            tm_busy: Arc::default(),
            wake: Arc::default(),
            login: Arc::default(),
            login_now: Arc::default(),
        }
    }

    /// The menu is opening (a click on the icon): Time Machine and launch at login are read again at once.
    pub fn menu_opened(&self) {
        self.time_machine_now.store(true, Ordering::SeqCst);
        self.login_now.store(true, Ordering::SeqCst);
    }

    /// Asks the watcher for a new snapshot (when the tray has set it up).
    pub fn wake_watcher(&self) {
        if let Ok(w) = self.wake.lock()
            && let Some(w) = w.as_ref()
        {
            let _ = w.send(());
        }
    }

    /// Time Machine as of now: the last reading while it is recent enough ([`crate::timemachine::next_poll`]),
    /// else a new poll ([`crate::timemachine::schedule`]). In the app the poll runs on its own thread and
    /// this returns the previous reading meanwhile — `None` before the first one (the menu says
    /// "checking…").
    fn read_time_machine(&self, report: &StatusReport) -> Option<crate::timemachine::TimeMachineStatus> {
        let pair = report.sources.first().map(|f| (f.db.modified, f.media.modified));
        let asked = self.time_machine_now.swap(false, Ordering::SeqCst);
        let cached = self.time_machine.lock().ok().and_then(|c| c.clone());
        let due = asked
            || cached
                .as_ref()
                .is_none_or(|r| r.pair != pair || r.at.elapsed() >= crate::timemachine::next_poll(&r.status));
        if !due {
            return cached.map(|r| r.status);
        }
        let job = TmJob {
            config: self.config.clone(),
            folder: report.sources.first().map(|f| f.folder.clone()),
            pair_mtime: match report.sources.first().map(|f| (f.db.modified, f.media.modified)) {
                Some((Some(a), Some(b))) => Some(a.max(b)),
                _ => None,
            },
            pair,
            kept: cached.as_ref().and_then(|r| r.kept.clone()),
            asked,
            lang: self.lang,
            now: report.checked_at,
        };
        if !self.in_background {
            let reading = job.run();
            let status = reading.status.clone();
            self.keep_time_machine(reading);
            return Some(status);
        }
        if self.tm_busy.swap(true, Ordering::SeqCst) {
            // A reading is under way; a menu that opened meanwhile gets the next one.
            if asked {
                self.time_machine_now.store(true, Ordering::SeqCst);
            }
        } else {
            let session = self.clone();
            let before = cached.as_ref().map(|r| r.status.clone());
            let spawned = std::thread::Builder::new()
                .name("secours-tmutil".into())
                .spawn(move || {
                    let reading = job.run();
                    // A new snapshot only when there is something new to show.
                    let changed = before.as_ref() != Some(&reading.status);
                    session.keep_time_machine(reading);
                    session.tm_busy.store(false, Ordering::SeqCst);
                    if changed {
                        session.wake_watcher();
                    }
                });
            if let Err(e) = spawned {
                log::warn!("cannot start the Time Machine thread: {e}");
                self.tm_busy.store(false, Ordering::SeqCst);
            }
        }
        cached.map(|r| r.status)
    }

    fn keep_time_machine(&self, reading: TmReading) {
        if let Ok(mut cache) = self.time_machine.lock() {
            *cache = Some(reading);
        }
    }

    /// Launch at login for the menu: `(on, waits for approval)`, read again after [`LOGIN_EVERY`] or when
    /// asked ([`Session::menu_opened`], a change).
    fn launch_at_login(&self) -> (Option<bool>, bool) {
        let asked = self.login_now.swap(false, Ordering::SeqCst);
        if let Ok(cache) = self.login.lock()
            && let Some(r) = cache.as_ref()
            && !asked
            && r.at.elapsed() < LOGIN_EVERY
        {
            return (r.on, r.needs_approval);
        }
        let status = LoginItem::for_current_user(current_bundle_id()).and_then(|l| l.status());
        let reading = LoginReading {
            at: std::time::Instant::now(),
            on: status.as_ref().ok().map(|s| {
                !matches!(
                    s,
                    LoginStatus::Off | LoginStatus::Disabled { .. } | LoginStatus::NeedsApproval { .. }
                )
            }),
            needs_approval: matches!(status, Ok(LoginStatus::NeedsApproval { .. })),
        };
        if let Ok(mut cache) = self.login.lock() {
            *cache = Some(reading);
        }
        (reading.on, reading.needs_approval)
    }

    /// How long the watcher may sleep: 1 s while an operation runs (its progress line), at most `idle`,
    /// and no longer than Time Machine's polling asks for.
    pub fn next_refresh(&self, idle: std::time::Duration) -> std::time::Duration {
        if self.busy() {
            return std::time::Duration::from_secs(1);
        }
        let tm = self
            .time_machine
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|r| crate::timemachine::next_poll(&r.status)));
        tm.map_or(idle, |t| t.min(idle))
    }

    fn target(&self) -> Option<environment::Environment> {
        environment::named(&self.config, &self.config.restore.target).ok()
    }

    /// What the menu shows now.
    pub fn snapshot(&self, now: Timestamp) -> MenuInput {
        let history = History::open(&self.locations.history()).ok();
        let is_corrupt = |o: &crate::backup::inspect::FileObservation| {
            history.as_ref().is_some_and(|h| status::corrupt_in_history(h, o))
        };
        let mut time_machine_checking = false;
        let status = self.config_problem.is_none().then(|| {
            let mut report = status::gather(&self.config, self.lang, now, &is_corrupt);
            match self.read_time_machine(&report) {
                Some(tm) => report.time_machine = tm,
                // Not answered yet: "checking…" where there is a tmutil to wait for.
                None => {
                    let tm = &self.config.time_machine;
                    time_machine_checking = tm.enabled && tm.tmutil.exists() && !report.sources.is_empty();
                }
            }
            status::apply_standby(&mut report, &self.config, history.as_ref(), self.lang);
            if let Some(h) = &history {
                status::apply_anomalies(&mut report, &self.config, h, self.lang);
                status::record(&report, h);
            }
            report
        });
        let time_machine = status
            .as_ref()
            .filter(|s| s.time_machine.available)
            .map(|s| time_machine_line(s, self.lang, now));
        let target = self.target();
        let last_drill = history.as_ref().and_then(status::last_drill);
        let unfinished_restore = history
            .as_ref()
            .and_then(|h| h.unfinished_operations().ok())
            .and_then(|ops| ops.into_iter().find(|o| crate::restore::Kind::is_ours(&o.kind)))
            .map(|o| o.started_at.strftime("%Y-%m-%d %H:%M").to_string());
        let (launch_at_login, login_needs_approval) = self.launch_at_login();
        MenuInput {
            status,
            config_problem: self.config_problem.clone(),
            time_machine,
            copies: self.copies(),
            last_drill,
            drill_every: Some(self.config.drill.every.0),
            unfinished_restore,
            running: self.running.lock().ok().and_then(|r| r.clone()),
            launch_at_login,
            target_url: target.as_ref().and_then(|t| t.url.clone()),
            target_name: self.config.restore.target.clone(),
            demo: self.config.demo.is_some(),
            checking: false,
            time_machine_checking,
            login_needs_approval,
            software_differs: self.software.lock().ok().and_then(|c| c.differs.clone()),
        }
    }

    /// What the menu shows before the first snapshot: "checking…", and the items that need nothing read.
    pub fn first_input(&self) -> MenuInput {
        MenuInput {
            checking: true,
            demo: self.config.demo.is_some(),
            config_problem: self.config_problem.clone(),
            target_name: self.config.restore.target.clone(),
            drill_every: Some(self.config.drill.every.0),
            ..Default::default()
        }
    }

    /// The app quits: the demo's database server stops as soon as no other Secours process uses it.
    pub fn quitting(&self) {
        if let Some(demo) = &self.config.demo {
            crate::demo::server::request_stop(&demo.dir);
        }
    }

    /// The demo's submenu: things go wrong on request (quick file changes), or are put right (a backup, on
    /// a worker thread).
    fn demo_action(&self, action: &Action) -> Result<(), platform::OpenError> {
        let Some(dir) = self.config.demo.as_ref().map(|d| d.dir.clone()) else {
            return Ok(());
        };
        let (d, t) = (self.lang.demo(), self.lang.t());
        let said = match action {
            Action::DemoOpenProd => {
                return match crate::demo::production(&self.config).and_then(|e| e.url) {
                    Some(url) => platform::open_url(&url),
                    None => Ok(()),
                };
            }
            Action::DemoRepair => {
                self.spawn(OperationKind::Backup, move |s, _, _| {
                    let d = s.lang.demo();
                    Some(note(match crate::demo::repair(&s.config, &dir) {
                        Ok(()) => d.repaired.to_owned(),
                        Err(e) => s.lang.t().failure(d.repair_failed, &e.to_string()),
                    }))
                });
                return Ok(());
            }
            Action::DemoStopJob => crate::demo::stop_job(&self.config, &dir)
                .map(|since| crate::i18n::fill(d.job_stopped, &[("age", &t.age(since.as_secs() as i64))])),
            Action::DemoAge => {
                let by = std::time::Duration::from_secs(4 * 3600);
                crate::demo::age_backup(&self.config, &dir, by)
                    .map(|()| crate::i18n::fill(d.aged, &[("age", &t.age(by.as_secs() as i64))]))
            }
            Action::DemoCorrupt => crate::demo::corrupt(&self.config)
                .map(|p| crate::i18n::fill(d.corrupted, &[("path", &p.display().to_string())])),
            _ => return Ok(()),
        };
        let body = said.unwrap_or_else(|e| e.to_string());
        log::info!("demo: {body}");
        crate::ui::notifications::send(&note(body));
        Ok(())
    }

    /// What the app does by itself: verify a new pair once it has stopped growing, then copy it to the
    /// safe places when `[safe-copy] automatic` is on. Runs on the watcher thread; the work itself goes to
    /// a worker thread, one operation at a time.
    pub fn background_duties(&self, input: &MenuInput) {
        if self.busy() || input.unfinished_restore.is_some() {
            return;
        }
        // The state a restore replaced is kept `keep-previous`, then deleted (one folder listing).
        if let Some(target) = self.target() {
            crate::restore::transaction::purge_previous(
                &target.web,
                self.config.restore.keep_previous.0,
                None,
                target.database().ok().as_ref(),
            );
        }
        self.prune_history_daily();
        self.prestage_duty();
        self.software_duty();
        let source = input.status.as_ref().and_then(|s| s.sources.first());
        // Without history nothing is remembered, so nothing is verified by itself (it would be every time).
        let Ok(history) = History::open(&self.locations.history()) else {
            return;
        };
        let verified_ok = |o: &crate::backup::inspect::FileObservation| {
            let v = history
                .verification(&crate::backup::inspect::file_key(o))
                .ok()
                .flatten()?;
            Some(v.verdict.is_ok())
        };
        let newest_copy = input.copies.first().map(|c| c.at);
        match crate::backup::duties::next(source, verified_ok, newest_copy, &self.config.safe_copy) {
            Duty::Nothing => {}
            Duty::Verify => {
                if let Some(s) = source {
                    log::info!("new backup pair in '{}': verifying it", s.pair_folder.display());
                }
                // By itself, verification speaks only when something is wrong (the alert policy then
                // keeps reminding through the `corrupt` state).
                self.spawn(OperationKind::Verify, |s, progress, cancel| {
                    let pair = operations::select(&s.config, &Default::default()).ok()?;
                    let history = History::open(&s.locations.history()).ok();
                    let v = operations::verify(&pair, history.as_ref(), false, progress, cancel);
                    (!matches!(v.verdict, VerdictKind::Ok | VerdictKind::Cancelled)).then(|| Note {
                        title: "Secours".to_owned(),
                        body: s.lang.t().verify_bad.to_owned(),
                    })
                });
            }
            Duty::Copy => {
                log::info!("verified backup not yet copied: copying it to the safe places");
                self.perform(&Action::CopyNow, input);
            }
        }
    }

    /// The standby made ready ahead of time: every `[standby] every`, one cycle in a process of its own
    /// (`secours standby --once`, at low priority), started and never waited for; it gives way to a restore by
    /// itself. Not while another operation of the app runs (a copy), nor where pre-staging is off.
    fn prestage_duty(&self) {
        let Ok(mut run) = self.prestage.lock() else {
            return;
        };
        if let Some(child) = run.child.as_mut() {
            match child.try_wait() {
                Ok(None) => return,
                Ok(Some(status)) => log::info!("pre-staging cycle ended: {status}"),
                Err(e) => log::warn!("pre-staging cycle: {e}"),
            }
            run.child = None;
        }
        let now = std::time::Instant::now();
        if self.busy()
            || !crate::backup::duties::due(run.started, now, self.config.standby.every.0)
            || crate::backup::status::prestage_off_reason(&self.config).is_some()
        {
            return;
        }
        run.started = Some(now);
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                log::warn!("cannot find Secours's own program to pre-stage the standby: {e}");
                return;
            }
        };
        let mut command = std::process::Command::new(exe);
        if self.locations.config.exists() {
            command.arg("--config").arg(&self.locations.config);
        }
        let spawned = command
            .arg("--data-dir")
            .arg(&self.locations.data_dir)
            .args(["standby", "--once", "--json"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => run.child = Some(child),
            Err(e) => log::warn!("cannot start the pre-staging cycle: {e}"),
        }
    }

    /// Keeps the history small over the years ([`History::prune`]): at start, then once a day.
    fn prune_history_daily(&self) {
        let Ok(mut last) = self.pruned_at.lock() else {
            return;
        };
        if !crate::backup::duties::prune_due(*last, std::time::Instant::now()) {
            return;
        }
        *last = Some(std::time::Instant::now());
        match History::open(&self.locations.history()).and_then(|h| h.prune(Timestamp::now())) {
            Ok(p) if p != crate::store::history::Pruned::default() => log::info!("history pruned: {p:?}"),
            Ok(_) => {}
            Err(e) => log::warn!("{e}"),
        }
    }

    /// Sends the notifications the alert policy asks for.
    pub fn notify_changes(&self, input: &MenuInput, now: Timestamp) {
        let Ok(mut store) = self.alerts.lock() else { return };
        let notes = store.observe(input, now, self.lang);
        if notes.is_empty() {
            return;
        }
        // History keeps what was sent (`secours history` shows it) and, claimed atomically, it also
        // stops the very same alert from going out twice within minutes, whatever the alert memory says.
        let history = History::open(&self.locations.history()).ok();
        for n in notes {
            let fresh = history.as_ref().is_none_or(|h| {
                h.claim_notification(&n.title, now, std::time::Duration::from_secs(600))
                    .unwrap_or(true)
            });
            if fresh {
                crate::ui::notifications::send(&n);
            }
        }
    }

    /// Safe copies at every destination, newest first.
    fn copies(&self) -> Vec<CopyChoice> {
        let mut all = Vec::new();
        for dest in &self.config.safe_copy.destinations {
            let name = dest
                .file_name()
                .map_or_else(|| dest.display().to_string(), |n| n.to_string_lossy().into_owned());
            for c in crate::backup::copy::list_copies(dest).unwrap_or_default() {
                let Ok(at) = c.date.to_zoned(jiff::tz::TimeZone::system()) else {
                    continue;
                };
                if c.manifest {
                    all.push(CopyChoice {
                        id: c.folder.display().to_string(),
                        at: at.timestamp(),
                        destination: name.clone(),
                    });
                }
            }
        }
        all.sort_by_key(|c| std::cmp::Reverse(c.at));
        all
    }

    /// Whether an operation is running now.
    pub fn busy(&self) -> bool {
        self.running.lock().is_ok_and(|r| r.is_some())
    }

    /// Runs a long operation on a worker thread, publishing its progress in `running`.
    fn spawn(
        &self,
        kind: OperationKind,
        work: impl FnOnce(&Session, &dyn Progress, &Cancel) -> Option<Note> + Send + 'static,
    ) {
        if let Ok(mut r) = self.running.lock() {
            if r.is_some() {
                return;
            }
            *r = Some(Running {
                kind,
                parts: Vec::new(),
            });
        }
        let cancel = Cancel::new();
        if let Ok(mut c) = self.cancel.lock() {
            *c = cancel.clone();
        }
        let session = self.clone();
        let spawned = std::thread::Builder::new().name("secours-work".into()).spawn(move || {
            let running = session.running.clone();
            let lang = session.lang;
            let progress = move |u: Update| {
                if let (Ok(mut r), Some(pct)) = (running.lock(), u.percent())
                    && let Some(run) = r.as_mut()
                {
                    let label = lang.t().part(u.step).to_owned();
                    match run.parts.iter_mut().find(|(n, _)| *n == label) {
                        Some(part) => part.1 = pct,
                        None => run.parts.push((label, pct)),
                    }
                }
            };
            let note = work(&session, &progress, &cancel);
            if let Ok(mut r) = session.running.lock() {
                *r = None;
            }
            if let Some(note) = note {
                crate::ui::notifications::send(&note);
            }
        });
        if let Err(e) = spawned {
            log::error!("cannot start the work thread: {e}");
            if let Ok(mut r) = self.running.lock() {
                *r = None;
            }
        }
    }

    /// Performs a menu action (never blocking: long work goes to a thread).
    pub fn perform(&self, action: &Action, _input: &MenuInput) {
        let t = self.lang.t();
        let result = match action {
            Action::VerifyNow => {
                self.spawn(OperationKind::Verify, |s, progress, cancel| {
                    let t = s.lang.t();
                    let body = match operations::select(&s.config, &Default::default()) {
                        Ok(pair) => {
                            let history = History::open(&s.locations.history()).ok();
                            // Asked from the menu: read the files again, whatever history remembers.
                            let v = operations::verify(&pair, history.as_ref(), true, progress, cancel);
                            if v.verdict.is_ok() {
                                t.verify_ok.to_owned()
                            } else {
                                t.verify_bad.to_owned()
                            }
                        }
                        Err(e) => t.failure(t.verify_cannot, &e.to_string()),
                    };
                    Some(Note {
                        title: "Secours".to_owned(),
                        body,
                    })
                });
                Ok(())
            }
            Action::CopyNow => {
                self.spawn(OperationKind::Copy, |s, progress, cancel| {
                    let history = History::open(&s.locations.history()).ok();
                    let dests = s.config.safe_copy.destinations.clone();
                    let body = match operations::select(&s.config, &Default::default()).and_then(|pair| {
                        operations::copy_to(&s.config, &pair, &dests, history.as_ref(), progress, cancel)
                    }) {
                        Ok(results) => match results.iter().find_map(|r| r.error.clone()) {
                            Some(e) => s.lang.t().failure(s.lang.t().copy_failed, &e),
                            None => s.lang.t().copy_done.to_owned(),
                        },
                        Err(e) => s.lang.t().failure(s.lang.t().copy_failed, &e.to_string()),
                    };
                    Some(Note {
                        title: "Secours".to_owned(),
                        body,
                    })
                });
                Ok(())
            }
            Action::Cancel => {
                if let Ok(c) = self.cancel.lock() {
                    c.cancel();
                }
                Ok(())
            }
            Action::LaunchAtLogin => self.toggle_login_item(),
            Action::History => {
                self.open_report();
                Ok(())
            }
            Action::AcceptChange => {
                self.accept_change();
                Ok(())
            }
            Action::OpenSecours => match self.target().and_then(|t| t.url) {
                Some(url) => platform::open_url(&url),
                None => Ok(()),
            },
            Action::ShowBackups => platform::show_folder(&self.backups_folder()),
            Action::Preferences => self.open_preferences(),
            Action::GrantFullDiskAccess => platform::open_full_disk_access_settings(),
            Action::DemoOpenProd | Action::DemoStopJob | Action::DemoAge | Action::DemoCorrupt | Action::DemoRepair => {
                self.demo_action(action)
            }
            Action::RestoreLatest => {
                self.prepare_restore(
                    crate::restore::Kind::Restore,
                    crate::restore::sources::SourceSpec::Latest,
                );
                Ok(())
            }
            Action::RestoreCopy(folder) => {
                let spec = crate::restore::sources::SourceSpec::Folder(PathBuf::from(folder));
                self.prepare_restore(crate::restore::Kind::Restore, spec);
                Ok(())
            }
            Action::RestoreChooseFolder => {
                if let Some(folder) = platform::choose_folder(self.lang.restore().choose_folder) {
                    let spec = crate::restore::sources::SourceSpec::Folder(folder);
                    self.prepare_restore(crate::restore::Kind::Restore, spec);
                }
                Ok(())
            }
            Action::CopySoftware => {
                self.prepare_software();
                Ok(())
            }
            Action::Failback => {
                self.prepare_restore(
                    crate::restore::Kind::Failback,
                    crate::restore::sources::SourceSpec::Latest,
                );
                Ok(())
            }
            Action::BackupNow => {
                self.spawn(OperationKind::Backup, |s, progress, cancel| {
                    let name = s
                        .config
                        .watch
                        .environments
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "prod".to_owned());
                    let body = match environment::named(&s.config, &name)
                        .map_err(crate::backup::now::BackupError::from)
                        .and_then(|env| crate::backup::now::backup_now(&env, progress, cancel))
                    {
                        Ok(b) => crate::i18n::fill(
                            s.lang.t().backup_done,
                            &[
                                ("env", &b.environment),
                                ("size", &s.lang.t().bytes(b.db_bytes + b.media_bytes)),
                            ],
                        ),
                        Err(e) => s.lang.t().failure(s.lang.t().backup_failed, &e.to_string()),
                    };
                    Some(note(body))
                });
                Ok(())
            }
            Action::ResumeRestore => {
                self.spawn(OperationKind::Restore, |s, progress, cancel| {
                    let body = match crate::restore::transaction::resume(
                        &s.config,
                        &s.locations.history(),
                        progress,
                        cancel,
                    ) {
                        Ok(o) => s.restored_note(&o),
                        Err(e) => crate::restore::command::failure_text(&e, s.lang),
                    };
                    Some(note(body))
                });
                Ok(())
            }
            Action::RollbackRestore => {
                self.spawn(OperationKind::Restore, |s, progress, _| {
                    let body = match crate::restore::transaction::rollback_unfinished(
                        &s.config,
                        &s.locations.history(),
                        progress,
                    ) {
                        Ok(r) => crate::i18n::fill(s.lang.restore().rolled_back_done, &[("target", &r.target)]),
                        Err(e) => crate::restore::command::failure_text(&e, s.lang),
                    };
                    Some(note(body))
                });
                Ok(())
            }
            _ => {
                crate::ui::notifications::send(&Note {
                    title: "Secours".to_owned(),
                    body: t.not_available_yet.to_owned(),
                });
                Ok(())
            }
        };
        if let Err(e) = result {
            log::warn!("{e}");
            crate::ui::notifications::send(&crate::ui::notifications::Note {
                title: "Secours".to_owned(),
                body: e.to_string(),
            });
        }
    }

    /// Finds and verifies the backup and plans the restore on a worker thread, then asks the event loop
    /// to confirm with the plan's summary; [`Session::start_restore`] runs it on yes.
    fn prepare_restore(&self, kind: crate::restore::Kind, spec: crate::restore::sources::SourceSpec) {
        let op = match kind {
            crate::restore::Kind::Restore => OperationKind::Restore,
            crate::restore::Kind::Failback => OperationKind::Failback,
        };
        self.spawn(op, move |s, progress, cancel| {
            use crate::restore::{command, sources, transaction};
            let target_name = match kind {
                crate::restore::Kind::Restore => s.config.restore.target.clone(),
                crate::restore::Kind::Failback => s.config.restore.production.clone(),
            };
            let target = match environment::named(&s.config, &target_name) {
                Ok(t) => t,
                Err(e) => return Some(note(e.to_string())),
            };
            let history = History::open(&s.locations.history()).ok();
            let pair = match sources::resolve(&s.config, &target, kind, &spec, history.as_ref()) {
                Ok(p) => p,
                Err(e) => return Some(note(e.to_string())),
            };
            drop(history);
            let env = command::Env {
                config: &s.config,
                history: s.locations.history(),
                lang: s.lang,
                progress,
            };
            let request = command::request(&env, kind, pair, target);
            let mut plan = match transaction::plan(&request, progress, cancel) {
                Ok(p) => p,
                Err(e) => return Some(note(command::failure_text(&e, s.lang))),
            };
            plan.warnings
                .extend(command::parity_warning(&s.config, progress, cancel));
            // A backup that looks wrong needs one more yes that names the anomaly.
            let suspect = crate::backup::anomaly::suspect_pair(
                History::open(&s.locations.history()).ok().as_ref(),
                &s.config,
                &request.pair,
                s.lang,
                Timestamp::now(),
            );
            if let Some(a) = &suspect {
                plan.warnings.push(a.clone());
            }
            let t = s.lang.restore();
            let message = command::summary(&plan, &s.config, s.lang);
            let (title, rest) = message.split_once('\n').unwrap_or((message.as_str(), ""));
            let failback = (kind == crate::restore::Kind::Failback)
                .then(|| crate::i18n::fill(t.failback_again, &[("target", &plan.target)]));
            let anomaly = suspect.map(|a| crate::i18n::fill(s.lang.report().restore_suspect, &[("anomaly", &a)]));
            let again = match (failback, anomaly) {
                (Some(f), Some(a)) => Some(format!("{a}\n\n{f}")),
                (f, a) => f.or(a),
            };
            let confirmation = Confirmation {
                title: title.to_owned(),
                message: rest.replace("\n  ", "\n").trim().to_owned(),
                again,
                ok: t.button_replace.to_owned(),
                cancel: t.button_cancel.to_owned(),
                then: Confirmed::Restore(Box::new(request)),
            };
            match s.ask.lock().ok().as_ref().and_then(|a| a.as_ref()) {
                Some(ask) => {
                    ask(confirmation);
                    None
                }
                None => Some(note(t.needs_yes.to_owned())),
            }
        });
    }

    /// Runs a confirmed restore on a worker thread; the result is a notification.
    pub fn start_restore(&self, request: crate::restore::transaction::Request) {
        let op = match request.kind {
            crate::restore::Kind::Restore => OperationKind::Restore,
            crate::restore::Kind::Failback => OperationKind::Failback,
        };
        self.spawn(op, move |s, progress, cancel| {
            let body = match crate::restore::transaction::run(&request, progress, cancel) {
                Ok(o) => s.restored_note(&o),
                Err(e) => crate::restore::command::failure_text(&e, s.lang),
            };
            Some(note(body))
        });
    }

    /// Plans the copy of the software on a worker thread, then asks for the user's yes with what differs.
    fn prepare_software(&self) {
        self.spawn(OperationKind::Software, |s, progress, cancel| {
            let t = s.lang.software();
            let plan = match crate::restore::software::plan(&s.config, None, None, progress, cancel) {
                Ok(p) => p,
                Err(e) => {
                    let body = crate::restore::software::failure_text(&e, &s.config.restore.target, s.lang);
                    return Some(note(body));
                }
            };
            if plan.identical {
                s.set_software_differs(None);
                return Some(note(crate::restore::software::render_plan(&plan, s.lang)));
            }
            let summary = crate::restore::software::counts_text(&plan, s.lang);
            let confirmation = Confirmation {
                title: fill(t.menu_item, &[("target", &plan.target)])
                    .trim_end_matches('…')
                    .to_owned(),
                message: fill(
                    t.menu_confirm,
                    &[("target", &plan.target), ("from", &plan.from), ("summary", &summary)],
                ),
                again: None,
                ok: s.lang.restore().button_replace.to_owned(),
                cancel: s.lang.restore().button_cancel.to_owned(),
                then: Confirmed::Software(Box::new(plan)),
            };
            match s.ask.lock().ok().as_ref().and_then(|a| a.as_ref()) {
                Some(ask) => {
                    ask(confirmation);
                    None
                }
                None => Some(note(s.lang.restore().needs_yes.to_owned())),
            }
        });
    }

    /// Runs a confirmed copy of the software on a worker thread; the result is a notification.
    pub fn start_software(&self, plan: crate::restore::software::Plan) {
        self.spawn(OperationKind::Software, move |s, progress, cancel| {
            let t = s.lang.software();
            let apply = crate::restore::software::Apply {
                config: &s.config,
                history: s.locations.history(),
            };
            let body = match crate::restore::software::apply(&apply, &plan, progress, cancel) {
                Ok(_) => {
                    s.set_software_differs(None);
                    fill(t.done, &[("target", &plan.target), ("from", &plan.from)])
                }
                Err(e) => crate::restore::software::failure_text(&e, &plan.target, s.lang),
            };
            Some(note(body))
        });
    }

    fn set_software_differs(&self, what: Option<String>) {
        if let Ok(mut check) = self.software.lock() {
            check.differs = what;
            check.checked = Some(std::time::Instant::now());
        }
        self.wake_watcher();
    }

    /// Compares the standby's software with production's every [`SOFTWARE_CHECK_EVERY`], on a thread of its
    /// own (it reads every file of the code): the menu offers the copy when they differ.
    fn software_duty(&self) {
        let Ok(mut check) = self.software.lock() else {
            return;
        };
        let now = std::time::Instant::now();
        if check.running || !crate::backup::duties::due(check.checked, now, SOFTWARE_CHECK_EVERY) {
            return;
        }
        check.running = true;
        check.checked = Some(now);
        drop(check);
        let s = self.clone();
        let spawned = std::thread::Builder::new()
            .name("secours-parity".into())
            .spawn(move || {
                let plan =
                    crate::restore::software::plan(&s.config, None, None, &crate::progress::Silent, &Cancel::new());
                let differs = match plan {
                    Ok(p) if !p.identical => Some(crate::restore::software::counts_text(&p, s.lang)),
                    Ok(_) => None,
                    Err(e) => {
                        log::info!("the software could not be compared: {e}");
                        None
                    }
                };
                if let Ok(mut check) = s.software.lock() {
                    check.running = false;
                    check.differs = differs;
                }
                s.wake_watcher();
            });
        if let Err(e) = spawned {
            log::warn!("cannot start the software comparison: {e}");
            if let Ok(mut check) = self.software.lock() {
                check.running = false;
            }
        }
    }

    fn restored_note(&self, o: &crate::restore::transaction::Outcome) -> String {
        crate::restore::command::done_text(o, self.lang)
    }

    /// Ticks or unticks launch at login (runs `launchctl` before macOS 13: the tray calls [`Session::perform`]
    /// on a worker thread). An item waiting for approval opens System Settings, where only the user may
    /// switch it on.
    fn toggle_login_item(&self) -> Result<(), platform::OpenError> {
        let result = LoginItem::for_current_user(current_bundle_id()).and_then(|item| match item.status()? {
            LoginStatus::Off | LoginStatus::Disabled { .. } | LoginStatus::NeedsApproval { .. } => {
                item.enable(&std::env::current_exe().unwrap_or_default())
            }
            _ => item.disable(),
        });
        let body = match result {
            Ok(LoginStatus::NeedsApproval { .. }) => Some(self.lang.app().login_approval_note.to_owned()),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(body) = body {
            crate::ui::notifications::send(&note(body));
        }
        self.login_now.store(true, Ordering::SeqCst);
        self.wake_watcher();
        Ok(())
    }

    /// Writes the history report (the last [`crate::report::DEFAULT_DAYS`] days) into the data folder and
    /// opens it in the browser, on a thread of its own: the menu never waits for it.
    fn open_report(&self) {
        let s = self.clone();
        let spawned = std::thread::Builder::new()
            .name("secours-report".into())
            .spawn(move || {
                let path = s.locations.data_dir.join(crate::report::FILE_NAME);
                let result = crate::report::write(
                    &s.config,
                    &s.locations.history(),
                    s.lang,
                    &path,
                    crate::report::DEFAULT_DAYS,
                    Timestamp::now(),
                );
                let problem = match result {
                    Ok(()) => platform::open_in_browser(&path).err().map(|e| e.to_string()),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(p) = problem {
                    log::warn!("{p}");
                    crate::ui::notifications::send(&note(p));
                }
            });
        if let Err(e) = spawned {
            log::error!("cannot start the report thread: {e}");
        }
    }

    /// "This change is expected": the suspect pairs become the reference (history records who accepted
    /// what), then a notification says so. On a thread of its own.
    fn accept_change(&self) {
        let s = self.clone();
        let spawned = std::thread::Builder::new()
            .name("secours-accept".into())
            .spawn(move || {
                let by = format!("{} (menu)", crate::backup::anomaly::current_user());
                let now = Timestamp::now();
                let body = match History::open(&s.locations.history())
                    .and_then(|h| crate::backup::anomaly::accept(&s.config, &h, None, &by, s.lang, now))
                {
                    Ok(list) if list.is_empty() => s.lang.report().accept_nothing.to_owned(),
                    Ok(list) => list
                        .iter()
                        .map(|a| crate::backup::anomaly::accepted_text(a, s.lang))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    Err(e) => e.to_string(),
                };
                crate::ui::notifications::send(&note(body));
            });
        if let Err(e) = spawned {
            log::error!("cannot start the thread that accepts the change: {e}");
        }
    }

    fn backups_folder(&self) -> PathBuf {
        crate::backup::sources::sources(&self.config)
            .into_iter()
            .next()
            .map_or_else(|| self.locations.data_dir.clone(), |s| s.folder)
    }

    fn open_preferences(&self) -> Result<(), platform::OpenError> {
        if !self.locations.config.exists() {
            // The example is the best starting point; a failure shows when opening.
            let stack = self.stack.as_ref().map(|s| s.dir.as_path());
            let _ = crate::env::config::write_example_for(&self.locations.config, false, stack);
        }
        platform::edit_file(&self.locations.config)
    }
}

/// One Time Machine poll, with what it needs, so it can run on its own thread.
struct TmJob {
    config: Config,
    /// The first watched folder (Time Machine is asked about it).
    folder: Option<PathBuf>,
    /// The newer file time of its pair.
    pair_mtime: Option<Timestamp>,
    pair: Option<(Option<Timestamp>, Option<Timestamp>)>,
    kept: Option<crate::timemachine::schedule::Kept>,
    asked: bool,
    lang: Lang,
    now: Timestamp,
}

impl TmJob {
    fn run(self) -> TmReading {
        let tm = &self.config.time_machine;
        let polled = match (&self.folder, tm.enabled) {
            (Some(folder), true) => crate::timemachine::schedule::poll(
                &SystemRunner::default(),
                crate::timemachine::schedule::Target {
                    tmutil: &tm.tmutil,
                    backup_dir: folder,
                    pair_mtime: self.pair_mtime,
                },
                self.kept.as_ref(),
                self.asked,
                &crate::timemachine::TmThresholds {
                    late_after: tm.late_after.0,
                    stale_after: tm.stale_after.0,
                },
                &self.now.to_zoned(jiff::tz::TimeZone::system()),
            ),
            _ => None,
        };
        let (mut status, kept) = match polled {
            Some((status, kept)) => (status, Some(kept)),
            None => (crate::timemachine::TimeMachineStatus::unavailable(), None),
        };
        status.localize(self.lang);
        TmReading {
            at: std::time::Instant::now(),
            pair: self.pair,
            status,
            kept,
        }
    }
}

fn note(body: String) -> Note {
    Note {
        title: "Secours".to_owned(),
        body,
    }
}

/// The Time Machine line of the menu.
fn time_machine_line(report: &StatusReport, lang: Lang, now: Timestamp) -> TimeMachineLine {
    let t = lang.t();
    let tm = &report.time_machine;
    let when = tm.latest_backup.map_or_else(
        || "—".to_owned(),
        |at| crate::i18n::fill(t.ago, &[("age", &t.age(now.as_second() - at.as_second()))]),
    );
    let mut text = when;
    if tm.running {
        text = format!("{} {} %", t.tm_running, tm.percent);
    }
    if let Some(m) = &tm.message {
        text = format!("{text} — {m}");
    }
    let problem = !matches!(tm.state, TmState::Ok | TmState::Running | TmState::Unavailable);
    TimeMachineLine {
        text,
        problem,
        needs_full_disk_access: tm.state == TmState::NeedsFullDiskAccess,
    }
}
