//! Logging through the `log` facade: stderr for the CLI (warnings and worse unless `RUST_LOG` says
//! otherwise), a file for the app. Log lines never carry secrets: passwords only exist as `Secret`.

use std::io::Write;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// The one logger: `log` accepts a logger once per process, so the CLI's stderr logger is installed
/// first and the app redirects it to its file afterwards.
struct Logger {
    /// `None`: stderr.
    out: Mutex<Option<Box<dyn Write + Send>>>,
}

static LOGGER: Logger = Logger { out: Mutex::new(None) };

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        if let Ok(mut out) = self.out.lock() {
            let when = jiff::Timestamp::now();
            let line = format!("{when} {:5} {}: {}\n", r.level(), r.target(), r.args());
            // A failing log write must never stop the work it describes.
            let _ = match out.as_mut() {
                Some(file) => file.write_all(line.as_bytes()),
                None => std::io::stderr().write_all(line.as_bytes()),
            };
        }
    }

    fn flush(&self) {
        if let Ok(mut out) = self.out.lock()
            && let Some(file) = out.as_mut()
        {
            let _ = file.flush();
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
    // Fails only when already installed, which is what we want then.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level_from_env(LevelFilter::Warn));
}

/// Logging for the app: a file `secours.log` in `dir` (stays on stderr if it cannot be opened).
pub fn init_file(dir: &std::path::Path) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level_from_env(LevelFilter::Info));
    match std::fs::create_dir_all(dir).and_then(|_| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("secours.log"))
    }) {
        Ok(f) => {
            if let Ok(mut out) = LOGGER.out.lock() {
                *out = Some(Box::new(f));
            }
        }
        Err(e) => eprintln!("secours: cannot write the log file in '{}': {e}", dir.display()),
    }
    log::log!(Level::Info, "Secours {} starting", env!("CARGO_PKG_VERSION"));
}
