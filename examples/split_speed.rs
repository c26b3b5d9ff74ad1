//! Measures the dump splitter's throughput: `cargo run --release --example split_speed [DUMP.gz]`.
//!
//! Without an argument, splits ~200 MB of generated extended INSERTs held in memory (splitting only, no
//! I/O or decompression), then times the containment decision on the same statements (their strings hold
//! `;`, the slow case: each INSERT is scanned for a `;` outside its strings). With a `.gz` dump, splits it
//! through `open_gz` (decompression included).

use std::time::Instant;

use secours::db::containment;
use secours::db::reader::{DumpReader, open_gz};

fn main() -> anyhow::Result<()> {
    if let Some(path) = std::env::args().nth(1) {
        let start = Instant::now();
        let mut reader = open_gz(std::path::Path::new(&path))?;
        let (mut statements, mut rows) = (0u64, 0u64);
        let mut kinds = std::collections::BTreeMap::<String, u64>::new();
        for statement in reader.by_ref() {
            let statement = statement?;
            statements += 1;
            rows += statement.rows;
            *kinds.entry(format!("{:?}", statement.kind)).or_default() += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        let mb = reader.consumed_bytes() as f64 / 1e6;
        println!("{kinds:?}");
        println!(
            "{path}: {statements} statements, {rows} rows, {mb:.1} MB uncompressed in {secs:.3} s = {:.0} MB/s",
            mb / secs
        );
        return Ok(());
    }
    let mut dump = Vec::with_capacity(210_000_000);
    let mut id = 0u64;
    while dump.len() < 200_000_000 {
        dump.extend_from_slice(b"INSERT INTO `payment` VALUES ");
        for row in 0..2000 {
            id += 1;
            if row > 0 {
                dump.push(b',');
            }
            let line = format!(
                "({id},{},{},{},4.99,'2005-05-25 11:30:37','O\\'Brien; \\\\ -- x','2006-02-15 22:12:30')",
                id % 599,
                id % 2,
                id % 16044
            );
            dump.extend_from_slice(line.as_bytes());
        }
        dump.extend_from_slice(b";\n");
    }
    let start = Instant::now();
    let (mut statements, mut rows) = (0u64, 0u64);
    for statement in DumpReader::new(&dump[..]) {
        let statement = statement?;
        statements += 1;
        rows += statement.rows;
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = dump.len() as f64 / 1e6;
    println!(
        "generated: {statements} statements, {rows} rows, {mb:.1} MB in {secs:.3} s = {:.0} MB/s",
        mb / secs
    );
    let split: Vec<_> = DumpReader::new(&dump[..]).collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut own = None;
    let ran = split
        .iter()
        .filter(|s| containment::follow(&mut own, &s.bytes, s.delimiter_is_semicolon) == containment::Decision::Run)
        .count();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "containment: {ran} of {statements} statements run, decided in {secs:.3} s = {:.0} MB/s",
        mb / secs
    );
    Ok(())
}
