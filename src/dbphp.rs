//! Reading an environment's `config/db.php` without running PHP.
//!
//! (The parser is being written; this file fixes the types the rest of Secours uses.)

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::secret::Secret;

/// The MySQL connection an environment's application uses, as far as its `db.php` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbSettings {
    /// `host=` of the DSN.
    pub host: Option<String>,
    /// `port=` of the DSN.
    pub port: Option<u16>,
    /// `unix_socket=` of the DSN.
    pub socket: Option<PathBuf>,
    /// `dbname=` of the DSN.
    pub name: Option<String>,
    /// `username`.
    pub user: Option<String>,
    /// `password` (never printed).
    pub password: Option<Secret>,
    /// `charset` of the connection array, else of the DSN.
    pub charset: Option<String>,
}

/// Why a `db.php` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DbPhpError {
    #[error("cannot read '{path}': {source}. Check that the file exists and that Secours may read it.")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("'{path}': the db.php parser is not available in this build.")]
    Unsupported { path: PathBuf },
}

/// Reads and parses a `db.php` file.
pub fn read_db_php(path: &Path) -> Result<DbSettings, DbPhpError> {
    let bytes = std::fs::read(path).map_err(|source| DbPhpError::Io { path: path.to_owned(), source })?;
    parse_db_php(path, &String::from_utf8_lossy(&bytes))
}

/// Parses the text of a `db.php`; `path` is only used in messages.
pub fn parse_db_php(path: &Path, _text: &str) -> Result<DbSettings, DbPhpError> {
    Err(DbPhpError::Unsupported { path: path.to_owned() })
}
