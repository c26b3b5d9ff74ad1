//! Logging through the `log` facade: stderr for the CLI (warnings and worse unless `RUST_LOG` says
//! otherwise), a file for the app. Log lines never carry secrets: passwords only exist as `Secret`.

use std::io::Write;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger {
    level: LevelFilter,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        if let Ok(mut out) = self.out.lock() {
            let when = jiff::Timestamp::now();
            // A failing log write must never stop the work it describes.
            let _ = writeln!(out, "{when} {:5} {}: {}", r.level(), r.target(), r.args());
        }
    }

    fn flush(&self) {
        if let Ok(mut out) = self.out.lock() {
            let _ = out.flush();
        }
    }
}

fn level_from_env(default: LevelFilter) -> LevelFilter {
    match std::env::var("RUST_LOG")
        .ok()
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("trace") => LevelFilter::Trace,
        Some("debug") => LevelFilter::Debug,
        Some("info") => LevelFilter::Info,
        Some("warn") => LevelFilter::Warn,
        Some("error") => LevelFilter::Error,
        Some("off") => LevelFilter::Off,
        _ => default,
    }
}

/// Logging for a CLI run: stderr.
pub fn init_cli() {
    let level = level_from_env(LevelFilter::Warn);
    let logger = Logger {
        level,
        out: Mutex::new(Box::new(std::io::stderr())),
    };
    if log::set_logger(Box::leak(Box::new(logger))).is_ok() {
        log::set_max_level(level);
    }
}

/// Logging for the app: a file `secours.log` in `dir` (falls back to stderr if it cannot be opened).
pub fn init_file(dir: &std::path::Path) {
    let level = level_from_env(LevelFilter::Info);
    let out: Box<dyn Write + Send> = match std::fs::create_dir_all(dir).and_then(|_| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("secours.log"))
    }) {
        Ok(f) => Box::new(f),
        Err(_) => Box::new(std::io::stderr()),
    };
    if log::set_logger(Box::leak(Box::new(Logger {
        level,
        out: Mutex::new(out),
    })))
    .is_ok()
    {
        log::set_max_level(level);
    }
    log::log!(Level::Info, "Secours {} starting", env!("CARGO_PKG_VERSION"));
}
