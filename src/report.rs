//! The history report (`secours report`, the menu's "History…"): one self-contained HTML page that shows
//! the last N days at a glance, per watched source — a time line with each hourly pair as a mark coloured
//! by what Secours knows of it (seen, verified, suspect, accepted, damaged), the source's state behind it
//! (gaps and late periods show as such), Time Machine's backups, the safe copies and the restores on the
//! same time axis; the database and media sizes over time; and the table of events, newest first, in the
//! user's language.
//!
//! Guarantees:
//! - Self-contained: inline CSS and SVG drawn here, no script, no network, nothing to install. The page is
//!   well-formed XML (XHTML served as HTML), so a test parses it.
//! - Read only: built from history alone ([`History::period`], [`History::recent_events`]); no backup
//!   file is read.
//! - Bounded: marks are gathered per pixel column (at most [`WIDTH`] per row) and size charts keep the
//!   lowest and highest value of each column, so a year of hourly history makes a page of a few hundred KB
//!   that is built in well under a second. The event table lists at most [`MAX_EVENTS`] events.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::backup::freshness::State;
use crate::env::config::Config;
use crate::i18n::{Lang, ReportTexts, Texts, fill};
use crate::store::history::{History, HistoryError, HistoryEvent, Period};

/// The days shown when not asked otherwise.
pub const DEFAULT_DAYS: u32 = 30;
/// The report's file name in the data folder (the menu's "History…").
pub const FILE_NAME: &str = "history.html";
/// The most events listed in the table.
pub const MAX_EVENTS: usize = 2000;
/// Width of the time axis, in pixels.
pub const WIDTH: usize = 900;
/// Left margin of the time lines (row names).
const LEFT: f64 = 140.0;
const ROW: f64 = 24.0;

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(
        "cannot write the report '{}': {source}. Check that its folder exists and that Secours may write there, \
         or choose another file with -o.",
        path.display()
    )]
    Write { path: PathBuf, source: std::io::Error },
}

/// Writes the report of the last `days` days to `out` (through a temporary file: a browser never opens
/// half a page).
pub fn write(
    config: &Config,
    history: &Path,
    lang: Lang,
    out: &Path,
    days: u32,
    now: Timestamp,
) -> Result<(), ReportError> {
    let history = History::open(history)?;
    let html = build(config, &history, lang, days, now)?;
    let write_err = |source| ReportError::Write {
        path: out.to_owned(),
        source,
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html.as_bytes()).map_err(write_err)?;
    std::fs::rename(&tmp, out).map_err(write_err)
}

/// The report's HTML.
pub fn build(
    config: &Config,
    history: &History,
    lang: Lang,
    days: u32,
    now: Timestamp,
) -> Result<String, HistoryError> {
    let days = days.max(1);
    let from = Timestamp::from_second(now.as_second() - i64::from(days) * 86_400).unwrap_or(Timestamp::UNIX_EPOCH);
    let period = history.period(from)?;
    let mut events = history.recent_events(MAX_EVENTS + 1)?;
    let more = events.get(MAX_EVENTS).is_some_and(|e| e.at >= from);
    events.truncate(MAX_EVENTS);
    events.retain(|e| e.at >= from);
    let sources = crate::backup::sources::sources(config)
        .into_iter()
        .map(|s| (s.name, s.folder))
        .collect();
    let input = Input {
        sources,
        period,
        events,
        more_events: more,
        from,
        now,
        days,
        show_time_machine: config.time_machine.enabled && cfg!(target_os = "macos"),
    };
    Ok(render(&input, lang))
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Input {
    /// Watched sources: name and folder.
    pub sources: Vec<(String, PathBuf)>,
    pub period: Period,
    /// Newest first.
    pub events: Vec<HistoryEvent>,
    /// More events happened than are listed.
    pub more_events: bool,
    pub from: Timestamp,
    pub now: Timestamp,
    pub days: u32,
    /// Show the Time Machine row even without any backup seen.
    pub show_time_machine: bool,
}

/// What is known of a pair, in order of how much it deserves to be seen (a column shows the worst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Seen,
    Verified,
    Accepted,
    Suspect,
    Failed,
}

impl Mark {
    fn class(self) -> &'static str {
        match self {
            Mark::Seen => "seen",
            Mark::Verified => "ok",
            Mark::Accepted => "accepted",
            Mark::Suspect => "suspect",
            Mark::Failed => "bad",
        }
    }

    fn colour(self) -> &'static str {
        colour(self.class())
    }

    fn word(self, r: &ReportTexts) -> &'static str {
        match self {
            Mark::Seen => r.legend_seen,
            Mark::Verified => r.legend_verified,
            Mark::Accepted => r.legend_accepted,
            Mark::Suspect => r.legend_suspect,
            Mark::Failed => r.legend_corrupt,
        }
    }
}

/// The colour of a class, written on SVG elements themselves (any SVG viewer shows them, styled or not).
fn colour(class: &str) -> &'static str {
    match class {
        "ok" => "#2e7d32",
        "seen" => "#9bc49d",
        "accepted" => "#1565c0",
        "suspect" => "#8e24aa",
        "bad" => "#c62828",
        "tm" => "#455a64",
        "restore" => "#1565c0",
        "band-fresh" | "band-writing" => "#eef7ee",
        "band-late" => "#fff1d6",
        "band-suspect" => "#f3e5f5",
        "band-stale" | "band-missing" | "band-corrupt" => "#fde2e2",
        "grid" => "#e3e3e3",
        "line-db" => "#1565c0",
        "line-media" => "#ef6c00",
        _ => "#eeeeee",
    }
}

/// The time axis.
struct Axis {
    from: i64,
    span: f64,
    tz: TimeZone,
}

impl Axis {
    fn new(from: Timestamp, now: Timestamp) -> Axis {
        Axis {
            from: from.as_second(),
            span: ((now.as_second() - from.as_second()).max(1)) as f64,
            tz: TimeZone::system(),
        }
    }

    /// The pixel column of a time, `None` outside the period.
    fn column(&self, at: i64) -> Option<usize> {
        let f = (at - self.from) as f64 / self.span;
        if !(0.0..=1.0).contains(&f) {
            return None;
        }
        Some(((f * WIDTH as f64) as usize).min(WIDTH - 1))
    }

    fn x(&self, at: i64) -> f64 {
        LEFT + ((at - self.from) as f64 / self.span).clamp(0.0, 1.0) * WIDTH as f64
    }

    fn local(&self, at: i64, format: &str) -> String {
        Timestamp::from_second(at)
            .map(|t| t.to_zoned(self.tz.clone()).strftime(format).to_string())
            .unwrap_or_default()
    }
}

/// Escapes text for XML (and HTML).
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font: 14px/1.45 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; margin: 24px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.meta { color: #666; margin: 0 0 12px; }
svg { display: block; margin: 6px 0 10px; }
.legend { margin: 4px 0 12px; color: #444; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f6f6f6; }
td.when { white-space: nowrap; color: #555; }
tr.state-bad td { background: #fff4f4; }
p.none { color: #666; font-style: italic; }
";

/// The whole page.
pub fn render(input: &Input, lang: Lang) -> String {
    let r = lang.report();
    let t = lang.t();
    let axis = Axis::new(input.from, input.now);
    let mut out = String::with_capacity(256 * 1024);
    let code = match lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{code}\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"meta\">{}</p>\n",
        esc(r.title),
        esc(r.title),
        esc(&fill(
            r.generated,
            &[
                ("time", &axis.local(input.now.as_second(), r.date_format)),
                ("days", &input.days.to_string())
            ]
        ))
    );
    legend(&mut out, r, t);
    if input.sources.is_empty() {
        let _ = writeln!(out, "<p class=\"none\">{}</p>", esc(t.menu_nothing_watched));
    }
    for (name, folder) in &input.sources {
        let _ = writeln!(
            out,
            "<h2>{}</h2>",
            esc(&fill(
                r.source,
                &[("name", name), ("folder", &folder.display().to_string())]
            ))
        );
        timeline(&mut out, input, &axis, name, folder, lang);
        sizes(&mut out, input, &axis, name, lang);
    }
    events(&mut out, input, &axis, lang);
    out.push_str("</body>\n</html>\n");
    out
}

fn legend(out: &mut String, r: &ReportTexts, t: &Texts) {
    out.push_str("<p class=\"legend\">");
    for (class, word) in [
        ("ok", r.legend_verified),
        ("seen", r.legend_seen),
        ("suspect", r.legend_suspect),
        ("accepted", r.legend_accepted),
        ("bad", r.legend_corrupt),
        ("band-late", r.legend_late),
        ("band-stale", r.legend_stale),
        ("tm", r.row_time_machine),
    ] {
        let _ = write!(
            out,
            "<span><i style=\"background: {}\"></i>{}</span>",
            colour(class),
            esc(word)
        );
    }
    let _ = write!(
        out,
        "<span><i style=\"background: {}\"></i>{}</span>",
        colour("band-fresh"),
        esc(t.state_fresh)
    );
    out.push_str("</p>\n");
}

/// The pair marks of one source, per column.
fn pair_marks(input: &Input, axis: &Axis, name: &str, folder: &Path) -> Vec<Option<(Mark, i64)>> {
    let mut cols: Vec<Option<(Mark, i64)>> = vec![None; WIDTH];
    let mut put = |at: i64, mark: Mark| {
        if let Some(c) = axis.column(at)
            && cols[c].is_none_or(|(m, _)| mark > m)
        {
            cols[c] = Some((mark, at));
        }
    };
    let p = &input.period;
    for o in p.observations.iter().filter(|o| o.source == name) {
        // A pair is seen when its files are: its time is the observation's time less its age.
        if let (Some(age), Some(_), Some(_)) = (o.age_seconds, o.db_bytes, o.media_bytes) {
            put(o.at.as_second() - age, Mark::Seen);
        }
    }
    for s in p.shapes.iter().filter(|s| s.series == folder) {
        let mark = match s.status.as_str() {
            "suspect" => Mark::Suspect,
            "accepted" => Mark::Accepted,
            _ => Mark::Verified,
        };
        put(s.pair_at.as_second(), mark);
    }
    for (key, _) in p.bad_files.iter().filter(|(k, _)| k.path.starts_with(folder)) {
        put(key.mtime_ns.div_euclid(1_000_000_000), Mark::Failed);
    }
    cols
}

/// The state bands of one source: (from, to, state word).
fn bands(input: &Input, name: &str) -> Vec<(i64, i64, String)> {
    let changes: Vec<_> = input.period.state_changes.iter().filter(|c| c.source == name).collect();
    let end = input.now.as_second();
    let mut out = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let start = c.at.as_second().max(input.from.as_second());
        let stop = changes.get(i + 1).map_or(end, |n| n.at.as_second());
        if stop > start {
            out.push((start, stop, c.state.clone()));
        }
    }
    out
}

fn timeline(out: &mut String, input: &Input, axis: &Axis, name: &str, folder: &Path, lang: Lang) {
    let r = lang.report();
    let t = lang.t();
    let p = &input.period;
    let hour_px = WIDTH as f64 * 3600.0 / axis.span;
    let mark_w = (hour_px * 0.6).clamp(1.0, 8.0);
    let show_tm = input.show_time_machine || !p.time_machine.is_empty();
    let rows: Vec<&str> = [
        Some(r.row_backups),
        show_tm.then_some(r.row_time_machine),
        Some(r.row_copies),
        Some(r.row_restores),
    ]
    .into_iter()
    .flatten()
    .collect();
    let top = 18.0;
    let height = top + ROW * rows.len() as f64 + 6.0;
    let width = LEFT + WIDTH as f64 + 10.0;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\" fill=\"#444444\">"
    );
    // Days: a line at each local midnight, a date every few days.
    let every = (input.days / 10).max(1);
    let tz = axis.tz.clone();
    if let Ok(start) = input.from.to_zoned(tz.clone()).start_of_day() {
        let mut day = start;
        let mut n = 0u32;
        while day.timestamp() <= input.now {
            let at = day.timestamp().as_second();
            if at >= input.from.as_second() {
                let x = axis.x(at);
                // Every day when there is room, else only the labelled ones.
                if n % every == 0 || every == 1 {
                    let _ = writeln!(
                        out,
                        "<line stroke=\"#e3e3e3\" x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>",
                        height - 4.0
                    );
                }
                if n % every == 0 && x < LEFT + WIDTH as f64 - 36.0 {
                    let label = match lang {
                        Lang::Fr => day.strftime("%d/%m").to_string(),
                        Lang::En => day.strftime("%b %d").to_string(),
                    };
                    let _ = writeln!(out, "<text x=\"{:.1}\" y=\"12\">{}</text>", x + 2.0, esc(&label));
                }
                n += 1;
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
    }
    for (i, label) in rows.iter().enumerate() {
        let y = top + ROW * i as f64;
        let _ = writeln!(out, "<text x=\"4\" y=\"{:.1}\">{}</text>", y + 15.0, esc(label));
    }

    // Backups: the state behind, each pair in front.
    for (start, stop, state) in bands(input, name) {
        let (x1, x2) = (axis.x(start), axis.x(stop));
        let word = state_word(&state, t);
        let _ = writeln!(
            out,
            "<rect fill=\"{}\" x=\"{x1:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{}\"><title>{}</title></rect>",
            colour(&format!("band-{state}")),
            (x2 - x1).max(0.5),
            ROW - 4.0,
            esc(&format!(
                "{} → {}{}{word}",
                axis.local(start, r.date_format),
                axis.local(stop, r.date_format),
                t.colon
            ))
        );
    }
    for (c, mark) in pair_marks(input, axis, name, folder).iter().enumerate() {
        if let Some((m, at)) = mark {
            let x = LEFT + c as f64;
            let _ = writeln!(
                out,
                "<rect fill=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{mark_w:.1}\" height=\"{}\"><title>{}</title></rect>",
                m.colour(),
                top + 3.0,
                ROW - 10.0,
                esc(&format!("{} — {}", axis.local(*at, r.date_format), m.word(r)))
            );
        }
    }
    let mut row = 1.0;
    if show_tm {
        let y = top + ROW * row + 3.0;
        let mut cols = vec![None; WIDTH];
        for at in &p.time_machine {
            if let Some(c) = axis.column(at.as_second()) {
                cols[c] = Some(at.as_second());
            }
        }
        for (c, at) in cols.iter().enumerate() {
            if let Some(at) = at {
                let _ = writeln!(
                    out,
                    "<rect fill=\"#455a64\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{mark_w:.1}\" height=\"{}\"><title>{}</title></rect>",
                    LEFT + c as f64,
                    ROW - 10.0,
                    esc(&format!("{} — Time Machine", axis.local(*at, r.date_format)))
                );
            }
        }
        row += 1.0;
    }
    // Safe copies: one mark per column, red when one failed there.
    let y = top + ROW * row + 3.0;
    let mut cols: Vec<Option<(bool, i64)>> = vec![None; WIDTH];
    for op in p.operations.iter().filter(|o| o.kind == "copy") {
        let at = op.finished_at.unwrap_or(op.started_at).as_second();
        let failed = op.outcome.as_deref().is_some_and(|o| o != "ok");
        if let Some(c) = axis.column(at)
            && cols[c].is_none_or(|(f, _)| failed && !f)
        {
            cols[c] = Some((failed, at));
        }
    }
    for (c, v) in cols.iter().enumerate() {
        if let Some((failed, at)) = v {
            let class = if *failed { "bad" } else { "ok" };
            let word = if *failed { r.outcome_failed } else { r.outcome_ok };
            let _ = writeln!(
                out,
                "<rect fill=\"{}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{mark_w:.1}\" height=\"{}\"><title>{}</title></rect>",
                colour(class),
                LEFT + c as f64,
                ROW - 10.0,
                esc(&format!(
                    "{} — {}{}{word}",
                    axis.local(*at, r.date_format),
                    r.op_copy,
                    t.colon
                ))
            );
        }
    }
    row += 1.0;
    // Restores, returns to production and rehearsals: few, each drawn.
    let y = top + ROW * row + 10.0;
    for op in p
        .operations
        .iter()
        .filter(|o| matches!(o.kind.as_str(), "restore" | "failback" | "drill"))
    {
        let at = op.finished_at.unwrap_or(op.started_at).as_second();
        if axis.column(at).is_none() {
            continue;
        }
        let class = if op.outcome.as_deref() == Some("ok") {
            "restore"
        } else {
            "bad"
        };
        let _ = writeln!(
            out,
            "<circle fill=\"{}\" stroke=\"#ffffff\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\"><title>{}</title></circle>",
            colour(class),
            axis.x(at),
            esc(&format!(
                "{} — {}{}{}",
                axis.local(at, r.date_format),
                operation_word(&op.kind, r),
                t.colon,
                outcome_word(op.outcome.as_deref(), r)
            ))
        );
    }
    out.push_str("</svg>\n");
}

/// The database and media sizes over time (from the watcher's observations).
fn sizes(out: &mut String, input: &Input, axis: &Axis, name: &str, lang: Lang) {
    let r = lang.report();
    let obs: Vec<_> = input.period.observations.iter().filter(|o| o.source == name).collect();
    let db: Vec<(i64, Option<u64>)> = obs.iter().map(|o| (o.at.as_second(), o.db_bytes)).collect();
    let media: Vec<(i64, Option<u64>)> = obs.iter().map(|o| (o.at.as_second(), o.media_bytes)).collect();
    if db.iter().all(|(_, v)| v.is_none()) {
        let _ = writeln!(out, "<p class=\"none\">{}</p>", esc(r.no_data));
        return;
    }
    chart(out, axis, r.chart_db, "line-db", &db, lang);
    chart(out, axis, r.chart_media, "line-media", &media, lang);
}

/// A line chart; a hole in the data (no observation for 3 hours, or no file) breaks the line.
fn chart(out: &mut String, axis: &Axis, title: &str, class: &str, points: &[(i64, Option<u64>)], lang: Lang) {
    let t = lang.t();
    let height = 120.0;
    let (top, bottom) = (18.0, height - 8.0);
    let max = points.iter().filter_map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64 * 1.1;
    let y = |v: u64| bottom - (v as f64 / max) * (bottom - top);
    let width = LEFT + WIDTH as f64 + 10.0;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" font-family=\"Helvetica, Arial, sans-serif\" \
         font-size=\"11\" fill=\"#444444\">\n<text x=\"4\" y=\"12\">{}</text>",
        esc(title)
    );
    for f in [0.0, 0.5, 1.0] {
        let v = (max / 1.1 * f) as u64;
        let yy = y(v);
        let _ = writeln!(
            out,
            "<line stroke=\"#e3e3e3\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\"/>\n<text x=\"4\" y=\"{:.1}\">{}</text>",
            LEFT + WIDTH as f64,
            yy + 4.0,
            esc(&t.bytes(v))
        );
    }
    // Per column, the lowest and highest value keep the shape of a year of hourly points.
    const HOLE: i64 = 3 * 3600;
    let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut column: Option<(usize, u64, u64, i64)> = None;
    let mut last_at: Option<i64> = None;
    let flush = |current: &mut Vec<(f64, f64)>, column: &mut Option<(usize, u64, u64, i64)>| {
        if let Some((c, lo, hi, _)) = column.take() {
            let x = LEFT + c as f64;
            current.push((x, y(hi)));
            if lo != hi {
                current.push((x, y(lo)));
            }
        }
    };
    for &(at, value) in points {
        let hole = last_at.is_some_and(|l| at - l > HOLE);
        let Some(v) = value.filter(|_| axis.column(at).is_some()) else {
            flush(&mut current, &mut column);
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            last_at = None;
            continue;
        };
        if hole {
            flush(&mut current, &mut column);
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
        }
        last_at = Some(at);
        let c = axis.column(at).unwrap_or(0);
        match &mut column {
            Some((cc, lo, hi, _)) if *cc == c => {
                *lo = (*lo).min(v);
                *hi = (*hi).max(v);
            }
            _ => {
                flush(&mut current, &mut column);
                column = Some((c, v, v, at));
            }
        }
    }
    flush(&mut current, &mut column);
    if !current.is_empty() {
        lines.push(current);
    }
    for line in lines {
        if line.len() == 1 {
            let (x, yy) = line[0];
            let _ = writeln!(
                out,
                "<circle fill=\"{}\" cx=\"{x:.1}\" cy=\"{yy:.1}\" r=\"1.5\"/>",
                colour(class)
            );
            continue;
        }
        let pts: Vec<String> = line.iter().map(|(x, yy)| format!("{x:.1},{yy:.1}")).collect();
        let _ = writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
            colour(class),
            pts.join(" ")
        );
    }
    out.push_str("</svg>\n");
}

fn state_word(state: &str, t: &Texts) -> String {
    match State::from_word(state) {
        Some(s) => s.word(t).to_owned(),
        None => state.to_owned(),
    }
}

fn operation_word(kind: &str, r: &ReportTexts) -> String {
    match kind {
        "copy" => r.op_copy,
        "restore" => r.op_restore,
        "failback" => r.op_failback,
        "drill" => r.op_drill,
        "accept-change" => r.op_accept,
        other => return other.to_owned(),
    }
    .to_owned()
}

fn outcome_word(outcome: Option<&str>, r: &ReportTexts) -> String {
    match outcome {
        Some("ok") => r.outcome_ok,
        Some("failed") => r.outcome_failed,
        Some("rolled-back") => r.outcome_rolled_back,
        Some("cancelled") => r.outcome_cancelled,
        None => r.outcome_unfinished,
        Some(other) => return other.to_owned(),
    }
    .to_owned()
}

/// One event in the user's words: (kind, what).
pub fn event_text(e: &HistoryEvent, lang: Lang) -> (String, String) {
    let r = lang.report();
    let t = lang.t();
    let d = &e.details;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    match e.kind.as_str() {
        "state" => {
            let source = e.source.clone().unwrap_or_default();
            let state = state_word(&text(&d["state"]), t);
            let what = match d["previous"].as_str() {
                Some(prev) => format!("{source}{}{} → {state}", t.colon, state_word(prev, t)),
                None => format!("{source}{}{state} ({})", t.colon, r.first_record),
            };
            (r.kind_state.to_owned(), what)
        }
        "verification" => {
            let path = text(&d["path"]);
            let name = Path::new(&path)
                .file_name()
                .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
            let verdict = match d["verdict"].as_str() {
                Some("ok") => r.verdict_ok.to_owned(),
                Some("corrupt") => r.verdict_corrupt.to_owned(),
                Some("unsafe") => r.verdict_unsafe.to_owned(),
                Some(other) => other.to_owned(),
                None => String::new(),
            };
            let reason = d["details"]["reason"]
                .as_str()
                .map(|s| format!(" — {s}"))
                .unwrap_or_default();
            (
                r.kind_verification.to_owned(),
                format!("{name}{}{verdict}{reason}", t.colon),
            )
        }
        "operation" => {
            let kind = text(&d["kind"]);
            let mut what = format!(
                "{}{}{}",
                operation_word(&kind, r),
                t.colon,
                outcome_word(d["outcome"].as_str(), r)
            );
            if kind == "accept-change" {
                let details = &d["details"];
                let findings: Vec<crate::backup::anomaly::Finding> =
                    serde_json::from_value(details["findings"].clone()).unwrap_or_default();
                let summary = crate::backup::anomaly::summary(&findings, None, lang, e.at);
                let by = fill(r.accepted_by, &[("by", details["by"].as_str().unwrap_or("?"))]);
                what = format!("{what} ({}, {by}) — {summary}", text(&details["source"]));
            }
            (r.kind_operation.to_owned(), what)
        }
        "notification" => (
            r.kind_notification.to_owned(),
            format!("{}{}{}", r.notified, t.colon, text(&d["key"])),
        ),
        other => (other.to_owned(), e.summary.clone()),
    }
}

fn events(out: &mut String, input: &Input, axis: &Axis, lang: Lang) {
    let r = lang.report();
    let _ = writeln!(out, "<h2>{}</h2>", esc(r.events));
    if input.events.is_empty() {
        let _ = writeln!(out, "<p class=\"none\">{}</p>", esc(lang.t().history_empty));
        return;
    }
    let _ = writeln!(
        out,
        "<table class=\"events\">\n<thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>\n<tbody>",
        esc(r.col_when),
        esc(r.col_kind),
        esc(r.col_what)
    );
    let bad = |e: &HistoryEvent| match e.kind.as_str() {
        "state" => matches!(
            e.details["state"].as_str(),
            Some("stale" | "missing" | "corrupt" | "suspect" | "unknown")
        ),
        "verification" => e.details["verdict"].as_str() != Some("ok"),
        "operation" => e.details["outcome"].as_str().is_some_and(|o| o != "ok"),
        _ => false,
    };
    let format = format!("{}:%S", r.date_format);
    for e in &input.events {
        let (kind, what) = event_text(e, lang);
        let class = if bad(e) { " class=\"state-bad\"" } else { "" };
        let _ = writeln!(
            out,
            "<tr{class}><td class=\"when\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&axis.local(e.at.as_second(), &format)),
            esc(&kind),
            esc(&what)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if input.more_events {
        let _ = writeln!(out, "<p class=\"none\">{}</p>", esc(r.events_more));
    }
}

/// The counts behind a report, for tests and the command line: pair marks per kind for one source.
pub fn mark_counts(input: &Input, name: &str, folder: &Path) -> BTreeMap<&'static str, usize> {
    let axis = Axis::new(input.from, input.now);
    let mut counts = BTreeMap::new();
    for (m, _) in pair_marks(input, &axis, name, folder).into_iter().flatten() {
        *counts.entry(m.class()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            esc("a<b & 'c' \"d\">\u{1}"),
            "a&lt;b &amp; &#39;c&#39; &quot;d&quot;&gt; "
        );
    }

    // Guards: a column shows the worst of what it holds (a damaged pair is never hidden by a good one).
    #[test]
    fn marks_order_by_attention() {
        assert!(Mark::Failed > Mark::Suspect && Mark::Suspect > Mark::Accepted);
        assert!(Mark::Accepted > Mark::Verified && Mark::Verified > Mark::Seen);
    }

    #[test]
    fn the_axis_maps_the_period_onto_its_columns() {
        let from = Timestamp::from_second(1_700_000_000).unwrap();
        let now = Timestamp::from_second(1_700_000_000 + 86_400).unwrap();
        let axis = Axis::new(from, now);
        assert_eq!(axis.column(from.as_second()), Some(0));
        assert_eq!(axis.column(now.as_second()), Some(WIDTH - 1));
        assert_eq!(axis.column(from.as_second() - 1), None);
        assert_eq!(axis.column(now.as_second() + 1), None);
        assert!((axis.x(now.as_second()) - (LEFT + WIDTH as f64)).abs() < 1e-9);
    }
}
