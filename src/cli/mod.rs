//! The command line: what each `secours` command does, over the library.
//!
//! `main` parses [`Cli`], sets up logging and calls [`run`], which returns the process exit code.
//! Exit codes follow the monitoring-plugin convention: 0 ok/fresh, 1 late, 2 stale/missing/corrupt,
//! 3 unknown or configuration error.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;

use crate::backup::status;
use crate::demo;
use crate::env::config::{self, Config};
use crate::env::environment;
use crate::env::paths::Locations;
use crate::i18n::{Lang, fill};
use crate::store::history::History;

/// Exit code for "unknown" and configuration errors.
pub const EXIT_UNKNOWN: u8 = 3;

/// An error and its causes for people, each said once: the library's errors already quote their cause in
/// their own message (with what to do after it), so anyhow's `{:#}` would print that cause twice.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// The command line without what macOS adds when it starts a bundled app: `-psn_0_12345` (the process
/// serial number the Finder passes on a first launch) and `-NSSomething VALUE` / `-AppleSomething VALUE`
/// pairs (user defaults given on the command line, e.g. `-NSDocumentRevisionsDebugMode YES` or
/// `-AppleLanguages (fr)`). Secours has no option that starts like these, so nothing of its own is lost.
/// The first item (the program) is kept as it is.
pub fn without_launch_services_args<I>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = std::ffi::OsString>,
{
    let mut out = Vec::new();
    let mut args = args.into_iter().peekable();
    if let Some(program) = args.next() {
        out.push(program);
    }
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text.starts_with("-psn_") {
            continue;
        }
        let default_name = text
            .strip_prefix("-NS")
            .or_else(|| text.strip_prefix("-Apple"))
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()));
        if default_name {
            // Its value, unless the pair has none (the next argument is an option of its own).
            if args.peek().is_some_and(|v| !v.to_string_lossy().starts_with('-')) {
                args.next();
            }
            continue;
        }
        out.push(arg);
    }
    out
}

#[derive(Debug, Parser)]
#[command(
    name = "secours",
    version,
    about = "Guards the application's backups and restores them onto the standby environment."
)]
pub struct Cli {
    /// Configuration file (else $SECOURS_CONFIG, else the platform config dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Folder for history and logs (else $SECOURS_DATA_DIR, else the platform data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The state of the backups (exit 0 fresh, 1 late, 2 stale/missing/corrupt, 3 unknown).
    Status(JsonFlag),
    /// Write, check or locate the configuration.
    Config(ConfigArgs),
    /// What happened: state changes, verifications, copies, restores.
    History(HistoryArgs),
    /// Create a demo installation and run Secours on it.
    Demo(DemoArgs),
    /// Start the menu-bar app (the default command).
    App,
    /// Verify the latest backup pair completely (exit 0 ok, 2 corrupt/unsafe/missing, 3 cannot read).
    Verify(VerifyArgs),
    /// Copy the latest verified backup to the safe places.
    Copy(CopyArgs),
    /// List the safe copies at each destination.
    Copies(CopiesArgs),
    /// Print the menu the app would show now.
    Menu(JsonFlag),
    /// Launch Secours when the session opens: on, off or status.
    LoginItem(LoginItemArgs),
    /// The database of an environment: import a dump, empty it, dump it.
    Db(DbArgs),
    /// Compare the software of two environments (exit 0 identical, 2 different, 3 cannot compare).
    Parity(ParityArgs),
    /// Restore a backup onto the standby environment (exit 0 restored, 2 refused or rolled back, 3 mixed state).
    Restore(RestoreArgs),
    /// Return to production: restore the standby's backup onto production.
    Failback(FailbackArgs),
    /// Back up an environment now, as the hourly job does: <dbname>.gz and media.taz in its backup folder.
    Backup(BackupArgs),
    /// Write the history as one HTML page: time line, sizes, events (exit 0 written, 3 cannot).
    Report(ReportArgs),
    /// "This change is expected": the suspect backups become the reference (exit 0 accepted, 2 nothing suspect).
    Accept(AcceptArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The HTML file to write (default: history.html in the data folder).
    #[arg(short = 'o', long = "output", value_name = "FILE.html")]
    pub output: Option<PathBuf>,
    /// How many days the page shows.
    #[arg(long, default_value_t = crate::report::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Open the page in the browser once written.
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Only this watched source (default: every suspect one).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The environment (default: the first watched environment).
    #[arg(long)]
    pub env: Option<String>,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// 'latest' (default), a folder holding a pair, or 'copy:ID' (see --list-sources).
    #[arg(long, value_name = "latest|FOLDER|copy:ID")]
    pub from: Option<String>,
    /// The environment to replace (default: [restore] target).
    #[arg(long, value_name = "ENV")]
    pub to: Option<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// With --yes: restore even a backup that looks wrong (suspect); without it, --yes refuses one.
    #[arg(long)]
    pub accept_anomaly: bool,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
    /// List the backups a restore can use, newest first.
    #[arg(long, conflicts_with_all = ["from", "dry_run", "yes", "resume", "rollback"])]
    pub list_sources: bool,
    /// Finish an unfinished restore (after a crash or power cut).
    #[arg(long, conflicts_with_all = ["from", "to", "dry_run", "rollback"])]
    pub resume: bool,
    /// Put the target of an unfinished restore back as it was.
    #[arg(long, conflicts_with_all = ["from", "to", "dry_run"])]
    pub rollback: bool,
}

#[derive(Debug, Args)]
pub struct FailbackArgs {
    /// 'latest' (default: the standby's newest backup), a folder holding a pair, or 'copy:ID'.
    #[arg(long, value_name = "latest|FOLDER|copy:ID")]
    pub from: Option<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needs --to-production too).
    #[arg(long)]
    pub yes: bool,
    /// The second confirmation: yes, production is to be replaced.
    #[arg(long)]
    pub to_production: bool,
    /// With --yes: return even a backup that looks wrong (suspect); without it, --yes refuses one.
    #[arg(long)]
    pub accept_anomaly: bool,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
    /// List the backups the return to production can use.
    #[arg(long, conflicts_with_all = ["from", "dry_run", "yes"])]
    pub list_sources: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A folder holding a backup pair (default: the first watched folder).
    pub folder: Option<PathBuf>,
    /// Verify this environment's backup folder.
    #[arg(long, conflicts_with = "folder")]
    pub env: Option<String>,
    /// Read the files again even if history already holds their verdict.
    #[arg(long)]
    pub force: bool,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// A folder holding the pair to copy (default: the first watched folder).
    #[arg(long, value_name = "FOLDER")]
    pub from: Option<PathBuf>,
    /// Copy this environment's latest backup (default: the first watched folder).
    #[arg(long, conflicts_with = "from")]
    pub env: Option<String>,
    /// Copy here instead of the configured destinations.
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CopiesArgs {
    /// Re-read every copy and compare it with its SHA256SUMS.
    #[arg(long)]
    pub check: bool,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LoginItemArgs {
    #[arg(value_enum)]
    pub what: LoginItemChoice,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LoginItemChoice {
    On,
    Off,
    Status,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Write the commented example configuration.
    #[arg(long, conflicts_with_all = ["check", "path"])]
    pub init: bool,
    /// With --init: replace an existing file.
    #[arg(long, requires = "init")]
    pub force: bool,
    /// Check the configuration and print every resolved environment.
    #[arg(long)]
    pub check: bool,
    /// Print the configuration file's path.
    #[arg(long, conflicts_with = "check")]
    pub path: bool,
    /// With --check: print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
    /// How many events to show.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Default, Args)]
pub struct DemoArgs {
    /// Where to create the demo (default: <data-dir>/demo).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Do not start the menu-bar app; print the status.
    #[arg(long)]
    pub no_ui: bool,
    /// Make the demo's backup this old ('2h': late, '4h': stale) and stop its hourly backup; print the status.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["stop_job", "corrupt", "serve"])]
    pub age: Option<String>,
    /// Stop the demo's hourly backup (the backup turns late); print the status.
    #[arg(long, conflicts_with_all = ["corrupt", "serve"])]
    pub stop_job: bool,
    /// Damage the demo's latest backup (its verification finds it corrupt); print the status.
    #[arg(long, conflicts_with = "serve")]
    pub corrupt: bool,
    /// Run the demo's database server and pages (Secours starts this by itself when needed).
    #[arg(long, hide = true)]
    pub serve: bool,
    /// Then make a suspect backup (a table emptied), to see how Secours reports one.
    #[arg(long, conflicts_with = "serve")]
    pub suspect: bool,
}

impl DemoArgs {
    /// Whether the command changes an existing demo (things go wrong on request) instead of making it.
    fn trouble(&self) -> bool {
        self.age.is_some() || self.stop_job || self.corrupt
    }

    /// Whether the command ends in the menu-bar app.
    fn starts_app(&self) -> bool {
        !self.no_ui && !self.serve && !self.trouble()
    }
}

/// What a command needs: where things are, the configuration, the language.
pub struct Context {
    pub locations: Locations,
    pub config: Config,
    /// Whether the configuration file exists (else the defaults are in use).
    pub config_found: bool,
    pub lang: Lang,
    /// Without a configuration file: the stack found on this machine, whose `apps/` the defaults use.
    pub stack: Option<crate::env::stack::Stack>,
}

impl Context {
    /// Loads the configuration named by the locations; a missing default file means the defaults.
    pub fn load(locations: Locations) -> Result<Context> {
        let found = locations.config.exists();
        let mut stack = None;
        let config = if found || locations.config_explicit {
            config::load(&locations.config)?
        } else {
            // No configuration: the stack installed on this machine, else the procedure's paths.
            stack = crate::env::stack::discover_here();
            stack
                .as_ref()
                .map_or_else(Config::default, crate::env::stack::Stack::config)
        };
        let lang = Lang::choose(config.language);
        Ok(Context {
            locations,
            config,
            config_found: found,
            lang,
            stack,
        })
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let locations = Locations::resolve(cli.config.as_deref(), cli.data_dir.as_deref());
    let command = cli.command.unwrap_or(Command::App);
    if !matches!(command, Command::Restore(_) | Command::Failback(_) | Command::Config(_)) {
        warn_unfinished_restore(&locations);
    }
    // One menu-bar app at a time: the lock lives as long as this process (tao's event loop never returns;
    // the OS releases it on exit). A second start — by hand, or by launchd's RunAtLoad when `login-item on`
    // loads the agent — leaves at once with 0. A lock that cannot be taken at all only warns.
    let starts_app = match &command {
        Command::App => true,
        Command::Demo(args) => args.starts_app(),
        _ => false,
    };
    let _app_lock = if starts_app && crate::ui::session::has_display() {
        match crate::run::instance::acquire(&locations.data_dir) {
            Ok(guard) => Some(guard),
            Err(e @ crate::run::instance::InstanceError::AlreadyRunning { .. }) => {
                eprintln!("{e}");
                return Ok(0);
            }
            Err(e) => {
                log::warn!("{e}");
                None
            }
        }
    } else {
        None
    };
    // On the demo's configuration, the commands that need its database find it running (or start it),
    // and keep it running as long as they do.
    let _demo_server = match &command {
        Command::App | Command::Restore(_) | Command::Failback(_) | Command::Backup(_) | Command::Db(_) => {
            attach_demo_server(&locations)
        }
        _ => None,
    };
    match command {
        Command::Config(args) if args.init => {
            // The stack found on this machine goes into the paths it writes.
            let stack = crate::env::stack::discover_here();
            config::write_example_for(&locations.config, args.force, stack.as_ref().map(|s| s.dir.as_path()))?;
            println!("{}", locations.config.display());
            if let Some(s) = &stack {
                eprintln!("{}", crate::env::stack::InUse::Found(s.dir.clone()).line());
            }
            Ok(0)
        }
        Command::Config(args) if args.path => {
            println!("{}", locations.config.display());
            Ok(0)
        }
        Command::Config(args) => config_check(&locations, args.json),
        Command::Status(f) => status_command(&Context::load(locations)?, f.json),
        Command::History(args) => history_command(&Context::load(locations)?, &args),
        Command::Demo(args) => demo_command(locations, &args),
        Command::App => app_command(locations),
        Command::Verify(args) => verify_command(&Context::load(locations)?, &args),
        Command::Copy(args) => copy_command(&Context::load(locations)?, &args),
        Command::Copies(args) => copies_command(&Context::load(locations)?, &args),
        Command::Menu(f) => menu_command(locations, f.json),
        Command::LoginItem(args) => login_item_command(args.what),
        Command::Db(args) => db_command(&Context::load(locations)?, args),
        Command::Parity(args) => parity_command(&Context::load(locations)?, &args),
        Command::Backup(args) => backup_command(&Context::load(locations)?, &args),
        Command::Report(args) => report_command(&Context::load(locations)?, &args),
        Command::Accept(args) => accept_command(&Context::load(locations)?, &args),
        Command::Restore(a) => {
            let opts = crate::restore::command::Options {
                from: a.from,
                to: a.to,
                dry_run: a.dry_run,
                yes: a.yes,
                json: a.json,
                list_sources: a.list_sources,
                resume: a.resume,
                rollback: a.rollback,
                to_production: false,
                accept_anomaly: a.accept_anomaly,
            };
            restore_command(&Context::load(locations)?, crate::restore::Kind::Restore, &opts)
        }
        Command::Failback(a) => {
            let opts = crate::restore::command::Options {
                from: a.from,
                dry_run: a.dry_run,
                yes: a.yes,
                json: a.json,
                list_sources: a.list_sources,
                to_production: a.to_production,
                accept_anomaly: a.accept_anomaly,
                ..Default::default()
            };
            restore_command(&Context::load(locations)?, crate::restore::Kind::Failback, &opts)
        }
    }
}

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// The environment compared (default: prod; its newest recorded code when its root is not here).
    #[arg(long)]
    pub env: Option<String>,
    /// The environment it is compared with (default: the [restore] target).
    #[arg(long, conflicts_with = "manifest")]
    pub with: Option<String>,
    /// Compare with this recorded code-manifest.txt instead.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

fn parity_command(ctx: &Context, args: &ParityArgs) -> Result<u8> {
    let request = crate::backup::parity::Request {
        env: args.env.clone(),
        with: args.with.clone(),
        manifest: args.manifest.clone(),
    };
    let bars = Bars::new(!args.json);
    match crate::backup::parity::run(&ctx.config, &request, &bars, &crate::progress::Cancel::new()) {
        Ok(c) if args.json => print_json(&c).map(|()| c.exit_code()),
        Ok(c) => {
            print!("{}", crate::backup::parity::render_text(&c, ctx.lang));
            Ok(c.exit_code())
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "error": e.to_string() }))?;
            }
            eprintln!("secours: {e}");
            Ok(EXIT_UNKNOWN)
        }
    }
}

/// After a crash in the middle of a restore, every command says so and what to do.
fn warn_unfinished_restore(locations: &Locations) {
    let path = locations.history();
    if !path.exists() {
        return;
    }
    let Ok(history) = History::open(&path) else { return };
    if let Ok(Some(u)) = crate::restore::transaction::unfinished(&history) {
        eprintln!("secours: {}", u.error());
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Opens the history; without it Secours still works, so a failure is a warning.
pub fn open_history(locations: &Locations) -> Option<History> {
    match History::open(&locations.history()) {
        Ok(h) => Some(h),
        Err(e) => {
            log::warn!("{e}");
            eprintln!("secours: {e}");
            None
        }
    }
}

fn status_command(ctx: &Context, json: bool) -> Result<u8> {
    let history = open_history(&ctx.locations);
    let is_corrupt = |o: &crate::backup::inspect::FileObservation| {
        history.as_ref().is_some_and(|h| status::corrupt_in_history(h, o))
    };
    let mut report = status::gather(&ctx.config, ctx.lang, Timestamp::now(), &is_corrupt);
    report.time_machine = status::read_time_machine(
        &ctx.config,
        &report,
        &crate::timemachine::SystemRunner::default(),
        ctx.lang,
    );
    report.drill = status::drill(&ctx.config, history.as_ref(), report.checked_at);
    if let Some(h) = &history {
        status::apply_anomalies(&mut report, &ctx.config, h, ctx.lang);
        status::record(&report, h);
    }
    if json {
        print_json(&report)?;
    } else {
        if !ctx.config_found {
            eprintln!(
                "{}",
                fill(
                    ctx.lang.t().no_config,
                    &[("path", &ctx.locations.config.display().to_string())]
                )
            );
        }
        print!("{}", status::render_text(&report, ctx.lang));
    }
    Ok(report.exit_code())
}

fn config_check(locations: &Locations, json: bool) -> Result<u8> {
    let ctx = match Context::load(locations.clone()) {
        Ok(ctx) => ctx,
        Err(e) => {
            if json {
                let problems = match e.downcast_ref::<config::ConfigError>() {
                    Some(config::ConfigError::Invalid { problems, .. }) => problems.clone(),
                    _ => vec![config::Problem {
                        key: "(file)".to_owned(),
                        message: error_text(&e),
                    }],
                };
                print_json(&serde_json::json!({
                    "ok": false, "config": locations.config, "problems": problems,
                }))?;
            } else {
                eprintln!("{}", error_text(&e));
            }
            return Ok(EXIT_UNKNOWN);
        }
    };
    let stack = crate::env::stack::InUse::of(&ctx.config, ctx.stack.as_ref(), ctx.config_found);
    let mut ok = true;
    let mut envs = Vec::new();
    for env in environment::all(&ctx.config) {
        let db = env.database();
        ok &= db.is_ok();
        envs.push((env, db));
    }
    if json {
        let list: Vec<serde_json::Value> = envs
            .iter()
            .map(|(env, db)| {
                serde_json::json!({
                    "name": env.name, "root": env.root, "url": env.url, "web": env.web,
                    "db_config": env.db_config, "backup_dir": env.backup_dir, "media_dirs": env.media_dirs,
                    "database": db.as_ref().ok(),
                    "problem": db.as_ref().err().map(|e| e.to_string()),
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "ok": ok, "config": ctx.locations.config, "config_found": ctx.config_found,
            "language": ctx.lang, "environments": list, "problems": [], "stack": stack,
        }))?;
    } else {
        let found = if ctx.config_found { "" } else { " (absent: defaults)" };
        println!("Configuration: {}{found}", ctx.locations.config.display());
        println!("{}", stack.line());
        for (env, db) in &envs {
            println!("\n[{}] {}", env.name, env.root.display());
            if let Some(url) = &env.url {
                println!("  url        {url}");
            }
            println!("  web        {}", env.web.display());
            println!("  db-config  {}", env.db_config.display());
            println!("  backup-dir {}", env.backup_dir.display());
            println!("  media-dirs {}", env.media_dirs.join(", "));
            match db {
                Ok(s) => {
                    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
                    println!(
                        "  database   host={} port={} socket={} dbname={} user={} password={}",
                        opt(&s.host),
                        s.port.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                        s.socket
                            .as_ref()
                            .map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
                        opt(&s.name),
                        opt(&s.user),
                        if s.password.is_some() { "***" } else { "(none)" },
                    );
                }
                Err(e) => println!("  database   PROBLEM: {e}"),
            }
        }
    }
    Ok(if ok { 0 } else { EXIT_UNKNOWN })
}

fn history_command(ctx: &Context, args: &HistoryArgs) -> Result<u8> {
    let history = History::open(&ctx.locations.history())?;
    let events = history.recent_events(args.limit)?;
    if args.json {
        print_json(&events)?;
        return Ok(0);
    }
    if events.is_empty() {
        println!("{}", ctx.lang.t().history_empty);
    }
    for e in &events {
        println!("{}", e.line());
    }
    Ok(0)
}

/// The demo's database server, when the configuration is the demo's: running (started if needed) for as
/// long as the returned value lives. A problem is said in one line; the command goes on without it.
fn attach_demo_server(locations: &Locations) -> Option<demo::server::Attached> {
    if !locations.config.exists() {
        return None;
    }
    let config = config::load(&locations.config).ok()?;
    let dir = config.demo.as_ref()?.dir.clone();
    match demo::server::attach(&config, &dir) {
        Ok(attached) => Some(attached),
        Err(e) => {
            eprintln!("secours: {}", demo_server_problem(Lang::choose(config.language), &e));
            None
        }
    }
}

/// A demo server that is not there, for people: how to install one, or why it did not start.
fn demo_server_problem(lang: Lang, e: &demo::server::ServerError) -> String {
    let d = lang.demo();
    match e {
        demo::server::ServerError::NotInstalled => fill(d.no_server, &[("install", demo::server::install_hint())]),
        e => fill(d.server_failed, &[("error", &e.to_string())]),
    }
}

fn demo_command(locations: Locations, args: &DemoArgs) -> Result<u8> {
    let dir = args.dir.clone().unwrap_or_else(|| locations.demo_dir());
    if args.serve {
        demo::server::keep(&dir)?;
        return Ok(0);
    }
    if args.trouble() {
        return demo_trouble(locations, &dir, args);
    }
    let demo = demo::layout(&dir)?;
    let locations = Locations {
        config: demo.config.clone(),
        config_explicit: true,
        ..locations
    };
    let ctx = Context::load(locations)?;
    let t = ctx.lang.t();
    eprintln!(
        "{}",
        fill(
            t.demo_created,
            &[
                ("dir", &demo.dir.display().to_string()),
                ("config", &demo.config.display().to_string())
            ]
        )
    );
    // The demo's own database: loaded, and production's pair made from it. Without it, the application's
    // dump is the pair, and everything that needs no database still runs.
    let _live = match demo::go_live(&demo, &ctx.config, ctx.lang) {
        Ok(live) => {
            for m in &live.messages {
                eprintln!("{m}");
            }
            Some(live.attached)
        }
        Err(e) => {
            match &e {
                demo::DemoError::Server(s) => eprintln!("{}", demo_server_problem(ctx.lang, s)),
                e => eprintln!("{}", fill(ctx.lang.demo().server_failed, &[("error", &e.to_string())])),
            }
            demo::write_backup_pair(&demo.dir.join("prod/web"), &demo.backup_dir)?;
            None
        }
    };
    // The demo starts as a well-kept installation: its backup already copied to the safe place.
    if let Ok(pair) = crate::backup::operations::select(&ctx.config, &Default::default()) {
        let history = open_history(&ctx.locations);
        let dests = ctx.config.safe_copy.destinations.clone();
        let cancel = crate::progress::Cancel::new();
        if let Err(e) = crate::backup::operations::copy_to(
            &ctx.config,
            &pair,
            &dests,
            history.as_ref(),
            &crate::progress::Silent,
            &cancel,
        ) {
            log::warn!("demo: first safe copy: {e}");
        }
    }
    eprintln!("{}", ctx.lang.demo().try_this);
    if args.suspect {
        demo_suspect(&ctx, &demo)?;
    }
    if args.no_ui {
        return status_command(&ctx, false);
    }
    start_app(ctx)
}

/// `secours demo --suspect`: the pair just made is verified (the reference), then a table is emptied and a
/// new pair written and verified: the status says `suspect` and what changed.
fn demo_suspect(ctx: &Context, demo: &demo::Demo) -> Result<()> {
    let history = open_history(&ctx.locations);
    let cancel = crate::progress::Cancel::new();
    let judge = || -> Result<()> {
        let pair = crate::backup::operations::select(&ctx.config, &Default::default())?;
        crate::backup::operations::verify(&pair, history.as_ref(), false, &crate::progress::Silent, &cancel);
        if let Some(h) = &history {
            crate::backup::anomaly::judgement(
                h,
                &ctx.config.anomaly,
                &pair.observation.folder,
                &pair.db,
                &pair.media,
                Timestamp::now(),
            );
        }
        Ok(())
    };
    judge()?;
    // The demo's hourly backup would replace the suspect pair at once: it stops, as with --age.
    demo::set_job(&demo.dir, false)?;
    demo::write_suspect_pair(&demo.dir.join("prod/web"), &demo.backup_dir)?;
    judge()
}

/// `secours demo --age D | --stop-job | --corrupt`: things go wrong on request, then the status.
fn demo_trouble(locations: Locations, dir: &std::path::Path, args: &DemoArgs) -> Result<u8> {
    let config_path = dir.join("config.toml");
    if !config_path.exists() {
        return Err(demo::DemoError::NoDemo { dir: dir.to_owned() }.into());
    }
    let ctx = Context::load(Locations {
        config: config_path,
        config_explicit: true,
        ..locations
    })?;
    let (d, t) = (ctx.lang.demo(), ctx.lang.t());
    let message = if let Some(age) = &args.age {
        let by = config::HumanDuration::parse(age).map_err(|_| {
            anyhow::anyhow!("'{age}' is not a duration for --age; write it like '2h' (late) or '4h' (stale)")
        })?;
        demo::age_backup(&ctx.config, dir, by.0)?;
        fill(d.aged, &[("age", &t.age(by.as_secs() as i64))])
    } else if args.stop_job {
        let since = demo::stop_job(&ctx.config, dir)?;
        fill(d.job_stopped, &[("age", &t.age(since.as_secs() as i64))])
    } else {
        let path = demo::corrupt(&ctx.config)?;
        fill(d.corrupted, &[("path", &path.display().to_string())])
    };
    eprintln!("{message}");
    status_command(&ctx, false)
}

fn app_command(locations: Locations) -> Result<u8> {
    // With no configuration anywhere and no stack installed here, the app runs on the demo (the README's
    // first command); with a stack found, on that stack.
    if !locations.config.exists() && !locations.config_explicit && crate::env::stack::discover_here().is_none() {
        return demo_command(locations, &DemoArgs::default());
    }
    start_app(Context::load(locations)?)
}

fn start_app(ctx: Context) -> Result<u8> {
    if !crate::ui::session::has_display() {
        eprintln!("{}", ctx.lang.t().demo_no_display);
        return status_command(&ctx, false);
    }
    crate::run::logging::init_file(&ctx.locations.log_dir);
    crate::ui::tray::run(crate::ui::session::Session::new(ctx))
}

/// A progress display for a terminal: one bar per step; nothing when stderr is not a terminal.
struct Bars {
    multi: indicatif::MultiProgress,
    bars: std::sync::Mutex<std::collections::BTreeMap<&'static str, indicatif::ProgressBar>>,
    enabled: bool,
}

impl Bars {
    fn new(enabled: bool) -> Bars {
        use std::io::IsTerminal;
        Bars {
            multi: indicatif::MultiProgress::new(),
            bars: std::sync::Mutex::new(Default::default()),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }
}

impl crate::progress::Progress for Bars {
    fn update(&self, u: crate::progress::Update) {
        if !self.enabled {
            return;
        }
        let Ok(mut bars) = self.bars.lock() else { return };
        let bar = bars.entry(u.step).or_insert_with(|| {
            let bar = self.multi.add(indicatif::ProgressBar::new(u.total.unwrap_or(0)));
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{prefix:>13} [{bar:30}] {bytes}/{total_bytes} {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(u.step);
            bar
        });
        if let Some(total) = u.total {
            bar.set_length(total);
        }
        bar.set_position(u.done);
        if let Some(d) = u.detail {
            bar.set_message(d);
        }
    }
}

fn backup_command(ctx: &Context, args: &BackupArgs) -> Result<u8> {
    let name = args
        .env
        .clone()
        .or_else(|| ctx.config.watch.environments.first().cloned())
        .unwrap_or_else(|| "prod".to_owned());
    let env = environment::named(&ctx.config, &name)?;
    let bars = Bars::new(!args.json);
    match crate::backup::now::backup_now(&env, &bars, &crate::progress::Cancel::new()) {
        Ok(s) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": true, "backup": s }))?;
            } else {
                let t = ctx.lang.t();
                println!(
                    "{}  {} ({} tables, {} rows)\n{}  {} ({} files)",
                    s.db_file.display(),
                    t.bytes(s.db_bytes),
                    s.tables,
                    s.rows,
                    s.media_file.display(),
                    t.bytes(s.media_bytes),
                    s.files
                );
            }
            Ok(0)
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": false, "error": e.to_string() }))?;
            }
            eprintln!("secours: {e}");
            Ok(2)
        }
    }
}

fn restore_command(ctx: &Context, kind: crate::restore::Kind, opts: &crate::restore::command::Options) -> Result<u8> {
    let bars = Bars::new(!opts.json);
    let env = crate::restore::command::Env {
        config: &ctx.config,
        history: ctx.locations.history(),
        lang: ctx.lang,
        progress: &bars,
    };
    Ok(crate::restore::command::run(&env, kind, opts))
}

fn report_command(ctx: &Context, args: &ReportArgs) -> Result<u8> {
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| ctx.locations.data_dir.join(crate::report::FILE_NAME));
    if let Err(e) = crate::report::write(
        &ctx.config,
        &ctx.locations.history(),
        ctx.lang,
        &path,
        args.days,
        Timestamp::now(),
    ) {
        eprintln!("secours: {e}");
        return Ok(EXIT_UNKNOWN);
    }
    println!("{}", path.display());
    if args.open
        && let Err(e) = crate::platform::open_in_browser(&path)
    {
        eprintln!("secours: {e}");
    }
    Ok(0)
}

fn accept_command(ctx: &Context, args: &AcceptArgs) -> Result<u8> {
    if let Some(name) = &args.source
        && !crate::backup::sources::sources(&ctx.config)
            .iter()
            .any(|s| &s.name == name)
    {
        let known: Vec<String> = crate::backup::sources::sources(&ctx.config)
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect();
        eprintln!(
            "secours: '{name}' is not a watched source (watched: {}); nothing was accepted.",
            known.join(", ")
        );
        return Ok(EXIT_UNKNOWN);
    }
    let history = History::open(&ctx.locations.history())?;
    let by = format!("{} (command line)", crate::backup::anomaly::current_user());
    let accepted = crate::backup::anomaly::accept(
        &ctx.config,
        &history,
        args.source.as_deref(),
        &by,
        ctx.lang,
        Timestamp::now(),
    )?;
    if args.json {
        print_json(&serde_json::json!({ "accepted": accepted }))?;
    } else if accepted.is_empty() {
        println!("{}", ctx.lang.report().accept_nothing);
    } else {
        for a in &accepted {
            println!("{}", crate::backup::anomaly::accepted_text(a, ctx.lang));
        }
    }
    Ok(if accepted.is_empty() { 2 } else { 0 })
}

fn verify_command(ctx: &Context, args: &VerifyArgs) -> Result<u8> {
    let sel = crate::backup::operations::Selection {
        folder: args.folder.clone(),
        env: args.env.clone(),
    };
    let pair = match crate::backup::operations::select(&ctx.config, &sel) {
        Ok(p) => p,
        Err(e @ crate::backup::operations::OperationError::Incomplete { .. }) => {
            eprintln!("secours: {e}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    let history = open_history(&ctx.locations);
    let bars = Bars::new(!args.json);
    let v = crate::backup::operations::verify(
        &pair,
        history.as_ref(),
        args.force,
        &bars,
        &crate::progress::Cancel::new(),
    );
    // A sound pair may still look wrong: said, never hidden (the exit code stays about the files).
    let now = Timestamp::now();
    let judged = history.as_ref().filter(|_| v.verdict == "ok").and_then(|h| {
        crate::backup::anomaly::judgement(
            h,
            &ctx.config.anomaly,
            &pair.observation.folder,
            &pair.db,
            &pair.media,
            now,
        )
    });
    let anomalies = judged
        .as_ref()
        .filter(|j| j.is_suspect())
        .map(|j| j.anomalies(ctx.lang, now))
        .unwrap_or_default();
    if args.json {
        let mut value = serde_json::to_value(&v)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("suspect".to_owned(), serde_json::Value::Bool(!anomalies.is_empty()));
            obj.insert("anomalies".to_owned(), serde_json::to_value(&anomalies)?);
        }
        print_json(&value)?;
    } else {
        let t = ctx.lang.t();
        for f in [&v.db, &v.media] {
            let reason = f.details.get("reason").and_then(|r| r.as_str()).unwrap_or("");
            println!("{:<10} {}  {reason}", f.verdict, f.path.display());
            if let Some(outside) = f
                .details
                .get("containment")
                .and_then(|c| serde_json::from_value::<crate::db::importer::Outside>(c.clone()).ok())
            {
                let detail = outside.to_string();
                println!(
                    "{:<10} {}",
                    "",
                    crate::i18n::fill(t.verify_outside, &[("detail", &detail)])
                );
            }
        }
        // Where the media folders are in the archive, and what a restore would take from it.
        if let Some(layout) = crate::backup::verify::MediaLayout::from_details(&v.media.details) {
            println!("{:<10} {}", "", layout.describe());
        }
        println!("{}", if v.verdict == "ok" { t.verify_ok } else { t.verify_bad });
        if let Some(j) = judged.as_ref().filter(|j| j.is_suspect()) {
            println!(
                "{}",
                fill(
                    ctx.lang.report().verify_suspect,
                    &[(
                        "message",
                        &format!("{}. {}", j.summary(ctx.lang, now), ctx.lang.report().advice)
                    )]
                )
            );
        }
    }
    Ok(v.exit_code())
}

fn copy_command(ctx: &Context, args: &CopyArgs) -> Result<u8> {
    let sel = crate::backup::operations::Selection {
        folder: args.from.clone(),
        env: args.env.clone(),
    };
    let pair = crate::backup::operations::select(&ctx.config, &sel)?;
    let destinations = match &args.to {
        Some(d) => vec![d.clone()],
        None => ctx.config.safe_copy.destinations.clone(),
    };
    let history = open_history(&ctx.locations);
    let bars = Bars::new(!args.json);
    let results = match crate::backup::operations::copy_to(
        &ctx.config,
        &pair,
        &destinations,
        history.as_ref(),
        &bars,
        &crate::progress::Cancel::new(),
    ) {
        Ok(r) => r,
        Err(e @ crate::backup::operations::OperationError::NotVerified { .. }) => {
            eprintln!("secours: {e}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        print_json(&results)?;
    } else {
        for r in &results {
            match (&r.outcome, &r.error) {
                (Some(crate::backup::copy::CopyOutcome::Copied { folder, .. }), _) => {
                    println!("copied   {}", folder.display())
                }
                (Some(crate::backup::copy::CopyOutcome::AlreadyThere { folder }), _) => {
                    println!("present  {}", folder.display())
                }
                (_, Some(e)) => eprintln!("FAILED   {}: {e}", r.destination.display()),
                _ => {}
            }
        }
    }
    Ok(if results.iter().all(|r| r.error.is_none()) {
        0
    } else {
        2
    })
}

fn copies_command(ctx: &Context, args: &CopiesArgs) -> Result<u8> {
    let mut all = Vec::new();
    let mut bad = false;
    for dest in &ctx.config.safe_copy.destinations {
        let list = match crate::backup::copy::list_copies(dest) {
            Ok(l) => l,
            Err(e) => {
                bad = true;
                all.push(serde_json::json!({ "destination": dest, "error": e.to_string() }));
                continue;
            }
        };
        for c in list.iter().rev() {
            let check = args
                .check
                .then(|| crate::backup::copy::check_copy(c, &crate::progress::Silent, &Default::default()));
            bad |= check
                .as_ref()
                .is_some_and(|k| k.verdict != crate::backup::copy::CheckVerdict::Ok);
            all.push(serde_json::json!({
                "destination": dest, "folder": c.folder, "date": c.date.to_string(), "size": c.size,
                "manifest": c.manifest, "check": check,
            }));
        }
    }
    if args.json {
        print_json(&all)?;
    } else {
        for c in &all {
            println!(
                "{}  {}  {}",
                c["date"].as_str().unwrap_or("-"),
                c["folder"].as_str().or(c["destination"].as_str()).unwrap_or(""),
                c["check"]["verdict"].as_str().or(c["error"].as_str()).unwrap_or("")
            );
        }
    }
    Ok(if bad { 2 } else { 0 })
}

fn menu_command(locations: Locations, json: bool) -> Result<u8> {
    let session = match Context::load(locations.clone()) {
        Ok(ctx) => crate::ui::session::Session::new(ctx),
        Err(e) => crate::ui::session::Session::broken(locations, error_text(&e)),
    };
    let now = Timestamp::now();
    let input = session.snapshot(now);
    let items = crate::ui::menu::build(&input, now, session.lang);
    let icon = crate::ui::menu::icon(&input, now);
    if json {
        print_json(
            &serde_json::json!({ "icon": icon, "title": crate::ui::menu::title(&input, session.lang), "items": items }),
        )?;
    } else {
        fn show(items: &[crate::ui::menu::Item], depth: usize) {
            for i in items {
                if i.separator {
                    println!("{}—", "  ".repeat(depth));
                    continue;
                }
                let mark = match i.checked {
                    Some(true) => "[x] ",
                    Some(false) => "[ ] ",
                    None => "",
                };
                let off = if i.enabled || i.action.is_none() { "" } else { " (off)" };
                println!("{}{mark}{}{off}", "  ".repeat(depth), i.label);
                show(&i.children, depth + 1);
            }
        }
        println!("[{}]", icon.as_str());
        show(&items, 0);
    }
    Ok(0)
}

fn login_item_command(what: LoginItemChoice) -> Result<u8> {
    use crate::platform::login_item::{LoginItem, Status, current_bundle_id};
    let item = LoginItem::for_current_user(current_bundle_id())?;
    let status = match what {
        LoginItemChoice::On => item.enable(&std::env::current_exe()?)?,
        LoginItemChoice::Off => item.disable()?,
        LoginItemChoice::Status => item.status()?,
    };
    println!("{status}");
    Ok(if matches!(status, Status::Stale { .. }) { 1 } else { 0 })
}

// ---------------------------------------------------------------------------------------------------
// `secours db …`: the database engine on an environment's database.

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import a mysqldump .gz into the environment's database (exit 0 ok, 2 refused/failed, 3 config/connection).
    Import(DbImportArgs),
    /// Drop every table, view, routine and event of the environment's database.
    DropAll(DbDropAllArgs),
    /// Dump the environment's database to a .gz file in mysqldump format.
    Dump(DbDumpArgs),
}

#[derive(Debug, Args)]
pub struct DbImportArgs {
    /// The dump (gzip'd SQL).
    pub dump: PathBuf,
    /// The environment whose database receives the dump.
    #[arg(long)]
    pub env: String,
    /// Drop everything in the database first (after the checks passed).
    #[arg(long)]
    pub replace: bool,
    /// Turn other users' DEFINER clauses into DEFINER=CURRENT_USER.
    #[arg(long)]
    pub rewrite_definers: bool,
    /// Connections inserting rows in parallel (1: everything in dump order on one connection).
    #[arg(long, default_value_t = 2)]
    pub connections: usize,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DbDropAllArgs {
    /// The environment whose database is emptied.
    #[arg(long)]
    pub env: String,
    /// Confirm: everything in the database is dropped.
    #[arg(long)]
    pub yes: bool,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DbDumpArgs {
    /// The environment whose database is dumped.
    #[arg(long)]
    pub env: String,
    /// The .gz file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE.gz")]
    pub output: PathBuf,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
}

/// The environment's database settings, or `None` after printing why (exit 3).
fn db_settings(ctx: &Context, env: &str) -> Option<crate::env::dbphp::DbSettings> {
    match environment::named(&ctx.config, env).and_then(|e| e.database()) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("secours: {e}");
            None
        }
    }
}

fn db_command(ctx: &Context, args: DbArgs) -> Result<u8> {
    match args.command {
        DbCommand::Import(a) => db_import_command(ctx, &a),
        DbCommand::DropAll(a) => db_drop_all_command(ctx, &a),
        DbCommand::Dump(a) => db_dump_command(ctx, &a),
    }
}

fn db_import_command(ctx: &Context, args: &DbImportArgs) -> Result<u8> {
    let Some(settings) = db_settings(ctx, &args.env) else {
        return Ok(EXIT_UNKNOWN);
    };
    let options = crate::db::importer::ImportOptions {
        replace: args.replace,
        rewrite_definers: args.rewrite_definers,
        connections: args.connections.max(1),
        // A dump verified before (by `secours verify`, the watcher or a restore) needs no pre-scan.
        known: open_history(&ctx.locations).and_then(|h| crate::backup::operations::known_facts(&h, &args.dump)),
        ..Default::default()
    };
    let bars = Bars::new(!args.json);
    match crate::db::importer::import_dump(&settings, &args.dump, &options, &bars, &crate::progress::Cancel::new()) {
        Ok(summary) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": true, "summary": summary }))?;
            } else {
                if let Some(d) = &summary.dropped {
                    println!("dropped   {} objects first", d.total());
                }
                println!(
                    "imported  {} statements, {} tables, {} rows from {} in {:.1} s",
                    summary.statements,
                    summary.tables,
                    summary.rows,
                    args.dump.display(),
                    summary.seconds
                );
            }
            Ok(0)
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": false, "error": e.to_string() }))?;
            }
            eprintln!("secours: {e}");
            Ok(if e.is_refusal() { 2 } else { EXIT_UNKNOWN })
        }
    }
}

fn db_drop_all_command(ctx: &Context, args: &DbDropAllArgs) -> Result<u8> {
    if !args.yes {
        eprintln!(
            "secours: 'db drop-all' drops every table, view, routine and event of environment '{}'; nothing was done. Add --yes to confirm.",
            args.env
        );
        return Ok(2);
    }
    let Some(settings) = db_settings(ctx, &args.env) else {
        return Ok(EXIT_UNKNOWN);
    };
    let dropped = crate::db::connect::connect(&settings)
        .map_err(anyhow::Error::from)
        .and_then(|mut conn| crate::db::drop_all::drop_all(&mut conn).map_err(anyhow::Error::from));
    match dropped {
        Ok(d) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": true, "dropped": d }))?;
            } else {
                println!(
                    "dropped   {} tables, {} views, {} procedures, {} functions, {} events",
                    d.tables, d.views, d.procedures, d.functions, d.events
                );
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("secours: {}", error_text(&e));
            Ok(EXIT_UNKNOWN)
        }
    }
}

fn db_dump_command(ctx: &Context, args: &DbDumpArgs) -> Result<u8> {
    let Some(settings) = db_settings(ctx, &args.env) else {
        return Ok(EXIT_UNKNOWN);
    };
    let mut conn = match crate::db::connect::connect(&settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("secours: {e}");
            return Ok(EXIT_UNKNOWN);
        }
    };
    let bars = Bars::new(!args.json);
    match crate::db::dumper::dump_database(&mut conn, &args.output, &bars, &crate::progress::Cancel::new()) {
        Ok(s) => {
            if args.json {
                print_json(&serde_json::json!({
                    "ok": true, "path": s.path, "bytes": s.bytes, "tables": s.tables, "rows": s.rows,
                    "views": s.views, "triggers": s.triggers, "procedures": s.procedures,
                    "functions": s.functions, "events": s.events,
                }))?;
            } else {
                println!(
                    "dumped    {} tables, {} rows to {} ({} bytes)",
                    s.tables,
                    s.rows,
                    s.path.display(),
                    s.bytes
                );
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("secours: {e}");
            Ok(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    // Guards the first launch from the Finder: macOS may pass `-psn_0_…` (and `-NS…` pairs), which clap
    // refused with "unexpected argument '-p'", and the app exited before showing its icon.
    #[test]
    fn launch_services_arguments_are_left_out() {
        let cleaned = without_launch_services_args(args(&[
            "/Applications/Secours.app/Contents/MacOS/secours",
            "-psn_0_12345",
            "-NSDocumentRevisionsDebugMode",
            "YES",
            "-AppleLanguages",
            "(fr)",
            "status",
            "--json",
        ]));
        assert_eq!(
            cleaned,
            args(&["/Applications/Secours.app/Contents/MacOS/secours", "status", "--json"])
        );
        let cli = Cli::try_parse_from(without_launch_services_args(args(&["secours", "-psn_0_12345"]))).unwrap();
        assert!(cli.command.is_none());
        // A pair without its value, then Secours's own option, which stays.
        let cleaned = without_launch_services_args(args(&["secours", "-NSQuitAlwaysKeepsWindows", "--config", "/c"]));
        assert_eq!(cleaned, args(&["secours", "--config", "/c"]));
        // Secours's own arguments are never touched, even a value that looks like one of those.
        let own = args(&["secours", "verify", "-NSx", "/Volumes/-psn"]);
        assert_eq!(without_launch_services_args(own.clone()), own);
    }
}
