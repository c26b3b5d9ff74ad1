//! The one way Secours runs external programs: `tmutil`, `launchctl`, `osascript`, `sudo`/`pkexec` and the
//! administrator's `chown`/`mv`/`rm`, the account look-ups (`getent`, `id`, `dscl`), and the opener
//! (`open`/`xdg-open`).
//!
//! Guarantees:
//! - Everything that is waited for goes through a [`CommandRunner`], so unit tests answer with the one fake
//!   (`platform::fake`, tests only) and integration tests with their own.
//! - The real [`SystemRunner`] gives the program no input (stdin is `/dev/null`), captures both outputs (capped
//!   so a runaway program cannot exhaust memory) and the exit code, and never waits longer than its timeout:
//!   a program still running then is killed and reported as `TimedOut` (a `tmutil` stuck on an unreachable
//!   network destination, say). The runners that may wait for a person (the administrator's password, the
//!   folder chooser) say so by their timeout.
//! - [`start`] starts a program and does not wait for it (opening a web page, a folder, a file), so the
//!   menu never blocks on it.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when the program was ended by a signal. `tmutil` is known to exit 0 after
    /// printing an error, so its callers read the texts rather than trust this.
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

    /// Whether the program exited with 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// How it ended, for a message: `exit status: 3`, or that a signal stopped it.
    pub fn exit_text(&self) -> String {
        match self.status {
            Some(code) => format!("exit status: {code}"),
            None => "stopped by a signal".to_owned(),
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
    /// `None`: waits as long as the program runs.
    timeout: Option<Duration>,
}

/// Most programs Secours runs answer in well under a second; `tmutil` mounting a network share can take
/// several, so 20 s leaves room for that without freezing the menu for long.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// More than any answer Secours reads (a `listbackups` of years of hourly backups is a few hundred KiB).
const MAX_OUTPUT: u64 = 8 * 1024 * 1024;

impl Default for SystemRunner {
    /// A runner with [`DEFAULT_TIMEOUT`].
    fn default() -> Self {
        SystemRunner::with_timeout(DEFAULT_TIMEOUT)
    }
}

impl SystemRunner {
    /// A runner that kills a program still running after `timeout`.
    pub fn with_timeout(timeout: Duration) -> SystemRunner {
        SystemRunner { timeout: Some(timeout) }
    }

    /// A runner that waits for the program as long as it runs: for programs that wait for a person (the
    /// folder chooser), or whose callers never had a limit (`launchctl`).
    pub fn without_timeout() -> SystemRunner {
        SystemRunner { timeout: None }
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
            if let Some(timeout) = self.timeout
                && started.elapsed() >= timeout
            {
                // Kill and reap; the reader threads are left to finish on their own, because a grandchild
                // may still hold the pipes open and joining them could hang as long as it lives.
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "'{}' did not finish within {} s and was stopped",
                        program.display(),
                        timeout.as_secs()
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

/// Starts `program` with `args` and does not wait for it: no input, its outputs thrown away. `Err` only
/// when it could not be started.
pub fn start(program: &str, args: &[&OsStr]) -> io::Result<()> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
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
        assert_eq!(out.exit_text(), "exit status: 3");
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
        let runner = SystemRunner::with_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = runner.run(Path::new("/bin/sh"), &["-c", "exec sleep 30"]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn without_a_timeout_a_slow_program_is_waited_for() {
        let out = SystemRunner::without_timeout()
            .run(Path::new("/bin/sh"), &["-c", "sleep 0.3; echo done"])
            .unwrap();
        assert_eq!(out, Output::new(0, "done\n", ""));
    }

    // Guards the menu: starting a program returns before it ends.
    #[test]
    fn start_does_not_wait_for_the_program() {
        let started = Instant::now();
        start("/bin/sh", &["-c".as_ref(), "sleep 5".as_ref()]).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(
            start("/nonexistent/xdg-open", &[]).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
