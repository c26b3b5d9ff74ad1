//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod mariadb;
pub mod schema;
pub mod tmutil;
pub mod user;
