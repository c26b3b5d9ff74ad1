//! The demo's private database server (MariaDB or MySQL) and its keeper.
//!
//! Everything lives in `<demo>/server/`: the data directory, the socket (when its path is short enough for
//! the system, else a loopback port), the logs, and three small files that make the lifetime rules hold.
//!
//! - **Found, not installed**: `mariadbd`/`mysqld` on the `PATH` (and the `sbin` folders), from Homebrew
//!   (`brew --prefix`), or inside a Bitnami stack (`/Applications/mampstack*/mysql/bin`…);
//!   `$SECOURS_DEMO_SERVER` may name the binary (or `none`: the demo runs without a server). Nothing of the
//!   system's own server is touched, and port 3306 is never used.
//! - **The keeper** (`secours demo --serve`, started in the background by the first Secours command that
//!   needs the database on the demo's configuration) runs the server as its child, as the user who runs
//!   Secours (`--user` only for root), behind a shell watchdog that stops it within a second if the keeper
//!   itself disappears. It creates the databases and users that the environments' `db.php` name (an
//!   `--init-file`, at every start), serves the demo's web pages ([`super::web`]) and runs the demo's hourly
//!   backup while it is not stopped ([`super::job_stopped`]).
//! - **Users**: each Secours process working on the demo holds a shared lock on `users.lock` for as long
//!   as it runs ([`attach`]); the operating system releases it when the process exits, even killed. The
//!   keeper stops everything once no process has held it for the grace time (`$SECOURS_DEMO_GRACE`
//!   seconds, 40 by default), at once when the app asked for it on Quit ([`request_stop`]), and when the
//!   demo's folder is deleted. So no server of the demo outlives Secours by more than a minute.
//! - Only one keeper runs per demo (`keeper.lock`); it answers `/_ready` on its web port once the database
//!   accepts every environment's user, which is what [`attach`] waits for.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::db::connect::{Endpoint, connect, endpoint};
use crate::env::config::Config;
use crate::env::dbphp::DbSettings;
use crate::env::environment::{self, Environment};
use crate::i18n::Lang;

/// Environment variable: seconds the keeper waits after the last Secours process before stopping.
pub const GRACE_ENV: &str = "SECOURS_DEMO_GRACE";
/// Environment variable: the server binary the demo uses, or `none` for none.
pub const SERVER_ENV: &str = "SECOURS_DEMO_SERVER";
/// The grace time when `$SECOURS_DEMO_GRACE` does not say.
const DEFAULT_GRACE: Duration = Duration::from_secs(40);
/// How long a command waits for the keeper to have the database and the pages ready (a first start
/// creates the data directory).
const READY_WITHIN: Duration = Duration::from_secs(120);
/// The longest socket path this module writes (the systems allow 104 or 108 bytes).
const MAX_SOCKET_PATH: usize = 100;

/// The files of the demo's server, under `<demo>/server/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub server: PathBuf,
    pub data: PathBuf,
    pub socket: PathBuf,
    pub users_lock: PathBuf,
    pub keeper_lock: PathBuf,
    pub keeper_log: PathBuf,
    pub server_log: PathBuf,
    pub pid: PathBuf,
    pub init: PathBuf,
    pub quit: PathBuf,
}

impl Paths {
    pub fn new(dir: &Path) -> Paths {
        let server = dir.join("server");
        Paths {
            dir: dir.to_owned(),
            config: dir.join("config.toml"),
            data: server.join("data"),
            socket: server.join("mysql.sock"),
            users_lock: server.join("users.lock"),
            keeper_lock: server.join("keeper.lock"),
            keeper_log: server.join("keeper.log"),
            server_log: server.join("mariadb.log"),
            pid: server.join("mariadbd.pid"),
            init: server.join("init.sql"),
            quit: server.join("quit"),
            server,
        }
    }
}

/// How the demo's environments reach its server (written into their `db.php`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoEndpoint {
    Socket(PathBuf),
    /// A loopback port, when the socket's path would be too long for the system.
    Port(u16),
}

/// The socket in the demo's folder, or a free loopback port when that path is too long.
pub fn choose_endpoint(dir: &Path) -> std::io::Result<DemoEndpoint> {
    let socket = Paths::new(dir).socket;
    // A path db.php's DSN cannot hold as it is (`;` separates its parts, `'` ends the PHP string) gets a
    // port too.
    let plain = socket.to_str().is_some_and(|p| !p.contains([';', '\'', '\\']));
    if plain && socket.as_os_str().len() <= MAX_SOCKET_PATH {
        return Ok(DemoEndpoint::Socket(socket));
    }
    free_port().map(DemoEndpoint::Port)
}

/// A port of 127.0.0.1 free now (never 3306: a system server may want it).
pub fn free_port() -> std::io::Result<u16> {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if port != crate::db::connect::DEFAULT_PORT {
            return Ok(port);
        }
    }
}

/// MariaDB or MySQL: they create a data directory differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    MariaDb,
    MySql,
}

/// A server binary found on this computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBinary {
    pub server: PathBuf,
    /// `mariadb-install-db` / `mysql_install_db` (MariaDB); MySQL uses `--initialize-insecure`.
    pub install_db: Option<PathBuf>,
    pub flavour: Flavour,
    /// The version `--version` prints, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub version: String,
}

/// Why the demo's server is not there.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "no MariaDB or MySQL server found (looked on the PATH, in Homebrew and in a Bitnami stack). Install one: {}",
        install_hint()
    )]
    NotInstalled,
    #[error("${SERVER_ENV} names '{path}', which is not a file. Name the mariadbd or mysqld binary, or 'none'.")]
    Chosen { path: PathBuf },
    #[error("cannot {what} '{path}': {source}. Check that the demo's folder is yours and that the disk has room.")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "'{program}' could not create the demo's data directory '{path}': {detail}. Delete '{path}' and run 'secours demo' again."
    )]
    Init {
        program: PathBuf,
        path: PathBuf,
        detail: String,
    },
    #[error("{detail} (see '{log}')")]
    Start { detail: String, log: PathBuf },
    #[error(
        "port {port} of 127.0.0.1, where the demo's pages live (the environments' url), is taken: {detail}. Change the port in the url of '{config}'."
    )]
    WebPort { port: u16, detail: String, config: PathBuf },
    #[error(
        "the demo's environments reach their database on port 3306, which belongs to the system's server. Let 'secours demo' write their db.php again (delete them first)."
    )]
    SystemPort,
    #[error(
        "the demo's configuration '{config}' gives no web port (url = \"http://127.0.0.1:PORT/…\"). Run 'secours demo' again."
    )]
    NoWebPort { config: PathBuf },
    #[error(transparent)]
    Config(#[from] crate::env::config::ConfigError),
    #[error(transparent)]
    Env(#[from] crate::env::environment::EnvError),
}

/// The one line that says how to install a server, for this system.
pub fn install_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "brew install mariadb"
    } else {
        "apt install mariadb-server"
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ServerError + 'a {
    move |source| ServerError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Finding a server.

/// The first `mariadbd` or `mysqld` in `dirs` (folder order first, then that name order).
pub fn find_in(dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|d| ["mariadbd", "mysqld"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Folders to look in, without asking any program: the PATH, the system's `sbin` folders, Homebrew's and
/// Bitnami's usual places.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/sbin",
        "/usr/local/sbin",
        "/sbin",
        "/usr/libexec",
        "/opt/homebrew/opt/mariadb/bin",
        "/opt/homebrew/bin",
        "/opt/homebrew/opt/mysql/bin",
        "/usr/local/opt/mariadb/bin",
        "/usr/local/opt/mysql/bin",
        "/usr/local/bin",
        "/Application/mamstack/mysql/bin",
        "/Applications/mamstack/mysql/bin",
        "/opt/bitnami/mariadb/sbin",
        "/opt/bitnami/mariadb/bin",
        "/opt/bitnami/mysql/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    // Bitnami stacks carry their version in their name: /Applications/mampstack-8.2.x/mysql/bin.
    if let Ok(entries) = fs::read_dir("/Applications") {
        let mut stacks: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_ascii_lowercase();
                name.starts_with("mampstack") || name.starts_with("mamstack") || name.starts_with("mamp")
            })
            .map(|e| e.path().join("mysql/bin"))
            .collect();
        stacks.sort();
        dirs.extend(stacks);
    }
    dirs
}

/// Homebrew's prefix, asked from `brew` (only when nothing was found elsewhere).
fn brew_dirs() -> Vec<PathBuf> {
    let out = ["/opt/homebrew/bin/brew", "/usr/local/bin/brew", "brew"]
        .iter()
        .find_map(|b| Command::new(b).arg("--prefix").stderr(Stdio::null()).output().ok())
        .filter(|o| o.status.success());
    let Some(out) = out else { return Vec::new() };
    let prefix = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    ["opt/mariadb/bin", "bin", "sbin", "opt/mysql/bin"]
        .iter()
        .map(|d| prefix.join(d))
        .collect()
}

/// The server the demo uses (see the module documentation).
pub fn find_server() -> Result<ServerBinary, ServerError> {
    match std::env::var_os(SERVER_ENV) {
        Some(v) if v == "none" => return Err(ServerError::NotInstalled),
        Some(v) if !v.is_empty() => {
            let path = PathBuf::from(v);
            return if path.is_file() {
                Ok(describe(&path))
            } else {
                Err(ServerError::Chosen { path })
            };
        }
        _ => {}
    }
    find_in(&search_dirs())
        .or_else(|| find_in(&brew_dirs()))
        .map(|p| describe(&p))
        .ok_or(ServerError::NotInstalled)
}

/// What a server binary is, and where its data-directory tool is.
fn describe(server: &Path) -> ServerBinary {
    // "/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu…" → "10.11.19-MariaDB-0+deb12u1".
    let version = Command::new(server)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let mut words = text.split_whitespace();
            words
                .by_ref()
                .find(|w| *w == "Ver")
                .and_then(|_| words.next())
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    let named_mariadb = server.file_name().is_some_and(|n| n == "mariadbd");
    let flavour = if version.contains("MariaDB") || (version.is_empty() && named_mariadb) {
        Flavour::MariaDb
    } else {
        Flavour::MySql
    };
    let install_db = (flavour == Flavour::MariaDb).then(|| install_tool(server)).flatten();
    ServerBinary {
        server: server.to_owned(),
        install_db,
        flavour,
        version,
    }
}

/// `mariadb-install-db` or `mysql_install_db` beside the server, in its stack, or on the PATH.
fn install_tool(server: &Path) -> Option<PathBuf> {
    let real = fs::canonicalize(server).unwrap_or_else(|_| server.to_owned());
    let mut dirs = Vec::new();
    for s in [server, real.as_path()] {
        if let Some(bin) = s.parent() {
            dirs.push(bin.to_owned());
            if let Some(base) = bin.parent() {
                dirs.push(base.join("bin"));
                dirs.push(base.join("scripts"));
            }
        }
    }
    dirs.extend(search_dirs());
    dirs.iter()
        .flat_map(|d| ["mariadb-install-db", "mysql_install_db"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// The server's installation folder when it is not the system's (`/usr`): Homebrew and Bitnami need it.
fn basedir(server: &Path) -> Option<PathBuf> {
    let real = fs::canonicalize(server).ok()?;
    let base = real.parent()?.parent()?.to_owned();
    (base != Path::new("/usr") && base.join("share").is_dir()).then_some(base)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

// ---------------------------------------------------------------------------------------------------------
// What the server is told.

/// One environment's database and user, as its `db.php` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub database: String,
    pub user: String,
    pub password: String,
}

impl Account {
    fn of(settings: &DbSettings) -> Option<Account> {
        Some(Account {
            database: settings.name.clone()?,
            user: settings.user.clone()?,
            password: settings
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default(),
        })
    }
}

/// `_` and `%` escaped for a database name in a GRANT (where they are wildcards).
fn grant_pattern(name: &str) -> String {
    name.replace('\\', "\\\\").replace('_', "\\_").replace('%', "\\%")
}

/// The `--init-file` run at every start: each environment's database and user (for the socket and for
/// 127.0.0.1), with every privilege on that database and on the side databases a restore creates
/// (`<database>_prev_…`) and the standby's shadow databases (`<database>_next…`), and nothing else.
pub fn init_sql(accounts: &[Account]) -> String {
    use crate::db::{quote_ident, quote_str};
    let mut sql = String::new();
    for a in accounts {
        sql.push_str(&format!(
            "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n",
            quote_ident(&a.database)
        ));
        for host in ["localhost", "127.0.0.1"] {
            let who = format!("{}@{}", quote_str(&a.user), quote_str(host));
            let pw = quote_str(&a.password);
            sql.push_str(&format!("CREATE USER IF NOT EXISTS {who} IDENTIFIED BY {pw};\n"));
            sql.push_str(&format!("ALTER USER {who} IDENTIFIED BY {pw};\n"));
            sql.push_str(&format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {who};\n",
                quote_ident(&grant_pattern(&a.database))
            ));
            sql.push_str(&format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {who};\n",
                quote_ident(&format!("{}\\_prev\\_%", grant_pattern(&a.database)))
            ));
            // The standby's shadow databases, where each new backup is pre-staged (`<database>_next…`).
            sql.push_str(&format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {who};\n",
                quote_ident(&format!("{}\\_next%", grant_pattern(&a.database)))
            ));
        }
    }
    sql
}

/// A short socket path for a server listening on a port (it always makes a socket too).
fn side_socket(dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    std::env::temp_dir().join(format!("secours-demo-{:016x}.sock", h.finish()))
}

/// The server's command line.
pub fn server_args(bin: &ServerBinary, paths: &Paths, endpoint: &Endpoint, root: bool) -> Vec<String> {
    let p = |p: &Path| p.display().to_string();
    let mut a = vec!["--no-defaults".to_owned()];
    if root {
        a.push("--user=root".to_owned());
    }
    if let Some(base) = basedir(&bin.server) {
        a.push(format!("--basedir={}", p(&base)));
    }
    a.push(format!("--datadir={}", p(&paths.data)));
    a.push(format!("--pid-file={}", p(&paths.pid)));
    a.push(format!("--log-error={}", p(&paths.server_log)));
    a.push(format!("--init-file={}", p(&paths.init)));
    match endpoint {
        Endpoint::Socket(s) => {
            a.push(format!("--socket={}", p(s)));
            a.push("--skip-networking".to_owned());
        }
        Endpoint::Tcp { port, .. } => {
            a.push(format!("--socket={}", p(&side_socket(&paths.dir))));
            a.push(format!("--port={port}"));
            a.push("--bind-address=127.0.0.1".to_owned());
        }
    }
    a.push("--innodb-buffer-pool-size=32M".to_owned());
    a.push("--max-allowed-packet=64M".to_owned());
    if bin.flavour == Flavour::MySql {
        a.push("--mysqlx=OFF".to_owned());
        a.push("--skip-log-bin".to_owned());
    }
    a
}

/// Creates the data directory (in a temporary folder, renamed into place once complete).
fn init_datadir(bin: &ServerBinary, paths: &Paths) -> Result<(), ServerError> {
    let tmp = paths.server.join("data.new");
    let _ = fs::remove_dir_all(&tmp);
    let mut cmd = match (bin.flavour, &bin.install_db) {
        (Flavour::MariaDb, Some(tool)) => {
            let mut c = Command::new(tool);
            c.arg("--no-defaults");
            if is_root() {
                c.arg("--user=root");
            }
            if let Some(base) = basedir(&bin.server) {
                c.arg(format!("--basedir={}", base.display()));
            }
            c.arg(format!("--datadir={}", tmp.display()))
                .arg("--auth-root-authentication-method=socket")
                .arg("--skip-test-db");
            c
        }
        (Flavour::MariaDb, None) => {
            return Err(ServerError::Init {
                program: bin.server.clone(),
                path: paths.data.clone(),
                detail: format!(
                    "mariadb-install-db was not found beside it; install it ({})",
                    install_hint()
                ),
            });
        }
        (Flavour::MySql, _) => {
            let mut c = Command::new(&bin.server);
            c.arg("--no-defaults");
            if is_root() {
                c.arg("--user=root");
            }
            if let Some(base) = basedir(&bin.server) {
                c.arg(format!("--basedir={}", base.display()));
            }
            c.arg("--initialize-insecure")
                .arg(format!("--datadir={}", tmp.display()));
            c
        }
    };
    let program = bin.install_db.clone().unwrap_or_else(|| bin.server.clone());
    let out = cmd
        .stdin(Stdio::null())
        .current_dir(&paths.server)
        .output()
        .map_err(|e| ServerError::Init {
            program: program.clone(),
            path: paths.data.clone(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(ServerError::Init {
            program,
            path: paths.data.clone(),
            detail: last_lines(&text, 3),
        });
    }
    fs::rename(&tmp, &paths.data).map_err(io("move into place", &paths.data))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let t = last_lines(&text, 3);
    if t.is_empty() { "(no message)".to_owned() } else { t }
}

/// The keeper's last words: the error it stopped on.
fn keeper_error(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("secours: ").to_owned())
        .unwrap_or_else(|| "its keeper stopped without a message".to_owned())
}

// ---------------------------------------------------------------------------------------------------------
// Locks.

fn open_lock(path: &Path) -> Result<File, ServerError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io("open", path))
}

/// Whether a keeper runs for the demo in `paths` (it holds `keeper.lock`).
pub fn keeper_alive(paths: &Paths) -> bool {
    crate::files::lock::is_held(&paths.keeper_lock)
}

/// Asks the keeper to stop as soon as no other Secours process works on the demo (the app's Quit).
pub fn request_stop(dir: &Path) {
    let paths = Paths::new(dir);
    if paths.server.is_dir()
        && let Err(e) = fs::write(&paths.quit, b"quit\n")
    {
        log::warn!("cannot ask the demo's server to stop ('{}'): {e}", paths.quit.display());
    }
}

/// A Secours process working on the demo: the server runs at least as long as this lives.
#[derive(Debug)]
pub struct Attached {
    _users: File,
    pub web_port: u16,
}

/// The web port of a demo configuration: the port of its environments' `url`.
pub fn web_port(config: &Config) -> Option<u16> {
    config
        .environments
        .values()
        .filter_map(|e| e.url.as_deref())
        .find_map(super::web::url_port)
}

/// Whether the demo's pages (and so its database) answer on `port` for the demo in `dir`.
pub fn ready(dir: &Path, port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /_ready HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    (answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"))
        && answer.ends_with(&format!("{}{}", super::web::READY, dir.display()))
}

/// Makes sure the demo's server runs (starting its keeper if needed) and registers this process as one of
/// its users until the returned value is dropped (or the process ends).
pub fn attach(config: &Config, dir: &Path) -> Result<Attached, ServerError> {
    let paths = Paths::new(dir);
    let web_port = web_port(config).ok_or_else(|| ServerError::NoWebPort {
        config: paths.config.clone(),
    })?;
    let users = open_lock(&paths.users_lock)?;
    let deadline = Instant::now() + READY_WITHIN;
    // A keeper that is stopping holds the lock exclusively until it is done.
    loop {
        match fs4::FileExt::try_lock_shared(&users) {
            Ok(()) => break,
            Err(fs4::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(ServerError::Start {
                    detail: "its keeper did not finish stopping within 2 minutes".to_owned(),
                    log: paths.keeper_log.clone(),
                });
            }
            Err(fs4::TryLockError::Error(source)) => {
                return Err(ServerError::Io {
                    what: "lock",
                    path: paths.users_lock.clone(),
                    source,
                });
            }
        }
    }
    // A new user cancels the app's request to stop (it may have been started again at once).
    let _ = fs::remove_file(&paths.quit);
    let attached = Attached {
        _users: users,
        web_port,
    };
    if keeper_alive(&paths) && ready(dir, web_port) {
        return Ok(attached);
    }
    let mut child = if keeper_alive(&paths) {
        None
    } else {
        // No server on this computer: said at once, without starting a keeper for nothing.
        find_server()?;
        Some(spawn_keeper(&paths)?)
    };
    loop {
        if ready(dir, web_port) {
            return Ok(attached);
        }
        let exited = child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
        if (child.is_none() || exited) && !keeper_alive(&paths) {
            // Give a keeper that was just started by another command a moment to take its lock.
            std::thread::sleep(Duration::from_millis(300));
            if !keeper_alive(&paths) && !ready(dir, web_port) {
                return Err(ServerError::Start {
                    detail: keeper_error(&paths.keeper_log),
                    log: paths.keeper_log.clone(),
                });
            }
        }
        if Instant::now() > deadline {
            return Err(ServerError::Start {
                detail: format!(
                    "the database and its pages were not ready after {} s",
                    READY_WITHIN.as_secs()
                ),
                log: paths.keeper_log.clone(),
            });
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Starts `secours demo --serve --dir DIR` in the background, its output in `keeper.log`.
// The keeper is never waited for on purpose: it outlives this command (until its grace time has passed).
#[allow(clippy::zombie_processes)]
fn spawn_keeper(paths: &Paths) -> Result<Child, ServerError> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(io("find", Path::new("secours")))?;
    // Appended to (two commands may start a keeper at once; one of them leaves at once), kept small.
    if fs::metadata(&paths.keeper_log).is_ok_and(|m| m.len() > 256 * 1024) {
        let _ = fs::rename(&paths.keeper_log, paths.server.join("keeper.log.1"));
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.keeper_log)
        .map_err(io("create", &paths.keeper_log))?;
    let log2 = log.try_clone().map_err(io("open", &paths.keeper_log))?;
    Command::new(&exe)
        .arg("demo")
        .arg("--serve")
        .arg("--dir")
        .arg(&paths.dir)
        .current_dir(&paths.server)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        // Its own process group: a Ctrl-C in the terminal of the command that started it does not reach it.
        .process_group(0)
        .spawn()
        .map_err(io("start", &exe))
}

// ---------------------------------------------------------------------------------------------------------
// The keeper.

fn note(text: &str) {
    eprintln!("{} {text}", jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S"));
}

/// The grace time: `$SECOURS_DEMO_GRACE` seconds, else 40 s.
pub fn grace() -> Duration {
    std::env::var(GRACE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_GRACE, Duration::from_secs)
}

fn pid_of(path: &Path) -> Option<rustix::process::Pid> {
    let text = fs::read_to_string(path).ok()?;
    rustix::process::Pid::from_raw(text.trim().parse().ok()?)
}

fn alive(pid: rustix::process::Pid) -> bool {
    rustix::process::test_kill_process(pid).is_ok()
}

/// The server and its shell watchdog (which stops the server if this keeper disappears).
fn start_server(bin: &ServerBinary, paths: &Paths, endpoint: &Endpoint) -> Result<Child, ServerError> {
    use crate::platform::admin::shell_quote;
    let mut argv = vec![bin.server.display().to_string()];
    argv.extend(server_args(bin, paths, endpoint, is_root()));
    let server: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
    let script = format!(
        "{} & pid=$!; trap 'kill $pid 2>/dev/null' TERM INT; \
         while kill -0 {keeper} 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done; \
         kill $pid 2>/dev/null; wait $pid",
        server.join(" "),
        keeper = std::process::id()
    );
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .current_dir(&paths.server)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(io("start", &bin.server))
}

/// Stops the server: SIGTERM (a clean InnoDB shutdown), then SIGKILL after 60 s.
fn stop_server(paths: &Paths, child: &mut Child) {
    use rustix::process::{Pid, Signal, kill_process};
    let server = pid_of(&paths.pid);
    if let Some(pid) = server {
        let _ = kill_process(pid, Signal::TERM);
    }
    if let Some(sh) = Pid::from_raw(child.id() as i32) {
        let _ = kill_process(sh, Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let server_gone = server.is_none_or(|p| !alive(p));
        let sh_gone = matches!(child.try_wait(), Ok(Some(_)));
        if server_gone && sh_gone {
            break;
        }
        if Instant::now() > deadline {
            note("the server did not stop within 60 s: killed");
            if let Some(pid) = server {
                let _ = kill_process(pid, Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The environments of the demo and their database settings.
fn accounts(config: &Config) -> Result<Vec<(Environment, DbSettings)>, ServerError> {
    let mut out = Vec::new();
    for env in environment::all(config) {
        let settings = env.database()?;
        out.push((env, settings));
    }
    Ok(out)
}

/// Runs the keeper for the demo in `dir` until nobody uses it any more (see the module documentation).
pub fn keep(dir: &Path) -> Result<(), ServerError> {
    let paths = Paths::new(dir);
    fs::create_dir_all(&paths.server).map_err(io("create", &paths.server))?;
    let keeper_lock = open_lock(&paths.keeper_lock)?;
    match fs4::FileExt::try_lock(&keeper_lock) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            note("another keeper runs this demo");
            return Ok(());
        }
        Err(fs4::TryLockError::Error(source)) => {
            return Err(ServerError::Io {
                what: "lock",
                path: paths.keeper_lock.clone(),
                source,
            });
        }
    }
    let users = open_lock(&paths.users_lock)?;
    let _ = fs::remove_file(&paths.quit);
    let config = crate::env::config::load(&paths.config)?;
    let lang = Lang::choose(config.language);
    let envs = accounts(&config)?;
    let endpoint = envs
        .first()
        .map(|(_, s)| endpoint(s, &[]))
        .unwrap_or(Endpoint::Socket(paths.socket.clone()));
    if matches!(endpoint, Endpoint::Tcp { port, .. } if port == crate::db::connect::DEFAULT_PORT) {
        return Err(ServerError::SystemPort);
    }
    let port = web_port(&config).ok_or_else(|| ServerError::NoWebPort {
        config: paths.config.clone(),
    })?;
    let bin = find_server()?;
    note(&format!("server: {} ({})", bin.server.display(), bin.version));

    // A server of an earlier keeper still stopping would hold the data directory.
    if let Some(old) = pid_of(&paths.pid) {
        let until = Instant::now() + Duration::from_secs(30);
        while alive(old) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    if !paths.data.join("mysql").is_dir() {
        note("creating the data directory");
        init_datadir(&bin, &paths)?;
    }
    let list: Vec<Account> = envs.iter().filter_map(|(_, s)| Account::of(s)).collect();
    crate::env::secret::write_private(&paths.init, init_sql(&list).as_bytes()).map_err(io("write", &paths.init))?;
    let mut child = start_server(&bin, &paths, &endpoint)?;

    // Ready when every environment's user gets in.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if envs.iter().all(|(_, s)| connect(s).is_ok()) {
            break;
        }
        if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
            stop_server(&paths, &mut child);
            return Err(ServerError::Start {
                detail: format!("the server's last words: {}", tail(&paths.server_log)),
                log: paths.server_log.clone(),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    note(&format!("database ready at {endpoint}"));

    let web = match tiny_http::Server::http(("127.0.0.1", port)) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            stop_server(&paths, &mut child);
            return Err(ServerError::WebPort {
                port,
                detail: e.to_string(),
                config: paths.config.clone(),
            });
        }
    };
    let pages = {
        let web = web.clone();
        let (config_path, dir) = (paths.config.clone(), paths.dir.clone());
        std::thread::Builder::new()
            .name("secours-demo-web".into())
            .spawn(move || super::web::serve(&web, &config_path, &dir, lang))
            .map_err(io("start the web pages of", &paths.dir))?
    };
    note(&format!("pages at http://127.0.0.1:{port}/"));

    let grace = grace();
    let mut idle_since: Option<Instant> = None;
    let mut job_checked = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(Some(status)) = child.try_wait() {
            note(&format!(
                "the server stopped by itself ({status}): {}",
                tail(&paths.server_log)
            ));
            break;
        }
        if !paths.config.exists() {
            note("the demo's folder is gone: stopping");
            break;
        }
        if job_checked.elapsed() >= Duration::from_secs(30) {
            job_checked = Instant::now();
            hourly_job(&paths);
        }
        match fs4::FileExt::try_lock(&users) {
            Ok(()) => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if paths.quit.exists() {
                    note("the app quit: stopping");
                    break;
                }
                if since.elapsed() >= grace {
                    note(&format!("no Secours process for {} s: stopping", grace.as_secs()));
                    break;
                }
                let _ = fs4::FileExt::unlock(&users);
            }
            Err(_) => idle_since = None,
        }
    }
    // Still holding the users' lock: a command arriving now waits for the end, then starts a new keeper.
    web.unblock();
    let _ = pages.join();
    stop_server(&paths, &mut child);
    let _ = fs::remove_file(&paths.quit);
    note("stopped");
    Ok(())
}

/// The demo's hourly backup of production and of the standby, unless it is stopped (on request, to see what
/// happens then). An environment is backed up when its pair is older than the backup period, and at once
/// when its media were replaced after its pair was written (a restore onto it, or a return to production),
/// so that the next return to production takes what the standby holds now.
fn hourly_job(paths: &Paths) {
    if super::job_stopped(&paths.dir) {
        return;
    }
    let Ok(config) = crate::env::config::load(&paths.config) else {
        return;
    };
    let mut envs: Vec<Environment> = Vec::new();
    for name in [&config.restore.production, &config.restore.target] {
        if let Ok(env) = environment::named(&config, name)
            && !envs.iter().any(|e| e.name == env.name)
        {
            envs.push(env);
        }
    }
    for env in envs {
        let due = match super::pair_written(&env) {
            // No pair yet: `secours demo` makes production's first one; the standby's is made here.
            None => env.name != config.restore.production,
            Some(written) => {
                super::pair_age(&env).is_some_and(|age| age >= config.freshness.period.0)
                    || modified(&env.web).is_some_and(|m| m > written)
            }
        };
        if !due {
            continue;
        }
        let result = super::with_job_lock(&paths.dir, || {
            crate::backup::now::backup_now(&env, &crate::progress::Silent, &crate::progress::Cancel::new())
                .map_err(super::DemoError::from)
        });
        match result {
            Ok(s) => note(&format!(
                "hourly backup of '{}': {} tables, {} rows",
                env.name, s.tables, s.rows
            )),
            Err(e) => note(&format!("hourly backup of '{}' failed: {e}", env.name)),
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// How long ago `path` was modified.
pub fn age_of(path: &Path) -> Option<Duration> {
    let modified = fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(SystemTime::now().duration_since(modified).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the search order: folder order first (the PATH wins), then mariadbd before mysqld.
    #[test]
    fn finds_the_first_server_in_folder_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        assert_eq!(find_in(&[a.clone(), b.clone()]), None);
        fs::write(b.join("mariadbd"), b"").unwrap();
        fs::write(a.join("mysqld"), b"").unwrap();
        assert_eq!(find_in(&[a.clone(), b.clone()]), Some(a.join("mysqld")));
        fs::write(a.join("mariadbd"), b"").unwrap();
        assert_eq!(find_in(&[a.clone(), b]), Some(a.join("mariadbd")));
    }

    // Guards the users as db.php says them, privileges limited to their database and its side databases.
    #[test]
    fn init_sql_creates_each_database_and_its_user() {
        let sql = init_sql(&[Account {
            database: "gestion_secours".into(),
            user: "gestion_secours".into(),
            password: "it's".into(),
        }]);
        assert!(sql.contains("CREATE DATABASE IF NOT EXISTS `gestion_secours` CHARACTER SET utf8mb4"));
        assert!(sql.contains("CREATE USER IF NOT EXISTS 'gestion_secours'@'localhost' IDENTIFIED BY 'it\\'s';"));
        assert!(sql.contains("GRANT ALL PRIVILEGES ON `gestion\\_secours`.* TO 'gestion_secours'@'127.0.0.1';"));
        assert!(sql.contains("GRANT ALL PRIVILEGES ON `gestion\\_secours\\_prev\\_%`.* TO"));
        assert!(sql.contains("GRANT ALL PRIVILEGES ON `gestion\\_secours\\_next%`.* TO"));
        assert!(!sql.contains("*.*"), "never every database: {sql}");
    }

    #[test]
    fn server_args_use_the_socket_or_a_loopback_port_never_3306() {
        let paths = Paths::new(Path::new("/d"));
        let bin = ServerBinary {
            server: PathBuf::from("/nonexistent/mariadbd"),
            install_db: None,
            flavour: Flavour::MariaDb,
            version: String::new(),
        };
        let a = server_args(&bin, &paths, &Endpoint::Socket(paths.socket.clone()), false);
        assert!(a.contains(&"--socket=/d/server/mysql.sock".to_owned()), "{a:?}");
        assert!(a.contains(&"--skip-networking".to_owned()));
        assert!(!a.iter().any(|x| x.starts_with("--user")));
        let a = server_args(
            &bin,
            &paths,
            &Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 40000,
            },
            true,
        );
        assert!(a.contains(&"--port=40000".to_owned()) && a.contains(&"--bind-address=127.0.0.1".to_owned()));
        assert!(a.contains(&"--user=root".to_owned()));
        assert!(free_port().unwrap() != 3306);
    }

    #[test]
    fn a_long_folder_gets_a_port_instead_of_a_socket() {
        assert!(matches!(
            choose_endpoint(Path::new("/tmp/d")).unwrap(),
            DemoEndpoint::Socket(_)
        ));
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        assert!(matches!(choose_endpoint(&long).unwrap(), DemoEndpoint::Port(_)));
        assert!(matches!(
            choose_endpoint(Path::new("/tmp/a;b")).unwrap(),
            DemoEndpoint::Port(_)
        ));
        assert!(matches!(
            choose_endpoint(Path::new("/Users/zoé/Library/Application Support/Secours/demo")).unwrap(),
            DemoEndpoint::Socket(_)
        ));
    }
}
