//! What Secours remembers: the history database ([`history`]): observations, verifications, copies,
//! restores (with their journal), anomalies' shapes and Time Machine's backups; and the record of the
//! standby's pre-staged pair ([`standby`]).
//!
//! May use: the ground modules, and [`crate::env`] for its private files.

pub mod history;
pub mod standby;
