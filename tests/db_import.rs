//! The importer (`secours::db::importer`) and `secours db …` against a real throwaway MariaDB:
//! round trips from `mariadb-dump` and from Secours's dumper, preflight refusals that change
//! nothing, statement errors that name where they happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::{Path, PathBuf};

use mysql::prelude::Queryable;
use secours::db::connect::{ConnectError, connect};
use secours::db::dumper::dump_database;
use secours::db::importer::{ImportError, ImportOptions, ImportSummary, import_dump};
use secours::env::dbphp::DbSettings;
use secours::env::secret::Secret;
use secours::progress::{Cancel, Silent, Update};
use support::mariadb::{self, PASSWORD, Server, USER};
use support::schema::{mariadb_dump, rich_schema, write_gz};

fn options(connections: usize) -> ImportOptions {
    ImportOptions {
        connections,
        ..ImportOptions::default()
    }
}

fn import(settings: &DbSettings, dump: &Path, options: &ImportOptions) -> Result<ImportSummary, ImportError> {
    import_dump(settings, dump, options, &Silent, &Cancel::new())
}

/// A source database with the rich schema, its fingerprint, and its mariadb-dump.
fn rich_source(server: &Server, name: &str, dir: &Path) -> (String, PathBuf) {
    server.fresh_db(name);
    server.run_sql(name, &rich_schema());
    let dump = dir.join(format!("{name}.gz"));
    mariadb_dump(server, name, &dump);
    (server.fingerprint(name), dump)
}

// Guards the whole import path: a real mariadb-dump (session SETs, LOCK TABLES, DISABLE KEYS,
// triggers with `;` in bodies, routines, events, views on views, every byte value) must restore to
// the same fingerprint on one connection and with parallel workers.
#[test]
fn mariadb_dump_imports_identically_with_1_2_and_3_connections() {
    let Some(server) = mariadb::require("mariadb_dump_imports_identically_with_1_2_and_3_connections") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (expected, dump) = rich_source(server, "imp_src", dir.path());
    assert!(
        expected.contains("triggers: 2") && expected.contains("events: 1"),
        "{expected}"
    );
    for connections in [1, 2, 3] {
        let name = format!("imp_dst_{connections}");
        let settings = server.fresh_db(&name);
        let updates = std::sync::Mutex::new(Vec::new());
        let progress = |u: Update| updates.lock().unwrap().push(u);
        let summary = import_dump(&settings, &dump, &options(connections), &progress, &Cancel::new()).unwrap();
        assert_eq!(server.fingerprint(&name), expected, "connections={connections}");
        assert_eq!(summary.tables, 5, "{summary:?}");
        assert_eq!(summary.rows, 3 + 6000 + 2 + 3 + 2, "{summary:?}");
        assert_eq!(summary.dropped, None);
        assert_eq!(summary.bytes, std::fs::metadata(&dump).unwrap().len());
        let updates = updates.lock().unwrap();
        let last = updates.iter().rfind(|u| u.step == "import").unwrap();
        assert_eq!(last.percent(), Some(100));
        assert!(updates.iter().any(|u| u.detail.as_deref() == Some("child table")));
        // The restored BLOB really holds every byte value.
        let mut c = server.conn(&name);
        let vb: Option<Vec<u8>> = c.query_first("SELECT vb FROM all_types WHERE id = 2").unwrap();
        assert_eq!(vb.unwrap(), (0..=255u8).collect::<Vec<u8>>());
        // Triggers were created after the rows: no '+' was appended by the restore itself.
        let name1: Option<String> = c.query_first("SELECT name FROM parent WHERE id = 1").unwrap();
        let src1: Option<String> = server
            .conn("imp_src")
            .query_first("SELECT name FROM parent WHERE id = 1")
            .unwrap();
        assert_eq!(name1, src1);
    }
}

// Guards the Secours dumper → Secours importer round trip.
#[test]
fn secours_dump_round_trips_through_the_importer() {
    let Some(server) = mariadb::require("secours_dump_round_trips_through_the_importer") else {
        return;
    };
    server.fresh_db("rt_src");
    server.run_sql("rt_src", &rich_schema());
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("rt.gz");
    let mut conn = connect(&server.tcp_settings("rt_src")).unwrap();
    dump_database(&mut conn, &dump, &Silent, &Cancel::new()).unwrap();
    for connections in [1, 3] {
        let name = format!("rt_dst_{connections}");
        let settings = server.fresh_db(&name);
        import(&settings, &dump, &options(connections)).unwrap();
        assert_eq!(server.fingerprint(&name), server.fingerprint("rt_src"));
    }
}

// Guards: a non-empty database is refused without --replace and left as it was; with replace it is
// emptied first and ends identical to the source.
#[test]
fn non_empty_database_needs_replace() {
    let Some(server) = mariadb::require("non_empty_database_needs_replace") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (expected, dump) = rich_source(server, "ne_src", dir.path());
    let settings = server.fresh_db("ne_dst");
    server.run_sql(
        "ne_dst",
        "CREATE TABLE old_data (x INT); INSERT INTO old_data VALUES (1), (2); CREATE VIEW old_view AS SELECT x FROM old_data;",
    );
    let before = server.fingerprint("ne_dst");
    let err = import(&settings, &dump, &options(2)).unwrap_err();
    assert!(matches!(err, ImportError::NotEmpty { objects: 2, .. }), "{err:?}");
    assert!(
        err.to_string().contains("--replace") && err.to_string().contains("'ne_dst'"),
        "{err}"
    );
    assert_eq!(server.fingerprint("ne_dst"), before);

    let summary = import(
        &settings,
        &dump,
        &ImportOptions {
            replace: true,
            ..options(2)
        },
    )
    .unwrap();
    let dropped = summary.dropped.unwrap();
    assert_eq!((dropped.tables, dropped.views), (1, 1));
    assert_eq!(server.fingerprint("ne_dst"), expected);
}

fn syntax_error_dump(dir: &Path) -> PathBuf {
    let path = dir.join("bad.gz");
    write_gz(
        &path,
        b"-- a dump with a broken statement\n/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE t (x INT);\n\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2;\nINSERT INTO t VALUES (3);\n",
    );
    path
}

// Guards: a statement the server refuses stops the import with its number, its line in the dump,
// its table and the server's text, whether it ran on the main connection or on a worker.
#[test]
fn statement_error_names_number_line_table_and_server_text() {
    let Some(server) = mariadb::require("statement_error_names_number_line_table_and_server_text") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dump = syntax_error_dump(dir.path());
    for connections in [1, 2] {
        let name = format!("syn_{connections}");
        let settings = server.fresh_db(&name);
        let err = import(&settings, &dump, &options(connections)).unwrap_err();
        match &err {
            ImportError::Statement {
                number,
                line,
                table,
                server_message,
            } => {
                assert_eq!((*number, *line, table.as_deref()), (4, 6, Some("t")), "{err}");
                assert!(
                    server_message.contains("1064") && server_message.contains("syntax"),
                    "{err}"
                );
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("statement 4") && text.contains("line 6") && text.contains("table 't'"),
            "{text}"
        );
        assert!(err.is_refusal());
    }
}

fn sentinel_db(server: &Server, name: &str) -> DbSettings {
    let settings = server.fresh_db(name);
    server.run_sql(name, "CREATE TABLE keep_me (x INT); INSERT INTO keep_me VALUES (42);");
    settings
}

fn still_there(server: &Server, name: &str) {
    let v: Option<i64> = server.conn(name).query_first("SELECT x FROM keep_me").unwrap();
    assert_eq!(v, Some(42), "the previous data of '{name}' must not be dropped");
}

// Guards: with --replace, nothing is dropped when preflight fails (wrong password, a statement
// larger than max_allowed_packet, another user's DEFINER), and the messages say what to do without
// ever showing the password.
#[test]
fn failed_preflight_drops_nothing() {
    let Some(server) = mariadb::require("failed_preflight_drops_nothing") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let replace = ImportOptions {
        replace: true,
        ..options(2)
    };

    // Wrong password.
    let mut settings = sentinel_db(server, "pf_pw");
    let good_dump = syntax_error_dump(dir.path());
    settings.password = Some(Secret::new("Wr0ng-Pa55word"));
    let err = import(&settings, &good_dump, &replace).unwrap_err();
    assert!(
        matches!(err, ImportError::Connect(ConnectError::AccessDenied { .. })),
        "{err:?}"
    );
    assert!(!err.is_refusal());
    let text = err.to_string();
    assert!(text.contains("'secours'") && text.contains("db.php"), "{text}");
    assert!(!text.contains("Wr0ng") && !format!("{err:?}").contains("Wr0ng") && !text.contains(PASSWORD));
    still_there(server, "pf_pw");

    // A statement larger than the server's max_allowed_packet (read, not changed: other tests share
    // the server). The syntax error after it must not be reached either.
    let settings = sentinel_db(server, "pf_big");
    let max: Option<u64> = server.admin().query_first("SELECT @@max_allowed_packet").unwrap();
    let max = max.unwrap() as usize;
    let mut sql = b"CREATE TABLE big (v LONGTEXT);\nINSERT INTO big VALUES ('".to_vec();
    sql.resize(sql.len() + max + 10, b'a');
    sql.extend_from_slice(b"');\nDROP TABLE keep_me;\n");
    let big = dir.path().join("big.gz");
    write_gz(&big, &sql);
    let err = import(&settings, &big, &replace).unwrap_err();
    assert!(matches!(err, ImportError::TooBig { number: 2, line: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("max_allowed_packet"), "{err}");
    still_there(server, "pf_big");
    // Into an empty database the dump is read once: the check comes at the statement, and what was
    // created before it is dropped again, so the database is as empty as it was.
    let empty = server.fresh_db("pf_big_empty");
    let err = import(&empty, &big, &options(2)).unwrap_err();
    assert!(matches!(err, ImportError::TooBig { number: 2, line: 2, .. }), "{err:?}");
    let tables: Option<u64> = server
        .admin()
        .query_first("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'pf_big_empty'")
        .unwrap();
    assert_eq!(tables, Some(0), "the table created before the refusal was dropped");

    // Another user's DEFINER, imported by a user without SUPER / SET USER.
    sentinel_db(server, "pf_def");
    let limited = server.user_limited_to("pf_def", "limited", "lim-pw");
    let definer = dir.path().join("definer.gz");
    write_gz(
        &definer,
        b"CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1);\nDELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.x = NEW.x + 1 */;;\nDELIMITER ;\n/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select `t`.`x` AS `x` from `t` */;\n",
    );
    let err = import(&limited, &definer, &replace).unwrap_err();
    assert!(matches!(err, ImportError::ForeignDefiners { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("'root@localhost'") && text.contains("--rewrite-definers") && text.contains("'limited@%'"),
        "{text}"
    );
    still_there(server, "pf_def");

    // With rewrite_definers the objects belong to the importing user.
    let summary = import(
        &limited,
        &definer,
        &ImportOptions {
            rewrite_definers: true,
            ..replace.clone()
        },
    )
    .unwrap();
    assert_eq!(summary.definers_rewritten, 2);
    let definers: Vec<String> = server
        .admin()
        .query(
            "SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'pf_def' \
             UNION ALL SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'pf_def'",
        )
        .unwrap();
    assert_eq!(definers, vec!["limited@%".to_owned(), "limited@%".to_owned()]);

    // Without the pre-scan (the restore, which rolls back), the same checks stop the import at the
    // statement itself: before sending the too-big one, and at the first foreign DEFINER.
    let inflight = ImportOptions {
        prescan: false,
        ..replace
    };
    let settings = sentinel_db(server, "pf_big");
    let err = import(&settings, &big, &inflight).unwrap_err();
    assert!(matches!(err, ImportError::TooBig { number: 2, line: 2, .. }), "{err:?}");
    let keep_me: Option<u64> = server
        .admin()
        .query_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'pf_big' AND TABLE_NAME = 'keep_me'",
        )
        .unwrap();
    assert_eq!(
        keep_me,
        Some(0),
        "replace dropped it first: the caller's rollback brings it back"
    );
    let err = import(&limited, &definer, &inflight).unwrap_err();
    assert!(matches!(err, ImportError::ForeignDefiners { .. }), "{err:?}");
    let summary = import(
        &limited,
        &definer,
        &ImportOptions {
            rewrite_definers: true,
            ..inflight
        },
    )
    .unwrap();
    assert_eq!(summary.definers_rewritten, 2);
}

// Guards the cancel token: a cancelled import stops before changing anything it has not started.
#[test]
fn cancelled_import_is_reported() {
    let Some(server) = mariadb::require("cancelled_import_is_reported") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dump = syntax_error_dump(dir.path());
    let settings = sentinel_db(server, "cancel_dst");
    let cancel = Cancel::new();
    cancel.cancel();
    let err = import_dump(
        &settings,
        &dump,
        &ImportOptions {
            replace: true,
            ..options(2)
        },
        &Silent,
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Cancelled { .. }), "{err:?}");
    still_there(server, "cancel_dst");
}

fn secours_cli(config: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("secours").unwrap();
    c.env_remove("SECOURS_CONFIG")
        .env("LANG", "C")
        .env("SECOURS_DATA_DIR", config.parent().unwrap().join("data"))
        .arg("--config")
        .arg(config);
    c
}

fn write_config(dir: &Path, server: &Server, db: &str, password: &str) -> PathBuf {
    let root = dir.join("env");
    std::fs::create_dir_all(&root).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[watch]\nenvironments = ['x']\n\n[restore]\ntarget = 'x'\n\n[environments.x]\nroot = '{}'\n\n[environments.x.database]\nhost = '127.0.0.1'\nport = {}\nname = '{db}'\nuser = '{USER}'\npassword = '{password}'\n",
            root.display(),
            server.port
        ),
    )
    .unwrap();
    config
}

// Guards the CLI: exit codes 0 / 2 / 3, JSON summary, refusal of a non-empty database, drop-all
// needing --yes, dump → import round trip, and no password in any output.
#[test]
fn cli_db_import_drop_all_and_dump() {
    let Some(server) = mariadb::require("cli_db_import_drop_all_and_dump") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (expected, dump) = rich_source(server, "cli_src", dir.path());
    server.fresh_db("cli_dst");
    let config = write_config(dir.path(), server, "cli_dst", PASSWORD);

    let out = secours_cli(&config)
        .args(["db", "import"])
        .arg(&dump)
        .args(["--env", "x", "--connections", "3", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["summary"]["tables"], 5);
    assert_eq!(server.fingerprint("cli_dst"), expected);

    // Again without --replace: refused, exit 2.
    let out = secours_cli(&config)
        .args(["db", "import"])
        .arg(&dump)
        .args(["--env", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replace"));

    // drop-all needs --yes.
    let out = secours_cli(&config)
        .args(["db", "drop-all", "--env", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(server.fingerprint("cli_dst"), expected);

    // dump, drop-all --yes, import the Secours dump.
    let own = dir.path().join("own.gz");
    secours_cli(&config)
        .args(["db", "dump", "--env", "x", "-o"])
        .arg(&own)
        .assert()
        .success();
    secours_cli(&config)
        .args(["db", "drop-all", "--env", "x", "--yes"])
        .assert()
        .success();
    assert!(server.fingerprint("cli_dst").contains("base_tables: 0"));
    secours_cli(&config)
        .args(["db", "import", "--connections", "1", "--env", "x"])
        .arg(&own)
        .assert()
        .success();
    assert_eq!(server.fingerprint("cli_dst"), expected);

    // Wrong password: exit 3, clear message, no password.
    let bad = write_config(dir.path(), server, "cli_dst", "Wr0ng-Pa55word");
    let out = secours_cli(&bad)
        .args(["db", "import", "--replace", "--env", "x"])
        .arg(&dump)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("refused user 'secours'"), "{all}");
    assert!(!all.contains("Wr0ng"), "{all}");
    assert_eq!(server.fingerprint("cli_dst"), expected);

    // Unknown environment: exit 3.
    let out = secours_cli(&config)
        .args(["db", "import", "--env", "nope"])
        .arg(&dump)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

// Guards: a dump that switches autocommit off and ends without COMMIT keeps its rows (the
// importer commits at the end), on one connection and with workers.
#[test]
fn rows_after_the_last_commit_are_kept() {
    let Some(server) = mariadb::require("rows_after_the_last_commit_are_kept") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("nocommit.gz");
    write_gz(
        &dump,
        b"CREATE TABLE t (x INT) ENGINE=InnoDB;\nset autocommit=0;\nINSERT INTO t VALUES (1),(2);\nINSERT INTO t VALUES (3);\n",
    );
    for connections in [1, 2] {
        let name = format!("nocommit_{connections}");
        let settings = server.fresh_db(&name);
        let summary = import(&settings, &dump, &options(connections)).unwrap();
        assert_eq!((summary.statements, summary.rows), (4, 3));
        let n: Option<u64> = server.conn(&name).query_first("SELECT COUNT(*) FROM t").unwrap();
        assert_eq!(n, Some(3), "connections={connections}");
    }
}
