//! `secours standby`: the standby made ready ahead of time (see [`crate::restore::prestage`]).
//!
//! `--once` runs one cycle and stops (scripts, tests, the app's own process each cycle); without it the
//! command keeps running, a cycle every `[standby] every`, for a standby without the menu-bar app. Runs at
//! low priority (`nice` 10). Exit codes: 0 ready, up to date, waiting or off; 2 the latest backup does not
//! restore (`unrestorable`); 3 the cycle could not work (configuration, database, disk).

use anyhow::Result;

use crate::cli::args::StandbyArgs;
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::i18n::{Lang, fill, local_minute};
use crate::progress::Cancel;
use crate::restore::prestage::{self, Cycle, PrestageError};
use crate::run::{Context, EXIT_UNKNOWN};

pub fn standby_command(ctx: &Context, args: &StandbyArgs) -> Result<u8> {
    crate::platform::cpu::lower_priority();
    let history = ctx.locations.history();
    if let Some(dir) = history.parent() {
        std::fs::create_dir_all(dir)?;
    }
    loop {
        let bars = Bars::new(!args.json);
        let result = prestage::cycle(&ctx.config, &history, &bars, &Cancel::new());
        drop(bars);
        let code = show(ctx.lang, args.json, &result)?;
        if args.once {
            return Ok(code);
        }
        std::thread::sleep(ctx.config.standby.every.0.max(std::time::Duration::from_secs(60)));
    }
}

fn show(lang: Lang, json: bool, result: &Result<Cycle, PrestageError>) -> Result<u8> {
    let code = match result {
        Ok(c) => c.exit_code(),
        Err(_) => EXIT_UNKNOWN,
    };
    if json {
        let value = match result {
            Ok(c) => {
                let mut v = serde_json::to_value(c)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("ok".to_owned(), serde_json::Value::Bool(code == 0));
                    o.insert("exit_code".to_owned(), code.into());
                }
                v
            }
            Err(e) => serde_json::json!({ "ok": false, "result": "error", "error": e.to_string(), "exit_code": code }),
        };
        print_json(&value)?;
        return Ok(code);
    }
    match result {
        Ok(c) => {
            let line = text(lang, c);
            if code == 0 {
                println!("{line}");
            } else {
                eprintln!("secours: {line}");
            }
        }
        Err(e) => eprintln!("secours: {e}"),
    }
    Ok(code)
}

/// One cycle's result in words.
pub fn text(lang: Lang, cycle: &Cycle) -> String {
    let s = lang.standby();
    let t = lang.t();
    match cycle {
        Cycle::Off { reason } => fill(s.off, &[("reason", reason)]),
        Cycle::Waiting { reason } => fill(s.waiting, &[("reason", reason)]),
        Cycle::UpToDate { staged } => fill(s.up_to_date, &[("time", &local_minute(staged.backup_time()))]),
        Cycle::Proven { staged, .. } => fill(
            s.proven,
            &[
                ("time", &local_minute(staged.backup_time())),
                ("import", &t.age(staged.import_seconds.round() as i64)),
                ("rows", &staged.rows.to_string()),
                ("files", &staged.files.to_string()),
            ],
        ),
        Cycle::Unrestorable {
            folder, step, error, ..
        } => fill(
            s.unrestorable,
            &[
                ("time", &folder.display().to_string()),
                ("step", step),
                ("error", error),
            ],
        ),
    }
}
