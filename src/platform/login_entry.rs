//! What every launch-at-login entry shares, below both the front ([`crate::platform::login_item`]) and the
//! per-system entries (`macos::launch_agent`, `linux::autostart`), so that they do not import each other:
//! the argument the entry starts Secours with, and the error type.

use std::io;
use std::path::PathBuf;

/// The argument that makes the binary start the menu-bar app.
pub const APP_ARG: &str = "app";

/// Errors while reading or changing the login item.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    /// The user's home directory is unknown.
    #[error("cannot find your home directory. Set the HOME environment variable and try again.")]
    NoHome,
    /// The owner of the home folder (the user of launchd's `gui/<uid>` domain) cannot be read.
    #[error("cannot read who owns the home folder '{home}': {source}. Set HOME to your own home folder.")]
    HomeOwner {
        /// The home folder.
        home: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading the entry failed.
    #[error("cannot read the login item '{path}': {source}. Check the file's permissions.")]
    Read {
        /// The entry file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the entry failed.
    #[error("cannot write the login item '{path}': {source}. Check that the folder is writable.")]
    Write {
        /// The entry file (or its folder).
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Removing the entry failed.
    #[error("cannot remove the login item '{path}': {source}. Delete the file by hand.")]
    Remove {
        /// The entry file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The LaunchAgent plist could not be produced.
    #[error(
        "cannot write the LaunchAgent property list for '{label}': {reason}. This is a bug in Secours; please report it."
    )]
    Plist {
        /// The agent's label.
        label: String,
        /// The serializer's message.
        reason: String,
    },
    /// The executable path cannot be written into an entry.
    #[error(
        "cannot register '{path}' to launch at login: {reason}. Move Secours to a folder whose path is plain text."
    )]
    BadExecutable {
        /// The executable.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// `SMAppService` refused to register or unregister the app (macOS 13 and later).
    #[error(
        "macOS refused to {action} Secours as a login item: {reason}. Check that Secours.app is in /Applications \
         and signed (bundle/make-app signs it), or add it in System Settings › General › Login Items."
    )]
    AppService {
        /// `register` or `unregister`.
        action: &'static str,
        /// macOS's description of the error.
        reason: String,
    },
    /// An external command failed.
    #[error("'{command}' failed: {reason}. Enable Secours in System Settings › General › Login Items instead.")]
    Command {
        /// The command line.
        command: String,
        /// Its error output or exit status.
        reason: String,
    },
}
