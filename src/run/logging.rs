//! Logging through the `log` facade: stderr for the CLI (warnings and worse unless `RUST_LOG` says
//! otherwise), a file for the app. Log lines never carry secrets: passwords only exist as `Secret`.
//!
//! The app runs for months without a restart on a machine nobody watches, so its file is bounded: past
//! [`LOG_LIMIT`] bytes it becomes `secours.log.1` (replacing the one before) and a new file starts.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
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

/// Size at which the app's log file is set aside as `secours.log.1`.
pub const LOG_LIMIT: u64 = 4 * 1024 * 1024;

/// An append-only log file that turns into `<name>.1` once it holds `limit` bytes: at most two files,
/// about `2 × limit` on disk, and always the newest lines.
struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    limit: u64,
}

impl RotatingFile {
    fn open(path: &Path, limit: u64) -> std::io::Result<RotatingFile> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file,
            size,
            limit,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.limit {
            // Logging must go on whatever happens: when the rename fails, keep writing the big file.
            let _ = self.rotate();
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Logging for the app: a file `secours.log` in `dir` (stays on stderr if it cannot be opened).
pub fn init_file(dir: &Path) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level_from_env(LevelFilter::Info));
    match std::fs::create_dir_all(dir).and_then(|_| RotatingFile::open(&dir.join("secours.log"), LOG_LIMIT)) {
        Ok(f) => {
            if let Ok(mut out) = LOGGER.out.lock() {
                *out = Some(Box::new(f));
            }
        }
        Err(e) => eprintln!("secours: cannot write the log file in '{}': {e}", dir.display()),
    }
    log::log!(Level::Info, "Secours {} starting", env!("CARGO_PKG_VERSION"));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards: the app's log never grows without end; the newest lines are in secours.log, the ones just
    // before in secours.log.1, and nothing older is kept.
    #[test]
    fn the_log_file_is_bounded_and_keeps_the_newest_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secours.log");
        std::fs::write(&path, "left by the previous run\n").unwrap();
        let mut log = RotatingFile::open(&path, 100).unwrap();
        for i in 0..30 {
            // As the logger writes: one whole line per call.
            log.write_all(format!("line {i:02} of about twenty bytes\n").as_bytes())
                .unwrap();
        }
        log.flush().unwrap();
        let now = std::fs::read_to_string(&path).unwrap();
        let before = std::fs::read_to_string(dir.path().join("secours.log.1")).unwrap();
        assert!(now.len() <= 100 && before.len() <= 100, "{now:?} {before:?}");
        assert!(now.ends_with("line 29 of about twenty bytes\n"), "{now:?}");
        let last_before: u32 = before.lines().last().unwrap()[5..7].parse().unwrap();
        let first_now: u32 = now.lines().next().unwrap()[5..7].parse().unwrap();
        assert_eq!(last_before + 1, first_now, "{before:?} {now:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
