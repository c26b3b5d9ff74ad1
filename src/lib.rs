//! Secours: guards a web application's hourly backups and restores them onto the standby environment.
//!
//! One module per job the user knows; the binary (`src/main.rs`) only parses the command line and maps
//! errors to exit codes.

pub mod db;
pub mod dbphp;
pub mod progress;
pub mod secret;
