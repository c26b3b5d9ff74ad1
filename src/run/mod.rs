//! What both shells (the command line and the menu-bar app) need: logging ([`logging`]) and the single
//! running app ([`instance`]).
//!
//! May use: everything below the shells.

pub mod instance;
pub mod logging;
