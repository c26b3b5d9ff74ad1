//! The dump reader never panics, always ends, and gives the same result however the input is chunked;
//! `to_utf8_query` never panics on what it emits.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use secours::db::reader::{DumpReader, to_utf8_query};

/// Hands out `size` bytes per read.
struct Chunked<'a> {
    data: &'a [u8],
    size: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: &[u8]| {
    let (size, data) = match input.split_first() {
        Some((&first, rest)) => (usize::from(first % 16) + 1, rest),
        None => (1, input),
    };
    let whole: Vec<_> = DumpReader::new(data).map(|r| r.map_err(|e| e.to_string())).collect();
    let chunked: Vec<_> = DumpReader::new(Chunked { data, size }).map(|r| r.map_err(|e| e.to_string())).collect();
    assert_eq!(whole, chunked);
    assert!(whole.len() <= data.len() + 1);
    for statement in whole.iter().flatten() {
        assert!(!statement.bytes.is_empty());
        let query = to_utf8_query(&statement.bytes);
        if let Ok(text) = std::str::from_utf8(&statement.bytes) {
            assert_eq!(query, text);
        }
    }
});
