//! Linux (and other freedesktop systems): launch at login as an XDG autostart entry ([`autostart`]), and
//! the administrator's password dialog through `pkexec` ([`pkexec`]).
//!
//! Compiled on every system, so the pure parts are tested everywhere; [`crate::platform`] picks them on
//! Linux.

pub mod autostart;
pub mod pkexec;
