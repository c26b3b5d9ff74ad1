//! The `secours` binary: parse the command line, set up logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = secours::cli::Cli::parse();
    secours::logging::init_cli();
    match secours::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("secours: {}", secours::cli::error_text(&e));
            ExitCode::from(secours::cli::EXIT_UNKNOWN)
        }
    }
}
