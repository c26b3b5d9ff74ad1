//! Gzip, member by member: a strict multi-member reader ([`GzMembers`]) and the source both the media
//! verification and the restore's extraction read a tar stream from ([`GzSource`]).
//!
//! Guarantees: every member is inflated to its end and its CRC32 and ISIZE trailer are checked; a file that
//! ends early, a damaged byte, or bytes after the last member are a [`GzFault::Corrupt`] whose offset counts
//! bytes of the *compressed* file, never a silent end of file. Memory: two fixed buffers.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

use super::CHUNK;
use crate::files::window::Window;

/// Why inflating stopped.
#[derive(Debug)]
pub enum GzFault {
    /// The underlying file could not be read.
    Io(io::Error),
    /// The gzip data is damaged; `offset` counts bytes of the compressed file.
    Corrupt { offset: u64, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzState {
    /// Before a member header (or at the clean end of the file).
    Start,
    Body,
    Done,
}

/// A strict multi-member gzip reader: every member's CRC32 and ISIZE are checked, a truncated file is an
/// error, and bytes after the last member are an error (not ignored as `gzip -t` does with a warning).
/// Also usable as a plain [`Read`], where faults become `InvalidData` errors.
pub struct GzMembers<R> {
    win: Window<R>,
    inflate: Decompress,
    crc: crc32fast::Hasher,
    size: u32,
    state: GzState,
    members: u64,
    member_start: u64,
}

impl<R: Read> GzMembers<R> {
    pub fn new(inner: R) -> Self {
        GzMembers {
            win: Window::new(inner, CHUNK),
            inflate: Decompress::new(false),
            crc: crc32fast::Hasher::new(),
            size: 0,
            state: GzState::Start,
            members: 0,
            member_start: 0,
        }
    }

    /// Bytes of the compressed input consumed so far.
    pub fn compressed_offset(&self) -> u64 {
        self.win.base + self.win.pos as u64
    }

    /// Complete members read so far.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Makes at least `n` (≤ buffer size) bytes available, unless the input ends first (the window's offsets
    /// are compressed offsets).
    fn need(&mut self, n: usize) -> Result<bool, GzFault> {
        self.win.need(n).map_err(GzFault::Io)
    }

    fn corrupt(&self, offset: u64, reason: impl Into<String>) -> GzFault {
        GzFault::Corrupt {
            offset,
            reason: reason.into(),
        }
    }

    fn truncated(&self) -> GzFault {
        self.corrupt(
            self.compressed_offset(),
            format!(
                "the file ends in the middle of gzip member {} (started at byte {}): it is truncated",
                self.members + 1,
                self.member_start
            ),
        )
    }

    fn next_byte(&mut self) -> Result<u8, GzFault> {
        if !self.need(1)? {
            return Err(self.truncated());
        }
        let b = self.win.buf[self.win.pos];
        self.win.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, mut n: usize) -> Result<(), GzFault> {
        while n > 0 {
            if !self.need(1)? {
                return Err(self.truncated());
            }
            let k = n.min(self.win.len - self.win.pos);
            self.win.pos += k;
            n -= k;
        }
        Ok(())
    }

    /// Reads a member header; returns false at the clean end of the input.
    fn header(&mut self) -> Result<bool, GzFault> {
        let first = self.members == 0;
        if !self.need(1)? {
            if first {
                return Err(self.corrupt(0, "the file is empty: it holds no gzip data"));
            }
            return Ok(false);
        }
        self.member_start = self.compressed_offset();
        let have_two = self.need(2)?;
        if !have_two || self.win.buf[self.win.pos] != 0x1f || self.win.buf[self.win.pos + 1] != 0x8b {
            let reason = if first {
                let shown: Vec<String> = self.win.buf[self.win.pos..self.win.len.min(self.win.pos + 4)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!(
                    "not a gzip file: it starts with bytes '{}' instead of '1f 8b'",
                    shown.join(" ")
                )
            } else {
                "unexpected data after the end of the gzip data (trailing garbage)".to_string()
            };
            return Err(self.corrupt(self.member_start, reason));
        }
        if !self.need(10)? {
            return Err(self.truncated());
        }
        let method = self.win.buf[self.win.pos + 2];
        let flags = self.win.buf[self.win.pos + 3];
        if method != 8 {
            return Err(self.corrupt(
                self.member_start + 2,
                format!("unknown gzip compression method '{method}'"),
            ));
        }
        if flags & 0xe0 != 0 {
            return Err(self.corrupt(
                self.member_start + 3,
                format!("reserved gzip header flags set ('{flags:#04x}')"),
            ));
        }
        self.win.pos += 10;
        if flags & 0x04 != 0 {
            let lo = self.next_byte()? as usize;
            let hi = self.next_byte()? as usize;
            self.skip(lo | (hi << 8))?;
        }
        for flag in [0x08u8, 0x10] {
            // File name and comment: zero-terminated.
            if flags & flag != 0 {
                while self.next_byte()? != 0 {}
            }
        }
        if flags & 0x02 != 0 {
            self.skip(2)?;
        }
        self.inflate.reset(false);
        self.crc = crc32fast::Hasher::new();
        self.size = 0;
        Ok(true)
    }

    fn trailer(&mut self) -> Result<(), GzFault> {
        if !self.need(8)? {
            return Err(self.truncated());
        }
        let at = self.compressed_offset();
        let t = &self.win.buf[self.win.pos..self.win.pos + 8];
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        self.win.pos += 8;
        let actual = std::mem::take(&mut self.crc).finalize();
        if crc != actual {
            return Err(self.corrupt(
                at,
                format!(
                    "CRC32 check failed for gzip member {} (started at byte {}): the data is damaged",
                    self.members + 1,
                    self.member_start
                ),
            ));
        }
        if isize != self.size {
            return Err(self.corrupt(
                at + 4,
                format!(
                    "length check failed for gzip member {} (started at byte {}): the data is damaged",
                    self.members + 1,
                    self.member_start
                ),
            ));
        }
        self.members += 1;
        Ok(())
    }

    /// Inflates into `out`; `Ok(0)` means the whole input ended cleanly after a sound member.
    pub fn read_chunk(&mut self, out: &mut [u8]) -> Result<usize, GzFault> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                GzState::Done => return Ok(0),
                GzState::Start => {
                    if self.header()? {
                        self.state = GzState::Body;
                    } else {
                        self.state = GzState::Done;
                    }
                }
                GzState::Body => {
                    if self.win.pos == self.win.len && !self.need(1)? {
                        return Err(self.truncated());
                    }
                    let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
                    let result =
                        self.inflate
                            .decompress(&self.win.buf[self.win.pos..self.win.len], out, FlushDecompress::None);
                    let consumed = (self.inflate.total_in() - in_before) as usize;
                    let produced = (self.inflate.total_out() - out_before) as usize;
                    let at = self.compressed_offset();
                    self.win.pos += consumed;
                    let status = result.map_err(|e| {
                        let detail = e.message().unwrap_or("undecodable deflate data");
                        self.corrupt(at, format!("invalid compressed data ({detail}): the file is damaged"))
                    })?;
                    self.crc.update(&out[..produced]);
                    self.size = self.size.wrapping_add(produced as u32);
                    if status == Status::StreamEnd {
                        self.trailer()?;
                        self.state = GzState::Start;
                    } else if consumed == 0 && produced == 0 && self.win.pos < self.win.len {
                        return Err(self.corrupt(at, "the compressed data cannot be decoded: the file is damaged"));
                    }
                    if produced > 0 {
                        return Ok(produced);
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for GzMembers<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.read_chunk(out) {
            Ok(n) => Ok(n),
            Err(GzFault::Io(e)) => Err(e),
            Err(GzFault::Corrupt { offset, reason }) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{reason} (compressed byte {offset})"),
            )),
        }
    }
}

/// A gzip file read as a tar stream by [`crate::files::archive::Reader`], keeping what a caller needs once
/// the reading stopped: the compressed and decompressed offsets, and the [`GzFault`] behind a failed read
/// (the tar reader only passes on an opaque `io::Error`).
pub struct GzSource<R> {
    gz: GzMembers<R>,
    decompressed: u64,
    fault: Option<GzFault>,
}

impl<R: Read> GzSource<R> {
    pub fn new(inner: R) -> Self {
        GzSource {
            gz: GzMembers::new(inner),
            decompressed: 0,
            fault: None,
        }
    }

    /// Bytes of the compressed file consumed so far.
    pub fn compressed_offset(&self) -> u64 {
        self.gz.compressed_offset()
    }

    /// Bytes inflated so far.
    pub fn decompressed(&self) -> u64 {
        self.decompressed
    }

    /// Complete gzip members read so far.
    pub fn members(&self) -> u64 {
        self.gz.members()
    }

    /// Why the last read failed, once.
    pub fn take_fault(&mut self) -> Option<GzFault> {
        self.fault.take()
    }
}

impl<R: Read> Read for GzSource<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        match self.gz.read_chunk(out) {
            Ok(n) => {
                self.decompressed += n as u64;
                Ok(n)
            }
            Err(fault) => {
                let message = match &fault {
                    GzFault::Io(e) => e.to_string(),
                    GzFault::Corrupt { reason, .. } => reason.clone(),
                };
                self.fault = Some(fault);
                Err(io::Error::new(io::ErrorKind::InvalidData, message))
            }
        }
    }
}
