//! Dumps: is the inflated SQL a complete mysqldump? Counts `CREATE TABLE` and `INSERT INTO` lines and keeps
//! only the head and tail of the text.
//!
//! Guarantees: the SQL must start like a mysqldump (`-- MySQL dump`, `-- MariaDB dump`, the MariaDB sandbox
//! line followed by `-- MariaDB dump`, or Secours' own `-- Secours dump`) and its last non-blank line must be
//! `-- Dump completed…`. Lines are never buffered (a line can be many MB; contents are bytes, not UTF-8):
//! memory stays constant. Offsets in faults count *decompressed* bytes.

use super::{Fault, Scanner};

const HEAD_KEEP: usize = 8 * 1024;
const TAIL_KEEP: usize = 8 * 1024;
/// Longest line prefix we classify (`CREATE TABLE`).
const PREFIX_MAX: usize = 12;
const SANDBOX_LINE: &[u8] = b"/*M!999999\\- enable the sandbox mode */";
const DUMP_HEADERS: [&[u8]; 3] = [b"-- MySQL dump", b"-- MariaDB dump", b"-- Secours dump"];

/// Counts statement lines and keeps the head and tail of the SQL text.
#[derive(Default)]
pub(super) struct DumpScan {
    head: Vec<u8>,
    tail: Vec<u8>,
    /// The first bytes of the current line while it is being classified.
    prefix: [u8; PREFIX_MAX],
    prefix_len: usize,
    /// False once the current line was classified (we then only look for its end).
    classifying: bool,
    started: bool,
    header_checked: bool,
    pub(super) tables: u64,
    pub(super) inserts: u64,
}

impl DumpScan {
    fn classify(&mut self) {
        let p = &self.prefix[..self.prefix_len];
        if p.starts_with(b"CREATE TABLE") {
            self.tables += 1;
        } else if p.starts_with(b"INSERT INTO") {
            self.inserts += 1;
        }
        self.classifying = false;
    }

    /// Counts lines in `data` with a tiny state machine: only the first `PREFIX_MAX` bytes of a line are kept.
    fn count_lines(&mut self, data: &[u8]) {
        if !self.started {
            self.started = true;
            self.classifying = true;
        }
        let mut i = 0;
        while i < data.len() {
            if self.classifying {
                let rest = &data[i..];
                let want = (PREFIX_MAX - self.prefix_len).min(rest.len());
                match memchr::memchr(b'\n', &rest[..want]) {
                    Some(nl) => {
                        // A short line: classify what we have, start the next line.
                        self.prefix[self.prefix_len..self.prefix_len + nl].copy_from_slice(&rest[..nl]);
                        self.prefix_len += nl;
                        self.classify();
                        self.prefix_len = 0;
                        self.classifying = true;
                        i += nl + 1;
                    }
                    None => {
                        self.prefix[self.prefix_len..self.prefix_len + want].copy_from_slice(&rest[..want]);
                        self.prefix_len += want;
                        i += want;
                        if self.prefix_len == PREFIX_MAX {
                            self.classify();
                        }
                    }
                }
            } else {
                match memchr::memchr(b'\n', &data[i..]) {
                    Some(nl) => {
                        i += nl + 1;
                        self.prefix_len = 0;
                        self.classifying = true;
                    }
                    None => break,
                }
            }
        }
    }

    /// Classifies a last line that has no newline and is shorter than the longest prefix.
    fn end_lines(&mut self) {
        if self.classifying && self.prefix_len > 0 {
            self.classify();
        }
    }

    fn keep_head_and_tail(&mut self, data: &[u8]) {
        if self.head.len() < HEAD_KEEP {
            let k = (HEAD_KEEP - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..k]);
        }
        if data.len() >= TAIL_KEEP {
            self.tail.clear();
            self.tail.extend_from_slice(&data[data.len() - TAIL_KEEP..]);
        } else {
            self.tail.extend_from_slice(data);
            if self.tail.len() > 2 * TAIL_KEEP {
                let cut = self.tail.len() - TAIL_KEEP;
                self.tail.drain(..cut);
            }
        }
    }

    /// The recognised header line, when the head is a mysqldump header.
    pub(super) fn header_line(&self) -> Option<String> {
        let mut lines = self.head.split(|&b| b == b'\n').map(trim_cr);
        let mut first = lines.next()?;
        if first.starts_with(SANDBOX_LINE) {
            first = lines.next()?;
        }
        if DUMP_HEADERS.iter().any(|h| first.starts_with(h)) {
            Some(shown(first))
        } else {
            None
        }
    }

    fn check_header(&mut self) -> Result<(), Fault> {
        self.header_checked = true;
        if self.header_line().is_some() {
            return Ok(());
        }
        let first = self.head.split(|&b| b == b'\n').next().map(trim_cr).unwrap_or_default();
        Err(Fault::decompressed(
            0,
            None,
            format!(
                "not a mysqldump: the SQL starts with '{}' instead of a '-- MySQL dump' or '-- MariaDB dump' \
                 header; check that the backup job writes a mysqldump into this file",
                shown(first)
            ),
        ))
    }
}

impl Scanner for DumpScan {
    fn feed(&mut self, data: &[u8], _offset: u64) -> Result<(), Fault> {
        self.keep_head_and_tail(data);
        // The header is checked as soon as enough of it is here, so a non-dump stops early.
        if !self.header_checked && self.head.len() >= HEAD_KEEP {
            self.check_header()?;
        }
        self.count_lines(data);
        Ok(())
    }

    fn finish(&mut self, offset: u64) -> Result<(), Fault> {
        self.end_lines();
        if offset == 0 {
            return Err(Fault::decompressed(
                0,
                None,
                "the dump is empty: the gzip file holds no SQL; the backup job probably failed".into(),
            ));
        }
        if !self.header_checked {
            self.check_header()?;
        }
        let trimmed = trim_end_ws(&self.tail);
        let last = trimmed.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        if !last.starts_with(b"-- Dump completed") {
            return Err(Fault::decompressed(
                offset,
                None,
                format!(
                    "the dump is incomplete: its last line is '{}' instead of '-- Dump completed…'; \
                     mysqldump stopped before the end",
                    shown(last)
                ),
            ));
        }
        Ok(())
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_end_ws(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Bytes shown to people: lossy UTF-8, cut to a readable length.
fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(80)];
    // Control characters (a tar header's NULs, say) would garble a terminal line.
    let mut s: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if bytes.len() > cut.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(chunks: &[&[u8]]) -> (u64, u64) {
        let mut s = DumpScan::default();
        for c in chunks {
            s.count_lines(c);
        }
        s.end_lines();
        (s.tables, s.inserts)
    }

    #[test]
    fn statement_lines_are_counted_across_chunk_boundaries() {
        let text = b"-- x\nCREATE TABLE `a` (\nINSERT INTO `a` VALUES (1);\n\nINSERT INTO b\nINSERT\nCREATE TABLES\n";
        let whole = count(&[text]);
        assert_eq!(whole, (2, 2));
        // Every split point, including inside the prefixes and right at newlines.
        for cut in 0..text.len() {
            assert_eq!(count(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(count(&bytes), whole);
    }

    #[test]
    fn keywords_must_start_the_line() {
        assert_eq!(count(&[b"  INSERT INTO a\n-- CREATE TABLE x\nINSERT INTO"]), (0, 1));
    }

    #[test]
    fn header_lines_are_recognised() {
        let mut s = DumpScan {
            head: b"/*M!999999\\- enable the sandbox mode */\n-- MariaDB dump 10.19\n".to_vec(),
            ..DumpScan::default()
        };
        assert_eq!(s.header_line().as_deref(), Some("-- MariaDB dump 10.19"));
        s.head = b"-- MySQL dump 10.13  Distrib 8.0\r\n".to_vec();
        assert!(s.header_line().is_some());
        s.head = b"SELECT 1;\n".to_vec();
        assert!(s.header_line().is_none());
    }
}
