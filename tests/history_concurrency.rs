#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The menu-bar app and a CLI run write the same history file at once: every row must land and no
//! "database is locked" (SQLITE_BUSY) may reach the caller. Tested with threads (one connection each) and
//! with real processes (this test binary re-run as children), since SQLite locks across processes through
//! the file system and within a process through shared state: two different paths.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use secours::store::history::{History, ObservationRecord};

const ROWS: i64 = 200;
const CHILD_DB: &str = "SECOURS_HISTORY_TEST_CHILD_DB";
const CHILD_WHO: &str = "SECOURS_HISTORY_TEST_CHILD_WHO";
const CHILD_GO: &str = "SECOURS_HISTORY_TEST_CHILD_GO";

/// Opens the history (itself racing the other writers' opens and migrations) and writes `ROWS` of every
/// kind, panicking on any error.
fn write_rows(path: &Path, who: &str) {
    let h = History::open(path).unwrap();
    for i in 0..ROWS {
        let at = Timestamp::from_second(1_700_000_000 + i).unwrap();
        let state = if i % 2 == 0 { "fresh" } else { "late" };
        assert!(
            h.record_state(who, state, at).unwrap().is_some(),
            "{who} row {i}: state change lost"
        );
        h.record_notification(&format!("{who}-{i}"), at).unwrap();
        let op = h
            .begin_operation("copy", &format!(r#"{{"who":"{who}","i":{i}}}"#), at)
            .unwrap();
        h.journal_step(op, "copy", "start", "{}", at).unwrap();
        h.finish_operation(op, "ok", "{}", at).unwrap();
        let obs = ObservationRecord {
            at,
            source: who.to_owned(),
            state: state.to_owned(),
            age_seconds: Some(i),
            db_bytes: Some(i as u64),
            media_bytes: None,
            detail: None,
        };
        assert!(
            h.record_observation(&obs).unwrap(),
            "{who} row {i}: observation not stored"
        );
    }
}

fn count(conn: &rusqlite::Connection, sql: &str, who: &str) -> i64 {
    conn.query_row(sql, [who], |r| r.get(0)).unwrap()
}

/// Every writer's rows are all there, and nothing is left unfinished.
fn check_all_rows(path: &Path, writers: &[String]) {
    let h = History::open(path).unwrap();
    assert!(h.unfinished_operations().unwrap().is_empty());
    let conn = rusqlite::Connection::open(path).unwrap();
    for who in writers {
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM state_changes WHERE source = ?1", who),
            ROWS,
            "{who}"
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM observations WHERE source = ?1", who),
            ROWS,
            "{who}"
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM notifications WHERE key LIKE ?1 || '-%'",
                who
            ),
            ROWS,
            "{who}"
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM operations WHERE outcome = 'ok' AND json_extract(details_json, '$.who') = ?1",
                who
            ),
            ROWS,
            "{who}"
        );
        assert_eq!(h.last_state(who).unwrap().unwrap().0, "late");
    }
    let steps: i64 = conn
        .query_row("SELECT COUNT(*) FROM journal_steps", [], |r| r.get(0))
        .unwrap();
    assert_eq!(steps, ROWS * writers.len() as i64);
    let events = h.recent_events(usize::MAX).unwrap();
    // Per writer: ROWS state changes, notifications and operations.
    assert_eq!(events.len() as i64, 3 * ROWS * writers.len() as i64);
}

/// Regression (CI, 2026-11-25): processes opening a new history together failed at once with "database is
/// locked ... switching to WAL mode". SQLite does not call the busy handler when a connection that already
/// reads the file (as the switch does) finds another one holding the write lock; the open must wait like any
/// other lock wait. Here another connection holds that lock on a file still in the default journal mode.
#[test]
fn opening_a_new_file_waits_for_a_writer_before_switching_to_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer
        .execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        writer.execute_batch("COMMIT").unwrap();
        writer
    });
    let started = Instant::now();
    let h = History::open(&path).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the open did not wait for the writer"
    );
    drop(release.join().unwrap());
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(h.recent_events(10).unwrap().is_empty());
}

#[test]
fn threads_with_their_own_connection_write_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history/history.sqlite");
    let writers: Vec<String> = (0..4).map(|n| format!("thread{n}")).collect();
    let barrier = Arc::new(Barrier::new(writers.len()));
    let handles: Vec<_> = writers
        .iter()
        .map(|who| {
            let (path, who, barrier) = (path.clone(), who.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                write_rows(&path, &who);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    check_all_rows(&path, &writers);
}

/// Not a test of its own: the body of the child processes started by `processes_write_at_once`. Without
/// the environment variables it does nothing.
#[test]
fn child_writer() {
    let (Ok(db), Ok(who), Ok(go)) = (
        std::env::var(CHILD_DB),
        std::env::var(CHILD_WHO),
        std::env::var(CHILD_GO),
    ) else {
        return;
    };
    // Wait for the start signal so all processes open and write together, not one after another.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Path::new(&go).exists() {
        assert!(Instant::now() < deadline, "no start signal at '{go}'");
        std::thread::sleep(Duration::from_millis(2));
    }
    write_rows(Path::new(&db), &who);
}

#[test]
fn processes_write_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let go: PathBuf = dir.path().join("go");
    let exe = std::env::current_exe().unwrap();
    let writers: Vec<String> = (0..3).map(|n| format!("process{n}")).collect();
    let children: Vec<_> = writers
        .iter()
        .map(|who| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "history_concurrency::child_writer",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_DB, &path)
                .env(CHILD_WHO, who)
                .env(CHILD_GO, &go)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, b"go").unwrap();
    for (who, child) in writers.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{who} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The child really ran the writer (and was not filtered out by a renamed test).
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{who} did not run child_writer"
        );
    }
    check_all_rows(&path, &writers);
}
