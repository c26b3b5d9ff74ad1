//! An environment of the application (`prod`, `secours`): its folders and its database connection.
//!
//! Paths not set in the configuration are derived from the root exactly as the recovery procedure
//! lays them out. The database connection comes from the environment's own `config/db.php`, with
//! `[environments.X.database]` keys winning over it (and standing in for it when it cannot be read).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::config::{Config, DatabaseOverride, EnvironmentConfig};
use crate::env::dbphp::{self, DbPhpError, DbSettings};

/// The media folders of `web/` when the configuration does not name them.
pub const DEFAULT_MEDIA_DIRS: [&str; 2] = ["documents", "pictures"];

/// One resolved environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    pub name: String,
    pub root: PathBuf,
    pub url: Option<String>,
    pub web: PathBuf,
    pub db_config: PathBuf,
    pub backup_dir: PathBuf,
    pub media_dirs: Vec<String>,
    #[serde(skip)]
    pub database_override: Option<DatabaseOverride>,
}

/// Why an environment's database connection is not known.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error(
        "no environment '{name}' in the configuration (known: {known}). Add [environments.{name}] or use one of those."
    )]
    Unknown { name: String, known: String },
    #[error(transparent)]
    DbPhp(#[from] DbPhpError),
    #[error("'{path}' names no database (no dbname= in the DSN). Set 'name' under [environments.{env}.database].")]
    NoDatabaseName { path: PathBuf, env: String },
}

impl Environment {
    /// Resolves one environment's paths from its configuration.
    pub fn resolve(name: &str, cfg: &EnvironmentConfig) -> Environment {
        let root = cfg.root.clone();
        Environment {
            name: name.to_owned(),
            url: cfg.url.clone(),
            web: cfg.web.clone().unwrap_or_else(|| root.join("web")),
            db_config: cfg
                .db_config
                .clone()
                .unwrap_or_else(|| root.join("config").join("db.php")),
            backup_dir: cfg
                .backup_dir
                .clone()
                .unwrap_or_else(|| root.join("runtime").join("backup")),
            media_dirs: cfg
                .media_dirs
                .clone()
                .unwrap_or_else(|| DEFAULT_MEDIA_DIRS.iter().map(|s| (*s).to_owned()).collect()),
            database_override: cfg.database.clone(),
            root,
        }
    }

    /// The environment's database connection: `db.php`, overridden key by key by the configuration.
    pub fn database(&self) -> Result<DbSettings, EnvError> {
        let from_file = dbphp::read_db_php(&self.db_config);
        let settings = match (from_file, &self.database_override) {
            (Ok(s), Some(o)) => apply(s, o),
            (Ok(s), None) => s,
            // The override alone is enough when it names the database and the user.
            (Err(_), Some(o)) if o.name.is_some() && o.user.is_some() => apply(DbSettings::default(), o),
            (Err(e), _) => return Err(e.into()),
        };
        let settings = with_stack_socket(settings, &self.root);
        if settings.name.is_none() {
            return Err(EnvError::NoDatabaseName {
                path: self.db_config.clone(),
                env: self.name.clone(),
            });
        }
        Ok(settings)
    }

    /// The database name, when it can be known (used to find `<dbname>.gz`).
    pub fn database_name(&self) -> Option<String> {
        self.database().ok().and_then(|s| s.name)
    }

    /// The folder beside `web/` (its parent), where Secours stages and keeps its work on the same disk as
    /// `web/`: the restore's staging and kept states, the standby's pre-staged pair.
    pub fn beside_web(&self) -> PathBuf {
        self.web
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.web.clone())
    }

    /// The path of one media folder, e.g. `<web>/documents`.
    pub fn media_path(&self, dir: &str) -> PathBuf {
        self.web.join(dir)
    }

    /// Whether `path` lies inside this environment's root.
    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.root)
    }
}

/// A local connection without a socket of its own uses the socket of the environment's stack
/// (`<stack>/mysql/tmp/mysql.sock` for a root `<stack>/apps/<name>`), when it exists: Bitnami's PHP is set
/// up with that very default socket, and it lies outside the well-known places
/// ([`crate::db::connect::DEFAULT_SOCKETS`]) when the stack's folder carries its version.
fn with_stack_socket(mut s: DbSettings, root: &Path) -> DbSettings {
    let local = s
        .host
        .as_deref()
        .map(str::trim)
        .is_none_or(|h| h.is_empty() || h.eq_ignore_ascii_case("localhost"));
    if local
        && s.port.is_none()
        && s.socket.is_none()
        && let Some(socket) = crate::env::stack::of_root(root)
            .map(|stack| crate::env::stack::socket_of(&stack))
            .filter(|p| p.exists())
    {
        s.socket = Some(socket);
    }
    s
}

fn apply(mut s: DbSettings, o: &DatabaseOverride) -> DbSettings {
    if let Some(v) = &o.host {
        s.host = Some(v.clone());
    }
    if let Some(v) = o.port {
        s.port = Some(v);
    }
    if let Some(v) = &o.socket {
        s.socket = Some(v.clone());
    }
    if let Some(v) = &o.name {
        s.name = Some(v.clone());
    }
    if let Some(v) = &o.user {
        s.user = Some(v.clone());
    }
    if let Some(v) = &o.password {
        s.password = Some(v.clone());
    }
    if let Some(v) = &o.charset {
        s.charset = Some(v.clone());
    }
    s
}

/// Every configured environment, in name order.
pub fn all(config: &Config) -> Vec<Environment> {
    config
        .environments
        .iter()
        .map(|(n, c)| Environment::resolve(n, c))
        .collect()
}

/// One configured environment by name.
pub fn named(config: &Config, name: &str) -> Result<Environment, EnvError> {
    config
        .environments
        .get(name)
        .map(|c| Environment::resolve(name, c))
        .ok_or_else(|| EnvError::Unknown {
            name: name.to_owned(),
            known: config
                .environments
                .keys()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::secret::Secret;

    #[test]
    fn paths_derive_from_the_root() {
        let e = Environment::resolve("prod", &EnvironmentConfig::at("/A/prod", None));
        assert_eq!(e.web, PathBuf::from("/A/prod/web"));
        assert_eq!(e.db_config, PathBuf::from("/A/prod/config/db.php"));
        assert_eq!(e.backup_dir, PathBuf::from("/A/prod/runtime/backup"));
        assert_eq!(e.media_dirs, vec!["documents", "pictures"]);
    }

    // Guards the real install layout: a Bitnami stack's MySQL socket is under the stack's own folder,
    // which carries its version, so db.php's "localhost" finds it there; TCP settings are left alone.
    #[test]
    fn a_local_connection_uses_the_stacks_own_socket() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("Applications/mampstack-8.1.2-0");
        let mut cfg = EnvironmentConfig::at(stack.join("apps/prod"), None);
        cfg.database = Some(DatabaseOverride {
            name: Some("gestion".into()),
            user: Some("app".into()),
            host: Some("localhost".into()),
            ..Default::default()
        });
        let e = Environment::resolve("prod", &cfg);
        assert_eq!(e.database().unwrap().socket, None);
        let socket = stack.join("mysql/tmp/mysql.sock");
        std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
        std::fs::write(&socket, b"").unwrap();
        assert_eq!(e.database().unwrap().socket, Some(socket));
        if let Some(o) = cfg.database.as_mut() {
            o.host = Some("127.0.0.1".into());
        }
        let tcp = Environment::resolve("prod", &cfg);
        assert_eq!(tcp.database().unwrap().socket, None);
    }

    // Guards the override: it stands in for a db.php that cannot be read.
    #[test]
    fn override_stands_in_for_an_unreadable_db_php() {
        let mut cfg = EnvironmentConfig::at("/nonexistent/prod", None);
        cfg.database = Some(DatabaseOverride {
            name: Some("gestion".into()),
            user: Some("app".into()),
            password: Some(Secret::new("pw")),
            ..Default::default()
        });
        let e = Environment::resolve("prod", &cfg);
        let db = e.database().unwrap();
        assert_eq!(db.name.as_deref(), Some("gestion"));
        assert_eq!(db.password.unwrap().expose(), "pw");
        let bare = Environment::resolve("prod", &EnvironmentConfig::at("/nonexistent/prod", None));
        assert!(bare.database().is_err());
    }
}
