//! `secours parity`: compare the software of two environments.

use anyhow::Result;

use crate::cli::args::ParityArgs;
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::run::{Context, EXIT_UNKNOWN};

pub fn parity_command(ctx: &Context, args: &ParityArgs) -> Result<u8> {
    let request = crate::backup::parity::Request {
        env: args.env.clone(),
        with: args.with.clone(),
        manifest: args.manifest.clone(),
    };
    let bars = Bars::new(!args.json);
    match crate::backup::parity::run(&ctx.config, &request, &bars, &crate::progress::Cancel::new()) {
        Ok(c) if args.json => print_json(&c).map(|()| c.exit_code()),
        Ok(c) => {
            print!("{}", crate::backup::parity::render_text(&c, ctx.lang));
            Ok(c.exit_code())
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "error": e.to_string() }))?;
            }
            eprintln!("secours: {e}");
            Ok(EXIT_UNKNOWN)
        }
    }
}
