//! `secours config`: check the configuration and say every problem at once.

use anyhow::Result;

use crate::cli::print_json;
use crate::env::config::{self};
use crate::env::environment;
use crate::env::paths::Locations;
use crate::run::{Context, EXIT_UNKNOWN, error_text};

pub fn config_check(locations: &Locations, json: bool) -> Result<u8> {
    let ctx = match Context::load(locations.clone()) {
        Ok(ctx) => ctx,
        Err(e) => {
            if json {
                let problems = match e.downcast_ref::<config::ConfigError>() {
                    Some(config::ConfigError::Invalid { problems, .. }) => problems.clone(),
                    _ => vec![config::Problem {
                        key: "(file)".to_owned(),
                        message: error_text(&e),
                    }],
                };
                print_json(&serde_json::json!({
                    "ok": false, "config": locations.config, "problems": problems,
                }))?;
            } else {
                eprintln!("{}", error_text(&e));
            }
            return Ok(EXIT_UNKNOWN);
        }
    };
    let stack = crate::env::stack::InUse::of(&ctx.config, ctx.stack.as_ref(), ctx.config_found);
    let mut ok = true;
    let mut envs = Vec::new();
    for env in environment::all(&ctx.config) {
        let db = env.database();
        ok &= db.is_ok();
        envs.push((env, db));
    }
    if json {
        let list: Vec<serde_json::Value> = envs
            .iter()
            .map(|(env, db)| {
                serde_json::json!({
                    "name": env.name, "root": env.root, "url": env.url, "web": env.web,
                    "db_config": env.db_config, "backup_dir": env.backup_dir, "media_dirs": env.media_dirs,
                    "database": db.as_ref().ok(),
                    "problem": db.as_ref().err().map(|e| e.to_string()),
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "ok": ok, "config": ctx.locations.config, "config_found": ctx.config_found,
            "language": ctx.lang, "environments": list, "problems": [], "stack": stack,
        }))?;
    } else {
        let found = if ctx.config_found { "" } else { " (absent: defaults)" };
        println!("Configuration: {}{found}", ctx.locations.config.display());
        println!("{}", stack.line());
        for (env, db) in &envs {
            println!("\n[{}] {}", env.name, env.root.display());
            if let Some(url) = &env.url {
                println!("  url        {url}");
            }
            println!("  web        {}", env.web.display());
            println!("  db-config  {}", env.db_config.display());
            println!("  backup-dir {}", env.backup_dir.display());
            println!("  media-dirs {}", env.media_dirs.join(", "));
            match db {
                Ok(s) => {
                    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
                    println!(
                        "  database   host={} port={} socket={} dbname={} user={} password={}",
                        opt(&s.host),
                        s.port.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                        s.socket
                            .as_ref()
                            .map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
                        opt(&s.name),
                        opt(&s.user),
                        if s.password.is_some() { "***" } else { "(none)" },
                    );
                }
                Err(e) => println!("  database   PROBLEM: {e}"),
            }
        }
    }
    Ok(if ok { 0 } else { EXIT_UNKNOWN })
}
