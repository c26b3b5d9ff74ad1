//! `secours restore` and `secours failback` for people at a terminal and for scripts: the summary,
//! the confirmation, the progress and the result, over [`transaction`](super::transaction).
//!
//! Exit codes: 0 restored (or dry run / listing done), 2 refused, declined or rolled back (the target
//! is as it was), 3 the target may be partly restored or Secours cannot work (configuration, journal).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use jiff::Timestamp;

use super::owner;
use super::sources::{self, SourceSpec};
use super::transaction::{self, Kind, Plan, Request, RestoreError};
use crate::env::config::Config;
use crate::env::environment::Environment;
use crate::i18n::{Lang, fill, local_minute};
use crate::progress::{Cancel, Progress};
use crate::store::history::{History, VerdictKind};

/// What the command line asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub from: Option<String>,
    pub to: Option<String>,
    pub dry_run: bool,
    pub yes: bool,
    pub json: bool,
    pub list_sources: bool,
    pub resume: bool,
    pub rollback: bool,
    /// Failback only: the second confirmation.
    pub to_production: bool,
    /// With `yes`: restore even a suspect backup (see `anomaly`).
    pub accept_anomaly: bool,
}

/// Where things are and how to speak.
pub struct Env<'a> {
    pub config: &'a Config,
    pub history: PathBuf,
    pub lang: Lang,
    pub progress: &'a dyn Progress,
}

fn print_json(value: &impl serde::Serialize) {
    if let Ok(text) = serde_json::to_string_pretty(value) {
        println!("{text}");
    }
}

fn report_error(env: &Env, json: bool, e: &RestoreError) -> u8 {
    if json {
        print_json(&serde_json::json!({ "ok": false, "error": e.to_string(), "exit_code": e.exit_code() }));
    } else {
        eprintln!("secours: {}", failure_text(e, env.lang));
    }
    e.exit_code()
}

/// A failed restore for people (terminal and notification): first, in their language, the state the
/// target is in and what to do; then the library's message with the technical detail.
pub fn failure_text(e: &RestoreError, lang: Lang) -> String {
    let t = lang.restore();
    let headline = match e {
        RestoreError::Refused(_) | RestoreError::Journal { .. } => t.failed_refused.to_owned(),
        RestoreError::NothingUnfinished => t.failed_nothing_unfinished.to_owned(),
        RestoreError::RolledBack { step, target, .. } => {
            fill(t.failed_rolled_back, &[("step", step), ("target", target)])
        }
        RestoreError::Cancelled { target, .. } => fill(t.failed_cancelled, &[("target", target)]),
        RestoreError::RollbackFailed { step, target, .. } => {
            fill(t.failed_rollback_failed, &[("step", step), ("target", target)])
        }
        RestoreError::Unfinished { target, .. } => fill(t.failed_unfinished, &[("target", target)]),
        RestoreError::Busy { .. } => t.failed_busy.to_owned(),
        RestoreError::Env(_) => t.failed_other.to_owned(),
    };
    lang.t().failure(&headline, &e.to_string())
}

/// Runs `secours restore` (`kind` Restore) or `secours failback` (`kind` Failback).
pub fn run(env: &Env, kind: Kind, opts: &Options) -> u8 {
    let t = env.lang.restore();
    let cancel = Cancel::new();
    if opts.resume || opts.rollback {
        let r = if opts.resume {
            transaction::resume(env.config, &env.history, env.progress, &cancel).map(|o| {
                print_outcome(env, opts.json, &o);
            })
        } else {
            transaction::rollback_unfinished(env.config, &env.history, env.progress).map(|r| {
                if opts.json {
                    print_json(&serde_json::json!({ "ok": true, "rolled_back": r }));
                } else {
                    println!("{}", fill(t.rolled_back_done, &[("target", &r.target)]));
                }
            })
        };
        return match r {
            Ok(()) => 0,
            Err(e) => report_error(env, opts.json, &e),
        };
    }

    let target_name = match kind {
        Kind::Restore => opts.to.clone().unwrap_or_else(|| env.config.restore.target.clone()),
        Kind::Failback => env.config.restore.production.clone(),
    };
    let target = match crate::env::environment::named(env.config, &target_name) {
        Ok(t) => t,
        Err(e) => return report_error(env, opts.json, &RestoreError::Env(e)),
    };
    let history = History::open(&env.history).ok();
    if opts.list_sources {
        let list = sources::list(env.config, &target, kind, history.as_ref(), Timestamp::now());
        if opts.json {
            print_json(&list);
        } else if list.is_empty() {
            println!("{}", t.sources_none);
        } else {
            println!("{}", t.sources_header);
            let tt = env.lang.t();
            for s in &list {
                println!(
                    "  {:<28} {}  {:>8}  {} + {}  {}",
                    s.id,
                    local_minute(s.time),
                    tt.age(s.age_seconds),
                    tt.bytes(s.db_bytes),
                    tt.bytes(s.media_bytes),
                    match s.verified {
                        Some(VerdictKind::Ok) => t.verified,
                        Some(v) => v.as_str(),
                        None => t.not_verified,
                    }
                );
            }
        }
        return 0;
    }

    let spec = opts.from.as_deref().map_or(SourceSpec::Latest, SourceSpec::parse);
    let pair = match sources::resolve(env.config, &target, kind, &spec, history.as_ref()) {
        Ok(p) => p,
        Err(e) => return report_error(env, opts.json, &RestoreError::Refused(e.to_string())),
    };
    drop(history);
    let req = request(env, kind, pair, target);
    let mut plan = match transaction::plan(&req, env.progress, &cancel) {
        Ok(p) => p,
        Err(e) => return report_error(env, opts.json, &e),
    };
    plan.warnings.extend(parity_warning(env.config, env.progress, &cancel));
    // A backup that looks wrong (a table emptied, media gone) needs one more yes that names the anomaly.
    let suspect = {
        let history = History::open(&env.history).ok();
        crate::backup::anomaly::suspect_pair(history.as_ref(), env.config, &req.pair, env.lang, Timestamp::now())
    };
    if let Some(s) = &suspect {
        plan.warnings.push(s.clone());
    }
    if opts.dry_run {
        if opts.json {
            print_json(&serde_json::json!({ "ok": true, "dry_run": true, "plan": plan }));
        } else {
            println!("{}", summary(&plan, env.config, env.lang));
            println!("{}", t.dry_run);
        }
        return 0;
    }
    if !confirmed(env, kind, opts, &plan) {
        return 2;
    }
    if let Some(anomaly) = &suspect
        && !anomaly_confirmed(env, opts, anomaly)
    {
        return 2;
    }
    match transaction::run(&req, env.progress, &cancel) {
        Ok(outcome) => {
            print_outcome(env, opts.json, &outcome);
            0
        }
        Err(e) => report_error(env, opts.json, &e),
    }
}

/// A warning when the software of production and of the standby differ (the procedure keeps them
/// identical); nothing when they are identical or cannot be compared here.
pub fn parity_warning(config: &Config, progress: &dyn Progress, cancel: &Cancel) -> Option<String> {
    let c = crate::backup::parity::run(config, &crate::backup::parity::Request::default(), progress, cancel).ok()?;
    if c.report.identical {
        return None;
    }
    let r = &c.report;
    Some(format!(
        "the software of '{}' and '{}' differ ({} files changed, {} and {} only on one side); the restored data may not suit the standby's code. See 'secours parity'.",
        c.a.environment,
        c.b.environment,
        r.different.len(),
        r.only_in_a.len(),
        r.only_in_b.len()
    ))
}

/// The request for a restore of `pair` onto `target`, from the configuration.
pub fn request(env: &Env, kind: Kind, pair: crate::backup::inspect::Pair, target: Environment) -> Request {
    let prestaged = super::prestage::ready_for(&target, &pair);
    Request {
        kind,
        pair,
        target,
        prestaged,
        owner: env.config.restore.owner.clone(),
        keep_previous: env.config.restore.keep_previous.0,
        connections: env.config.restore.connections,
        history: env.history.clone(),
    }
}

fn confirmed(env: &Env, kind: Kind, opts: &Options, plan: &Plan) -> bool {
    let t = env.lang.restore();
    if kind == Kind::Failback && opts.yes && !opts.to_production {
        eprintln!("secours: {}", t.needs_to_production);
        return false;
    }
    if opts.yes {
        return true;
    }
    if opts.json || !std::io::stdin().is_terminal() {
        eprintln!("secours: {}", t.needs_yes);
        return false;
    }
    eprintln!("{}", summary(plan, env.config, env.lang));
    let prompt = match kind {
        Kind::Restore => fill(t.confirm, &[("target", &plan.target)]),
        Kind::Failback => fill(t.confirm_failback, &[("target", &plan.target)]),
    };
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    let answer = answer.trim().to_lowercase();
    let ok = match kind {
        Kind::Restore => t.yes_words.contains(&answer.as_str()),
        Kind::Failback => answer == plan.target.to_lowercase(),
    };
    if !ok {
        eprintln!("{}", t.declined);
    }
    ok
}

/// The confirmation a suspect backup needs on top of the usual one: `--yes` alone refuses it (a script
/// must say `--accept-anomaly` too); at a terminal, a question that names the anomaly.
fn anomaly_confirmed(env: &Env, opts: &Options, anomaly: &str) -> bool {
    let r = env.lang.report();
    let t = env.lang.restore();
    if opts.yes {
        if opts.accept_anomaly {
            return true;
        }
        let text = fill(r.needs_accept_anomaly, &[("anomaly", anomaly)]);
        if opts.json {
            print_json(&serde_json::json!({ "ok": false, "error": text, "exit_code": 2 }));
        }
        eprintln!("secours: {text}");
        return false;
    }
    eprint!("{} ", fill(r.restore_suspect, &[("anomaly", anomaly)]));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    let ok = t.yes_words.contains(&answer.trim().to_lowercase().as_str());
    if !ok {
        eprintln!("{}", t.declined);
    }
    ok
}

/// The summary shown before a restore and by `--dry-run`: what comes from where, what is replaced, in
/// words and numbers.
pub fn summary(plan: &Plan, config: &Config, lang: Lang) -> String {
    let t = lang.restore();
    let tt = lang.t();
    let mut out = Vec::new();
    let title = match plan.kind {
        Kind::Restore => t.title_restore,
        Kind::Failback => t.title_failback,
    };
    out.push(fill(title, &[("target", &plan.target)]));
    let age = Timestamp::now().as_second() - plan.backup_time.as_second();
    let unknown = "?".to_owned();
    out.push(format!(
        "  {}",
        fill(
            t.backup,
            &[
                ("time", &local_minute(plan.backup_time)),
                ("age", &tt.age(age)),
                ("folder", &plan.source.display().to_string()),
                ("db", &tt.bytes(plan.db_bytes)),
                ("tables", &plan.backup_tables.map_or(unknown.clone(), |n| n.to_string())),
                ("media", &tt.bytes(plan.media_bytes)),
                ("files", &plan.backup_files.map_or(unknown.clone(), |n| n.to_string())),
                (
                    "bytes",
                    &plan.backup_media_bytes.map_or(unknown.clone(), |n| tt.bytes(n))
                ),
            ]
        )
    ));
    out.push(format!(
        "  {}",
        match plan.current_objects {
            Some(o) => fill(
                t.replaces_db,
                &[
                    ("database", &plan.database),
                    ("objects", &o.total().to_string()),
                    ("size", &tt.bytes(plan.current_database_bytes.unwrap_or(0))),
                ]
            ),
            None => fill(t.replaces_db_unknown, &[("database", &plan.database)]),
        }
    ));
    let files: u64 = plan.current_media.iter().map(|m| m.files).sum();
    let bytes: u64 = plan.current_media.iter().map(|m| m.bytes).sum();
    out.push(format!(
        "  {}",
        fill(
            t.replaces_media,
            &[
                ("web", &plan.web.display().to_string()),
                ("files", &files.to_string()),
                ("bytes", &tt.bytes(bytes)),
            ]
        )
    ));
    out.push(format!(
        "  {}",
        fill(
            t.kept,
            &[("keep", &tt.age(config.restore.keep_previous.0.as_secs() as i64))]
        )
    ));
    out.push(format!(
        "  {}",
        fill(
            t.space,
            &[
                ("free", &tt.bytes(plan.free_bytes)),
                ("needed", &tt.bytes(plan.needed_bytes))
            ]
        )
    ));
    out.push(format!(
        "  {}",
        fill(t.estimate, &[("duration", &tt.age(plan.estimated_seconds as i64))])
    ));
    match plan.prestaged_at {
        Some(at) => out.push(format!(
            "  {}",
            fill(lang.standby().summary_prestaged, &[("time", &local_minute(at))])
        )),
        None if plan.kind == Kind::Restore => out.push(format!("  {}", lang.standby().summary_not_prestaged)),
        None => {}
    }
    if let Some(via) = plan.administrator {
        let how = match via {
            owner::Via::Osascript => "macOS",
            owner::Via::Pkexec => "pkexec",
            owner::Via::Sudo => "sudo -n",
            owner::Via::InProcess => "—",
        };
        out.push(format!("  {}", fill(t.administrator, &[("how", how)])));
    }
    out.push(format!("  {}", t.steps));
    for w in &plan.warnings {
        out.push(format!("  {}", fill(t.warning, &[("text", w)])));
    }
    out.join("\n")
}

fn print_outcome(env: &Env, json: bool, o: &transaction::Outcome) {
    if json {
        print_json(&serde_json::json!({ "ok": true, "restore": o }));
    } else {
        println!("{}", done_text(o, env.lang));
    }
}

/// What a finished restore says to people (the CLI's last lines, the app's notification).
pub fn done_text(o: &transaction::Outcome, lang: Lang) -> String {
    let t = lang.restore();
    let tt = lang.t();
    let mut text = fill(
        t.done,
        &[
            ("duration", &tt.age(o.seconds.round() as i64)),
            ("tables", &o.database.as_ref().map_or(0, |d| d.tables).to_string()),
            ("rows", &o.database.as_ref().map_or(0, |d| d.rows).to_string()),
            ("files", &o.media.as_ref().map_or(0, |m| m.files).to_string()),
            ("target", &o.target),
        ],
    );
    for w in &o.warnings {
        text.push_str("\n  ");
        text.push_str(&fill(t.warning, &[("text", w)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolled_back() -> RestoreError {
        RestoreError::RolledBack {
            step: "database".to_owned(),
            cause: "statement 12 failed".to_owned(),
            target: "secours".to_owned(),
            advice: "Check the dump.".to_owned(),
        }
    }

    // Guards: a French user learns first, in French, that the standby is as before (or may be mixed, and
    // what to choose in the menu); the English detail follows for whoever helps them.
    #[test]
    fn a_failure_says_the_targets_state_in_the_users_language_then_the_detail() {
        let e = rolled_back();
        let fr = failure_text(&e, Lang::Fr);
        let (headline, detail) = fr.split_once('\n').unwrap();
        assert!(
            headline.contains("« database »") && headline.contains("« secours » a été remis"),
            "{fr}"
        );
        assert_eq!(detail, format!("Détail : {e}"));

        let mixed = RestoreError::RollbackFailed {
            step: "swap".to_owned(),
            cause: "rename failed".to_owned(),
            rollback: "disk gone".to_owned(),
            target: "secours".to_owned(),
        };
        let fr = failure_text(&mixed, Lang::Fr);
        assert!(
            fr.contains("en partie") && fr.contains("Annuler la restauration interrompue"),
            "{fr}"
        );
        assert!(fr.contains("restore --rollback"), "{fr}");

        // English: the library's message already says the state and the action.
        assert_eq!(failure_text(&e, Lang::En), e.to_string());
        assert_eq!(failure_text(&mixed, Lang::En), mixed.to_string());
    }

    // Guards: the French headline names the menu items by their real labels.
    #[test]
    fn the_headlines_name_the_menus_items() {
        let t = Lang::Fr.t();
        let r = Lang::Fr.restore();
        assert!(
            r.failed_rollback_failed
                .contains(t.menu_rollback.split(" (").next().unwrap())
        );
        assert!(r.failed_unfinished.contains(t.menu_resume));
        assert!(
            r.failed_unfinished
                .contains(t.menu_rollback.split(" (").next().unwrap())
        );
    }
}
