//! The database engine (connect, drop-all, dumper) against a real throwaway MariaDB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::{Path, PathBuf};

use mysql::prelude::Queryable;
use secours::db::connect::{ConnectError, connect, connect_with, server_info};
use secours::db::drop_all::{DropSummary, drop_all, is_empty, object_counts};
use secours::db::dumper::{DumpError, dump_database};
use secours::env::dbphp::DbSettings;
use secours::env::secret::Secret;
use secours::progress::{Cancel, Silent};
use support::mariadb::{self, PASSWORD};

/// Every byte value once, as a hex literal.
fn all_bytes_hex() -> String {
    (0..=255u8).map(|b| format!("{b:02X}")).collect()
}

/// A schema with every kind of object and awkward names and values.
fn rich_schema() -> String {
    let all = all_bytes_hex();
    format!(
        r#"
CREATE TABLE parent (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL) ENGINE=InnoDB;
CREATE TABLE `child table` (
  id INT PRIMARY KEY,
  parent_id INT,
  note TEXT,
  CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE `a``first ünï ☃` (id INT PRIMARY KEY, child_id INT, v VARCHAR(10),
  CONSTRAINT `fk ``odd` FOREIGN KEY (child_id) REFERENCES `child table` (id)) ENGINE=InnoDB;
CREATE TABLE all_types (
  id INT PRIMARY KEY AUTO_INCREMENT,
  ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(20,6), fl FLOAT, db DOUBLE,
  bt BIT(10), b1 BIT(1),
  d DATE, dt DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, tm TIME(3), yr YEAR,
  c CHAR(5), vc VARCHAR(255), tx TEXT, lt TEXT CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(300), bl BLOB, lb LONGBLOB, eb BLOB,
  en ENUM('a','b','c d'), st SET('x','y','z'),
  js JSON,
  g POINT NULL,
  gen INT AS (ti + 1) VIRTUAL,
  gens INT AS (LENGTH(vc)) PERSISTENT
) ENGINE=InnoDB;
CREATE TABLE myisam_t (k VARCHAR(20) PRIMARY KEY, v MEDIUMTEXT) ENGINE=MyISAM;

INSERT INTO parent (name) VALUES ('alpha'), ('beta'), ('gamma ; delta');
SET SESSION max_recursive_iterations = 100000;
INSERT INTO `child table` (id, parent_id, note)
  WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 4000)
  SELECT n, 1 + n % 3, CONCAT(n, ' ', REPEAT('xé\'"\\;', 60)) FROM s;
INSERT INTO `a``first ünï ☃` VALUES (1, 1, 'ü`'), (2, NULL, NULL);
INSERT INTO all_types (id) VALUES (1);
INSERT INTO all_types (id, ti, si, mi, bi, bu, de, fl, db, bt, b1, d, dt, ts, tm, yr, c, vc, tx, lt, bn, vb, bl, lb, eb, en, st, js, g)
VALUES (2, -128, 65535, -8388608, -9223372036854775808, 18446744073709551615, -12345678901234.123456, 1.5,
  3.141592653589793, b'1010101010', b'1', '2024-02-29', '2024-12-31 23:59:59.123456', '2024-06-01 12:00:00',
  '-838:59:59.000', 2155, 'ab', 'emoji 🚀🎉 and \'quotes\' "double"', 'nul:\0 nl:\n cr:\r z:\Z bs:\\ q:\' dq:\" end',
  'Café crème', 0x00FF0A0D, UNHEX('{all}'), UNHEX(REPEAT('{all}', 40)), REPEAT(UNHEX('{all}'), 6000), '',
  'c d', 'x,z', '{{"k": "v 🚀", "n": [1, 2, null], "q": "a\\"b"}}', ST_GeomFromText('POINT(1 2)'));
INSERT INTO all_types (id, ti, bt, b1, tx, vb) VALUES (3, 0, b'0', b'0', '', '');
INSERT INTO myisam_t VALUES ('k1', REPEAT('long line ', 200000));

CREATE VIEW z_base_view AS SELECT id, name FROM parent;
CREATE VIEW `a view on view` AS SELECT id, UPPER(name) AS up FROM z_base_view WHERE id > 0;
CREATE VIEW checked AS SELECT id, name FROM parent WHERE id > 0 WITH CASCADED CHECK OPTION;
CREATE VIEW `b view ``3` AS SELECT v.up, c.note FROM `a view on view` v JOIN `child table` c ON c.parent_id = v.id;

DELIMITER $$
CREATE TRIGGER parent_bi BEFORE INSERT ON parent FOR EACH ROW
BEGIN
  -- a comment; with a semicolon
  /* block comment; also ;; here */
  SET NEW.name = TRIM(NEW.name); # hash comment;
  IF NEW.name = '' THEN SET NEW.name = 'x;;y'; END IF;
END$$
CREATE TRIGGER parent_bi2 BEFORE INSERT ON parent FOR EACH ROW FOLLOWS parent_bi SET NEW.name = CONCAT(NEW.name, '')$$
CREATE TRIGGER `trg ü``q` AFTER INSERT ON `child table` FOR EACH ROW UPDATE parent SET name = name WHERE id = NEW.parent_id$$
CREATE PROCEDURE `proc; name`(IN p INT, OUT q VARCHAR(20))
  COMMENT 'proc comment'
BEGIN
  -- comment ; here
  SELECT COUNT(*) INTO @n FROM parent WHERE id > p;
  SET q = CONCAT('n=', @n, ';');
END$$
SET sql_mode = 'ANSI_QUOTES,NO_ZERO_DATE'$$
CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x * 2$$
SET sql_mode = DEFAULT$$
CREATE EVENT ev_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE COMMENT 'nightly; job'
  DO BEGIN DELETE FROM parent WHERE id < 0; END$$
DELIMITER ;
"#
    )
}

// Guards the PHP connection rules against a real server: an explicit socket, a socket found among
// candidates for host=localhost, and TCP all reach the database with the connection charset set.
#[test]
fn connects_by_socket_and_tcp() {
    let Some(server) = mariadb::require("connects_by_socket_and_tcp") else {
        return;
    };
    server.fresh_db("connect_ok");
    let how = |conn: &mut mysql::Conn| -> (String, String, String) {
        conn.query_first("SELECT DATABASE(), @@character_set_connection, HOST FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()")
            .unwrap()
            .unwrap()
    };
    let mut by_socket = connect(&server.socket_settings("connect_ok")).unwrap();
    let (db, charset, host) = how(&mut by_socket);
    assert_eq!(
        (db.as_str(), charset.as_str(), host.as_str()),
        ("connect_ok", "utf8mb4", "localhost")
    );

    let mut found = server.socket_settings("connect_ok");
    found.socket = None;
    let missing = server.dir.join("nope.sock");
    let mut by_candidate = connect_with(&found, &[missing.as_path(), server.socket.as_path()]).unwrap();
    assert_eq!(how(&mut by_candidate).2, "localhost");

    let mut tcp_settings = server.tcp_settings("connect_ok");
    tcp_settings.charset = Some("latin1".into());
    let mut by_tcp = connect(&tcp_settings).unwrap();
    let (db, charset, host) = how(&mut by_tcp);
    assert_eq!((db.as_str(), charset.as_str()), ("connect_ok", "latin1"));
    // TCP clients show as "host:port", socket clients as plain "localhost".
    assert!(host.contains(':'), "{host}");
}

// Guards: a wrong password gives a clear message naming user and database, never the password.
#[test]
fn wrong_password_is_explained_without_the_password() {
    let Some(server) = mariadb::require("wrong_password_is_explained_without_the_password") else {
        return;
    };
    server.fresh_db("connect_pw");
    for mut settings in [server.tcp_settings("connect_pw"), server.socket_settings("connect_pw")] {
        settings.password = Some(Secret::new("Wr0ng-Pa55word"));
        let err = connect(&settings).map(|_| ()).unwrap_err();
        assert!(matches!(err, ConnectError::AccessDenied { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("'secours'") && text.contains("'connect_pw'") && text.contains("db.php"),
            "{text}"
        );
        assert!(
            !text.contains("Wr0ng") && !format!("{err:?}").contains("Wr0ng"),
            "{text}"
        );
        assert!(!text.contains(PASSWORD));
    }
}

#[test]
fn unknown_database_is_named() {
    let Some(server) = mariadb::require("unknown_database_is_named") else {
        return;
    };
    let err = connect(&server.tcp_settings("no_such_db_here"))
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, ConnectError::UnknownDatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("'no_such_db_here'"), "{err}");
}

// Guards: a server that is not running gives "cannot reach … start MySQL", naming where we looked.
#[test]
fn server_not_running_is_explained() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = DbSettings {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        name: Some("shop".into()),
        user: Some("app".into()),
        password: Some(Secret::new("topsecret")),
        ..DbSettings::default()
    };
    let err = connect(&settings).map(|_| ()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConnectError::Unreachable { .. }), "{err:?}");
    assert!(
        text.contains(&format!("'127.0.0.1:{port}'")) && text.contains("Start MySQL"),
        "{text}"
    );
    assert!(!text.contains("topsecret"));

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("mysql.sock");
    let settings = DbSettings {
        host: Some("localhost".into()),
        port: None,
        socket: Some(sock.clone()),
        ..settings
    };
    let text = connect(&settings).map(|_| ()).unwrap_err().to_string();
    assert!(
        text.contains(&format!("socket '{}'", sock.display())) && text.contains("mamstack"),
        "{text}"
    );
}

#[test]
fn server_info_reports_version_and_privileges() {
    let Some(server) = mariadb::require("server_info_reports_version_and_privileges") else {
        return;
    };
    server.fresh_db("info_db");
    let mut conn = connect(&server.tcp_settings("info_db")).unwrap();
    let info = server_info(&mut conn).unwrap();
    assert!(info.is_mariadb && info.version.contains("MariaDB"), "{info:?}");
    assert!(info.max_allowed_packet >= 1024 * 1024, "{info:?}");
    assert!(info.current_user.starts_with("secours@"), "{info:?}");
    assert!(info.has_super_or_set_user, "{info:?}");

    // A user limited to one database cannot set other definers.
    let settings = server.user_limited_to("info_db", "limited", "lim-pw");
    let info = server_info(&mut connect(&settings).unwrap()).unwrap();
    assert!(!info.has_super_or_set_user, "{info:?}");
}

// Guards: drop_all must remove views on views, FK-linked tables, triggers, routines and events with
// awkward names, leave the database itself, and be harmless when run again.
#[test]
fn drop_all_empties_everything_and_is_idempotent() {
    let Some(server) = mariadb::require("drop_all_empties_everything_and_is_idempotent") else {
        return;
    };
    server.fresh_db("drop_me");
    server.run_sql("drop_me", &rich_schema());
    let mut conn = connect(&server.tcp_settings("drop_me")).unwrap();
    let expected = DropSummary {
        views: 4,
        tables: 5,
        procedures: 1,
        functions: 1,
        events: 1,
    };
    assert_eq!(object_counts(&mut conn).unwrap(), expected);
    assert!(!is_empty(&mut conn).unwrap());

    assert_eq!(drop_all(&mut conn).unwrap(), expected);
    assert!(is_empty(&mut conn).unwrap());
    let triggers: Option<u64> = conn
        .query_first("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()")
        .unwrap();
    assert_eq!(triggers, Some(0));
    // The session is left with foreign key checks on.
    let fk: Option<u64> = conn.query_first("SELECT @@FOREIGN_KEY_CHECKS").unwrap();
    assert_eq!(fk, Some(1));

    assert_eq!(drop_all(&mut conn).unwrap(), DropSummary::default());
    // The database is still there and usable.
    let db: Option<String> = conn
        .query_first("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'drop_me'")
        .unwrap();
    assert_eq!(db.as_deref(), Some("drop_me"));
    conn.query_drop("CREATE TABLE again (x INT)").unwrap();
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()),
        &mut out,
    )
    .unwrap();
    out
}

// Guards the dump format end to end: every column type, awkward names, views on views, triggers with
// comments and `;`, routines and events survive `dump_database` → `gunzip | mariadb` unchanged.
#[test]
fn dump_round_trips_through_the_mariadb_cli() {
    let Some(server) = mariadb::require("dump_round_trips_through_the_mariadb_cli") else {
        return;
    };
    server.fresh_db("dump_src");
    server.run_sql("dump_src", &rich_schema());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump_src.gz");

    let mut conn = connect(&server.tcp_settings("dump_src")).unwrap();
    let updates = std::sync::Mutex::new(Vec::new());
    let progress = |u: secours::progress::Update| updates.lock().unwrap().push(u);
    let summary = dump_database(&mut conn, &out, &progress, &Cancel::new()).unwrap();
    assert_eq!(summary.path, out);
    assert_eq!((summary.tables, summary.views, summary.triggers), (5, 4, 3));
    assert_eq!((summary.procedures, summary.functions, summary.events), (1, 1, 1));
    assert_eq!(summary.rows, 3 + 4000 + 2 + 3 + 1);
    assert_eq!(summary.bytes, std::fs::metadata(&out).unwrap().len());
    assert!(!updates.lock().unwrap().is_empty());
    // Only the final file is left in the folder.
    let names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names, vec![out.clone()]);

    let text = gunzip(&out);
    let head = String::from_utf8_lossy(&text[..200]);
    assert!(head.starts_with("-- Secours dump "), "{head}");
    let tail = String::from_utf8_lossy(&text[text.len() - 60..]).into_owned();
    assert!(tail.contains("\n-- Dump completed on 20"), "{tail}");
    // 4000 rows of ~400 bytes must be split into several ~1 MB statements.
    let needle: &[u8] = b"INSERT INTO `child table` VALUES";
    let inserts = text.windows(needle.len()).filter(|w| *w == needle).count();
    assert!(inserts >= 2, "{inserts} INSERT statements for `child table`");

    server.fresh_db("dump_dst");
    server.import_gz("dump_dst", &out);
    let (src, dst) = (server.fingerprint("dump_src"), server.fingerprint("dump_dst"));
    assert_eq!(src, dst);
    assert!(src.contains("triggers: 3") && src.contains("all_types 3 "), "{src}");

    // The restored data really holds every byte value.
    let mut restored = connect(&server.tcp_settings("dump_dst")).unwrap();
    let vb: Option<Vec<u8>> = restored.query_first("SELECT vb FROM all_types WHERE id = 2").unwrap();
    assert_eq!(vb.unwrap(), (0..=255u8).collect::<Vec<u8>>());
    let ts: Option<String> = restored
        .query_first("SELECT CAST(ts AS CHAR) FROM all_types WHERE id = 2")
        .unwrap();
    assert_eq!(ts.as_deref(), Some("2024-06-01 12:00:00"));

    // Dumping the restored copy gives the same fingerprint again.
    let again = dir.path().join("again.gz");
    dump_database(&mut restored, &again, &Silent, &Cancel::new()).unwrap();
    server.fresh_db("dump_dst2");
    server.import_gz("dump_dst2", &again);
    assert_eq!(server.fingerprint("dump_dst2"), src);
}

// Guards: a cancelled dump leaves no file behind, neither final nor partial.
#[test]
fn cancelled_dump_leaves_nothing() {
    let Some(server) = mariadb::require("cancelled_dump_leaves_nothing") else {
        return;
    };
    server.fresh_db("dump_cancel");
    server.run_sql("dump_cancel", "CREATE TABLE t (x INT); INSERT INTO t VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.gz");
    let cancel = Cancel::new();
    cancel.cancel();
    let mut conn = connect(&server.tcp_settings("dump_cancel")).unwrap();
    let err = dump_database(&mut conn, &out, &Silent, &cancel).unwrap_err();
    assert!(matches!(err, DumpError::Cancelled { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// Guards: a routine whose definition the dumping user may not read (the server shows NULL for it) stops
// the dump with a message naming the routine — a snapshot without it would silently lose it — and leaves
// no file behind.
#[test]
fn dump_refuses_a_routine_it_cannot_read() {
    let Some(server) = mariadb::require("dump_refuses_a_routine_it_cannot_read") else {
        return;
    };
    server.fresh_db("dump_hidden");
    server.run_sql(
        "dump_hidden",
        "CREATE TABLE t (x INT); INSERT INTO t VALUES (1);
         DELIMITER ;;
         CREATE DEFINER=`root`@`localhost` PROCEDURE `secret proc`() BEGIN SELECT 1; END;;
         DELIMITER ;",
    );
    let settings = server.user_limited_to("dump_hidden", "dumper", "dump-pw");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hidden.gz");
    let mut conn = connect(&settings).unwrap();
    let err = dump_database(&mut conn, &out, &Silent, &Cancel::new()).unwrap_err();
    assert!(
        matches!(&err, DumpError::HiddenDefinition { kind: "procedure", name } if name == "secret proc"),
        "{err:?}"
    );
    assert!(err.to_string().contains("'secret proc'"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
