//! The `secours` binary: parse the command line, set up logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The Finder and Launch Services may add `-psn_0_…` and `-NS…`/`-Apple…` pairs: not ours, left out.
    let cli = secours::cli::Cli::parse_from(secours::cli::without_launch_services_args(std::env::args_os()));
    secours::run::logging::init_cli();
    match secours::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("secours: {}", secours::cli::error_text(&e));
            ExitCode::from(secours::cli::EXIT_UNKNOWN)
        }
    }
}
