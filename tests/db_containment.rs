//! Containment against a real throwaway MariaDB (issue 12, items 3 and 7): a dump made with
//! `--databases X --add-drop-database` restores into another database while X stays as it was; every
//! statement kind that reaches outside its database is refused with its line and changes nothing,
//! neither in the target nor anywhere else on the server; `secours verify` says so; and column values
//! the server does not compute (DEFAULT CURRENT_TIMESTAMP, INVISIBLE) survive `secours db dump` → import.
//!
//! The tests of this file compare the whole server's state (databases, accounts, global variables), so
//! they hold one lock: another test of this file creating a database meanwhile would be a false alarm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use mysql::prelude::Queryable;
use secours::db::importer::{ImportError, ImportOptions, import_dump};
use secours::progress::{Cancel, Silent};
use support::mariadb::{self, PASSWORD, Server, USER};
use support::schema::{rich_schema, write_gz};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn secours_cli(config: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("secours").unwrap();
    c.env_remove("SECOURS_CONFIG")
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("SECOURS_DATA_DIR", config.parent().unwrap().join("data"))
        .arg("--config")
        .arg(config);
    c
}

/// A configuration whose environment `x` uses database `db` of the test server.
fn write_config(dir: &Path, server: &Server, db: &str) -> PathBuf {
    let root = dir.join("env");
    std::fs::create_dir_all(&root).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[watch]\nenvironments = ['x']\n\n[restore]\ntarget = 'x'\n\n[environments.x]\nroot = '{}'\n\n[environments.x.database]\nhost = '127.0.0.1'\nport = {}\nname = '{db}'\nuser = '{USER}'\npassword = '{PASSWORD}'\n",
            root.display(),
            server.port
        ),
    )
    .unwrap();
    config
}

/// Everything on the server a dump must not touch besides its target: the databases, the accounts and
/// their privileges, some global variables, the plugins.
fn server_state(server: &Server) -> String {
    let mut admin = server.admin();
    let one = |c: &mut mysql::Conn, sql: &str| -> String {
        let v: Option<Option<String>> = c.query_first(sql).unwrap();
        v.flatten().unwrap_or_default()
    };
    admin.query_drop("SET SESSION group_concat_max_len = 1048576").unwrap();
    [
        "SELECT GROUP_CONCAT(SCHEMA_NAME ORDER BY SCHEMA_NAME) FROM information_schema.SCHEMATA",
        "SELECT GROUP_CONCAT(CONCAT_WS('|', User, Host, Priv) ORDER BY User, Host SEPARATOR '\\n') FROM mysql.global_priv",
        "SELECT GROUP_CONCAT(CONCAT_WS('|', Host, Db, User) ORDER BY Host, Db, User) FROM mysql.db",
        "SELECT CONCAT_WS('|', @@GLOBAL.max_connections, @@GLOBAL.sql_mode, @@GLOBAL.wait_timeout)",
        "SELECT GROUP_CONCAT(PLUGIN_NAME, ':', PLUGIN_STATUS ORDER BY PLUGIN_NAME) FROM information_schema.PLUGINS",
    ]
    .iter()
    .map(|sql| one(&mut admin, sql))
    .collect::<Vec<_>>()
    .join("\n")
}

/// `tool --databases db --add-drop-database …` (mysqldump or mariadb-dump) into a `.gz`.
fn databases_dump(server: &Server, tool: &str, db: &str, path: &Path) -> String {
    let out = Command::new(tool)
        .arg("--no-defaults")
        .arg(format!("--socket={}", server.socket.display()))
        .arg(format!("--user={USER}"))
        .args([
            "--databases",
            db,
            "--add-drop-database",
            "--routines",
            "--triggers",
            "--events",
            "--single-transaction",
        ])
        .env("MYSQL_PWD", PASSWORD)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (mariadb-client) must be installed: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    write_gz(path, &out.stdout);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// Guards the bug of issue 12 item 3: a dump made with `--databases prodapp --add-drop-database`, imported
// into another database of the same server, ran `DROP DATABASE IF EXISTS prodapp` and said "Done".
// Through `secours db import` (pre-scan into a non-empty database, checks as it goes into an empty one)
// and the restore's path (no pre-scan), with mysqldump's and mariadb-dump's output.
#[test]
fn a_databases_dump_restores_into_another_database_and_leaves_its_own_alone() {
    let Some(server) = mariadb::require("a_databases_dump_restores_into_another_database_and_leaves_its_own_alone")
    else {
        return;
    };
    let _serial = serial();
    server.fresh_db("cont_prod");
    server.run_sql("cont_prod", &rich_schema());
    let prod = server.fingerprint("cont_prod");
    let dir = tempfile::tempdir().unwrap();
    for tool in ["mysqldump", "mariadb-dump"] {
        let dump = dir.path().join(format!("{tool}.gz"));
        let text = databases_dump(server, tool, "cont_prod", &dump);
        assert!(
            text.contains("DROP DATABASE IF EXISTS `cont_prod`")
                && text.contains("CREATE DATABASE")
                && text.contains("USE `cont_prod`"),
            "{tool} wrote no --databases statements"
        );
        let target = format!("cont_dst_{}", tool.replace('-', "_"));
        server.fresh_db(&target);
        let state = server_state(server);
        let config = write_config(dir.path(), server, &target);

        // Into the empty target: the checks run as the statements come.
        let out = secours_cli(&config)
            .args(["db", "import", "--env", "x", "--connections", "2"])
            .arg(&dump)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            server.fingerprint("cont_prod"),
            prod,
            "{tool}: the dump's own database changed"
        );
        assert_eq!(
            server.fingerprint(&target),
            prod,
            "{tool}: the target did not get the data"
        );
        assert_eq!(server_state(server), state, "{tool}");

        // Over it again (pre-scan, then drop-all), on one connection.
        let out = secours_cli(&config)
            .args(["db", "import", "--env", "x", "--replace", "--connections", "1"])
            .arg(&dump)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(server.fingerprint("cont_prod"), prod, "{tool}");
        assert_eq!(server.fingerprint(&target), prod, "{tool}");

        // The restore's way: no pre-scan.
        let options = ImportOptions {
            replace: true,
            prescan: false,
            ..ImportOptions::default()
        };
        import_dump(&server.tcp_settings(&target), &dump, &options, &Silent, &Cancel::new()).unwrap();
        assert_eq!(server.fingerprint("cont_prod"), prod, "{tool}");
        assert_eq!(server.fingerprint(&target), prod, "{tool}");
        assert_eq!(server_state(server), state, "{tool}");
    }
}

/// A small hand-written dump of `cont_src` with `statement` at line 6 (or lines 6… when it holds several).
fn dump_with(statement: &str) -> Vec<u8> {
    format!(
        "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n\
         /*!40101 SET NAMES utf8mb4 */;\n\
         USE `cont_src`;\n\
         CREATE TABLE t (x INT);\n\
         INSERT INTO t VALUES (1),(2);\n\
         {statement}\n\
         INSERT INTO t VALUES (3);\n\
         -- Dump completed on 2024-03-05  7:00:01\n"
    )
    .into_bytes()
}

/// Each refused kind: the statement at line 6 (after a `DELIMITER ;;` line: at line 7) and what the
/// message names.
fn refused_cases(files: &Path) -> Vec<(String, u64, &'static str)> {
    let outfile = files.join("out.txt");
    let dumpfile = files.join("dump.bin");
    vec![
        ("DROP DATABASE cont_victim;".into(), 6, "DROP DATABASE of 'cont_victim'"),
        (
            "/*!40000 DROP DATABASE IF EXISTS `cont_victim`*/;".into(),
            6,
            "DROP DATABASE of 'cont_victim'",
        ),
        ("CREATE DATABASE cont_new;".into(), 6, "CREATE DATABASE of 'cont_new'"),
        (
            "/*!40000 CREATE SCHEMA IF NOT EXISTS `cont_new` */;".into(),
            6,
            "CREATE DATABASE of 'cont_new'",
        ),
        (
            "ALTER DATABASE cont_victim CHARACTER SET latin1;".into(),
            6,
            "ALTER DATABASE of 'cont_victim'",
        ),
        ("USE cont_victim;".into(), 6, "USE of 'cont_victim'"),
        (
            "INSERT INTO cont_victim.t VALUES (99);".into(),
            6,
            "INSERT into 'cont_victim.t'",
        ),
        (
            "CREATE TABLE `cont_victim`.`x` (y INT);".into(),
            6,
            "CREATE TABLE 'cont_victim.x'",
        ),
        ("DROP TABLE cont_victim.t;".into(), 6, "DROP TABLE 'cont_victim.t'"),
        (
            "INSERT INTO `cont_src`.`t` VALUES (9);".into(),
            6,
            "INSERT into 'cont_src.t'",
        ),
        (
            "GRANT ALL PRIVILEGES ON *.* TO 'cont_keep'@'%';".into(),
            6,
            "GRANT",
        ),
        (
            "REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'cont_keep'@'%';".into(),
            6,
            "REVOKE",
        ),
        (
            "CREATE USER 'cont_new'@'%' IDENTIFIED BY 'x';".into(),
            6,
            "CREATE USER",
        ),
        ("DROP USER 'cont_keep'@'%';".into(), 6, "DROP USER"),
        (
            "ALTER USER 'cont_keep'@'%' IDENTIFIED BY 'changed';".into(),
            6,
            "ALTER USER",
        ),
        (
            "RENAME USER 'cont_keep'@'%' TO 'cont_moved'@'%';".into(),
            6,
            "RENAME USER",
        ),
        (
            "SET PASSWORD FOR 'cont_keep'@'%' = PASSWORD('changed');".into(),
            6,
            "SET PASSWORD",
        ),
        (
            "SET GLOBAL max_connections = 77;".into(),
            6,
            "SET GLOBAL max_connections",
        ),
        (
            "/*!40101 SET @@GLOBAL.max_connections = 78 */;".into(),
            6,
            "SET @@GLOBAL.max_connections",
        ),
        (
            "SET @a = 1, GLOBAL wait_timeout = 79;".into(),
            6,
            "SET GLOBAL wait_timeout",
        ),
        ("FLUSH PRIVILEGES;".into(), 6, "FLUSH"),
        (
            "INSTALL PLUGIN example SONAME 'ha_example';".into(),
            6,
            "INSTALL PLUGIN",
        ),
        ("UNINSTALL PLUGIN example;".into(), 6, "UNINSTALL PLUGIN"),
        ("SHUTDOWN;".into(), 6, "SHUTDOWN"),
        (
            "LOAD DATA INFILE '/etc/hostname' INTO TABLE t;".into(),
            6,
            "LOAD DATA",
        ),
        (
            format!("SELECT * FROM t INTO OUTFILE '{}';", outfile.display()),
            6,
            "SELECT … INTO OUTFILE",
        ),
        (
            format!("SELECT 1 INTO DUMPFILE '{}';", dumpfile.display()),
            6,
            "SELECT … INTO DUMPFILE",
        ),
        (
            "DELIMITER ;;\nCREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO cont_victim.t VALUES (NEW.x) ;;\nDELIMITER ;".into(),
            7,
            "INSERT into 'cont_victim.t'",
        ),
        (
            "DELIMITER ;;\nINSERT INTO t VALUES (5); DROP TABLE cont_victim.t;;\nDELIMITER ;".into(),
            7,
            "DROP TABLE 'cont_victim.t'",
        ),
        (
            "SET STATEMENT max_statement_time=60 FOR DROP DATABASE cont_victim;".into(),
            6,
            "DROP DATABASE of 'cont_victim' inside another statement",
        ),
    ]
}

fn sentinel(server: &Server, name: &str) {
    server.fresh_db(name);
    server.run_sql(name, "CREATE TABLE keep_me (x INT); INSERT INTO keep_me VALUES (42);");
}

// Guards issue 12 item 3: each statement kind that reaches outside the dump's database is refused with
// its line, exit code 2, and nothing changes — not the target (with --replace, nothing is dropped; into
// an empty database, what the dump created before the statement is dropped again), not the other
// database, not the accounts, global variables, plugins or files. Also on the restore's path (no
// pre-scan), where the refused statement itself is never sent.
#[test]
fn each_statement_reaching_outside_is_refused_with_its_line_and_changes_nothing() {
    let Some(server) = mariadb::require("each_statement_reaching_outside_is_refused_with_its_line_and_changes_nothing")
    else {
        return;
    };
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    // The server (running as this user) may write into it: an OUTFILE that ran would appear there.
    server.fresh_db("cont_victim");
    server.run_sql(
        "cont_victim",
        "CREATE TABLE t (x INT); INSERT INTO t VALUES (7); DROP USER IF EXISTS 'cont_keep'@'%'; \
         CREATE USER 'cont_keep'@'%' IDENTIFIED BY 'keep'; GRANT SELECT ON cont_victim.* TO 'cont_keep'@'%';",
    );
    let victim = server.fingerprint("cont_victim");
    sentinel(server, "cont_full");
    let full = server.fingerprint("cont_full");
    server.fresh_db("cont_empty");
    let empty = server.fingerprint("cont_empty");
    server.fresh_db("cont_restore");
    let state = server_state(server);
    let full_config = write_config(&dir.path().join("full"), server, "cont_full");
    let empty_config = write_config(&dir.path().join("empty"), server, "cont_empty");

    for (n, (statement, line, what)) in refused_cases(files.path()).into_iter().enumerate() {
        let dump = dir.path().join(format!("refused_{n}.gz"));
        write_gz(&dump, &dump_with(&statement));
        for (config, db, before, replace) in [
            (&full_config, "cont_full", &full, true),
            (&empty_config, "cont_empty", &empty, false),
        ] {
            let mut cmd = secours_cli(config);
            cmd.args(["db", "import", "--env", "x"]).arg(&dump);
            if replace {
                cmd.arg("--replace");
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{statement} into {db}: {stderr}");
            assert!(
                stderr.contains(&format!("line {line} "))
                    && stderr.contains(what)
                    && stderr.contains("reaches outside"),
                "{statement} into {db}: {stderr}"
            );
            assert!(stderr.contains("refused_"), "the message names the dump: {stderr}");
            assert_eq!(&server.fingerprint(db), before, "{statement}: the target {db} changed");
            assert_eq!(
                server.fingerprint("cont_victim"),
                victim,
                "{statement}: the other database changed"
            );
            assert_eq!(server_state(server), state, "{statement}: the server changed");
        }
        // The restore's path: stopped at the statement, which was never sent (what came before is the
        // caller's to roll back).
        let options = ImportOptions {
            prescan: false,
            connections: 1,
            ..ImportOptions::default()
        };
        let settings = server.fresh_db("cont_restore");
        let err = import_dump(&settings, &dump, &options, &Silent, &Cancel::new()).unwrap_err();
        assert!(
            matches!(&err, ImportError::OutsideDatabase { line: l, .. } if *l == line),
            "{statement}: {err:?}"
        );
        assert!(err.is_refusal());
        assert_eq!(server.fingerprint("cont_victim"), victim, "{statement}");
        let rows: Option<u64> = server
            .conn("cont_restore")
            .query_first("SELECT COUNT(*) FROM t")
            .unwrap();
        assert_eq!(
            rows,
            Some(2),
            "{statement}: the rows after the refused statement were not sent"
        );
        assert!(!files.path().join("out.txt").exists() && !files.path().join("dump.bin").exists());
    }
    server.run_sql("cont_victim", "DROP USER 'cont_keep'@'%';");
}

fn good_media() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for d in ["documents", "pictures"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, d, std::io::empty()).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &tar).unwrap();
    e.finish().unwrap()
}

// Guards issue 12 item 3 (c): `secours verify` keeps the verdict "ok" for a sound file that reaches
// outside its database, but its output and --json say where and what; the import then refuses it up
// front from the remembered facts, before --replace drops anything.
#[test]
fn verify_says_the_dump_reaches_outside_and_the_import_refuses_it() {
    let Some(server) = mariadb::require("verify_says_the_dump_reaches_outside_and_the_import_refuses_it") else {
        return;
    };
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pair = dir.path().join("pair");
    std::fs::create_dir_all(&pair).unwrap();
    let dump = pair.join("cont_src.gz");
    write_gz(&dump, &dump_with("DROP DATABASE IF EXISTS `cont_victim2`;"));
    std::fs::write(pair.join("media.taz"), good_media()).unwrap();
    server.fresh_db("cont_victim2");
    sentinel(server, "cont_known");
    let before = server.fingerprint("cont_known");
    let config = write_config(dir.path(), server, "cont_known");

    let out = secours_cli(&config)
        .args(["verify", "--json"])
        .arg(&pair)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verdict"], "ok", "{json}");
    let containment = &json["db"]["details"]["containment"];
    assert_eq!(containment["line"], 6, "{json}");
    assert_eq!(containment["reach"], "other-database", "{json}");
    assert_eq!(containment["what"], "DROP DATABASE of 'cont_victim2'", "{json}");
    assert_eq!(
        json["db"]["details"]["import_facts"]["containment"]["state"], "outside",
        "{json}"
    );

    // Remembered: the human output says it too.
    let out = secours_cli(&config).arg("verify").arg(&pair).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("reaches outside its database")
            && text.contains("line 6 (statement 5): DROP DATABASE of 'cont_victim2'"),
        "{text}"
    );

    let out = secours_cli(&config)
        .args(["db", "import", "--env", "x", "--replace"])
        .arg(&dump)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 6 ") && stderr.contains("'cont_victim2'"),
        "{stderr}"
    );
    assert_eq!(server.fingerprint("cont_known"), before);
    let exists: Option<u64> = server
        .admin()
        .query_first("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'cont_victim2'")
        .unwrap();
    assert_eq!(exists, Some(1));
}

/// `id, created, changed, hidden, doubled, tripled` of the timestamp test's table.
type TsRow = (i32, String, Option<String>, Option<i32>, i32, i32);

// Guards issue 12 item 7: values the server does not compute survive `secours db dump` → import — a
// `DEFAULT CURRENT_TIMESTAMP` column (MySQL 8 says DEFAULT_GENERATED in EXTRA, which was taken for a
// generated column), an `ON UPDATE` one, and an INVISIBLE one (left out by `SELECT *`) — while VIRTUAL /
// PERSISTENT generated columns are computed again.
#[test]
fn default_current_timestamp_and_invisible_values_survive_dump_and_import() {
    let Some(server) = mariadb::require("default_current_timestamp_and_invisible_values_survive_dump_and_import")
    else {
        return;
    };
    let _serial = serial();
    server.fresh_db("cont_ts_src");
    server.run_sql(
        "cont_ts_src",
        "CREATE TABLE ts (id INT PRIMARY KEY, \
           created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
           changed DATETIME(3) DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3), \
           hidden INT INVISIBLE DEFAULT 7, \
           doubled INT AS (id * 2) VIRTUAL, \
           tripled INT AS (id * 3) PERSISTENT); \
         INSERT INTO ts (id, created, changed, hidden) VALUES \
           (1, '2001-02-03 04:05:06', '2002-03-04 05:06:07.125', 42), (2, '1999-12-31 23:59:59', NULL, NULL); \
         CREATE TABLE inv (id INT PRIMARY KEY, hidden INT INVISIBLE DEFAULT 7); \
         INSERT INTO inv (id, hidden) VALUES (1, 42), (2, NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), server, "cont_ts_src");
    let dump = dir.path().join("ts.gz");
    secours_cli(&config)
        .args(["db", "dump", "--env", "x", "-o"])
        .arg(&dump)
        .assert()
        .success();
    let settings = server.fresh_db("cont_ts_dst");
    import_dump(&settings, &dump, &ImportOptions::default(), &Silent, &Cancel::new()).unwrap();
    let rows = |db: &str| -> Vec<TsRow> {
        server
            .conn(db)
            .query(
                "SELECT id, CAST(created AS CHAR), CAST(changed AS CHAR), hidden, doubled, tripled FROM ts ORDER BY id",
            )
            .unwrap()
    };
    let expected = vec![
        (
            1,
            "2001-02-03 04:05:06".to_owned(),
            Some("2002-03-04 05:06:07.125".to_owned()),
            Some(42),
            2,
            3,
        ),
        (2, "1999-12-31 23:59:59".to_owned(), None, None, 4, 6),
    ];
    assert_eq!(rows("cont_ts_src"), expected);
    assert_eq!(rows("cont_ts_dst"), expected);
    // (The harness's fingerprint orders `SELECT *` by every column, invisible ones included: not usable.)
    let ddl = |db: &str| -> Option<(String, String)> { server.conn(db).query_first("SHOW CREATE TABLE ts").unwrap() };
    assert_eq!(ddl("cont_ts_dst"), ddl("cont_ts_src"));
    // Without generated columns the INSERTs used to have no column list: `SELECT *` lost `hidden`.
    let inv: Vec<(i32, Option<i32>)> = server
        .conn("cont_ts_dst")
        .query("SELECT id, hidden FROM inv ORDER BY id")
        .unwrap();
    assert_eq!(inv, vec![(1, Some(42)), (2, None)]);
}
