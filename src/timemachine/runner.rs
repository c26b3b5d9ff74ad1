//! Running `tmutil` (or the fake that tests put in its place).
//!
//! Every external command of the Time Machine module goes through one [`CommandRunner`], so tests can answer
//! with recorded outputs. The real [`SystemRunner`] never waits forever: a `tmutil` stuck on an unreachable
//! network destination is killed after its timeout, and its output is capped so a runaway program cannot
//! exhaust memory.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when the program was ended by a signal. `tmutil` is known to exit 0 after
    /// printing an error, so callers read the texts rather than trust this.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// An output that exited with `code` and printed these texts (handy for fakes).
    pub fn new(code: i32, stdout: impl Into<Vec<u8>>, stderr: impl Into<Vec<u8>>) -> Self {
        Output {
            status: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }
}

/// Runs one external program to completion.
pub trait CommandRunner {
    /// Runs `program` with `args`. An `Err` means the program could not be started (kind `NotFound`,
    /// `PermissionDenied`, …) or did not finish in time (kind `TimedOut`); a program that runs and fails
    /// is an `Ok` whose texts say why.
    fn run(&self, program: &Path, args: &[&str]) -> io::Result<Output>;
}

/// The real runner: `std::process::Command`, with a timeout after which the program is killed.
#[derive(Debug, Clone)]
pub struct SystemRunner {
    pub timeout: Duration,
}

/// `tmutil` answers in well under a second when the destination is reachable; mounting a network share can
/// take several seconds, so 20 s leaves room for that without freezing the menu for long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// More than any `tmutil` answer (a `listbackups` of years of hourly backups is a few hundred KiB).
const MAX_OUTPUT: u64 = 8 * 1024 * 1024;

impl Default for SystemRunner {
    fn default() -> Self {
        SystemRunner {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl CommandRunner for SystemRunner {
    fn run(&self, program: &Path, args: &[&str]) -> io::Result<Output> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Both pipes are drained on their own threads so a chatty program cannot block on a full pipe
        // while we wait for it.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let started = Instant::now();
        // Checked often at first (tmutil usually answers within milliseconds), then less: a tmutil hung on
        // an unreachable disk for its whole timeout costs a few wake-ups a second, not fifty.
        let mut pause = Duration::from_millis(2);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() >= self.timeout {
                // Kill and reap; the reader threads are left to finish on their own, because a grandchild
                // may still hold the pipes open and joining them could hang as long as it lives.
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "'{}' did not finish within {} s and was stopped",
                        program.display(),
                        self.timeout.as_secs()
                    ),
                ));
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        };
        Ok(Output {
            status: status.code(),
            stdout: collect(stdout),
            stderr: collect(stderr),
        })
    }
}

fn drain(pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error only truncates what we keep; the exit status still tells the story.
        let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut buf);
        buf
    })
}

fn collect(handle: Option<thread::JoinHandle<Vec<u8>>>) -> Vec<u8> {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn captures_both_streams_and_the_exit_code() {
        let out = SystemRunner::default()
            .run(Path::new("/bin/sh"), &["-c", "echo out; echo err >&2; exit 3"])
            .unwrap();
        assert_eq!(out, Output::new(3, "out\n", "err\n"));
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let err = SystemRunner::default()
            .run(Path::new("/nonexistent/tmutil"), &["status"])
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    // Guards the timeout: a hung tmutil must not freeze the caller.
    #[test]
    fn a_hung_program_is_killed_after_the_timeout() {
        let runner = SystemRunner {
            timeout: Duration::from_millis(300),
        };
        let started = Instant::now();
        let err = runner.run(Path::new("/bin/sh"), &["-c", "exec sleep 30"]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }
}
