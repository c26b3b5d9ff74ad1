//! macOS metadata inside tar archives made on a Mac: AppleDouble `._name` entries and PAX extended-attribute
//! keys, recognised and parsed by pure functions, and set back on a Mac.
//!
//! macOS's own `tar` (bsdtar) stores a file's extended attributes and resource fork in two ways:
//! - an AppleDouble entry `folder/._name`, written right before `folder/name`, whose data starts with the
//!   magic `00 05 16 07`. Its entry 9 (Finder info) holds 32 bytes of Finder info followed by an `ATTR`
//!   block listing the extended attributes; its entry 2 is the resource fork;
//! - PAX header keys `LIBARCHIVE.xattr.NAME=base64(value)` (NAME percent-encoded) and
//!   `SCHILY.xattr.NAME=value` on the entry itself.
//!
//! Extracting on a Mac, bsdtar turns both back into attributes of `name` and writes no `._` file; on Linux
//! the `._` entries would land as junk files in the web folders. Secours does as bsdtar on a Mac: an
//! AppleDouble entry is never a file, and its attributes are set on the file it describes, on macOS only
//! ([`set_xattrs`] does nothing elsewhere).
//!
//! Guarantees:
//! - An entry is AppleDouble when its last name component starts with `._` AND its data starts with the
//!   magic ([`is_apple_double`]); a user's file that merely has such a name stays a file.
//! - The quarantine attribute ([`QUARANTINE`]) is never returned: restored files are the office's own, not
//!   downloads.
//! - The parsers never panic and never read outside the bytes given (every offset and length is checked);
//!   malformed data is an `Err` with a sentence, which the extractor logs and otherwise ignores. Attribute
//!   names that macOS would refuse (empty, longer than 127 bytes, NUL inside, not UTF-8) are left out.

use std::fs::File;

/// The first four bytes of every AppleDouble file.
pub const APPLE_DOUBLE_MAGIC: [u8; 4] = [0x00, 0x05, 0x16, 0x07];
/// The attribute macOS puts on downloaded files; never restored.
pub const QUARANTINE: &str = "com.apple.quarantine";
/// Where a resource fork is kept as an attribute.
pub const RESOURCE_FORK: &str = "com.apple.ResourceFork";
/// Where the 32 bytes of Finder info are kept as an attribute.
pub const FINDER_INFO: &str = "com.apple.FinderInfo";
/// `XATTR_MAXNAMELEN` on macOS.
const MAX_NAME: usize = 127;
/// AppleDouble entry ids.
const ENTRY_RESOURCE_FORK: u32 = 2;
const ENTRY_FINDER_INFO: u32 = 9;
const FINDER_INFO_LEN: usize = 32;
/// `ATTR` in big-endian, the magic of the attribute block inside the Finder-info entry.
const ATTR_MAGIC: u32 = 0x4154_5452;

/// One extended attribute: its name and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xattr {
    pub name: String,
    pub value: Vec<u8>,
}

/// True when the last component of `name` starts with `._` (and is more than that): it may be AppleDouble.
pub fn has_apple_double_name(name: &[u8]) -> bool {
    let last = name.rsplit(|&b| b == b'/').find(|c| !c.is_empty()).unwrap_or_default();
    last.len() > 2 && last.starts_with(b"._")
}

/// True when an entry named `name` whose data starts with `head` is an AppleDouble entry.
pub fn is_apple_double(name: &[u8], head: &[u8]) -> bool {
    has_apple_double_name(name) && head.starts_with(&APPLE_DOUBLE_MAGIC)
}

/// The name of the file an AppleDouble entry describes: `documents/._a.pdf` → `documents/a.pdf`.
pub fn described_name(name: &[u8]) -> Option<Vec<u8>> {
    let trimmed = name.strip_suffix(b"/").unwrap_or(name);
    let (parent, last) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => (&[][..], trimmed),
    };
    let rest = last.strip_prefix(b"._").filter(|r| !r.is_empty())?;
    let mut out = parent.to_vec();
    out.extend_from_slice(rest);
    Some(out)
}

fn be32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            format!(
                "the AppleDouble data ends at byte {} (a field at byte {at} is missing)",
                data.len()
            )
        })
}

fn be16(data: &[u8], at: usize) -> Result<u16, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| {
            format!(
                "the AppleDouble data ends at byte {} (a field at byte {at} is missing)",
                data.len()
            )
        })
}

/// `len` bytes at `offset`, or why not.
fn slice(data: &[u8], offset: u32, len: u32, what: &str) -> Result<Vec<u8>, String> {
    let (o, l) = (offset as usize, len as usize);
    o.checked_add(l)
        .and_then(|end| data.get(o..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            format!(
                "{what} (bytes {o} to {}) lies beyond the end of the data ({} bytes)",
                o + l,
                data.len()
            )
        })
}

/// A name macOS accepts, quarantine excluded.
fn kept_name(raw: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(raw).ok()?;
    let ok = !name.is_empty() && name.len() <= MAX_NAME && !name.contains('\0') && name != QUARANTINE;
    ok.then(|| name.to_owned())
}

/// The extended attributes an AppleDouble file carries: the Finder info (when not all zero), the resource
/// fork (when not empty) and every attribute of the `ATTR` block, in that order, quarantine excluded.
pub fn apple_double_xattrs(data: &[u8]) -> Result<Vec<Xattr>, String> {
    if !data.starts_with(&APPLE_DOUBLE_MAGIC) {
        return Err("not AppleDouble data: it does not start with '00 05 16 07'".into());
    }
    let count = be16(data, 24)? as usize;
    let mut out = Vec::new();
    let mut attrs = Vec::new();
    for i in 0..count {
        let at = 26 + 12 * i;
        let (id, offset, len) = (be32(data, at)?, be32(data, at + 4)?, be32(data, at + 8)?);
        match id {
            ENTRY_FINDER_INFO => {
                let info = slice(data, offset, len.min(FINDER_INFO_LEN as u32), "the Finder info")?;
                if info.len() == FINDER_INFO_LEN && info.iter().any(|&b| b != 0) {
                    out.push(Xattr {
                        name: FINDER_INFO.into(),
                        value: info,
                    });
                }
                // The attribute block follows the Finder info and two bytes of padding.
                if len as usize > FINDER_INFO_LEN {
                    attrs = attr_block(data, offset as usize + FINDER_INFO_LEN + 2)?;
                }
            }
            ENTRY_RESOURCE_FORK if len > 0 => out.push(Xattr {
                name: RESOURCE_FORK.into(),
                value: slice(data, offset, len, "the resource fork")?,
            }),
            _ => {}
        }
    }
    out.extend(attrs);
    Ok(out)
}

/// The attributes of the `ATTR` block starting at `at` (offsets inside it count from the start of the file).
fn attr_block(data: &[u8], at: usize) -> Result<Vec<Xattr>, String> {
    if be32(data, at)? != ATTR_MAGIC {
        return Err(format!("no 'ATTR' block at byte {at} of the AppleDouble data"));
    }
    // magic, debug tag, total size, data start, data length, 3 reserved, flags (u16), count (u16).
    let count = be16(data, at + 34)? as usize;
    let mut entry = at + 36;
    let mut out = Vec::new();
    for _ in 0..count {
        let offset = be32(data, entry)?;
        let len = be32(data, entry + 4)?;
        let name_len = *data
            .get(entry + 10)
            .ok_or_else(|| format!("the attribute list ends early, at byte {}", data.len()))?
            as usize;
        let raw = data.get(entry + 11..entry + 11 + name_len).ok_or_else(|| {
            format!(
                "an attribute name runs beyond the end of the data ({} bytes)",
                data.len()
            )
        })?;
        // The stored length counts the terminating NUL.
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        let value = slice(data, offset, len, "an attribute's value")?;
        if let Some(name) = kept_name(raw) {
            out.push(Xattr { name, value });
        }
        // Each entry is 11 bytes plus the name, rounded up to a multiple of 4.
        entry += (11 + name_len + 3) & !3;
    }
    Ok(out)
}

/// The extended attributes in an entry's PAX records: `LIBARCHIVE.xattr.NAME` (percent-encoded name,
/// base64 value) and `SCHILY.xattr.NAME` (raw value); a name given both ways keeps the last value.
/// Quarantine and unusable names are left out.
pub fn pax_xattrs<'a>(records: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Vec<Xattr> {
    let mut out: Vec<Xattr> = Vec::new();
    for (key, value) in records {
        let decoded = if let Some(name) = key.strip_prefix(b"LIBARCHIVE.xattr.") {
            percent_decode(name).zip(base64_decode(value))
        } else {
            key.strip_prefix(b"SCHILY.xattr.")
                .map(|name| (name.to_vec(), value.to_vec()))
        };
        let Some((raw, value)) = decoded else { continue };
        let Some(name) = kept_name(&raw) else { continue };
        out.retain(|x| x.name != name);
        out.push(Xattr { name, value });
    }
    out
}

/// `%xx` escapes decoded; `None` for a bad escape.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Standard base64, padding optional; `None` for anything else.
fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.strip_suffix(b"==").or_else(|| s.strip_suffix(b"=")).unwrap_or(s);
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut v = 0u32;
        for &c in chunk {
            v = (v << 6) | sextet(c)?;
        }
        v <<= 6 * (4 - chunk.len() as u32);
        let bytes = v.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Sets `attrs` on an open file or folder; returns how many were set. On macOS through `fsetxattr` (the
/// descriptor was opened without following links, so no link is ever followed); a failure is returned with
/// the attribute's name. Elsewhere the attributes are left out, as the office's manual `tar xzf` on Linux
/// would leave them out, and nothing is set.
#[cfg(target_os = "macos")]
pub fn set_xattrs(file: &File, attrs: &[Xattr]) -> Result<u64, String> {
    // rustix's safe wrapper of fsetxattr(fd, name, value, size, position 0, options 0).
    for x in attrs {
        rustix::fs::fsetxattr(file, x.name.as_str(), &x.value, rustix::fs::XattrFlags::empty())
            .map_err(|e| format!("cannot set the attribute '{}': {e}", x.name))?;
    }
    Ok(attrs.len() as u64)
}

/// See the macOS version: elsewhere, nothing is set.
#[cfg(not(target_os = "macos"))]
pub fn set_xattrs(_file: &File, _attrs: &[Xattr]) -> Result<u64, String> {
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_and_mapped_to_what_they_describe() {
        assert!(has_apple_double_name(b"documents/._facture 2024.pdf"));
        assert!(has_apple_double_name(b"._documents"));
        assert!(!has_apple_double_name(b"documents/._"));
        assert!(!has_apple_double_name(b"documents/a._b"));
        assert!(is_apple_double(b"web/._x", &[0, 5, 0x16, 7, 0, 2]));
        // Guards a user's file that merely has such a name: it stays a file.
        assert!(!is_apple_double(b"web/._x", b"%PDF"));
        assert!(!is_apple_double(b"web/x", &APPLE_DOUBLE_MAGIC));
        assert_eq!(
            described_name(b"documents/._facture 2024.pdf").unwrap(),
            b"documents/facture 2024.pdf"
        );
        assert_eq!(described_name(b"./._documents").unwrap(), b"./documents");
        assert_eq!(described_name(b"._documents").unwrap(), b"documents");
        assert_eq!(described_name(b"documents/x"), None);
    }

    #[test]
    fn base64_and_percent_decoding() {
        assert_eq!(base64_decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode(b"AAEC/w==").unwrap(), [0, 1, 2, 255]);
        assert_eq!(base64_decode(b"").unwrap(), b"");
        assert_eq!(base64_decode(b"a"), None);
        assert_eq!(base64_decode(b"a*bc"), None);
        assert_eq!(percent_decode(b"com.apple.x%20y").unwrap(), b"com.apple.x y");
        assert_eq!(percent_decode(b"bad%2"), None);
    }

    #[test]
    fn pax_keys_give_attributes_without_quarantine() {
        let recs: Vec<(&[u8], &[u8])> = vec![
            (b"path", b"documents/a.pdf"),
            (b"LIBARCHIVE.xattr.com.apple.quarantine", b"MDA4MTs="),
            (b"LIBARCHIVE.xattr.com.apple.metadata%3AkMDItemWhereFroms", b"aGVsbG8="),
            (b"SCHILY.xattr.user.note", b"raw\nbytes"),
            (b"SCHILY.xattr.com.apple.quarantine", b"0081;"),
            (b"LIBARCHIVE.xattr.bad", b"!!"),
        ];
        assert_eq!(
            pax_xattrs(recs),
            vec![
                Xattr {
                    name: "com.apple.metadata:kMDItemWhereFroms".into(),
                    value: b"hello".to_vec()
                },
                Xattr {
                    name: "user.note".into(),
                    value: b"raw\nbytes".to_vec()
                },
            ]
        );
    }

    #[test]
    fn malformed_apple_double_is_an_error_not_a_panic() {
        assert!(apple_double_xattrs(b"%PDF").is_err());
        let mut d = APPLE_DOUBLE_MAGIC.to_vec();
        d.extend_from_slice(&[0; 20]);
        d.extend_from_slice(&[0, 1]); // one entry, missing
        assert!(apple_double_xattrs(&d).is_err());
        // An entry pointing far beyond the data.
        d.extend_from_slice(&2u32.to_be_bytes());
        d.extend_from_slice(&u32::MAX.to_be_bytes());
        d.extend_from_slice(&u32::MAX.to_be_bytes());
        let e = apple_double_xattrs(&d).unwrap_err();
        assert!(e.contains("beyond the end"), "{e}");
        // Every cut of a valid file fails cleanly or parses.
        let full = sample();
        for cut in 0..full.len() {
            let _ = apple_double_xattrs(&full[..cut]);
        }
    }

    /// A small AppleDouble file as macOS writes it: two attributes and the quarantine one.
    fn sample() -> Vec<u8> {
        apple_double(&[
            ("com.apple.metadata:_kMDItemUserTags", b"tags"),
            (QUARANTINE, b"0081;5f5e1000;Safari;"),
            ("com.apple.lastuseddate#PS", b"12345678"),
        ])
    }

    /// Builds AppleDouble data the way macOS lays it out (Finder info entry with its ATTR block).
    fn apple_double(attrs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&APPLE_DOUBLE_MAGIC);
        d.extend_from_slice(&0x0002_0000u32.to_be_bytes());
        d.extend_from_slice(b"Mac OS X        ");
        d.extend_from_slice(&2u16.to_be_bytes());
        // Entry table filled in below: Finder info at 50, resource fork after everything (empty).
        let table = d.len();
        d.extend_from_slice(&[0; 24]);
        let fi = d.len();
        d.extend_from_slice(&[0; 32]);
        d.extend_from_slice(&[0; 2]);
        let header = d.len();
        d.extend_from_slice(&ATTR_MAGIC.to_be_bytes());
        d.extend_from_slice(&[0; 28]);
        d.extend_from_slice(&0u16.to_be_bytes());
        d.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        let mut entries = Vec::new();
        for (name, _) in attrs {
            entries.push(d.len());
            d.extend_from_slice(&[0; 10]);
            d.push(name.len() as u8 + 1);
            d.extend_from_slice(name.as_bytes());
            d.push(0);
            while d.len() % 4 != 0 {
                d.push(0);
            }
        }
        let data_start = d.len();
        for ((_, value), at) in attrs.iter().zip(&entries) {
            let offset = d.len() as u32;
            d[*at..*at + 4].copy_from_slice(&offset.to_be_bytes());
            d[*at + 4..*at + 8].copy_from_slice(&(value.len() as u32).to_be_bytes());
            d.extend_from_slice(value);
        }
        let total = d.len() as u32;
        d[header + 8..header + 12].copy_from_slice(&total.to_be_bytes());
        d[header + 12..header + 16].copy_from_slice(&(data_start as u32).to_be_bytes());
        d[header + 16..header + 20].copy_from_slice(&(total - data_start as u32).to_be_bytes());
        d[table..table + 4].copy_from_slice(&ENTRY_FINDER_INFO.to_be_bytes());
        d[table + 4..table + 8].copy_from_slice(&(fi as u32).to_be_bytes());
        d[table + 8..table + 12].copy_from_slice(&(total - fi as u32).to_be_bytes());
        d[table + 12..table + 16].copy_from_slice(&ENTRY_RESOURCE_FORK.to_be_bytes());
        d[table + 16..table + 20].copy_from_slice(&total.to_be_bytes());
        d
    }

    #[test]
    fn the_attributes_of_a_hand_built_apple_double_without_quarantine() {
        let got = apple_double_xattrs(&sample()).unwrap();
        assert_eq!(
            got,
            vec![
                Xattr {
                    name: "com.apple.metadata:_kMDItemUserTags".into(),
                    value: b"tags".to_vec()
                },
                Xattr {
                    name: "com.apple.lastuseddate#PS".into(),
                    value: b"12345678".to_vec()
                },
            ]
        );
        // Finder info set, and a resource fork, come first.
        let mut d = apple_double(&[("a", b"1")]);
        d[50] = b'T'; // Finder info: file type
        let fork_at = d.len() as u32;
        d.extend_from_slice(b"fork");
        d[26 + 12 + 4..26 + 12 + 8].copy_from_slice(&fork_at.to_be_bytes());
        d[26 + 12 + 8..26 + 12 + 12].copy_from_slice(&4u32.to_be_bytes());
        let got = apple_double_xattrs(&d).unwrap();
        let names: Vec<&str> = got.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec![FINDER_INFO, RESOURCE_FORK, "a"]);
        assert_eq!(got[1].value, b"fork");
    }
}
