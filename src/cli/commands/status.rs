//! `secours status`: the state of the backups, in words or JSON, with the monitoring exit code.

use anyhow::Result;
use jiff::Timestamp;

use crate::backup::status;
use crate::cli::print_json;
use crate::i18n::fill;
use crate::run::{Context, open_history};

pub fn status_command(ctx: &Context, json: bool) -> Result<u8> {
    let history = open_history(&ctx.locations);
    let is_corrupt = |o: &crate::backup::inspect::FileObservation| {
        history.as_ref().is_some_and(|h| status::corrupt_in_history(h, o))
    };
    let mut report = status::gather(&ctx.config, ctx.lang, Timestamp::now(), &is_corrupt);
    report.time_machine = status::read_time_machine(
        &ctx.config,
        &report,
        &crate::platform::runner::SystemRunner::default(),
        ctx.lang,
    );
    report.drill = status::drill(&ctx.config, history.as_ref(), report.checked_at);
    status::apply_standby(&mut report, &ctx.config, history.as_ref(), ctx.lang);
    if let Some(h) = &history {
        status::apply_anomalies(&mut report, &ctx.config, h, ctx.lang);
        status::record(&report, h);
    }
    if json {
        print_json(&report)?;
    } else {
        if !ctx.config_found {
            eprintln!(
                "{}",
                fill(
                    ctx.lang.t().no_config,
                    &[("path", &ctx.locations.config.display().to_string())]
                )
            );
        }
        print!("{}", status::render_text(&report, ctx.lang));
    }
    Ok(report.exit_code())
}
