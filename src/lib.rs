//! Secours: guards a web application's hourly backups and restores them onto the standby environment.
//!
//! One module per job the user knows; the binary (`src/main.rs`) only parses the command line and maps
//! errors to exit codes.
//!
//! - Reading the environment: [`config`], [`paths`], [`environment`], [`dbphp`].
//! - Watching the backups: [`inspect`] (find the pair), [`freshness`] (judge it), [`status`].
//! - People: [`i18n`] (French and English), [`cli`], [`logging`].
//! - Shared: [`secret`] (passwords that never print), [`progress`].

pub mod alerts;
pub mod alerts_store;
pub mod anomaly;
pub mod app;
pub mod backup;
pub mod cli;
pub mod config;
pub mod copy;
pub mod db;
pub mod dbphp;
pub mod demo;
pub mod durable;
pub mod environment;
pub mod freshness;
pub mod fswatch;
pub mod history;
pub mod i18n;
pub mod icons;
pub mod inspect;
pub mod instance;
pub mod logging;
pub mod login_item;
pub mod mac_metadata;
pub mod menu;
pub mod notifications;
pub mod operations;
pub mod parity;
pub mod paths;
pub mod platform;
pub mod progress;
pub mod report;
pub mod restore;
pub mod secret;
pub mod stack;
pub mod status;
pub mod timemachine;
pub mod tray;
pub mod verify;
