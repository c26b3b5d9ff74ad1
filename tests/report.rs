//! The history report (`secours report`, the menu's "History…"): a year of hourly history renders in under
//! a second, and the page is well-formed XHTML with its SVG drawings and the events listed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;
use secours::env::config::{Config, EnvironmentConfig};
use secours::i18n::Lang;
use secours::store::history::{FileKey, History, ObservationRecord, PairShapeRecord};

const HOUR: i64 = 3600;

fn config(root: &Path) -> Config {
    let mut c = Config::default();
    c.environments
        .insert("prod".to_owned(), EnvironmentConfig::at(root.join("prod"), None));
    c.time_machine.enabled = false;
    c
}

fn key(path: &Path, at: i64) -> FileKey {
    FileKey {
        path: path.to_owned(),
        size: 48_000_000 + (at % 1000) as u64,
        mtime_ns: at * 1_000_000_000,
        inode: at as u64,
    }
}

/// Fills `h` with `days` days of hourly history ending at `now`, as the app writes it: an observation and a
/// verified pair each hour, a safe copy each hour, Time Machine each hour; a night without backups (late,
/// then stale), a damaged dump, a suspect pair later accepted, two rehearsals and a few notifications.
fn hourly_history(h: &History, folder: &Path, days: i64, now: i64) {
    let start = now - days * 24 * HOUR;
    let gap = (start + 20 * 24 * HOUR, start + 20 * 24 * HOUR + 10 * HOUR);
    let suspect_at = start + 25 * 24 * HOUR + 5 * HOUR;
    let ts = |s: i64| Timestamp::from_second(s).unwrap();
    h.record_state("prod", "fresh", ts(start)).unwrap();
    let mut hour = start;
    while hour < now {
        let pair = hour + 60;
        if (gap.0..gap.1).contains(&hour) {
            let age = hour - gap.0 + 3600;
            let state = if age > 3 * HOUR { "stale" } else { "late" };
            h.record_state("prod", state, ts(hour)).unwrap();
            h.record_observation(&ObservationRecord {
                at: ts(hour + 300),
                source: "prod".into(),
                state: state.into(),
                age_seconds: Some(age),
                db_bytes: Some(48_000_000),
                media_bytes: Some(1_200_000_000),
                detail: None,
            })
            .unwrap();
            hour += HOUR;
            continue;
        }
        if hour == gap.1 {
            h.record_state("prod", "fresh", ts(hour + 300)).unwrap();
        }
        let grow = ((hour - start) / HOUR) as u64;
        h.record_observation(&ObservationRecord {
            at: ts(hour + 300),
            source: "prod".into(),
            state: "fresh".into(),
            age_seconds: Some(240),
            db_bytes: Some(48_000_000 + grow * 1000),
            media_bytes: Some(1_200_000_000 + grow * 50_000),
            detail: None,
        })
        .unwrap();
        let db = key(&folder.join("gestion.gz"), pair);
        let media = key(&folder.join("media.taz"), pair);
        if hour == start + 12 * 24 * HOUR {
            h.record_verification(
                &db,
                secours::store::history::VerdictKind::Corrupt,
                r#"{"reason":"CRC32 check failed"}"#,
                ts(hour + 400),
            )
            .unwrap();
        } else {
            let status = if hour == suspect_at { "suspect" } else { "reference" };
            let findings = if status == "suspect" {
                r#"{"since":null,"findings":[{"kind":"table-emptied","before":812,"now":0,"table":"facture"}]}"#
            } else {
                r#"{"since":null,"findings":[]}"#
            };
            let stored = h
                .record_pair_shape(&PairShapeRecord {
                    id: 0,
                    series: folder.to_owned(),
                    pair_at: ts(pair),
                    db,
                    media,
                    shape_json: r#"{"db_bytes":100000000,"tables":{"facture":812,"client":40}}"#.into(),
                    status: status.into(),
                    findings_json: findings.into(),
                    judged_at: ts(hour + 400),
                    accepted_at: None,
                    accepted_by: None,
                })
                .unwrap();
            if status == "suspect" {
                h.record_state("prod", "suspect", ts(hour + 400)).unwrap();
                h.accept_pair_shape(stored.id, "zoe (menu)", ts(hour + 2 * HOUR))
                    .unwrap();
                let details = r#"{"source":"prod","by":"zoe (menu)","findings":[{"kind":"table-emptied","before":812,"now":0,"table":"facture"}]}"#;
                let op = h
                    .begin_operation("accept-change", details, ts(hour + 2 * HOUR))
                    .unwrap();
                h.finish_operation(op, "ok", details, ts(hour + 2 * HOUR)).unwrap();
                h.record_state("prod", "fresh", ts(hour + 2 * HOUR)).unwrap();
                h.record_notification("Sauvegarde prod : suspecte", ts(hour + 400))
                    .unwrap();
            }
        }
        let copy = h.begin_operation("copy", "{}", ts(hour + 500)).unwrap();
        let outcome = if hour == start + 40 * 24 * HOUR { "failed" } else { "ok" };
        h.finish_operation(copy, outcome, "[]", ts(hour + 520)).unwrap();
        h.record_time_machine_backup(ts(hour + 900), ts(hour + 1000)).unwrap();
        hour += HOUR;
    }
    for at in [start + 30 * 24 * HOUR, now - 5 * 24 * HOUR] {
        let op = h.begin_operation("restore", "{}", ts(at)).unwrap();
        h.finish_operation(op, "ok", "{}", ts(at + 600)).unwrap();
    }
}

/// Checks that `html` is well-formed XML; returns the names of its elements and its text.
fn parse(html: &str) -> (Vec<String>, String) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut names = Vec::new();
    let mut text = String::new();
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(Event::Empty(e)) => names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned()),
            Ok(Event::End(_)) => {
                depth -= 1;
                text.push('\n');
            }
            Ok(Event::Text(t)) => text.push_str(&t.decode().unwrap()),
            Ok(Event::GeneralRef(r)) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                text.push_str(match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "#39" => "'",
                    other => panic!("unexpected entity '&{other};' in the report"),
                });
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "the report is not well-formed at byte {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "every element is closed");
    (names, text)
}

fn fixture(days: i64) -> (tempfile::TempDir, Config, PathBuf, History, Timestamp) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let folder = tmp.path().join("prod/runtime/backup");
    let path = tmp.path().join("history.sqlite");
    let h = History::open(&path).unwrap();
    let now = Timestamp::now();
    hourly_history(&h, &folder, days, now.as_second());
    (tmp, cfg, folder, h, now)
}

// Guards the issue's budget: "It opens in under a second for a year of hourly history" — built in under a
// second, and small enough for a browser to open at once.
#[test]
fn a_year_of_hourly_history_renders_in_under_a_second() {
    let (_tmp, cfg, _folder, h, now) = fixture(365);
    let started = Instant::now();
    let html = secours::report::build(&cfg, &h, Lang::Fr, 365, now).unwrap();
    let took = started.elapsed();
    eprintln!(
        "a year of hourly history: built in {} ms, {} KB",
        took.as_millis(),
        html.len() / 1000
    );
    assert!(took.as_secs_f64() < 1.0, "built in {took:?}");
    // To look at it: SECOURS_REPORT_SAMPLE=/tmp/year.html cargo test --test report.
    if let Some(path) = std::env::var_os("SECOURS_REPORT_SAMPLE") {
        std::fs::write(&path, &html).unwrap();
        let month = secours::report::build(&cfg, &h, Lang::En, 30, now).unwrap();
        std::fs::write(PathBuf::from(path).with_extension("30.html"), month).unwrap();
    }
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    let started = Instant::now();
    parse(&html);
    assert!(started.elapsed().as_secs_f64() < 1.0);
}

// Guards the page's content: well-formed, a time line and two size charts per source, the marks coloured by
// what is known of each pair, the events in the user's language, newest first.
#[test]
fn the_report_is_well_formed_with_its_drawings_and_events() {
    let (_tmp, cfg, folder, h, now) = fixture(45);
    let html = secours::report::build(&cfg, &h, Lang::Fr, 30, now).unwrap();
    let (names, text) = parse(&html);
    let svgs = names.iter().filter(|n| *n == "svg").count();
    assert_eq!(svgs, 3, "a time line and two charts for 'prod'");
    assert!(names.iter().filter(|n| *n == "rect").count() > 500);
    assert!(names.iter().any(|n| n == "polyline"));
    assert!(text.contains("Sauvegardes de « prod »"), "{text}");
    for row in [
        "Sauvegardes",
        "Time Machine",
        "Copies de sûreté",
        "Restaurations",
        "Événements",
    ] {
        assert!(text.contains(row), "{row}");
    }
    // The events: state changes, the acceptance with who and what, restores, copies, notifications.
    assert!(text.contains("prod : à jour → suspecte"), "{text}");
    assert!(
        text.contains("Changement accepté : réussie (prod, par zoe (menu)) — La table `facture` est vide"),
        "{text}"
    );
    assert!(text.contains("Restauration : réussie"));
    assert!(text.contains("Notification envoyée : Sauvegarde prod : suspecte"));
    // Newest first.
    let first = html.find("<tbody>").unwrap();
    let rows: Vec<&str> = html[first..].split("<tr").skip(1).take(2).collect();
    assert!(
        rows[0].contains("Copie de sûreté") || rows[0].contains("Restauration"),
        "{}",
        rows[0]
    );
    // What each mark says, for the period shown (the damaged dump is older than 30 days).
    let input = secours::report::Input {
        sources: vec![("prod".into(), folder.clone())],
        period: h
            .period(Timestamp::from_second(now.as_second() - 30 * 86_400).unwrap())
            .unwrap(),
        events: Vec::new(),
        more_events: false,
        from: Timestamp::from_second(now.as_second() - 30 * 86_400).unwrap(),
        now,
        days: 30,
        show_time_machine: false,
    };
    let counts = secours::report::mark_counts(&input, "prod", &folder);
    assert_eq!(counts.get("accepted"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("bad"), None, "{counts:?}");
    assert!(counts.get("ok").copied().unwrap_or(0) > 600, "{counts:?}");

    // In English, the same page speaks English.
    let en = secours::report::build(&cfg, &h, Lang::En, 30, now).unwrap();
    let (_, text) = parse(&en);
    assert!(text.contains("prod: up to date → suspect"), "{text}");
    assert!(text.contains("Backups of 'prod'"));
}

// Guards: a damaged dump is drawn as such, and an empty history still makes a valid page.
#[test]
fn a_damaged_pair_is_marked_and_an_empty_history_is_a_page() {
    let (_tmp, cfg, folder, h, now) = fixture(45);
    let from = Timestamp::from_second(now.as_second() - 45 * 86_400).unwrap();
    let input = secours::report::Input {
        sources: vec![("prod".into(), folder.clone())],
        period: h.period(from).unwrap(),
        events: Vec::new(),
        more_events: false,
        from,
        now,
        days: 45,
        show_time_machine: false,
    };
    assert_eq!(
        secours::report::mark_counts(&input, "prod", &folder).get("bad"),
        Some(&1)
    );

    let tmp = tempfile::tempdir().unwrap();
    let empty = History::open(&tmp.path().join("h.sqlite")).unwrap();
    let html = secours::report::build(&cfg, &empty, Lang::En, 30, now).unwrap();
    let (names, text) = parse(&html);
    assert!(names.iter().any(|n| n == "svg"));
    assert!(text.contains("No data for this period yet."), "{text}");
}
