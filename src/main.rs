//! The `secours` binary: parse the command line, set up logging, run the command (the CLI shell) or hand
//! over to the menu-bar app (the UI shell, default feature `gui`), and map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use secours::cli::{self, Cli, Flow};
use secours::run;

fn main() -> ExitCode {
    // The Finder and Launch Services may add `-psn_0_…` and `-NS…`/`-Apple…` pairs: not ours, left out.
    let args = Cli::parse_from(cli::without_launch_services_args(std::env::args_os()));
    run::logging::init_cli();
    let code = match cli::run(args) {
        Ok(Flow::Exit(code)) => Ok(code),
        #[cfg(feature = "gui")]
        Ok(Flow::App { ctx, held }) => secours::ui::start(*ctx, held),
        #[cfg(feature = "gui")]
        Ok(Flow::Menu { locations, json }) => secours::ui::print_menu(locations, json),
        Err(e) => Err(e),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("secours: {}", run::error_text(&e));
            ExitCode::from(run::EXIT_UNKNOWN)
        }
    }
}
