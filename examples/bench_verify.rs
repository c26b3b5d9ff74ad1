//! Benchmark driver (not a test): runs the library's verify or copy once and prints the result as JSON.
//!
//! Usage: `bench_verify verify DB MEDIA` or `bench_verify copy DB MEDIA DEST`.

use std::path::Path;
use std::process::ExitCode;

use secours::backup::copy::{CopyOptions, copy_pair};
use secours::backup::verify::verify_pair;
use secours::progress::{Cancel, Silent};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| Path::new(args.get(i).map(String::as_str).unwrap_or(""));
    let cancel = Cancel::new();
    match args.get(1).map(String::as_str) {
        Some("verify") => {
            let top = vec!["documents".to_string(), "pictures".to_string()];
            let report = verify_pair(arg(2), arg(3), &top, &Silent, &cancel);
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            if report.all_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some("copy") => {
            let time = jiff::Zoned::now();
            match copy_pair(
                arg(2),
                arg(3),
                &time,
                arg(4),
                2,
                &CopyOptions::default(),
                &Silent,
                &cancel,
            ) {
                Ok(outcome) => {
                    println!("{}", serde_json::to_string(&outcome).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: bench_verify verify DB MEDIA | copy DB MEDIA DEST");
            ExitCode::from(2)
        }
    }
}
