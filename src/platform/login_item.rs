//! Launch at login, the front: one [`LoginItem`] per user that picks the mechanism of the system — on
//! macOS 13 and later the app itself through `SMAppService` ([`crate::platform::macos::app_service`]), else a per-user
//! LaunchAgent ([`crate::platform::macos::launch_agent`]); on Linux an XDG autostart entry ([`crate::platform::linux::autostart`]) — and
//! reads, writes and removes its entry file.
//!
//! Guarantees:
//! - [`LoginItem::enable`] and [`LoginItem::disable`] are idempotent, and write files atomically (temp file +
//!   rename), so a crash never leaves a half-written entry.
//! - [`LoginItem::status`] reads what is on disk and, on macOS, asks launchd — never a cached flag: an entry
//!   whose executable has moved or been deleted is [`Status::Stale`], not on; an entry switched off in
//!   System Settings is [`Status::Disabled`]; [`Status::On`] says whether launchd has the agent loaded. The
//!   LaunchAgent is never booted out (see [`crate::platform::macos::launch_agent`]).
//! - On macOS 13 and later, for the app inside its bundle, the login item is the app itself, registered
//!   with `SMAppService.mainApp`: System Settings › General › Login Items then lists Secours with its name
//!   and icon, and a switch-off there reads as [`Status::NeedsApproval`] (unticked in the menu; ticking it
//!   again opens that pane, where only the user may switch it back on). Turning it on removes the
//!   LaunchAgent an earlier version wrote; the LaunchAgent stays the mechanism of macOS 12 and of the bare
//!   binary.
//! - The LaunchAgent's label is the identifier of the bundle Secours runs from
//!   ([`crate::platform::macos::bundle::current_bundle_id`]), so a bundle made with `make-app --bundle-id` is itself
//!   everywhere.
//!
//! The per-system modules build and parse their entries with pure functions tested on every system; the
//! `launchctl` calls go through the platform's runner, faked in tests.

use std::path::{Path, PathBuf};
use std::{fmt, fs, io};

use crate::platform::Os;
use crate::platform::linux::autostart;
use crate::platform::macos::app_service::{self, AppService, AppServiceStatus};
use crate::platform::macos::launch_agent::{self, Agent, LaunchAgent, Launchd};
use crate::platform::runner::CommandRunner;

pub use crate::platform::login_entry::{APP_ARG, LoginItemError};

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

/// The entry file and how it is read: the mechanism of one system.
enum Entry {
    /// `~/Library/LaunchAgents/<label>.plist` (macOS).
    LaunchAgent(LaunchAgent),
    /// `$XDG_CONFIG_HOME/autostart/secours.desktop` (Linux and other freedesktop systems).
    Autostart(PathBuf),
}

/// The login item of one user.
pub struct LoginItem {
    os: Os,
    entry: Entry,
    /// The app as a login item (macOS 13+), and its bundle; the entry is then the LaunchAgent of earlier
    /// versions, removed when this one is turned on or off.
    app_service: Option<(Box<dyn AppService>, PathBuf)>,
}

impl fmt::Debug for LoginItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginItem")
            .field("os", &self.os)
            .field("file", &self.file())
            .finish()
    }
}

impl LoginItem {
    /// The native login item under `home`, labelled `bundle_id` (the LaunchAgent's label on macOS).
    ///
    /// On Linux the entry goes to `<home>/.config/autostart`; use [`LoginItem::for_current_user`] to honour
    /// `$XDG_CONFIG_HOME`.
    pub fn new(home: &Path, bundle_id: &str) -> LoginItem {
        LoginItem::for_os(Os::current(), home, &home.join(".config"), bundle_id)
    }

    /// The native login item of the user running this process (`$HOME`, `$XDG_CONFIG_HOME`): on macOS 13
    /// and later, for the app inside its bundle, the app itself through `SMAppService`.
    pub fn for_current_user(bundle_id: &str) -> Result<LoginItem, LoginItemError> {
        let dirs = directories::BaseDirs::new().ok_or(LoginItemError::NoHome)?;
        let item = LoginItem::for_os(Os::current(), dirs.home_dir(), dirs.config_dir(), bundle_id);
        Ok(match app_service::native() {
            Some((service, app)) => item.with_app_service(service, app),
            None => item,
        })
    }

    /// Makes the app itself (bundle `app`) the login item through `service`; the LaunchAgent file stays the
    /// one an earlier version may have written.
    pub fn with_app_service(mut self, service: Box<dyn AppService>, app: PathBuf) -> LoginItem {
        self.app_service = Some((service, app));
        self
    }

    /// The login item of `os`: a LaunchAgent under `home` on macOS, an autostart entry under `config_dir`
    /// on Linux (`config_dir` is not used on macOS).
    pub fn for_os(os: Os, home: &Path, config_dir: &Path, bundle_id: &str) -> LoginItem {
        let entry = match os {
            Os::MacOs => Entry::LaunchAgent(LaunchAgent::new(home, bundle_id)),
            Os::Linux => Entry::Autostart(autostart::entry_file(config_dir)),
        };
        LoginItem {
            os,
            entry,
            app_service: None,
        }
    }

    /// Replaces the runner of the LaunchAgent's `launchctl` (tests use a fake); an autostart entry runs
    /// nothing.
    pub fn with_runner(mut self, runner: Box<dyn CommandRunner + Send + Sync>) -> LoginItem {
        if let Entry::LaunchAgent(agent) = self.entry {
            self.entry = Entry::LaunchAgent(agent.with_runner(runner));
        }
        self
    }

    /// The entry file this login item reads and writes.
    pub fn file(&self) -> &Path {
        match &self.entry {
            Entry::LaunchAgent(agent) => agent.file(),
            Entry::Autostart(file) => file,
        }
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
        let bytes = match fs::read(self.file()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Status::Off),
            Err(source) => {
                return Err(LoginItemError::Read {
                    path: self.file().to_path_buf(),
                    source,
                });
            }
        };
        let parsed = match &self.entry {
            Entry::LaunchAgent(_) => launch_agent::parse_launch_agent(&bytes).map(Some),
            Entry::Autostart(_) => autostart::parse_desktop_entry(&String::from_utf8_lossy(&bytes)),
        };
        let file = self.file().to_path_buf();
        Ok(match parsed {
            // The user switched the entry off in the desktop's startup settings.
            Some(None) => Status::Off,
            Some(Some(exe)) if exe.is_file() => match &self.entry {
                Entry::Autostart(_) => Status::On {
                    file,
                    exe,
                    launchd: None,
                },
                Entry::LaunchAgent(agent) => match agent.state(&exe)? {
                    Agent::Disabled => Status::Disabled { file, exe },
                    Agent::Enabled(launchd) => Status::On {
                        file,
                        exe,
                        launchd: Some(launchd),
                    },
                },
            },
            Some(Some(exe)) => Status::Stale { file, exe: Some(exe) },
            None => Status::Stale { file, exe: None },
        })
    }

    /// Registers `exe` to start (as `exe app`) at login; rewrites the entry only if it differs. A
    /// LaunchAgent is also loaded into launchd now (see [`crate::platform::macos::launch_agent`] for when it is not).
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
                if self.file().exists() {
                    self.disable_entry()?;
                }
            }
            if service.status() == AppServiceStatus::RequiresApproval {
                service.open_settings();
            }
            return self.status();
        }
        let contents = match &self.entry {
            Entry::LaunchAgent(agent) => agent.plist(exe)?,
            Entry::Autostart(_) => autostart::autostart_desktop_entry(exe)?.into_bytes(),
        };
        if fs::read(self.file()).ok().as_deref() != Some(contents.as_slice()) {
            write_atomically(self.file(), &contents)?;
        }
        if let Entry::LaunchAgent(agent) = &self.entry {
            agent.load(exe)?;
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
            if self.file().exists() {
                self.disable_entry()?;
            }
            return self.status();
        }
        self.disable_entry()
    }

    /// Removes the entry file (and disables a LaunchAgent in launchd).
    fn disable_entry(&self) -> Result<Status, LoginItemError> {
        let existed = match fs::remove_file(self.file()) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(source) => {
                return Err(LoginItemError::Remove {
                    path: self.file().to_path_buf(),
                    source,
                });
            }
        };
        if let Entry::LaunchAgent(agent) = &self.entry {
            agent.forget(existed)?;
        }
        self.entry_status()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::macos::bundle::DEFAULT_BUNDLE_ID;
    use crate::platform::macos::launch_agent::fake_launchd::{LABEL, fake_exe, launch_agent};
    use std::sync::{Arc, Mutex};

    #[test]
    fn xdg_enable_disable_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let config = home.path().join("cfg");
        let item = LoginItem::for_os(Os::Linux, home.path(), &config, DEFAULT_BUNDLE_ID);
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
        let item = LoginItem::for_os(Os::Linux, home.path(), home.path(), DEFAULT_BUNDLE_ID);
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
}
