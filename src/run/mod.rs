//! What both shells (the command line and the menu-bar app) need, below them: the context of a run
//! ([`Context`]: where things are, the configuration, the language), what a run keeps alive ([`Held`]), exit
//! codes, error text for people, logging ([`logging`]) and the single running app ([`instance`]).
//!
//! Exit codes follow the monitoring-plugin convention: 0 ok/fresh, 1 late, 2 stale/missing/corrupt,
//! 3 unknown or configuration error.
//!
//! May use: everything below the shells; never [`crate::cli`] or `crate::ui`.

pub mod instance;
pub mod logging;

use anyhow::Result;

use crate::env::config::{self, Config};
use crate::env::paths::Locations;
use crate::i18n::Lang;
use crate::store::history::History;

/// Exit code for "unknown" and configuration errors.
pub const EXIT_UNKNOWN: u8 = 3;

/// An error and its causes for people, each said once: the library's errors already quote their cause in
/// their own message (with what to do after it), so anyhow's `{:#}` would print that cause twice.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// What a command needs: where things are, the configuration, the language.
pub struct Context {
    pub locations: Locations,
    pub config: Config,
    /// Whether the configuration file exists (else the defaults are in use).
    pub config_found: bool,
    pub lang: Lang,
    /// Without a configuration file: the stack found on this machine, whose `apps/` the defaults use.
    pub stack: Option<crate::env::stack::Stack>,
}

impl Context {
    /// Loads the configuration named by the locations; a missing default file means the defaults.
    pub fn load(locations: Locations) -> Result<Context> {
        let found = locations.config.exists();
        let mut stack = None;
        let config = if found || locations.config_explicit {
            config::load(&locations.config)?
        } else {
            // No configuration: the stack installed on this machine, else the procedure's paths.
            stack = crate::env::stack::discover_here();
            stack
                .as_ref()
                .map_or_else(Config::default, crate::env::stack::Stack::config)
        };
        let lang = Lang::choose(config.language);
        Ok(Context {
            locations,
            config,
            config_found: found,
            lang,
            stack,
        })
    }
}

/// Opens the history; without it Secours still works, so a failure is a warning.
pub fn open_history(locations: &Locations) -> Option<History> {
    match History::open(&locations.history()) {
        Ok(h) => Some(h),
        Err(e) => {
            log::warn!("{e}");
            eprintln!("secours: {e}");
            None
        }
    }
}

/// What a run keeps alive for as long as it lasts: the single-instance lock of the menu-bar app and the
/// demo's database server (stopped by its keeper once no Secours process holds it).
#[derive(Default)]
pub struct Held {
    pub lock: Option<instance::InstanceGuard>,
    pub demo_server: Option<crate::demo::server::Attached>,
}

/// Whether a graphical session is there to show a menu-bar icon in (always on macOS).
pub fn has_display() -> bool {
    if cfg!(target_os = "macos") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}
