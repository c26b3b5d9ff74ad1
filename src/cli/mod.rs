//! The command line, one of Secours's two shells over the library (the menu-bar app, `crate::ui`, is the
//! other; they never import each other). [`args`] holds the grammar, [`commands`] one file per command,
//! [`progress`] the terminal's progress bars.
//!
//! `main` parses [`Cli`], sets up logging and calls [`run`], which runs the command and says what is next
//! ([`Flow`]): exit with a code, or hand over to the menu-bar app when the build has one. Exit codes follow
//! the monitoring-plugin convention ([`crate::run`]).
//!
//! May use: everything below the shells ([`crate::run`] and down); never `crate::ui`.

pub mod args;
pub mod commands;
pub mod progress;

use std::io::Write;

use anyhow::Result;

pub use args::{Cli, Command, without_launch_services_args};

use crate::env::config;
use crate::env::paths::Locations;
#[cfg(not(feature = "gui"))]
use crate::i18n::Lang;
use crate::run::{Context, Held};
use crate::store::history::History;

/// What `main` does once the command line has run.
pub enum Flow {
    /// Exit with this code.
    Exit(u8),
    /// Start the menu-bar app on this context (`secours app`, the demo without `--no-ui`), keeping `held`
    /// alive for as long as it runs.
    #[cfg(feature = "gui")]
    App { ctx: Box<Context>, held: Held },
    /// Print the menu the app would show now (`secours menu`).
    #[cfg(feature = "gui")]
    Menu { locations: Locations, json: bool },
}

/// Runs a parsed command line; says what `main` does next.
pub fn run(cli: Cli) -> Result<Flow> {
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
    let lock = if starts_app && cfg!(feature = "gui") && crate::run::has_display() {
        match crate::run::instance::acquire(&locations.data_dir) {
            Ok(guard) => Some(guard),
            Err(e @ crate::run::instance::InstanceError::AlreadyRunning { .. }) => {
                eprintln!("{e}");
                return Ok(Flow::Exit(0));
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
    let demo_server = match &command {
        Command::App
        | Command::Restore(_)
        | Command::Failback(_)
        | Command::Backup(_)
        | Command::Db(_)
        | Command::Standby(_) => commands::demo::attach_demo_server(&locations),
        _ => None,
    };
    let held = Held { lock, demo_server };
    let code = match command {
        Command::Demo(args) => return commands::demo::demo_command(locations, &args, held),
        Command::App => return commands::demo::app_command(locations, held),
        #[cfg(feature = "gui")]
        Command::Menu(f) => {
            return Ok(Flow::Menu {
                locations,
                json: f.json,
            });
        }
        #[cfg(not(feature = "gui"))]
        Command::Menu(_) => anyhow::bail!("{}", Lang::choose(Default::default()).t().no_gui),
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
        Command::Config(args) => commands::config::config_check(&locations, args.json),
        Command::Status(f) => commands::status::status_command(&Context::load(locations)?, f.json),
        Command::History(args) => commands::history::history_command(&Context::load(locations)?, &args),
        Command::Verify(args) => commands::verify::verify_command(&Context::load(locations)?, &args),
        Command::Copy(args) => commands::copy::copy_command(&Context::load(locations)?, &args),
        Command::Copies(args) => commands::copy::copies_command(&Context::load(locations)?, &args),
        Command::LoginItem(args) => commands::login_item::login_item_command(args.what),
        Command::Db(args) => commands::db::db_command(&Context::load(locations)?, args),
        Command::Parity(args) => commands::parity::parity_command(&Context::load(locations)?, &args),
        Command::Backup(args) => commands::backup::backup_command(&Context::load(locations)?, &args),
        Command::Report(args) => commands::report::report_command(&Context::load(locations)?, &args),
        Command::Accept(args) => commands::accept::accept_command(&Context::load(locations)?, &args),
        Command::Standby(args) => commands::standby::standby_command(&Context::load(locations)?, &args),
        Command::Software(args) => commands::software::software_command(&Context::load(locations)?, &args),
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
            commands::restore::restore_command(&Context::load(locations)?, crate::restore::Kind::Restore, &opts)
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
            commands::restore::restore_command(&Context::load(locations)?, crate::restore::Kind::Failback, &opts)
        }
    };
    code.map(Flow::Exit)
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

pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
