//! The backups: finding the pair ([`inspect`]), judging it ([`freshness`], [`anomaly`], [`status`]),
//! proving it readable ([`verify`]), copying it to safe places ([`copy`]) and comparing software
//! ([`parity`]) and packing it ([`software`]), the operations the menu and the CLI start ([`operations`]), making one now ([`now`]), and
//! what the app does by itself ([`duties`]).
//!
//! May use: [`crate::db`], [`crate::env`], [`crate::store`], [`crate::timemachine`], the platform and the
//! ground modules. Never the restore or the shells.

pub mod anomaly;
pub mod copy;
pub mod duties;
pub mod freshness;
pub mod inspect;
pub mod now;
pub mod operations;
pub mod parity;
pub mod software;
pub mod sources;
pub mod status;
pub mod verify;
