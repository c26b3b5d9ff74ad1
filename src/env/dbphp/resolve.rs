//! From the value tree to [`DbSettings`](super::DbSettings): the DSN's parts, `username`, `password`, `charset`, Yii 2 and Yii 1.1 shapes.

use super::value::{Entry, Node, Value, lookup};
use super::{DbPhpError, DbSettings};
use crate::env::secret::Secret;
use std::path::{Path, PathBuf};

/// The parts of a MySQL DSN Secours uses.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Dsn {
    pub(super) host: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) socket: Option<String>,
    pub(super) name: Option<String>,
    pub(super) charset: Option<String>,
}

#[derive(Debug, PartialEq)]
pub(super) enum DsnError {
    Driver(String),
    Malformed(String),
}

/// Parses `mysql:host=…;port=…;dbname=…;unix_socket=…;charset=…`; unknown keys are ignored, the last of
/// duplicate keys wins, whitespace around keys and values is tolerated.
pub(super) fn parse_dsn(dsn: &str) -> Result<Dsn, DsnError> {
    let Some((driver, rest)) = dsn.split_once(':') else {
        return Err(DsnError::Malformed("it has no driver prefix such as 'mysql:'".into()));
    };
    let driver = driver.trim();
    if driver.is_empty() || driver.contains('=') || driver.contains(';') {
        return Err(DsnError::Malformed("it has no driver prefix such as 'mysql:'".into()));
    }
    if !driver.eq_ignore_ascii_case("mysql") {
        return Err(DsnError::Driver(driver.to_owned()));
    }
    let mut out = Dsn::default();
    for part in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(DsnError::Malformed(format!("the part '{part}' has no '='")));
        };
        let value = value.trim();
        let value = (!value.is_empty()).then(|| value.to_owned());
        match key.trim().to_ascii_lowercase().as_str() {
            "host" => out.host = value,
            "dbname" => out.name = value,
            "unix_socket" => out.socket = value,
            "charset" => out.charset = value,
            "port" => {
                out.port = match value {
                    None => None,
                    Some(v) => match v.parse::<u16>() {
                        Ok(p) if p > 0 => Some(p),
                        _ => {
                            return Err(DsnError::Malformed(format!(
                                "port '{v}' is not a number from 1 to 65535"
                            )));
                        }
                    },
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Finds the `db` connection in the returned value and reads the settings out of it.
pub(super) fn resolve(path: &Path, root: &Node) -> Result<DbSettings, DbPhpError> {
    let p = || path.to_owned();
    let computed = |node: &Node, what: &str| match &node.value {
        Value::Computed { construct, line } => Some(DbPhpError::Computed {
            path: p(),
            line: *line,
            what: what.to_owned(),
            construct: construct.clone(),
        }),
        _ => None,
    };
    let top = match &root.value {
        Value::Array(entries) => entries,
        other => {
            return Err(
                computed(root, "the value db.php returns").unwrap_or(DbPhpError::NotAnArray {
                    path: p(),
                    line: root.line,
                    what: "the value db.php returns".into(),
                    found: other.kind(),
                }),
            );
        }
    };

    let is_connection = |entries: &[Entry]| {
        lookup(entries, "dsn").is_some()
            || lookup(entries, "connectionString").is_some()
            || (lookup(entries, "class").is_some()
                && lookup(entries, "components").is_none()
                && lookup(entries, "db").is_none())
    };
    let components = lookup(top, "components");
    let db_in_components = match components.map(|c| &c.value) {
        Some(Value::Array(c)) => lookup(c, "db"),
        _ => None,
    };
    let (conn_node, what) = if is_connection(top) {
        (root, "the returned connection")
    } else if let Some(db) = db_in_components {
        (db, "the 'db' component")
    } else if let Some(db) = lookup(top, "db") {
        (db, "the 'db' entry")
    } else {
        let (line, detail) = match components {
            Some(c) if matches!(c.value, Value::Array(_)) => (
                c.line,
                "'components' has no 'db' entry, so the application has no database connection".into(),
            ),
            Some(c) => {
                return Err(computed(c, "'components'").unwrap_or(DbPhpError::NotAnArray {
                    path: p(),
                    line: c.line,
                    what: "'components'".into(),
                    found: c.value.kind(),
                }));
            }
            None => (
                root.line,
                "the returned array holds no database connection: no 'dsn' or 'connectionString', and no 'db' \
                 entry (at the top or under 'components')"
                    .to_owned(),
            ),
        };
        return Err(DbPhpError::NoConnection {
            path: p(),
            line,
            detail,
        });
    };
    let conn = match &conn_node.value {
        Value::Array(entries) => entries,
        Value::Null => {
            return Err(DbPhpError::NoConnection {
                path: p(),
                line: conn_node.line,
                detail: format!("{what} is null"),
            });
        }
        other => {
            return Err(computed(conn_node, what).unwrap_or(DbPhpError::NotAnArray {
                path: p(),
                line: conn_node.line,
                what: what.to_owned(),
                found: other.kind(),
            }));
        }
    };

    // A needed string: absent or null is `None`; numbers become strings as PHP would cast them.
    let string = |key: &str| -> Result<Option<(String, usize)>, DbPhpError> {
        let Some(node) = lookup(conn, key) else {
            return Ok(None);
        };
        let what = format!("the connection's '{key}'");
        match &node.value {
            Value::Str(s) => Ok(Some((s.clone(), node.line))),
            Value::Int(n) => Ok(Some((n.to_string(), node.line))),
            Value::Float(f) => Ok(Some((f.to_string(), node.line))),
            Value::Null => Ok(None),
            Value::Computed { construct, line } => Err(DbPhpError::Computed {
                path: p(),
                line: *line,
                what,
                construct: construct.clone(),
            }),
            other => Err(DbPhpError::NotAString {
                path: p(),
                line: node.line,
                what,
                found: other.kind(),
            }),
        }
    };

    let dsn_key = if lookup(conn, "dsn").is_some() {
        "dsn"
    } else {
        "connectionString"
    };
    let Some((dsn_text, dsn_line)) = string(dsn_key)? else {
        return Err(DbPhpError::MissingDsn {
            path: p(),
            line: conn_node.line,
        });
    };
    let dsn = parse_dsn(&dsn_text).map_err(|e| match e {
        DsnError::Driver(driver) => DbPhpError::UnsupportedDriver {
            path: p(),
            line: dsn_line,
            driver,
        },
        DsnError::Malformed(problem) => DbPhpError::BadDsn {
            path: p(),
            line: dsn_line,
            problem,
        },
    })?;
    let user = string("username")?.map(|(s, _)| s);
    let password = string("password")?.map(|(s, _)| Secret::new(s));
    // The charset is not needed to restore (dumps carry `SET NAMES`), so a computed one only falls back to
    // the DSN's instead of failing.
    let charset = match lookup(conn, "charset").map(|n| &n.value) {
        Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
        _ => dsn.charset,
    };
    Ok(DbSettings {
        host: dsn.host,
        port: dsn.port,
        socket: dsn.socket.map(PathBuf::from),
        name: dsn.name,
        user,
        password,
        charset,
    })
}
