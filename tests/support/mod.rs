//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod mariadb;
pub mod schema;
pub mod tmutil;
pub mod user;

/// Makes the file at `path` look written `seconds` ago: a pair modified seconds ago reads as "being
/// written", and some tests need a backup of a given age.
pub fn age(path: &std::path::Path, seconds: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}
