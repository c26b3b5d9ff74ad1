//! The sources the configuration asks to watch: each watched environment's backup folder and each
//! watched folder (the standby's received copies, a safe-copy destination).

use std::path::PathBuf;

use crate::env::config::Config;
use crate::env::environment;

/// A watched source before observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub folder: PathBuf,
    pub dbname: Option<String>,
}

/// The sources the configuration asks to watch.
pub fn sources(config: &Config) -> Vec<Source> {
    let mut list = Vec::new();
    for name in &config.watch.environments {
        if let Ok(env) = environment::named(config, name) {
            list.push(Source {
                name: name.clone(),
                dbname: env.database_name(),
                folder: env.backup_dir,
            });
        }
    }
    for folder in &config.watch.folders {
        let name = folder
            .file_name()
            .map_or_else(|| folder.display().to_string(), |n| n.to_string_lossy().into_owned());
        list.push(Source {
            name,
            folder: folder.clone(),
            dbname: None,
        });
    }
    list
}
