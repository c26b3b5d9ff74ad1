//! Restoring a backup pair onto the standby environment, step by step as the seed procedure does it.

pub mod media;
pub mod owner;
