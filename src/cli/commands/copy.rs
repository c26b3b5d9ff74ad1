//! `secours copy` and `secours copies`: copy the latest verified pair to the safe places; list the copies.

use anyhow::Result;

use crate::cli::args::{CopiesArgs, CopyArgs};
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::run::{Context, open_history};

pub fn copy_command(ctx: &Context, args: &CopyArgs) -> Result<u8> {
    let sel = crate::backup::operations::Selection {
        folder: args.from.clone(),
        env: args.env.clone(),
    };
    let pair = crate::backup::operations::select(&ctx.config, &sel)?;
    let destinations = match &args.to {
        Some(d) => vec![d.clone()],
        None => ctx.config.safe_copy.destinations.clone(),
    };
    let history = open_history(&ctx.locations);
    let bars = Bars::new(!args.json);
    let results = match crate::backup::operations::copy_to(
        &ctx.config,
        &pair,
        &destinations,
        history.as_ref(),
        &bars,
        &crate::progress::Cancel::new(),
    ) {
        Ok(r) => r,
        Err(e @ crate::backup::operations::OperationError::NotVerified { .. }) => {
            eprintln!("secours: {e}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        print_json(&results)?;
    } else {
        for r in &results {
            match (&r.outcome, &r.error) {
                (Some(crate::backup::copy::CopyOutcome::Copied { folder, warnings, .. }), _) => {
                    println!("copied   {}", folder.display());
                    for w in warnings {
                        eprintln!("secours: warning: {w}");
                    }
                }
                (Some(crate::backup::copy::CopyOutcome::AlreadyThere { folder }), _) => {
                    println!("present  {}", folder.display())
                }
                (_, Some(e)) => eprintln!("FAILED   {}: {e}", r.destination.display()),
                _ => {}
            }
        }
    }
    Ok(if results.iter().all(|r| r.error.is_none()) {
        0
    } else {
        2
    })
}

pub fn copies_command(ctx: &Context, args: &CopiesArgs) -> Result<u8> {
    let mut all = Vec::new();
    let mut bad = false;
    for dest in &ctx.config.safe_copy.destinations {
        let list = match crate::backup::copy::list_copies(dest) {
            Ok(l) => l,
            Err(e) => {
                bad = true;
                all.push(serde_json::json!({ "destination": dest, "error": e.to_string() }));
                continue;
            }
        };
        for c in list.iter().rev() {
            let check = args
                .check
                .then(|| crate::backup::copy::check_copy(c, &crate::progress::Silent, &Default::default()));
            bad |= check
                .as_ref()
                .is_some_and(|k| k.verdict != crate::backup::copy::CheckVerdict::Ok);
            all.push(serde_json::json!({
                "destination": dest, "folder": c.folder, "date": c.date.to_string(), "size": c.size,
                "manifest": c.manifest, "software": c.software, "check": check,
            }));
        }
    }
    if args.json {
        print_json(&all)?;
    } else {
        for c in &all {
            println!(
                "{}  {}  {}",
                c["date"].as_str().unwrap_or("-"),
                c["folder"].as_str().or(c["destination"].as_str()).unwrap_or(""),
                c["check"]["verdict"].as_str().or(c["error"].as_str()).unwrap_or("")
            );
        }
    }
    Ok(if bad { 2 } else { 0 })
}
