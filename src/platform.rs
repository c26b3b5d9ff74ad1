//! The few things that differ per operating system, behind plain functions: opening a URL, a folder or
//! a file with the user's default application.
//!
//! macOS uses `open`; Linux and other Unixes `xdg-open`. The command is started and not waited for, so
//! the menu never blocks on it.

use std::path::Path;
use std::process::{Command, Stdio};

/// Why something could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open '{what}' with '{program}': {source}. Open it by hand.")]
pub struct OpenError {
    what: String,
    program: &'static str,
    #[source]
    source: std::io::Error,
}

#[cfg(target_os = "macos")]
const OPENER: &str = "/usr/bin/open";
#[cfg(not(target_os = "macos"))]
const OPENER: &str = "xdg-open";

fn spawn(program: &'static str, args: &[&std::ffi::OsStr], what: String) -> Result<(), OpenError> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|source| OpenError { what, program, source })
}

/// Opens a web address in the default browser.
pub fn open_url(url: &str) -> Result<(), OpenError> {
    spawn(OPENER, &[url.as_ref()], url.to_owned())
}

/// Shows a folder in Finder (the file manager on Linux).
pub fn show_folder(path: &Path) -> Result<(), OpenError> {
    spawn(OPENER, &[path.as_os_str()], path.display().to_string())
}

/// Opens a text file in the default text editor.
pub fn edit_file(path: &Path) -> Result<(), OpenError> {
    #[cfg(target_os = "macos")]
    return spawn(OPENER, &["-t".as_ref(), path.as_os_str()], path.display().to_string());
    #[cfg(not(target_os = "macos"))]
    return spawn(OPENER, &[path.as_os_str()], path.display().to_string());
}

/// Opens the Full Disk Access pane of System Settings (macOS only; elsewhere nothing to grant).
pub fn open_full_disk_access_settings() -> Result<(), OpenError> {
    #[cfg(target_os = "macos")]
    return open_url("x-apple.systempreferences:com.apple.preference.security?Privacy_AllFiles");
    #[cfg(not(target_os = "macos"))]
    return Ok(());
}
