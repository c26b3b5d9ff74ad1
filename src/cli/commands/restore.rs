//! `secours restore` and `secours failback`: the restore transaction from the command line.

use anyhow::Result;

use crate::cli::progress::Bars;
use crate::run::Context;

pub fn restore_command(
    ctx: &Context,
    kind: crate::restore::Kind,
    opts: &crate::restore::command::Options,
) -> Result<u8> {
    let bars = Bars::new(!opts.json);
    let env = crate::restore::command::Env {
        config: &ctx.config,
        history: ctx.locations.history(),
        lang: ctx.lang,
        progress: &bars,
    };
    Ok(crate::restore::command::run(&env, kind, opts))
}
