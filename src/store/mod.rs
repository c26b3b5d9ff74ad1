//! What Secours remembers: the history database ([`history`]): observations, verifications, copies,
//! restores (with their journal), anomalies' shapes and Time Machine's backups.
//!
//! May use: the ground modules only.

pub mod history;
pub mod standby;
