//! Launch at login: a per-user LaunchAgent on macOS, an XDG autostart entry on Linux.
//!
//! Guarantees:
//! - [`LoginItem::enable`] and [`LoginItem::disable`] are idempotent, and write files atomically (temp file +
//!   rename), so a crash never leaves a half-written entry.
//! - [`LoginItem::status`] reads what is on disk and, on macOS, asks launchd — never a cached flag: an entry
//!   whose executable has moved or been deleted is [`Status::Stale`], not on; an entry switched off in
//!   System Settings is [`Status::Disabled`]; [`Status::On`] says whether launchd has the agent loaded.
//!
//! On macOS `on` writes the plist and loads it: `launchctl bootstrap gui/<uid> <plist>`. Its `RunAtLoad`
//! starts `secours app` at once; if an app already runs, that second one finds the single-instance lock
//! taken ([`crate::run::instance`]) and leaves quietly. Nothing is ever stopped by Secours itself, because
//! `launchctl bootout` kills the agent's process — and the running Secours may be that process, started at
//! login:
//! - `on` when launchd already holds the same command line changes nothing. When it holds an older one (the
//!   app was moved), the agent is reloaded (`bootout`, wait until launchd lets go of the label, `bootstrap`)
//!   only if that older agent's app is not running; otherwise the new entry takes over at the next login,
//!   and `status` says so. A `launchctl print` this module cannot read counts as "same": never a blind
//!   bootout.
//! - `off` removes the file and runs `launchctl disable gui/<uid>/<label>` instead of `bootout`: the user
//!   unticked "launch at login", not "quit". The job stays loaded but inert until logout (no `KeepAlive`:
//!   nothing restarts it), nothing loads at the next login, and the next `on` clears the override with
//!   `launchctl enable`.
//! - The `<uid>` is the owner of the home folder the agent is written to: the user whose login reads
//!   `~/Library/LaunchAgents`. It needs no `unsafe` `getuid()` and no `id -u` process, which matters
//!   because the menu asks for the status (at most every minute, and when it opens).
//!
//! On macOS 13 and later, for the app inside its bundle, the login item is the app itself, registered with
//! `SMAppService.mainApp` ([`AppService`], implemented in `platform/macos.rs`): System Settings › General ›
//! Login Items then lists Secours with its name and icon, and a switch-off there reads as
//! [`Status::NeedsApproval`] (unticked in the menu; ticking it again opens that pane, where only the user
//! may switch it back on). Turning it on removes the LaunchAgent an earlier version wrote; the LaunchAgent
//! stays the mechanism of macOS 12 and of the bare binary.
//!
//! The label (LaunchAgent) and the notifications' sender are the identifier of the bundle Secours runs
//! from ([`current_bundle_id`]), so a bundle made with `make-app --bundle-id` is itself everywhere.
//!
//! Every `launchctl` call goes through a [`CommandRunner`] so tests can fake launchd. Its outputs are
//! parsed by pure functions ([`parse_launchctl_print`], [`parse_print_disabled`]) tested on samples; the
//! file formats too ([`launch_agent_plist`], [`autostart_desktop_entry`] and their parsers), on every OS.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use std::{fmt, fs, io};

/// The bundle identifier `bundle/make-app` uses unless told otherwise; also the LaunchAgent's label.
pub const DEFAULT_BUNDLE_ID: &str = "ch.secours.Secours";

/// The argument that makes the binary start the menu-bar app.
pub const APP_ARG: &str = "app";

/// macOS's launchd control tool.
pub const LAUNCHCTL: &str = "/bin/launchctl";

/// How long to wait for launchd to let go of a label after `bootout` (it unloads asynchronously; a
/// `bootstrap` before that fails with "5: Input/output error").
const BOOTOUT_WAIT: Duration = Duration::from_secs(10);

/// Errors while reading or changing the login item.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    /// The user's home directory is unknown.
    #[error("cannot find your home directory. Set the HOME environment variable and try again.")]
    NoHome,
    /// The owner of the home folder (the user of launchd's `gui/<uid>` domain) cannot be read.
    #[error("cannot read who owns the home folder '{home}': {source}. Set HOME to your own home folder.")]
    HomeOwner {
        /// The home folder.
        home: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading the entry failed.
    #[error("cannot read the login item '{path}': {source}. Check the file's permissions.")]
    Read {
        /// The entry file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the entry failed.
    #[error("cannot write the login item '{path}': {source}. Check that the folder is writable.")]
    Write {
        /// The entry file (or its folder).
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Removing the entry failed.
    #[error("cannot remove the login item '{path}': {source}. Delete the file by hand.")]
    Remove {
        /// The entry file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The LaunchAgent plist could not be produced.
    #[error(
        "cannot write the LaunchAgent property list for '{label}': {reason}. This is a bug in Secours; please report it."
    )]
    Plist {
        /// The agent's label.
        label: String,
        /// The serializer's message.
        reason: String,
    },
    /// The executable path cannot be written into an entry.
    #[error(
        "cannot register '{path}' to launch at login: {reason}. Move Secours to a folder whose path is plain text."
    )]
    BadExecutable {
        /// The executable.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// `SMAppService` refused to register or unregister the app (macOS 13 and later).
    #[error(
        "macOS refused to {action} Secours as a login item: {reason}. Check that Secours.app is in /Applications \
         and signed (bundle/make-app signs it), or add it in System Settings › General › Login Items."
    )]
    AppService {
        /// `register` or `unregister`.
        action: &'static str,
        /// macOS's description of the error.
        reason: String,
    },
    /// An external command failed.
    #[error("'{command}' failed: {reason}. Enable Secours in System Settings › General › Login Items instead.")]
    Command {
        /// The command line.
        command: String,
        /// Its error output or exit status.
        reason: String,
    },
}

/// What launchd holds for the agent (macOS), read from `launchctl print`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launchd {
    /// Not loaded now: launchd loads the entry at the next login (`secours login-item on` loads it now).
    NotLoaded,
    /// Loaded with the entry's command line; `pid` is the app it started, while that runs.
    Loaded {
        /// The running app's process id.
        pid: Option<u32>,
    },
    /// Loaded from an earlier entry that starts another executable; the entry takes over at the next login.
    Previous {
        /// The executable the loaded agent starts.
        exe: PathBuf,
        /// Its running app's process id.
        pid: Option<u32>,
    },
}

/// What is registered to launch at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No entry (or an entry the user switched off in the desktop's settings, on Linux).
    Off,
    /// An entry starts `exe`, which exists.
    On {
        /// The entry file.
        file: PathBuf,
        /// The executable it starts.
        exe: PathBuf,
        /// What launchd holds (macOS); `None` for an XDG autostart entry, which has no such notion.
        launchd: Option<Launchd>,
    },
    /// A LaunchAgent exists but launchd will not start it: it was switched off in System Settings ›
    /// General › Login Items (a launchd "disabled" override).
    Disabled {
        /// The entry file.
        file: PathBuf,
        /// The executable it names.
        exe: PathBuf,
    },
    /// The app itself is a login item (`SMAppService.mainApp`, macOS 13 and later).
    AppOn {
        /// The app bundle.
        app: PathBuf,
    },
    /// The app is registered but macOS will not start it until the user allows it in System Settings ›
    /// General › Login Items: switched off there, or never allowed.
    NeedsApproval {
        /// The app bundle.
        app: PathBuf,
    },
    /// An entry exists but will not start Secours: its executable is gone, or the entry is unreadable.
    Stale {
        /// The entry file.
        file: PathBuf,
        /// The executable it names, if it could be read.
        exe: Option<PathBuf>,
    },
}

impl Status {
    /// True when an entry exists and will start an existing executable.
    pub fn is_on(&self) -> bool {
        matches!(self, Status::On { .. } | Status::AppOn { .. })
    }
}

fn running(pid: Option<u32>) -> String {
    pid.map(|p| format!(", running (pid {p})")).unwrap_or_default()
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Off => f.write_str("off"),
            Status::On { exe, launchd, .. } => {
                write!(f, "on ('{}')", exe.display())?;
                match launchd {
                    None => Ok(()),
                    Some(Launchd::NotLoaded) => f.write_str("; not loaded by launchd: it starts at the next login"),
                    Some(Launchd::Loaded { pid }) => write!(f, "; loaded by launchd{}", running(*pid)),
                    Some(Launchd::Previous { exe, pid }) => write!(
                        f,
                        "; launchd still holds the previous entry ('{}'{}) until the next login",
                        exe.display(),
                        running(*pid)
                    ),
                }
            }
            Status::Disabled { file, .. } => write!(
                f,
                "off (switched off in System Settings › General › Login Items; entry '{}'); \
                 'secours login-item on' switches it back on",
                file.display()
            ),
            Status::AppOn { app } => write!(
                f,
                "on ('{}', listed in System Settings › General › Login Items)",
                app.display()
            ),
            Status::NeedsApproval { app } => write!(
                f,
                "off: '{}' waits for your approval in System Settings › General › Login Items (switched off \
                 there, or not allowed yet); 'secours login-item on' opens that pane",
                app.display()
            ),
            Status::Stale { file, exe: Some(exe) } => write!(
                f,
                "on (stale: '{}' no longer exists; entry '{}'); turn it off and on again",
                exe.display(),
                file.display()
            ),
            Status::Stale { file, exe: None } => {
                write!(
                    f,
                    "on (stale: entry '{}' is unreadable); turn it off and on again",
                    file.display()
                )
            }
        }
    }
}

/// Which mechanism the login item uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `~/Library/LaunchAgents/<label>.plist` (macOS).
    LaunchAgent,
    /// `$XDG_CONFIG_HOME/autostart/secours.desktop` (Linux and other freedesktop systems).
    XdgAutostart,
}

impl Flavor {
    /// The mechanism of the OS this binary was built for.
    pub fn native() -> Flavor {
        if cfg!(target_os = "macos") {
            Flavor::LaunchAgent
        } else {
            Flavor::XdgAutostart
        }
    }
}

/// What `SMAppService` says about the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppServiceStatus {
    NotRegistered,
    Enabled,
    /// Registered, but switched off in System Settings or not allowed yet.
    RequiresApproval,
    NotFound,
}

/// The app as a login item of macOS 13 and later (`SMAppService.mainApp` in `platform/macos.rs`); a fake
/// in tests.
pub trait AppService: Send + Sync {
    /// The registration's state now (a cheap call: the menu asks it on every refresh).
    fn status(&self) -> AppServiceStatus;
    /// Registers the app to open at login; the error is macOS's description.
    fn register(&self) -> Result<(), String>;
    /// Takes the registration away.
    fn unregister(&self) -> Result<(), String>;
    /// Opens System Settings › General › Login Items.
    fn open_settings(&self);
}

/// Runs external commands; replaced by a fake in tests.
pub trait CommandRunner: Send + Sync {
    /// Runs `program` with `args` and returns its standard output, or an error naming what failed.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, LoginItemError>;
}

/// Runs commands for real.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRunner;

impl CommandRunner for SystemRunner {
    fn run(&self, program: &str, args: &[&str]) -> Result<String, LoginItemError> {
        let command = std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let output = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| LoginItemError::Command {
                command: command.clone(),
                reason: e.to_string(),
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            let reason = if stderr.is_empty() {
                output.status.to_string()
            } else {
                stderr
            };
            return Err(LoginItemError::Command { command, reason });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The login item of one user.
pub struct LoginItem {
    flavor: Flavor,
    label: String,
    home: PathBuf,
    file: PathBuf,
    runner: Box<dyn CommandRunner>,
    /// The app as a login item (macOS 13+), and its bundle; `file` is then the LaunchAgent of earlier
    /// versions, removed when this one is turned on or off.
    app_service: Option<(Box<dyn AppService>, PathBuf)>,
}

impl fmt::Debug for LoginItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginItem")
            .field("flavor", &self.flavor)
            .field("file", &self.file)
            .finish()
    }
}

/// What launchd holds for one label: the loaded job (if any), and whether a "disabled" override is set.
struct LaunchdView {
    job: Option<LoadedJob>,
    disabled: bool,
}

impl LoginItem {
    /// The native login item under `home`, labelled `bundle_id` (the LaunchAgent's label on macOS).
    ///
    /// On Linux the entry goes to `<home>/.config/autostart`; use [`LoginItem::for_current_user`] to honour
    /// `$XDG_CONFIG_HOME`.
    pub fn new(home: &Path, bundle_id: &str) -> LoginItem {
        LoginItem::with_flavor(Flavor::native(), home, &home.join(".config"), bundle_id)
    }

    /// The native login item of the user running this process (`$HOME`, `$XDG_CONFIG_HOME`): on macOS 13
    /// and later, for the app inside its bundle, the app itself through `SMAppService`.
    pub fn for_current_user(bundle_id: &str) -> Result<LoginItem, LoginItemError> {
        let dirs = directories::BaseDirs::new().ok_or(LoginItemError::NoHome)?;
        let item = LoginItem::with_flavor(Flavor::native(), dirs.home_dir(), dirs.config_dir(), bundle_id);
        Ok(with_native_app_service(item))
    }

    /// Makes the app itself (bundle `app`) the login item through `service`; the LaunchAgent file stays the
    /// one an earlier version may have written.
    pub fn with_app_service(mut self, service: Box<dyn AppService>, app: PathBuf) -> LoginItem {
        self.app_service = Some((service, app));
        self
    }

    /// A login item of the given flavor; `config_dir` is only used by [`Flavor::XdgAutostart`].
    pub fn with_flavor(flavor: Flavor, home: &Path, config_dir: &Path, bundle_id: &str) -> LoginItem {
        let file = match flavor {
            Flavor::LaunchAgent => home
                .join("Library")
                .join("LaunchAgents")
                .join(format!("{bundle_id}.plist")),
            Flavor::XdgAutostart => config_dir.join("autostart").join("secours.desktop"),
        };
        LoginItem {
            flavor,
            label: bundle_id.to_string(),
            home: home.to_path_buf(),
            file,
            runner: Box::new(SystemRunner),
            app_service: None,
        }
    }

    /// Replaces the command runner (tests use a fake one).
    pub fn with_runner(mut self, runner: Box<dyn CommandRunner>) -> LoginItem {
        self.runner = runner;
        self
    }

    /// The entry file this login item reads and writes.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// What is registered now: read from disk and, for a LaunchAgent, from launchd
    /// (`launchctl print-disabled` and `launchctl print`, only when the entry names an existing executable).
    pub fn status(&self) -> Result<Status, LoginItemError> {
        if let Some((service, app)) = &self.app_service {
            match service.status() {
                AppServiceStatus::Enabled => return Ok(Status::AppOn { app: app.clone() }),
                AppServiceStatus::RequiresApproval => return Ok(Status::NeedsApproval { app: app.clone() }),
                // Not registered: what an earlier version's LaunchAgent does, if there is one.
                AppServiceStatus::NotRegistered | AppServiceStatus::NotFound => {}
            }
        }
        self.entry_status()
    }

    /// The entry file's status (LaunchAgent or autostart entry).
    fn entry_status(&self) -> Result<Status, LoginItemError> {
        let bytes = match fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Status::Off),
            Err(source) => {
                return Err(LoginItemError::Read {
                    path: self.file.clone(),
                    source,
                });
            }
        };
        let parsed = match self.flavor {
            Flavor::LaunchAgent => parse_launch_agent(&bytes).map(Some),
            Flavor::XdgAutostart => parse_desktop_entry(&String::from_utf8_lossy(&bytes)),
        };
        let file = self.file.clone();
        Ok(match parsed {
            // The user switched the entry off in the desktop's startup settings.
            Some(None) => Status::Off,
            Some(Some(exe)) if exe.is_file() => match self.flavor {
                Flavor::XdgAutostart => Status::On {
                    file,
                    exe,
                    launchd: None,
                },
                Flavor::LaunchAgent => {
                    let view = self.launchd_view(&self.gui_domain()?);
                    if view.disabled {
                        return Ok(Status::Disabled { file, exe });
                    }
                    let launchd = match view.job {
                        None => Launchd::NotLoaded,
                        Some(job) => match (job.runs(&exe), job.arguments.first()) {
                            (Some(false), Some(other)) => Launchd::Previous {
                                exe: PathBuf::from(other),
                                pid: job.pid,
                            },
                            _ => Launchd::Loaded { pid: job.pid },
                        },
                    };
                    Status::On {
                        file,
                        exe,
                        launchd: Some(launchd),
                    }
                }
            },
            Some(Some(exe)) => Status::Stale { file, exe: Some(exe) },
            None => Status::Stale { file, exe: None },
        })
    }

    /// Registers `exe` to start (as `exe app`) at login; rewrites the entry only if it differs. A
    /// LaunchAgent is also loaded into launchd now (see the module documentation for when it is not).
    ///
    /// With `SMAppService` (macOS 13+): registers the app and removes an earlier LaunchAgent; when the user
    /// switched it off in System Settings, only they can switch it back on there, so that pane is opened.
    pub fn enable(&self, exe: &Path) -> Result<Status, LoginItemError> {
        if let Some((service, _)) = &self.app_service {
            if service.status() != AppServiceStatus::RequiresApproval {
                service.register().map_err(|reason| LoginItemError::AppService {
                    action: "register",
                    reason,
                })?;
                if self.file.exists() {
                    self.disable_entry()?;
                }
            }
            if service.status() == AppServiceStatus::RequiresApproval {
                service.open_settings();
            }
            return self.status();
        }
        let contents = match self.flavor {
            Flavor::LaunchAgent => launch_agent_plist(&self.label, exe)?,
            Flavor::XdgAutostart => autostart_desktop_entry(exe)?.into_bytes(),
        };
        if fs::read(&self.file).ok().as_deref() != Some(contents.as_slice()) {
            write_atomically(&self.file, &contents)?;
        }
        if self.flavor == Flavor::LaunchAgent {
            self.load(exe)?;
        }
        self.status()
    }

    /// Removes the entry; does nothing if there is none. A LaunchAgent is also disabled in launchd, never
    /// booted out (that would quit a Secours started at login).
    ///
    /// With `SMAppService` (macOS 13+): unregisters the app, and removes an earlier LaunchAgent too.
    pub fn disable(&self) -> Result<Status, LoginItemError> {
        if let Some((service, _)) = &self.app_service {
            if !matches!(
                service.status(),
                AppServiceStatus::NotRegistered | AppServiceStatus::NotFound
            ) {
                service.unregister().map_err(|reason| LoginItemError::AppService {
                    action: "unregister",
                    reason,
                })?;
            }
            if self.file.exists() {
                self.disable_entry()?;
            }
            return self.status();
        }
        self.disable_entry()
    }

    /// Removes the entry file (and disables a LaunchAgent in launchd).
    fn disable_entry(&self) -> Result<Status, LoginItemError> {
        let existed = match fs::remove_file(&self.file) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(source) => {
                return Err(LoginItemError::Remove {
                    path: self.file.clone(),
                    source,
                });
            }
        };
        if self.flavor == Flavor::LaunchAgent {
            let domain = self.gui_domain()?;
            let view = self.launchd_view(&domain);
            if (existed || view.job.is_some()) && !view.disabled {
                // Without the file nothing loads at the next login; the override also keeps the still
                // loaded job from being started again before then. A failure changes neither, so it warns.
                let target = format!("{domain}/{}", self.label);
                if let Err(e) = self.launchctl(&["disable", &target]) {
                    log::warn!("{e}");
                }
            }
        }
        self.entry_status()
    }

    /// `gui/<uid>`, the uid being the owner of the home folder (see the module documentation).
    fn gui_domain(&self) -> Result<String, LoginItemError> {
        let meta = fs::metadata(&self.home).map_err(|source| LoginItemError::HomeOwner {
            home: self.home.clone(),
            source,
        })?;
        Ok(format!("gui/{}", meta.uid()))
    }

    fn launchctl(&self, args: &[&str]) -> Result<String, LoginItemError> {
        self.runner.run(LAUNCHCTL, args)
    }

    /// Asks launchd about the label: `launchctl print` (exit 0: loaded) and `launchctl print-disabled`.
    /// A failing query reads as "not loaded" / "not disabled": the `bootstrap` that may follow reports a
    /// real problem.
    fn launchd_view(&self, domain: &str) -> LaunchdView {
        let target = format!("{domain}/{}", self.label);
        let job = self
            .launchctl(&["print", &target])
            .ok()
            .map(|out| parse_launchctl_print(&out));
        let disabled = self
            .launchctl(&["print-disabled", domain])
            .is_ok_and(|out| parse_print_disabled(&out, &self.label));
        LaunchdView { job, disabled }
    }

    /// Loads the agent just written for `exe`, unless launchd already holds it or holds an older one whose
    /// app is running.
    fn load(&self, exe: &Path) -> Result<(), LoginItemError> {
        let domain = self.gui_domain()?;
        let target = format!("{domain}/{}", self.label);
        let view = self.launchd_view(&domain);
        if view.disabled {
            // Left by System Settings › Login Items or by `off`; launchd refuses to bootstrap a disabled job.
            self.launchctl(&["enable", &target])?;
        }
        let Some(job) = view.job else {
            return self.bootstrap(&domain);
        };
        match job.runs(exe) {
            // The same command line, or one this module cannot read: leave it.
            Some(true) | None => Ok(()),
            Some(false) if job.is_running() => {
                // Booting it out would kill that app — possibly this very process.
                log::info!(
                    "launch at login: the agent loaded from the previous entry still runs (pid {:?}); \
                     the new entry takes over at the next login",
                    job.pid
                );
                Ok(())
            }
            Some(false) => {
                if let Err(e) = self.launchctl(&["bootout", &target]) {
                    // "No such process" when it went away meanwhile; anything else makes bootstrap fail.
                    log::debug!("{e}");
                }
                let deadline = Instant::now() + BOOTOUT_WAIT;
                while self.launchctl(&["print", &target]).is_ok() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                self.bootstrap(&domain)
            }
        }
    }

    fn bootstrap(&self, domain: &str) -> Result<(), LoginItemError> {
        let plist = self.file.to_string_lossy();
        self.launchctl(&["bootstrap", domain, &plist]).map(drop)
    }
}

/// A job as `launchctl print gui/<uid>/<label>` describes it (the command exits 0 only for a loaded job).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedJob {
    /// The property list launchd loaded it from (`path = …`).
    pub path: Option<PathBuf>,
    /// `state = …`: `running`, `not running`, `spawn scheduled`…
    pub state: Option<String>,
    /// Its command line (`arguments = { … }`); empty when the output could not be read.
    pub arguments: Vec<String>,
    /// The process it runs now (`pid = …`).
    pub pid: Option<u32>,
}

impl LoadedJob {
    /// Whether the job starts `exe app`; `None` when its command line is unknown.
    pub fn runs(&self, exe: &Path) -> Option<bool> {
        if self.arguments.is_empty() {
            return None;
        }
        let exe = exe.to_string_lossy();
        Some(self.arguments.iter().map(String::as_str).eq([&*exe, APP_ARG]))
    }

    /// Whether the job has a process now.
    pub fn is_running(&self) -> bool {
        self.pid.is_some() || self.state.as_deref() == Some("running")
    }
}

/// Reads the top-level fields of `launchctl print <service>` that Secours needs. launchctl(1) warns that
/// this output is not API: a field that cannot be found stays empty, and callers treat that as unknown.
pub fn parse_launchctl_print(text: &str) -> LoadedJob {
    let mut job = LoadedJob::default();
    // 1 inside the service's own `… = {`; nested blocks (environment, endpoints…) are deeper.
    let mut depth = 0usize;
    let mut in_arguments = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "}" {
            depth = depth.saturating_sub(1);
            in_arguments = false;
            continue;
        }
        if in_arguments {
            job.arguments.push(line.to_string());
            continue;
        }
        if let Some(key) = line.strip_suffix('{') {
            depth += 1;
            in_arguments = depth == 2 && key.trim_end() == "arguments =";
            continue;
        }
        if depth != 1 {
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        match key {
            "path" => job.path = Some(PathBuf::from(value)),
            "state" => job.state = Some(value.to_string()),
            "pid" => job.pid = value.parse().ok(),
            _ => {}
        }
    }
    job
}

/// Whether `launchctl print-disabled gui/<uid>` lists `label` as disabled: `"label" => disabled` (macOS 13
/// and later) or `"label" => true` (earlier).
pub fn parse_print_disabled(text: &str, label: &str) -> bool {
    let quoted = format!("\"{label}\"");
    let mut in_disabled = false;
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_suffix('{') {
            in_disabled = header.trim_end() == "disabled services =";
            continue;
        }
        if line == "}" {
            in_disabled = false;
            continue;
        }
        if !in_disabled {
            continue;
        }
        if let Some((name, value)) = line.split_once("=>")
            && name.trim() == quoted
        {
            return matches!(value.trim(), "disabled" | "true");
        }
    }
    false
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), LoginItemError> {
    let write_err = |source| LoginItemError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, contents).map_err(write_err)?;
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        write_err(source)
    })
}

/// The LaunchAgent property list that starts `exe app` at login, labelled `label`.
pub fn launch_agent_plist(label: &str, exe: &Path) -> Result<Vec<u8>, LoginItemError> {
    let exe_str = exe.to_str().ok_or_else(|| LoginItemError::BadExecutable {
        path: exe.to_path_buf(),
        reason: "the path is not valid UTF-8".into(),
    })?;
    let mut dict = plist::Dictionary::new();
    dict.insert("Label".into(), label.into());
    dict.insert(
        "ProgramArguments".into(),
        plist::Value::Array(vec![exe_str.into(), APP_ARG.into()]),
    );
    dict.insert("RunAtLoad".into(), true.into());
    // Interactive: launchd does not throttle it like a background daemon; Aqua: only in a graphical login,
    // never for an SSH session.
    dict.insert("ProcessType".into(), "Interactive".into());
    dict.insert("LimitLoadToSessionType".into(), "Aqua".into());
    let mut out = Vec::new();
    plist::Value::Dictionary(dict)
        .to_writer_xml(&mut out)
        .map_err(|e| LoginItemError::Plist {
            label: label.to_string(),
            reason: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}

/// The executable a LaunchAgent plist starts (`ProgramArguments[0]`, else `Program`); `None` if unreadable.
pub fn parse_launch_agent(bytes: &[u8]) -> Option<PathBuf> {
    let value = plist::Value::from_reader(io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let from_args = dict
        .get("ProgramArguments")
        .and_then(|a| a.as_array())
        .and_then(|a| a.first());
    let exe = from_args.or_else(|| dict.get("Program"))?.as_string()?;
    Some(PathBuf::from(exe))
}

/// The XDG autostart entry that starts `exe app` at login.
pub fn autostart_desktop_entry(exe: &Path) -> Result<String, LoginItemError> {
    let exe_str = exe.to_str().ok_or_else(|| LoginItemError::BadExecutable {
        path: exe.to_path_buf(),
        reason: "the path is not valid UTF-8".into(),
    })?;
    if exe_str.chars().any(char::is_control) {
        return Err(LoginItemError::BadExecutable {
            path: exe.to_path_buf(),
            reason: "the path contains a control character".into(),
        });
    }
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Secours\n\
         Comment=Surveille les sauvegardes et les restaure / Watches the backups and restores them\n\
         Exec={} {APP_ARG}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        escape_exec_value(&quote_exec_arg(exe_str))
    ))
}

/// The executable an autostart entry starts: `Some(None)` when the entry is switched off (`Hidden=true` or
/// `X-GNOME-Autostart-enabled=false`), `None` when it has no usable `Exec` line.
pub fn parse_desktop_entry(text: &str) -> Option<Option<PathBuf>> {
    let mut in_main = false;
    let (mut exec, mut off) = (None, false);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_main = line == "[Desktop Entry]";
            continue;
        }
        if !in_main {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match (key.trim(), value.trim()) {
            ("Exec", v) => exec = Some(v.to_string()),
            ("Hidden", "true") | ("X-GNOME-Autostart-enabled", "false") => off = true,
            _ => {}
        }
    }
    if off {
        return Some(None);
    }
    let args = split_exec(&unescape_exec_value(&exec?))?;
    let first = args.into_iter().next()?;
    Some(Some(PathBuf::from(first)))
}

/// Quotes one `Exec` argument as the Desktop Entry spec asks: inside double quotes, `"`, `` ` ``, `$` and
/// `\` get a backslash; `%` (field codes) is doubled.
fn quote_exec_arg(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':'));
    if plain {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The string-level escaping of a desktop entry value: a backslash is written `\\`.
fn escape_exec_value(value: &str) -> String {
    value.replace('\\', "\\\\")
}

fn unescape_exec_value(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Splits an (already unescaped) `Exec` value into arguments; `None` on an unterminated quote.
fn split_exec(value: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(arg) = current.take() {
                    args.push(arg);
                }
            }
            '"' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => arg.push(chars.next()?),
                        '%' if chars.peek() == Some(&'%') => {
                            chars.next();
                            arg.push('%');
                        }
                        other => arg.push(other),
                    }
                }
            }
            '%' if chars.peek() == Some(&'%') => {
                chars.next();
                current.get_or_insert_with(String::new).push('%');
            }
            other => current.get_or_insert_with(String::new).push(other),
        }
    }
    args.extend(current);
    Some(args)
}

/// True when `exe` runs from inside an app bundle (`….app/Contents/MacOS/…`).
///
/// macOS delivers notifications only to bundled apps (notify-rust needs `set_application(bundle_id)`), so
/// outside a bundle the app should leave notifications off.
pub fn running_inside_bundle(exe: &Path) -> bool {
    bundle_root(exe).is_some()
}

/// The `….app` folder `exe` runs from, if it runs from `….app/Contents/MacOS/<exe>`.
pub fn bundle_root(exe: &Path) -> Option<PathBuf> {
    let parts: Vec<Component<'_>> = exe.components().collect();
    let n = parts.len();
    if n < 4 {
        return None;
    }
    let name = |c: &Component<'_>| c.as_os_str().to_string_lossy().into_owned();
    let app = name(&parts[n - 4]);
    let inside = app.len() > 4
        && app.to_ascii_lowercase().ends_with(".app")
        && name(&parts[n - 3]) == "Contents"
        && name(&parts[n - 2]) == "MacOS";
    inside.then(|| parts[..n - 3].iter().collect())
}

/// The bundle identifier to use for `exe`: its bundle's `CFBundleIdentifier`, else [`DEFAULT_BUNDLE_ID`]
/// (the bare binary, or an unreadable `Info.plist`).
pub fn bundle_id_for(exe: Option<&Path>) -> String {
    exe.and_then(bundle_identifier)
        .unwrap_or_else(|| DEFAULT_BUNDLE_ID.to_owned())
}

/// The identifier of the bundle this process runs from ([`bundle_id_for`] the current executable), read
/// once: the label of the login item and the sender of the notifications. A bundle made with
/// `make-app --bundle-id` has its own; notifications sent under an identifier Launch Services does not
/// know are dropped without a word on macOS 15.
pub fn current_bundle_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| bundle_id_for(std::env::current_exe().ok().as_deref()))
}

/// The native `SMAppService` for an item of the running app: on macOS 13 and later, inside a bundle.
#[cfg(target_os = "macos")]
fn with_native_app_service(item: LoginItem) -> LoginItem {
    let app = std::env::current_exe().ok().and_then(|e| bundle_root(&e));
    match (crate::platform::macos::MainApp::new(), app) {
        (Some(service), Some(app)) => item.with_app_service(Box::new(service), app),
        _ => item,
    }
}

#[cfg(not(target_os = "macos"))]
fn with_native_app_service(item: LoginItem) -> LoginItem {
    item
}

/// The `CFBundleIdentifier` of the bundle `exe` runs from, read from its `Info.plist`; `None` outside a
/// bundle or if unreadable. Use it for notify-rust's `set_application` and for [`LoginItem`]'s label.
pub fn bundle_identifier(exe: &Path) -> Option<String> {
    let info = bundle_root(exe)?.join("Contents").join("Info.plist");
    let value = plist::Value::from_file(info).ok()?;
    value
        .as_dictionary()?
        .get("CFBundleIdentifier")?
        .as_string()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    const LABEL: &str = "ch.secours.Test";

    /// `launchctl print gui/501/<label>` for a running agent, in the layout of macOS 14 (abridged: the
    /// endpoint and flag blocks that Secours ignores are shortened).
    const PRINT_RUNNING: &str = "gui/501/ch.secours.Test = {
\tactive count = 1
\tpath = /Users/ann/Library/LaunchAgents/ch.secours.Test.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /Applications/Secours.app/Contents/MacOS/secours
\targuments = {
\t\t/Applications/Secours.app/Contents/MacOS/secours
\t\tapp
\t}

\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tenvironment = {
\t\tXPC_SERVICE_NAME => ch.secours.Test
\t}

\tdomain = gui/501 [100008]
\tasid = 100008
\tminimum runtime = 10
\texit timeout = 5
\truns = 1
\tpid = 4242
\timmediate reason = speculative
\tforks = 0
\texecs = 1
\tlast exit code = (never exited)

\tspawn type = interactive (4)
\tendpoints = {
\t\t\"ch.secours.Test.port\" = {
\t\t\tport = 0x1a03
\t\t\tactive = 0
\t\t}
\t}

\tproperties = partial import | keepalive | runatload | inferred program
}
";

    /// `launchctl print-disabled gui/501` on macOS 13 and later.
    const PRINT_DISABLED_MODERN: &str = "disabled services = {
\t\"com.apple.ScriptMenuApp\" => disabled
\t\"ch.secours.Test\" => disabled
\t\"com.docker.helper\" => enabled
}
login item associations = {
\t\"com.docker.helper\" => \"com.docker.docker\"
}
";

    /// The same, as macOS 12 and earlier print it.
    const PRINT_DISABLED_LEGACY: &str = "disabled services = {
\t\"com.docker.helper\" => false
\t\"ch.secours.Test\" => true
}
";

    /// What the fake launchd holds.
    #[derive(Default)]
    struct FakeState {
        calls: Vec<String>,
        /// The loaded job's command line and running pid.
        loaded: Option<(Vec<String>, Option<u32>)>,
        /// The label's override: `None` when launchd never saw one.
        disabled: Option<bool>,
        /// Replaces `launchctl print`'s output for a loaded job.
        print_output: Option<String>,
    }

    /// launchd for tests: keeps the state `launchctl` changes and refuses what the real one refuses
    /// (bootstrapping a loaded or disabled job, booting out a missing one).
    #[derive(Clone, Default)]
    struct FakeLaunchd(Arc<Mutex<FakeState>>);

    impl FakeLaunchd {
        fn calls(&self) -> Vec<String> {
            self.0.lock().unwrap().calls.clone()
        }

        fn clear_calls(&self) {
            self.0.lock().unwrap().calls.clear();
        }

        fn set_loaded(&self, exe: &Path, pid: Option<u32>) {
            let argv = vec![exe.to_string_lossy().into_owned(), APP_ARG.to_string()];
            self.0.lock().unwrap().loaded = Some((argv, pid));
        }

        fn loaded(&self) -> Option<(Vec<String>, Option<u32>)> {
            self.0.lock().unwrap().loaded.clone()
        }

        fn disabled(&self) -> Option<bool> {
            self.0.lock().unwrap().disabled
        }

        /// The calls that change launchd.
        fn mutations(&self) -> Vec<String> {
            let reads = ["print ", "print-disabled "];
            self.calls()
                .into_iter()
                .filter(|c| !reads.iter().any(|r| c.starts_with(r)))
                .collect()
        }
    }

    impl CommandRunner for FakeLaunchd {
        fn run(&self, program: &str, args: &[&str]) -> Result<String, LoginItemError> {
            assert_eq!(program, LAUNCHCTL);
            let mut s = self.0.lock().unwrap();
            s.calls.push(args.join(" "));
            let fail = |reason: &str| {
                Err(LoginItemError::Command {
                    command: format!("launchctl {}", args.join(" ")),
                    reason: reason.to_string(),
                })
            };
            match args {
                ["print", target] => match (&s.loaded, &s.print_output) {
                    (Some(_), Some(raw)) => Ok(raw.clone()),
                    (Some((argv, pid)), None) => {
                        let state = if pid.is_some() { "running" } else { "not running" };
                        let pid = pid.map(|p| format!("\tpid = {p}\n")).unwrap_or_default();
                        let argv: String = argv.iter().map(|a| format!("\t\t{a}\n")).collect();
                        Ok(format!(
                            "{target} = {{\n\tactive count = 0\n\tpath = /x.plist\n\tstate = {state}\n\n\
                             \targuments = {{\n{argv}\t}}\n\n\tenvironment = {{\n\t\tA => b\n\t}}\n{pid}}}\n"
                        ))
                    }
                    (None, _) => fail(&format!(
                        "Bad request.\nCould not find service \"{LABEL}\" in domain for user gui: 501"
                    )),
                },
                ["print-disabled", _] => {
                    let line = match s.disabled {
                        Some(true) => format!("\t\"{LABEL}\" => disabled\n"),
                        Some(false) => format!("\t\"{LABEL}\" => enabled\n"),
                        None => String::new(),
                    };
                    Ok(format!(
                        "disabled services = {{\n\t\"com.apple.Siri.agent\" => disabled\n{line}}}\n"
                    ))
                }
                ["bootstrap", _, plist] => {
                    if s.disabled == Some(true) {
                        return fail("Bootstrap failed: 5: Input/output error (service is disabled)");
                    }
                    if s.loaded.is_some() {
                        return fail("Bootstrap failed: 5: Input/output error");
                    }
                    let value = plist::Value::from_file(plist).unwrap();
                    let argv = value.as_dictionary().unwrap()["ProgramArguments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_string().unwrap().to_string())
                        .collect();
                    // RunAtLoad starts a second app, which leaves at once (the single-instance lock).
                    s.loaded = Some((argv, None));
                    Ok(String::new())
                }
                ["bootout", _] => match s.loaded.take() {
                    Some(_) => Ok(String::new()),
                    None => fail("Boot-out failed: 3: No such process"),
                },
                ["enable", _] => {
                    s.disabled = Some(false);
                    Ok(String::new())
                }
                ["disable", _] => {
                    s.disabled = Some(true);
                    Ok(String::new())
                }
                other => panic!("unexpected launchctl call {other:?}"),
            }
        }
    }

    /// A LaunchAgent item under a temporary home, with the fake launchd; also `gui/<uid>`.
    fn launch_agent(home: &Path) -> (LoginItem, FakeLaunchd, String) {
        let launchd = FakeLaunchd::default();
        let item =
            LoginItem::with_flavor(Flavor::LaunchAgent, home, home, LABEL).with_runner(Box::new(launchd.clone()));
        let domain = format!("gui/{}", fs::metadata(home).unwrap().uid());
        (item, launchd, domain)
    }

    #[test]
    fn first_on_writes_and_bootstraps_a_second_identical_on_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        let plist = home.path().join(format!("Library/LaunchAgents/{LABEL}.plist"));
        assert_eq!(item.file(), plist);
        let status = item.enable(&exe).unwrap();
        assert_eq!(
            status,
            Status::On {
                file: plist.clone(),
                exe: exe.clone(),
                launchd: Some(Launchd::Loaded { pid: None })
            }
        );
        assert!(status.to_string().ends_with("; loaded by launchd"), "{status}");
        let (print, print_disabled) = (format!("print {gui}/{LABEL}"), format!("print-disabled {gui}"));
        assert_eq!(
            launchd.calls(),
            [
                print.clone(),
                print_disabled.clone(),
                format!("bootstrap {gui} {}", plist.display()),
                // status
                print.clone(),
                print_disabled.clone(),
            ]
        );
        let written = fs::read(&plist).unwrap();

        launchd.clear_calls();
        assert_eq!(item.enable(&exe).unwrap(), status);
        // Guards idempotence: no bootout/bootstrap (which would restart the agent) for the same entry.
        assert_eq!(
            launchd.calls(),
            [print.clone(), print_disabled.clone(), print, print_disabled]
        );
        assert_eq!(fs::read(&plist).unwrap(), written);
    }

    #[test]
    fn on_after_the_executable_moved_reloads_the_agent() {
        let home = tempfile::tempdir().unwrap();
        let old = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        item.enable(&old).unwrap();
        let new = home.path().join("Applications/secours");
        fs::create_dir_all(new.parent().unwrap()).unwrap();
        fs::rename(&old, &new).unwrap();
        assert!(matches!(item.status().unwrap(), Status::Stale { .. }));

        launchd.clear_calls();
        let status = item.enable(&new).unwrap();
        assert_eq!(
            launchd.calls(),
            [
                format!("print {gui}/{LABEL}"),
                format!("print-disabled {gui}"),
                format!("bootout {gui}/{LABEL}"),
                // waits until launchd has let go of the label
                format!("print {gui}/{LABEL}"),
                format!("bootstrap {gui} {}", item.file().display()),
                format!("print {gui}/{LABEL}"),
                format!("print-disabled {gui}"),
            ]
        );
        assert_eq!(
            launchd.loaded().unwrap().0,
            [new.to_string_lossy().into_owned(), APP_ARG.to_string()]
        );
        assert_eq!(
            status,
            Status::On {
                file: item.file().to_path_buf(),
                exe: new,
                launchd: Some(Launchd::Loaded { pid: None })
            }
        );
    }

    // Guards the running app: bootout would kill the agent's process, which may be this very Secours.
    #[test]
    fn on_never_boots_out_an_agent_whose_app_is_running() {
        let home = tempfile::tempdir().unwrap();
        let old = home.path().join("Old.app/Contents/MacOS/secours");
        let new = fake_exe(home.path(), "secours");
        let (item, launchd, _) = launch_agent(home.path());
        launchd.set_loaded(&old, Some(4242));
        let status = item.enable(&new).unwrap();
        assert_eq!(launchd.mutations(), Vec::<String>::new());
        assert_eq!(
            status,
            Status::On {
                file: item.file().to_path_buf(),
                exe: new,
                launchd: Some(Launchd::Previous {
                    exe: old.clone(),
                    pid: Some(4242)
                })
            }
        );
        assert!(
            status.to_string().ends_with(&format!(
                "; launchd still holds the previous entry ('{}', running (pid 4242)) until the next login",
                old.display()
            )),
            "{status}"
        );
    }

    #[test]
    fn an_unreadable_launchctl_print_never_leads_to_a_bootout() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, _) = launch_agent(home.path());
        launchd.set_loaded(Path::new("/elsewhere/secours"), None);
        launchd.0.lock().unwrap().print_output = Some("a format from a future macOS\n".into());
        let status = item.enable(&exe).unwrap();
        assert_eq!(launchd.mutations(), Vec::<String>::new());
        assert!(matches!(
            status,
            Status::On {
                launchd: Some(Launchd::Loaded { pid: None }),
                ..
            }
        ));
    }

    #[test]
    fn off_disables_instead_of_booting_out_and_on_clears_the_override() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        item.enable(&exe).unwrap();
        // The app launchd started at login is running.
        launchd.set_loaded(&exe, Some(4242));

        launchd.clear_calls();
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert!(!item.file().exists());
        assert_eq!(
            launchd.calls(),
            [
                format!("print {gui}/{LABEL}"),
                format!("print-disabled {gui}"),
                format!("disable {gui}/{LABEL}"),
            ]
        );
        // Guards the running app: still loaded, still running.
        assert_eq!(launchd.loaded().unwrap().1, Some(4242));

        launchd.clear_calls();
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(launchd.mutations(), Vec::<String>::new());

        launchd.clear_calls();
        let status = item.enable(&exe).unwrap();
        assert_eq!(launchd.mutations(), [format!("enable {gui}/{LABEL}")]);
        assert_eq!(launchd.disabled(), Some(false));
        assert_eq!(
            status.to_string(),
            format!("on ('{}'); loaded by launchd, running (pid 4242)", exe.display())
        );
    }

    #[test]
    fn off_without_any_entry_touches_nothing() {
        let home = tempfile::tempdir().unwrap();
        let (item, launchd, gui) = launch_agent(home.path());
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(
            launchd.calls(),
            [format!("print {gui}/{LABEL}"), format!("print-disabled {gui}")]
        );
    }

    #[test]
    fn status_reports_loaded_not_loaded_and_switched_off() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        assert_eq!(item.status().unwrap(), Status::Off);
        // No entry: launchd is not asked.
        assert!(launchd.calls().is_empty());

        fs::create_dir_all(item.file().parent().unwrap()).unwrap();
        fs::write(item.file(), launch_agent_plist(LABEL, &exe).unwrap()).unwrap();
        let status = item.status().unwrap();
        assert_eq!(
            status,
            Status::On {
                file: item.file().to_path_buf(),
                exe: exe.clone(),
                launchd: Some(Launchd::NotLoaded)
            }
        );
        assert!(
            status
                .to_string()
                .ends_with("; not loaded by launchd: it starts at the next login")
        );
        assert_eq!(
            launchd.calls(),
            [format!("print {gui}/{LABEL}"), format!("print-disabled {gui}")]
        );

        launchd.set_loaded(&exe, Some(4242));
        assert_eq!(
            item.status().unwrap(),
            Status::On {
                file: item.file().to_path_buf(),
                exe: exe.clone(),
                launchd: Some(Launchd::Loaded { pid: Some(4242) })
            }
        );

        // Switched off in System Settings › General › Login Items.
        launchd.0.lock().unwrap().disabled = Some(true);
        let status = item.status().unwrap();
        assert_eq!(
            status,
            Status::Disabled {
                file: item.file().to_path_buf(),
                exe: exe.clone()
            }
        );
        assert!(
            status.to_string().starts_with("off (switched off in System Settings"),
            "{status}"
        );
        assert!(!status.is_on());
    }

    #[test]
    fn on_switches_back_on_an_agent_disabled_in_system_settings_before_loading_it() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        launchd.0.lock().unwrap().disabled = Some(true);
        assert!(item.enable(&exe).unwrap().is_on());
        assert_eq!(
            launchd.mutations(),
            [
                format!("enable {gui}/{LABEL}"),
                format!("bootstrap {gui} {}", item.file().display())
            ]
        );
    }

    #[test]
    fn launchctl_print_fields_are_read_from_the_service_level_only() {
        let job = parse_launchctl_print(PRINT_RUNNING);
        assert_eq!(
            job,
            LoadedJob {
                path: Some(PathBuf::from("/Users/ann/Library/LaunchAgents/ch.secours.Test.plist")),
                state: Some("running".into()),
                arguments: vec!["/Applications/Secours.app/Contents/MacOS/secours".into(), "app".into()],
                pid: Some(4242),
            }
        );
        assert!(job.is_running());
        assert_eq!(
            job.runs(Path::new("/Applications/Secours.app/Contents/MacOS/secours")),
            Some(true)
        );
        assert_eq!(
            job.runs(Path::new("/Users/ann/Secours.app/Contents/MacOS/secours")),
            Some(false)
        );

        let stopped = PRINT_RUNNING
            .replace("\tstate = running", "\tstate = not running")
            .replace("\tpid = 4242\n", "");
        let job = parse_launchctl_print(&stopped);
        assert_eq!((job.pid, job.is_running()), (None, false));

        let unknown = parse_launchctl_print("something else entirely\n");
        assert_eq!(unknown, LoadedJob::default());
        assert_eq!(unknown.runs(Path::new("/x")), None);
    }

    #[test]
    fn print_disabled_is_read_in_both_formats_and_only_in_its_block() {
        assert!(parse_print_disabled(PRINT_DISABLED_MODERN, LABEL));
        assert!(!parse_print_disabled(PRINT_DISABLED_MODERN, "com.docker.helper"));
        assert!(parse_print_disabled(PRINT_DISABLED_LEGACY, LABEL));
        assert!(!parse_print_disabled(PRINT_DISABLED_LEGACY, "com.docker.helper"));
        assert!(!parse_print_disabled(PRINT_DISABLED_MODERN, "ch.secours.Other"));
        // A label that only appears among the login item associations is not disabled.
        let associations = "disabled services = {\n}\nlogin item associations = {\n\t\"ch.secours.Test\" => true\n}\n";
        assert!(!parse_print_disabled(associations, LABEL));
    }

    fn fake_exe(dir: &Path, name: &str) -> PathBuf {
        let exe = dir.join(name);
        fs::write(&exe, b"#!/bin/sh\n").unwrap();
        exe
    }

    #[test]
    fn launch_agent_plist_has_the_keys_launchd_needs() {
        let bytes = launch_agent_plist(
            "ch.secours.Secours",
            Path::new("/Applications/Secours.app/Contents/MacOS/secours"),
        )
        .unwrap();
        let value = plist::Value::from_reader(io::Cursor::new(&bytes)).unwrap();
        let dict = value.as_dictionary().unwrap();
        assert_eq!(dict.get("Label").unwrap().as_string(), Some("ch.secours.Secours"));
        let args: Vec<_> = dict
            .get("ProgramArguments")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect();
        assert_eq!(args, ["/Applications/Secours.app/Contents/MacOS/secours", "app"]);
        assert_eq!(dict.get("RunAtLoad").unwrap().as_boolean(), Some(true));
        assert_eq!(dict.get("ProcessType").unwrap().as_string(), Some("Interactive"));
        assert_eq!(
            parse_launch_agent(&bytes),
            Some(PathBuf::from("/Applications/Secours.app/Contents/MacOS/secours"))
        );
    }

    #[test]
    fn xdg_enable_disable_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let config = home.path().join("cfg");
        let item = LoginItem::with_flavor(Flavor::XdgAutostart, home.path(), &config, DEFAULT_BUNDLE_ID);
        assert_eq!(item.file(), config.join("autostart/secours.desktop"));
        let on = Status::On {
            file: item.file().to_path_buf(),
            exe: exe.clone(),
            launchd: None,
        };
        assert_eq!(item.enable(&exe).unwrap(), on);
        let first = fs::read(item.file()).unwrap();
        assert_eq!(item.enable(&exe).unwrap(), on);
        assert_eq!(fs::read(item.file()).unwrap(), first);
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(item.disable().unwrap(), Status::Off);
    }

    #[test]
    fn entry_pointing_at_a_deleted_executable_is_stale() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let item = LoginItem::with_flavor(Flavor::XdgAutostart, home.path(), home.path(), DEFAULT_BUNDLE_ID);
        item.enable(&exe).unwrap();
        fs::remove_file(&exe).unwrap();
        let status = item.status().unwrap();
        assert_eq!(
            status,
            Status::Stale {
                file: item.file().to_path_buf(),
                exe: Some(exe)
            }
        );
        assert!(status.to_string().starts_with("on (stale:"), "{status}");
    }

    #[test]
    fn unreadable_entry_is_stale_not_on() {
        let home = tempfile::tempdir().unwrap();
        let launchd = FakeLaunchd::default();
        let item = LoginItem::with_flavor(Flavor::LaunchAgent, home.path(), home.path(), "x.y")
            .with_runner(Box::new(launchd.clone()));
        fs::create_dir_all(item.file().parent().unwrap()).unwrap();
        fs::write(item.file(), b"not a plist").unwrap();
        assert_eq!(
            item.status().unwrap(),
            Status::Stale {
                file: item.file().to_path_buf(),
                exe: None
            }
        );
        assert!(launchd.calls().is_empty(), "{:?}", launchd.calls());
    }

    #[test]
    fn desktop_entry_switched_off_by_the_desktop_reads_as_off() {
        let text = "[Desktop Entry]\nExec=/usr/bin/secours app\nX-GNOME-Autostart-enabled=false\n";
        assert_eq!(parse_desktop_entry(text), Some(None));
        let hidden = "[Desktop Entry]\nExec=/usr/bin/secours app\nHidden=true\n";
        assert_eq!(parse_desktop_entry(hidden), Some(None));
    }

    #[test]
    fn desktop_entry_quotes_paths_with_spaces_and_specials() {
        let exe = Path::new("/home/ann/Mes Apps/se$cours \"v2\" 100%\\x");
        let text = autostart_desktop_entry(exe).unwrap();
        assert!(text.contains("X-GNOME-Autostart-enabled=true"));
        assert_eq!(parse_desktop_entry(&text), Some(Some(exe.to_path_buf())));
        let plain = autostart_desktop_entry(Path::new("/usr/local/bin/secours")).unwrap();
        assert!(plain.contains("\nExec=/usr/local/bin/secours app\n"), "{plain}");
    }

    #[test]
    fn bundle_detection_needs_the_full_app_layout() {
        let exe = Path::new("/Applications/Secours.app/Contents/MacOS/secours");
        assert!(running_inside_bundle(exe));
        assert_eq!(bundle_root(exe), Some(PathBuf::from("/Applications/Secours.app")));
        assert!(!running_inside_bundle(Path::new("/usr/local/bin/secours")));
        assert!(!running_inside_bundle(Path::new("/x/Secours/Contents/MacOS/secours")));
        assert!(!running_inside_bundle(Path::new("/x/Secours.app/Contents/secours")));
    }

    /// `SMAppService.mainApp` as the tests see it: a status, and what was asked.
    #[derive(Clone, Default)]
    struct FakeAppService(Arc<Mutex<FakeAppState>>);

    #[derive(Default)]
    struct FakeAppState {
        status: Option<AppServiceStatus>,
        refuse: Option<String>,
        calls: Vec<&'static str>,
    }

    impl FakeAppService {
        fn with(status: AppServiceStatus) -> FakeAppService {
            let fake = FakeAppService::default();
            fake.0.lock().unwrap().status = Some(status);
            fake
        }
        fn set(&self, status: AppServiceStatus) {
            self.0.lock().unwrap().status = Some(status);
        }
        fn calls(&self) -> Vec<&'static str> {
            self.0.lock().unwrap().calls.clone()
        }
    }

    impl AppService for FakeAppService {
        fn status(&self) -> AppServiceStatus {
            self.0.lock().unwrap().status.unwrap_or(AppServiceStatus::NotRegistered)
        }
        fn register(&self) -> Result<(), String> {
            let mut s = self.0.lock().unwrap();
            s.calls.push("register");
            if let Some(e) = s.refuse.clone() {
                return Err(e);
            }
            s.status = Some(AppServiceStatus::Enabled);
            Ok(())
        }
        fn unregister(&self) -> Result<(), String> {
            let mut s = self.0.lock().unwrap();
            s.calls.push("unregister");
            s.status = Some(AppServiceStatus::NotRegistered);
            Ok(())
        }
        fn open_settings(&self) {
            self.0.lock().unwrap().calls.push("open-settings");
        }
    }

    // Guards launch at login the way macOS 13+ expects: the app itself is registered (named and shown with
    // its icon in System Settings), the LaunchAgent of an earlier version is removed, and a switch-off in
    // System Settings reads as off.
    #[test]
    fn on_registers_the_app_and_removes_an_earlier_launch_agent() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        // An earlier version wrote and loaded a LaunchAgent.
        item.enable(&exe).unwrap();
        assert!(item.file().exists());
        let app = PathBuf::from("/Applications/Secours.app");
        let service = FakeAppService::default();
        let item = item.with_app_service(Box::new(service.clone()), app.clone());
        // Not registered yet: the status is the LaunchAgent's.
        assert!(matches!(item.status().unwrap(), Status::On { .. }));
        launchd.clear_calls();
        let status = item.enable(&exe).unwrap();
        assert_eq!(status, Status::AppOn { app: app.clone() });
        assert!(status.is_on());
        assert_eq!(service.calls(), ["register"]);
        assert!(!item.file().exists(), "the earlier LaunchAgent stays");
        assert_eq!(launchd.mutations(), [format!("disable {gui}/{LABEL}")]);
        assert_eq!(
            status.to_string(),
            "on ('/Applications/Secours.app', listed in System Settings › General › Login Items)"
        );

        // Switched off in System Settings › General › Login Items.
        service.set(AppServiceStatus::RequiresApproval);
        let status = item.status().unwrap();
        assert_eq!(status, Status::NeedsApproval { app: app.clone() });
        assert!(!status.is_on());
        assert!(status.to_string().contains("waits for your approval"), "{status}");
        // Only the user can switch it back on there: 'on' opens the pane, and registers nothing.
        assert_eq!(item.enable(&exe).unwrap(), Status::NeedsApproval { app: app.clone() });
        assert_eq!(service.calls(), ["register", "open-settings"]);

        service.set(AppServiceStatus::Enabled);
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(service.calls(), ["register", "open-settings", "unregister"]);
        // Off when already off changes nothing.
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(service.calls().len(), 3);
    }

    #[test]
    fn a_refused_registration_says_what_macos_said_and_what_to_do() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, _) = launch_agent(home.path());
        let service = FakeAppService::with(AppServiceStatus::NotRegistered);
        service.0.lock().unwrap().refuse = Some("Invalid code signature".into());
        let item = item.with_app_service(Box::new(service), PathBuf::from("/Applications/Secours.app"));
        let err = item.enable(&exe).unwrap_err();
        assert_eq!(
            err.to_string(),
            "macOS refused to register Secours as a login item: Invalid code signature. Check that Secours.app \
             is in /Applications and signed (bundle/make-app signs it), or add it in System Settings › General › \
             Login Items."
        );
        assert!(launchd.calls().is_empty());
    }

    /// `Secours.app` in `dir` whose Info.plist names `id`; returns the path of its executable.
    fn fake_bundle(dir: &Path, id: &str) -> PathBuf {
        let contents = dir.join("Secours.app/Contents");
        fs::create_dir_all(contents.join("MacOS")).unwrap();
        let mut dict = plist::Dictionary::new();
        dict.insert("CFBundleIdentifier".into(), id.into());
        plist::Value::Dictionary(dict)
            .to_file_xml(contents.join("Info.plist"))
            .unwrap();
        contents.join("MacOS/secours")
    }

    // Guards the identity of the bundle: a bundle made with `make-app --bundle-id` uses its own identifier
    // for the login item and the notifications; the bare binary uses the default.
    #[test]
    fn the_bundle_identifier_is_the_running_bundles_own() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_bundle(dir.path(), "org.example.Secours");
        assert_eq!(bundle_id_for(Some(&exe)), "org.example.Secours");
        assert_eq!(
            bundle_id_for(Some(Path::new("/usr/local/bin/secours"))),
            DEFAULT_BUNDLE_ID
        );
        assert_eq!(bundle_id_for(None), DEFAULT_BUNDLE_ID);
        let item = LoginItem::with_flavor(Flavor::LaunchAgent, dir.path(), dir.path(), &bundle_id_for(Some(&exe)));
        assert!(item.file().ends_with("Library/LaunchAgents/org.example.Secours.plist"));
        // The test binary is no bundle.
        assert_eq!(current_bundle_id(), DEFAULT_BUNDLE_ID);
    }

    #[test]
    fn bundle_identifier_is_read_from_info_plist() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_bundle(dir.path(), "org.example.Secours");
        assert_eq!(bundle_identifier(&exe).as_deref(), Some("org.example.Secours"));
        assert_eq!(bundle_identifier(Path::new("/usr/bin/secours")), None);
    }

    proptest::proptest! {
        #[test]
        fn desktop_exec_round_trips(name in "[ -~éà%\\\\\"$`]{1,24}") {
            // Guards the quoting of unusual folder names in the Exec line.
            let exe = PathBuf::from(format!("/opt/{name}/secours"));
            let text = autostart_desktop_entry(&exe).unwrap();
            proptest::prop_assert_eq!(parse_desktop_entry(&text), Some(Some(exe)));
        }
    }
}
