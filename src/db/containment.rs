//! Containment: a dump changes the database it is restored into and nothing else on the server.
//!
//! [`decide`] is a pure function of one statement's bytes and of the dump's *own* database (the one its
//! first `DROP DATABASE`, `CREATE DATABASE`, `ALTER DATABASE` or `USE` names); [`follow`] applies it to a
//! dump statement after statement and learns the own database on the way. Each statement is:
//! - **run**;
//! - **skipped** ([`Decision::Skip`]): the dump's own `CREATE DATABASE`, `USE`, `DROP DATABASE` and
//!   `ALTER DATABASE` (`mysqldump --databases x --add-drop-database`, and the `ALTER DATABASE x CHARACTER
//!   SET …` mysqldump writes around routines whose database collation differs). Rows always go to the
//!   target database, whatever its name; a `DROP DATABASE` is never run; run as is, the `ALTER DATABASE`
//!   would change the other database (routines then keep the target's collation);
//! - **skipped** too ([`Decision::SkipGtidPurged`]): MySQL's `SET @@GLOBAL.GTID_PURGED=…` alone, which
//!   mysqldump writes by default from a server with GTIDs on. It is the source server's replication
//!   bookkeeping, not data; run, it would change the restoring server's replication state (or fail on
//!   MariaDB), and a backup must stay restorable when production is down and no new dump can be made;
//! - **refused** ([`Decision::Refuse`]) when it reaches outside the target, with a [`Refusal`] saying
//!   what it does and what to do:
//!   - `DROP/CREATE/ALTER DATABASE` (or `SCHEMA`) and `USE` of another database than the own one;
//!   - schema-qualified names (`db.t`) in object-name positions: `CREATE/DROP/ALTER/RENAME/TRUNCATE
//!     TABLE`, `INSERT/REPLACE [INTO]`, `UPDATE` and `DELETE` table references, `LOCK TABLES` lists,
//!     `REFERENCES db.t` in `CREATE/ALTER TABLE`, `ALTER TABLE … RENAME TO` / `EXCHANGE PARTITION … WITH
//!     TABLE`, names of views, triggers (and their `ON` table), procedures, functions, events, sequences
//!     and indexes' tables, `CALL db.p`, `OPTIMIZE/REPAIR/ANALYZE TABLE`. A qualifier naming another
//!     database is outside; one naming the dump's own database is refused too (with its own message),
//!     since the target has another name and the statement would change that database. It is not
//!     stripped: no dump tool writes such names, and a refusal cannot be wrong about what it changes;
//!   - accounts: `GRANT`, `REVOKE`, `CREATE/DROP/ALTER/RENAME USER`, `CREATE/DROP ROLE`, `SET PASSWORD`,
//!     `SET DEFAULT ROLE`;
//!   - the server: `SET GLOBAL x` / `SET @@GLOBAL.x` / `SET PERSIST[_ONLY]` (any assignment of a `SET`),
//!     `FLUSH`, `INSTALL/UNINSTALL PLUGIN` (and `COMPONENT`, `SONAME`), `CREATE FUNCTION … SONAME`,
//!     `SHUTDOWN`, `RESTART`, `RESET`, `PURGE`, `KILL`, `CLONE`, `BINLOG`, replication (`CHANGE MASTER`,
//!     `START/STOP SLAVE`), `CREATE/ALTER/DROP SERVER/TABLESPACE/LOGFILE GROUP/RESOURCE GROUP`;
//!   - files on the server: `LOAD DATA`, `LOAD XML`, `… INTO OUTFILE/DUMPFILE '…'`.
//!
//! Where statements are looked for: the statement itself, and every statement inside it — the bodies of
//! triggers, procedures, functions and events (they run later, in the target, and must not write
//! elsewhere either), MariaDB's `BEGIN NOT ATOMIC … END` blocks and `SET STATEMENT … FOR`, and anything
//! after a `;` inside a statement (under `DELIMITER ;;` one "statement" can hold several, and the
//! connection runs them all). A statement starts at the beginning, after `;`, `BEGIN`, `THEN`, `ELSE`,
//! `DO`, `LOOP`, `REPEAT`, `NOT ATOMIC`, `FOR EACH ROW [FOLLOWS|PRECEDES t]`, a `HANDLER FOR` condition
//! list, and after a routine's parameters and characteristics. Keywords are recognised outside strings,
//! comments and backquoted names, inside executable comments (`/*!40101 … */`, whatever their version)
//! and in any case, so `SET @saved_cs_client`, `'GRANT'`, `` `grant` `` or `-- DROP DATABASE` pass.
//!
//! Known limits, on purpose: bodies of views and routines that merely *read* `other.t` are left alone
//! (reads change nothing); calls of another database's *functions* inside expressions, dynamic SQL
//! (`PREPARE` / `EXECUTE IMMEDIATE` of a string built at run time) and `DATA DIRECTORY` table options
//! are not looked into. A qualifier is refused even when it happens to name the target database itself:
//! the verification, which says the same as the import, does not know the target. For speed, an
//! INSERT/REPLACE is only read up to its table name unless it holds a `;` outside its strings.

use serde::{Deserialize, Serialize};

use super::reader::{Head, Tok, is_kw, string_end};

/// What a refused statement would reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// Another database than the dump's own (`DROP DATABASE other`, `USE other`, `other.t`).
    OtherDatabase,
    /// The dump's own database written out in a name (`own.t`): it would change that database, which is
    /// not the one restored into.
    OwnDatabaseByName,
    /// Accounts and privileges (`GRANT`, `CREATE USER`, `SET PASSWORD`…).
    Accounts,
    /// The whole server (`SET GLOBAL`, `FLUSH`, plugins, `SHUTDOWN`, replication…).
    Server,
    /// Files on the database server (`LOAD DATA`, `INTO OUTFILE`).
    Files,
}

/// Why a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reach: Reach,
    /// The statement kind and what it names, e.g. `DROP DATABASE of 'other'`.
    pub what: String,
    /// What to do, one sentence or two.
    pub guidance: String,
}

/// What to do with one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run,
    /// The dump's own `CREATE/DROP/ALTER DATABASE` or `USE`, naming `database`: not sent.
    Skip {
        database: String,
    },
    /// mysqldump's `SET @@GLOBAL.GTID_PURGED=…`: the source server's replication bookkeeping, not sent.
    SkipGtidPurged,
    Refuse(Refusal),
}

/// [`decide`] for the next statement of a dump, where `own` is what the statements before named as the
/// dump's own database; learns it from the first one that names one. `delimiter_is_semicolon` (from
/// [`Statement`](super::reader::Statement)) spares looking for a `;` in the code of INSERTs, which a
/// statement ended by `;` cannot hold: most of a dump's bytes are rows.
pub fn follow(own: &mut Option<String>, bytes: &[u8], delimiter_is_semicolon: bool) -> Decision {
    let decision = decide_statement(bytes, own.as_deref(), delimiter_is_semicolon);
    if let Decision::Skip { database } = &decision
        && own.is_none()
    {
        *own = Some(database.clone());
    }
    decision
}

/// The decision for one statement (bytes as the reader emits them), given the dump's own database
/// (`None` while no statement named one). See the module documentation.
pub fn decide(bytes: &[u8], own: Option<&str>) -> Decision {
    decide_statement(bytes, own, false)
}

fn decide_statement(bytes: &[u8], own: Option<&str>, delimiter_is_semicolon: bool) -> Decision {
    let (one, body) = judge(Head::new(bytes), own);
    let decision = match one {
        One::Run => Decision::Run,
        One::GtidPurged => Decision::SkipGtidPurged,
        One::Refuse(r) => return Decision::Refuse(r),
        One::Database { verb, name } => match own {
            Some(o) if o != name => {
                return Decision::Refuse(other_database(format!("{verb} of '{name}'"), Some(o)));
            }
            _ => Decision::Skip { database: name },
        },
    };
    // Rows are most of a dump: an INSERT holds another statement only after a `;` in code.
    let from = if is_insert(bytes) {
        if delimiter_is_semicolon {
            return decision;
        }
        match code_semicolon(bytes) {
            Some(i) => i,
            None => return decision,
        }
    } else {
        0
    };
    match inner(bytes, from, body, own) {
        Some(r) => Decision::Refuse(r),
        None => decision,
    }
}

/// One statement judged alone.
enum One {
    Run,
    /// `DROP/CREATE/ALTER DATABASE name` or `USE name`.
    Database {
        verb: &'static str,
        name: String,
    },
    /// `SET @@GLOBAL.GTID_PURGED = …` and nothing else.
    GtidPurged,
    Refuse(Refusal),
}

impl From<Option<Refusal>> for One {
    fn from(r: Option<Refusal>) -> Self {
        r.map_or(One::Run, One::Refuse)
    }
}

// ---------------------------------------------------------------------------------------------------
// Refusals and their guidance.

const OTHER_DATABASE: &str = "A dump must change only the database it is restored into: restore a dump of the \
     application's database alone (mysqldump naming that one database, not --all-databases, not several \
     names after --databases).";
const ACCOUNTS: &str = "Accounts and privileges belong to the whole server, not to one database: make the dump of \
     the application's database alone (mysqldump naming it, without --all-databases and without the mysql \
     database).";
const SERVER: &str = "It changes the whole database server, not one database: remake the dump without it \
     (mysqldump naming the application's database alone).";
const REPLICATION: &str = "It changes the server's replication: remake the dump without --master-data, \
     --source-data or --dump-slave.";
const GTID: &str = "It changes the server's replication state: remake the dump with mysqldump \
     --set-gtid-purged=OFF.";
const FILES: &str = "It reads or writes files on the database server, which a dump made by mysqldump never does: \
     remake the dump with mysqldump.";

fn other_database(what: String, own: Option<&str>) -> Refusal {
    let guidance = match own {
        Some(o) => format!("The dump's own database is '{o}'. {OTHER_DATABASE}"),
        None => OTHER_DATABASE.to_owned(),
    };
    Refusal {
        reach: Reach::OtherDatabase,
        what,
        guidance,
    }
}

fn refusal(reach: Reach, what: impl Into<String>, guidance: &str) -> Option<Refusal> {
    Some(Refusal {
        reach,
        what: what.into(),
        guidance: guidance.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------------
// Tokens.

fn upper(tok: &Tok<'_>) -> Option<Vec<u8>> {
    match tok {
        Tok::Word(w) => Some(w.to_ascii_uppercase()),
        _ => None,
    }
}

fn is_any(tok: &Tok<'_>, kws: &[&str]) -> bool {
    kws.iter().any(|k| is_kw(tok, k))
}

fn as_name(tok: Tok<'_>) -> Option<String> {
    match tok {
        Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
        Tok::Ident(v) => Some(String::from_utf8_lossy(&v).into_owned()),
        Tok::Str | Tok::Punct(_) => None,
    }
}

/// The next token if it is punctuation.
fn next_punct(h: &Head<'_>) -> Option<u8> {
    match h.clone().next_tok()? {
        Tok::Punct(p) => Some(p),
        _ => None,
    }
}

fn next_is(h: &Head<'_>, kws: &[&str]) -> bool {
    h.clone().next_tok().is_some_and(|t| is_any(&t, kws))
}

/// An object name, `name` or `db.name`.
struct Obj {
    db: Option<String>,
    name: String,
}

fn obj(h: &mut Head<'_>) -> Option<Obj> {
    let first = as_name(h.next_tok()?)?;
    let mut ahead = h.clone();
    if ahead.next_tok() == Some(Tok::Punct(b'.'))
        && let Some(second) = ahead.next_tok().and_then(as_name)
    {
        *h = ahead;
        return Some(Obj {
            db: Some(first),
            name: second,
        });
    }
    Some(Obj { db: None, name: first })
}

/// Refuses a qualified name read by `obj` at an object-name position of `verb`.
fn qualified(verb: &str, o: Option<Obj>, own: Option<&str>) -> Option<Refusal> {
    let o = o?;
    let db = o.db?;
    let what = format!("{verb} '{db}.{}'", o.name);
    if own == Some(db.as_str()) {
        return Some(Refusal {
            reach: Reach::OwnDatabaseByName,
            what,
            guidance: format!(
                "Written with the dump's own database '{db}', it would change '{db}' itself, not the \
                 database restored into: remake the dump with mysqldump (which writes plain names), or \
                 remove the '{db}.' prefixes."
            ),
        });
    }
    Some(other_database(format!("{what} of another database"), own))
}

/// Checks the names at the table-reference positions of a list: its start, after a top-level `,`, and
/// after any of `again` (`JOIN`, `FROM`, `TO`…), until a top-level word of `stops`.
fn names(h: &mut Head<'_>, verb: &str, own: Option<&str>, again: &[&str], stops: &[&str]) -> Option<Refusal> {
    let mut position = true;
    loop {
        if position {
            if next_is(h, again) {
                h.next_tok();
                continue;
            }
            position = false;
            if h.depth() == 0 && next_is(h, stops) {
                return None;
            }
            if let Some(r) = qualified(verb, obj(h), own) {
                return Some(r);
            }
            continue;
        }
        let tok = h.next_tok()?;
        if h.depth() == 0 && is_any(&tok, stops) {
            return None;
        }
        position = (tok == Tok::Punct(b',') && h.depth() == 0) || is_any(&tok, again);
    }
}

/// The rest of a statement: every name after `REFERENCES`, and (ALTER TABLE) after `RENAME [TO|AS]` and
/// `WITH TABLE`.
fn references(h: &mut Head<'_>, own: Option<&str>, alter: bool) -> Option<Refusal> {
    while let Some(tok) = h.next_tok() {
        if is_kw(&tok, "REFERENCES") {
            if let Some(r) = qualified("REFERENCES", obj(h), own) {
                return Some(r);
            }
        } else if alter && is_kw(&tok, "RENAME") {
            if next_is(h, &["COLUMN", "INDEX", "KEY", "CONSTRAINT"]) {
                continue;
            }
            if !h.eat("TO") {
                h.eat("AS");
            }
            if let Some(r) = qualified("ALTER TABLE … RENAME TO", obj(h), own) {
                return Some(r);
            }
        } else if alter && is_kw(&tok, "WITH") && h.eat("TABLE") {
            if let Some(r) = qualified("ALTER TABLE … WITH TABLE", obj(h), own) {
                return Some(r);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------------
// One statement.

const SERVER_OBJECTS: &[&str] = &["SERVER", "TABLESPACE", "LOGFILE", "RESOURCE", "INSTANCE"];

/// Judges the statement starting at `h`; also returns where a routine's body starts (it has no keyword
/// before it that the scan of [`inner`] would notice).
fn judge(mut h: Head<'_>, own: Option<&str>) -> (One, Option<usize>) {
    let Some(first) = h.next_tok() else {
        return (One::Run, None);
    };
    let Some(word) = upper(&first) else {
        return (One::Run, None);
    };
    let one = match word.as_slice() {
        b"USE" => match obj(&mut h) {
            Some(Obj { db: None, name }) => One::Database { verb: "USE", name },
            _ => One::Run,
        },
        b"CREATE" => return create(h, own),
        b"DROP" => drop(h, own),
        b"ALTER" => alter(h, own),
        b"RENAME" => {
            if h.eat("TABLE") || h.eat("TABLES") {
                names(&mut h, "RENAME TABLE", own, &["TO"], &[]).into()
            } else if next_is(&h, &["USER"]) {
                One::from(refusal(Reach::Accounts, "RENAME USER", ACCOUNTS))
            } else {
                One::Run
            }
        }
        b"TRUNCATE" => {
            h.eat("TABLE");
            qualified("TRUNCATE TABLE", obj(&mut h), own).into()
        }
        b"INSERT" | b"REPLACE" => {
            if next_punct(&h) == Some(b'(') {
                // INSERT(…) / REPLACE(…): string functions.
                One::Run
            } else {
                for kw in ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"] {
                    h.eat(kw);
                }
                let verb = if word == b"INSERT" {
                    "INSERT into"
                } else {
                    "REPLACE into"
                };
                qualified(verb, obj(&mut h), own).into()
            }
        }
        b"UPDATE" => {
            for kw in ["LOW_PRIORITY", "IGNORE"] {
                h.eat(kw);
            }
            names(&mut h, "UPDATE of", own, &["JOIN", "STRAIGHT_JOIN"], &["SET"]).into()
        }
        b"DELETE" => {
            for kw in ["LOW_PRIORITY", "QUICK", "IGNORE"] {
                h.eat(kw);
            }
            names(
                &mut h,
                "DELETE from",
                own,
                &["FROM", "USING", "JOIN", "STRAIGHT_JOIN"],
                &["WHERE", "ORDER", "LIMIT", "RETURNING"],
            )
            .into()
        }
        b"LOCK" if h.eat("TABLES") || h.eat("TABLE") => names(&mut h, "LOCK TABLES of", own, &[], &[]).into(),
        b"OPTIMIZE" | b"REPAIR" | b"ANALYZE" => {
            h.eat("NO_WRITE_TO_BINLOG");
            h.eat("LOCAL");
            if h.eat("TABLE") || h.eat("TABLES") {
                let verb = format!("{} TABLE", String::from_utf8_lossy(&word));
                names(&mut h, &verb, own, &[], &[]).into()
            } else {
                One::Run
            }
        }
        b"CALL" => qualified("CALL of", obj(&mut h), own).into(),
        b"GRANT" | b"REVOKE" => One::from(refusal(Reach::Accounts, String::from_utf8_lossy(&word), ACCOUNTS)),
        b"SET" => set(h, own),
        b"FLUSH" | b"SHUTDOWN" | b"RESTART" | b"RESET" | b"PURGE" | b"KILL" | b"CLONE" | b"BINLOG" => {
            One::from(refusal(Reach::Server, String::from_utf8_lossy(&word), SERVER))
        }
        b"INSTALL" | b"UNINSTALL" => {
            let what = match h.next_tok().as_ref().and_then(upper) {
                Some(w) => format!("{} {}", String::from_utf8_lossy(&word), String::from_utf8_lossy(&w)),
                None => String::from_utf8_lossy(&word).into_owned(),
            };
            One::from(refusal(Reach::Server, what, SERVER))
        }
        b"CHANGE" if next_is(&h, &["MASTER", "REPLICATION"]) => {
            One::from(refusal(Reach::Server, "CHANGE MASTER", REPLICATION))
        }
        b"START" | b"STOP" if next_is(&h, &["SLAVE", "REPLICA", "GROUP_REPLICATION", "ALL"]) => {
            let what = format!("{} SLAVE", String::from_utf8_lossy(&word));
            One::from(refusal(Reach::Server, what, REPLICATION))
        }
        b"LOAD" if next_is(&h, &["DATA", "XML"]) => {
            let what = if h.eat("DATA") { "LOAD DATA" } else { "LOAD XML" };
            One::from(refusal(Reach::Files, what, FILES))
        }
        _ => One::Run,
    };
    (one, None)
}

/// `CREATE …` after the keyword.
fn create(mut h: Head<'_>, own: Option<&str>) -> (One, Option<usize>) {
    // Words before the object kind: OR REPLACE, TEMPORARY, ALGORITHM=…, DEFINER=…, SQL SECURITY …,
    // UNIQUE, AGGREGATE… (the reader's classification does the same).
    for _ in 0..64 {
        let Some(tok) = h.next_tok() else { break };
        let Some(word) = upper(&tok) else {
            if tok == Tok::Punct(b'(') {
                break;
            }
            continue;
        };
        let one = match word.as_slice() {
            b"TABLE" => {
                h.skip_if_exists();
                qualified("CREATE TABLE", obj(&mut h), own).or_else(|| references(&mut h, own, false))
            }
            b"VIEW" => {
                h.skip_if_exists();
                qualified("CREATE VIEW", obj(&mut h), own)
            }
            b"TRIGGER" => {
                h.skip_if_exists();
                qualified("CREATE TRIGGER", obj(&mut h), own).or_else(|| {
                    for _ in 0..8 {
                        if h.next_tok().is_some_and(|t| is_kw(&t, "ON")) {
                            return qualified("CREATE TRIGGER … ON", obj(&mut h), own);
                        }
                    }
                    None
                })
            }
            b"PROCEDURE" | b"FUNCTION" => {
                h.skip_if_exists();
                let verb = if word == b"PROCEDURE" {
                    "CREATE PROCEDURE"
                } else {
                    "CREATE FUNCTION"
                };
                if let Some(r) = qualified(verb, obj(&mut h), own) {
                    return (One::Refuse(r), None);
                }
                if word == b"FUNCTION" && next_punct(&h) != Some(b'(') {
                    // A loadable function: `CREATE FUNCTION f RETURNS STRING SONAME 'lib.so'`.
                    let mut rest = h.clone();
                    while let Some(t) = rest.next_tok() {
                        if is_kw(&t, "SONAME") {
                            return (
                                One::from(refusal(Reach::Server, "CREATE FUNCTION … SONAME", SERVER)),
                                None,
                            );
                        }
                    }
                }
                return (One::Run, routine_body(&mut h));
            }
            b"EVENT" => {
                h.skip_if_exists();
                qualified("CREATE EVENT", obj(&mut h), own)
            }
            b"SEQUENCE" => {
                h.skip_if_exists();
                qualified("CREATE SEQUENCE", obj(&mut h), own)
            }
            b"INDEX" => {
                for _ in 0..16 {
                    if h.next_tok().is_some_and(|t| is_kw(&t, "ON")) {
                        break;
                    }
                }
                qualified("CREATE INDEX … ON", obj(&mut h), own)
            }
            b"DATABASE" | b"SCHEMA" => {
                h.skip_if_exists();
                return match obj(&mut h) {
                    Some(Obj { db: None, name }) => (
                        One::Database {
                            verb: "CREATE DATABASE",
                            name,
                        },
                        None,
                    ),
                    _ => (One::Run, None),
                };
            }
            b"USER" | b"ROLE" => {
                let what = format!("CREATE {}", String::from_utf8_lossy(&word));
                refusal(Reach::Accounts, what, ACCOUNTS)
            }
            w if SERVER_OBJECTS.iter().any(|k| k.as_bytes() == w) => {
                let what = format!("CREATE {}", String::from_utf8_lossy(&word));
                refusal(Reach::Server, what, SERVER)
            }
            _ => continue,
        };
        return (one.into(), None);
    }
    (One::Run, None)
}

/// Where the body of `CREATE PROCEDURE/FUNCTION name` starts, `h` being after the name: after the
/// parameters, `RETURNS type` and the characteristics.
fn routine_body(h: &mut Head<'_>) -> Option<usize> {
    if h.next_tok()? != Tok::Punct(b'(') {
        return None;
    }
    let depth = h.depth() - 1;
    while h.next_tok()? != Tok::Punct(b')') || h.depth() != depth {}
    if h.eat("RETURNS") {
        h.next_tok()?;
        if next_punct(h) == Some(b'(') {
            h.next_tok();
            while h.next_tok()? != Tok::Punct(b')') || h.depth() != depth {}
        }
        loop {
            if ["UNSIGNED", "SIGNED", "ZEROFILL", "BINARY", "ASCII", "UNICODE", "BYTE"]
                .iter()
                .any(|k| h.eat(k))
            {
                continue;
            }
            if h.eat("CHARSET") || (h.eat("CHARACTER") && h.eat("SET")) || h.eat("COLLATE") {
                h.next_tok();
                continue;
            }
            break;
        }
    }
    loop {
        if h.eat("COMMENT") || h.eat("LANGUAGE") {
            h.next_tok();
        } else if h.eat("NOT") || h.eat("DETERMINISTIC") {
            h.eat("DETERMINISTIC");
        } else if h.eat("CONTAINS") || h.eat("NO") {
            h.eat("SQL");
        } else if h.eat("READS") || h.eat("MODIFIES") {
            h.eat("SQL");
            h.eat("DATA");
        } else if h.eat("SQL") {
            h.eat("SECURITY");
            h.next_tok();
        } else {
            return Some(h.offset());
        }
    }
}

/// `DROP …` after the keyword.
fn drop(mut h: Head<'_>, own: Option<&str>) -> One {
    h.eat("TEMPORARY");
    let Some(word) = h.next_tok().as_ref().and_then(upper) else {
        return One::Run;
    };
    let verb = format!("DROP {}", String::from_utf8_lossy(&word));
    match word.as_slice() {
        b"TABLE" | b"TABLES" | b"VIEW" | b"SEQUENCE" | b"TRIGGER" | b"PROCEDURE" | b"FUNCTION" | b"EVENT" => {
            h.skip_if_exists();
            names(&mut h, &verb, own, &[], &[]).into()
        }
        b"INDEX" => {
            for _ in 0..8 {
                if h.next_tok().is_some_and(|t| is_kw(&t, "ON")) {
                    break;
                }
            }
            qualified("DROP INDEX … ON", obj(&mut h), own).into()
        }
        b"DATABASE" | b"SCHEMA" => {
            h.skip_if_exists();
            match obj(&mut h) {
                Some(Obj { db: None, name }) => One::Database {
                    verb: "DROP DATABASE",
                    name,
                },
                _ => One::Run,
            }
        }
        b"USER" | b"ROLE" => One::from(refusal(Reach::Accounts, verb, ACCOUNTS)),
        w if SERVER_OBJECTS.iter().any(|k| k.as_bytes() == w) => One::from(refusal(Reach::Server, verb, SERVER)),
        _ => One::Run,
    }
}

/// `ALTER …` after the keyword.
fn alter(mut h: Head<'_>, own: Option<&str>) -> One {
    for _ in 0..64 {
        let Some(tok) = h.next_tok() else { break };
        let Some(word) = upper(&tok) else { continue };
        let verb = format!("ALTER {}", String::from_utf8_lossy(&word));
        return match word.as_slice() {
            b"TABLE" => qualified(&verb, obj(&mut h), own)
                .or_else(|| references(&mut h, own, true))
                .into(),
            b"VIEW" | b"PROCEDURE" | b"FUNCTION" | b"SEQUENCE" => qualified(&verb, obj(&mut h), own).into(),
            b"EVENT" => qualified(&verb, obj(&mut h), own)
                .or_else(|| {
                    while let Some(t) = h.next_tok() {
                        if is_kw(&t, "RENAME") {
                            h.eat("TO");
                            return qualified("ALTER EVENT … RENAME TO", obj(&mut h), own);
                        }
                    }
                    None
                })
                .into(),
            b"DATABASE" | b"SCHEMA" => {
                // `ALTER DATABASE CHARACTER SET …` (no name) alters the current database: the target.
                const OPTIONS: &[&str] = &[
                    "CHARACTER",
                    "CHARSET",
                    "DEFAULT",
                    "COLLATE",
                    "ENCRYPTION",
                    "READ",
                    "COMMENT",
                ];
                if next_is(&h, OPTIONS) {
                    One::Run
                } else {
                    match obj(&mut h) {
                        Some(Obj { db: None, name }) => One::Database {
                            verb: "ALTER DATABASE",
                            name,
                        },
                        _ => One::Run,
                    }
                }
            }
            b"USER" | b"ROLE" => One::from(refusal(Reach::Accounts, verb, ACCOUNTS)),
            w if SERVER_OBJECTS.iter().any(|k| k.as_bytes() == w) => One::from(refusal(Reach::Server, verb, SERVER)),
            // ONLINE, IGNORE, ALGORITHM=…, DEFINER=…, SQL SECURITY …
            _ => continue,
        };
    }
    One::Run
}

/// `SET …` after the keyword: accounts, `SET STATEMENT … FOR`, and each assignment's scope.
fn set(mut h: Head<'_>, own: Option<&str>) -> One {
    if next_is(&h, &["PASSWORD"]) {
        return One::from(refusal(Reach::Accounts, "SET PASSWORD", ACCOUNTS));
    }
    if next_is(&h, &["DEFAULT"]) {
        let mut ahead = h.clone();
        ahead.next_tok();
        if next_is(&ahead, &["ROLE"]) {
            return One::from(refusal(Reach::Accounts, "SET DEFAULT ROLE", ACCOUNTS));
        }
    }
    if next_is(&h, &["NAMES", "CHARSET", "CHARACTER", "TRANSACTION", "ROLE"]) {
        return One::Run;
    }
    if h.eat("STATEMENT") {
        // MariaDB: `SET STATEMENT var=value[, …] FOR statement`.
        while let Some(tok) = h.next_tok() {
            if h.depth() == 0 && is_kw(&tok, "FOR") {
                return nested(h, own).into();
            }
        }
        return One::Run;
    }
    let mut first = true;
    loop {
        let tok = match h.next_tok() {
            Some(t) => t,
            None => return One::Run,
        };
        let scope = if is_any(&tok, &["GLOBAL", "PERSIST", "PERSIST_ONLY"]) {
            upper(&tok).map(|w| (String::from_utf8_lossy(&w).into_owned(), false))
        } else if tok == Tok::Punct(b'@') && next_punct(&h) == Some(b'@') {
            h.next_tok();
            let mut ahead = h.clone();
            match ahead.next_tok() {
                Some(t) if is_any(&t, &["GLOBAL", "PERSIST", "PERSIST_ONLY"]) && next_punct(&ahead) == Some(b'.') => {
                    ahead.next_tok();
                    h = ahead;
                    upper(&t).map(|w| (String::from_utf8_lossy(&w).into_owned(), true))
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some((scope, at)) = scope {
            let var = h.next_tok().and_then(as_name).unwrap_or_default();
            if at && first && var.eq_ignore_ascii_case("gtid_purged") {
                let mut rest = h.clone();
                let alone = loop {
                    match rest.next_tok() {
                        None => break true,
                        Some(Tok::Punct(b',')) if rest.depth() == 0 => break false,
                        Some(_) => {}
                    }
                };
                if alone {
                    return One::GtidPurged;
                }
            }
            let what = if at {
                format!("SET @@{scope}.{var}")
            } else {
                format!("SET {scope} {var}")
            };
            let guidance = if var.eq_ignore_ascii_case("gtid_purged") {
                GTID
            } else {
                SERVER
            };
            return One::from(refusal(Reach::Server, what, guidance));
        }
        // The rest of this assignment.
        first = false;
        loop {
            match h.next_tok() {
                None => return One::Run,
                Some(Tok::Punct(b',')) if h.depth() == 0 => break,
                Some(_) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Statements inside a statement.

fn is_insert(bytes: &[u8]) -> bool {
    let mut h = Head::new(bytes);
    h.next_tok().is_some_and(|t| is_any(&t, &["INSERT", "REPLACE"])) && next_punct(&h) != Some(b'(')
}

/// Index of the first `;` outside strings, backquoted names and plain comments.
fn code_semicolon(s: &[u8]) -> Option<usize> {
    // Most INSERTs have no `;` at all; those with one mostly have it in a string.
    memchr::memchr(b';', s)?;
    let mut i = 0;
    while i < s.len() {
        let k = s[i..]
            .iter()
            .position(|&b| matches!(b, b';' | b'\'' | b'"' | b'`' | b'#' | b'-' | b'/'))?;
        i += k;
        match (s[i], s.get(i + 1).copied(), s.get(i + 2).copied()) {
            (b';', _, _) => return Some(i),
            (b'\'' | b'"', _, _) => i = string_end(s, i).0,
            (b'`', _, _) => i = memchr::memchr(b'`', &s[i + 1..]).map_or(s.len(), |k| i + k + 2),
            (b'#', _, _) => i = memchr::memchr(b'\n', &s[i..]).map_or(s.len(), |k| i + k + 1),
            (b'-', Some(b'-'), c) if c.is_none_or(|c| c.is_ascii_whitespace()) => {
                i = memchr::memchr(b'\n', &s[i..]).map_or(s.len(), |k| i + k + 1);
            }
            (b'/', Some(b'*'), Some(b'!' | b'M')) => i += 2,
            (b'/', Some(b'*'), _) => {
                i = memchr::memmem::find(&s[i + 2..], b"*/").map_or(s.len(), |k| i + k + 4);
            }
            _ => i += 1,
        }
    }
    None
}

/// A statement inside another: refused when it reaches outside, and any database statement is (it cannot
/// be skipped alone).
fn nested(h: Head<'_>, own: Option<&str>) -> Option<Refusal> {
    let s = h.clone();
    match judge(h, own) {
        (One::Run, None) => None,
        (One::GtidPurged, _) => Some(Refusal {
            reach: Reach::Server,
            what: "SET @@GLOBAL.GTID_PURGED inside another statement".to_owned(),
            guidance: GTID.to_owned(),
        }),
        (One::Run, Some(body)) => nested(Head::at_offset(s.source(), body), own),
        (One::Refuse(r), _) => Some(r),
        (One::Database { verb, name }, _) => Some(other_database(
            format!("{verb} of '{name}' inside another statement"),
            own,
        )),
    }
}

/// Scans a statement from byte `from` for the statements inside it and for `INTO OUTFILE/DUMPFILE`.
fn inner(bytes: &[u8], from: usize, body: Option<usize>, own: Option<&str>) -> Option<Refusal> {
    if let Some(b) = body
        && let Some(r) = nested(Head::at_offset(bytes, b), own)
    {
        return Some(r);
    }
    const MARKERS: &[&str] = &["BEGIN", "THEN", "ELSE", "DO", "LOOP", "REPEAT", "ATOMIC"];
    let mut h = Head::at_offset(bytes, from);
    let (mut prev, mut prev2): (Option<Tok<'_>>, Option<Tok<'_>>) = (None, None);
    loop {
        let start = match (&prev2, &prev) {
            (_, Some(Tok::Punct(b';'))) => true,
            (_, Some(p)) if is_any(p, MARKERS) => true,
            (Some(a), Some(b)) if is_kw(a, "EACH") && is_kw(b, "ROW") => true,
            (Some(a), Some(Tok::Word(_) | Tok::Ident(_))) if is_any(a, &["FOLLOWS", "PRECEDES"]) => true,
            _ => false,
        };
        if start && let Some(r) = nested(h.clone(), own) {
            return Some(r);
        }
        let tok = h.next_tok()?;
        if is_kw(&tok, "INTO") {
            let mut ahead = h.clone();
            if let Some(t) = ahead.next_tok()
                && is_any(&t, &["OUTFILE", "DUMPFILE"])
                && ahead.next_tok() == Some(Tok::Str)
            {
                let what = format!(
                    "SELECT … INTO {}",
                    String::from_utf8_lossy(&upper(&t).unwrap_or_default())
                );
                return refusal(Reach::Files, what, FILES);
            }
        }
        if is_kw(&tok, "HANDLER") && h.eat("FOR") {
            // `DECLARE … HANDLER FOR cond[, cond…] statement`.
            loop {
                if h.eat("SQLSTATE") {
                    h.eat("VALUE");
                    h.next_tok();
                } else if h.eat("NOT") {
                    h.eat("FOUND");
                } else {
                    h.next_tok();
                }
                if next_punct(&h) != Some(b',') {
                    break;
                }
                h.next_tok();
            }
            if let Some(r) = nested(h.clone(), own) {
                return Some(r);
            }
            (prev, prev2) = (None, None);
            continue;
        }
        prev2 = prev;
        prev = Some(tok);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const OWN: Option<&str> = Some("prodapp");

    fn refused(sql: &str, own: Option<&str>) -> Refusal {
        match decide(sql.as_bytes(), own) {
            Decision::Refuse(r) => r,
            other => panic!("not refused: {sql}\n  → {other:?}"),
        }
    }

    // Guards the bug of issue 12 item 3: `mysqldump --databases prodapp --add-drop-database` restored onto
    // another database ran `DROP DATABASE IF EXISTS prodapp`. The dump's own database statements, in
    // every form mysqldump / mariadb-dump write them, are skipped.
    #[test]
    fn the_dumps_own_database_statements_are_skipped() {
        let mut own = None;
        for sql in [
            "/*!40000 DROP DATABASE IF EXISTS `prodapp`*/",
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `prodapp` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci */",
            "USE `prodapp`",
            "use prodapp",
            "drop schema if exists prodapp",
            "CREATE SCHEMA prodapp",
            "/*!50003 ALTER DATABASE `prodapp` CHARACTER SET latin1 COLLATE latin1_swedish_ci */",
            "ALTER SCHEMA prodapp DEFAULT CHARACTER SET utf8mb4",
        ] {
            assert_eq!(
                follow(&mut own, sql.as_bytes(), false),
                Decision::Skip {
                    database: "prodapp".into()
                },
                "{sql}"
            );
        }
        assert_eq!(own.as_deref(), Some("prodapp"));
        // The first one names it, whichever kind it is.
        for first in [
            "USE other",
            "CREATE DATABASE other",
            "DROP DATABASE other",
            "ALTER DATABASE other CHARSET x",
        ] {
            let mut own = None;
            assert!(
                matches!(follow(&mut own, first.as_bytes(), false), Decision::Skip { .. }),
                "{first}"
            );
            assert_eq!(own.as_deref(), Some("other"), "{first}");
        }
        // ALTER DATABASE without a name changes the current database: the target.
        assert_eq!(decide(b"ALTER DATABASE CHARACTER SET utf8mb4", OWN), Decision::Run);
    }

    // Guards: a later statement naming another database is refused, whatever its case or quoting
    // (database names are compared exactly: `PRODAPP` is another database on Linux).
    #[test]
    fn another_database_is_refused() {
        let mut own = None;
        assert!(matches!(
            follow(&mut own, b"USE `prodapp`", false),
            Decision::Skip { .. }
        ));
        for (sql, what) in [
            ("DROP DATABASE other", "DROP DATABASE of 'other'"),
            ("/*!40000 DROP DATABASE IF EXISTS `other`*/", "DROP DATABASE of 'other'"),
            ("drop schema if exists other", "DROP DATABASE of 'other'"),
            ("CREATE DATABASE other", "CREATE DATABASE of 'other'"),
            ("create schema if not exists `other`", "CREATE DATABASE of 'other'"),
            ("ALTER DATABASE other CHARACTER SET utf8", "ALTER DATABASE of 'other'"),
            (
                "/*!50003 ALTER SCHEMA `other` CHARSET latin1 */",
                "ALTER DATABASE of 'other'",
            ),
            ("USE other", "USE of 'other'"),
            ("use `other`", "USE of 'other'"),
            ("USE PRODAPP", "USE of 'PRODAPP'"),
        ] {
            let d = follow(&mut own, sql.as_bytes(), false);
            let Decision::Refuse(r) = d else { panic!("{sql}: {d:?}") };
            assert_eq!((r.reach, r.what.as_str()), (Reach::OtherDatabase, what), "{sql}");
            assert!(
                r.guidance.contains("'prodapp'") && r.guidance.contains("--all-databases"),
                "{r:?}"
            );
        }
        assert_eq!(own.as_deref(), Some("prodapp"));
    }

    // Guards: schema-qualified names in every object-name position, plain, backquoted, in executable
    // comments and lower case; the dump's own database by name is refused with its own message.
    #[test]
    fn qualified_names_in_object_positions_are_refused() {
        let cases = [
            "INSERT INTO other.t VALUES (1)",
            "insert into `other`.`t` values (1)",
            "INSERT IGNORE other.t VALUES (1)",
            "REPLACE INTO other.t VALUES (1)",
            "/*!40000 INSERT INTO `other`.`t` VALUES (1) */",
            "CREATE TABLE other.t (x INT)",
            "CREATE TABLE IF NOT EXISTS `other`.`t` (x INT)",
            "CREATE TEMPORARY TABLE other.t (x INT)",
            "DROP TABLE IF EXISTS t, other.u",
            "DROP TEMPORARY TABLE other.t",
            "ALTER TABLE other.t ADD x INT",
            "ALTER TABLE t RENAME TO other.t",
            "ALTER TABLE t RENAME other.t",
            "ALTER TABLE t EXCHANGE PARTITION p WITH TABLE other.t",
            "RENAME TABLE t TO other.t",
            "RENAME TABLE a TO b, c TO other.d",
            "TRUNCATE TABLE other.t",
            "truncate other.t",
            "LOCK TABLES t WRITE, other.u READ",
            "DELETE FROM other.t WHERE 1",
            "DELETE LOW_PRIORITY FROM other.t",
            "DELETE t FROM t JOIN other.u ON t.a = u.a",
            "DELETE FROM t USING t, other.u WHERE t.a = u.a",
            "UPDATE other.t SET x = 1",
            "UPDATE t JOIN other.u ON t.a = u.a SET t.x = 1",
            "UPDATE t, other.u SET t.x = u.x",
            "CREATE TABLE t (x INT, FOREIGN KEY (x) REFERENCES other.p (id))",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES `other`.`p` (`id`)",
            "CREATE VIEW other.v AS SELECT 1",
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `other`.`v` AS select 1",
            "CREATE OR REPLACE VIEW other.v AS SELECT 1",
            "ALTER VIEW other.v AS SELECT 1",
            "CREATE TRIGGER other.trg BEFORE INSERT ON t FOR EACH ROW SET NEW.x = 1",
            "CREATE TRIGGER trg BEFORE INSERT ON other.t FOR EACH ROW SET NEW.x = 1",
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `trg` BEFORE INSERT ON `other`.`t` FOR EACH ROW SET NEW.x = 1 */",
            "CREATE PROCEDURE other.p() SELECT 1",
            "CREATE DEFINER=`root`@`%` FUNCTION `other`.`f`() RETURNS int(11) RETURN 1",
            "CREATE EVENT other.e ON SCHEDULE EVERY 1 DAY DO SELECT 1",
            "ALTER EVENT e RENAME TO other.e",
            "CREATE SEQUENCE other.s",
            "CREATE INDEX i ON other.t (x)",
            "DROP INDEX i ON other.t",
            "DROP VIEW IF EXISTS v, other.v",
            "DROP TRIGGER IF EXISTS other.trg",
            "DROP PROCEDURE IF EXISTS other.p",
            "DROP FUNCTION other.f",
            "DROP EVENT other.e",
            "CALL other.p()",
            "OPTIMIZE TABLE other.t",
        ];
        for sql in cases {
            let r = refused(sql, OWN);
            assert_eq!(r.reach, Reach::OtherDatabase, "{sql}: {r:?}");
            assert!(r.what.contains("'other."), "{sql}: {r:?}");
            // Without a known own database, the same.
            assert_eq!(refused(sql, None).reach, Reach::OtherDatabase, "{sql}");
            // The dump's own name written out: refused with its own message.
            let own = sql.replace("other", "prodapp");
            let r = refused(&own, OWN);
            assert_eq!(r.reach, Reach::OwnDatabaseByName, "{own}: {r:?}");
            assert!(r.guidance.contains("'prodapp.'"), "{r:?}");
        }
        assert_eq!(
            refused("INSERT INTO other.t VALUES (1)", OWN).what,
            "INSERT into 'other.t' of another database"
        );
    }

    // Guards: writes inside triggers, routines and events (they run later, in the target) and statements
    // after a `;` inside one statement (the connection runs them all) are found.
    #[test]
    fn statements_inside_statements_are_judged() {
        for (sql, reach) in [
            (
                "CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW INSERT INTO other.log VALUES (NEW.x)",
                Reach::OtherDatabase,
            ),
            (
                "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg AFTER INSERT ON t FOR EACH ROW BEGIN\n  -- a comment; here\n  UPDATE other.c SET n = n + 1;\nEND */",
                Reach::OtherDatabase,
            ),
            (
                "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW FOLLOWS trg0 INSERT INTO other.t VALUES (1)",
                Reach::OtherDatabase,
            ),
            (
                "CREATE PROCEDURE p() BEGIN DELETE FROM other.t; END",
                Reach::OtherDatabase,
            ),
            (
                "CREATE PROCEDURE p(IN a INT) COMMENT 'x' MODIFIES SQL DATA INSERT INTO other.t VALUES (a)",
                Reach::OtherDatabase,
            ),
            (
                "CREATE DEFINER=`root`@`%` PROCEDURE `p`(IN a INT, OUT b VARCHAR(20))\n    SQL SECURITY INVOKER\nDROP DATABASE other",
                Reach::OtherDatabase,
            ),
            (
                "CREATE FUNCTION f(a INT) RETURNS VARCHAR(10) CHARSET utf8mb4 DETERMINISTIC BEGIN INSERT INTO other.t VALUES (a); RETURN 'x'; END",
                Reach::OtherDatabase,
            ),
            (
                "CREATE FUNCTION f(a INT) RETURNS DECIMAL(10,2) NO SQL UPDATE other.t SET x = a",
                Reach::OtherDatabase,
            ),
            (
                "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM other.t",
                Reach::OtherDatabase,
            ),
            (
                "CREATE PROCEDURE p() BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '23000', NOT FOUND INSERT INTO other.t VALUES (1); END",
                Reach::OtherDatabase,
            ),
            (
                "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; ELSE DROP DATABASE other; END IF; END",
                Reach::OtherDatabase,
            ),
            ("CREATE PROCEDURE p() BEGIN USE prodapp; END", Reach::OtherDatabase),
            (
                "CREATE PROCEDURE p() lbl: LOOP GRANT ALL ON *.* TO x; END LOOP",
                Reach::Accounts,
            ),
            ("CREATE PROCEDURE p() WHILE 1 DO FLUSH TABLES; END WHILE", Reach::Server),
            (
                "CREATE PROCEDURE p() REPEAT SET GLOBAL x = 1; UNTIL 1 END REPEAT",
                Reach::Server,
            ),
            ("BEGIN NOT ATOMIC DROP DATABASE other; END", Reach::OtherDatabase),
            ("SELECT 1; DROP DATABASE other", Reach::OtherDatabase),
            ("INSERT INTO t VALUES ('a;b'); GRANT ALL ON *.* TO x", Reach::Accounts),
            (
                "INSERT INTO t VALUES (1) ; /*!40000 USE prodapp */",
                Reach::OtherDatabase,
            ),
            (
                "SET STATEMENT max_statement_time=60 FOR DROP DATABASE other",
                Reach::OtherDatabase,
            ),
            (
                "SET STATEMENT max_statement_time=60 FOR INSERT INTO other.t VALUES (1)",
                Reach::OtherDatabase,
            ),
            (
                "CREATE PROCEDURE p() BEGIN SELECT * FROM t INTO OUTFILE '/tmp/x'; END",
                Reach::Files,
            ),
        ] {
            assert_eq!(refused(sql, OWN).reach, reach, "{sql}");
        }
    }

    // Guards every other kind the issue lists (accounts, server, files), in plain and executable-comment
    // forms and in any case.
    #[test]
    fn accounts_server_and_files_are_refused() {
        let cases = [
            ("GRANT ALL PRIVILEGES ON *.* TO 'x'@'%'", Reach::Accounts, "GRANT"),
            ("grant select on t to x", Reach::Accounts, "GRANT"),
            (
                "/*!40101 GRANT SELECT ON `prodapp`.* TO 'app'@'%' */",
                Reach::Accounts,
                "GRANT",
            ),
            ("REVOKE ALL ON *.* FROM x", Reach::Accounts, "REVOKE"),
            ("CREATE USER 'x'@'%' IDENTIFIED BY 'p'", Reach::Accounts, "CREATE USER"),
            ("create user if not exists x", Reach::Accounts, "CREATE USER"),
            (
                "/*!50701 CREATE USER IF NOT EXISTS 'x'@'%' */",
                Reach::Accounts,
                "CREATE USER",
            ),
            ("DROP USER 'x'@'%'", Reach::Accounts, "DROP USER"),
            ("drop user if exists x", Reach::Accounts, "DROP USER"),
            ("ALTER USER x IDENTIFIED BY 'y'", Reach::Accounts, "ALTER USER"),
            ("RENAME USER a TO b", Reach::Accounts, "RENAME USER"),
            ("CREATE ROLE r", Reach::Accounts, "CREATE ROLE"),
            ("DROP ROLE r", Reach::Accounts, "DROP ROLE"),
            ("SET PASSWORD FOR 'x'@'%' = 'y'", Reach::Accounts, "SET PASSWORD"),
            ("set password = password('y')", Reach::Accounts, "SET PASSWORD"),
            ("SET DEFAULT ROLE r FOR x", Reach::Accounts, "SET DEFAULT ROLE"),
            (
                "SET GLOBAL max_connections = 1000",
                Reach::Server,
                "SET GLOBAL max_connections",
            ),
            (
                "set global max_connections=1",
                Reach::Server,
                "SET GLOBAL max_connections",
            ),
            (
                "SET @@GLOBAL.max_connections = 1",
                Reach::Server,
                "SET @@GLOBAL.max_connections",
            ),
            ("set @@global.sql_mode = ''", Reach::Server, "SET @@GLOBAL.sql_mode"),
            ("/*!40101 SET @@GLOBAL.x=1 */", Reach::Server, "SET @@GLOBAL.x"),
            (
                "SET PERSIST max_connections = 1",
                Reach::Server,
                "SET PERSIST max_connections",
            ),
            ("SET PERSIST_ONLY x = 1", Reach::Server, "SET PERSIST_ONLY x"),
            ("SET @@persist.x = 1", Reach::Server, "SET @@PERSIST.x"),
            (
                "SET SESSION sql_mode = '', GLOBAL max_connections = 1",
                Reach::Server,
                "SET GLOBAL max_connections",
            ),
            (
                "SET @@SESSION.SQL_LOG_BIN = 0, @@GLOBAL.x = 1",
                Reach::Server,
                "SET @@GLOBAL.x",
            ),
            ("SET @a = CONCAT('a', 'b'), GLOBAL x = 1", Reach::Server, "SET GLOBAL x"),
            (
                "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                Reach::Server,
                "SET GLOBAL TRANSACTION",
            ),
            ("FLUSH PRIVILEGES", Reach::Server, "FLUSH"),
            ("/*!40101 FLUSH PRIVILEGES */", Reach::Server, "FLUSH"),
            ("flush tables", Reach::Server, "FLUSH"),
            ("INSTALL PLUGIN x SONAME 'x.so'", Reach::Server, "INSTALL PLUGIN"),
            ("uninstall plugin x", Reach::Server, "UNINSTALL PLUGIN"),
            ("INSTALL SONAME 'ha_x'", Reach::Server, "INSTALL SONAME"),
            (
                "CREATE FUNCTION f RETURNS STRING SONAME 'udf.so'",
                Reach::Server,
                "CREATE FUNCTION … SONAME",
            ),
            (
                "CREATE AGGREGATE FUNCTION f RETURNS REAL SONAME 'udf.so'",
                Reach::Server,
                "CREATE FUNCTION … SONAME",
            ),
            ("SHUTDOWN", Reach::Server, "SHUTDOWN"),
            ("shutdown", Reach::Server, "SHUTDOWN"),
            ("RESET MASTER", Reach::Server, "RESET"),
            ("PURGE BINARY LOGS TO 'b.000002'", Reach::Server, "PURGE"),
            ("KILL 5", Reach::Server, "KILL"),
            (
                "CHANGE MASTER TO MASTER_LOG_FILE='b.000001', MASTER_LOG_POS=4",
                Reach::Server,
                "CHANGE MASTER",
            ),
            ("STOP SLAVE", Reach::Server, "STOP SLAVE"),
            ("start replica", Reach::Server, "START SLAVE"),
            (
                "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'x')",
                Reach::Server,
                "CREATE SERVER",
            ),
            ("DROP TABLESPACE ts", Reach::Server, "DROP TABLESPACE"),
            ("LOAD DATA INFILE '/etc/passwd' INTO TABLE t", Reach::Files, "LOAD DATA"),
            ("load data local infile 'x' into table t", Reach::Files, "LOAD DATA"),
            ("LOAD XML INFILE 'x' INTO TABLE t", Reach::Files, "LOAD XML"),
            (
                "SELECT * FROM t INTO OUTFILE '/tmp/x'",
                Reach::Files,
                "SELECT … INTO OUTFILE",
            ),
            (
                "select * into dumpfile '/tmp/x' from t",
                Reach::Files,
                "SELECT … INTO DUMPFILE",
            ),
            (
                "/*!50000 SELECT 1 INTO OUTFILE '/tmp/x' */",
                Reach::Files,
                "SELECT … INTO OUTFILE",
            ),
            (
                "(SELECT a FROM t) INTO OUTFILE '/tmp/x'",
                Reach::Files,
                "SELECT … INTO OUTFILE",
            ),
            ("TABLE t INTO OUTFILE '/tmp/x'", Reach::Files, "SELECT … INTO OUTFILE"),
        ];
        for (sql, reach, what) in cases {
            let r = refused(sql, OWN);
            assert_eq!((r.reach, r.what.as_str()), (reach, what), "{sql}");
            assert!(!r.guidance.is_empty());
        }
        // mysqldump's GTID line is skipped alone (see the next test); with anything else, refused.
        let r = refused("SET @@GLOBAL.GTID_PURGED='a1b2:1-5', GLOBAL x = 1", OWN);
        assert_eq!(r.what, "SET @@GLOBAL.GTID_PURGED");
        let r = refused("SET @a = 1, @@GLOBAL.GTID_PURGED='a1b2:1-5'", OWN);
        assert!(r.guidance.contains("--set-gtid-purged=OFF"), "{r:?}");
        let r = refused("SELECT 1; SET @@GLOBAL.GTID_PURGED='a1b2:1-5'", OWN);
        assert!(r.guidance.contains("--set-gtid-purged=OFF"), "{r:?}");
        assert!(
            refused("CHANGE MASTER TO MASTER_LOG_POS=4", OWN)
                .guidance
                .contains("--master-data")
        );
    }

    // Guards the look-alikes that must pass: what real dumps hold (session SETs, strings and comments
    // naming dangerous statements, columns named like keywords, reads of other databases) and the
    // contexts where a write keyword is not a statement.
    #[test]
    fn harmless_look_alikes_run() {
        let cases = [
            "SET @saved_cs_client = @@character_set_client",
            "/*!40101 SET @saved_cs_client     = @@character_set_client */",
            "/*!40101 SET character_set_client = @saved_cs_client */",
            "/*!40101 SET NAMES utf8mb4 */",
            "SET CHARACTER SET utf8",
            "/*!40103 SET TIME_ZONE='+00:00' */",
            "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */",
            "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
            "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */",
            "SET @a = @@GLOBAL.max_connections",
            "SET @@SESSION.SQL_LOG_BIN= 0",
            "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN",
            "SET sql_mode = 'GLOBAL'",
            "SET default_storage_engine = InnoDB",
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "set autocommit=0",
            "SET @x = (SELECT COUNT(*) FROM other.t), @y = 2",
            "INSERT INTO t VALUES ('GRANT ALL ON *.* TO x')",
            "INSERT INTO t VALUES ('DROP DATABASE prodapp')",
            "INSERT INTO t VALUES ('USE x')",
            "INSERT INTO t VALUES ('a;b'),('c; DROP DATABASE x'),(\"d;\\\" GRANT\")",
            "INSERT INTO t VALUES ('it''s; USE other')",
            "INSERT INTO `t` (`grant`, `use`, `flush`) VALUES (1,2,3)",
            "INSERT INTO t (grant) VALUES (1)",
            "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE t.x = VALUES(x)",
            "CREATE TABLE `privs` (`grant` varchar(10), `drop database` int, `load` INT, `flush` INT)",
            "CREATE TABLE t (id INT) COMMENT 'GRANT; DROP DATABASE x'",
            "CREATE TABLE t (x INT, FOREIGN KEY (x) REFERENCES p (id) ON UPDATE CASCADE ON DELETE SET NULL)",
            "CREATE TABLE t (ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",
            "CREATE TABLE t1 LIKE other.t",
            "CREATE TABLE t1 AS SELECT * FROM other.t",
            "CREATE TABLE dumpfile (x INT)",
            "SELECT 'x' -- DROP DATABASE other",
            "/* GRANT ALL */ SELECT 1",
            "# FLUSH\nSELECT 1",
            "SELECT * FROM other.t",
            "SELECT 1 INTO @x",
            "SELECT @@GLOBAL.max_connections",
            "SELECT INSERT('abc', 1, 1, 'x'), REPLACE('a', 'b', 'c')",
            "UPDATE t SET x = REPLACE(x, 'a', 'b')",
            "UPDATE t JOIN u ON t.id = u.id SET t.x = u.x",
            "UPDATE t SET x = (SELECT y FROM other.u LIMIT 1)",
            "DELETE FROM t WHERE id IN (SELECT id FROM other.u)",
            "DELETE FROM t ORDER BY t.a, t.b LIMIT 1",
            "CREATE VIEW v AS SELECT o.a FROM other.t o",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select `t`.`x` AS `x` from `t` */",
            "CREATE VIEW v AS SELECT CASE WHEN a THEN b ELSE REPLACE(c, 'x', 'y') END FROM t",
            "CREATE TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW SET NEW.updated = NOW()",
            "CREATE TRIGGER trg AFTER INSERT ON `child table` FOR EACH ROW UPDATE parent SET name = CONCAT(name, '+') WHERE id = NEW.parent_id",
            "CREATE PROCEDURE p() BEGIN SELECT COUNT(*) INTO @n FROM other.t; END",
            "CREATE PROCEDURE p(OUT q INT) BEGIN DECLARE done INT; DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; SELECT 1 INTO q; END",
            "CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
            "CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM parent WHERE id < 0; END",
            "LOCK TABLES `t` WRITE",
            "LOCK TABLES t AS a READ LOCAL, u WRITE",
            "UNLOCK TABLES",
            "/*!40000 ALTER TABLE `t` DISABLE KEYS */",
            "ALTER TABLE t RENAME COLUMN a TO b",
            "ALTER TABLE t RENAME INDEX a TO b",
            "ALTER TABLE t RENAME TO u",
            "DROP TABLE IF EXISTS `t`",
            "DROP VIEW IF EXISTS `v`",
            "RENAME TABLE a TO b",
            "START TRANSACTION",
            "commit",
            "LOAD INDEX INTO CACHE t",
            "DO SETVAL(`s`, 5)",
            "CALL p()",
        ];
        for sql in cases {
            assert_eq!(decide(sql.as_bytes(), OWN), Decision::Run, "{sql}");
        }
    }

    // Guards MySQL 8 dumps of a server with GTIDs (mysqldump's default --set-gtid-purged=AUTO): the
    // backup stays restorable, and the restoring server's replication state is not touched.
    #[test]
    fn mysqldumps_gtid_purged_line_is_skipped() {
        for sql in [
            "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'",
            "SET @@GLOBAL.GTID_PURGED='3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1-9'",
            "/*!50604 SET @@global.gtid_purged = '' */",
        ] {
            assert_eq!(decide(sql.as_bytes(), OWN), Decision::SkipGtidPurged, "{sql}");
        }
        assert_eq!(
            refused("SET GLOBAL gtid_purged = ''", OWN).what,
            "SET GLOBAL gtid_purged"
        );
    }

    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            prop::sample::select(vec![
                &b"CREATE "[..],
                b"PROCEDURE p(",
                b"FUNCTION ",
                b"TRIGGER ",
                b"RETURNS ",
                b"DROP ",
                b"DATABASE ",
                b"USE ",
                b"SET ",
                b"GLOBAL ",
                b"@@",
                b"@",
                b".",
                b",",
                b";",
                b"(",
                b")",
                b"'",
                b"\"",
                b"`",
                b"/*!40101 ",
                b"*/",
                b"/*",
                b"-- ",
                b"#",
                b"\n",
                b"INSERT INTO ",
                b"x",
                b"other",
                b"BEGIN ",
                b"THEN ",
                b"HANDLER FOR ",
                b"NOT ",
                b"EACH ROW ",
                b"FOLLOWS ",
                b"INTO OUTFILE ",
                b"ON ",
                b"REFERENCES ",
                b"RENAME ",
                b"STATEMENT ",
                b"FOR ",
                b"\xff",
            ])
            .prop_map(<[u8]>::to_vec),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        // Guards the decision against any input: it ends, never panics, and does not depend on whether
        // the caller said the statement was ended by `;` unless it is an INSERT holding a `;`.
        #[test]
        fn any_bytes_get_a_decision(pieces in prop::collection::vec(piece(), 0..40)) {
            let bytes = pieces.concat();
            let d = decide(&bytes, Some("p"));
            let mut own = Some("p".to_owned());
            let f = follow(&mut own, &bytes, true);
            if code_semicolon(&bytes).is_none() {
                prop_assert_eq!(d, f);
            }
        }
    }

    #[test]
    fn semicolons_in_code_are_found_outside_literals_only() {
        assert_eq!(code_semicolon(b"INSERT INTO t VALUES ('a;b')"), None);
        assert_eq!(code_semicolon(b"INSERT INTO t VALUES ('a\\';b')"), None);
        assert_eq!(code_semicolon(b"INSERT INTO `x;y` VALUES (1) /* ; */ -- ;\n"), None);
        assert_eq!(code_semicolon(b"INSERT INTO t VALUES (1);"), Some(24));
        assert_eq!(code_semicolon(b"INSERT INTO t VALUES ('x'),(2) /*!; */"), Some(34));
        assert_eq!(code_semicolon(b"INSERT INTO t VALUES (1--1;\n)"), Some(26));
    }
}
