//! Opening a MySQL connection from an environment's `db.php` settings, the way PHP would.
//!
//! Rules (PHP's `pdo_mysql`): `host=localhost` (or no host) without an explicit port means the Unix
//! socket — the one `db.php` names, else the first that exists among well-known locations
//! ([`DEFAULT_SOCKETS`]); anything else is TCP `host:port` (port 3306 by default). The connection
//! character set is set with `SET NAMES` (utf8mb4 unless `db.php` says otherwise).
//!
//! Guarantees: errors name the host:port or socket path and the user and database, never the
//! password; the password is only read (via [`Secret::expose`]) where the connection is opened.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mysql::{Conn, OptsBuilder};

use super::{DbError, query_strings};
use crate::env::dbphp::DbSettings;
use crate::env::secret::Secret;

/// Where a local server's Unix socket usually is, in the order PHP setups on the office's machines
/// (mamstack/Bitnami on macOS, Homebrew, Debian) put it.
pub const DEFAULT_SOCKETS: &[&str] = &[
    "/tmp/mysql.sock",
    "/Applications/mampstack/mysql/tmp/mysql.sock",
    "/Applications/mamstack/mysql/tmp/mysql.sock",
    "/Application/mamstack/mysql/tmp/mysql.sock",
    "/Applications/MAMP/tmp/mysql/mysql.sock",
    "/var/run/mysqld/mysqld.sock",
    "/run/mysqld/mysqld.sock",
];

/// The default MySQL TCP port.
pub const DEFAULT_PORT: u16 = 3306;

/// The default connection character set.
pub const DEFAULT_CHARSET: &str = "utf8mb4";

/// How Secours reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Socket(PathBuf),
    Tcp { host: String, port: u16 },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Socket(path) => write!(f, "socket '{}'", path.display()),
            Endpoint::Tcp { host, port } => write!(f, "'{host}:{port}'"),
        }
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "cannot reach the MySQL server at {endpoint}{tried}: {source}. Start MySQL (on the Mac: open the mamstack manager and start MySQL) and check host/port/unix_socket in db.php."
    )]
    Unreachable {
        endpoint: Endpoint,
        /// `" (no socket found at …)"` when Secours looked for a local socket and found none.
        tried: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the MySQL server at {endpoint} refused user '{user}' for database '{database}' (access denied: {message}). Check username and password in db.php."
    )]
    AccessDenied {
        endpoint: Endpoint,
        user: String,
        database: String,
        message: String,
    },
    #[error(
        "the MySQL server at {endpoint} has no database '{database}'. Check dbname= in db.php, or create the database."
    )]
    UnknownDatabase { endpoint: Endpoint, database: String },
    #[error(
        "connection character set '{charset}' is not a valid MySQL character set name. Fix 'charset' in db.php (usually utf8mb4)."
    )]
    BadCharset { charset: String },
    #[error(
        "the MySQL server at {endpoint} rejected the connection for user '{user}' (error {code}: {message}). Check the server's log and db.php."
    )]
    Server {
        endpoint: Endpoint,
        user: String,
        code: u16,
        message: String,
    },
    #[error(
        "could not talk to the MySQL server at {endpoint}: {detail}. Check that it is a MySQL/MariaDB server and that it is running normally."
    )]
    Protocol { endpoint: Endpoint, detail: String },
}

/// Decides where to connect. `candidates` are the sockets to look for when `db.php` names none
/// (normally [`DEFAULT_SOCKETS`]); the first that exists wins. A local host with no socket found
/// falls back to TCP on 127.0.0.1.
pub fn endpoint(settings: &DbSettings, candidates: &[&Path]) -> Endpoint {
    let host = settings.host.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let local = host.is_none_or(|h| h.eq_ignore_ascii_case("localhost"));
    if local && settings.port.is_none() {
        if let Some(socket) = &settings.socket {
            return Endpoint::Socket(socket.clone());
        }
        if let Some(found) = candidates.iter().find(|p| p.exists()) {
            return Endpoint::Socket(found.to_path_buf());
        }
        return Endpoint::Tcp {
            host: "127.0.0.1".to_owned(),
            port: DEFAULT_PORT,
        };
    }
    Endpoint::Tcp {
        host: host.unwrap_or("127.0.0.1").to_owned(),
        port: settings.port.unwrap_or(DEFAULT_PORT),
    }
}

/// Opens a connection as [`connect_with`] does, looking for sockets in [`DEFAULT_SOCKETS`].
pub fn connect(settings: &DbSettings) -> Result<Conn, ConnectError> {
    let candidates: Vec<&Path> = DEFAULT_SOCKETS.iter().map(Path::new).collect();
    connect_with(settings, &candidates)
}

/// Opens a connection to `settings` (database selected when `name` is set), with the connection
/// character set applied. `candidates`: see [`endpoint`].
pub fn connect_with(settings: &DbSettings, candidates: &[&Path]) -> Result<Conn, ConnectError> {
    let endpoint = endpoint(settings, candidates);
    let charset = settings
        .charset
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(DEFAULT_CHARSET);
    if !charset.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(ConnectError::BadCharset {
            charset: charset.to_owned(),
        });
    }
    let user = settings.user.clone().unwrap_or_default();
    let database = settings.name.clone().unwrap_or_default();
    let mut opts = OptsBuilder::new()
        .user(Some(user.clone()))
        .pass(settings.password.as_ref().map(Secret::expose))
        .db_name(settings.name.clone())
        // Keep the endpoint we chose: the driver would otherwise switch TCP loopback to a socket.
        .prefer_socket(false)
        .tcp_connect_timeout(Some(Duration::from_secs(10)))
        .init(vec![format!("SET NAMES {charset}")]);
    opts = match &endpoint {
        Endpoint::Socket(path) => opts.socket(Some(path.to_string_lossy().into_owned())),
        Endpoint::Tcp { host, port } => opts.ip_or_hostname(Some(host.clone())).tcp_port(*port),
    };
    Conn::new(opts).map_err(|e| classify(e, &endpoint, candidates, settings, &user, &database))
}

fn classify(
    error: mysql::Error,
    endpoint: &Endpoint,
    candidates: &[&Path],
    settings: &DbSettings,
    user: &str,
    database: &str,
) -> ConnectError {
    let endpoint = endpoint.clone();
    match error {
        mysql::Error::IoError(source) => {
            let looked = matches!(endpoint, Endpoint::Tcp { .. })
                && settings.socket.is_none()
                && settings.port.is_none()
                && settings
                    .host
                    .as_deref()
                    .is_none_or(|h| h.trim().is_empty() || h.eq_ignore_ascii_case("localhost"));
            let tried = if looked && !candidates.is_empty() {
                let list: Vec<String> = candidates.iter().map(|p| format!("'{}'", p.display())).collect();
                format!(" (no socket found at {})", list.join(", "))
            } else {
                String::new()
            };
            ConnectError::Unreachable {
                endpoint,
                tried,
                source,
            }
        }
        mysql::Error::MySqlError(e) => match e.code {
            // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
            1045 | 1044 | 1698 => ConnectError::AccessDenied {
                endpoint,
                user: user.to_owned(),
                database: database.to_owned(),
                message: scrub(&e.message, settings),
            },
            1049 => ConnectError::UnknownDatabase {
                endpoint,
                database: database.to_owned(),
            },
            1115 => ConnectError::BadCharset {
                charset: settings.charset.clone().unwrap_or_default(),
            },
            code => ConnectError::Server {
                endpoint,
                user: user.to_owned(),
                code,
                message: scrub(&e.message, settings),
            },
        },
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((_, _, kind)))) => {
            ConnectError::Unreachable {
                endpoint,
                tried: String::new(),
                source: std::io::Error::from(kind),
            }
        }
        other => ConnectError::Protocol {
            endpoint,
            detail: scrub(&other.to_string(), settings),
        },
    }
}

/// Server messages never contain the password, but a belt-and-braces pass costs nothing.
fn scrub(message: &str, settings: &DbSettings) -> String {
    match settings.password.as_ref().map(Secret::expose) {
        Some(pw) if pw.len() >= 3 => message.replace(pw, "***"),
        _ => message.to_owned(),
    }
}

/// What preflight checks need to know about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `SELECT VERSION()`, e.g. "10.11.6-MariaDB-0+deb12u1".
    pub version: String,
    pub is_mariadb: bool,
    /// Bytes.
    pub max_allowed_packet: u64,
    /// `CURRENT_USER()`, e.g. "app@localhost".
    pub current_user: String,
    /// Whether the user may create views, triggers and routines with another user's DEFINER
    /// (`SUPER`, `SET USER`, `SET_USER_ID`, `SET_ANY_DEFINER` or `ALL PRIVILEGES` on `*.*`).
    pub has_super_or_set_user: bool,
}

/// Reads [`ServerInfo`] from an open connection.
pub fn server_info(conn: &mut Conn) -> Result<ServerInfo, DbError> {
    let step = "read the server version and privileges";
    let rows = query_strings(conn, "SELECT VERSION(), @@max_allowed_packet, CURRENT_USER()", step)?;
    let row = rows.into_iter().next().unwrap_or_default();
    let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let version = cell(0);
    let max_allowed_packet = cell(1).parse().unwrap_or(0);
    let current_user = cell(2);
    let grants: Vec<String> = query_strings(conn, "SHOW GRANTS", "list the user's privileges (SHOW GRANTS)")?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    Ok(ServerInfo {
        is_mariadb: version.to_ascii_lowercase().contains("mariadb"),
        version,
        max_allowed_packet,
        current_user,
        has_super_or_set_user: grants_allow_any_definer(&grants),
    })
}

/// Whether `SHOW GRANTS` lines give a global privilege that allows setting another DEFINER.
pub fn grants_allow_any_definer(lines: &[String]) -> bool {
    lines.iter().any(|line| {
        let upper = line.trim().to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("GRANT ") else {
            return false;
        };
        let Some(on) = rest.find(" ON ") else {
            return false;
        };
        let (privileges, target) = (&rest[..on], rest[on + 4..].trim_start());
        let global = target.starts_with("*.*") || target.starts_with("`*`.`*`");
        global
            && privileges.split(',').map(str::trim).any(|p| {
                matches!(
                    p,
                    "ALL" | "ALL PRIVILEGES" | "SUPER" | "SET USER" | "SET_USER_ID" | "SET_ANY_DEFINER"
                )
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: Option<&str>, port: Option<u16>, socket: Option<&str>) -> DbSettings {
        DbSettings {
            host: host.map(str::to_owned),
            port,
            socket: socket.map(PathBuf::from),
            ..DbSettings::default()
        }
    }

    // Guards the PHP rule: localhost without a port means the socket.
    #[test]
    fn localhost_prefers_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("mysql.sock");
        std::fs::write(&present, b"").unwrap();
        let missing = dir.path().join("missing.sock");
        let candidates = [missing.as_path(), present.as_path()];
        assert_eq!(
            endpoint(&settings(Some("localhost"), None, None), &candidates),
            Endpoint::Socket(present.clone())
        );
        assert_eq!(
            endpoint(&settings(None, None, None), &candidates),
            Endpoint::Socket(present.clone())
        );
        assert_eq!(
            endpoint(&settings(Some("localhost"), None, Some("/x/given.sock")), &candidates),
            Endpoint::Socket(PathBuf::from("/x/given.sock"))
        );
        assert_eq!(
            endpoint(&settings(Some("localhost"), None, None), &[missing.as_path()]),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 3306
            }
        );
    }

    #[test]
    fn explicit_port_or_remote_host_means_tcp() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("mysql.sock");
        std::fs::write(&present, b"").unwrap();
        let candidates = [present.as_path()];
        assert_eq!(
            endpoint(&settings(Some("localhost"), Some(3307), None), &candidates),
            Endpoint::Tcp {
                host: "localhost".into(),
                port: 3307
            }
        );
        assert_eq!(
            endpoint(&settings(Some("127.0.0.1"), None, None), &candidates),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 3306
            }
        );
        assert_eq!(
            endpoint(&settings(Some("db.example"), Some(3310), None), &candidates),
            Endpoint::Tcp {
                host: "db.example".into(),
                port: 3310
            }
        );
    }

    #[test]
    fn definer_privileges_are_recognised() {
        let g = |s: &str| vec![s.to_owned()];
        assert!(grants_allow_any_definer(&g(
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"
        )));
        assert!(grants_allow_any_definer(&g("GRANT SELECT, SUPER ON *.* TO `a`@`%`")));
        assert!(grants_allow_any_definer(&g("GRANT SELECT, SET USER ON *.* TO `a`@`%`")));
        assert!(grants_allow_any_definer(&g(
            "GRANT SET_USER_ID,SYSTEM_USER ON *.* TO `a`@`%`"
        )));
        assert!(!grants_allow_any_definer(&g(
            "GRANT ALL PRIVILEGES ON `shop`.* TO `a`@`%`"
        )));
        assert!(!grants_allow_any_definer(&g(
            "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '*AB'"
        )));
        assert!(!grants_allow_any_definer(&g("GRANT SYSTEM_USER ON *.* TO `a`@`%`")));
    }

    // Guards: a failed connection must never show the password.
    #[test]
    fn errors_never_show_the_password() {
        let s = DbSettings {
            host: Some("127.0.0.1".into()),
            port: Some(1),
            user: Some("app".into()),
            name: Some("shop".into()),
            password: Some(Secret::new("hunter2-secret")),
            ..DbSettings::default()
        };
        let e = classify(
            mysql::Error::MySqlError(mysql::MySqlError {
                state: "28000".into(),
                message: "Access denied for user 'app'@'localhost' hunter2-secret".into(),
                code: 1045,
            }),
            &endpoint(&s, &[]),
            &[],
            &s,
            "app",
            "shop",
        );
        let text = e.to_string();
        assert!(
            text.contains("'app'") && text.contains("'shop'") && text.contains("db.php"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
