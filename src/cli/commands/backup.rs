//! `secours backup`: back up an environment now, as the hourly job does.

use anyhow::Result;

use crate::cli::args::BackupArgs;
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::env::environment;
use crate::run::Context;

pub fn backup_command(ctx: &Context, args: &BackupArgs) -> Result<u8> {
    let name = args
        .env
        .clone()
        .or_else(|| ctx.config.watch.environments.first().cloned())
        .unwrap_or_else(|| "prod".to_owned());
    let env = environment::named(&ctx.config, &name)?;
    let bars = Bars::new(!args.json);
    match crate::backup::now::backup_now(&env, &bars, &crate::progress::Cancel::new()) {
        Ok(s) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": true, "backup": s }))?;
            } else {
                let t = ctx.lang.t();
                println!(
                    "{}  {} ({} tables, {} rows)\n{}  {} ({} files)",
                    s.db_file.display(),
                    t.bytes(s.db_bytes),
                    s.tables,
                    s.rows,
                    s.media_file.display(),
                    t.bytes(s.media_bytes),
                    s.files
                );
            }
            Ok(0)
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": false, "error": e.to_string() }))?;
            }
            eprintln!("secours: {e}");
            Ok(2)
        }
    }
}
