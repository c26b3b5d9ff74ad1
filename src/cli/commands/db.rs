//! `secours db …`: the database engine on an environment's database (import, drop-all, dump).

use anyhow::Result;

use crate::cli::args::{DbArgs, DbCommand, DbDropAllArgs, DbDumpArgs, DbImportArgs};
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::env::environment;
use crate::run::{Context, EXIT_UNKNOWN, error_text, open_history};

/// The environment's database settings, or `None` after printing why (exit 3).
pub fn db_settings(ctx: &Context, env: &str) -> Option<crate::env::dbphp::DbSettings> {
    match environment::named(&ctx.config, env).and_then(|e| e.database()) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("secours: {e}");
            None
        }
    }
}

pub fn db_command(ctx: &Context, args: DbArgs) -> Result<u8> {
    match args.command {
        DbCommand::Import(a) => db_import_command(ctx, &a),
        DbCommand::DropAll(a) => db_drop_all_command(ctx, &a),
        DbCommand::Dump(a) => db_dump_command(ctx, &a),
    }
}

pub fn db_import_command(ctx: &Context, args: &DbImportArgs) -> Result<u8> {
    let Some(settings) = db_settings(ctx, &args.env) else {
        return Ok(EXIT_UNKNOWN);
    };
    let options = crate::db::importer::ImportOptions {
        replace: args.replace,
        rewrite_definers: args.rewrite_definers,
        connections: args.connections.max(1),
        // A dump verified before (by `secours verify`, the watcher or a restore) needs no pre-scan.
        known: open_history(&ctx.locations).and_then(|h| crate::backup::operations::known_facts(&h, &args.dump)),
        ..Default::default()
    };
    let bars = Bars::new(!args.json);
    match crate::db::importer::import_dump(&settings, &args.dump, &options, &bars, &crate::progress::Cancel::new()) {
        Ok(summary) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": true, "summary": summary }))?;
            } else {
                if let Some(d) = &summary.dropped {
                    println!("dropped   {} objects first", d.total());
                }
                println!(
                    "imported  {} statements, {} tables, {} rows from {} in {:.1} s",
                    summary.statements,
                    summary.tables,
                    summary.rows,
                    args.dump.display(),
                    summary.seconds
                );
            }
            Ok(0)
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": false, "error": e.to_string() }))?;
            }
            eprintln!("secours: {e}");
            Ok(if e.is_refusal() { 2 } else { EXIT_UNKNOWN })
        }
    }
}

pub fn db_drop_all_command(ctx: &Context, args: &DbDropAllArgs) -> Result<u8> {
    if !args.yes {
        eprintln!(
            "secours: 'db drop-all' drops every table, view, routine and event of environment '{}'; nothing was done. Add --yes to confirm.",
            args.env
        );
        return Ok(2);
    }
    let Some(settings) = db_settings(ctx, &args.env) else {
        return Ok(EXIT_UNKNOWN);
    };
    let dropped = crate::db::connect::connect(&settings)
        .map_err(anyhow::Error::from)
        .and_then(|mut conn| crate::db::drop_all::drop_all(&mut conn).map_err(anyhow::Error::from));
    match dropped {
        Ok(d) => {
            if args.json {
                print_json(&serde_json::json!({ "ok": true, "dropped": d }))?;
            } else {
                println!(
                    "dropped   {} tables, {} views, {} procedures, {} functions, {} events",
                    d.tables, d.views, d.procedures, d.functions, d.events
                );
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("secours: {}", error_text(&e));
            Ok(EXIT_UNKNOWN)
        }
    }
}

pub fn db_dump_command(ctx: &Context, args: &DbDumpArgs) -> Result<u8> {
    let Some(settings) = db_settings(ctx, &args.env) else {
        return Ok(EXIT_UNKNOWN);
    };
    let mut conn = match crate::db::connect::connect(&settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("secours: {e}");
            return Ok(EXIT_UNKNOWN);
        }
    };
    let bars = Bars::new(!args.json);
    match crate::db::dumper::dump_database(&mut conn, &args.output, &bars, &crate::progress::Cancel::new()) {
        Ok(s) => {
            if args.json {
                print_json(&serde_json::json!({
                    "ok": true, "path": s.path, "bytes": s.bytes, "tables": s.tables, "rows": s.rows,
                    "views": s.views, "triggers": s.triggers, "procedures": s.procedures,
                    "functions": s.functions, "events": s.events,
                }))?;
            } else {
                println!(
                    "dumped    {} tables, {} rows to {} ({} bytes)",
                    s.tables,
                    s.rows,
                    s.path.display(),
                    s.bytes
                );
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("secours: {e}");
            Ok(2)
        }
    }
}
