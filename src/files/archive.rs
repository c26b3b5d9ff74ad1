//! The one reading of a tar stream: the verification (`backup::verify`) and the restore's extraction
//! (`restore::media`) walk the same entries, read by this module, so they cannot disagree on what an archive
//! holds.
//!
//! Why not the `tar` crate's `Archive::entries()`: it refuses headers whose checksum was computed over
//! signed bytes (GNU tar and bsdtar accept them), reads a PAX or GNU long-name record of any size into
//! memory, stops at the first zero block without a word, and prefers a GNU long name over a PAX `path`;
//! the verification must instead say *where* an archive is damaged. The `tar` crate still builds the test
//! archives, and its reading is compared with this one in the tests below.
//!
//! Guarantees:
//! - One pass, front to back, in a fixed buffer: memory stays constant whatever the archive's size (PAX and
//!   GNU long-name records are capped at [`MAX_META`], a sparse map at [`MAX_SPARSE`] segments).
//! - Every header's checksum is checked (computed over unsigned or signed bytes, as GNU tar accepts); sizes
//!   are octal or GNU base-256; names and link targets come from, in this order, a PAX `path`/`linkpath`
//!   record, a GNU long name/link (`././@LongLink`), the header (ustar `prefix/name`); a PAX `size`
//!   overrides the header's. PAX records are kept with their entry ([`Entry::pax_records`]); global PAX
//!   headers are read past.
//! - The archive must end with its two zero blocks, and nothing but zero padding may follow; a zero block
//!   followed by anything else, a stream that stops inside a header, inside an entry or before the end
//!   marker, are [`Malformed`] with the offset in the tar stream and the last entry's name.
//! - [`refusal`] is the one list of entries a restore refuses wherever they are (absolute names, `..`, NUL
//!   bytes, devices, FIFOs, links that lead out of the archive); the verification lists them, the
//!   extraction stops at the first.
//! - macOS AppleDouble entries are recognised here, once, on the entry's first four bytes
//!   ([`Entry::apple_double`], see [`crate::files::mac_metadata`]).
//! - Old GNU sparse files (type `S`, with extension blocks) are read as their expanded content.
//!
//! Hand-written on purpose, as are two other readers: the mysqldump statement splitter
//! (`src/db/reader.rs`: no crate splits mysqldump's syntax — `DELIMITER`, conditional comments, binary
//! strings — as a stream in constant memory) and the `db.php` reader (`src/env/dbphp.rs`: a tiny reader of
//! PHP arrays; evaluating the file would need PHP).

use std::io::{self, Read};

use crate::files::mac_metadata;
use crate::files::window::Window;

/// A tar block.
pub const BLOCK: usize = 512;
/// The read buffer: big enough that per-call overhead vanishes.
const CHUNK: usize = 256 * 1024;
/// Longest GNU long name or PAX header accepted (a real one is a few hundred bytes).
pub const MAX_META: u64 = 1 << 20;
/// Most segments accepted in a sparse file's map.
pub const MAX_SPARSE: usize = 1 << 16;

/// One entry of the archive, with every extended header folded in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The full name (PAX `path`, GNU long name, or the header's), bytes as stored.
    pub name: Vec<u8>,
    /// The link target (PAX `linkpath`, GNU long link, or the header's); empty when none.
    pub link: Vec<u8>,
    /// The type flag (`b'0'`, `b'5'`, `b'2'`…).
    pub kind: u8,
    /// Bytes of data stored in the archive for the entry (a PAX `size` wins over the header's).
    pub size: u64,
    /// Bytes that reading the entry yields: `size`, or a sparse file's expanded length.
    pub data_len: u64,
    /// Permissions from the header; `None` when the field is unreadable.
    pub mode: Option<u32>,
    /// Modification time (seconds since 1970) from the header; `None` when unreadable.
    pub mtime: Option<u64>,
    /// Offset of the entry's own header in the tar stream.
    pub header_at: u64,
    /// A macOS AppleDouble entry (`._name` whose data starts with `00 05 16 07`): metadata, not a file.
    pub apple_double: bool,
    pax: Vec<u8>,
}

impl Entry {
    /// The name for people (lossy UTF-8).
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The records of the entry's PAX header (`key`, `value`), in order.
    pub fn pax_records(&self) -> Vec<(&[u8], &[u8])> {
        pax_records(&self.pax)
    }

    /// Why a restore refuses this entry wherever it is, if it does (see [`refusal`]).
    pub fn refusal(&self) -> Option<String> {
        refusal(&self.name, self.kind, &self.link)
    }
}

/// The tar stream is damaged or incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Offset in the tar stream.
    pub offset: u64,
    /// The last entry read (the one being read when the fault is inside it).
    pub entry: Option<String>,
    pub reason: String,
    /// The stream ended inside an entry's data (or its padding).
    pub cut_in_entry: bool,
}

/// Why reading stopped.
#[derive(Debug)]
pub enum Error {
    /// The underlying reader failed (for a gzip stream, the caller knows why).
    Read(io::Error),
    Malformed(Malformed),
}

/// Where the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a header (or inside an entry's data, see `data_left`).
    Entries,
    /// The end marker and the zero padding after it were read: nothing more.
    Done,
}

/// A sparse file's map and how far its expanded content was read.
#[derive(Debug, Default)]
struct Sparse {
    /// (offset in the expanded file, stored bytes), increasing.
    segments: Vec<(u64, u64)>,
    next: usize,
    /// Expanded bytes produced so far.
    at: u64,
    real: u64,
}

/// Reads the entries of a tar stream (see the module documentation).
pub struct Reader<R> {
    win: Window<R>,
    state: State,
    /// Stored data of the current entry not read yet, then its block padding.
    data_left: u64,
    pad_left: u64,
    sparse: Option<Sparse>,
    /// The last entry's name, for faults.
    last: Option<String>,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader {
            win: Window::new(inner, CHUNK),
            state: State::Entries,
            data_left: 0,
            pad_left: 0,
            sparse: None,
            last: None,
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.win.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.win.inner
    }

    /// Bytes of the tar stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.win.base + self.win.pos as u64
    }

    /// The next entry, after reading past what is left of the current one; `None` once the end marker and the
    /// zero padding after it were read, up to the end of the stream.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        while self.skip_data()? > 0 {}
        self.skip_padding()?;
        if self.state == State::Done {
            return Ok(None);
        }
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax: Vec<u8> = Vec::new();
        loop {
            let at = self.offset();
            if !self.need(BLOCK)? {
                let reason = if self.win.len > self.win.pos {
                    "the archive ends in the middle of a tar header: it is truncated"
                } else if at == 0 {
                    "the archive is empty: the gzip file holds no tar data"
                } else {
                    "the archive has no end-of-archive marker (two zero blocks): it is truncated"
                };
                return Err(self.fault(self.offset() + (self.win.len - self.win.pos) as u64, reason));
            }
            let h: [u8; BLOCK] = {
                let mut h = [0u8; BLOCK];
                h.copy_from_slice(&self.win.buf[self.win.pos..self.win.pos + BLOCK]);
                h
            };
            self.win.pos += BLOCK;
            if h.iter().all(|&b| b == 0) {
                self.end_of_archive(at)?;
                return Ok(None);
            }
            let stored = parse_octal(&h[148..156]);
            let (unsigned, signed) = checksums(&h);
            if stored.is_none_or(|s| s != unsigned && s as i64 != signed) {
                return Err(self.fault(at, "bad tar header checksum: the archive is damaged here"));
            }
            let Some(size) = parse_number(&h[124..136]) else {
                return Err(self.fault(at, "unreadable entry size in a tar header"));
            };
            let kind = h[156];
            match kind {
                b'L' | b'K' | b'x' => {
                    if size > MAX_META {
                        return Err(self.fault(at, "an extended tar header is too large"));
                    }
                    let data = self.read_meta(size)?;
                    match kind {
                        b'L' => long_name = Some(until_nul(&data).to_vec()),
                        b'K' => long_link = Some(until_nul(&data).to_vec()),
                        _ => pax.extend_from_slice(&data),
                    }
                    continue;
                }
                b'g' => {
                    self.start_data(size);
                    while self.skip_data()? > 0 {}
                    self.skip_padding()?;
                    continue;
                }
                _ => {}
            }
            let records = pax_records(&pax);
            let find = |key: &[u8]| records.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.to_vec());
            let pax_size = find(b"size").and_then(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok());
            let name = find(b"path").or(long_name.take()).unwrap_or_else(|| header_name(&h));
            let link = find(b"linkpath")
                .or(long_link.take())
                .unwrap_or_else(|| until_nul(&h[157..257]).to_vec());
            let size = pax_size.unwrap_or(size);
            let mut entry = Entry {
                name,
                link,
                kind,
                size,
                data_len: size,
                mode: parse_number(&h[100..108]).and_then(|m| u32::try_from(m).ok()),
                mtime: parse_number(&h[136..148]),
                header_at: at,
                apple_double: false,
                pax,
            };
            self.last = Some(entry.name_lossy());
            if kind == b'S' {
                let sparse = self.sparse_map(&h, at, size)?;
                entry.data_len = sparse.real;
                self.start_data(size);
                self.sparse = Some(sparse);
            } else {
                self.start_data(size);
            }
            if matches!(kind, b'0' | b'\0' | b'7') && size >= 4 && mac_metadata::has_apple_double_name(&entry.name) {
                // The same decision as the Mac's tar, on the entry's first four bytes (not consumed).
                if self.need(4)? {
                    entry.apple_double =
                        mac_metadata::is_apple_double(&entry.name, &self.win.buf[self.win.pos..self.win.pos + 4]);
                }
            }
            return Ok(Some(entry));
        }
    }

    /// Reads the current entry's content into `out` (a sparse file's holes as zeros); `Ok(0)` at its end.
    pub fn read_data(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let Some(mut sparse) = self.sparse.take() else {
            return self.read_stored(out);
        };
        let result = self.read_sparse(&mut sparse, out);
        self.sparse = Some(sparse);
        result
    }

    /// Reads past what is left of the current entry's data, at most one buffer at a time; returns how many
    /// stored bytes were passed (0 at the end of the data).
    pub fn skip_data(&mut self) -> Result<u64, Error> {
        if self.data_left == 0 {
            self.sparse = None;
            return Ok(0);
        }
        if self.win.pos == self.win.len && !self.need(1)? {
            return Err(self.cut());
        }
        let k = (self.win.len - self.win.pos).min(usize::try_from(self.data_left).unwrap_or(usize::MAX));
        self.win.pos += k;
        self.data_left -= k as u64;
        Ok(k as u64)
    }

    fn read_sparse(&mut self, s: &mut Sparse, out: &mut [u8]) -> Result<usize, Error> {
        if out.is_empty() || s.at >= s.real {
            return Ok(0);
        }
        let (hole_end, seg_len) = match s.segments.get(s.next) {
            Some(&(offset, len)) => (offset, len),
            None => (s.real, 0),
        };
        let n = if s.at < hole_end {
            let n = usize::try_from(hole_end - s.at).unwrap_or(usize::MAX).min(out.len());
            out[..n].fill(0);
            n
        } else {
            let left = hole_end + seg_len - s.at;
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(out.len());
            let n = self.read_stored(&mut out[..want])?;
            if n == 0 {
                return Err(self.fault(self.offset(), "a sparse file's map does not match its data"));
            }
            if n as u64 == left {
                s.next += 1;
            }
            n
        };
        s.at += n as u64;
        Ok(n)
    }

    /// Reads stored data of the current entry.
    fn read_stored(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let want = usize::try_from(self.data_left).unwrap_or(usize::MAX).min(out.len());
        if want == 0 {
            return Ok(0);
        }
        if self.win.pos == self.win.len && want >= CHUNK / 2 && !self.win.eof {
            // Large reads go straight to the caller's buffer.
            self.win.base += self.win.len as u64;
            self.win.pos = 0;
            self.win.len = 0;
            let n = loop {
                match self.win.inner.read(&mut out[..want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::Read(e)),
                }
            };
            if n == 0 {
                self.win.eof = true;
                return Err(self.cut());
            }
            self.win.base += n as u64;
            self.data_left -= n as u64;
            return Ok(n);
        }
        if self.win.pos == self.win.len && !self.need(1)? {
            return Err(self.cut());
        }
        let n = want.min(self.win.len - self.win.pos);
        out[..n].copy_from_slice(&self.win.buf[self.win.pos..self.win.pos + n]);
        self.win.pos += n;
        self.data_left -= n as u64;
        Ok(n)
    }

    fn start_data(&mut self, size: u64) {
        self.data_left = size;
        self.pad_left = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        self.sparse = None;
    }

    fn skip_padding(&mut self) -> Result<(), Error> {
        while self.pad_left > 0 {
            if self.win.pos == self.win.len && !self.need(1)? {
                return Err(self.cut());
            }
            let k = (self.win.len - self.win.pos).min(self.pad_left as usize);
            self.win.pos += k;
            self.pad_left -= k as u64;
        }
        Ok(())
    }

    /// The data of a GNU long name or PAX header (at most [`MAX_META`] bytes).
    fn read_meta(&mut self, size: u64) -> Result<Vec<u8>, Error> {
        self.start_data(size);
        let mut data = vec![0u8; usize::try_from(size).unwrap_or(0)];
        let mut got = 0;
        while got < data.len() {
            got += self.read_stored(&mut data[got..])?;
        }
        self.skip_padding()?;
        Ok(data)
    }

    /// An old GNU sparse header's map, with its extension blocks (read here, before the data).
    fn sparse_map(&mut self, h: &[u8; BLOCK], at: u64, stored: u64) -> Result<Sparse, Error> {
        let damaged = |r: &Self| r.fault(at, "a sparse file's map is damaged");
        let mut segments = Vec::new();
        sparse_segments(&h[386..482], &mut segments).ok_or_else(|| damaged(self))?;
        let real = parse_number(&h[483..495]).ok_or_else(|| damaged(self))?;
        let mut extended = h[482] != 0;
        while extended {
            if !self.need(BLOCK)? {
                let end = self.offset() + (self.win.len - self.win.pos) as u64;
                return Err(self.fault(end, "the archive ends in the middle of a tar header: it is truncated"));
            }
            let block = &self.win.buf[self.win.pos..self.win.pos + BLOCK];
            extended = block[504] != 0;
            let area = block[..504].to_vec();
            self.win.pos += BLOCK;
            sparse_segments(&area, &mut segments).ok_or_else(|| damaged(self))?;
            if segments.len() > MAX_SPARSE {
                return Err(self.fault(at, "a sparse file's map is too large"));
            }
        }
        // Increasing, inside the file, and covering exactly the stored data.
        let mut end = 0u64;
        let mut total = 0u64;
        for &(offset, len) in &segments {
            let seg_end = offset.checked_add(len).ok_or_else(|| damaged(self))?;
            if offset < end || seg_end > real {
                return Err(damaged(self));
            }
            end = seg_end;
            total += len;
        }
        if total != stored {
            return Err(damaged(self));
        }
        Ok(Sparse {
            segments,
            next: 0,
            at: 0,
            real,
        })
    }

    /// After a first zero block at `at`: a second one must follow, then only zeros up to the end.
    fn end_of_archive(&mut self, at: u64) -> Result<(), Error> {
        if !self.need(BLOCK)? {
            let reason = if self.win.len > self.win.pos {
                "the archive ends in the middle of a tar header: it is truncated"
            } else {
                "the archive has no end-of-archive marker (two zero blocks): it is truncated"
            };
            return Err(self.fault(self.offset() + (self.win.len - self.win.pos) as u64, reason));
        }
        if self.win.buf[self.win.pos..self.win.pos + BLOCK].iter().any(|&b| b != 0) {
            // tar readers (the `tar` crate included) stop at the first zero block: entries after it would be lost.
            return Err(self.fault(
                at,
                "a zero block in the middle of the archive: the entries after it would be lost",
            ));
        }
        self.win.pos += BLOCK;
        loop {
            if let Some(p) = self.win.buf[self.win.pos..self.win.len].iter().position(|&b| b != 0) {
                return Err(self.fault(
                    self.offset() + p as u64,
                    "unexpected data after the end of the tar archive (trailing garbage): the archive is damaged \
                     or two archives were glued together",
                ));
            }
            self.win.pos = self.win.len;
            if !self.need(1)? {
                break;
            }
        }
        self.state = State::Done;
        Ok(())
    }

    fn fault(&self, offset: u64, reason: &str) -> Error {
        Error::Malformed(Malformed {
            offset,
            entry: self.last.clone(),
            reason: reason.to_owned(),
            cut_in_entry: false,
        })
    }

    /// The stream ended inside the current entry's data or padding.
    fn cut(&self) -> Error {
        Error::Malformed(Malformed {
            offset: self.offset(),
            entry: self.last.clone(),
            reason: format!(
                "the archive ends in the middle of an entry ({} bytes missing): it is truncated",
                self.data_left + self.pad_left
            ),
            cut_in_entry: true,
        })
    }

    /// Makes at least `n` (≤ buffer size) bytes available, unless the stream ends first.
    fn need(&mut self, n: usize) -> Result<bool, Error> {
        self.win.need(n).map_err(Error::Read)
    }
}

/// Why a restore refuses an entry wherever it is in the archive, if it does: an absolute name, a `..`
/// component, a NUL byte in the name, a device or a FIFO, a link whose target is absolute or climbs out of
/// the archive (a symbolic link resolves from its own folder, a hard link from the archive's root). The
/// restore refuses more among what it extracts (links out of the media folders, paths through links).
pub fn refusal(name: &[u8], kind: u8, link: &[u8]) -> Option<String> {
    if name.first() == Some(&b'/') {
        return Some("absolute path".into());
    }
    if name.split(|&b| b == b'/').any(|c| c == b"..") {
        return Some("path goes up with '..'".into());
    }
    if name.contains(&0) {
        return Some("a NUL byte in the name".into());
    }
    match kind {
        b'3' => return Some("character device".into()),
        b'4' => return Some("block device".into()),
        b'6' => return Some("FIFO (named pipe)".into()),
        _ => {}
    }
    if kind == b'2' || kind == b'1' {
        let what = if kind == b'2' { "symlink" } else { "hard link" };
        let shown = String::from_utf8_lossy(link);
        if link.first() == Some(&b'/') {
            return Some(format!("{what} to the absolute path '{shown}'"));
        }
        let real = |c: &&[u8]| !c.is_empty() && *c != b".";
        let mut depth: i64 = if kind == b'2' {
            name.split(|&b| b == b'/').filter(real).count() as i64 - 1
        } else {
            0
        };
        for c in link.split(|&b| b == b'/').filter(real) {
            if c == b".." {
                depth -= 1;
                if depth < 0 {
                    return Some(format!("{what} to '{shown}', outside the archive"));
                }
            } else {
                depth += 1;
            }
        }
    }
    None
}

/// The segments (offset, stored bytes) of an area of 24-byte sparse descriptors; `None` when one is unreadable.
fn sparse_segments(area: &[u8], out: &mut Vec<(u64, u64)>) -> Option<()> {
    for d in area.chunks_exact(24) {
        if d.iter().all(|&b| b == 0) {
            continue;
        }
        let (offset, len) = (parse_number(&d[..12])?, parse_number(&d[12..])?);
        // GNU tar ends a map with an empty segment at the file's end.
        if len > 0 {
            out.push((offset, len));
        }
    }
    Some(())
}

/// The header checksum computed over unsigned and over signed bytes (the field itself counted as spaces).
fn checksums(h: &[u8; BLOCK]) -> (u64, i64) {
    let mut unsigned = 0u64;
    let mut signed = 0i64;
    for (i, &b) in h.iter().enumerate() {
        let (u, s) = if (148..156).contains(&i) {
            (32, 32)
        } else {
            (b as u64, b as i8 as i64)
        };
        unsigned += u;
        signed += s;
    }
    (unsigned, signed)
}

fn until_nul(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// `prefix/name` for ustar headers, `name` otherwise.
fn header_name(h: &[u8]) -> Vec<u8> {
    let name = until_nul(&h[0..100]);
    let ustar = &h[257..263] == b"ustar\0";
    let prefix = if ustar { until_nul(&h[345..500]) } else { &[][..] };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        let mut full = prefix.to_vec();
        full.push(b'/');
        full.extend_from_slice(name);
        full
    }
}

/// Octal field: optional spaces, digits, terminated by NUL or space.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| b != 0 && b != b' ');
    let mut v: u64 = 0;
    let mut any = false;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
        any = true;
    }
    if any {
        Some(v)
    } else if field.iter().all(|&b| b == 0 || b == b' ') {
        Some(0)
    } else {
        None
    }
}

/// Numeric field: octal, or GNU base-256 when the high bit of the first byte is set.
fn parse_number(field: &[u8]) -> Option<u64> {
    let first = *field.first()?;
    if first & 0x80 != 0 {
        if first & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = (first & 0x3f) as u64;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    parse_octal(field)
}

/// `len key=value\n` records; malformed records end the parse (the entry is still read).
fn pax_records(mut buf: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some(space) = memchr::memchr(b' ', buf) else {
            break;
        };
        let Some(len) = std::str::from_utf8(&buf[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        if len <= space + 1 || len > buf.len() {
            break;
        }
        let record = &buf[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = memchr::memchr(b'=', record) {
            out.push((&record[..eq], &record[eq + 1..]));
        }
        buf = &buf[len..];
    }
    out
}

/// A stream that hands out at most `.1` bytes per read: the tests of every reader of archives feed them
/// in awkward chunks with it.
#[cfg(test)]
pub(crate) struct Trickle<'a>(pub &'a [u8], pub usize);

#[cfg(test)]
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(out.len()).min(self.1);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry with its content, read by this module with `chunk`-byte reads of the stream.
    fn read_all(tar: &[u8], chunk: usize) -> Result<Vec<(Entry, Vec<u8>)>, Error> {
        let mut r = Reader::new(Trickle(tar, chunk));
        let mut out = Vec::new();
        while let Some(e) = r.next_entry()? {
            let mut data = Vec::new();
            let mut buf = vec![0u8; 7];
            loop {
                let n = r.read_data(&mut buf)?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            out.push((e, data));
        }
        Ok(out)
    }

    /// An entry as both readings see it: (name, link, kind, content).
    type Seen = (Vec<u8>, Vec<u8>, u8, Vec<u8>);

    /// The same, read by the `tar` crate.
    fn tar_crate(tar: &[u8]) -> Vec<Seen> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let link = e.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
                (
                    e.path_bytes().into_owned(),
                    link,
                    e.header().entry_type().as_byte(),
                    data,
                )
            })
            .collect()
    }

    fn ours(tar: &[u8]) -> Vec<Seen> {
        let mut all = Vec::new();
        for chunk in [1, 511, 4096, tar.len()] {
            let got: Vec<_> = read_all(tar, chunk)
                .unwrap()
                .into_iter()
                // The tar crate names the old regular kind `\0` as `0`.
                .map(|(e, d)| (e.name, e.link, if e.kind == 0 { b'0' } else { e.kind }, d))
                .collect();
            if !all.is_empty() {
                assert_eq!(got, all, "chunk {chunk}");
            }
            all = got;
        }
        all
    }

    /// A PAX extended header with these records, for the next entry.
    fn pax(b: &mut tar::Builder<Vec<u8>>, records: &[(&str, &[u8])]) {
        let mut data = Vec::new();
        for (k, v) in records {
            let body = k.len() + v.len() + 3;
            let mut len = body + 1;
            while len != body + len.to_string().len() {
                len = body + len.to_string().len();
            }
            data.extend_from_slice(format!("{len} {k}=").as_bytes());
            data.extend_from_slice(v);
            data.push(b'\n');
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_path("PaxHeader/x").unwrap();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }

    fn header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(size);
        h.set_path(name).unwrap();
        h.set_cksum();
        h
    }

    // Guards the one reading against the tar crate's on what both understand: GNU long names and links,
    // ustar prefixes, PAX paths, links, folders, data of every length around a block.
    #[test]
    fn the_reading_matches_the_tar_crate_on_ordinary_archives() {
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(
            &mut header("documents/", tar::EntryType::Directory, 0),
            "documents/",
            io::empty(),
        )
        .unwrap();
        for len in [0usize, 1, 511, 512, 513, 5000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let name = format!("documents/f{len}");
            b.append_data(
                &mut header(&name, tar::EntryType::Regular, len as u64),
                &name,
                &data[..],
            )
            .unwrap();
        }
        let long = format!("documents/{}", "n".repeat(150));
        b.append_data(&mut header("x", tar::EntryType::Regular, 4), &long, &b"long"[..])
            .unwrap();
        let mut h = header("x", tar::EntryType::Symlink, 0);
        b.append_link(&mut h, "documents/l", format!("{}/t", "m".repeat(120)))
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(2);
        b.append_data(&mut h, format!("{}/{}", "p".repeat(80), "q".repeat(60)), &b"us"[..])
            .unwrap();
        pax(&mut b, &[("path", b"documents/from-pax")]);
        b.append_data(
            &mut header("documents/ignored", tar::EntryType::Regular, 3),
            "documents/ignored",
            &b"pax"[..],
        )
        .unwrap();
        let tar = b.into_inner().unwrap();
        let theirs = tar_crate(&tar);
        let ours = ours(&tar);
        let shape = |v: &[Seen]| -> Vec<(String, String, char, usize)> {
            v.iter()
                .map(|(n, l, k, d)| {
                    (
                        String::from_utf8_lossy(n).into(),
                        String::from_utf8_lossy(l).into(),
                        *k as char,
                        d.len(),
                    )
                })
                .collect()
        };
        assert_eq!(shape(&ours), shape(&theirs));
        assert_eq!(ours, theirs);
        assert!(theirs.iter().any(|e| e.0 == b"documents/from-pax"));
    }

    #[test]
    fn octal_and_base256_numbers() {
        assert_eq!(parse_number(b"00000001750\0"), Some(1000));
        assert_eq!(parse_number(b"     1750 \0\0"), Some(1000));
        assert_eq!(parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(parse_number(&[0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), None);
        assert_eq!(parse_number(b"12x\0\0\0\0\0\0\0\0\0"), None);
    }

    #[test]
    fn pax_records_are_parsed() {
        let recs = pax_records(b"20 path=documents/a\n12 size=123\n");
        assert_eq!(
            recs,
            vec![(&b"path"[..], &b"documents/a"[..]), (&b"size"[..], &b"123"[..])]
        );
    }

    #[test]
    fn link_escapes_are_refused_and_inner_links_are_not() {
        let r = |name: &str, kind: u8, link: &str| refusal(name.as_bytes(), kind, link.as_bytes());
        assert!(r("documents/a", b'2', "../pictures/b").is_none());
        assert!(r("./documents/a/b", b'2', "../../pictures/x").is_none());
        assert!(r("documents/a", b'2', "../../x").is_some());
        assert!(r("documents/a", b'2', "/etc").is_some());
        assert!(r("documents/a", b'1', "documents/b").is_none());
        assert!(r("documents/a", b'1', "../b").is_some());
        assert!(r("../x", b'0', "").is_some());
        assert!(r("/x", b'0', "").is_some());
        assert!(r("documents/fifo", b'6', "").is_some());
        assert_eq!(r("documents/a\0b", b'0', "").as_deref(), Some("a NUL byte in the name"));
    }

    /// An old GNU sparse entry: `real` bytes, data `stored` at the given segments, with `ext` segments
    /// moved to an extension block.
    fn sparse_tar(segments: &[(u64, &[u8])], real: u64, in_header: usize) -> Vec<u8> {
        let stored: Vec<u8> = segments.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        let mut h = header("documents/sparse", tar::EntryType::GNUSparse, stored.len() as u64);
        let field = |v: u64| format!("{v:011o}\0").into_bytes();
        {
            let b = h.as_mut_bytes();
            for (i, (off, d)) in segments.iter().take(in_header).enumerate() {
                let at = 386 + 24 * i;
                b[at..at + 12].copy_from_slice(&field(*off));
                b[at + 12..at + 24].copy_from_slice(&field(d.len() as u64));
            }
            b[482] = u8::from(segments.len() > in_header);
            b[483..495].copy_from_slice(&field(real));
        }
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        if segments.len() > in_header {
            let mut ext = [0u8; BLOCK];
            for (i, (off, d)) in segments.iter().skip(in_header).enumerate() {
                ext[24 * i..24 * i + 12].copy_from_slice(&field(*off));
                ext[24 * i + 12..24 * i + 24].copy_from_slice(&field(d.len() as u64));
            }
            out.extend_from_slice(&ext);
        }
        out.extend_from_slice(&stored);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK + 2 * BLOCK, 0);
        out
    }

    // Guards sparse files: the extension block is not data, the holes read as zeros, the tar crate agrees
    // (segments aligned on blocks, as GNU tar writes them).
    #[test]
    fn sparse_files_read_as_their_expanded_content() {
        let (a, b) = (vec![b'a'; 512], vec![b'b'; 512]);
        // GNU tar ends the map with an empty segment at the real size.
        let segs: &[(u64, &[u8])] = &[(0, &a), (1024, &b), (5120, b"ef"), (6000, b"")];
        for in_header in [4, 1] {
            let tar = sparse_tar(segs, 6000, in_header);
            let all = read_all(&tar, 100).unwrap();
            assert_eq!(all.len(), 1);
            let (e, data) = &all[0];
            assert_eq!((e.size, e.data_len, data.len()), (1026, 6000, 6000));
            assert_eq!(
                (&data[..512], &data[1024..1536], &data[5120..5122]),
                (&a[..], &b[..], &b"ef"[..])
            );
            assert_eq!(data.iter().filter(|&&b| b != 0).count(), 1026);
            assert_eq!(tar_crate(&tar)[0].3, *data, "in_header {in_header}");
        }
    }
}
