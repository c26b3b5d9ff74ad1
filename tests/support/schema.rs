//! The rich test schema (every column type, every byte value, FKs, views on views, triggers, routines,
//! an event, a MyISAM table) and `mariadb-dump` of it: what a restore must reproduce exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::Command;

use super::mariadb::{PASSWORD, Server, USER};

/// Every byte value once, as a hex literal.
pub fn all_bytes_hex() -> String {
    (0..=255u8).map(|b| format!("{b:02X}")).collect()
}

/// Every column type (BLOBs with all 256 byte values, emoji, NULLs, dates, decimals, JSON), FKs,
/// a view on a view, triggers with comments and `;` in their bodies, a procedure, a function and an
/// event. Same spirit as tests/db_engine.rs, plus a MyISAM table (ENABLE KEYS barrier).
pub fn rich_schema() -> String {
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
CREATE TABLE myisam_t (k VARCHAR(20) PRIMARY KEY, v MEDIUMTEXT, KEY kv (v(10))) ENGINE=MyISAM;

INSERT INTO parent (name) VALUES ('alpha'), ('beta'), ('gamma ; delta');
SET SESSION max_recursive_iterations = 100000;
INSERT INTO `child table` (id, parent_id, note)
  WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 6000)
  SELECT n, 1 + n % 3, CONCAT(n, ' ', REPEAT('xé\'"\\;🚀', 60)) FROM s;
INSERT INTO `a``first ünï ☃` VALUES (1, 1, 'ü`'), (2, NULL, NULL);
INSERT INTO all_types (id) VALUES (1);
INSERT INTO all_types (id, ti, si, mi, bi, bu, de, fl, db, bt, b1, d, dt, ts, tm, yr, c, vc, tx, lt, bn, vb, bl, lb, eb, en, st, js, g)
VALUES (2, -128, 65535, -8388608, -9223372036854775808, 18446744073709551615, -12345678901234.123456, 1.5,
  3.141592653589793, b'1010101010', b'1', '2024-02-29', '2024-12-31 23:59:59.123456', '2024-06-01 12:00:00',
  '-838:59:59.000', 2155, 'ab', 'emoji 🚀🎉 and \'quotes\' "double"', 'nul:\0 nl:\n cr:\r z:\Z bs:\\ q:\' dq:\" end',
  'Café crème', 0x00FF0A0D, UNHEX('{all}'), UNHEX(REPEAT('{all}', 40)), REPEAT(UNHEX('{all}'), 6000), '',
  'c d', 'x,z', '{{"k": "v 🚀", "n": [1, 2, null], "q": "a\\"b"}}', ST_GeomFromText('POINT(1 2)'));
INSERT INTO all_types (id, ti, bt, b1, tx, vb) VALUES (3, 0, b'0', b'0', '', '');
INSERT INTO myisam_t VALUES ('k1', REPEAT('long line ', 200000)), ('k2', NULL);

CREATE VIEW z_base_view AS SELECT id, name FROM parent;
CREATE VIEW `a view on view` AS SELECT id, UPPER(name) AS up FROM z_base_view WHERE id > 0;
CREATE VIEW `b view ``3` AS SELECT v.up, c.note FROM `a view on view` v JOIN `child table` c ON c.parent_id = v.id;

DELIMITER $$
CREATE TRIGGER parent_bi BEFORE INSERT ON parent FOR EACH ROW
BEGIN
  -- a comment; with a semicolon
  /* block comment; also ;; here */
  SET NEW.name = CONCAT(TRIM(NEW.name), '!'); # hash comment;
  IF NEW.name = '!' THEN SET NEW.name = 'x;;y'; END IF;
END$$
CREATE TRIGGER `trg ü``q` AFTER INSERT ON `child table` FOR EACH ROW UPDATE parent SET name = CONCAT(name, '+') WHERE id = NEW.parent_id$$
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

/// Gzips `bytes` into `path`.
pub fn write_gz(path: &Path, bytes: &[u8]) {
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap();
}

/// `mariadb-dump --routines --triggers --events db | gzip > path`, over the harness's socket.
pub fn mariadb_dump(server: &Server, db: &str, path: &Path) {
    let out = Command::new("mariadb-dump")
        .arg("--no-defaults")
        .arg(format!("--socket={}", server.socket.display()))
        .arg(format!("--user={USER}"))
        .args(["--routines", "--triggers", "--events", "--single-transaction"])
        .arg(db)
        .env("MYSQL_PWD", PASSWORD)
        .output()
        .expect("mariadb-dump (mariadb-client) must be installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    write_gz(path, &out.stdout);
}
