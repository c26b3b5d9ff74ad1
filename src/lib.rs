//! Secours: guards a web application's hourly backups and restores them onto the standby environment.
//!
//! Two shells over one library; arrows only point down (a module uses only those listed below it):
//!
//! | layer | modules | what they own |
//! |---|---|---|
//! | shells | [`cli`], `ui` | the command line; the menu-bar app (default feature `gui`) |
//! | shared by the shells | [`run`] | the context of a run, exit codes, error text, logging, single instance |
//! | jobs | [`demo`], [`report`] | the demo installation; the history page |
//! | | [`restore`] | the restore and the return to production, as a journaled transaction; the standby made ready ahead of time; the software's copy |
//! | | [`backup`] | finding, judging, verifying, copying and making the backups |
//! | | [`timemachine`] | Time Machine's status and schedule, read through `tmutil` |
//! | engines | [`store`] | the history (SQLite); the record of the standby's pre-staged pair |
//! | | [`db`] | MySQL/MariaDB: connect, read a dump, import, dump, empty |
//! | | [`env`] | configuration, paths, environments, `db.php`, secrets, the Bitnami stack |
//! | edge | [`platform`] | what differs per OS: external commands, opening, dialogs, launch at login |
//! | ground | [`files`], [`progress`], [`i18n`] | durable writes, lock files and file helpers; progress and cancel; words |
//!
//! `tests/layout.rs` checks the arrows.

pub mod backup;
pub mod cli;
pub mod db;
pub mod demo;
pub mod env;
pub mod files;
pub mod i18n;
pub mod platform;
pub mod progress;
pub mod report;
pub mod restore;
pub mod run;
pub mod store;
pub mod timemachine;
#[cfg(feature = "gui")]
pub mod ui;
