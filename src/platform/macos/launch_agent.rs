//! macOS: launch at login as a per-user LaunchAgent, `~/Library/LaunchAgents/<label>.plist`, loaded into
//! launchd with `launchctl` — the mechanism of macOS 12 and of the bare binary (on macOS 13 and later the
//! app inside its bundle is its own login item, [`super::app_service`]).
//!
//! `on` writes the plist (the front, [`crate::platform::login_item`], writes every entry file) and loads
//! it: `launchctl bootstrap gui/<uid> <plist>`. Its `RunAtLoad` starts `secours app` at once; if an app
//! already runs, that second one finds the single-instance lock taken and leaves quietly. Nothing is ever
//! stopped by Secours itself, because `launchctl bootout` kills the agent's process — and the running
//! Secours may be that process, started at login:
//! - `on` when launchd already holds the same command line changes nothing. When it holds an older one (the
//!   app was moved), the agent is reloaded (`bootout`, wait until launchd lets go of the label, `bootstrap`)
//!   only if that older agent's app is not running; otherwise the new entry takes over at the next login,
//!   and the status says so. A `launchctl print` this module cannot read counts as "same": never a blind
//!   bootout.
//! - `off` (the file removed) runs `launchctl disable gui/<uid>/<label>` instead of `bootout`: the user
//!   unticked "launch at login", not "quit". The job stays loaded but inert until logout (no `KeepAlive`:
//!   nothing restarts it), nothing loads at the next login, and the next `on` clears the override with
//!   `launchctl enable`.
//! - The `<uid>` is the owner of the home folder the agent is written to: the user whose login reads
//!   `~/Library/LaunchAgents`. It needs no `unsafe` `getuid()` and no `id -u` process, which matters
//!   because the menu asks for the status (at most every minute, and when it opens).
//!
//! Every `launchctl` call goes through the platform's [`CommandRunner`] so tests can fake launchd. Its
//! outputs are parsed by pure functions ([`parse_launchctl_print`], [`parse_print_disabled`]) tested on
//! samples; the plist too ([`launch_agent_plist`], [`parse_launch_agent`]), on every system.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use std::{fs, io};

use crate::platform::login_entry::{APP_ARG, LoginItemError};
use crate::platform::runner::{CommandRunner, SystemRunner};

/// macOS's launchd control tool.
pub const LAUNCHCTL: &str = "/bin/launchctl";

/// How long to wait for launchd to let go of a label after `bootout` (it unloads asynchronously; a
/// `bootstrap` before that fails with "5: Input/output error").
const BOOTOUT_WAIT: Duration = Duration::from_secs(10);

/// What launchd holds for the agent (macOS), read from `launchctl print`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launchd {
    /// Not loaded now: launchd loads the entry at the next login (`secours login-item on` loads it now).
    NotLoaded,
    /// Loaded with the entry's command line; `pid` is the app it started, while that runs.
    Loaded {
        /// The running app's process id.
        pid: Option<u32>,
    },
    /// Loaded from an earlier entry that starts another executable; the entry takes over at the next login.
    Previous {
        /// The executable the loaded agent starts.
        exe: PathBuf,
        /// Its running app's process id.
        pid: Option<u32>,
    },
}

/// What launchd makes of an agent whose entry names an existing executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agent {
    /// Switched off in System Settings › General › Login Items, or by `off` (a launchd "disabled"
    /// override): launchd will not start it.
    Disabled,
    /// Not disabled; what launchd holds for it.
    Enabled(Launchd),
}

/// One user's LaunchAgent for Secours, labelled with the bundle identifier.
pub struct LaunchAgent {
    label: String,
    home: PathBuf,
    file: PathBuf,
    runner: Box<dyn CommandRunner + Send + Sync>,
}

/// What launchd holds for one label: the loaded job (if any), and whether a "disabled" override is set.
struct LaunchdView {
    job: Option<LoadedJob>,
    disabled: bool,
}

impl LaunchAgent {
    /// The agent of the user whose home folder is `home`, labelled `label`; `launchctl` is run for real,
    /// waited for as long as it takes.
    pub fn new(home: &Path, label: &str) -> LaunchAgent {
        LaunchAgent {
            label: label.to_string(),
            home: home.to_path_buf(),
            file: home.join("Library").join("LaunchAgents").join(format!("{label}.plist")),
            runner: Box::new(SystemRunner::without_timeout()),
        }
    }

    /// Replaces the runner of `launchctl` (tests use the fake).
    pub fn with_runner(mut self, runner: Box<dyn CommandRunner + Send + Sync>) -> LaunchAgent {
        self.runner = runner;
        self
    }

    /// The property list file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The property list that starts `exe app` at login.
    pub fn plist(&self, exe: &Path) -> Result<Vec<u8>, LoginItemError> {
        launch_agent_plist(&self.label, exe)
    }

    /// What launchd makes of the agent whose entry starts `exe` (`launchctl print-disabled` and
    /// `launchctl print`).
    pub fn state(&self, exe: &Path) -> Result<Agent, LoginItemError> {
        let view = self.launchd_view(&self.gui_domain()?);
        if view.disabled {
            return Ok(Agent::Disabled);
        }
        Ok(Agent::Enabled(match view.job {
            None => Launchd::NotLoaded,
            Some(job) => match (job.runs(exe), job.arguments.first()) {
                (Some(false), Some(other)) => Launchd::Previous {
                    exe: PathBuf::from(other),
                    pid: job.pid,
                },
                _ => Launchd::Loaded { pid: job.pid },
            },
        }))
    }

    /// Once the entry file is removed (`existed`: it was there): disables the agent in launchd, never
    /// boots it out (that would quit a Secours started at login).
    pub fn forget(&self, existed: bool) -> Result<(), LoginItemError> {
        let domain = self.gui_domain()?;
        let view = self.launchd_view(&domain);
        if (existed || view.job.is_some()) && !view.disabled {
            // Without the file nothing loads at the next login; the override also keeps the still
            // loaded job from being started again before then. A failure changes neither, so it warns.
            let target = format!("{domain}/{}", self.label);
            if let Err(e) = self.launchctl(&["disable", &target]) {
                log::warn!("{e}");
            }
        }
        Ok(())
    }

    /// `gui/<uid>`, the uid being the owner of the home folder (see the module documentation).
    fn gui_domain(&self) -> Result<String, LoginItemError> {
        let meta = fs::metadata(&self.home).map_err(|source| LoginItemError::HomeOwner {
            home: self.home.clone(),
            source,
        })?;
        Ok(format!("gui/{}", meta.uid()))
    }

    /// Runs `launchctl args…`: its standard output, or an error naming the command and what it printed.
    fn launchctl(&self, args: &[&str]) -> Result<String, LoginItemError> {
        let command = std::iter::once(LAUNCHCTL)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let output = self
            .runner
            .run(Path::new(LAUNCHCTL), args)
            .map_err(|e| LoginItemError::Command {
                command: command.clone(),
                reason: e.to_string(),
            })?;
        if !output.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            let reason = if stderr.is_empty() { output.exit_text() } else { stderr };
            return Err(LoginItemError::Command { command, reason });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Asks launchd about the label: `launchctl print` (exit 0: loaded) and `launchctl print-disabled`.
    /// A failing query reads as "not loaded" / "not disabled": the `bootstrap` that may follow reports a
    /// real problem.
    fn launchd_view(&self, domain: &str) -> LaunchdView {
        let target = format!("{domain}/{}", self.label);
        let job = self
            .launchctl(&["print", &target])
            .ok()
            .map(|out| parse_launchctl_print(&out));
        let disabled = self
            .launchctl(&["print-disabled", domain])
            .is_ok_and(|out| parse_print_disabled(&out, &self.label));
        LaunchdView { job, disabled }
    }

    /// Loads the agent just written for `exe`, unless launchd already holds it or holds an older one whose
    /// app is running.
    pub fn load(&self, exe: &Path) -> Result<(), LoginItemError> {
        let domain = self.gui_domain()?;
        let target = format!("{domain}/{}", self.label);
        let view = self.launchd_view(&domain);
        if view.disabled {
            // Left by System Settings › Login Items or by `off`; launchd refuses to bootstrap a disabled job.
            self.launchctl(&["enable", &target])?;
        }
        let Some(job) = view.job else {
            return self.bootstrap(&domain);
        };
        match job.runs(exe) {
            // The same command line, or one this module cannot read: leave it.
            Some(true) | None => Ok(()),
            Some(false) if job.is_running() => {
                // Booting it out would kill that app — possibly this very process.
                log::info!(
                    "launch at login: the agent loaded from the previous entry still runs (pid {:?}); \
                     the new entry takes over at the next login",
                    job.pid
                );
                Ok(())
            }
            Some(false) => {
                if let Err(e) = self.launchctl(&["bootout", &target]) {
                    // "No such process" when it went away meanwhile; anything else makes bootstrap fail.
                    log::debug!("{e}");
                }
                let deadline = Instant::now() + BOOTOUT_WAIT;
                while self.launchctl(&["print", &target]).is_ok() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
                self.bootstrap(&domain)
            }
        }
    }

    fn bootstrap(&self, domain: &str) -> Result<(), LoginItemError> {
        let plist = self.file.to_string_lossy();
        self.launchctl(&["bootstrap", domain, &plist]).map(drop)
    }
}

/// A job as `launchctl print gui/<uid>/<label>` describes it (the command exits 0 only for a loaded job).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedJob {
    /// The property list launchd loaded it from (`path = …`).
    pub path: Option<PathBuf>,
    /// `state = …`: `running`, `not running`, `spawn scheduled`…
    pub state: Option<String>,
    /// Its command line (`arguments = { … }`); empty when the output could not be read.
    pub arguments: Vec<String>,
    /// The process it runs now (`pid = …`).
    pub pid: Option<u32>,
}

impl LoadedJob {
    /// Whether the job starts `exe app`; `None` when its command line is unknown.
    pub fn runs(&self, exe: &Path) -> Option<bool> {
        if self.arguments.is_empty() {
            return None;
        }
        let exe = exe.to_string_lossy();
        Some(self.arguments.iter().map(String::as_str).eq([&*exe, APP_ARG]))
    }

    /// Whether the job has a process now.
    pub fn is_running(&self) -> bool {
        self.pid.is_some() || self.state.as_deref() == Some("running")
    }
}

/// Reads the top-level fields of `launchctl print <service>` that Secours needs. launchctl(1) warns that
/// this output is not API: a field that cannot be found stays empty, and callers treat that as unknown.
pub fn parse_launchctl_print(text: &str) -> LoadedJob {
    let mut job = LoadedJob::default();
    // 1 inside the service's own `… = {`; nested blocks (environment, endpoints…) are deeper.
    let mut depth = 0usize;
    let mut in_arguments = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "}" {
            depth = depth.saturating_sub(1);
            in_arguments = false;
            continue;
        }
        if in_arguments {
            job.arguments.push(line.to_string());
            continue;
        }
        if let Some(key) = line.strip_suffix('{') {
            depth += 1;
            in_arguments = depth == 2 && key.trim_end() == "arguments =";
            continue;
        }
        if depth != 1 {
            continue;
        }
        let Some((key, value)) = line.split_once(" = ") else {
            continue;
        };
        match key {
            "path" => job.path = Some(PathBuf::from(value)),
            "state" => job.state = Some(value.to_string()),
            "pid" => job.pid = value.parse().ok(),
            _ => {}
        }
    }
    job
}

/// Whether `launchctl print-disabled gui/<uid>` lists `label` as disabled: `"label" => disabled` (macOS 13
/// and later) or `"label" => true` (earlier).
pub fn parse_print_disabled(text: &str, label: &str) -> bool {
    let quoted = format!("\"{label}\"");
    let mut in_disabled = false;
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_suffix('{') {
            in_disabled = header.trim_end() == "disabled services =";
            continue;
        }
        if line == "}" {
            in_disabled = false;
            continue;
        }
        if !in_disabled {
            continue;
        }
        if let Some((name, value)) = line.split_once("=>")
            && name.trim() == quoted
        {
            return matches!(value.trim(), "disabled" | "true");
        }
    }
    false
}

/// The LaunchAgent property list that starts `exe app` at login, labelled `label`.
pub fn launch_agent_plist(label: &str, exe: &Path) -> Result<Vec<u8>, LoginItemError> {
    let exe_str = exe.to_str().ok_or_else(|| LoginItemError::BadExecutable {
        path: exe.to_path_buf(),
        reason: "the path is not valid UTF-8".into(),
    })?;
    let mut dict = plist::Dictionary::new();
    dict.insert("Label".into(), label.into());
    dict.insert(
        "ProgramArguments".into(),
        plist::Value::Array(vec![exe_str.into(), APP_ARG.into()]),
    );
    dict.insert("RunAtLoad".into(), true.into());
    // Interactive: launchd does not throttle it like a background daemon; Aqua: only in a graphical login,
    // never for an SSH session.
    dict.insert("ProcessType".into(), "Interactive".into());
    dict.insert("LimitLoadToSessionType".into(), "Aqua".into());
    let mut out = Vec::new();
    plist::Value::Dictionary(dict)
        .to_writer_xml(&mut out)
        .map_err(|e| LoginItemError::Plist {
            label: label.to_string(),
            reason: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}

/// The executable a LaunchAgent plist starts (`ProgramArguments[0]`, else `Program`); `None` if unreadable.
pub fn parse_launch_agent(bytes: &[u8]) -> Option<PathBuf> {
    let value = plist::Value::from_reader(io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let from_args = dict
        .get("ProgramArguments")
        .and_then(|a| a.as_array())
        .and_then(|a| a.first());
    let exe = from_args.or_else(|| dict.get("Program"))?.as_string()?;
    Some(PathBuf::from(exe))
}

/// launchd for the unit tests, on the platform's fake runner.
#[cfg(test)]
pub(crate) mod fake_launchd {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};
    use std::{fs, io};

    use super::LAUNCHCTL;
    use crate::platform::Os;
    use crate::platform::fake::FakeRunner;
    use crate::platform::login_item::{APP_ARG, LoginItem};
    use crate::platform::runner::Output;

    pub(crate) const LABEL: &str = "ch.secours.Test";

    /// What the fake launchd holds.
    #[derive(Default)]
    pub(crate) struct FakeState {
        /// The loaded job's command line and running pid.
        pub(crate) loaded: Option<(Vec<String>, Option<u32>)>,
        /// The label's override: `None` when launchd never saw one.
        pub(crate) disabled: Option<bool>,
        /// Replaces `launchctl print`'s output for a loaded job.
        pub(crate) print_output: Option<String>,
    }

    /// launchd for tests: keeps the state `launchctl` changes and refuses what the real one refuses
    /// (bootstrapping a loaded or disabled job, booting out a missing one), with launchctl's exit codes.
    #[derive(Clone)]
    pub(crate) struct FakeLaunchd(pub(crate) Arc<Mutex<FakeState>>, FakeRunner);

    impl Default for FakeLaunchd {
        fn default() -> Self {
            let state = Arc::new(Mutex::new(FakeState::default()));
            let held = state.clone();
            let runner = FakeRunner::answering(move |program, args| {
                assert_eq!(program, Path::new(LAUNCHCTL));
                launchctl(&mut held.lock().unwrap(), args)
            });
            FakeLaunchd(state, runner)
        }
    }

    impl FakeLaunchd {
        /// The runner to give the login item (it shares this launchd).
        pub(crate) fn runner(&self) -> FakeRunner {
            self.1.clone()
        }

        /// `launchctl`'s arguments, one line per call.
        pub(crate) fn calls(&self) -> Vec<String> {
            let prefix = format!("{LAUNCHCTL} ");
            self.1
                .calls()
                .into_iter()
                .map(|c| c.strip_prefix(&prefix).map(str::to_owned).unwrap_or(c))
                .collect()
        }

        pub(crate) fn clear_calls(&self) {
            self.1.clear_calls();
        }

        pub(crate) fn set_loaded(&self, exe: &Path, pid: Option<u32>) {
            let argv = vec![exe.to_string_lossy().into_owned(), APP_ARG.to_string()];
            self.0.lock().unwrap().loaded = Some((argv, pid));
        }

        pub(crate) fn loaded(&self) -> Option<(Vec<String>, Option<u32>)> {
            self.0.lock().unwrap().loaded.clone()
        }

        pub(crate) fn disabled(&self) -> Option<bool> {
            self.0.lock().unwrap().disabled
        }

        /// The calls that change launchd.
        pub(crate) fn mutations(&self) -> Vec<String> {
            let reads = ["print ", "print-disabled "];
            self.calls()
                .into_iter()
                .filter(|c| !reads.iter().any(|r| c.starts_with(r)))
                .collect()
        }
    }

    fn launchctl(s: &mut FakeState, args: &[&str]) -> io::Result<Output> {
        let ok = |stdout: String| Ok(Output::new(0, stdout, ""));
        let fail = |code: i32, reason: &str| Ok(Output::new(code, "", format!("{reason}\n")));
        match args {
            ["print", target] => match (&s.loaded, &s.print_output) {
                (Some(_), Some(raw)) => ok(raw.clone()),
                (Some((argv, pid)), None) => {
                    let state = if pid.is_some() { "running" } else { "not running" };
                    let pid = pid.map(|p| format!("\tpid = {p}\n")).unwrap_or_default();
                    let argv: String = argv.iter().map(|a| format!("\t\t{a}\n")).collect();
                    ok(format!(
                        "{target} = {{\n\tactive count = 0\n\tpath = /x.plist\n\tstate = {state}\n\n\
                         \targuments = {{\n{argv}\t}}\n\n\tenvironment = {{\n\t\tA => b\n\t}}\n{pid}}}\n"
                    ))
                }
                (None, _) => fail(
                    113,
                    &format!("Bad request.\nCould not find service \"{LABEL}\" in domain for user gui: 501"),
                ),
            },
            ["print-disabled", _] => {
                let line = match s.disabled {
                    Some(true) => format!("\t\"{LABEL}\" => disabled\n"),
                    Some(false) => format!("\t\"{LABEL}\" => enabled\n"),
                    None => String::new(),
                };
                ok(format!(
                    "disabled services = {{\n\t\"com.apple.Siri.agent\" => disabled\n{line}}}\n"
                ))
            }
            ["bootstrap", _, plist] => {
                if s.disabled == Some(true) {
                    return fail(5, "Bootstrap failed: 5: Input/output error (service is disabled)");
                }
                if s.loaded.is_some() {
                    return fail(5, "Bootstrap failed: 5: Input/output error");
                }
                let value = plist::Value::from_file(plist).unwrap();
                let argv = value.as_dictionary().unwrap()["ProgramArguments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_string().unwrap().to_string())
                    .collect();
                // RunAtLoad starts a second app, which leaves at once (the single-instance lock).
                s.loaded = Some((argv, None));
                ok(String::new())
            }
            ["bootout", _] => match s.loaded.take() {
                Some(_) => ok(String::new()),
                None => fail(3, "Boot-out failed: 3: No such process"),
            },
            ["enable", _] => {
                s.disabled = Some(false);
                ok(String::new())
            }
            ["disable", _] => {
                s.disabled = Some(true);
                ok(String::new())
            }
            other => panic!("unexpected launchctl call {other:?}"),
        }
    }

    /// A LaunchAgent item under a temporary home, with the fake launchd; also `gui/<uid>`.
    pub(crate) fn launch_agent(home: &Path) -> (LoginItem, FakeLaunchd, String) {
        use std::os::unix::fs::MetadataExt;
        let launchd = FakeLaunchd::default();
        let item = LoginItem::for_os(Os::MacOs, home, home, LABEL).with_runner(Box::new(launchd.runner()));
        let domain = format!("gui/{}", fs::metadata(home).unwrap().uid());
        (item, launchd, domain)
    }

    pub(crate) fn fake_exe(dir: &Path, name: &str) -> PathBuf {
        let exe = dir.join(name);
        fs::write(&exe, b"#!/bin/sh\n").unwrap();
        exe
    }
}

#[cfg(test)]
mod tests {
    use super::fake_launchd::{FakeLaunchd, LABEL, fake_exe, launch_agent};
    use super::*;
    use crate::platform::Os;
    use crate::platform::login_item::{LoginItem, Status};

    /// `launchctl print gui/501/<label>` for a running agent, in the layout of macOS 14 (abridged: the
    /// endpoint and flag blocks that Secours ignores are shortened).
    const PRINT_RUNNING: &str = "gui/501/ch.secours.Test = {
\tactive count = 1
\tpath = /Users/ann/Library/LaunchAgents/ch.secours.Test.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /Applications/Secours.app/Contents/MacOS/secours
\targuments = {
\t\t/Applications/Secours.app/Contents/MacOS/secours
\t\tapp
\t}

\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tenvironment = {
\t\tXPC_SERVICE_NAME => ch.secours.Test
\t}

\tdomain = gui/501 [100008]
\tasid = 100008
\tminimum runtime = 10
\texit timeout = 5
\truns = 1
\tpid = 4242
\timmediate reason = speculative
\tforks = 0
\texecs = 1
\tlast exit code = (never exited)

\tspawn type = interactive (4)
\tendpoints = {
\t\t\"ch.secours.Test.port\" = {
\t\t\tport = 0x1a03
\t\t\tactive = 0
\t\t}
\t}

\tproperties = partial import | keepalive | runatload | inferred program
}
";

    /// `launchctl print-disabled gui/501` on macOS 13 and later.
    const PRINT_DISABLED_MODERN: &str = "disabled services = {
\t\"com.apple.ScriptMenuApp\" => disabled
\t\"ch.secours.Test\" => disabled
\t\"com.docker.helper\" => enabled
}
login item associations = {
\t\"com.docker.helper\" => \"com.docker.docker\"
}
";

    /// The same, as macOS 12 and earlier print it.
    const PRINT_DISABLED_LEGACY: &str = "disabled services = {
\t\"com.docker.helper\" => false
\t\"ch.secours.Test\" => true
}
";

    #[test]
    fn first_on_writes_and_bootstraps_a_second_identical_on_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        let plist = home.path().join(format!("Library/LaunchAgents/{LABEL}.plist"));
        assert_eq!(item.file(), plist);
        let status = item.enable(&exe).unwrap();
        assert_eq!(
            status,
            Status::On {
                file: plist.clone(),
                exe: exe.clone(),
                launchd: Some(Launchd::Loaded { pid: None })
            }
        );
        assert!(status.to_string().ends_with("; loaded by launchd"), "{status}");
        let (print, print_disabled) = (format!("print {gui}/{LABEL}"), format!("print-disabled {gui}"));
        assert_eq!(
            launchd.calls(),
            [
                print.clone(),
                print_disabled.clone(),
                format!("bootstrap {gui} {}", plist.display()),
                // status
                print.clone(),
                print_disabled.clone(),
            ]
        );
        let written = fs::read(&plist).unwrap();

        launchd.clear_calls();
        assert_eq!(item.enable(&exe).unwrap(), status);
        // Guards idempotence: no bootout/bootstrap (which would restart the agent) for the same entry.
        assert_eq!(
            launchd.calls(),
            [print.clone(), print_disabled.clone(), print, print_disabled]
        );
        assert_eq!(fs::read(&plist).unwrap(), written);
    }

    #[test]
    fn on_after_the_executable_moved_reloads_the_agent() {
        let home = tempfile::tempdir().unwrap();
        let old = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        item.enable(&old).unwrap();
        let new = home.path().join("Applications/secours");
        fs::create_dir_all(new.parent().unwrap()).unwrap();
        fs::rename(&old, &new).unwrap();
        assert!(matches!(item.status().unwrap(), Status::Stale { .. }));

        launchd.clear_calls();
        let status = item.enable(&new).unwrap();
        assert_eq!(
            launchd.calls(),
            [
                format!("print {gui}/{LABEL}"),
                format!("print-disabled {gui}"),
                format!("bootout {gui}/{LABEL}"),
                // waits until launchd has let go of the label
                format!("print {gui}/{LABEL}"),
                format!("bootstrap {gui} {}", item.file().display()),
                format!("print {gui}/{LABEL}"),
                format!("print-disabled {gui}"),
            ]
        );
        assert_eq!(
            launchd.loaded().unwrap().0,
            [new.to_string_lossy().into_owned(), APP_ARG.to_string()]
        );
        assert_eq!(
            status,
            Status::On {
                file: item.file().to_path_buf(),
                exe: new,
                launchd: Some(Launchd::Loaded { pid: None })
            }
        );
    }

    // Guards the running app: bootout would kill the agent's process, which may be this very Secours.
    #[test]
    fn on_never_boots_out_an_agent_whose_app_is_running() {
        let home = tempfile::tempdir().unwrap();
        let old = home.path().join("Old.app/Contents/MacOS/secours");
        let new = fake_exe(home.path(), "secours");
        let (item, launchd, _) = launch_agent(home.path());
        launchd.set_loaded(&old, Some(4242));
        let status = item.enable(&new).unwrap();
        assert_eq!(launchd.mutations(), Vec::<String>::new());
        assert_eq!(
            status,
            Status::On {
                file: item.file().to_path_buf(),
                exe: new,
                launchd: Some(Launchd::Previous {
                    exe: old.clone(),
                    pid: Some(4242)
                })
            }
        );
        assert!(
            status.to_string().ends_with(&format!(
                "; launchd still holds the previous entry ('{}', running (pid 4242)) until the next login",
                old.display()
            )),
            "{status}"
        );
    }

    #[test]
    fn an_unreadable_launchctl_print_never_leads_to_a_bootout() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, _) = launch_agent(home.path());
        launchd.set_loaded(Path::new("/elsewhere/secours"), None);
        launchd.0.lock().unwrap().print_output = Some("a format from a future macOS\n".into());
        let status = item.enable(&exe).unwrap();
        assert_eq!(launchd.mutations(), Vec::<String>::new());
        assert!(matches!(
            status,
            Status::On {
                launchd: Some(Launchd::Loaded { pid: None }),
                ..
            }
        ));
    }

    #[test]
    fn off_disables_instead_of_booting_out_and_on_clears_the_override() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        item.enable(&exe).unwrap();
        // The app launchd started at login is running.
        launchd.set_loaded(&exe, Some(4242));

        launchd.clear_calls();
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert!(!item.file().exists());
        assert_eq!(
            launchd.calls(),
            [
                format!("print {gui}/{LABEL}"),
                format!("print-disabled {gui}"),
                format!("disable {gui}/{LABEL}"),
            ]
        );
        // Guards the running app: still loaded, still running.
        assert_eq!(launchd.loaded().unwrap().1, Some(4242));

        launchd.clear_calls();
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(launchd.mutations(), Vec::<String>::new());

        launchd.clear_calls();
        let status = item.enable(&exe).unwrap();
        assert_eq!(launchd.mutations(), [format!("enable {gui}/{LABEL}")]);
        assert_eq!(launchd.disabled(), Some(false));
        assert_eq!(
            status.to_string(),
            format!("on ('{}'); loaded by launchd, running (pid 4242)", exe.display())
        );
    }

    #[test]
    fn off_without_any_entry_touches_nothing() {
        let home = tempfile::tempdir().unwrap();
        let (item, launchd, gui) = launch_agent(home.path());
        assert_eq!(item.disable().unwrap(), Status::Off);
        assert_eq!(
            launchd.calls(),
            [format!("print {gui}/{LABEL}"), format!("print-disabled {gui}")]
        );
    }

    #[test]
    fn status_reports_loaded_not_loaded_and_switched_off() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        assert_eq!(item.status().unwrap(), Status::Off);
        // No entry: launchd is not asked.
        assert!(launchd.calls().is_empty());

        fs::create_dir_all(item.file().parent().unwrap()).unwrap();
        fs::write(item.file(), launch_agent_plist(LABEL, &exe).unwrap()).unwrap();
        let status = item.status().unwrap();
        assert_eq!(
            status,
            Status::On {
                file: item.file().to_path_buf(),
                exe: exe.clone(),
                launchd: Some(Launchd::NotLoaded)
            }
        );
        assert!(
            status
                .to_string()
                .ends_with("; not loaded by launchd: it starts at the next login")
        );
        assert_eq!(
            launchd.calls(),
            [format!("print {gui}/{LABEL}"), format!("print-disabled {gui}")]
        );

        launchd.set_loaded(&exe, Some(4242));
        assert_eq!(
            item.status().unwrap(),
            Status::On {
                file: item.file().to_path_buf(),
                exe: exe.clone(),
                launchd: Some(Launchd::Loaded { pid: Some(4242) })
            }
        );

        // Switched off in System Settings › General › Login Items.
        launchd.0.lock().unwrap().disabled = Some(true);
        let status = item.status().unwrap();
        assert_eq!(
            status,
            Status::Disabled {
                file: item.file().to_path_buf(),
                exe: exe.clone()
            }
        );
        assert!(
            status.to_string().starts_with("off (switched off in System Settings"),
            "{status}"
        );
        assert!(!status.is_on());
    }

    #[test]
    fn on_switches_back_on_an_agent_disabled_in_system_settings_before_loading_it() {
        let home = tempfile::tempdir().unwrap();
        let exe = fake_exe(home.path(), "secours");
        let (item, launchd, gui) = launch_agent(home.path());
        launchd.0.lock().unwrap().disabled = Some(true);
        assert!(item.enable(&exe).unwrap().is_on());
        assert_eq!(
            launchd.mutations(),
            [
                format!("enable {gui}/{LABEL}"),
                format!("bootstrap {gui} {}", item.file().display())
            ]
        );
    }

    #[test]
    fn launchctl_print_fields_are_read_from_the_service_level_only() {
        let job = parse_launchctl_print(PRINT_RUNNING);
        assert_eq!(
            job,
            LoadedJob {
                path: Some(PathBuf::from("/Users/ann/Library/LaunchAgents/ch.secours.Test.plist")),
                state: Some("running".into()),
                arguments: vec!["/Applications/Secours.app/Contents/MacOS/secours".into(), "app".into()],
                pid: Some(4242),
            }
        );
        assert!(job.is_running());
        assert_eq!(
            job.runs(Path::new("/Applications/Secours.app/Contents/MacOS/secours")),
            Some(true)
        );
        assert_eq!(
            job.runs(Path::new("/Users/ann/Secours.app/Contents/MacOS/secours")),
            Some(false)
        );

        let stopped = PRINT_RUNNING
            .replace("\tstate = running", "\tstate = not running")
            .replace("\tpid = 4242\n", "");
        let job = parse_launchctl_print(&stopped);
        assert_eq!((job.pid, job.is_running()), (None, false));

        let unknown = parse_launchctl_print("something else entirely\n");
        assert_eq!(unknown, LoadedJob::default());
        assert_eq!(unknown.runs(Path::new("/x")), None);
    }

    #[test]
    fn print_disabled_is_read_in_both_formats_and_only_in_its_block() {
        assert!(parse_print_disabled(PRINT_DISABLED_MODERN, LABEL));
        assert!(!parse_print_disabled(PRINT_DISABLED_MODERN, "com.docker.helper"));
        assert!(parse_print_disabled(PRINT_DISABLED_LEGACY, LABEL));
        assert!(!parse_print_disabled(PRINT_DISABLED_LEGACY, "com.docker.helper"));
        assert!(!parse_print_disabled(PRINT_DISABLED_MODERN, "ch.secours.Other"));
        // A label that only appears among the login item associations is not disabled.
        let associations = "disabled services = {\n}\nlogin item associations = {\n\t\"ch.secours.Test\" => true\n}\n";
        assert!(!parse_print_disabled(associations, LABEL));
    }

    #[test]
    fn launch_agent_plist_has_the_keys_launchd_needs() {
        let bytes = launch_agent_plist(
            "ch.secours.Secours",
            Path::new("/Applications/Secours.app/Contents/MacOS/secours"),
        )
        .unwrap();
        let value = plist::Value::from_reader(io::Cursor::new(&bytes)).unwrap();
        let dict = value.as_dictionary().unwrap();
        assert_eq!(dict.get("Label").unwrap().as_string(), Some("ch.secours.Secours"));
        let args: Vec<_> = dict
            .get("ProgramArguments")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect();
        assert_eq!(args, ["/Applications/Secours.app/Contents/MacOS/secours", "app"]);
        assert_eq!(dict.get("RunAtLoad").unwrap().as_boolean(), Some(true));
        assert_eq!(dict.get("ProcessType").unwrap().as_string(), Some("Interactive"));
        assert_eq!(
            parse_launch_agent(&bytes),
            Some(PathBuf::from("/Applications/Secours.app/Contents/MacOS/secours"))
        );
    }

    #[test]
    fn unreadable_entry_is_stale_not_on() {
        let home = tempfile::tempdir().unwrap();
        let launchd = FakeLaunchd::default();
        let item =
            LoginItem::for_os(Os::MacOs, home.path(), home.path(), "x.y").with_runner(Box::new(launchd.runner()));
        fs::create_dir_all(item.file().parent().unwrap()).unwrap();
        fs::write(item.file(), b"not a plist").unwrap();
        assert_eq!(
            item.status().unwrap(),
            Status::Stale {
                file: item.file().to_path_buf(),
                exe: None
            }
        );
        assert!(launchd.calls().is_empty(), "{:?}", launchd.calls());
    }
}
