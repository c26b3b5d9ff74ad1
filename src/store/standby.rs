//! The record of the standby's pre-staged pair: `<target root>/.secours-next/state.json`.
//!
//! The pre-staging (`restore::prestage`) restores each new verified pair beside the target: a shadow
//! database and a folder of staged media, in one of two slots, so that the proven pair stays usable while
//! the next one is built in the other slot. This record is the one source of truth:
//! - `ready` names the proven slot; only what it names may be used by a restore, and a slot it does not
//!   name is work in progress or left over, which the next cycle removes;
//! - `created` lists the shadow databases Secours made, written before each `CREATE DATABASE`: only those
//!   are ever dropped, never a database of the same name someone else made.
//!
//! Written whole under another name then renamed and synced (0600): after a crash it is the old record or
//! the new one. It holds no password. It lives in `store` so that the status (in `backup`) can read it.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::files::FileIdentity;

/// The folder beside `web/` (in the environment's folder) holding the slots and this record.
pub const NEXT_DIR: &str = ".secours-next";
const STATE_FILE: &str = "state.json";

/// The whole record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StandbyState {
    /// The proven pre-staged pair, if any.
    pub ready: Option<Staged>,
    /// Shadow databases Secours created (and so may drop).
    #[serde(default)]
    pub created: Vec<String>,
}

/// One pre-staged pair, proven restorable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staged {
    /// `a` or `b`: the folder `<NEXT_DIR>/<slot>`.
    pub slot: String,
    /// The shadow database holding the imported tables.
    pub schema: String,
    /// The pair: its folder, its files and their identities when pre-staged.
    pub folder: PathBuf,
    pub db_file: PathBuf,
    pub media_file: PathBuf,
    pub db_identity: FileIdentity,
    pub media_identity: FileIdentity,
    pub db_modified: Timestamp,
    pub media_modified: Timestamp,
    /// The media folders staged (under `<slot>/media/`).
    pub media_dirs: Vec<String>,
    pub proven_at: Timestamp,
    pub import_seconds: f64,
    pub media_seconds: f64,
    pub tables: u64,
    pub rows: u64,
    pub rows_per_table: BTreeMap<String, u64>,
    pub files: u64,
    pub media_bytes: u64,
    /// Whether the staged media already belong to the restore's owner (else the switch-over gives them).
    pub owner_set: bool,
    /// Processor seconds Secours used for this pair (the database server's are not counted).
    pub cpu_seconds: f64,
}

impl Staged {
    /// The backup's time: the older of the two files.
    pub fn backup_time(&self) -> Timestamp {
        self.db_modified.min(self.media_modified)
    }

    /// `<NEXT_DIR>/<slot>` under the environment's folder `root`.
    pub fn slot_dir(&self, root: &Path) -> PathBuf {
        slot_dir(root, &self.slot)
    }

    /// The staged media: the folder holding `documents/`, `pictures/`…
    pub fn media_dir(&self, root: &Path) -> PathBuf {
        self.slot_dir(root).join("media")
    }

    /// The shadow database's views, triggers, routines and events, dumped once it was proven.
    pub fn definitions(&self, root: &Path) -> PathBuf {
        self.slot_dir(root).join("definitions.gz")
    }
}

/// `<root>/<NEXT_DIR>`.
pub fn next_dir(root: &Path) -> PathBuf {
    root.join(NEXT_DIR)
}

/// `<root>/<NEXT_DIR>/<slot>`.
pub fn slot_dir(root: &Path, slot: &str) -> PathBuf {
    next_dir(root).join(slot)
}

/// Reads the record of the environment at `root`; an absent one is empty.
pub fn read(root: &Path) -> io::Result<StandbyState> {
    let path = next_dir(root).join(STATE_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("'{}' is not a record written by Secours: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(StandbyState::default()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot read '{}': {e}", path.display()),
        )),
    }
}

/// Writes the record whole (temporary file, sync, rename, sync of the folder), mode 0600.
pub fn write(root: &Path, state: &StandbyState) -> io::Result<()> {
    let dir = next_dir(root);
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    let text = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
    let mut f = crate::env::secret::create_private(&tmp)?;
    f.write_all(&text)?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    crate::files::durable::sync_dir(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged() -> Staged {
        let id = FileIdentity {
            bytes: 10,
            mtime_ns: 1_700_000_000_000_000_000,
            inode: 7,
        };
        Staged {
            slot: "a".to_owned(),
            schema: "app_next".to_owned(),
            folder: PathBuf::from("/b"),
            db_file: PathBuf::from("/b/app.gz"),
            media_file: PathBuf::from("/b/media.taz"),
            db_identity: id,
            media_identity: id,
            db_modified: Timestamp::from_second(1_700_000_000).unwrap(),
            media_modified: Timestamp::from_second(1_700_000_100).unwrap(),
            media_dirs: vec!["documents".to_owned()],
            proven_at: Timestamp::from_second(1_700_000_200).unwrap(),
            import_seconds: 1.5,
            media_seconds: 0.5,
            tables: 2,
            rows: 3,
            rows_per_table: BTreeMap::from([("t".to_owned(), 3)]),
            files: 4,
            media_bytes: 5,
            owner_set: false,
            cpu_seconds: 0.2,
        }
    }

    // Guards the record's round trip and its privacy: what is written is read back, mode 0600, and no
    // temporary file is left.
    #[test]
    fn the_record_is_read_back_whole_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        assert_eq!(read(root.path()).unwrap(), StandbyState::default());
        fs::create_dir_all(next_dir(root.path())).unwrap();
        let state = StandbyState {
            ready: Some(staged()),
            created: vec!["app_next".to_owned()],
        };
        write(root.path(), &state).unwrap();
        assert_eq!(read(root.path()).unwrap(), state);
        let mode = fs::metadata(next_dir(root.path()).join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!next_dir(root.path()).join("state.json.tmp").exists());
        assert_eq!(
            state.ready.unwrap().backup_time(),
            Timestamp::from_second(1_700_000_000).unwrap()
        );
    }

    // Guards a foreign or damaged record: an error naming the file, never a silent empty state that would
    // let a cycle drop a database it did not make.
    #[test]
    fn a_damaged_record_is_an_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(next_dir(root.path())).unwrap();
        fs::write(next_dir(root.path()).join(STATE_FILE), "garbage").unwrap();
        let e = read(root.path()).unwrap_err();
        assert!(e.to_string().contains("state.json"), "{e}");
    }
}
