//! The configuration file: one TOML document, its defaults, and its validation.
//!
//! Invariants:
//! - Every default lives in this module, in the `Default` impls below, and matches the paths of the
//!   office's recovery procedure (`/Application/mamstack/apps/{prod,secours}`).
//! - Unknown keys are refused (`deny_unknown_fields`): a typo must not silently fall back to a default.
//! - [`load`] reports every problem it finds at once (each section is read on its own, then the
//!   whole is checked), each naming the key and quoting the bad value.
//! - The keys spelled in the foundation issue are a public contract; `resources/config.example.toml`
//!   documents every key and is parsed by a test.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::env::secret::Secret;
use crate::i18n::LanguageSetting;

mod quotes;

/// The commented example configuration, written by `secours config --init`.
pub const EXAMPLE: &str = include_str!("../../resources/config.example.toml");

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// `"fr"`, `"en"` or `"auto"` (the system language).
    pub language: LanguageSetting,
    /// The application's environments, by name (`prod`, `secours`, …).
    pub environments: BTreeMap<String, EnvironmentConfig>,
    pub watch: WatchConfig,
    pub freshness: FreshnessConfig,
    pub safe_copy: SafeCopyConfig,
    pub restore: RestoreConfig,
    pub time_machine: TimeMachineConfig,
    pub drill: DrillConfig,
    pub app: AppConfig,
    /// When a new pair departs sharply from the last good ones (see `anomaly`).
    pub anomaly: AnomalyConfig,
    /// `[standby]`: the restore done ahead of time on the standby (see `restore::prestage`).
    pub standby: StandbyConfig,
    /// Set by `secours demo` in the demo's own configuration: the demo's folder, whose private database
    /// and web server Secours starts when a command needs them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<DemoConfig>,
}

/// `[demo]`: this configuration is the demo's (see `secours demo`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DemoConfig {
    /// The demo's folder (its database server lives in `<dir>/server`).
    pub dir: PathBuf,
}

/// One environment of the application (a folder under `mamstack/apps/`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// The environment's folder, e.g. `/Application/mamstack/apps/prod`.
    pub root: PathBuf,
    /// Where the application answers, e.g. `http://imac-de-reunion.local/secours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Default `<root>/web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<PathBuf>,
    /// Default `<root>/config/db.php`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_config: Option<PathBuf>,
    /// Default `<root>/runtime/backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_dir: Option<PathBuf>,
    /// Default `["documents", "pictures"]`: folders of `web/` that `media.taz` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_dirs: Option<Vec<String>>,
    /// Overrides for what `db.php` says (or cannot say, when it computes a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseOverride>,
}

/// `[environments.X.database]`: each key set here wins over `db.php`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatabaseOverride {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub charset: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct WatchConfig {
    /// Watch these environments' backup folders.
    pub environments: Vec<String>,
    /// And these folders (e.g. where copies arrive on the standby Mac).
    pub folders: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct FreshnessConfig {
    /// The backup job's rhythm.
    pub period: HumanDuration,
    pub late_after: HumanDuration,
    pub stale_after: HumanDuration,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SafeCopyConfig {
    /// Folders; a volume under `/Volumes` must be mounted, never created.
    pub destinations: Vec<PathBuf>,
    /// How many copies each destination keeps.
    pub keep: usize,
    /// Copy each new verified backup by itself (in the app).
    pub automatic: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RestoreConfig {
    /// The environment a restore replaces.
    pub target: String,
    /// `user:group` owning the restored media (Apache runs as `daemon`).
    pub owner: String,
    /// How long the target's previous state is kept after a successful restore.
    pub keep_previous: HumanDuration,
    /// The environment the return to production (`secours failback`) replaces.
    pub production: String,
    /// Database connections the import uses (rows of different tables go in parallel).
    pub connections: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TimeMachineConfig {
    pub enabled: bool,
    pub tmutil: PathBuf,
    pub late_after: HumanDuration,
    pub stale_after: HumanDuration,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DrillConfig {
    /// A restore rehearsal is advised this often (the procedure asks for twice a year).
    pub every: HumanDuration,
}

/// `[anomaly]`: a verified pair that departs sharply from the last good ones is `suspect`. Growth is
/// never an anomaly.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct AnomalyConfig {
    /// Off: no pair is ever suspect.
    pub enabled: bool,
    /// How many of the last good pairs a new one is compared with (their median).
    pub compare_with: usize,
    /// Suspect when the database (uncompressed) shrank by more than this many percent.
    pub db_shrink_percent: u32,
    /// Suspect when the media (bytes of files) shrank by more than this many percent.
    pub media_shrink_percent: u32,
    /// Suspect when the media lost more than this many percent of their files.
    pub files_drop_percent: u32,
    /// Suspect when a table that had rows has none, or is missing.
    pub empty_tables: bool,
    /// Tables allowed to empty themselves (sessions, caches, queues).
    pub ignore_tables: Vec<String>,
}

/// `[standby]`: every new verified pair is restored beside the target ahead of time, so that each hour is a
/// drill and the switch-over only swaps.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct StandbyConfig {
    /// `"auto"` (on where the restore target is on this machine and its disk has room), `true` or `false`.
    pub prestage: Prestage,
    /// How often the app looks for a new pair to pre-stage.
    pub every: HumanDuration,
}

/// `[standby] prestage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prestage {
    #[default]
    Auto,
    On,
    Off,
}

impl Prestage {
    pub fn as_str(self) -> &'static str {
        match self {
            Prestage::Auto => "auto",
            Prestage::On => "true",
            Prestage::Off => "false",
        }
    }
}

impl Serialize for Prestage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Prestage::Auto => s.serialize_str("auto"),
            Prestage::On => s.serialize_bool(true),
            Prestage::Off => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Prestage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(Prestage::On),
            Raw::Bool(false) => Ok(Prestage::Off),
            Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "auto" => Ok(Prestage::Auto),
                "true" | "on" | "yes" => Ok(Prestage::On),
                "false" | "off" | "no" => Ok(Prestage::Off),
                _ => Err(serde::de::Error::custom(format!(
                    "'{t}' is not a pre-staging choice; write \"auto\", true or false"
                ))),
            },
        }
    }
}

impl Default for StandbyConfig {
    fn default() -> Self {
        StandbyConfig {
            prestage: Prestage::Auto,
            every: HumanDuration::minutes(10),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct AppConfig {
    /// Show the backup's age next to the menu-bar icon (e.g. "12 min").
    pub show_title: bool,
}

impl Default for Config {
    fn default() -> Self {
        let mut environments = BTreeMap::new();
        environments.insert(
            "prod".to_owned(),
            EnvironmentConfig::at("/Application/mamstack/apps/prod", None),
        );
        environments.insert(
            "secours".to_owned(),
            EnvironmentConfig::at(
                "/Application/mamstack/apps/secours",
                Some("http://imac-de-reunion.local/secours"),
            ),
        );
        Config {
            language: LanguageSetting::Auto,
            environments,
            watch: WatchConfig::default(),
            freshness: FreshnessConfig::default(),
            safe_copy: SafeCopyConfig::default(),
            restore: RestoreConfig::default(),
            time_machine: TimeMachineConfig::default(),
            drill: DrillConfig::default(),
            app: AppConfig::default(),
            demo: None,
            anomaly: AnomalyConfig::default(),
            standby: StandbyConfig::default(),
        }
    }
}

impl EnvironmentConfig {
    /// An environment with every path derived from its root.
    pub fn at(root: impl Into<PathBuf>, url: Option<&str>) -> Self {
        EnvironmentConfig {
            root: root.into(),
            url: url.map(str::to_owned),
            web: None,
            db_config: None,
            backup_dir: None,
            media_dirs: None,
            database: None,
        }
    }
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            environments: vec!["prod".to_owned()],
            folders: Vec::new(),
        }
    }
}

impl Default for FreshnessConfig {
    fn default() -> Self {
        FreshnessConfig {
            period: HumanDuration::hours(1),
            late_after: HumanDuration::minutes(90),
            stale_after: HumanDuration::hours(3),
        }
    }
}

impl Default for SafeCopyConfig {
    fn default() -> Self {
        SafeCopyConfig {
            destinations: Vec::new(),
            keep: 48,
            automatic: true,
        }
    }
}

impl Default for RestoreConfig {
    fn default() -> Self {
        RestoreConfig {
            target: "secours".to_owned(),
            owner: "daemon:daemon".to_owned(),
            keep_previous: HumanDuration::days(7),
            production: "prod".to_owned(),
            connections: 2,
        }
    }
}

impl Default for TimeMachineConfig {
    fn default() -> Self {
        TimeMachineConfig {
            enabled: true,
            tmutil: PathBuf::from("/usr/bin/tmutil"),
            late_after: HumanDuration::hours(2),
            stale_after: HumanDuration::hours(26),
        }
    }
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            enabled: true,
            compare_with: 24,
            db_shrink_percent: 20,
            media_shrink_percent: 20,
            files_drop_percent: 10,
            empty_tables: true,
            ignore_tables: Vec::new(),
        }
    }
}

impl Default for DrillConfig {
    fn default() -> Self {
        DrillConfig {
            every: HumanDuration::days(182),
        }
    }
}

/// A duration written for people: `"1h30m"`, `"45m"`, `"182d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn minutes(m: u64) -> Self {
        HumanDuration(Duration::from_secs(m * 60))
    }
    pub const fn hours(h: u64) -> Self {
        HumanDuration(Duration::from_secs(h * 3600))
    }
    pub const fn days(d: u64) -> Self {
        HumanDuration(Duration::from_secs(d * 86_400))
    }
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
    pub fn parse(text: &str) -> Result<Self, String> {
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|e| e.to_string())
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // humantime writes "1h 30m"; the config's own style has no spaces.
        let text = humantime::format_duration(self.0).to_string().replace(' ', "");
        f.write_str(&text)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        HumanDuration::parse(&text).map_err(|_| {
            serde::de::Error::custom(format!(
                "'{text}' is not a duration; write it like '45m', '1h30m' or '182d'"
            ))
        })
    }
}

/// One problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The key, e.g. `freshness.late-after` (or the file for a syntax error).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the configuration '{path}': {source}. Check the path, or run 'secours config --init' to create one."
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration '{path}' has {} problem(s):\n{}\nFix them (see 'secours config --init' for a commented example).", problems.len(), list(problems))]
    Invalid { path: PathBuf, problems: Vec<Problem> },
    #[error("cannot write '{path}': {source}. Check that the folder exists and is writable.")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}' already exists; it was left as it is. Pass --force to replace it.")]
    Exists { path: PathBuf },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads and validates the configuration at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|problems| ConfigError::Invalid {
        path: path.to_owned(),
        problems,
    })
}

/// Parses and validates a configuration text, reporting every problem at once.
///
/// A text that does not parse as it is, because an editor (TextEdit) put typographic quotes `“…”`,
/// `« … »` or `‘…’` where TOML expects straight ones, is read with straight quotes in their place
/// ([`quotes::straighten`]); a typographic quote left without its closing one is named by its line.
pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    let problems = match parse_as_written(text) {
        Ok(config) => return Ok(config),
        Err(problems) => problems,
    };
    let Some(straight) = quotes::straighten(text) else {
        return Err(problems);
    };
    let mut problems = match parse_as_written(&straight.text) {
        Ok(config) => {
            log::info!(
                "configuration: typographic quotes on line(s) {} read as straight quotes",
                quotes::lines_text(&straight.fixed)
            );
            return Ok(config);
        }
        Err(problems) => problems,
    };
    if !straight.unpaired.is_empty() {
        problems.push(Problem {
            key: "(syntax)".to_owned(),
            message: format!(
                "line {}: smart quotes (“ ” « » ‘ ’) where TOML expects straight quotes \"…\", and no closing \
                 one on the same line; in TextEdit turn off Edit › Substitutions › Smart Quotes, then type the \
                 value between straight quotes",
                quotes::lines_text(&straight.unpaired)
            ),
        });
    }
    Err(problems)
}

fn parse_as_written(text: &str) -> Result<Config, Vec<Problem>> {
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![Problem {
                key: "(syntax)".to_owned(),
                message: one_line(&e.to_string()),
            }]);
        }
    };
    let mut problems = Vec::new();
    let mut config = Config::default();
    for (key, value) in table {
        let result = match key.as_str() {
            "language" => section(&key, value, &mut config.language),
            "environments" => section(&key, value, &mut config.environments),
            "watch" => section(&key, value, &mut config.watch),
            "freshness" => section(&key, value, &mut config.freshness),
            "safe-copy" => section(&key, value, &mut config.safe_copy),
            "restore" => section(&key, value, &mut config.restore),
            "time-machine" => section(&key, value, &mut config.time_machine),
            "drill" => section(&key, value, &mut config.drill),
            "app" => section(&key, value, &mut config.app),
            "demo" => section(&key, value, &mut config.demo),
            "anomaly" => section(&key, value, &mut config.anomaly),
            "standby" => section(&key, value, &mut config.standby),
            _ => Err(Problem {
                key: key.clone(),
                message: "unknown key; known top-level keys are language, environments, watch, freshness, \
                          safe-copy, restore, time-machine, drill, app, anomaly, standby, demo"
                    .to_owned(),
            }),
        };
        if let Err(p) = result {
            problems.push(p);
        }
    }
    problems.extend(validate(&config));
    if problems.is_empty() { Ok(config) } else { Err(problems) }
}

fn section<T: serde::de::DeserializeOwned>(key: &str, value: toml::Value, slot: &mut T) -> Result<(), Problem> {
    match T::deserialize(value) {
        Ok(v) => {
            *slot = v;
            Ok(())
        }
        Err(e) => Err(Problem {
            key: key.to_owned(),
            message: one_line(&e.to_string()),
        }),
    }
}

/// toml's messages span several lines with a source excerpt; keep the explanation only.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.starts_with('^') && !l.contains(" | "))
        .collect();
    lines.join(" ").replace("TOML parse error ", "")
}

/// The checks that span keys: names that must exist, orders that must hold.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |key: String, message: String| problems.push(Problem { key, message });
    let names = || {
        config
            .environments
            .keys()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };

    for (name, env) in &config.environments {
        if !valid_name(name) {
            problem(
                format!("environments.{name}"),
                format!("'{name}' is not a usable environment name; use letters, digits, '-' or '_'"),
            );
        }
        if !env.root.is_absolute() {
            problem(
                format!("environments.{name}.root"),
                format!(
                    "'{}' must be an absolute path, like '/Application/mamstack/apps/{name}'",
                    env.root.display()
                ),
            );
        }
        if let Some(url) = &env.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problem(
                format!("environments.{name}.url"),
                format!("'{url}' must start with http:// or https://"),
            );
        }
        if let Some(dirs) = &env.media_dirs {
            if dirs.is_empty() {
                problem(
                    format!("environments.{name}.media-dirs"),
                    "must name at least one folder".to_owned(),
                );
            }
            for d in dirs {
                if d.is_empty() || d.contains('/') || d == "." || d == ".." {
                    problem(
                        format!("environments.{name}.media-dirs"),
                        format!("'{d}' must be a plain folder name inside web/, like 'documents'"),
                    );
                }
            }
        }
    }
    for name in &config.watch.environments {
        if !config.environments.contains_key(name) {
            problem(
                "watch.environments".to_owned(),
                format!("'{name}' is not a configured environment (known: {})", names()),
            );
        }
    }
    for folder in &config.watch.folders {
        if !folder.is_absolute() {
            problem(
                "watch.folders".to_owned(),
                format!("'{}' must be an absolute path", folder.display()),
            );
        }
    }
    let f = &config.freshness;
    if f.period.0.is_zero() {
        problem(
            "freshness.period".to_owned(),
            format!("'{}' must be longer than zero", f.period),
        );
    }
    if f.late_after < f.period {
        problem(
            "freshness.late-after".to_owned(),
            format!(
                "'{}' is shorter than the backup period '{}'; every backup would look late",
                f.late_after, f.period
            ),
        );
    }
    if f.stale_after <= f.late_after {
        problem(
            "freshness.stale-after".to_owned(),
            format!("'{}' must be longer than late-after '{}'", f.stale_after, f.late_after),
        );
    }
    if config.safe_copy.keep == 0 {
        problem(
            "safe-copy.keep".to_owned(),
            "'0' would delete every copy; keep at least 1".to_owned(),
        );
    }
    for dest in &config.safe_copy.destinations {
        if !dest.is_absolute() {
            problem(
                "safe-copy.destinations".to_owned(),
                format!("'{}' must be an absolute path", dest.display()),
            );
        }
    }
    if !config.environments.contains_key(&config.restore.target) {
        problem(
            "restore.target".to_owned(),
            format!(
                "'{}' is not a configured environment (known: {})",
                config.restore.target,
                names()
            ),
        );
    }
    if !(1..=16).contains(&config.restore.connections) {
        problem(
            "restore.connections".to_owned(),
            format!("'{}' must be between 1 and 16", config.restore.connections),
        );
    }
    let owner_ok = config
        .restore
        .owner
        .split_once(':')
        .is_some_and(|(u, g)| valid_name(u) && valid_name(g));
    if !owner_ok {
        problem(
            "restore.owner".to_owned(),
            format!("'{}' must be 'user:group', like 'daemon:daemon'", config.restore.owner),
        );
    }
    let tm = &config.time_machine;
    if tm.stale_after <= tm.late_after {
        problem(
            "time-machine.stale-after".to_owned(),
            format!(
                "'{}' must be longer than late-after '{}'",
                tm.stale_after, tm.late_after
            ),
        );
    }
    let a = &config.anomaly;
    if !(1..=1000).contains(&a.compare_with) {
        problem(
            "anomaly.compare-with".to_owned(),
            format!("'{}' must be between 1 and 1000 pairs", a.compare_with),
        );
    }
    for (key, value) in [
        ("anomaly.db-shrink-percent", a.db_shrink_percent),
        ("anomaly.media-shrink-percent", a.media_shrink_percent),
        ("anomaly.files-drop-percent", a.files_drop_percent),
    ] {
        if !(1..=100).contains(&value) {
            problem(
                key.to_owned(),
                format!("'{value}' must be a percentage between 1 and 100 (100 turns the rule off)"),
            );
        }
    }
    if config.drill.every.0.is_zero() {
        problem(
            "drill.every".to_owned(),
            format!("'{}' must be longer than zero", config.drill.every),
        );
    }
    problems
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.')
}

/// Writes the commented example to `path` (refusing to replace a file unless `force`).
pub fn write_example(path: &Path, force: bool) -> Result<(), ConfigError> {
    write_example_for(path, force, None)
}

/// The commented example with its paths in `stack` (found on this machine) instead of the procedure's
/// `/Application/mamstack`.
pub fn example_for(stack: Option<&Path>) -> String {
    let Some(stack) = stack.map(|s| s.to_string_lossy().into_owned()) else {
        return EXAMPLE.to_owned();
    };
    let body = EXAMPLE.replace("/Application/mamstack", &stack);
    format!("# The stack found on this machine: {stack} (the paths below point into it).\n{body}")
}

/// [`write_example`] with the paths of the stack found on this machine ([`example_for`]).
pub fn write_example_for(path: &Path, force: bool, stack: Option<&Path>) -> Result<(), ConfigError> {
    if path.exists() && !force {
        return Err(ConfigError::Exists { path: path.to_owned() });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ConfigError::Write {
            path: path.to_owned(),
            source,
        })?;
    }
    // It will hold database passwords ([environments.X.database]): only its owner may read it.
    crate::env::secret::write_private(path, example_for(stack).as_bytes()).map_err(|source| ConfigError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_recovery_procedure() {
        let c = Config::default();
        assert_eq!(
            c.environments["prod"].root,
            PathBuf::from("/Application/mamstack/apps/prod")
        );
        assert_eq!(
            c.environments["secours"].url.as_deref(),
            Some("http://imac-de-reunion.local/secours")
        );
        assert_eq!(c.restore.owner, "daemon:daemon");
        assert_eq!(c.freshness.late_after, HumanDuration::minutes(90));
        assert!(validate(&c).is_empty());
    }

    #[test]
    fn empty_text_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    // Guards the public contract: the example documents every key and parses.
    #[test]
    fn example_parses_and_equals_its_documented_values() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(c.freshness.stale_after, HumanDuration::hours(3));
        assert_eq!(c.drill.every, HumanDuration::days(182));
        assert_eq!(c.safe_copy.keep, 48);
        assert_eq!(c.anomaly, AnomalyConfig::default());
        assert_eq!(c.standby, StandbyConfig::default());
    }

    // Guards `[standby] prestage`'s three spellings of the issue ("auto", true, false), a word for the
    // others, and a clear refusal naming the bad value.
    #[test]
    fn prestage_is_auto_true_or_false() {
        for (text, want) in [
            ("\"auto\"", Prestage::Auto),
            ("true", Prestage::On),
            ("false", Prestage::Off),
            ("\"off\"", Prestage::Off),
        ] {
            let c = parse(&format!("[standby]\nprestage = {text}\n")).unwrap();
            assert_eq!(c.standby.prestage, want, "{text}");
        }
        let e = parse("[standby]\nprestage = \"sometimes\"\n").unwrap_err();
        assert!(e[0].message.contains("'sometimes'"), "{e:?}");
        let back = toml::to_string(&parse("[standby]\nprestage = false\n").unwrap()).unwrap();
        assert!(back.contains("prestage = false"), "{back}");
    }

    // Guards the defaults and the refusal of a percentage that cannot work.
    #[test]
    fn anomaly_defaults_and_bad_percentages() {
        let a = AnomalyConfig::default();
        assert_eq!(
            (
                a.compare_with,
                a.db_shrink_percent,
                a.media_shrink_percent,
                a.files_drop_percent
            ),
            (24, 20, 20, 10)
        );
        assert!(a.enabled && a.empty_tables);
        let problems = parse("[anomaly]\ndb-shrink-percent = 0\ncompare-with = 0\n").unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["anomaly.compare-with", "anomaly.db-shrink-percent"],
            "{problems:?}"
        );
        assert!(
            parse("[anomaly]\nshrink = 3\n").unwrap_err()[0]
                .message
                .contains("shrink")
        );
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(HumanDuration::parse("1h30m").unwrap(), HumanDuration::minutes(90));
        assert_eq!(HumanDuration::parse("182d").unwrap(), HumanDuration::days(182));
        assert_eq!(HumanDuration::minutes(90).to_string(), "1h30m");
        assert!(HumanDuration::parse("soon").is_err());
    }

    // Guards "validation reports every problem at once".
    #[test]
    fn reports_every_problem_at_once() {
        let problems =
            parse("language = 'de'\n[freshness]\nlate-after = 'soon'\n[restore]\ntarget = 'nowhere'\n[oops]\n")
                .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"language"), "{problems:?}");
        assert!(keys.contains(&"freshness"), "{problems:?}");
        assert!(keys.contains(&"restore.target"), "{problems:?}");
        assert!(keys.contains(&"oops"), "{problems:?}");
    }
}
