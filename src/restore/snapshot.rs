//! Step 3 of a restore: the safety snapshot of the target's database, and the way back to it.
//!
//! The seed procedure simply drops every table before importing; Secours keeps the replaced database
//! until the restore has succeeded, in one of two forms:
//! - **Set aside** (when the target's database user may create a database, as the usual `root` or
//!   all-privileges user of a mamstack may): the views, triggers, procedures, functions and events are
//!   written to `<work>/definitions.gz`, then every table moves — rows, indexes and foreign keys — into a
//!   side database `<database>_prev_<stamp>` with one atomic `RENAME TABLE`. It takes a second whatever
//!   the size, where a dump reads and compresses every row (the slowest part of a restore after the
//!   import itself). Putting it back is the same rename the other way, then the definitions again.
//! - **Dump** (otherwise): the caller writes `<work>/database.gz` with the dumper and re-imports it to
//!   roll back.
//!
//! Guarantees of the set-aside form:
//! - `<work>/database.schema` (the side database's name and the number of tables moved) is written and
//!   synced after the definitions and before anything changes, so after a crash at any point
//!   [`put_back`] and [`set_aside`] (on `--resume`) know where everything is. Both are idempotent.
//! - The rename of all tables is one statement: the tables are all in the target or all in the side
//!   database, never split.
//! - The side database is only ever dropped once it holds no table, or by [`discard`] when the kept
//!   previous state expires. It is always one this restore created: a name already taken gets a suffix.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use mysql::Conn;
use mysql::prelude::Queryable;

use crate::db::connect::{ConnectError, connect};
use crate::db::drop_all::{drop_all, drop_definitions, table_names, tables_in};
use crate::db::dumper::{DumpError, dump_definitions};
use crate::db::importer::{ImportError, ImportOptions, import_dump};
use crate::db::{DbError, current_database, query_strings, quote_ident, quote_str};
use crate::env::dbphp::DbSettings;
use crate::progress::{Cancel, Progress};

/// Names the side database and how many tables went there.
pub const SCHEMA_FILE: &str = "database.schema";
/// The views, triggers, routines and events of the replaced database.
pub const DEFINITIONS_FILE: &str = "definitions.gz";

/// Why the snapshot or its way back failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Dump(#[from] DumpError),
    #[error("putting the views, triggers, routines and events back failed: {0}")]
    Definitions(#[from] ImportError),
    #[error("cannot write '{path}': {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("'{path}' is not a safety record written by Secours (expected the side database's name and a count)")]
    Record { path: PathBuf },
}

/// What [`set_aside`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// The side database holding the replaced tables.
    pub schema: String,
    pub tables: usize,
}

/// The side database's name for a restore whose work folder is `work` (named by its time): at most 64
/// characters, as the server allows.
pub fn side_schema_name(database: &str, work: &Path) -> String {
    let stamp: String = work
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let base: String = database.chars().take(64 - 6 - stamp.chars().count().min(40)).collect();
    let stamp: String = stamp.chars().take(40).collect();
    format!("{base}_prev_{stamp}")
}

/// The record of a set-aside snapshot: side database and number of tables moved.
fn read_record(work: &Path) -> Result<Option<(String, usize)>, SnapshotError> {
    let path = work.join(SCHEMA_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SnapshotError::Io { path, source }),
    };
    let mut lines = text.lines();
    match (lines.next(), lines.next().and_then(|n| n.trim().parse().ok())) {
        (Some(name), Some(count)) if !name.is_empty() => Ok(Some((name.to_owned(), count))),
        _ => Err(SnapshotError::Record { path }),
    }
}

fn write_record(work: &Path, schema: &str, tables: usize) -> Result<(), SnapshotError> {
    let path = work.join(SCHEMA_FILE);
    let io_err = |source| SnapshotError::Io {
        path: path.clone(),
        source,
    };
    // Written whole under another name, then renamed: a crash (kill -9 in the middle of the snapshot) leaves
    // either no record or a complete one, never a half-written file that makes the rollback refuse it.
    let tmp = work.join(format!("{SCHEMA_FILE}.tmp"));
    let mut f = crate::env::secret::create_private(&tmp).map_err(io_err)?;
    write!(f, "{schema}\n{tables}\n").map_err(io_err)?;
    f.sync_all().map_err(io_err)?;
    fs::rename(&tmp, &path).map_err(io_err)?;
    crate::files::durable::sync_dir(work).map_err(io_err)
}

/// Whether the server refused for lack of privilege (then the dump form is used).
pub(crate) fn is_denied(e: &mysql::Error) -> bool {
    // ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR
    matches!(e, mysql::Error::MySqlError(e) if matches!(e.code, 1044 | 1045 | 1142 | 1227))
}

pub(crate) fn schema_exists(conn: &mut Conn, schema: &str) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
        quote_str(schema)
    );
    let rows = query_strings(conn, &sql, &format!("look for the database '{schema}'"))?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .is_some_and(|n| n != "0"))
}

/// One `RENAME TABLE` moving every table of `names` from database `from` to database `to`.
pub(crate) fn rename_all(conn: &mut Conn, names: &[String], from: &str, to: &str) -> Result<(), DbError> {
    if names.is_empty() {
        return Ok(());
    }
    let pairs: Vec<String> = names
        .iter()
        .map(|t| {
            format!(
                "{}.{} TO {}.{}",
                quote_ident(from),
                quote_ident(t),
                quote_ident(to),
                quote_ident(t)
            )
        })
        .collect();
    conn.query_drop(format!("RENAME TABLE {}", pairs.join(", ")))
        .map_err(DbError::query(format!("move the tables of '{from}' to '{to}'")))
}

/// Creates database `schema` (if it does not exist) with the character set and collation of the
/// connection's current database (CREATE DATABASE takes names, not variables). The inner `Err` is the
/// server's refusal, for the caller to judge ([`is_denied`]); the outer one a failure to read the defaults.
pub(crate) fn create_beside(conn: &mut Conn, schema: &str) -> Result<Result<(), mysql::Error>, DbError> {
    let defaults = query_strings(
        conn,
        "SELECT @@character_set_database, @@collation_database",
        "read the database's character set",
    )?;
    let word = |i: usize| {
        defaults
            .first()
            .and_then(|r| r.get(i).cloned().flatten())
            .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    };
    let mut create = format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(schema));
    if let (Some(charset), Some(collation)) = (word(0), word(1)) {
        create.push_str(&format!(" CHARACTER SET {charset} COLLATE {collation}"));
    }
    Ok(conn.query_drop(&create))
}

/// Sets the target's database aside (see the module documentation). `Ok(None)`: its user may not create
/// a database, nothing was changed, and the caller dumps instead. Resumes a set-aside a crash interrupted.
pub fn set_aside(
    settings: &DbSettings,
    work: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Option<SetAside>, SnapshotError> {
    let mut conn = connect(settings)?;
    let database = current_database(&mut conn, "set the database aside")?;
    let (schema, count) = match read_record(work)? {
        Some(record) => record,
        None => {
            // The definitions first: once the record exists, a crash may have dropped them.
            let mut dump_conn = connect(settings)?;
            dump_definitions(&mut dump_conn, &work.join(DEFINITIONS_FILE), progress, cancel)?;
            // Only ever a database this restore creates: a name already taken (by anyone) gets another.
            let base = side_schema_name(&database, work);
            let mut schema = base.clone();
            let mut n = 2;
            while schema_exists(&mut conn, &schema)? {
                let suffix = format!("_{n}");
                let keep = base.chars().count().min(64 - suffix.len());
                schema = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
                n += 1;
            }
            let count = table_names(&mut conn)?.len();
            write_record(work, &schema, count)?;
            (schema, count)
        }
    };
    if let Err(e) = create_beside(&mut conn, &schema)? {
        if is_denied(&e) && !schema_exists(&mut conn, &schema)? {
            let _ = fs::remove_file(work.join(SCHEMA_FILE));
            let _ = fs::remove_file(work.join(DEFINITIONS_FILE));
            log::info!("cannot create a side database ({e}); the safety snapshot will be a dump");
            return Ok(None);
        }
        return Err(DbError::Query {
            step: format!("create the side database '{schema}'"),
            source: e,
        }
        .into());
    }
    if tables_in(&mut conn, &schema)?.len() < count || count == 0 {
        // Triggers cannot move to another database with their table; they are in the definitions.
        drop_definitions(&mut conn)?;
        let names = table_names(&mut conn)?;
        rename_all(&mut conn, &names, &database, &schema)?;
    }
    Ok(Some(SetAside { schema, tables: count }))
}

/// Puts a set-aside database back in place of whatever the target's database holds now; `Ok(false)` when
/// the snapshot of `work` is not of that form. `touched`: the import may have run (it started).
pub fn put_back(settings: &DbSettings, work: &Path, touched: bool) -> Result<bool, SnapshotError> {
    let Some((schema, count)) = read_record(work)? else {
        return Ok(false);
    };
    let mut conn = connect(settings)?;
    let database = current_database(&mut conn, "put the database back")?;
    let exists = schema_exists(&mut conn, &schema)?;
    let aside = if exists {
        tables_in(&mut conn, &schema)?
    } else {
        Vec::new()
    };
    if !aside.is_empty() {
        // The tables are in the side database: whatever the target holds now is the restore's.
        drop_all(&mut conn)?;
        rename_all(&mut conn, &aside, &schema, &database)?;
    } else if count == 0 && touched {
        // The target had no table: every table there now is the restore's.
        drop_all(&mut conn)?;
    }
    // The tables are the old ones now (never moved, or moved back): recreate what went with them.
    recreate_definitions(settings, &mut conn, &work.join(DEFINITIONS_FILE))?;
    if exists {
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&schema)))
            .map_err(DbError::query(format!("drop the emptied side database '{schema}'")))?;
    }
    Ok(true)
}

/// Replaces the views, triggers, routines and events of the database `conn` is on by those of the
/// definitions dump `definitions` (nothing more when there is none), over the tables it holds; the
/// DEFINERs become its user's where it may not set others. Idempotent.
pub(crate) fn recreate_definitions(
    settings: &DbSettings,
    conn: &mut Conn,
    definitions: &Path,
) -> Result<(), SnapshotError> {
    drop_definitions(conn)?;
    if definitions.is_file() {
        let options = ImportOptions {
            rewrite_definers: true,
            connections: 1,
            keep_existing: true,
            ..ImportOptions::default()
        };
        import_dump(
            settings,
            definitions,
            &options,
            &crate::progress::Silent,
            &Cancel::new(),
        )?;
    }
    Ok(())
}

/// Drops the side database of an expired previous state `work` (nothing when it has none).
pub fn discard(settings: &DbSettings, work: &Path) -> Result<(), SnapshotError> {
    let Some((schema, _)) = read_record(work)? else {
        return Ok(());
    };
    let mut conn = connect(settings)?;
    let database = current_database(&mut conn, "drop an old side database")?;
    if schema == database {
        // Never the live database, whatever the record says.
        return Err(SnapshotError::Record {
            path: work.join(SCHEMA_FILE),
        });
    }
    conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&schema)))
        .map_err(DbError::query(format!("drop the old side database '{schema}'")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the record against a kill in the middle of writing it (a flaky kill -9 test found a half-written
    // record that made the rollback refuse): written by rename, and a leftover temporary file is no record.
    #[test]
    fn the_record_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(format!("{SCHEMA_FILE}.tmp")), b"half").unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), None);
        write_record(dir.path(), "db_prev_x", 3).unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), Some(("db_prev_x".to_owned(), 3)));
        assert!(!dir.path().join(format!("{SCHEMA_FILE}.tmp")).exists());
    }

    // Guards the server's 64-character limit on database names, and that a name is tied to its restore.
    #[test]
    fn side_names_fit_the_server_and_follow_the_work_folder() {
        let work = Path::new("/x/.secours-previous/2026-11-25_221900-2");
        assert_eq!(side_schema_name("app", work), "app_prev_2026_11_25_221900_2");
        let long = "d".repeat(64);
        let name = side_schema_name(&long, work);
        assert!(name.chars().count() <= 64, "{name}");
        assert!(name.ends_with("_prev_2026_11_25_221900_2"), "{name}");
    }

    #[test]
    fn the_record_is_read_back_and_a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), None);
        write_record(dir.path(), "app_prev_x", 12).unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), Some(("app_prev_x".to_owned(), 12)));
        fs::write(dir.path().join(SCHEMA_FILE), "garbage").unwrap();
        assert!(matches!(read_record(dir.path()), Err(SnapshotError::Record { .. })));
    }
}
