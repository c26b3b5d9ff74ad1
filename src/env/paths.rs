//! Where Secours finds its configuration and keeps its state, per platform.
//!
//! Order of precedence (a public contract): `--config PATH`, else `$SECOURS_CONFIG`, else the platform
//! config dir (`~/Library/Application Support/Secours/config.toml` on macOS, `$XDG_CONFIG_HOME/secours/
//! config.toml` on Linux). State: `--data-dir`, else `$SECOURS_DATA_DIR`, else the platform data dir.

use std::path::{Path, PathBuf};

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SECOURS_CONFIG";
/// Environment variable naming the data folder (history, logs, demo).
pub const DATA_DIR_ENV: &str = "SECOURS_DATA_DIR";

/// Resolved locations for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// The configuration file (it may not exist).
    pub config: PathBuf,
    /// Whether the configuration path was chosen explicitly (flag or variable).
    pub config_explicit: bool,
    /// State: history database, demo sandbox.
    pub data_dir: PathBuf,
    /// Log files of the menu-bar app.
    pub log_dir: PathBuf,
}

impl Locations {
    /// Resolves the locations from the command-line values and the process environment.
    pub fn resolve(config_flag: Option<&Path>, data_dir_flag: Option<&Path>) -> Locations {
        Self::resolve_with(config_flag, data_dir_flag, |k| std::env::var_os(k).map(PathBuf::from))
    }

    /// Same as [`Locations::resolve`] with an injectable environment, for tests.
    pub fn resolve_with(
        config_flag: Option<&Path>,
        data_dir_flag: Option<&Path>,
        env: impl Fn(&str) -> Option<PathBuf>,
    ) -> Locations {
        let dirs = directories::ProjectDirs::from("", "", "Secours");
        let fallback = || std::env::temp_dir().join("secours");
        let (config, config_explicit) = match (config_flag, env(CONFIG_ENV).filter(|p| !p.as_os_str().is_empty())) {
            (Some(p), _) => (p.to_owned(), true),
            (None, Some(p)) => (p, true),
            (None, None) => (
                dirs.as_ref()
                    .map_or_else(fallback, |d| d.config_dir().to_owned())
                    .join("config.toml"),
                false,
            ),
        };
        let data_dir = match (data_dir_flag, env(DATA_DIR_ENV).filter(|p| !p.as_os_str().is_empty())) {
            (Some(p), _) => p.to_owned(),
            (None, Some(p)) => p,
            (None, None) => dirs.as_ref().map_or_else(fallback, |d| d.data_dir().to_owned()),
        };
        let log_dir = if data_dir_flag.is_some() || env(DATA_DIR_ENV).is_some() {
            data_dir.join("logs")
        } else {
            platform_log_dir().unwrap_or_else(|| data_dir.join("logs"))
        };
        Locations {
            config,
            config_explicit,
            data_dir,
            log_dir,
        }
    }

    /// The history database.
    pub fn history(&self) -> PathBuf {
        self.data_dir.join("history.sqlite")
    }

    /// The default demo sandbox.
    pub fn demo_dir(&self) -> PathBuf {
        self.data_dir.join("demo")
    }
}

#[cfg(target_os = "macos")]
fn platform_log_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().join("Library/Logs/Secours"))
}

#[cfg(not(target_os = "macos"))]
fn platform_log_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "Secours").map(|d| {
        d.state_dir()
            .map_or_else(|| d.data_dir().join("logs"), |s| s.join("logs"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the documented precedence: flag, then variable, then platform dir.
    #[test]
    fn flag_beats_variable_beats_platform() {
        let env = |k: &str| match k {
            CONFIG_ENV => Some(PathBuf::from("/env/config.toml")),
            DATA_DIR_ENV => Some(PathBuf::from("/env/data")),
            _ => None,
        };
        let l = Locations::resolve_with(Some(Path::new("/flag.toml")), None, env);
        assert_eq!(l.config, PathBuf::from("/flag.toml"));
        assert_eq!(l.data_dir, PathBuf::from("/env/data"));
        assert_eq!(l.log_dir, PathBuf::from("/env/data/logs"));
        let l = Locations::resolve_with(None, Some(Path::new("/d")), env);
        assert_eq!(l.config, PathBuf::from("/env/config.toml"));
        assert_eq!(l.data_dir, PathBuf::from("/d"));
        let l = Locations::resolve_with(None, None, |_| None);
        assert!(l.config.ends_with("config.toml"));
        assert!(!l.config_explicit);
    }
}
