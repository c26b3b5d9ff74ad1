//! Fault injection for the crash tests (`tests/restore.rs`), compiled only with the Cargo feature
//! `fault-injection`: `cargo test` turns it on (the crate's dev-dependency on itself), a release build
//! (`cargo build --release`, `scripts/run`) never has it, and then [`fault`] is `Ok(())` and [`MidStep`]
//! cannot exist.
//!
//! `SECOURS_FAULT=<step>` makes that step fail as it starts; `pause:<step>` stops the process as the step
//! starts (`pause:rollback` as the rollback starts), `pause-in:<step>` in the middle of a long step
//! (`snapshot`, `media`, `database`), after writing the file named by `SECOURS_FAULT_MARK`, so that a test
//! can kill it there. Several, separated by commas; for one step the first that names it counts.

use super::StepFailure;
#[cfg(feature = "fault-injection")]
use super::{ADVICE_RETRY, step};
#[cfg(feature = "fault-injection")]
use std::sync::atomic::{AtomicU64, Ordering};

/// Fails or stops the process at the step `name` as `SECOURS_FAULT` asks.
#[cfg(feature = "fault-injection")]
pub(super) fn fault(name: &str) -> Result<(), StepFailure> {
    let Ok(spec) = std::env::var("SECOURS_FAULT") else {
        return Ok(());
    };
    match asked(&spec, name) {
        Asked::Nothing => Ok(()),
        Asked::Fail => Err(StepFailure::new(
            step_static(name),
            format!("injected fault at step '{name}' (SECOURS_FAULT)"),
            ADVICE_RETRY,
        )),
        Asked::Pause => pause_here(),
    }
}

/// A point outside the restore's steps (the pre-staging's) where `SECOURS_FAULT=pause:<name>` stops the
/// process for good, for the kill -9 tests.
#[cfg(feature = "fault-injection")]
pub fn pause_point(name: &str) {
    if let Ok(spec) = std::env::var("SECOURS_FAULT")
        && asked(&spec, name) == Asked::Pause
    {
        pause_here();
    }
}

/// Without the feature: no pause, ever.
#[cfg(not(feature = "fault-injection"))]
#[inline]
pub fn pause_point(_name: &str) {}

/// Without the feature: no fault, ever.
#[cfg(not(feature = "fault-injection"))]
#[inline]
pub(super) fn fault(_name: &str) -> Result<(), StepFailure> {
    Ok(())
}

/// The `pause-in:` fault of one long step: the process stops at the second progress report that proves
/// the step is under way.
#[cfg(feature = "fault-injection")]
pub(super) struct MidStep {
    /// The progress step whose reports count.
    on: &'static str,
    seen: AtomicU64,
}

#[cfg(feature = "fault-injection")]
impl MidStep {
    /// The pause armed for the step `name`, when `SECOURS_FAULT` asks for it.
    pub(super) fn armed(name: &str) -> Option<MidStep> {
        let spec = std::env::var("SECOURS_FAULT").ok()?;
        pauses_in(&spec, name).then(|| MidStep {
            on: mid_step_report(name),
            seen: AtomicU64::new(0),
        })
    }

    /// Counts a progress report of the step `update_step`; stops the process at the second that counts.
    pub(super) fn report(&self, update_step: &str) {
        if self.on == update_step && self.seen.fetch_add(1, Ordering::SeqCst) >= 1 {
            pause_here();
        }
    }
}

/// Without the feature there is no such pause: the type has no value.
#[cfg(not(feature = "fault-injection"))]
pub(super) enum MidStep {}

#[cfg(not(feature = "fault-injection"))]
impl MidStep {
    #[inline]
    pub(super) fn armed(_name: &str) -> Option<MidStep> {
        None
    }

    pub(super) fn report(&self, _update_step: &str) {
        match *self {}
    }
}

/// What the fault spec asks of one step.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Nothing,
    Fail,
    Pause,
}

/// What `spec` (the value of `SECOURS_FAULT`) asks of the step `name` as it starts: the first part that
/// names it counts.
#[cfg(feature = "fault-injection")]
fn asked(spec: &str, name: &str) -> Asked {
    for part in spec.split(',') {
        if part == name {
            return Asked::Fail;
        }
        if part.strip_prefix("pause:") == Some(name) {
            return Asked::Pause;
        }
    }
    Asked::Nothing
}

/// Whether `spec` asks for a pause in the middle of the step `name`.
#[cfg(feature = "fault-injection")]
fn pauses_in(spec: &str, name: &str) -> bool {
    spec.split(',').any(|part| part.strip_prefix("pause-in:") == Some(name))
}

/// The progress reports that prove a long step is under way: rows being inserted (not the import's
/// pre-scan), rows being dumped, files being extracted.
#[cfg(feature = "fault-injection")]
fn mid_step_report(name: &str) -> &'static str {
    match name {
        step::DATABASE => "import",
        step::SNAPSHOT => "dump",
        _ => "media",
    }
}

/// The journal's name for an injected failure: the step's own, `commit` for a point between steps.
#[cfg(feature = "fault-injection")]
fn step_static(name: &str) -> &'static str {
    step::ALL.iter().copied().find(|s| *s == name).unwrap_or(step::COMMIT)
}

/// Stops the process for good (a test kills it); writes the mark file first.
#[cfg(feature = "fault-injection")]
fn pause_here() -> ! {
    if let Ok(mark) = std::env::var("SECOURS_FAULT_MARK") {
        let _ = std::fs::write(mark, b"paused");
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    // Guards the dev-dependency trick: `cargo test` must build this crate (and so the binary that
    // tests/restore.rs runs) with fault injection, or the crash tests would test nothing.
    #[test]
    // A test, not a `const` assertion: it must fail with this message, not stop the build.
    #[allow(clippy::assertions_on_constants)]
    fn test_builds_have_fault_injection() {
        assert!(
            cfg!(feature = "fault-injection"),
            "`cargo test` built secours without the feature `fault-injection`: check the dev-dependency on \
             secours in Cargo.toml"
        );
    }

    // Guards the other half: nothing but `cargo test` turns fault injection on. It must not be a default
    // feature, nor be implied by another feature, nor be asked for by a normal or build dependency; only the
    // dev-dependency on this crate itself may ask for it (dev-dependencies are not built by `cargo build`).
    #[test]
    fn release_builds_never_ask_for_fault_injection() {
        let manifest: toml::Table = toml::from_str(include_str!("../../../Cargo.toml")).unwrap();
        let features = manifest["features"].as_table().unwrap();
        assert_eq!(features["fault-injection"].as_array().unwrap().len(), 0);
        for (name, implies) in features {
            let implies = implies.as_array().unwrap();
            assert!(
                !implies.iter().any(|f| f.as_str() == Some("fault-injection")),
                "feature '{name}' turns on fault injection"
            );
        }
        let asks = |deps: &toml::Value| {
            deps.as_table().unwrap().iter().any(|(_, d)| {
                d.get("features")
                    .and_then(|f| f.as_array())
                    .is_some_and(|f| f.iter().any(|f| f.as_str() == Some("fault-injection")))
            })
        };
        let mut tables: Vec<&toml::Value> = ["dependencies", "build-dependencies"]
            .iter()
            .filter_map(|k| manifest.get(*k))
            .collect();
        if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
            for (_, t) in targets {
                tables.extend(["dependencies", "build-dependencies"].iter().filter_map(|k| t.get(*k)));
            }
        }
        assert!(!tables.is_empty());
        for deps in tables {
            assert!(!asks(deps), "a normal or build dependency turns on fault injection");
        }
        let me = &manifest["dev-dependencies"]["secours"];
        assert_eq!(me["path"].as_str(), Some("."));
        assert!(
            asks(&manifest["dev-dependencies"]),
            "the dev-dependency on secours lost its feature"
        );
    }

    #[cfg(feature = "fault-injection")]
    mod spec {
        use super::super::*;

        // Guards the spec's grammar the crash tests rely on: a bare name fails the step, `pause:` stops
        // it, several parts are separated by commas, and a name must match whole.
        #[test]
        fn what_the_spec_asks_of_a_step() {
            assert_eq!(asked("media", "media"), Asked::Fail);
            assert_eq!(asked("pause:media", "media"), Asked::Pause);
            assert_eq!(asked("check,pause:rollback", "rollback"), Asked::Pause);
            assert_eq!(asked("check,pause:rollback", "check"), Asked::Fail);
            assert_eq!(asked("check,pause:rollback", "media"), Asked::Nothing);
            assert_eq!(asked("set-aside", "set"), Asked::Nothing);
            assert_eq!(asked("pause-in:media", "media"), Asked::Nothing);
            assert_eq!(asked("", "media"), Asked::Nothing);
            // The first part naming the step counts.
            assert_eq!(asked("media,pause:media", "media"), Asked::Fail);
            assert_eq!(asked("pause:media,media", "media"), Asked::Pause);
        }

        // Guards `pause-in:`: only for the step it names, and it stops at the reports that prove the step
        // is under way (not the import's pre-scan).
        #[test]
        fn pause_in_the_middle_of_a_long_step() {
            assert!(pauses_in("check,pause-in:database", "database"));
            assert!(!pauses_in("pause-in:database", "media"));
            assert!(!pauses_in("pause:database", "database"));
            assert_eq!(mid_step_report(step::DATABASE), "import");
            assert_eq!(mid_step_report(step::SNAPSHOT), "dump");
            assert_eq!(mid_step_report(step::MEDIA), "media");
        }

        // Guards the journal's name for an injected failure: a step's own name, `commit` for the points
        // between steps (`swap-between`) and for the rollback, which is not a forward step.
        #[test]
        fn injected_failures_are_journaled_under_a_step_name() {
            for s in step::ALL {
                assert_eq!(step_static(s), *s);
            }
            assert_eq!(step_static("swap-between"), step::COMMIT);
            assert_eq!(step_static(step::ROLLBACK), step::COMMIT);
        }
    }
}
