//! The command line's grammar: every command, flag and argument (clap), apart from what the commands do
//! (`commands/`). Names, flags and exit codes written here are a public contract (scripts and monitoring
//! use them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Restore each new backup ahead of time beside the standby, so the switch-over only swaps (exit 0 ready
    /// or nothing to do, 2 the latest backup does not restore, 3 cannot work).
    Standby(StandbyArgs),
    /// Bring the standby's software to parity with production (exit 0 done or identical, 2 refused or undone, 3 mixed).
    Software(SoftwareArgs),
}

#[derive(Debug, Args)]
pub struct StandbyArgs {
    /// Run one cycle now and stop (without it: a cycle every `[standby] every`, until stopped).
    #[arg(long)]
    pub once: bool,
    /// Print JSON for scripts and monitoring (one object per cycle).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SoftwareArgs {
    /// Where the software comes from: an environment (default: [restore] production) or the software.taz of
    /// a safe copy, copy:ID (see 'secours copies').
    #[arg(long, value_name = "prod|copy:ID")]
    pub from: Option<String>,
    /// The environment brought to parity (default: [restore] target).
    #[arg(long, value_name = "ENV")]
    pub to: Option<String>,
    /// List what differs; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print JSON for scripts and monitoring.
    #[arg(long)]
    pub json: bool,
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
    pub fn trouble(&self) -> bool {
        self.age.is_some() || self.stop_job || self.corrupt
    }

    /// Whether the command ends in the menu-bar app.
    pub fn starts_app(&self) -> bool {
        !self.no_ui && !self.serve && !self.trouble()
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
