//! The database side of a restore: reading a mysqldump / mariadb-dump stream into statements, and
//! everything that sends them to the standby server.

pub mod reader;
