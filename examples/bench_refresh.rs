//! Benchmark driver (not a test): times the menu-bar app's refresh — [`Session::snapshot`] (files' metadata,
//! history, safe copies, login item) and the menu built from it — on a configuration, and prints the
//! median and the slowest of the rounds in milliseconds, as JSON.
//!
//! Usage: `bench_refresh CONFIG DATA_DIR [ROUNDS]` (used by `bench/refresh.sh`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use jiff::Timestamp;
use secours::env::paths::Locations;
use secours::run::Context;
use secours::ui::session::Session;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(config), Some(data)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_refresh CONFIG DATA_DIR [ROUNDS]");
        return ExitCode::from(2);
    };
    let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(200);
    let locations = Locations::resolve(Some(Path::new(config)), Some(Path::new(data)));
    let session = match Context::load(locations) {
        Ok(ctx) => Session::new(ctx),
        Err(e) => {
            eprintln!("bench_refresh: {}", secours::run::error_text(&e));
            return ExitCode::from(3);
        }
    };
    let mut ms = Vec::with_capacity(rounds);
    let mut first_line = String::new();
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let now = Timestamp::now();
        let input = session.snapshot(now);
        let items = secours::ui::menu::build(&input, now, session.lang);
        first_line = items.first().map(|i| i.label.clone()).unwrap_or_default();
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let slowest = ms[ms.len() - 1];
    // The menu's first line shows what the refresh saw (the last backup's age and sizes).
    let report = serde_json::json!({
        "rounds": ms.len(),
        "median_ms": (median * 100.0).round() / 100.0,
        "slowest_ms": (slowest * 100.0).round() / 100.0,
        "first_line": first_line,
    });
    println!("{report}");
    ExitCode::SUCCESS
}
