//! One file per command: what it does over the library, what it prints and its exit code.

pub mod accept;
pub mod backup;
pub mod config;
pub mod copy;
pub mod db;
pub mod demo;
pub mod history;
pub mod login_item;
pub mod parity;
pub mod report;
pub mod restore;
pub mod software;
pub mod standby;
pub mod status;
pub mod verify;
