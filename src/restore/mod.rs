//! The restore onto the standby environment and the return to production, as a transaction
//! (see [`transaction`]): where the backup comes from ([`sources`]), the media extraction
//! ([`media`]) and its owner ([`owner`]), the safety snapshot of the database ([`snapshot`]), the final check
//! ([`check`]), the command line ([`command`]), the standby restored ahead of time ([`prestage`]) and bringing
//! the standby's software to parity with production ([`software`]).
//!
//! May use: [`crate::backup`], [`crate::timemachine`], [`crate::db`], [`crate::store`], [`crate::env`],
//! [`crate::platform`] and the ground modules. Never the shells.

pub mod check;
pub mod command;
pub mod media;
pub mod owner;
pub mod prestage;
pub mod snapshot;
pub mod software;
pub mod sources;
pub mod transaction;

pub use transaction::Kind;
