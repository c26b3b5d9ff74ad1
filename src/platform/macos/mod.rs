//! macOS: launch at login ([`launch_agent`], and [`app_service`] on macOS 13 and later), the identity of
//! the bundle Secours runs from ([`bundle`]), and what is asked through `osascript` ([`osascript`]: the
//! administrator's password dialog, the folder chooser).
//!
//! Compiled on every system, so the pure parts and the logic around launchd are tested everywhere, except
//! [`main_app`]: the calls into Apple's frameworks, the one module of Secours allowed `unsafe`, each block
//! with its `// SAFETY:` reason.

pub mod app_service;
pub mod bundle;
pub mod launch_agent;
#[cfg(target_os = "macos")]
pub mod main_app;
pub mod osascript;
