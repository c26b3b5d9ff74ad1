//! A gzip file writer whose compression runs on its own thread: the dumper fetches and escapes rows
//! while the previous megabyte is being compressed, instead of doing both in turn.
//!
//! Guarantees: bytes are compressed in the order written; memory is bounded (a few chunks in flight);
//! an error of the compression thread (disk full) is returned by the next `write` or by [`GzPipe::finish`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Bytes handed to the compression thread at a time.
const CHUNK: usize = 1 << 20;
/// Chunks waiting for the compression thread at most.
const QUEUE: usize = 4;

/// Writes gzip to a file, compressing on another thread.
pub struct GzPipe {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    handle: Option<JoinHandle<io::Result<File>>>,
}

impl GzPipe {
    pub fn new(file: File, level: Compression) -> GzPipe {
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let handle = std::thread::spawn(move || -> io::Result<File> {
            let mut gz = GzEncoder::new(BufWriter::with_capacity(1 << 16, file), level);
            for chunk in rx {
                gz.write_all(&chunk)?;
            }
            gz.finish()?.into_inner().map_err(|e| e.into_error())
        });
        GzPipe {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let sent = self.tx.as_ref().map(|tx| tx.send(chunk).is_ok()).unwrap_or(false);
        if sent { Ok(()) } else { Err(self.stopped()) }
    }

    /// The compression thread's error, once it has stopped.
    fn stopped(&mut self) -> io::Error {
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("the compression thread stopped"),
        }
    }

    /// Compresses what is left, ends the gzip stream and returns the file (not yet synced).
    pub fn finish(mut self) -> io::Result<File> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(io::Error::other("the compression thread stopped")),
        }
    }
}

impl Write for GzPipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    // Guards order and completeness across chunk boundaries: what is read back equals what was written.
    #[test]
    fn round_trip_over_many_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        let mut pipe = GzPipe::new(File::create(&path).unwrap(), Compression::fast());
        let mut expected = Vec::new();
        for i in 0..300_000u32 {
            let line = format!("INSERT INTO t VALUES ({i},'{}');\n", i.wrapping_mul(2_654_435_761));
            pipe.write_all(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        pipe.finish().unwrap();
        let mut got = Vec::new();
        flate2::read::GzDecoder::new(File::open(&path).unwrap())
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, expected);
    }
}
