//! A realistic sandbox to try Secours without a real installation: the whole job, restore included.
//!
//! `secours demo` lays out, under one folder, what the recovery procedure describes: `prod/` and
//! `secours/` environments with a Yii-style `config/db.php` and the same software, `web/documents` and
//! `web/pictures` holding files (accents and spaces in their names), `prod/runtime/backup` for the hourly
//! pair, a `copies/` folder for safe copies, and a `config.toml` pointing at all of it (with `[demo]`).
//!
//! With a MariaDB or MySQL server on the computer ([`server`]), the demo runs its own private one in
//! `server/`, creates the two databases and users that the `db.php` files name, loads the application
//! ([`data`]: production's state into `prod`, an older one into `secours`), and makes production's pair
//! with `secours backup`'s own code, so the pair is genuine and a restore really restores; its pages
//! ([`web`]) show each environment in a browser. Without a server it says in one line how to install one,
//! and writes the same application as the pair, so everything that needs no database still runs.
//!
//! Running it again keeps what exists (a file it wrote itself in an earlier version is brought up to
//! date), makes a new backup pair and starts the demo's hourly backup again, so the demo starts `fresh`.
//! On request things go wrong: the backup aged ([`age_backup`]), the hourly backup stopped ([`stop_job`]),
//! the backup damaged ([`corrupt`]).
//!
//! May use: everything below the shells except [`crate::report`] (its neighbour).

pub mod data;
pub mod server;
pub mod web;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::env::config::Config;
use crate::env::environment::{self, Environment};
use crate::i18n::{Lang, fill};

/// The demo application's database name (the dump is `gestion.gz`).
pub const DEMO_DB: &str = "gestion";

/// How old `secours demo` makes its fresh pair: as if the hourly job had run a few minutes ago (a pair
/// modified seconds ago reads as "being written").
const SETTLED: Duration = Duration::from_secs(5 * 60);

/// The flag file of a stopped hourly backup, in the demo's folder.
const JOB_STOPPED: &str = "hourly-backup-stopped";

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct Demo {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub backup_dir: PathBuf,
}

/// Why the demo could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot create the demo at '{path}': {source}. Choose another folder with --dir, or free some space.")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no demo in '{dir}': run 'secours demo' first (or name its folder with --dir).")]
    NoDemo { dir: PathBuf },
    #[error("the demo's backup '{path}' is missing: run 'secours demo' to make one.")]
    NoPair { path: PathBuf },
    #[error("the demo's configuration has no production environment '{name}'. Run 'secours demo' again.")]
    NoProduction { name: String },
    #[error(transparent)]
    Server(#[from] server::ServerError),
    #[error(transparent)]
    Env(#[from] crate::env::environment::EnvError),
    #[error(transparent)]
    Connect(#[from] crate::db::connect::ConnectError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("loading the demo application into '{env}' failed: {source}")]
    Import {
        env: String,
        #[source]
        source: Box<crate::db::importer::ImportError>,
    },
    #[error(transparent)]
    Backup(Box<crate::backup::now::BackupError>),
}

impl From<crate::backup::now::BackupError> for DemoError {
    fn from(e: crate::backup::now::BackupError) -> Self {
        DemoError::Backup(Box::new(e))
    }
}

trait At<T> {
    fn at(self, path: &Path) -> Result<T, DemoError>;
}

impl<T> At<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T, DemoError> {
        self.map_err(|source| DemoError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

/// Creates (or refreshes) the demo's folders, files and configuration in `dir`, and writes the
/// application as the backup pair (the database server, if any, replaces it with a genuine one: see
/// [`go_live`]).
pub fn create(dir: &Path) -> Result<Demo, DemoError> {
    let demo = layout(dir)?;
    write_backup_pair(&demo.dir.join("prod/web"), &demo.backup_dir)?;
    Ok(demo)
}

/// Creates (or refreshes) the demo's folders, files and configuration in `dir`; no backup pair.
pub fn layout(dir: &Path) -> Result<Demo, DemoError> {
    fs::create_dir_all(dir).at(dir)?;
    // Absolute paths in the config, whatever the caller passed.
    let dir = fs::canonicalize(dir).at(dir)?;
    // Both environments reach the same private server; an existing db.php keeps its own way.
    let endpoint = server::choose_endpoint(&dir).at(&dir)?;
    for (env, db) in [("prod", DEMO_DB), ("secours", "gestion_secours")] {
        let root = dir.join(env);
        for sub in [
            "web/documents",
            "web/pictures",
            "config",
            "runtime/backup",
            "runtime/logs",
        ] {
            let p = root.join(sub);
            fs::create_dir_all(&p).at(&p)?;
        }
        write_generated(
            &root.join("config/db.php"),
            db_php(db, env, &endpoint).as_bytes(),
            &[db_php_v1(db, env)],
        )?;
        write_generated(&root.join("web/index.php"), INDEX_PHP.as_bytes(), &[index_php_v1(env)])?;
    }
    for (web, state) in [("prod/web", data::State::Current), ("secours/web", data::State::Older)] {
        for (name, content) in data::media_files(state) {
            write_if_absent(&dir.join(web).join(name), &content)?;
        }
    }
    let copies = dir.join("copies");
    fs::create_dir_all(&copies).at(&copies)?;
    let server_dir = server::Paths::new(&dir).server;
    fs::create_dir_all(&server_dir).at(&server_dir)?;

    let config = dir.join("config.toml");
    if !config.exists() || fs::read_to_string(&config).is_ok_and(|t| t == config_toml_v1(&dir)) {
        let port = server::free_port().at(&dir)?;
        crate::env::secret::write_private(&config, config_toml(&dir, port, &owner_spec(&dir)).as_bytes())
            .at(&config)?;
    }
    Ok(Demo {
        backup_dir: dir.join("prod/runtime/backup"),
        dir,
        config,
    })
}

fn write_if_absent(path: &Path, content: &[u8]) -> Result<(), DemoError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    crate::env::secret::write_private(path, content).at(path)
}

/// Writes a file the demo generates: when absent, or when it still holds what an earlier version of the
/// demo wrote (`old`); a file someone changed is kept.
fn write_generated(path: &Path, content: &[u8], old: &[String]) -> Result<(), DemoError> {
    if path.exists() {
        let current = fs::read(path).at(path)?;
        if !old.iter().any(|o| o.as_bytes() == current.as_slice()) {
            return Ok(());
        }
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    crate::env::secret::write_private(path, content).at(path)
}

/// Writes `gestion.gz` and `media.taz` the way the hourly job does (to a temporary name, then renamed),
/// from the application's own dump, without a database server.
pub fn write_backup_pair(web: &Path, backup_dir: &Path) -> Result<(), DemoError> {
    fs::create_dir_all(backup_dir).at(backup_dir)?;
    let dump = backup_dir.join(format!("{DEMO_DB}.gz"));
    let tmp = backup_dir.join(format!(".{DEMO_DB}.gz.tmp"));
    let mut gz = GzEncoder::new(fs::File::create(&tmp).at(&tmp)?, Compression::default());
    gz.write_all(&data::dump(data::State::Current)).at(&tmp)?;
    gz.finish().at(&tmp)?.sync_all().at(&tmp)?;
    fs::rename(&tmp, &dump).at(&dump)?;

    let media = backup_dir.join("media.taz");
    let tmp = backup_dir.join(".media.taz.tmp");
    let gz = GzEncoder::new(fs::File::create(&tmp).at(&tmp)?, Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    for folder in ["documents", "pictures"] {
        tar.append_dir_all(folder, web.join(folder)).at(&web.join(folder))?;
    }
    tar.into_inner().at(&tmp)?.finish().at(&tmp)?.sync_all().at(&tmp)?;
    fs::rename(&tmp, &media).at(&media)?;
    set_age(&[dump, media], SETTLED)
}

/// Writes a pair as the hourly job would after someone emptied the `document` table by mistake: complete
/// and readable, yet suspect (`secours demo --suspect`). Its time is a little after the normal pair's.
pub fn write_suspect_pair(web: &Path, backup_dir: &Path) -> Result<(), DemoError> {
    write_backup_pair(web, backup_dir)?;
    let dump = backup_dir.join(format!("{DEMO_DB}.gz"));
    let tmp = backup_dir.join(format!(".{DEMO_DB}.gz.tmp"));
    let emptied: Vec<u8> = data::dump(data::State::Current)
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"INSERT INTO `document`"))
        .flatten()
        .copied()
        .collect();
    let mut gz = GzEncoder::new(fs::File::create(&tmp).at(&tmp)?, Compression::default());
    gz.write_all(&emptied).at(&tmp)?;
    gz.finish().at(&tmp)?.sync_all().at(&tmp)?;
    fs::rename(&tmp, &dump).at(&dump)?;
    set_age(&[dump, backup_dir.join("media.taz")], Duration::from_secs(2 * 60))
}

/// Sets the modification time of `paths` to `age` ago.
fn set_age(paths: &[PathBuf], age: Duration) -> Result<(), DemoError> {
    let when = SystemTime::now() - age;
    for path in paths {
        fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(when))
            .at(path)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// The database: started, loaded, backed up.

/// The demo running on its own database server: keep it alive as long as Secours works on the demo.
#[derive(Debug)]
pub struct Live {
    pub attached: server::Attached,
    /// What was done, for people (in their language).
    pub messages: Vec<String>,
}

/// Production's environment in a demo configuration.
pub fn production(config: &Config) -> Option<Environment> {
    environment::named(config, &config.restore.production).ok()
}

/// The pair of production's backup folder: `<database>.gz` and `media.taz`.
pub fn pair_paths(env: &Environment) -> [PathBuf; 2] {
    let db = env.database_name().unwrap_or_else(|| DEMO_DB.to_owned());
    [
        env.backup_dir.join(format!("{db}.gz")),
        env.backup_dir.join("media.taz"),
    ]
}

/// The age of production's pair (of its older file), `None` when a file is missing.
pub fn pair_age(env: &Environment) -> Option<Duration> {
    let [a, b] = pair_paths(env);
    Some(server::age_of(&a)?.max(server::age_of(&b)?))
}

/// When production's (or any environment's) pair was last written: the newer status-change time (ctime) of
/// its two files, which a back-dated modification time does not move back. `None` when a file is missing.
pub fn pair_written(env: &Environment) -> Option<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let [a, b] = pair_paths(env);
    let ctime = |p: &Path| {
        let m = fs::metadata(p).ok()?;
        let secs = u64::try_from(m.ctime()).ok()?;
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(m.ctime_nsec().max(0) as u64))
    };
    Some(ctime(&a)?.max(ctime(&b)?))
}

/// Runs `f` while holding the demo's backup lock: the keeper's hourly backup and `secours demo`'s never
/// write the same temporary files at once.
pub fn with_job_lock<T>(dir: &Path, f: impl FnOnce() -> Result<T, DemoError>) -> Result<T, DemoError> {
    let path = server::Paths::new(dir).server.join("backup.lock");
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .at(&path)?;
    fs4::FileExt::lock(&file).at(&path)?;
    let result = f();
    let _ = fs4::FileExt::unlock(&file);
    result
}

/// Whether the demo's hourly backup is stopped.
pub fn job_stopped(dir: &Path) -> bool {
    dir.join(JOB_STOPPED).exists()
}

/// Stops (or starts again) the demo's hourly backup.
pub fn set_job(dir: &Path, running: bool) -> Result<(), DemoError> {
    let flag = dir.join(JOB_STOPPED);
    if running {
        match fs::remove_file(&flag) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&flag),
            _ => Ok(()),
        }
    } else {
        fs::write(
            &flag,
            b"The demo's hourly backup is stopped; 'secours demo' starts it again.\n",
        )
        .at(&flag)
    }
}

/// Loads the application into `env`'s database when it holds no table; returns (tables, rows) loaded.
fn seed(env: &Environment, state: data::State, work: &Path) -> Result<Option<(u64, u64)>, DemoError> {
    let settings = env.database()?;
    let mut conn = crate::db::connect::connect(&settings)?;
    if !crate::db::drop_all::table_names(&mut conn)?.is_empty() {
        return Ok(None);
    }
    drop(conn);
    let file = work.join(format!("seed-{}.sql.gz", env.name));
    let mut gz = GzEncoder::new(
        crate::env::secret::create_private(&file).at(&file)?,
        Compression::fast(),
    );
    gz.write_all(&data::dump(state)).at(&file)?;
    gz.finish().at(&file)?;
    let result = crate::db::importer::import_dump(
        &settings,
        &file,
        &Default::default(),
        &crate::progress::Silent,
        &crate::progress::Cancel::new(),
    );
    let _ = fs::remove_file(&file);
    let summary = result.map_err(|source| DemoError::Import {
        env: env.name.clone(),
        source: Box::new(source),
    })?;
    Ok(Some((summary.tables, summary.rows)))
}

/// Makes production's pair from its database (as the hourly job does), settled a few minutes ago, and
/// starts the hourly backup again.
pub fn back_up_production(config: &Config, dir: &Path) -> Result<crate::backup::now::BackupSummary, DemoError> {
    let name = config.restore.production.clone();
    let env = production(config).ok_or(DemoError::NoProduction { name })?;
    let summary = with_job_lock(dir, || {
        let s = crate::backup::now::backup_now(&env, &crate::progress::Silent, &crate::progress::Cancel::new())?;
        set_age(&pair_paths(&env), SETTLED)?;
        Ok(s)
    })?;
    set_job(dir, true)?;
    Ok(summary)
}

/// Makes the standby's pair from its database (the procedure backs it up the same way), so a return to
/// production has something to take.
fn back_up_standby(config: &Config, dir: &Path) -> Result<(), DemoError> {
    let env = environment::named(config, &config.restore.target)?;
    with_job_lock(dir, || {
        crate::backup::now::backup_now(&env, &crate::progress::Silent, &crate::progress::Cancel::new())?;
        set_age(&pair_paths(&env), SETTLED)
    })
}

/// Starts the demo's database server (or finds it running), loads the application into the empty
/// databases, and makes production's pair from its database.
pub fn go_live(demo: &Demo, config: &Config, lang: Lang) -> Result<Live, DemoError> {
    let d = lang.demo();
    let attached = server::attach(config, &demo.dir)?;
    let mut messages = Vec::new();
    let work = server::Paths::new(&demo.dir).server;
    for env in environment::all(config) {
        let state = if env.name == config.restore.production {
            data::State::Current
        } else {
            data::State::Older
        };
        if let Some((tables, rows)) = seed(&env, state, &work)? {
            messages.push(fill(
                d.seeded,
                &[
                    ("env", &env.name),
                    ("tables", &tables.to_string()),
                    ("rows", &rows.to_string()),
                ],
            ));
        }
    }
    back_up_production(config, &demo.dir)?;
    if environment::named(config, &config.restore.target).is_ok_and(|s| pair_age(&s).is_none()) {
        back_up_standby(config, &demo.dir)?;
    }
    let server = server::find_server().map_or_else(
        |_| "MariaDB".to_owned(),
        |b| format!("{} {}", b.server.display(), b.version),
    );
    let pages = format!("http://127.0.0.1:{}/", attached.web_port);
    messages.push(fill(d.server_ready, &[("server", &server), ("pages", &pages)]));
    Ok(Live { attached, messages })
}

// ---------------------------------------------------------------------------------------------------------
// Things go wrong on request.

fn existing_pair(config: &Config) -> Result<[PathBuf; 2], DemoError> {
    let name = config.restore.production.clone();
    let env = production(config).ok_or(DemoError::NoProduction { name })?;
    let pair = pair_paths(&env);
    for p in &pair {
        if !p.is_file() {
            return Err(DemoError::NoPair { path: p.clone() });
        }
    }
    Ok(pair)
}

/// Makes the backup `by` old and stops the hourly backup (else it would make a new one at once).
pub fn age_backup(config: &Config, dir: &Path, by: Duration) -> Result<(), DemoError> {
    let pair = existing_pair(config)?;
    set_job(dir, false)?;
    set_age(&pair, by)
}

/// Stops the hourly backup, as if it had stopped just past the `late-after` limit; returns since when.
pub fn stop_job(config: &Config, dir: &Path) -> Result<Duration, DemoError> {
    let since = config.freshness.late_after.0 + Duration::from_secs(5 * 60);
    age_backup(config, dir, since)?;
    Ok(since)
}

/// Damages the backup's database file (a few bytes in the middle of the compressed stream, as a failing
/// disk or an interrupted copy would), keeping its date; returns its path.
pub fn corrupt(config: &Config) -> Result<PathBuf, DemoError> {
    let [dump, _] = existing_pair(config)?;
    let mut bytes = fs::read(&dump).at(&dump)?;
    let modified = fs::metadata(&dump).and_then(|m| m.modified()).at(&dump)?;
    let middle = bytes.len() / 2;
    let end = (middle + 64).min(bytes.len().saturating_sub(8));
    for b in bytes.iter_mut().take(end).skip(middle) {
        *b ^= 0x5A;
    }
    // A new file (a new inode): what the verification remembers of the old one does not apply.
    let tmp = dump.with_extension("gz.damaged");
    fs::write(&tmp, &bytes).at(&tmp)?;
    fs::File::options()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(modified))
        .at(&tmp)?;
    fs::rename(&tmp, &dump).at(&dump)?;
    Ok(dump)
}

/// Puts the demo right: the hourly backup runs again and makes a new pair now (from the database when the
/// demo has its server, from the application's dump otherwise).
pub fn repair(config: &Config, dir: &Path) -> Result<(), DemoError> {
    let web_port = server::web_port(config);
    if web_port.is_some_and(|p| server::ready(dir, p)) {
        back_up_production(config, dir)?;
    } else {
        let name = config.restore.production.clone();
        let env = production(config).ok_or(DemoError::NoProduction { name })?;
        write_backup_pair(&env.web, &env.backup_dir)?;
        set_job(dir, true)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// The generated files.

/// The demo application's front page: the same in both environments (the procedure keeps their software
/// identical; the banner's colour is the environment's).
const INDEX_PHP: &str = "<?php\n// Application de démonstration « gestion » : la bannière (noire en production, verte en secours)\n\
// vient de la configuration de l’environnement.\nrequire __DIR__ . '/../vendor/autoload.php';\n";

fn db_php(db: &str, env: &str, endpoint: &server::DemoEndpoint) -> String {
    let dsn = match endpoint {
        server::DemoEndpoint::Socket(path) => {
            // choose_endpoint gives a socket only for a path the DSN holds as it is.
            format!("mysql:unix_socket={};dbname={db}", path.display())
        }
        server::DemoEndpoint::Port(port) => format!("mysql:host=127.0.0.1;port={port};dbname={db}"),
    };
    format!(
        "<?php\n\
         // Connexion à la base de données ({env}) : le serveur privé de la démonstration.\n\
         return [\n    \
             'class' => 'yii\\db\\Connection',\n    \
             'dsn' => '{dsn}',\n    \
             'username' => '{db}',\n    \
             'password' => 'demo-{env}-secret',\n    \
             'charset' => 'utf8mb4',\n\
         ];\n"
    )
}

/// `user:group` of whoever runs the demo (names when the account files have them, else numbers): in
/// the demo, the web server's files are the user's own, so a restore needs no administrator rights.
fn owner_spec(dir: &Path) -> String {
    let uid = rustix::process::getuid().as_raw();
    let gid = fs::metadata(dir).map_or_else(
        |_| rustix::process::getgid().as_raw(),
        |m| {
            use std::os::unix::fs::MetadataExt;
            m.gid()
        },
    );
    let name = |file: &str, id: u32| {
        fs::read_to_string(file).ok().and_then(|text| {
            text.lines().find_map(|line| {
                let mut f = line.split(':');
                let name = f.next()?;
                let _ = f.next()?;
                (f.next()?.parse::<u32>().ok()? == id).then(|| name.to_owned())
            })
        })
    };
    let plain = |n: &String| {
        !n.is_empty()
            && !n.starts_with(['.', '-'])
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let user = name("/etc/passwd", uid)
        .filter(plain)
        .unwrap_or_else(|| uid.to_string());
    let group = name("/etc/group", gid).filter(plain).unwrap_or_else(|| gid.to_string());
    format!("{user}:{group}")
}

fn config_toml(dir: &Path, port: u16, owner: &str) -> String {
    let d = dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "# Secours demo configuration (made by 'secours demo').\n\
         [environments.prod]\nroot = \"{d}/prod\"\nurl = \"http://127.0.0.1:{port}/prod\"\n\n\
         [environments.secours]\nroot = \"{d}/secours\"\nurl = \"http://127.0.0.1:{port}/secours\"\n\n\
         [watch]\nenvironments = [\"prod\"]\n\n\
         [safe-copy]\ndestinations = [\"{d}/copies\"]\nkeep = 5\n\n\
         [restore]\ntarget = \"secours\"\n\
         # In the demo the web server's files are yours: a restore asks for no administrator rights.\n\
         owner = \"{owner}\"\n\n\
         [time-machine]\nenabled = false\n\n\
         # The demo's own database server and pages run from this folder while Secours uses the demo.\n\
         [demo]\ndir = \"{d}\"\n"
    )
}

// What earlier versions of the demo wrote, brought up to date when found unchanged.

fn db_php_v1(db: &str, env: &str) -> String {
    format!(
        "<?php\n\
         // Connexion à la base de données ({env}).\n\
         return [\n    \
             'class' => 'yii\\db\\Connection',\n    \
             'dsn' => 'mysql:host=localhost;dbname={db}',\n    \
             'username' => '{db}',\n    \
             'password' => 'demo-{env}-secret',\n    \
             'charset' => 'utf8mb4',\n\
         ];\n"
    )
}

fn index_php_v1(env: &str) -> String {
    let banner = if env == "prod" { "noire" } else { "VERTE" };
    format!(
        "<?php\n// Application de démonstration (environnement {env}, bannière {banner}).\n\
         require __DIR__ . '/../vendor/autoload.php';\n"
    )
}

fn config_toml_v1(dir: &Path) -> String {
    let d = dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "# Secours demo configuration (made by 'secours demo').\n\
         [environments.prod]\nroot = \"{d}/prod\"\n\n\
         [environments.secours]\nroot = \"{d}/secours\"\nurl = \"http://localhost/secours\"\n\n\
         [watch]\nenvironments = [\"prod\"]\n\n\
         [safe-copy]\ndestinations = [\"{d}/copies\"]\nkeep = 5\n\n\
         [restore]\ntarget = \"secours\"\n\n\
         [time-machine]\nenabled = false\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_complete_fresh_sandbox_and_refreshes_it() {
        let dir = tempfile::tempdir().unwrap();
        let demo = create(dir.path()).unwrap();
        assert!(demo.backup_dir.join("gestion.gz").is_file());
        assert!(demo.backup_dir.join("media.taz").is_file());
        assert!(demo.dir.join("secours/config/db.php").is_file());
        let cfg = crate::env::config::load(&demo.config).unwrap();
        assert_eq!(cfg.restore.target, "secours");
        assert_eq!(cfg.demo.as_ref().map(|d| d.dir.clone()), Some(demo.dir.clone()));
        let port = server::web_port(&cfg).unwrap();
        assert_eq!(
            cfg.environments["secours"].url.as_deref(),
            Some(format!("http://127.0.0.1:{port}/secours").as_str())
        );
        // The owner is whoever runs the demo, so a restore needs no administrator rights.
        let owner = crate::restore::owner::resolve_owner(&cfg.restore.owner).unwrap();
        assert_eq!(owner.uid, rustix::process::getuid().as_raw());
        // A second run keeps the files (and the port).
        let again = create(dir.path()).unwrap();
        assert_eq!(again.config, demo.config);
        assert_eq!(
            server::web_port(&crate::env::config::load(&again.config).unwrap()),
            Some(port)
        );
    }

    // Guards: a demo made by an earlier version (no server, localhost url) is brought up to date, while a
    // file someone edited is kept.
    #[test]
    fn an_earlier_demo_is_brought_up_to_date_but_edits_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(dir.join("prod/config")).unwrap();
        fs::create_dir_all(dir.join("secours/config")).unwrap();
        fs::write(dir.join("config.toml"), config_toml_v1(&dir)).unwrap();
        fs::write(dir.join("prod/config/db.php"), db_php_v1(DEMO_DB, "prod")).unwrap();
        fs::write(dir.join("secours/config/db.php"), "<?php // mine\n").unwrap();
        layout(&dir).unwrap();
        let cfg = crate::env::config::load(&dir.join("config.toml")).unwrap();
        assert!(cfg.demo.is_some());
        let prod = fs::read_to_string(dir.join("prod/config/db.php")).unwrap();
        assert!(prod.contains("unix_socket="), "{prod}");
        assert_eq!(
            fs::read_to_string(dir.join("secours/config/db.php")).unwrap(),
            "<?php // mine\n"
        );
        // Same software in both environments.
        assert_eq!(
            fs::read(dir.join("prod/web/index.php")).unwrap(),
            fs::read(dir.join("secours/web/index.php")).unwrap()
        );
    }

    // Guards: the demo's media archive holds the two media folders, names with accents intact.
    #[test]
    fn media_archive_holds_documents_and_pictures() {
        let dir = tempfile::tempdir().unwrap();
        let demo = create(dir.path()).unwrap();
        let f = fs::File::open(demo.backup_dir.join("media.taz")).unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(
            names.iter().any(|n| n == "pictures/Réunion d’été 2026.jpg"),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("documents") || n.starts_with("pictures"))
        );
    }

    // Guards the trouble on request: aged (and the job stopped), damaged with its date kept, put right.
    #[test]
    fn things_go_wrong_on_request_and_are_put_right() {
        let tmp = tempfile::tempdir().unwrap();
        let demo = create(tmp.path()).unwrap();
        let cfg = crate::env::config::load(&demo.config).unwrap();
        let prod = production(&cfg).unwrap();
        age_backup(&cfg, &demo.dir, Duration::from_secs(4 * 3600)).unwrap();
        assert!(job_stopped(&demo.dir));
        let age = pair_age(&prod).unwrap().as_secs();
        assert!((4 * 3600..4 * 3600 + 60).contains(&age), "{age}");

        let since = stop_job(&cfg, &demo.dir).unwrap();
        assert_eq!(since, Duration::from_secs(95 * 60));

        let dump = corrupt(&cfg).unwrap();
        let mut text = Vec::new();
        let read = std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(fs::File::open(&dump).unwrap()),
            &mut text,
        );
        assert!(
            read.is_err() || text != data::dump(data::State::Current),
            "the dump must be damaged"
        );
        assert!(
            pair_age(&prod).unwrap() >= Duration::from_secs(95 * 60),
            "the date is kept"
        );

        repair(&cfg, &demo.dir).unwrap();
        assert!(!job_stopped(&demo.dir));
        assert!(pair_age(&prod).unwrap() < Duration::from_secs(6 * 60));
    }
}
