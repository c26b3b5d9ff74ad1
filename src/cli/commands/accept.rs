//! `secours accept`: a suspect change is expected; the suspect backups become the reference.

use anyhow::Result;
use jiff::Timestamp;

use crate::cli::args::AcceptArgs;
use crate::cli::print_json;
use crate::run::{Context, EXIT_UNKNOWN};
use crate::store::history::History;

pub fn accept_command(ctx: &Context, args: &AcceptArgs) -> Result<u8> {
    if let Some(name) = &args.source
        && !crate::backup::sources::sources(&ctx.config)
            .iter()
            .any(|s| &s.name == name)
    {
        let known: Vec<String> = crate::backup::sources::sources(&ctx.config)
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect();
        eprintln!(
            "secours: '{name}' is not a watched source (watched: {}); nothing was accepted.",
            known.join(", ")
        );
        return Ok(EXIT_UNKNOWN);
    }
    let history = History::open(&ctx.locations.history())?;
    let by = format!("{} (command line)", crate::backup::anomaly::current_user());
    let accepted = crate::backup::anomaly::accept(
        &ctx.config,
        &history,
        args.source.as_deref(),
        &by,
        ctx.lang,
        Timestamp::now(),
    )?;
    if args.json {
        print_json(&serde_json::json!({ "accepted": accepted }))?;
    } else if accepted.is_empty() {
        println!("{}", ctx.lang.report().accept_nothing);
    } else {
        for a in &accepted {
            println!("{}", crate::backup::anomaly::accepted_text(a, ctx.lang));
        }
    }
    Ok(if accepted.is_empty() { 2 } else { 0 })
}
