//! The database engine: connecting to MySQL/MariaDB the way the web application does, emptying a
//! database, reading a mysqldump stream into statements (`reader`), deciding which of them stay inside
//! the target database (`containment`), and dumping one to a mysqldump-format `.gz` file.
//!
//! Guarantees shared by the submodules: every identifier sent to the server goes through
//! [`quote_ident`] (backticks doubled), passwords never appear in errors or logs, and row data is
//! handled as bytes (never assumed to be UTF-8).
//!
//! May use: [`crate::env`] (the connection settings, secrets), [`crate::platform`] and the ground modules.

pub mod connect;
pub mod containment;
pub mod drop_all;
pub mod dumper;
pub mod gzpipe;
pub mod importer;
pub mod reader;

use mysql::Conn;
use mysql::prelude::Queryable;

/// A statement the server refused or a reply Secours could not read.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "the database server refused to {step}: {source}. Check that the MySQL user from db.php has all privileges on the database."
    )]
    Query {
        /// What Secours was doing, e.g. "list the tables of 'shop'".
        step: String,
        #[source]
        source: mysql::Error,
    },
    #[error(
        "the connection has no current database while trying to {step}. Check that db.php names the database (dbname=…)."
    )]
    NoDatabase { step: String },
    #[error(
        "the server sent an unreadable value while trying to {step}: {detail}. Report this to the Secours maintainers."
    )]
    Unreadable { step: String, detail: String },
}

impl DbError {
    pub(crate) fn query(step: impl Into<String>) -> impl FnOnce(mysql::Error) -> DbError {
        let step = step.into();
        move |source| DbError::Query { step, source }
    }
}

/// Quotes an identifier for MySQL: wrapped in backticks, with every backtick doubled. Safe for any
/// name (spaces, unicode, backticks).
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// Quotes a string literal the way `mysql_real_escape_string` does (for `SET sql_mode = '…'` etc.).
pub fn quote_str(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    escape_bytes_into(value.as_bytes(), &mut out);
    out.push(b'\'');
    // Escaping only inserts ASCII bytes before ASCII bytes, so valid UTF-8 stays valid.
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends `bytes` escaped exactly like `mysql_real_escape_string` (and so like mysqldump):
/// NUL, `\n`, `\r`, `\\`, `'`, `"` and Ctrl-Z get a backslash; every other byte is copied as is.
pub fn escape_bytes_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            0 => out.extend_from_slice(b"\\0"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'"' => out.extend_from_slice(b"\\\""),
            0x1a => out.extend_from_slice(b"\\Z"),
            _ => out.push(b),
        }
    }
}

/// The connection's current database (`SELECT DATABASE()`), or [`DbError::NoDatabase`].
pub fn current_database(conn: &mut Conn, step: &str) -> Result<String, DbError> {
    let name: Option<Option<String>> = conn
        .query_first("SELECT DATABASE()")
        .map_err(DbError::query(format!("read the current database to {step}")))?;
    name.flatten()
        .ok_or_else(|| DbError::NoDatabase { step: step.to_owned() })
}

/// Runs `sql` and returns the rows as strings (NULL becomes `None`); for small metadata queries.
pub(crate) fn query_strings(conn: &mut Conn, sql: &str, step: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
    let rows: Vec<mysql::Row> = conn.query(sql).map_err(DbError::query(step))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = Vec::with_capacity(row.len());
        for value in row.unwrap() {
            cells.push(value_to_string(value, step)?);
        }
        out.push(cells);
    }
    Ok(out)
}

fn value_to_string(value: mysql::Value, step: &str) -> Result<Option<String>, DbError> {
    use mysql::Value;
    match value {
        Value::NULL => Ok(None),
        Value::Bytes(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| DbError::Unreadable {
            step: step.to_owned(),
            detail: format!("text is not UTF-8 ({e})"),
        }),
        Value::Int(i) => Ok(Some(i.to_string())),
        Value::UInt(u) => Ok(Some(u.to_string())),
        other => Ok(Some(other.as_sql(true).trim_matches('\'').to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards: names with backticks, spaces and unicode must round-trip through quoting.
    #[test]
    fn quote_ident_doubles_backticks() {
        assert_eq!(quote_ident("plain"), "`plain`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("``"), "``````");
        assert_eq!(quote_ident("naïve table 🚀"), "`naïve table 🚀`");
    }

    #[test]
    fn escaping_matches_mysql_real_escape_string() {
        let mut out = Vec::new();
        escape_bytes_into(b"\0\n\r\\'\"\x1aok\xff", &mut out);
        assert_eq!(out, b"\\0\\n\\r\\\\\\'\\\"\\Zok\xff");
        assert_eq!(quote_str("a'b"), "'a\\'b'");
    }
}
