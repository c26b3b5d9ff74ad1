//! `secours report`: the history as one HTML page.

use anyhow::Result;
use jiff::Timestamp;

use crate::cli::args::ReportArgs;
use crate::run::{Context, EXIT_UNKNOWN};

pub fn report_command(ctx: &Context, args: &ReportArgs) -> Result<u8> {
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| ctx.locations.data_dir.join(crate::report::FILE_NAME));
    if let Err(e) = crate::report::write(
        &ctx.config,
        &ctx.locations.history(),
        ctx.lang,
        &path,
        args.days,
        Timestamp::now(),
    ) {
        eprintln!("secours: {e}");
        return Ok(EXIT_UNKNOWN);
    }
    println!("{}", path.display());
    if args.open
        && let Err(e) = crate::platform::open_in_browser(&path)
    {
        eprintln!("secours: {e}");
    }
    Ok(0)
}
