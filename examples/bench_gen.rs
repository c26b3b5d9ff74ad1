//! Benchmark data generator (not a test): writes a deterministic `app.gz` (a mysqldump-like SQL file) and
//! `media.taz` (tar.gz of `documents/` and `pictures/`, a mix of compressible and incompressible files).
//!
//! Usage: `bench_gen OUT_DIR [MEDIA_FILES] [MEDIA_MB] [DUMP_MB]` (defaults: 5000 files, ~1000 MB, ~200 MB,
//! sizes of the compressed files). The same arguments always give the same bytes.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

/// xorshift64*: fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "facture",
    "client",
    "commande",
    "livraison",
    "adresse",
    "paiement",
    "montant",
    "total",
    "date",
    "remise",
    "produit",
    "article",
    "quantite",
    "prix",
    "unitaire",
    "taxe",
    "TVA",
    "Paris",
    "Lyon",
    "Marseille",
    "rue",
    "avenue",
    "boulevard",
    "numero",
    "telephone",
    "courriel",
    "contact",
    "societe",
    "SARL",
    "SAS",
    "devis",
    "contrat",
    "signature",
    "rendez-vous",
    "dossier",
    "document",
    "piece",
    "jointe",
    "scan",
    "original",
    "copie",
    "archive",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "et",
    "ou",
    "le",
    "la",
    "les",
    "des",
    "du",
    "de",
    "un",
    "une",
    "pour",
    "avec",
    "sans",
    "sur",
    "sous",
    "dans",
    "par",
];

/// Endless text-like (compressible) or random (incompressible) bytes, `len` of them.
struct Content {
    rng: Rng,
    left: u64,
    text: bool,
    pending: Vec<u8>,
}

impl Read for Content {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = (out.len() as u64).min(self.left) as usize;
        if self.text {
            while self.pending.len() < want {
                let w = WORDS[self.rng.below(WORDS.len() as u64) as usize];
                self.pending.extend_from_slice(w.as_bytes());
                let r = self.rng.below(16);
                self.pending.extend_from_slice(match r {
                    0 => b".\n",
                    1 => b", ",
                    2 => b" 2024 ",
                    _ => b" ",
                });
            }
            out[..want].copy_from_slice(&self.pending[..want]);
            self.pending.drain(..want);
        } else {
            for chunk in out[..want].chunks_mut(8) {
                let v = self.rng.next().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
        self.left -= want as u64;
        Ok(want)
    }
}

/// Counts bytes written through it (the compressed size).
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(b)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn media(path: &Path, files: u64, target_mb: u64) -> io::Result<()> {
    let out = Counting {
        inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
        n: 0,
    };
    let mut tar = tar::Builder::new(GzEncoder::new(out, Compression::default()));
    let mut rng = Rng(0x5eed_0001);
    // 60 % pictures (incompressible), 40 % documents (text, ~4:1): sizes chosen so the archive is ~target.
    let mean = target_mb * 1_000_000 / files;
    let pic_mean = mean * 13 / 10;
    let doc_mean = mean * 2;
    let mut dirs = std::collections::BTreeSet::new();
    for i in 0..files {
        let picture = i % 5 < 3;
        let (dir, name, mean) = if picture {
            (format!("pictures/{:03}", i / 100), format!("IMG_{i:05}.jpg"), pic_mean)
        } else {
            (
                format!("documents/{}/{:02}", 2015 + i % 10, 1 + i % 12),
                format!("doc_{i:05}.txt"),
                doc_mean,
            )
        };
        for d in [
            dir.split('/').next().unwrap_or("x").to_string(),
            dir.rsplit_once('/').map(|p| p.0.to_string()).unwrap_or_default(),
            dir.clone(),
        ] {
            if !d.is_empty() && dirs.insert(d.clone()) {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                h.set_mtime(1_700_000_000);
                tar.append_data(&mut h, &d, io::empty())?;
            }
        }
        let len = mean / 2 + rng.below(mean);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(len);
        h.set_mtime(1_700_000_000 + i);
        let content = Content {
            rng: Rng(rng.next() | 1),
            left: len,
            text: !picture,
            pending: Vec::new(),
        };
        tar.append_data(&mut h, format!("{dir}/{name}"), content)?;
    }
    let gz = tar.into_inner()?;
    let mut out = gz.finish()?;
    out.flush()?;
    eprintln!("media.taz: {} files, {} bytes", files, out.n);
    Ok(())
}

fn dump(path: &Path, target_mb: u64) -> io::Result<()> {
    let counting = Counting {
        inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
        n: 0,
    };
    let mut gz = GzEncoder::new(counting, Compression::default());
    let mut rng = Rng(0x5eed_0002);
    let target = target_mb * 1_000_000;
    let tables = 24u64;
    gz.write_all(b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n--\n-- Host: localhost    Database: app\n-- ------------------------------------------------------\n\n/*!40101 SET NAMES utf8mb4 */;\n")?;
    let mut line = Vec::with_capacity(2 << 20);
    let mut inserts = 0u64;
    for t in 0..tables {
        writeln!(
            gz,
            "\nDROP TABLE IF EXISTS `t{t}`;\nCREATE TABLE `t{t}` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `label` varchar(255) DEFAULT NULL,\n  `amount` decimal(10,2) DEFAULT NULL,\n  `created` datetime DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\nLOCK TABLES `t{t}` WRITE;"
        )?;
        let mut id = 0u64;
        while gz.get_ref().n < target * (t + 1) / tables {
            line.clear();
            write!(line, "INSERT INTO `t{t}` VALUES ")?;
            while line.len() < 1_000_000 {
                id += 1;
                let a = WORDS[rng.below(WORDS.len() as u64) as usize];
                let b = WORDS[rng.below(WORDS.len() as u64) as usize];
                write!(
                    line,
                    "({id},'{a} {b} n\\'{}',{}.{:02},'2024-{:02}-{:02} {:02}:{:02}:00'),",
                    rng.below(100_000),
                    rng.below(100_000),
                    rng.below(100),
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60)
                )?;
            }
            line.pop();
            line.extend_from_slice(b";\n");
            gz.write_all(&line)?;
            inserts += 1;
        }
        writeln!(gz, "UNLOCK TABLES;")?;
    }
    gz.write_all(b"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n\n-- Dump completed on 2024-03-05  7:00:01\n")?;
    let mut out = gz.finish()?;
    out.flush()?;
    eprintln!("app.gz: {tables} tables, {inserts} inserts, {} bytes", out.n);
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map(String::as_str).unwrap_or("/tmp/secours-bench"));
    let num = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    std::fs::create_dir_all(dir)?;
    std::thread::scope(|s| {
        let m = s.spawn(|| media(&dir.join("media.taz"), num(2, 5000), num(3, 1000)));
        let d = dump(&dir.join("app.gz"), num(4, 200));
        m.join().map_err(|_| io::Error::other("media generator panicked"))??;
        d
    })
}
