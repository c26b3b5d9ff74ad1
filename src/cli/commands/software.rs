//! `secours software`: bring the standby's software to parity with production (see
//! [`crate::restore::software`]).
//!
//! Exit codes: 0 done, identical or dry run; 2 refused, declined or undone (the target is as it was); 3 the
//! target may be mixed, or Secours cannot work (configuration, journal).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::cli::args::SoftwareArgs;
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::i18n::fill;
use crate::progress::Cancel;
use crate::restore::software::{self, SoftwareError};
use crate::run::Context;

pub fn software_command(ctx: &Context, args: &SoftwareArgs) -> Result<u8> {
    let t = ctx.lang.software();
    let bars = Bars::new(!args.json);
    let cancel = Cancel::new();
    let history = ctx.locations.history();
    let target = args.to.clone().unwrap_or_else(|| ctx.config.restore.target.clone());
    let fail = |e: SoftwareError| -> Result<u8> {
        let code = e.exit_code();
        if args.json {
            print_json(&serde_json::json!({ "ok": false, "error": e.to_string(), "exit_code": code }))?;
        } else {
            eprintln!("secours: {}", software::failure_text(&e, &target, ctx.lang));
        }
        Ok(code)
    };
    // A copy a crash interrupted is undone before anything else (the target is then wholly old).
    if !args.dry_run {
        match software::rollback_unfinished(&history) {
            Ok(undone) if !undone.is_empty() => eprintln!("secours: {}", t.unfinished_undone),
            Ok(_) => {}
            Err(e) => return fail(e),
        }
    }
    let plan = match software::plan(&ctx.config, args.from.as_deref(), args.to.as_deref(), &bars, &cancel) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if plan.identical || args.dry_run {
        if args.json {
            print_json(&serde_json::json!({
                "ok": true, "dry_run": args.dry_run, "identical": plan.identical, "changed": plan.changed,
                "added": plan.added, "removed": plan.removed, "previous": null, "plan": plan,
            }))?;
        } else {
            print!("{}", software::render_plan(&plan, ctx.lang));
            if args.dry_run && !plan.identical {
                println!("{}", ctx.lang.restore().dry_run);
            }
        }
        return Ok(0);
    }
    if !args.yes {
        if args.json || !std::io::stdin().is_terminal() {
            eprint!("{}", software::render_plan(&plan, ctx.lang));
            eprintln!("secours: {}", ctx.lang.restore().needs_yes);
            return Ok(2);
        }
        eprint!("{}", software::render_plan(&plan, ctx.lang));
        eprint!("{}", fill(t.confirm, &[("target", &plan.target)]));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !ctx
            .lang
            .restore()
            .yes_words
            .contains(&answer.trim().to_lowercase().as_str())
        {
            eprintln!("{}", ctx.lang.restore().declined);
            return Ok(2);
        }
    }
    let apply = software::Apply {
        config: &ctx.config,
        history,
    };
    match software::apply(&apply, &plan, &bars, &cancel) {
        Ok(outcome) => {
            if args.json {
                print_json(&outcome)?;
            } else {
                print!("{}", software::render_plan(&plan, ctx.lang));
                println!("{}", fill(t.done, &[("target", &plan.target), ("from", &plan.from)]));
                if let Some(p) = &outcome.previous {
                    println!("{}", fill(t.previous, &[("path", &p.display().to_string())]));
                }
            }
            Ok(0)
        }
        Err(e) => fail(e),
    }
}
