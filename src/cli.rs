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

use crate::config::{self, Config};
use crate::demo;
use crate::environment;
use crate::history::History;
use crate::i18n::{Lang, fill};
use crate::paths::Locations;
use crate::status;

/// Exit code for "unknown" and configuration errors.
pub const EXIT_UNKNOWN: u8 = 3;

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
    #[arg(long)]
    pub json: bool,
    /// How many events to show.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the demo (default: <data-dir>/demo).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Do not start the menu-bar app; print the status.
    #[arg(long)]
    pub no_ui: bool,
}

/// What a command needs: where things are, the configuration, the language.
pub struct Context {
    pub locations: Locations,
    pub config: Config,
    /// Whether the configuration file exists (else the defaults are in use).
    pub config_found: bool,
    pub lang: Lang,
}

impl Context {
    /// Loads the configuration named by the locations; a missing default file means the defaults.
    pub fn load(locations: Locations) -> Result<Context> {
        let found = locations.config.exists();
        let config = if found || locations.config_explicit {
            config::load(&locations.config)?
        } else {
            Config::default()
        };
        let lang = Lang::choose(config.language);
        Ok(Context {
            locations,
            config,
            config_found: found,
            lang,
        })
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let locations = Locations::resolve(cli.config.as_deref(), cli.data_dir.as_deref());
    match cli.command.unwrap_or(Command::App) {
        Command::Config(args) if args.init => {
            config::write_example(&locations.config, args.force)?;
            println!("{}", locations.config.display());
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
    let is_corrupt =
        |o: &crate::inspect::FileObservation| history.as_ref().is_some_and(|h| status::corrupt_in_history(h, o));
    let mut report = status::gather(&ctx.config, ctx.lang, Timestamp::now(), &is_corrupt);
    report.time_machine = status::read_time_machine(
        &ctx.config,
        &report,
        &crate::timemachine::SystemRunner::default(),
        ctx.lang,
    );
    if let Some(h) = &history {
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
                        message: format!("{e:#}"),
                    }],
                };
                print_json(&serde_json::json!({
                    "ok": false, "config": locations.config, "problems": problems,
                }))?;
            } else {
                eprintln!("{e:#}");
            }
            return Ok(EXIT_UNKNOWN);
        }
    };
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
            "language": ctx.lang, "environments": list, "problems": [],
        }))?;
    } else {
        let found = if ctx.config_found { "" } else { " (absent: defaults)" };
        println!("Configuration: {}{found}", ctx.locations.config.display());
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
        let local = e.at.to_zoned(jiff::tz::TimeZone::system());
        println!("{}  {:<12} {}", local.strftime("%Y-%m-%d %H:%M:%S"), e.kind, e.summary);
    }
    Ok(0)
}

fn demo_command(locations: Locations, args: &DemoArgs) -> Result<u8> {
    let dir = args.dir.clone().unwrap_or_else(|| locations.demo_dir());
    let demo = demo::create(&dir)?;
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
    if args.no_ui {
        return status_command(&ctx, false);
    }
    start_app(ctx)
}

fn app_command(locations: Locations) -> Result<u8> {
    // With no configuration anywhere, the app runs on the demo (the README's first command).
    if !locations.config.exists() && !locations.config_explicit {
        return demo_command(
            locations,
            &DemoArgs {
                dir: None,
                no_ui: false,
            },
        );
    }
    start_app(Context::load(locations)?)
}

fn start_app(ctx: Context) -> Result<u8> {
    if !crate::app::has_display() {
        eprintln!("{}", ctx.lang.t().demo_no_display);
        return status_command(&ctx, false);
    }
    crate::logging::init_file(&ctx.locations.log_dir);
    crate::tray::run(crate::app::Session::new(ctx))
}
