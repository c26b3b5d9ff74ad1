//! The integration tests, gathered in one binary that links the library once (as ripgrep's
//! `tests/tests.rs` does). Each module is one file of `tests/`; `support/` holds what they share (the
//! throwaway MariaDB, the schema and dump builders, the ordinary test users).
//!
//! `db_containment.rs` stays a binary of its own: it compares the whole server's state (databases,
//! accounts, grants) before and after each import, which the other modules' databases would disturb.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod anomaly;
#[cfg(feature = "gui")]
mod bundle;
mod cli_status;
mod config_fixtures;
mod copy;
mod db_engine;
mod db_import;
mod dbphp_fixtures;
mod demo;
mod dump_reader;
mod history_concurrency;
mod layout;
#[cfg(feature = "gui")]
mod mac_standins;
mod parity;
mod privileged;
mod report;
mod restore;
mod restore_media;
mod sakila;
mod software;
mod standby;
mod status_timemachine;
mod timemachine_fake;
mod verify;
