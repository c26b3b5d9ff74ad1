//! SHA-256 of a stream, in 1 MiB blocks with progress and cancel: the copy's read-back and parity's code
//! manifest hash the same way.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::progress::{Cancel, Meter};

/// SHA-256 (hex) and length of everything `input` yields, read in 1 MiB blocks with progress;
/// `Ok(None)` when cancelled. Shared by the copy's read-back and parity's code manifest.
pub fn sha256_stream(input: &mut impl Read, meter: &mut Meter, cancel: &Cancel) -> io::Result<Option<(u64, String)>> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Ok(None);
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
        meter.add(n as u64);
    }
    Ok(Some((size, hex::encode(hasher.finalize()))))
}
