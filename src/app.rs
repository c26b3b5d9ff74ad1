//! The menu-bar app's brain, without any display: what to show (a [`MenuInput`] snapshot), when to
//! notify, and what each menu action does. The tray (`tray.rs`) only draws and forwards clicks.
//!
//! `secours menu --json` uses the same [`Session::snapshot`], so scripts and tests see exactly what the
//! app would show.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::cli::Context;
use crate::config::Config;
use crate::environment;
use crate::i18n::Lang;
use crate::menu::{Action, MenuInput};
use crate::paths::Locations;
use crate::platform;
use crate::status;

/// Everything the app needs to look and act; cheap to clone (shared between threads).
#[derive(Clone)]
pub struct Session {
    pub locations: Locations,
    pub config: Config,
    pub lang: Lang,
    /// A configuration that could not be loaded: the app keeps running and says so.
    pub config_problem: Option<String>,
    /// Remembered alerts, per subject (persisted through history when available).
    pub alerts: Arc<Mutex<crate::alerts_store::AlertStore>>,
}

impl Session {
    /// A session from a loaded context.
    pub fn new(ctx: Context) -> Session {
        let alerts = crate::alerts_store::AlertStore::open(&ctx.locations);
        Session {
            locations: ctx.locations,
            config: ctx.config,
            lang: ctx.lang,
            config_problem: None,
            alerts: Arc::new(Mutex::new(alerts)),
        }
    }

    /// A session whose configuration is broken: the app shows the problem instead of exiting.
    pub fn broken(locations: Locations, problem: String) -> Session {
        let lang = Lang::choose(crate::config::LanguageSetting::Auto);
        let alerts = crate::alerts_store::AlertStore::open(&locations);
        Session {
            locations,
            config: Config::default(),
            lang,
            config_problem: Some(problem),
            alerts: Arc::new(Mutex::new(alerts)),
        }
    }

    fn target(&self) -> Option<environment::Environment> {
        environment::named(&self.config, &self.config.restore.target).ok()
    }

    /// What the menu shows now.
    pub fn snapshot(&self, now: Timestamp) -> MenuInput {
        let status = self
            .config_problem
            .is_none()
            .then(|| status::gather(&self.config, self.lang, now, &|_| false));
        let target = self.target();
        MenuInput {
            status,
            config_problem: self.config_problem.clone(),
            time_machine: None,
            copies: Vec::new(),
            last_drill: None,
            drill_every: Some(self.config.drill.every.0),
            unfinished_restore: None,
            running: None,
            launch_at_login: None,
            target_url: target.as_ref().and_then(|t| t.url.clone()),
            target_name: self.config.restore.target.clone(),
        }
    }

    /// Sends the notifications the alert policy asks for.
    pub fn notify_changes(&self, input: &MenuInput, now: Timestamp) {
        let Ok(mut store) = self.alerts.lock() else { return };
        for n in store.observe(input, now, self.lang) {
            crate::notifications::send(&n);
        }
    }

    /// Performs a menu action (never blocking: long work goes to a thread).
    pub fn perform(&self, action: &Action, _input: &MenuInput) {
        let result = match action {
            Action::OpenSecours => match self.target().and_then(|t| t.url) {
                Some(url) => platform::open_url(&url),
                None => Ok(()),
            },
            Action::ShowBackups => platform::show_folder(&self.backups_folder()),
            Action::Preferences => self.open_preferences(),
            Action::GrantFullDiskAccess => platform::open_full_disk_access_settings(),
            _ => {
                crate::notifications::send(&crate::notifications::Note {
                    title: "Secours".to_owned(),
                    body: self.lang.t().not_available_yet.to_owned(),
                });
                Ok(())
            }
        };
        if let Err(e) = result {
            log::warn!("{e}");
            crate::notifications::send(&crate::notifications::Note {
                title: "Secours".to_owned(),
                body: e.to_string(),
            });
        }
    }

    fn backups_folder(&self) -> PathBuf {
        status::sources(&self.config)
            .into_iter()
            .next()
            .map_or_else(|| self.locations.data_dir.clone(), |s| s.folder)
    }

    fn open_preferences(&self) -> Result<(), platform::OpenError> {
        if !self.locations.config.exists() {
            // The example is the best starting point; a failure shows when opening.
            let _ = crate::config::write_example(&self.locations.config, false);
        }
        platform::edit_file(&self.locations.config)
    }
}

/// Whether a graphical session is there to show an icon in.
pub fn has_display() -> bool {
    if cfg!(target_os = "macos") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}
