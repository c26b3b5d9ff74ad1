//! The menu-bar app: the session and its background duties ([`session`]), the tray ([`tray`]), the menu
//! as a pure function of state ([`menu`]), its icons ([`icons`]), alerts and their memory ([`alerts`],
//! [`alert_memory`]), notifications ([`notifications`]) and the file watcher ([`watcher`]).
//!
//! May use: everything below the shells, never [`crate::cli`].

pub mod alert_memory;
pub mod alerts;
pub mod icons;
pub mod menu;
pub mod notifications;
pub mod session;
pub mod tray;
pub mod watcher;

use anyhow::Result;
use jiff::Timestamp;

use crate::env::paths::Locations;
use crate::run::{Context, Held};

/// Runs the menu-bar app on `ctx` (never returns while the app runs), keeping `held` alive.
pub fn start(ctx: Context, held: Held) -> Result<u8> {
    crate::run::logging::init_file(&ctx.locations.log_dir);
    let _held = held;
    tray::run(session::Session::new(ctx))
}

/// `secours menu [--json]`: the menu the app would show now, as text or JSON (for scripts and tests).
pub fn print_menu(locations: Locations, json: bool) -> Result<u8> {
    let session = match Context::load(locations.clone()) {
        Ok(ctx) => session::Session::new(ctx),
        Err(e) => session::Session::broken(locations, crate::run::error_text(&e)),
    };
    let now = Timestamp::now();
    let input = session.snapshot(now);
    let items = menu::build(&input, now, session.lang);
    let icon = menu::icon(&input, now);
    if json {
        let value = serde_json::json!({ "icon": icon, "title": menu::title(&input, session.lang), "items": items });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        fn show(items: &[menu::Item], depth: usize) {
            for i in items {
                if i.separator {
                    println!("{}—", "  ".repeat(depth));
                    continue;
                }
                let mark = match i.checked {
                    Some(true) => "[x] ",
                    Some(false) => "[ ] ",
                    None => "",
                };
                let off = if i.enabled || i.action.is_none() { "" } else { " (off)" };
                println!("{}{mark}{}{off}", "  ".repeat(depth), i.label);
                show(&i.children, depth + 1);
            }
        }
        println!("[{}]", icon.as_str());
        show(&items, 0);
    }
    Ok(0)
}
