//! Software parity: does the standby run the same code as production?
//!
//! A *code manifest* lists every file, symbolic link and folder under an environment's root: files by
//! size and SHA-256, links by the text of their target (never followed), folders by their presence.
//! It leaves out what legitimately differs between two environments, using the environment's resolved
//! paths: its media folders (`web/<media dir>`, restored from `media.taz`), `runtime/` and its backup
//! folder, its own `config/db.php` (each environment has its database), the *content* of Yii's
//! `web/assets/` (published under hashed names that depend on the environment's path; the folder itself
//! must exist and counts), Secours's own work folders (any name starting with `.secours-`) and Finder's
//! `.DS_Store`. Sockets, FIFOs and devices are skipped. [`compare`] judges two manifests, purely.
//!
//! Production's disk is not visible from the standby Mac, so `secours copy` on the production Mac
//! writes prod's manifest, [`CODE_MANIFEST`], into each dated copy folder; `secours parity` on the
//! standby uses the newest one found.
//!
//! The text form, one entry a line, sorted by path bytes:
//!
//! ```text
//! # secours code-manifest 1 environment=prod at=2026-05-01T12:00:00Z root=/Application/mamstack/apps/prod
//! 3b0c…e1  1532  web/index.php
//! dir  web/css
//! link  vendor/bin/yii -> ../yiisoft/yii2/yii
//! # end 3
//! ```
//!
//! Guarantees:
//! - Reversible for any file name: `%`, control characters and bytes that are not UTF-8 are written
//!   `%XX` ([`escape`] / [`unescape`]); in link lines `>` is escaped in the path, so ` -> ` is unambiguous.
//! - A manifest cut short is refused: the last line counts the entries.
//! - Writing is atomic: a temporary file in the same folder, flushed to disk, then renamed.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, Read, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::env::config::Config;
use crate::env::environment::{self, EnvError, Environment};
use crate::i18n::{Lang, fill};
use crate::progress::{Cancel, Meter, Progress};

/// The manifest's file name inside a copy folder.
pub const CODE_MANIFEST: &str = "code-manifest.txt";
/// The reference environment when none is named.
pub const DEFAULT_REFERENCE: &str = "prod";
/// How many paths of each kind the text report lists.
pub const SHOWN: usize = 20;

const HEADER: &str = "# secours code-manifest 1";
const TRAILER: &str = "# end ";
/// Folders of `web/` whose content the application generates (Yii's published asset bundles).
const GENERATED_WEB_DIRS: [&str; 1] = ["assets"];
/// Secours's work folders (`.secours-previous`, `.secours-staging…` beside `web/`, `.secours-tmp-…`).
const OWN_PREFIX: &[u8] = b".secours-";
/// Names that are never software.
const IGNORED_NAMES: [&[u8]; 1] = [b".DS_Store"];
const PROGRESS_EVERY: u64 = 4 << 20;
const STEP: &str = "code-manifest";

/// One entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        size: u64,
        sha256: String,
    },
    /// A symbolic link, by the bytes of its target.
    Link {
        target: Vec<u8>,
    },
    Dir,
}

/// An environment's code, as read at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeManifest {
    pub environment: String,
    pub root: PathBuf,
    pub at: Timestamp,
    /// Relative path (bytes, `/`-separated) → entry.
    pub entries: BTreeMap<Vec<u8>, Entry>,
}

/// What a code manifest leaves out, as paths relative to the environment's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// Left out with everything under them.
    pub trees: Vec<PathBuf>,
    /// Folders that count but whose content is generated.
    pub contents: Vec<PathBuf>,
}

/// Why two environments could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(
        "the root of environment '{env}', '{root}', is not on this computer. Correct [environments.{env}] root, \
         or compare with a recorded manifest (--manifest FILE)."
    )]
    RootMissing { env: String, root: PathBuf },
    #[error("cannot read '{path}': {source}. Give Secours read access to it, then compare again.")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write '{path}': {source}. Check that the folder exists and is writable.")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "'{path}' is not a usable code manifest (line {line}: {problem}). Record it again with 'secours copy' \
         on the production computer."
    )]
    BadManifest {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error(
        "environment '{env}' is not on this computer and no code manifest of it was found (looked in {searched}). \
         Run 'secours copy' on the production computer: it records {env}'s code next to each safe copy. \
         Or name a manifest with --manifest FILE."
    )]
    NoManifest { env: String, searched: String },
    #[error("environment '{env}' cannot be compared with itself. Name another one with --with.")]
    SameEnvironment { env: String },
    #[error("the comparison was cancelled. Start it again when ready.")]
    Cancelled,
}

impl Exclusions {
    /// What an environment's manifest leaves out, from its resolved paths (those outside the root are
    /// never walked anyway).
    pub fn for_environment(env: &Environment) -> Exclusions {
        let rel = |p: &Path| {
            p.strip_prefix(&env.root)
                .ok()
                .filter(|r| r.components().next().is_some())
                .map(Path::to_path_buf)
        };
        let mut trees: Vec<PathBuf> = env.media_dirs.iter().filter_map(|d| rel(&env.media_path(d))).collect();
        trees.push(PathBuf::from("runtime"));
        trees.extend(rel(&env.backup_dir));
        trees.extend(rel(&env.db_config));
        let contents = GENERATED_WEB_DIRS
            .iter()
            .filter_map(|d| rel(&env.web.join(d)))
            .collect();
        Exclusions { trees, contents }
    }

    /// Both sets: each side of a comparison is judged by the same rules.
    pub fn union(mut self, other: &Exclusions) -> Exclusions {
        for t in &other.trees {
            if !self.trees.contains(t) {
                self.trees.push(t.clone());
            }
        }
        for c in &other.contents {
            if !self.contents.contains(c) {
                self.contents.push(c.clone());
            }
        }
        self
    }

    /// Whether the entry at `rel` (relative to the root) is left out.
    pub fn excludes(&self, rel: &Path) -> bool {
        let by_name = rel.components().any(|c| match c {
            Component::Normal(n) => {
                let n = n.as_bytes();
                n.starts_with(OWN_PREFIX) || IGNORED_NAMES.contains(&n)
            }
            _ => false,
        });
        by_name
            || self.trees.iter().any(|t| rel.starts_with(t))
            || self.contents.iter().any(|c| rel != c && rel.starts_with(c))
    }

    fn skips_contents_of(&self, rel: &Path) -> bool {
        self.contents.iter().any(|c| rel == c)
    }
}

fn rel_path(key: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(key))
}

impl CodeManifest {
    /// Drops the entries `exclude` leaves out.
    pub fn retain(&mut self, exclude: &Exclusions) {
        self.entries.retain(|k, _| !exclude.excludes(rel_path(k)));
    }

    /// The text form (see the module documentation).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{HEADER} environment={} at={} root={}",
            escape(self.environment.as_bytes(), &[' ']),
            self.at,
            escape(self.root.as_os_str().as_bytes(), &[' '])
        );
        for (path, entry) in &self.entries {
            let _ = match entry {
                Entry::File { size, sha256 } => writeln!(out, "{sha256}  {size}  {}", escape(path, &[])),
                Entry::Link { target } => writeln!(out, "link  {} -> {}", escape(path, &['>']), escape(target, &[])),
                Entry::Dir => writeln!(out, "dir  {}", escape(path, &[])),
            };
        }
        let _ = writeln!(out, "{TRAILER}{}", self.entries.len());
        out
    }

    /// Parses the text form; the error is (line number, problem).
    pub fn parse(text: &str) -> Result<CodeManifest, (usize, String)> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let (_, header) = lines.next().ok_or((1, "the file is empty".to_owned()))?;
        let (environment, at, root) = parse_header(header).map_err(|p| (1, p))?;
        let mut entries = BTreeMap::new();
        let mut count = None;
        for (n, line) in lines {
            if count.is_some() {
                if line.trim().is_empty() {
                    continue;
                }
                return Err((n, "text after the end line".to_owned()));
            }
            if let Some(c) = line.strip_prefix(TRAILER) {
                let c: usize = c
                    .parse()
                    .map_err(|_| (n, format!("'{line}' does not count the entries")))?;
                if c != entries.len() {
                    return Err((n, format!("it announces {c} entries but lists {}", entries.len())));
                }
                count = Some(c);
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (path, entry) = parse_line(line).map_err(|p| (n, p))?;
            if entries.insert(path, entry).is_some() {
                return Err((n, format!("'{line}' repeats a path")));
            }
        }
        if count.is_none() {
            return Err((
                text.lines().count() + 1,
                "no end line: the file was cut short".to_owned(),
            ));
        }
        Ok(CodeManifest {
            environment,
            root,
            at,
            entries,
        })
    }
}

fn parse_header(line: &str) -> Result<(String, Timestamp, PathBuf), String> {
    let rest = line
        .strip_prefix(HEADER)
        .ok_or_else(|| format!("the first line is not '{HEADER} …'"))?;
    let (mut env, mut at, mut root) = (None, None, None);
    for field in rest.split(' ').filter(|f| !f.is_empty()) {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key {
            "environment" => env = Some(String::from_utf8_lossy(&unescape(value)?).into_owned()),
            "at" => at = Some(value.parse::<Timestamp>().map_err(|e| format!("'{value}': {e}"))?),
            "root" => root = Some(PathBuf::from(OsStr::from_bytes(&unescape(value)?))),
            _ => {} // Later versions may say more.
        }
    }
    match (env, at, root) {
        (Some(e), Some(a), Some(r)) => Ok((e, a, r)),
        _ => Err("the first line must name environment=, at= and root=".to_owned()),
    }
}

fn parse_line(line: &str) -> Result<(Vec<u8>, Entry), String> {
    let bad = || format!("'{line}' is not '<sha256>  <size>  <path>', 'link  <path> -> <target>' or 'dir  <path>'");
    let (first, rest) = line.split_once("  ").ok_or_else(bad)?;
    let (path, entry) = match first {
        "dir" => Ok((unescape(rest)?, Entry::Dir)),
        "link" => {
            let (path, target) = rest.split_once(" -> ").ok_or_else(bad)?;
            Ok((
                unescape(path)?,
                Entry::Link {
                    target: unescape(target)?,
                },
            ))
        }
        hash if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {
            let (size, path) = rest.split_once("  ").ok_or_else(bad)?;
            if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let size = size.parse().map_err(|_| bad())?;
            Ok((
                unescape(path)?,
                Entry::File {
                    size,
                    sha256: hash.to_owned(),
                },
            ))
        }
        _ => Err(bad()),
    }?;
    if path.is_empty() {
        return Err(bad());
    }
    Ok((path, entry))
}

/// Bytes as text: `%`, control characters, bytes that are not UTF-8 and the characters of `extra`
/// become `%XX`; everything else (accents included) stays as it is.
pub fn escape(bytes: &[u8], extra: &[char]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' || c.is_control() || extra.contains(&c) {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The inverse of [`escape`].
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .ok_or_else(|| format!("'{text}' has a '%' not followed by two hexadecimal digits"))?;
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            out.push((digit(hex[0]) << 4) | digit(hex[1]));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// What the walk found before hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A regular file and its size.
    File(u64),
    /// A symbolic link and the bytes of its target.
    Link(Vec<u8>),
    Dir,
}

/// Walks the code under `root` without following links, leaving out what `exclude` says: every file,
/// link and folder, by its path relative to `root`, in no particular order. Entries that vanish
/// meanwhile are skipped; sockets, FIFOs and devices are not software. The walk [`code_manifest`] and the
/// software archive (`backup::software`) share, so they cannot disagree on what the code is.
pub fn walk(root: &Path, exclude: &Exclusions, cancel: &Cancel) -> Result<Vec<(PathBuf, Found)>, ParityError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ParityError::Read { path, source }
    };
    let vanished = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let mut found: Vec<(PathBuf, Found)> = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(rel) = folders.pop() {
        if cancel.is_cancelled() {
            return Err(ParityError::Cancelled);
        }
        let dir = if rel.as_os_str().is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        for entry in fs::read_dir(&dir).map_err(read_err(&dir))? {
            let entry = entry.map_err(read_err(&dir))?;
            let child = rel.join(entry.file_name());
            if exclude.excludes(&child) {
                continue;
            }
            let kind = match entry.file_type() {
                Ok(k) => k,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(read_err(&entry.path())(e)),
            };
            if kind.is_symlink() {
                match fs::read_link(entry.path()) {
                    Ok(target) => found.push((child, Found::Link(target.as_os_str().as_bytes().to_vec()))),
                    Err(e) if vanished(&e) => {}
                    Err(e) => return Err(read_err(&entry.path())(e)),
                }
            } else if kind.is_dir() {
                if !exclude.skips_contents_of(&child) {
                    folders.push(child.clone());
                }
                found.push((child, Found::Dir));
            } else if kind.is_file() {
                match entry.metadata() {
                    Ok(m) => found.push((child, Found::File(m.len()))),
                    Err(e) if vanished(&e) => {}
                    Err(e) => return Err(read_err(&entry.path())(e)),
                }
            }
            // Sockets, FIFOs and devices are not software.
        }
    }
    Ok(found)
}

/// Reads the code under `root`: walks it without following links, leaves out what `exclude` says,
/// and hashes each regular file (streaming). The manifest is named after the root's folder; see
/// [`environment_manifest`] for an environment's.
pub fn code_manifest(
    root: &Path,
    exclude: &Exclusions,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<CodeManifest, ParityError> {
    let now = Timestamp::now();
    let at = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ParityError::Read { path, source }
    };
    let vanished = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let found = walk(root, exclude, cancel)?;

    let total = found
        .iter()
        .map(|(_, f)| if let Found::File(n) = f { *n } else { 0 })
        .sum();
    let mut meter = Meter::new(
        progress,
        STEP,
        total,
        PROGRESS_EVERY,
        format!("reading {}", root.display()),
    );
    let mut entries = BTreeMap::new();
    for (rel, f) in found {
        let key = rel.as_os_str().as_bytes().to_vec();
        let entry = match f {
            Found::Dir => Entry::Dir,
            Found::Link(target) => Entry::Link { target },
            Found::File(_) => {
                let path = root.join(&rel);
                match hash_file(&path, &mut meter, cancel) {
                    Ok(Hashed::Done(size, sha256)) => Entry::File { size, sha256 },
                    Ok(Hashed::Skip) => continue,
                    Ok(Hashed::Cancelled) => return Err(ParityError::Cancelled),
                    Err(e) if vanished(&e) => continue,
                    Err(e) => return Err(read_err(&path)(e)),
                }
            }
        };
        entries.insert(key, entry);
    }
    meter.finish();
    Ok(CodeManifest {
        environment: root
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        root: root.to_path_buf(),
        at,
        entries,
    })
}

/// An environment's code manifest, with the environment's exclusions.
pub fn environment_manifest(
    env: &Environment,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<CodeManifest, ParityError> {
    if !env.root.is_dir() {
        return Err(ParityError::RootMissing {
            env: env.name.clone(),
            root: env.root.clone(),
        });
    }
    let mut m = code_manifest(&env.root, &Exclusions::for_environment(env), progress, cancel)?;
    m.environment = env.name.clone();
    Ok(m)
}

enum Hashed {
    Done(u64, String),
    /// Not a regular file any more (replaced since the walk).
    Skip,
    Cancelled,
}

fn hash_file(path: &Path, meter: &mut Meter, cancel: &Cancel) -> io::Result<Hashed> {
    // A file swapped for a link or a FIFO since the walk is neither followed nor waited for.
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(Hashed::Skip);
    }
    Ok(match crate::files::digest::sha256_stream(&mut file, meter, cancel)? {
        Some((size, sha256)) => Hashed::Done(size, sha256),
        None => Hashed::Cancelled,
    })
}

/// Writes a manifest atomically (temporary file in the same folder, flushed, renamed).
pub fn write_manifest(path: &Path, manifest: &CodeManifest) -> Result<(), ParityError> {
    let write_err = |p: &Path| {
        let path = p.to_path_buf();
        move |source| ParityError::Write { path, source }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or(OsStr::new(CODE_MANIFEST));
    let mut tmp_name = OsStr::new(".").to_os_string();
    tmp_name.push(name);
    tmp_name.push(format!(".partial-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(manifest.to_text().as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(write_err(path)(e));
    }
    // The rename is durable once the folder is flushed.
    crate::files::durable::sync_dir(dir).map_err(write_err(dir))
}

/// Reads a manifest written by [`write_manifest`].
pub fn read_manifest(path: &Path) -> Result<CodeManifest, ParityError> {
    let bytes = fs::read(path).map_err(|source| ParityError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line, problem| ParityError::BadManifest {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let text = String::from_utf8(bytes).map_err(|_| bad(0, "it is not UTF-8 text".to_owned()))?;
    CodeManifest::parse(&text).map_err(|(line, problem)| bad(line, problem))
}

/// The environment and time a manifest file names on its first line (cheap: reads one line).
fn read_header(path: &Path) -> Option<(String, Timestamp)> {
    let file = File::open(path).ok()?;
    let mut line = String::new();
    io::BufReader::new(file.take(64 * 1024)).read_line(&mut line).ok()?;
    parse_header(line.trim_end_matches(['\n', '\r']))
        .ok()
        .map(|(env, at, _)| (env, at))
}

/// The folders searched for recorded manifests: the watched folders and the safe-copy destinations.
pub fn manifest_folders(config: &Config) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = crate::backup::sources::sources(config)
        .into_iter()
        .map(|s| s.folder)
        .collect();
    for d in &config.safe_copy.destinations {
        if !folders.contains(d) {
            folders.push(d.clone());
        }
    }
    folders
}

/// The newest readable manifest of environment `env` in `folders` (in each folder itself and in its
/// dated copy folders), by the time it was recorded.
pub fn newest_manifest(folders: &[PathBuf], env: &str) -> Result<(PathBuf, CodeManifest), ParityError> {
    let mut candidates = Vec::new();
    for folder in folders {
        candidates.push(folder.join(CODE_MANIFEST));
        let Ok(list) = fs::read_dir(folder) else { continue };
        for entry in list.flatten() {
            if crate::backup::inspect::is_dated_name(&entry.file_name().to_string_lossy()) {
                candidates.push(entry.path().join(CODE_MANIFEST));
            }
        }
    }
    let mut dated: Vec<(Timestamp, PathBuf)> = candidates
        .into_iter()
        .filter_map(|p| match read_header(&p) {
            Some((e, at)) if e == env => Some((at, p)),
            _ => None,
        })
        .collect();
    dated.sort_by(|a, b| b.cmp(a));
    let mut first_error = None;
    for (_, path) in dated {
        match read_manifest(&path) {
            Ok(m) => return Ok((path, m)),
            Err(e) => {
                log::warn!("{e}");
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| ParityError::NoManifest {
        env: env.to_owned(),
        searched: if folders.is_empty() {
            "no folder: nothing is watched and there is no [safe-copy] destination".to_owned()
        } else {
            folders
                .iter()
                .map(|f| format!("'{}'", f.display()))
                .collect::<Vec<_>>()
                .join(", ")
        },
    }))
}

/// The result of comparing two manifests; paths are written as by [`escape`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParityReport {
    pub identical: bool,
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    /// Present in both, with another content, size, link target or kind.
    pub different: Vec<String>,
    /// Entries (files, links and folders) compared on each side.
    pub files_a: usize,
    pub files_b: usize,
}

/// Compares two manifests entry by entry (their header is not compared).
pub fn compare(a: &CodeManifest, b: &CodeManifest) -> ParityReport {
    let show = |p: &[u8]| escape(p, &[]);
    let mut only_in_a = Vec::new();
    let mut different = Vec::new();
    for (path, entry) in &a.entries {
        match b.entries.get(path) {
            None => only_in_a.push(show(path)),
            Some(other) if other != entry => different.push(show(path)),
            Some(_) => {}
        }
    }
    let only_in_b: Vec<String> = b
        .entries
        .keys()
        .filter(|p| !a.entries.contains_key(*p))
        .map(|p| show(p))
        .collect();
    ParityReport {
        identical: only_in_a.is_empty() && only_in_b.is_empty() && different.is_empty(),
        only_in_a,
        only_in_b,
        different,
        files_a: a.entries.len(),
        files_b: b.entries.len(),
    }
}

/// What `secours parity` compares: environment `env` (default [`DEFAULT_REFERENCE`]) with environment
/// `with` (default the `[restore] target`), or with the recorded manifest `manifest`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub env: Option<String>,
    pub with: Option<String>,
    /// Compare with this recorded manifest. Without `env`, the environment compared is prod when its
    /// root is on this computer, else the `[restore] target`.
    pub manifest: Option<PathBuf>,
}

/// One side of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub environment: String,
    pub root: PathBuf,
    /// The recorded manifest used instead of reading the root (`null` when the root was read).
    pub manifest: Option<PathBuf>,
    /// When the code was read.
    pub at: Timestamp,
}

impl Side {
    fn of(m: &CodeManifest, manifest: Option<PathBuf>) -> Side {
        Side {
            environment: m.environment.clone(),
            root: m.root.clone(),
            manifest,
            at: m.at,
        }
    }
}

/// A comparison and what was compared (`secours parity --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: Side,
    pub b: Side,
    #[serde(flatten)]
    pub report: ParityReport,
}

impl Comparison {
    /// 0 identical, 2 different.
    pub fn exit_code(&self) -> u8 {
        if self.report.identical { 0 } else { 2 }
    }
}

/// Compares as `request` asks. When the reference environment's root is not on this computer (the
/// standby Mac), its newest manifest recorded next to the safe copies stands for it. Both sides leave
/// out what either environment's configuration leaves out.
pub fn run(
    config: &Config,
    request: &Request,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Comparison, ParityError> {
    let target = &config.restore.target;
    let a_name = match (&request.env, &request.manifest) {
        (Some(name), _) => name.clone(),
        (None, Some(_)) => {
            let prod_here = environment::named(config, DEFAULT_REFERENCE).is_ok_and(|e| e.root.is_dir());
            let name = if prod_here { DEFAULT_REFERENCE } else { target.as_str() };
            name.to_owned()
        }
        (None, None) => DEFAULT_REFERENCE.to_owned(),
    };
    let a_env = environment::named(config, &a_name)?;
    let ((mut a, a_file), (mut b, b_file)) = match &request.manifest {
        Some(file) => {
            let b = read_manifest(file)?;
            let a = environment_manifest(&a_env, progress, cancel)?;
            ((a, None), (b, Some(file.clone())))
        }
        None => {
            let b_name = request.with.clone().unwrap_or_else(|| target.clone());
            if b_name == a_name {
                return Err(ParityError::SameEnvironment { env: b_name });
            }
            let b_env = environment::named(config, &b_name)?;
            if !b_env.root.is_dir() {
                return Err(ParityError::RootMissing {
                    env: b_env.name,
                    root: b_env.root,
                });
            }
            let a = if a_env.root.is_dir() {
                (environment_manifest(&a_env, progress, cancel)?, None)
            } else {
                let (path, m) = newest_manifest(&manifest_folders(config), &a_name)?;
                (m, Some(path))
            };
            (a, (environment_manifest(&b_env, progress, cancel)?, None))
        }
    };
    let mut exclude = Exclusions::for_environment(&a_env);
    if let Ok(env) = environment::named(config, &b.environment) {
        exclude = exclude.union(&Exclusions::for_environment(&env));
    }
    a.retain(&exclude);
    b.retain(&exclude);
    Ok(Comparison {
        report: compare(&a, &b),
        a: Side::of(&a, a_file),
        b: Side::of(&b, b_file),
    })
}

/// The comparison for a terminal: what was compared, then "identical" or the differences (the first
/// [`SHOWN`] of each kind, with their counts) and what to do.
pub fn render_text(c: &Comparison, lang: Lang) -> String {
    let t = lang.t();
    let mut out = String::new();
    for side in [&c.a, &c.b] {
        if let Some(file) = &side.manifest {
            let date = crate::i18n::local_minute(side.at);
            let line = fill(
                t.parity_recorded,
                &[
                    ("env", &side.environment),
                    ("date", &date),
                    ("path", &file.display().to_string()),
                ],
            );
            let _ = writeln!(out, "{line}");
        }
    }
    let (a, b) = (c.a.environment.as_str(), c.b.environment.as_str());
    let r = &c.report;
    if r.identical {
        let count = r.files_a.to_string();
        let _ = writeln!(
            out,
            "{}",
            fill(t.parity_identical, &[("a", a), ("b", b), ("count", &count)])
        );
        return out;
    }
    let _ = writeln!(out, "{}", fill(t.parity_different, &[("a", a), ("b", b)]));
    let groups = [
        (
            fill(t.parity_changed, &[("count", &r.different.len().to_string())]),
            &r.different,
        ),
        (
            fill(
                t.parity_only_in,
                &[("name", a), ("count", &r.only_in_a.len().to_string())],
            ),
            &r.only_in_a,
        ),
        (
            fill(
                t.parity_only_in,
                &[("name", b), ("count", &r.only_in_b.len().to_string())],
            ),
            &r.only_in_b,
        ),
    ];
    for (title, list) in groups {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}");
        for p in list.iter().take(SHOWN) {
            let _ = writeln!(out, "    {p}");
        }
        if list.len() > SHOWN {
            let more = (list.len() - SHOWN).to_string();
            let _ = writeln!(out, "    {}", fill(t.parity_more, &[("count", &more)]));
        }
    }
    let _ = writeln!(out, "→ {}", fill(t.parity_advice, &[("a", a), ("b", b)]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::config::EnvironmentConfig;
    use proptest::prelude::*;

    fn manifest(entries: &[(&[u8], Entry)]) -> CodeManifest {
        CodeManifest {
            environment: "prod".into(),
            root: "/A/prod".into(),
            at: Timestamp::from_second(1_764_079_200).unwrap(),
            entries: entries.iter().map(|(p, e)| (p.to_vec(), e.clone())).collect(),
        }
    }

    fn file(content: &str) -> Entry {
        Entry::File {
            size: content.len() as u64,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(content.as_bytes())),
        }
    }

    #[test]
    fn compare_sorts_differences_into_three_kinds() {
        let link = |t: &str| Entry::Link {
            target: t.as_bytes().to_vec(),
        };
        let a = manifest(&[
            (b"web/index.php", file("a")),
            (b"web/old.php", file("x")),
            (b"vendor/bin/yii", link("../yii")),
            (b"web/css", Entry::Dir),
            (b"same.php", file("s")),
        ]);
        let b = manifest(&[
            (b"web/index.php", file("b")),
            (b"web/new.php", file("x")),
            (b"vendor/bin/yii", link("../yii2")),
            (b"web/css", file("now a file")),
            (b"same.php", file("s")),
        ]);
        let r = compare(&a, &b);
        assert!(!r.identical);
        assert_eq!(r.only_in_a, vec!["web/old.php"]);
        assert_eq!(r.only_in_b, vec!["web/new.php"]);
        assert_eq!(r.different, vec!["vendor/bin/yii", "web/css", "web/index.php"]);
        assert_eq!((r.files_a, r.files_b), (5, 5));
        let same = compare(&a, &a.clone());
        assert!(same.identical, "{same:?}");
        // The header (environment, root, time) is not part of the comparison.
        let mut other = a.clone();
        other.environment = "secours".into();
        other.root = "/A/secours".into();
        assert!(compare(&a, &other).identical);
    }

    // Guards reversibility for the names a text line could break: non-UTF-8 bytes, newlines, '%',
    // double spaces, " -> " in a link's path, leading spaces.
    #[test]
    fn manifest_round_trips_through_text() {
        let m = manifest(&[
            (b"web/caf\xe9.php", file("latin-1 name")),
            (b"web/r\xc3\xa9sum\xc3\xa9.php", file("utf-8 name")),
            (b"web/two  spaces\nand newline%.php", file("odd")),
            (b"  leading", file("")),
            (
                b"vendor/a -> b",
                Entry::Link {
                    target: b"../x -> y\xff".to_vec(),
                },
            ),
            (b"web/assets", Entry::Dir),
        ]);
        let text = m.to_text();
        assert!(text.contains("web/caf%E9.php"), "{text}");
        assert!(text.contains("web/résumé.php"), "{text}");
        assert!(text.contains("link  vendor/a -%3E b -> ../x -> y%FF"), "{text}");
        assert_eq!(text.lines().count(), 8, "{text}");
        assert_eq!(CodeManifest::parse(&text), Ok(m));
    }

    #[test]
    fn damaged_manifests_are_refused() {
        let text = manifest(&[(b"a.php", file("a")), (b"b.php", file("b"))]).to_text();
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert!(CodeManifest::parse(&cut).unwrap_err().1.contains("cut short"));
        let miscounted = text.replace("# end 2", "# end 3");
        assert!(CodeManifest::parse(&miscounted).is_err());
        assert!(CodeManifest::parse("hello\n# end 0\n").is_err());
        let header = text.lines().next().unwrap();
        for bad in ["zz  1  a.php", "dir  ", "link  a", "%s  1  a"] {
            assert!(
                CodeManifest::parse(&format!("{header}\n{bad}\n# end 1\n")).is_err(),
                "{bad}"
            );
        }
        let bad_escape = format!("{header}\ndir  a%4\n# end 1\n");
        assert!(CodeManifest::parse(&bad_escape).is_err());
    }

    proptest! {
        #[test]
        fn escape_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for extra in [&[][..], &['>'][..], &[' '][..]] {
                let text = escape(&bytes, extra);
                prop_assert!(!text.contains('\n') && !text.contains('\r'));
                prop_assert!(extra.iter().all(|c| !text.contains(*c)));
                prop_assert_eq!(unescape(&text).unwrap(), bytes.clone());
            }
        }
    }

    #[test]
    fn exclusions_follow_the_resolved_paths() {
        let mut cfg = EnvironmentConfig::at("/A/prod", None);
        cfg.web = Some("/A/prod/public".into());
        cfg.db_config = Some("/A/prod/protected/config/db.php".into());
        cfg.media_dirs = Some(vec!["docs".into(), "img".into()]);
        let x = Exclusions::for_environment(&Environment::resolve("prod", &cfg));
        for out in [
            "public/docs",
            "public/img/a.png",
            "runtime",
            "runtime/logs/app.log",
            "protected/config/db.php",
            "public/assets/3f2a/app.js",
            ".secours-previous/web/index.php",
            "public/.secours-staging-12/x",
            "protected/.DS_Store",
        ] {
            assert!(x.excludes(Path::new(out)), "{out}");
        }
        for kept in [
            "public/assets",
            "public/documents/a.pdf",
            "public/docs2/a",
            "protected/config/web.php",
            "config/db.php",
            "web/index.php",
        ] {
            assert!(!x.excludes(Path::new(kept)), "{kept}");
        }
    }

    #[test]
    fn the_walk_records_files_links_and_folders_and_leaves_out_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("prod");
        for d in [
            "web/documents",
            "web/assets/3f2a",
            "runtime/logs",
            "config",
            "vendor/bin",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("web/index.php"), "<?php echo 1;").unwrap();
        fs::write(root.join("web/documents/a.pdf"), "media").unwrap();
        fs::write(root.join("web/assets/3f2a/app.js"), "generated").unwrap();
        fs::write(root.join("runtime/logs/app.log"), "log").unwrap();
        fs::write(root.join("config/db.php"), "<?php return [];").unwrap();
        std::os::unix::fs::symlink("../../nowhere", root.join("vendor/bin/yii")).unwrap();
        let env = Environment::resolve("prod", &EnvironmentConfig::at(&root, None));
        let seen = std::sync::Mutex::new(Vec::new());
        let progress = |u: crate::progress::Update| seen.lock().unwrap().push(u);
        let m = environment_manifest(&env, &progress, &Cancel::new()).unwrap();
        let keys: Vec<String> = m.entries.keys().map(|k| escape(k, &[])).collect();
        assert_eq!(
            keys,
            vec![
                "config",
                "vendor",
                "vendor/bin",
                "vendor/bin/yii",
                "web",
                "web/assets",
                "web/index.php"
            ]
        );
        assert_eq!(m.entries[&b"web/index.php".to_vec()], file("<?php echo 1;"));
        assert_eq!(
            m.entries[&b"vendor/bin/yii".to_vec()],
            Entry::Link {
                target: b"../../nowhere".to_vec()
            }
        );
        assert_eq!(m.environment, "prod");
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!((last.step, last.done, last.total), (STEP, 13, Some(13)));

        let cancel = Cancel::new();
        cancel.cancel();
        assert!(matches!(
            environment_manifest(&env, &crate::progress::Silent, &cancel),
            Err(ParityError::Cancelled)
        ));
    }

    // Guards a file name that is not UTF-8 (allowed on Linux) from disk to text file and back.
    #[cfg(not(target_os = "macos"))]
    #[test]
    fn a_non_utf8_name_survives_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("app");
        fs::create_dir(&root).unwrap();
        fs::write(root.join(OsStr::from_bytes(b"caf\xe9.php")), "x").unwrap();
        let m = code_manifest(&root, &Exclusions::default(), &crate::progress::Silent, &Cancel::new()).unwrap();
        assert!(m.entries.contains_key(b"caf\xe9.php".as_slice()));
        let path = tmp.path().join(CODE_MANIFEST);
        write_manifest(&path, &m).unwrap();
        assert_eq!(read_manifest(&path).unwrap(), m);
        assert_eq!(read_header(&path), Some(("app".to_owned(), m.at)));
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }
}
