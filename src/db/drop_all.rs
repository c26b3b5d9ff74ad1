//! Emptying the connection's current database before a restore: every view, table (with its
//! triggers), stored procedure, stored function and event is dropped.
//!
//! Guarantees: only objects of the current database are touched; the database itself and its
//! grants remain; names are read from `information_schema` and quoted with
//! [`quote_ident`](super::quote_ident), so any name works; running it twice is harmless.

use mysql::Conn;
use mysql::prelude::Queryable;

use super::{DbError, current_database, query_strings, quote_ident, quote_str};

/// How many objects [`drop_all`] dropped, or [`object_counts`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DropSummary {
    pub views: usize,
    pub tables: usize,
    pub procedures: usize,
    pub functions: usize,
    pub events: usize,
}

impl DropSummary {
    pub fn total(&self) -> usize {
        self.views + self.tables + self.procedures + self.functions + self.events
    }
}

/// How many objects of each kind the current database holds (triggers go with their tables).
pub type ObjectCounts = DropSummary;

/// Names per kind in the current database.
struct Objects {
    views: Vec<String>,
    tables: Vec<String>,
    procedures: Vec<String>,
    functions: Vec<String>,
    /// Other routine kinds (MariaDB packages): `(type, name)`.
    other_routines: Vec<(String, String)>,
    events: Vec<String>,
}

fn list(conn: &mut Conn, database: &str) -> Result<Objects, DbError> {
    let step = format!("list the objects of database '{database}'");
    let mut objects = Objects {
        views: Vec::new(),
        tables: Vec::new(),
        procedures: Vec::new(),
        functions: Vec::new(),
        other_routines: Vec::new(),
        events: Vec::new(),
    };
    for row in query_strings(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
        &step,
    )? {
        let (Some(Some(name)), kind) = (row.first().cloned(), row.get(1).cloned().flatten()) else {
            continue;
        };
        if kind.as_deref() == Some("VIEW") {
            objects.views.push(name);
        } else {
            // BASE TABLE, SEQUENCE, SYSTEM VERSIONED: all go with DROP TABLE.
            objects.tables.push(name);
        }
    }
    for row in query_strings(
        conn,
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME",
        &step,
    )? {
        let (Some(Some(kind)), Some(Some(name))) = (row.first().cloned(), row.get(1).cloned()) else {
            continue;
        };
        match kind.as_str() {
            "PROCEDURE" => objects.procedures.push(name),
            "FUNCTION" => objects.functions.push(name),
            _ => objects.other_routines.push((kind, name)),
        }
    }
    for row in query_strings(
        conn,
        "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME",
        &step,
    )? {
        if let Some(Some(name)) = row.into_iter().next() {
            objects.events.push(name);
        }
    }
    Ok(objects)
}

/// Counts the objects of the connection's current database.
pub fn object_counts(conn: &mut Conn) -> Result<ObjectCounts, DbError> {
    let database = current_database(conn, "count the database's objects")?;
    let o = list(conn, &database)?;
    Ok(DropSummary {
        views: o.views.len(),
        tables: o.tables.len(),
        procedures: o.procedures.len(),
        functions: o.functions.len() + o.other_routines.len(),
        events: o.events.len(),
    })
}

/// Whether the current database holds no table, view, routine or event.
pub fn is_empty(conn: &mut Conn) -> Result<bool, DbError> {
    Ok(object_counts(conn)?.total() == 0)
}

/// Names per `DROP` statement: keeps statements far below any `max_allowed_packet`.
const BATCH: usize = 100;

/// The tables of the connection's current database (base tables, sequences: everything but views).
pub fn table_names(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    let database = current_database(conn, "list the tables")?;
    tables_in(conn, &database)
}

/// The tables (anything but views: base tables, sequences, system-versioned) of database `schema`, by name.
pub fn tables_in(conn: &mut Conn, schema: &str) -> Result<Vec<String>, DbError> {
    let sql = format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME",
        quote_str(schema)
    );
    let rows = query_strings(conn, &sql, &format!("list the tables of '{schema}'"))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}

/// Drops every view, table, procedure, function and event of the connection's current database.
pub fn drop_all(conn: &mut Conn) -> Result<DropSummary, DbError> {
    drop_objects(conn, true)
}

/// Drops every view, trigger, procedure, function and event of the connection's current database, and
/// keeps its tables and their rows.
pub fn drop_definitions(conn: &mut Conn) -> Result<DropSummary, DbError> {
    let database = current_database(conn, "drop the triggers")?;
    let triggers = query_strings(
        conn,
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        &format!("list the triggers of '{database}'"),
    )?;
    for name in triggers.into_iter().filter_map(|row| row.into_iter().next().flatten()) {
        let sql = format!("DROP TRIGGER IF EXISTS {}", quote_ident(&name));
        conn.query_drop(&sql)
            .map_err(DbError::query(format!("drop trigger '{name}'")))?;
    }
    drop_objects(conn, false)
}

fn drop_objects(conn: &mut Conn, with_tables: bool) -> Result<DropSummary, DbError> {
    let database = current_database(conn, "empty the database")?;
    let mut o = list(conn, &database)?;
    if !with_tables {
        o.tables.clear();
    }

    // Views first: they may refer to tables and to each other; DROP VIEW does not care about order.
    for chunk in o.views.chunks(BATCH) {
        let names: Vec<String> = chunk.iter().map(|n| quote_ident(n)).collect();
        let sql = format!("DROP VIEW IF EXISTS {}", names.join(", "));
        conn.query_drop(&sql)
            .map_err(DbError::query(format!("drop the views of '{database}'")))?;
    }

    // Tables reference each other through foreign keys: switch checks off for this session only.
    if !o.tables.is_empty() {
        conn.query_drop("SET FOREIGN_KEY_CHECKS = 0")
            .map_err(DbError::query("switch foreign key checks off"))?;
        let mut result = Ok(());
        for chunk in o.tables.chunks(BATCH) {
            let names: Vec<String> = chunk.iter().map(|n| quote_ident(n)).collect();
            let sql = format!("DROP TABLE IF EXISTS {}", names.join(", "));
            if let Err(e) = conn.query_drop(&sql) {
                result = Err(DbError::Query {
                    step: format!("drop the tables of '{database}'"),
                    source: e,
                });
                break;
            }
        }
        let restored = conn
            .query_drop("SET FOREIGN_KEY_CHECKS = 1")
            .map_err(DbError::query("switch foreign key checks back on"));
        result?;
        restored?;
    }

    for name in &o.procedures {
        let sql = format!("DROP PROCEDURE IF EXISTS {}", quote_ident(name));
        conn.query_drop(&sql)
            .map_err(DbError::query(format!("drop procedure '{name}'")))?;
    }
    for name in &o.functions {
        let sql = format!("DROP FUNCTION IF EXISTS {}", quote_ident(name));
        conn.query_drop(&sql)
            .map_err(DbError::query(format!("drop function '{name}'")))?;
    }
    // MariaDB packages: bodies before specifications.
    let mut others = o.other_routines.clone();
    others.sort_by_key(|(kind, _)| if kind.contains("BODY") { 0 } else { 1 });
    for (kind, name) in &others {
        if kind.bytes().all(|b| b.is_ascii_uppercase() || b == b' ') {
            let sql = format!("DROP {kind} IF EXISTS {}", quote_ident(name));
            conn.query_drop(&sql)
                .map_err(DbError::query(format!("drop {} '{name}'", kind.to_lowercase())))?;
        }
    }
    for name in &o.events {
        let sql = format!("DROP EVENT IF EXISTS {}", quote_ident(name));
        conn.query_drop(&sql)
            .map_err(DbError::query(format!("drop event '{name}'")))?;
    }

    Ok(DropSummary {
        views: o.views.len(),
        tables: o.tables.len(),
        procedures: o.procedures.len(),
        functions: o.functions.len() + others.len(),
        events: o.events.len(),
    })
}
