//! The few things that differ per operating system, behind plain functions: opening a URL, a folder or
//! a file with the user's default application, and the modal dialogs (confirmation, folder choice).
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

/// Opens a local web page (the history report) in the default browser.
pub fn open_in_browser(path: &Path) -> Result<(), OpenError> {
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

/// Asks a yes/no question in a modal dialog (the platform's own: AppKit on macOS, GTK on Linux). Must
/// run on the event loop's thread. `ok` is the label of the button that says yes.
pub fn confirm(title: &str, message: &str, ok: &str, cancel: &str) -> bool {
    let answer = rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Warning)
        .set_title(title)
        .set_description(message)
        .set_buttons(rfd::MessageButtons::OkCancelCustom(ok.to_owned(), cancel.to_owned()))
        .show();
    match answer {
        rfd::MessageDialogResult::Ok | rfd::MessageDialogResult::Yes => true,
        rfd::MessageDialogResult::Custom(label) => label == ok,
        _ => false,
    }
}

/// Lets the user choose a folder (a safe copy, a Time Machine folder). Event loop thread only.
pub fn choose_folder(title: &str) -> Option<std::path::PathBuf> {
    rfd::FileDialog::new().set_title(title).pick_folder()
}
