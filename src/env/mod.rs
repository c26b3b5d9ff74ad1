//! The environments as the office set them up: Secours's configuration ([`config`]) and where it lives
//! ([`paths`]), each environment's folders and database settings ([`environment`]) read from the
//! application's `config/db.php` ([`dbphp`]), secrets that never print ([`secret`]), and the Bitnami
//! stack around them ([`stack`]).
//!
//! May use: the platform and the ground modules only.

pub mod config;
pub mod dbphp;
pub mod environment;
pub mod paths;
pub mod secret;
pub mod stack;
