//! `secours history`: what happened, newest first.

use anyhow::Result;

use crate::cli::args::HistoryArgs;
use crate::cli::print_json;
use crate::run::Context;
use crate::store::history::History;

pub fn history_command(ctx: &Context, args: &HistoryArgs) -> Result<u8> {
    let history = History::open(&ctx.locations.history())?;
    let events = history.recent_events(args.limit)?;
    if args.json {
        print_json(&events)?;
        return Ok(0);
    }
    if events.is_empty() {
        println!("{}", ctx.lang.t().history_empty);
    }
    for e in &events {
        println!("{}", e.line());
    }
    Ok(0)
}
