//! The menu-bar app: the session and its background duties ([`session`]), the tray ([`tray`]), the menu
//! as a pure function of state ([`menu`]), its icons ([`icons`]), alerts and their memory ([`alerts`],
//! [`alert_memory`]), notifications ([`notifications`]) and the file watcher ([`watcher`]).
//!
//! May use: everything below the shells, never [`crate::cli`].

pub mod alert_memory;
pub mod alerts;
pub mod icons;
pub mod menu;
pub mod notifications;
pub mod session;
pub mod tray;
pub mod watcher;
