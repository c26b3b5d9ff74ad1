//! The layout of a media archive: where the media folders sit and what a restore will extract from them,
//! found entry by entry in the verification's single read (the rule is in the [module documentation](super)).
//!
//! Guarantees: memory is bounded whatever the archive ([`MAX_CANDIDATES`] prefixes, [`MAX_SHALLOW`] folders
//! remembered, [`MAX_NAMES`] names listed); unsafe names (absolute, `..`) take no part.

use std::collections::{BTreeMap, BTreeSet};

use super::{MediaFolder, MediaLayout, components};

/// Candidate prefixes kept at once; two already make the layout ambiguous.
const MAX_CANDIDATES: usize = 8;
/// Folders outside the media folders remembered (to tell the prefix's own folders from skipped entries),
/// and how deep.
const MAX_SHALLOW: usize = 4096;
const MAX_PREFIX_DEPTH: usize = 16;
/// Names listed in messages.
const MAX_NAMES: usize = 20;

/// Media folders found under one prefix.
struct Candidate {
    comps: Vec<String>,
    shown: String,
    /// Indexed like `LayoutScan::expected`.
    folders: Vec<Option<MediaFolder>>,
    /// Entries under this prefix's media folders (the media folders' own entries included).
    under: u64,
    /// A media folder's own entry that is not a folder.
    not_folder: Option<String>,
}

/// Finds the layout while the archive is read (see the module documentation for the rule).
#[derive(Default)]
pub(super) struct LayoutScan {
    expected: Vec<String>,
    min_depth: Option<usize>,
    candidates: Vec<Candidate>,
    more_candidates: bool,
    /// Entries seen (AppleDouble left out).
    entries: u64,
    /// Folder entries outside any media folder, by components (the first `MAX_SHALLOW`).
    shallow_dirs: BTreeMap<Vec<String>, u64>,
}

impl LayoutScan {
    pub(super) fn new(expected: &[String]) -> Self {
        LayoutScan {
            expected: expected.to_vec(),
            ..LayoutScan::default()
        }
    }

    pub(super) fn observe(&mut self, name: &str, kind: u8, size: u64) {
        if self.expected.is_empty() {
            return;
        }
        self.entries += 1;
        let comps: Vec<&str> = components(name).collect();
        if name.starts_with('/') || comps.contains(&"..") {
            return; // Unsafe: the verdict says so, and the restore refuses the archive.
        }
        let is_folder = matches!(kind, b'5' | b'D');
        let Some(k) = comps.iter().position(|c| self.expected.iter().any(|e| e == c)) else {
            if is_folder && comps.len() <= MAX_PREFIX_DEPTH {
                let key: Vec<String> = comps.iter().map(|c| (*c).to_owned()).collect();
                if let Some(n) = self.shallow_dirs.get_mut(&key) {
                    *n += 1;
                } else if self.shallow_dirs.len() < MAX_SHALLOW {
                    self.shallow_dirs.insert(key, 1);
                }
            }
            return;
        };
        match self.min_depth {
            Some(m) if k > m => return,
            Some(m) if k == m => {}
            _ => {
                self.min_depth = Some(k);
                self.candidates.clear();
                self.more_candidates = false;
            }
        }
        let prefix = &comps[..k];
        let i = match self.candidates.iter().position(|c| c.comps == prefix) {
            Some(i) => i,
            None if self.candidates.len() >= MAX_CANDIDATES => {
                self.more_candidates = true;
                return;
            }
            None => {
                self.candidates.push(Candidate {
                    comps: prefix.iter().map(|c| (*c).to_owned()).collect(),
                    shown: literal_prefix(name, k),
                    folders: vec![None; self.expected.len()],
                    under: 0,
                    not_folder: None,
                });
                self.candidates.len() - 1
            }
        };
        let c = &mut self.candidates[i];
        c.under += 1;
        let Some(which) = self.expected.iter().position(|e| e == comps[k]) else {
            return;
        };
        let folder = c.folders[which].get_or_insert_with(|| MediaFolder {
            name: comps[k].to_owned(),
            files: 0,
            bytes: 0,
            folders: 0,
            symlinks: 0,
        });
        if comps.len() == k + 1 && !is_folder {
            c.not_folder.get_or_insert_with(|| name.to_owned());
        }
        match kind {
            b'0' | b'\0' | b'7' | b'S' => {
                folder.files += 1;
                folder.bytes += size;
            }
            b'1' => folder.files += 1,
            b'5' | b'D' => folder.folders += 1,
            b'2' => folder.symlinks += 1,
            _ => {}
        }
    }

    pub(super) fn finish(&mut self, top_level: &BTreeSet<String>, apple_double: u64) -> MediaLayout {
        let expected = self.expected.clone();
        let top: Vec<String> = top_level.iter().take(MAX_NAMES).cloned().collect();
        let wanted = |p: &str| {
            expected
                .iter()
                .map(|e| format!("'{p}{e}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let holds = if top.is_empty() {
            "it holds no entries".to_owned()
        } else {
            let mut names = top.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
            if top_level.len() > top.len() {
                names.push_str(", …");
            }
            format!("its top level holds {names}")
        };
        let mut layout = MediaLayout {
            expected: expected.clone(),
            prefix: None,
            usable: false,
            refusal: None,
            folders: Vec::new(),
            files: 0,
            bytes: 0,
            skipped: self.entries,
            apple_double,
            top_level: top.clone(),
        };
        const REBUILD: &str = "Check the hourly backup: it should run 'tar czf media.taz documents pictures' in the web \
                               folder.";
        if self.candidates.is_empty() {
            layout.refusal = Some(format!(
                "the archive holds no {} folder, neither at its top nor under a common folder ({holds}): a restore \
                 would leave the standby without media. {REBUILD}",
                wanted("")
            ));
            return layout;
        }
        if self.candidates.len() > 1 || self.more_candidates {
            let places: Vec<String> = self
                .candidates
                .iter()
                .map(|c| format!("'{}'", if c.shown.is_empty() { "./" } else { &c.shown }))
                .collect();
            layout.refusal = Some(format!(
                "the archive holds media folders in several places ({}{}): Secours cannot tell which to restore. \
                 {REBUILD}",
                places.join(", "),
                if self.more_candidates { ", …" } else { "" }
            ));
            return layout;
        }
        let c = &self.candidates[0];
        let ancestors: u64 = self
            .shallow_dirs
            .iter()
            .filter(|(k, _)| c.comps.starts_with(k))
            .map(|(_, n)| n)
            .sum();
        layout.prefix = Some(c.shown.clone());
        layout.folders = c.folders.iter().flatten().cloned().collect();
        layout.files = layout.folders.iter().map(|f| f.files).sum();
        layout.bytes = layout.folders.iter().map(|f| f.bytes).sum();
        layout.skipped = self.entries.saturating_sub(c.under + ancestors);
        let found = layout
            .folders
            .iter()
            .map(|f| format!("'{}{}'", c.shown, f.name))
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(entry) = &c.not_folder {
            layout.refusal = Some(format!(
                "the archive's '{entry}' is not a folder (a media folder must be one): a restore would refuse it. \
                 {REBUILD}"
            ));
        } else if layout.files == 0 {
            layout.refusal = Some(format!(
                "the archive's media folders ({found}) hold no files: a restore would leave the standby without \
                 media. {REBUILD}"
            ));
        } else {
            layout.usable = true;
        }
        layout
    }
}

/// The part of `name` before its `k`-th real component, as written (`./web/` for `./web/documents/a`).
fn literal_prefix(name: &str, k: usize) -> String {
    let mut seen = 0;
    let mut at = 0;
    for part in name.split('/') {
        if !part.is_empty() && part != "." {
            if seen == k {
                return name[..at].to_owned();
            }
            seen += 1;
        }
        at += part.len() + 1;
    }
    String::new()
}

/// The first path component, without a leading `./`; `None` for the archive root itself.
pub(super) fn top_component(name: &str) -> Option<&str> {
    name.split('/').find(|c| !c.is_empty() && *c != ".")
}

#[cfg(test)]
mod tests {
    use super::super::{counted, grouped};
    use super::*;

    fn layout_of(entries: &[(&str, u8, u64)]) -> MediaLayout {
        let expected = vec!["documents".to_string(), "pictures".to_string()];
        let mut scan = LayoutScan::new(&expected);
        let mut top = BTreeSet::new();
        for (name, kind, size) in entries {
            scan.observe(name, *kind, *size);
            if let Some(t) = top_component(name) {
                top.insert(t.to_owned());
            }
        }
        scan.finish(&top, 0)
    }

    #[test]
    fn the_shallowest_media_folder_sets_the_prefix() {
        let l = layout_of(&[
            ("web/", b'5', 0),
            ("web/index.php", b'0', 5),
            ("web/documents/", b'5', 0),
            ("web/documents/a", b'0', 3),
            ("web/old/pictures/x", b'0', 1),
            ("web/pictures/p", b'0', 2),
        ]);
        assert_eq!((l.prefix.as_deref(), l.usable), (Some("web/"), true));
        // `web/` leads to the media folders; `index.php` and the deeper `old/pictures` are skipped.
        assert_eq!((l.files, l.bytes, l.skipped), (2, 5, 2));
        // A shallower media folder seen later wins; what was counted under the deeper one is skipped.
        let l = layout_of(&[("old/x/documents/a", b'0', 1), ("./documents/b", b'0', 2)]);
        assert_eq!((l.prefix.as_deref(), l.files, l.skipped), (Some("./"), 1, 1));
        assert!(l.at_top());
        // Unsafe names take no part.
        let l = layout_of(&[("../documents/a", b'0', 1), ("/documents/b", b'0', 1)]);
        assert_eq!(l.prefix, None);
        // A media folder that is a file.
        let l = layout_of(&[("documents", b'0', 1), ("pictures/a", b'0', 1)]);
        assert!(l.refusal.unwrap().contains("'documents' is not a folder"));
    }

    #[test]
    fn literal_prefixes_and_grouped_numbers() {
        assert_eq!(literal_prefix("./web//documents/a", 1), "./web//");
        assert_eq!(literal_prefix("documents/a", 0), "");
        assert_eq!(literal_prefix("./documents", 0), "./");
        assert_eq!(
            (grouped(5002), grouped(999), grouped(1_234_567)),
            ("5,002".into(), "999".into(), "1,234,567".into())
        );
        assert_eq!(counted(1, "file", "files"), "1 file");
    }
}
