//! A throwaway MariaDB server for integration tests.
//!
//! One server per test module (the file of `tests/` the test is in, read from the test thread's name),
//! as when each file was a binary of its own, started on first use in a temporary data directory,
//! listening on a Unix socket and on 127.0.0.1 with a free port. Modules never share a server: MariaDB
//! 10.11 was seen to crash (a segfault) when one module's cross-database renames met another's
//! information_schema queries, which would fail every test that came after. A watchdog shell stops it (and removes its data)
//! when the test process exits, so nothing outlives the run. Each test asks for its own database
//! with [`fresh_db`]. Under `CI=true` a missing `mariadbd`/`mariadb-install-db`/`mariadb` makes the
//! test fail; elsewhere the test is skipped with a message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use secours::env::dbphp::DbSettings;
use secours::env::secret::Secret;

/// The password of the `secours` test user (a test server, not a secret).
pub const PASSWORD: &str = "s3cours-test-pw";
pub const USER: &str = "secours";

pub struct Server {
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub port: u16,
}

/// The servers started so far, by test module; each lives (leaked) until the process exits.
static SERVERS: Mutex<BTreeMap<String, &'static OnceLock<Option<Server>>>> = Mutex::new(BTreeMap::new());

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].iter().map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The server of the calling test's module, or `None` when MariaDB is not installed (outside CI only).
pub fn server() -> Option<&'static Server> {
    // Test threads are named after the test's path, `module::test`; other threads share one server.
    let module = std::thread::current()
        .name()
        .and_then(|n| n.split_once("::"))
        .map_or_else(|| "shared".to_owned(), |(m, _)| m.to_owned());
    let slot: &'static OnceLock<Option<Server>> = {
        let mut servers = SERVERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        servers
            .entry(module)
            .or_insert_with(|| Box::leak(Box::new(OnceLock::new())))
    };
    // Started outside the map's lock: two modules start their servers at once.
    slot.get_or_init(start).as_ref()
}

/// Like [`server`] but for tests: `None` means "skip" (a message was printed).
pub fn require(test: &str) -> Option<&'static Server> {
    let s = server();
    if s.is_none() {
        eprintln!("SKIPPED {test}: MariaDB (mariadbd, mariadb-install-db, mariadb) is not installed");
    }
    s
}

// The watchdog is never waited for on purpose: it must outlive this process to stop the server.
#[allow(clippy::zombie_processes)]
fn start() -> Option<Server> {
    let tools = ["mariadbd", "mariadb-install-db", "mariadb"];
    let found: Vec<Option<PathBuf>> = tools.iter().map(|t| which(t)).collect();
    if found.iter().any(Option::is_none) {
        let missing: Vec<&str> = tools
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(t, _)| *t)
            .collect();
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true but {} not found: install mariadb-server and mariadb-client",
                missing.join(", ")
            );
        }
        return None;
    }
    let mariadbd = found[0].clone().unwrap();
    let install = found[1].clone().unwrap();

    let dir = tempfile::Builder::new()
        .prefix("secours-mariadb-")
        .tempdir()
        .unwrap()
        .keep();
    let data = dir.join("data");
    let socket = dir.join("sock");
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned();

    let out = Command::new(&install)
        .arg("--no-defaults")
        .arg(format!("--user={user}"))
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=socket")
        .arg("--skip-test-db")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb-install-db failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let init = dir.join("init.sql");
    std::fs::write(
        &init,
        format!(
            "CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\n\
             CREATE USER '{USER}'@'localhost' IDENTIFIED BY '{PASSWORD}';\n\
             GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION;\n\
             GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'localhost' WITH GRANT OPTION;\n"
        ),
    )
    .unwrap();

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server_cmd = format!(
        "'{}' --no-defaults --user='{user}' --datadir='{}' --socket='{}' --port={port} --bind-address=127.0.0.1 \
         --pid-file='{}' --init-file='{}' --event-scheduler=OFF --innodb-buffer-pool-size=64M --default-time-zone=+02:00 \
         --log-error='{}'",
        mariadbd.display(),
        data.display(),
        socket.display(),
        dir.join("pid").display(),
        init.display(),
        dir.join("error.log").display(),
    );
    // The watchdog: the server dies (and its files go) when this test process is gone.
    let watchdog = format!(
        "{server_cmd} & pid=$!; while kill -0 {parent} 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done; \
         kill $pid 2>/dev/null; wait $pid; rm -rf '{dir}'",
        parent = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let server = Server {
        dir: dir.clone(),
        socket,
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if server.socket.exists() && mysql::Conn::new(server.opts(None)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            panic!("the test MariaDB did not start within 30 s; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(server)
}

impl Server {
    /// Driver options for the `secours` user over TCP.
    pub fn opts(&self, db: Option<&str>) -> mysql::Opts {
        mysql::OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.port)
            .prefer_socket(false)
            .user(Some(USER))
            .pass(Some(PASSWORD))
            .db_name(db)
            .into()
    }

    /// An admin connection (no database selected).
    pub fn admin(&self) -> mysql::Conn {
        mysql::Conn::new(self.opts(None)).unwrap()
    }

    /// A connection to `db`.
    pub fn conn(&self, db: &str) -> mysql::Conn {
        mysql::Conn::new(self.opts(Some(db))).unwrap()
    }

    /// (Re)creates an empty database `name` and returns TCP settings for it.
    pub fn fresh_db(&self, name: &str) -> DbSettings {
        let mut admin = self.admin();
        let q = secours::db::quote_ident(name);
        admin.query_drop(format!("DROP DATABASE IF EXISTS {q}")).unwrap();
        admin
            .query_drop(format!(
                "CREATE DATABASE {q} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ))
            .unwrap();
        self.tcp_settings(name)
    }

    /// TCP settings for database `db` as `user` (created afresh, password `password`), who has every
    /// privilege on that database and nothing else: no SUPER / SET USER, no other database.
    pub fn user_limited_to(&self, db: &str, user: &str, password: &str) -> DbSettings {
        let mut admin = self.admin();
        admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'")).unwrap();
        admin
            .query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
            .unwrap();
        admin
            .query_drop(format!(
                "GRANT ALL PRIVILEGES ON {}.* TO '{user}'@'%'",
                secours::db::quote_ident(db)
            ))
            .unwrap();
        DbSettings {
            user: Some(user.into()),
            password: Some(Secret::new(password)),
            ..self.tcp_settings(db)
        }
    }

    pub fn tcp_settings(&self, name: &str) -> DbSettings {
        DbSettings {
            host: Some("127.0.0.1".into()),
            port: Some(self.port),
            socket: None,
            name: Some(name.into()),
            user: Some(USER.into()),
            password: Some(Secret::new(PASSWORD)),
            charset: Some("utf8mb4".into()),
        }
    }

    pub fn socket_settings(&self, name: &str) -> DbSettings {
        DbSettings {
            host: Some("localhost".into()),
            port: None,
            socket: Some(self.socket.clone()),
            ..self.tcp_settings(name)
        }
    }

    /// The `mariadb` command-line client, connected to `db` over the socket.
    pub fn cli(&self, db: &str) -> Command {
        let mut c = Command::new(which("mariadb").unwrap());
        c.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .arg(format!("--user={USER}"))
            .arg("--default-character-set=utf8mb4")
            .arg(format!("--database={db}"))
            .env("MYSQL_PWD", PASSWORD);
        c
    }

    /// Runs `sql` through the CLI (so `DELIMITER` works), failing the test on error.
    pub fn run_sql(&self, db: &str, sql: &str) {
        let mut child = self
            .cli(db)
            .arg("--comments")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mariadb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Pipes `gunzip -c file | mariadb --comments db`, failing the test on error.
    pub fn import_gz(&self, db: &str, file: &Path) {
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap());
        let mut child = self
            .cli(db)
            .arg("--comments")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::copy(&mut gz, &mut stdin).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mariadb import of {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A description of everything in `db` that a restore must reproduce; two databases with the
    /// same content have the same fingerprint whatever their names. Same kind as the sakila
    /// fixture's `.expected.txt`, without its `database:` line, plus DDL and event checksums.
    pub fn fingerprint(&self, db: &str) -> String {
        let mut c = self.conn(db);
        c.query_drop("SET SESSION group_concat_max_len = 1073741824").unwrap();
        let mut out = String::new();
        let one = |c: &mut mysql::Conn, sql: &str| -> String {
            let v: Option<Option<String>> = c.query_first(sql).unwrap();
            v.flatten().unwrap_or_default()
        };
        let count = |c: &mut mysql::Conn, sql: &str| one(c, sql);
        let s = "DATABASE()";
        out += &format!(
            "base_tables: {}\n",
            count(
                &mut c,
                &format!(
                    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA={s} AND TABLE_TYPE='BASE TABLE'"
                )
            )
        );
        out += &format!(
            "views: {}\n",
            count(
                &mut c,
                &format!("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA={s} AND TABLE_TYPE='VIEW'")
            )
        );
        out += &format!(
            "triggers: {}\n",
            count(
                &mut c,
                &format!("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA={s}")
            )
        );
        for kind in ["PROCEDURE", "FUNCTION"] {
            out += &format!(
                "{}s: {}\n",
                kind.to_lowercase(),
                count(
                    &mut c,
                    &format!(
                        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA={s} AND ROUTINE_TYPE='{kind}'"
                    )
                )
            );
        }
        out += &format!(
            "events: {}\n",
            count(
                &mut c,
                &format!("SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA={s}")
            )
        );
        out += &format!(
            "view_names: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "trigger_names: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT GROUP_CONCAT(TRIGGER_NAME ORDER BY TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "routine_names: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT GROUP_CONCAT(ROUTINE_TYPE, ':', ROUTINE_NAME ORDER BY ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "event_names: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT GROUP_CONCAT(EVENT_NAME ORDER BY EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "trigger_bodies_md5: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, \
                     ACTION_ORDER, SQL_MODE, DEFINER, ACTION_STATEMENT) ORDER BY TRIGGER_NAME SEPARATOR '\\n')) \
                     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "routine_bodies_md5: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', ROUTINE_TYPE, ROUTINE_NAME, DTD_IDENTIFIER, IS_DETERMINISTIC, \
                     SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT, DEFINER, ROUTINE_DEFINITION, \
                     (SELECT GROUP_CONCAT(CONCAT_WS(' ', PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER) ORDER BY ORDINAL_POSITION) \
                      FROM information_schema.PARAMETERS p WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA \
                      AND p.SPECIFIC_NAME = r.SPECIFIC_NAME AND p.ROUTINE_TYPE = r.ROUTINE_TYPE)) \
                     ORDER BY ROUTINE_TYPE, ROUTINE_NAME SEPARATOR '\\n')) FROM information_schema.ROUTINES r WHERE ROUTINE_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "view_defs_md5: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', TABLE_NAME, CHECK_OPTION, IS_UPDATABLE, DEFINER, SECURITY_TYPE, ALGORITHM, \
                     REPLACE(VIEW_DEFINITION, CONCAT('`', TABLE_SCHEMA, '`.'), '')) ORDER BY TABLE_NAME SEPARATOR '\\n')) \
                     FROM information_schema.VIEWS WHERE TABLE_SCHEMA={s}"
                )
            )
        );
        out += &format!(
            "event_defs_md5: {}\n",
            one(
                &mut c,
                &format!(
                    "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', EVENT_NAME, DEFINER, TIME_ZONE, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT, \
                     INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE, STARTS, ENDS, STATUS, ON_COMPLETION, EVENT_COMMENT) \
                     ORDER BY EVENT_NAME SEPARATOR '\\n')) FROM information_schema.EVENTS WHERE EVENT_SCHEMA={s}"
                )
            )
        );
        out += "# table rows checksum_extended content_md5 ddl_md5\n";
        let tables: Vec<String> = c
            .query(format!(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA={s} AND TABLE_TYPE='BASE TABLE' ORDER BY TABLE_NAME"
            ))
            .unwrap();
        for t in tables {
            let q = secours::db::quote_ident(&t);
            let rows = one(&mut c, &format!("SELECT COUNT(*) FROM {q}"));
            let checksum: Option<(String, Option<String>)> =
                c.query_first(format!("CHECKSUM TABLE {q} EXTENDED")).unwrap();
            let checksum = checksum.and_then(|(_, v)| v).unwrap_or_default();
            let ncols: usize = one(
                &mut c,
                &format!(
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA={s} AND TABLE_NAME={}",
                    secours::db::quote_str(&t)
                ),
            )
            .parse()
            .unwrap();
            let order: Vec<String> = (1..=ncols).map(|i| i.to_string()).collect();
            let content = self
                .cli(db)
                .args(["--batch", "--skip-column-names", "-e"])
                .arg(format!(
                    "SET time_zone = '+00:00'; SELECT * FROM {q} ORDER BY {}",
                    order.join(",")
                ))
                .output()
                .unwrap();
            assert!(content.status.success(), "{}", String::from_utf8_lossy(&content.stderr));
            let content_md5 = md5_hex(&mut c, &content.stdout);
            let ddl: Option<(String, Vec<u8>)> = c.query_first(format!("SHOW CREATE TABLE {q}")).unwrap();
            let ddl_md5 = md5_hex(&mut c, &ddl.unwrap().1);
            out += &format!("{t} {rows} {checksum} {content_md5} {ddl_md5}\n");
        }
        out
    }
}

/// MD5 computed by the server (no md5 crate needed).
fn md5_hex(c: &mut mysql::Conn, bytes: &[u8]) -> String {
    let v: Option<String> = c.exec_first("SELECT MD5(?)", (bytes.to_vec(),)).unwrap();
    v.unwrap()
}
