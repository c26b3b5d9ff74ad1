//! A read-ahead window over a byte stream, for the readers that parse a stream in place (the gzip member
//! reader of the verification, the tar reader): at least `n` bytes made available from `pos` without
//! copying more than the unread rest, and the stream offset of every byte kept.

use std::io::{self, Read};

/// `buf[pos..len]` is read and not yet consumed; `base` is the stream offset of `buf[0]`.
pub struct Window<R> {
    pub inner: R,
    pub buf: Box<[u8]>,
    pub pos: usize,
    pub len: usize,
    pub base: u64,
    pub eof: bool,
}

impl<R: Read> Window<R> {
    /// An empty window of `capacity` bytes over `inner`.
    pub fn new(inner: R, capacity: usize) -> Self {
        Window {
            inner,
            buf: vec![0u8; capacity].into_boxed_slice(),
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
        }
    }

    /// Makes at least `n` (≤ capacity) bytes available from `pos`, unless the stream ends first (`false`).
    pub fn need(&mut self, n: usize) -> io::Result<bool> {
        if self.len - self.pos >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.pos..self.len, 0);
        self.base += self.pos as u64;
        self.len -= self.pos;
        self.pos = 0;
        while self.len < n && !self.eof {
            match self.inner.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.len += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.len >= n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the window over a stream that trickles a few bytes per read: what is asked for is gathered,
    // the unread rest moves to the front, offsets follow, and the end is said.
    #[test]
    fn need_gathers_across_short_reads_and_keeps_offsets() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(out.len()).min(3);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let data: Vec<u8> = (0..20).collect();
        let mut w = Window::new(Trickle(&data), 8);
        assert!(w.need(8).unwrap());
        assert_eq!(&w.buf[w.pos..w.pos + 8], &data[..8]);
        w.pos += 6;
        assert!(w.need(5).unwrap());
        assert_eq!((w.base, &w.buf[w.pos..w.pos + 5]), (6, &data[6..11]));
        w.pos += 5;
        while w.need(1).unwrap() {
            w.pos = w.len;
        }
        assert!(w.eof);
        assert_eq!(w.base + w.pos as u64, 20);
    }
}
