//! A fake `tmutil` for integration tests: a shell script that answers each verb with recorded texts.
//!
//! Use it as `crate::support::tmutil`. The script logs every call (one line of
//! arguments) to `calls.log` next to it, so tests can check what was asked.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the fake prints for one verb.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

impl Reply {
    /// Prints `stdout` and exits 0.
    pub fn out(stdout: impl Into<Vec<u8>>) -> Self {
        Reply {
            stdout: stdout.into(),
            stderr: Vec::new(),
            code: 0,
        }
    }
    /// Prints `stderr` and exits with `code`.
    pub fn err(stderr: impl Into<Vec<u8>>, code: i32) -> Self {
        Reply {
            stdout: Vec::new(),
            stderr: stderr.into(),
            code,
        }
    }
}

/// The bytes of `tests/fixtures/timemachine/<rel>`.
pub fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/timemachine")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture '{}': {e}", path.display()))
}

/// Writes an executable `tmutil` into `dir` and returns its path.
///
/// Keys of `replies` are the verb, followed by ` -X` when the verb is asked with `-X` as its first option:
/// `"status -X"`, `"status"`, `"destinationinfo -X"`, `"latestbackup"`, `"listbackups"`, `"isexcluded"`
/// (whatever the path). A verb without a reply prints a usage text on stderr and exits 64, as an old
/// `tmutil` does for an option it does not know.
pub fn write_fake_tmutil(dir: &Path, replies: &BTreeMap<&str, Reply>) -> PathBuf {
    let mut script = String::from("#!/bin/sh\n# Fake tmutil written by tests/support/tmutil.rs\n");
    script.push_str(&format!("here={}\n", quote(&dir.to_string_lossy())));
    script.push_str("[ \"$1\" = --probe ] && exit 0\n");
    script.push_str("printf '%s\\n' \"$*\" >> \"$here/calls.log\"\n");
    script.push_str("key=\"$1\"\n[ \"$2\" = -X ] && key=\"$1 -X\"\ncase \"$key\" in\n");
    for (i, (key, reply)) in replies.iter().enumerate() {
        let out = format!("reply{i}.out");
        let err = format!("reply{i}.err");
        std::fs::write(dir.join(&out), &reply.stdout).unwrap();
        std::fs::write(dir.join(&err), &reply.stderr).unwrap();
        script.push_str(&format!(
            "  {}) cat \"$here/{out}\"; cat \"$here/{err}\" >&2; exit {} ;;\n",
            quote(key),
            reply.code
        ));
    }
    script.push_str("  *) echo \"Usage: tmutil <verb> [options]\" >&2; exit 64 ;;\nesac\n");
    let path = dir.join("tmutil");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_until_runnable(&path);
    path
}

/// The calls the fake received, one string of arguments each.
pub fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Another test thread forking while the script was open for writing can keep it "busy" (ETXTBSY) for a
/// moment; run it once so the tests themselves never see that.
fn wait_until_runnable(path: &Path) {
    for _ in 0..200 {
        match std::process::Command::new(path).arg("--probe").status() {
            Ok(status) if status.success() => return,
            Ok(status) => panic!("fake tmutil probe failed: {status}"),
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("cannot run the fake tmutil '{}': {e}", path.display()),
        }
    }
    panic!("the fake tmutil '{}' stayed busy", path.display());
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
