//! Splits the dump fixtures in `tests/fixtures/dumps/` (hand-made copies of real mariadb-dump and mysqldump
//! output) and checks the statement lists against their `.expected` files, plain and gzipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use secours::db::reader::{DumpReader, ReaderError, Statement, StatementKind, open_gz};

fn fixtures(sub: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dumps")
        .join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {sub} fixtures");
    files
}

/// One line per statement: `number line kind table rows`.
fn describe(statements: &[Statement]) -> String {
    statements
        .iter()
        .map(|s| {
            let table = s.table.as_deref().unwrap_or("-");
            format!("{} {} {:?} {} {}\n", s.number, s.line, s.kind, table, s.rows)
        })
        .collect()
}

fn split_file(path: &Path) -> Vec<Statement> {
    let bytes = std::fs::read(path).unwrap();
    DumpReader::new(&bytes[..]).collect::<Result<Vec<_>, _>>().unwrap()
}

#[test]
fn valid_dumps_give_the_expected_statements() {
    for path in fixtures("valid", "sql") {
        let got = describe(&split_file(&path));
        let expected_path = path.with_extension("expected");
        if std::env::var_os("SECOURS_BLESS").is_some() {
            std::fs::write(&expected_path, &got).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap();
        assert_eq!(got, expected, "{}", path.display());
    }
}

#[test]
fn office_dump_holds_every_object_kind() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dumps/valid/mariadb-11-office.sql");
    let statements = split_file(&path);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for s in &statements {
        *kinds.entry(format!("{:?}", s.kind)).or_default() += 1;
        assert!(!s.bytes.is_empty() && !s.bytes.starts_with(b"--") && !s.bytes.starts_with(b"DELIMITER"));
    }
    let count = |k: &str| kinds.get(k).copied().unwrap_or(0);
    assert_eq!(
        (
            count("CreateTable"),
            count("DropTable"),
            count("Insert"),
            count("CreateTrigger")
        ),
        (2, 3, 2, 1)
    );
    assert_eq!(
        (count("CreateRoutine"), count("CreateEvent"), count("CreateView")),
        (2, 1, 2)
    );
    assert_eq!(
        (count("LockTables"), count("UnlockTables"), count("AlterTable")),
        (2, 2, 4)
    );

    let trigger = statements
        .iter()
        .find(|s| s.kind == StatementKind::CreateTrigger)
        .unwrap();
    assert!(
        trigger.bytes.ends_with(b"  END IF;\nEND */"),
        "{}",
        String::from_utf8_lossy(&trigger.bytes)
    );
    assert!(trigger.bytes.windows(19).any(|w| w == b"-- refuse orphans; "));

    let blobs = statements
        .iter()
        .find(|s| s.table.as_deref() == Some("document") && s.rows > 0)
        .unwrap();
    assert_eq!(blobs.rows, 2);
    let query = blobs.to_query();
    let all: String = (0..=255u8).map(|b| format!("{b:02X}")).collect();
    assert!(query.contains(&format!("(1,1,X'{all}')")), "{query}");

    let clients = statements.iter().find(|s| s.kind == StatementKind::Insert).unwrap();
    assert_eq!((clients.table.as_deref(), clients.rows), (Some("client"), 4));
    assert!(matches!(clients.to_query(), std::borrow::Cow::Borrowed(_)));
}

#[test]
fn gz_dumps_with_several_members_read_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    for path in fixtures("valid", "sql") {
        let bytes = std::fs::read(&path).unwrap();
        let gz = dir.path().join("dump.gz");
        let mut file = std::fs::File::create(&gz).unwrap();
        // Two gzip members, as `cat a.gz b.gz` or a restarted pipe writes.
        for part in [&bytes[..bytes.len() / 3], &bytes[bytes.len() / 3..]] {
            let mut encoder = flate2::write::GzEncoder::new(&mut file, flate2::Compression::default());
            encoder.write_all(part).unwrap();
            encoder.finish().unwrap();
        }
        drop(file);
        let mut reader = open_gz(&gz).unwrap();
        let statements: Vec<Statement> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(statements, split_file(&path), "{}", path.display());
        let len = std::fs::metadata(&gz).unwrap().len();
        assert_eq!((reader.compressed_bytes(), reader.compressed_len()), (len, Some(len)));
        assert_eq!(reader.consumed_bytes(), bytes.len() as u64);
    }
}

#[test]
fn invalid_dumps_give_the_expected_error() {
    for path in fixtures("invalid", "sql") {
        let bytes = std::fs::read(&path).unwrap();
        let name = format!("the dump '{}'", path.file_name().unwrap().to_string_lossy());
        let err = DumpReader::with_name(&bytes[..], name)
            .find_map(Result::err)
            .expect("an error");
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        assert_eq!(err.to_string(), expected.trim_end(), "{}", path.display());
    }
}

#[test]
fn unreadable_gz_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.gz");
    let err = open_gz(&missing).err().unwrap();
    assert!(matches!(err, ReaderError::Open { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("cannot open the dump '{}': ", missing.display())),
        "{err}"
    );

    let plain = dir.path().join("plain.gz");
    std::fs::write(&plain, b"SELECT 1;\n").unwrap();
    let err = open_gz(&plain).unwrap().find_map(Result::err).unwrap();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read the dump '{}' near line 1: ", plain.display())),
        "{err}"
    );
    assert!(err.to_string().ends_with("restore an older backup."), "{err}");
}

// Guards containment against false alarms (issue 12, item 3): the real dumps of the fixtures (MariaDB 11,
// MySQL 8, sakila with its triggers, routines and views) stay inside their database, statement by statement.
#[test]
fn real_dumps_stay_inside_their_database() {
    use secours::db::importer::{Containment, DumpFacts};
    let mut paths = fixtures("valid", "sql");
    paths.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sakila/sakila.gz"));
    for path in paths {
        let facts = if path.extension().is_some_and(|e| e == "gz") {
            DumpFacts::of_dump(open_gz(&path).unwrap()).unwrap()
        } else {
            DumpFacts::of_dump(DumpReader::new(&std::fs::read(&path).unwrap()[..])).unwrap()
        };
        assert_eq!(facts.containment, Containment::Contained, "{}", path.display());
    }
}
