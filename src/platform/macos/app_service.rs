//! macOS 13 and later: the app itself as a login item, through `SMAppService.mainApp`, seen through the
//! [`AppService`] trait so the logic around it ([`crate::platform::login_item`]) is tested with a fake on
//! every system. The real implementation is [`super::main_app`] (macOS only, the one `unsafe` module).

use std::path::PathBuf;

/// What `SMAppService` says about the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppServiceStatus {
    NotRegistered,
    Enabled,
    /// Registered, but switched off in System Settings or not allowed yet.
    RequiresApproval,
    NotFound,
}

/// The app as a login item of macOS 13 and later (`SMAppService.mainApp` in [`super::main_app`]); a fake
/// in tests.
pub trait AppService: Send + Sync {
    /// The registration's state now (a cheap call: the menu asks it on every refresh).
    fn status(&self) -> AppServiceStatus;
    /// Registers the app to open at login; the error is macOS's description.
    fn register(&self) -> Result<(), String>;
    /// Takes the registration away.
    fn unregister(&self) -> Result<(), String>;
    /// Opens System Settings › General › Login Items.
    fn open_settings(&self);
}

/// The running app's service and its bundle: on macOS 13 and later, for the app inside its bundle; `None`
/// elsewhere (the LaunchAgent, or the autostart entry, is the login item then).
#[cfg(target_os = "macos")]
pub fn native() -> Option<(Box<dyn AppService>, PathBuf)> {
    let app = std::env::current_exe()
        .ok()
        .and_then(|e| super::bundle::bundle_root(&e))?;
    let service = super::main_app::MainApp::new()?;
    Some((Box::new(service), app))
}

/// The running app's service and its bundle: none outside macOS.
#[cfg(not(target_os = "macos"))]
pub fn native() -> Option<(Box<dyn AppService>, PathBuf)> {
    None
}
