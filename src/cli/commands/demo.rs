//! `secours demo` and `secours app`: a demo installation made and run; things made to go wrong on request.

use anyhow::Result;
use jiff::Timestamp;

use crate::cli::Flow;
use crate::cli::args::DemoArgs;
use crate::cli::commands::status::status_command;
use crate::demo;
use crate::env::config::{self};
use crate::env::paths::Locations;
use crate::i18n::{Lang, fill};
use crate::run::{Context, Held, open_history};

/// The demo's database server, when the configuration is the demo's: running (started if needed) for as
/// long as the returned value lives. A problem is said in one line; the command goes on without it.
pub fn attach_demo_server(locations: &Locations) -> Option<demo::server::Attached> {
    if !locations.config.exists() {
        return None;
    }
    let config = config::load(&locations.config).ok()?;
    let dir = config.demo.as_ref()?.dir.clone();
    match demo::server::attach(&config, &dir) {
        Ok(attached) => Some(attached),
        Err(e) => {
            eprintln!("secours: {}", demo_server_problem(Lang::choose(config.language), &e));
            None
        }
    }
}

/// A demo server that is not there, for people: how to install one, or why it did not start.
pub fn demo_server_problem(lang: Lang, e: &demo::server::ServerError) -> String {
    let d = lang.demo();
    match e {
        demo::server::ServerError::NotInstalled => fill(d.no_server, &[("install", demo::server::install_hint())]),
        e => fill(d.server_failed, &[("error", &e.to_string())]),
    }
}

pub fn demo_command(locations: Locations, args: &DemoArgs, mut held: Held) -> Result<Flow> {
    let dir = args.dir.clone().unwrap_or_else(|| locations.demo_dir());
    if args.serve {
        demo::server::keep(&dir)?;
        return Ok(Flow::Exit(0));
    }
    if args.trouble() {
        return demo_trouble(locations, &dir, args).map(Flow::Exit);
    }
    let demo = demo::layout(&dir)?;
    let locations = Locations {
        config: demo.config.clone(),
        config_explicit: true,
        ..locations
    };
    let ctx = Context::load(locations)?;
    let t = ctx.lang.t();
    eprintln!(
        "{}",
        fill(
            t.demo_created,
            &[
                ("dir", &demo.dir.display().to_string()),
                ("config", &demo.config.display().to_string())
            ]
        )
    );
    // The demo's own database: loaded, and production's pair made from it. Without it, the application's
    // dump is the pair, and everything that needs no database still runs.
    let live = match demo::go_live(&demo, &ctx.config, ctx.lang) {
        Ok(live) => {
            for m in &live.messages {
                eprintln!("{m}");
            }
            Some(live.attached)
        }
        Err(e) => {
            match &e {
                demo::DemoError::Server(s) => eprintln!("{}", demo_server_problem(ctx.lang, s)),
                e => eprintln!("{}", fill(ctx.lang.demo().server_failed, &[("error", &e.to_string())])),
            }
            demo::write_backup_pair(&demo.dir.join("prod/web"), &demo.backup_dir)?;
            None
        }
    };
    // The demo starts as a well-kept installation: its backup already copied to the safe place.
    if let Ok(pair) = crate::backup::operations::select(&ctx.config, &Default::default()) {
        let history = open_history(&ctx.locations);
        let dests = ctx.config.safe_copy.destinations.clone();
        let cancel = crate::progress::Cancel::new();
        if let Err(e) = crate::backup::operations::copy_to(
            &ctx.config,
            &pair,
            &dests,
            history.as_ref(),
            &crate::progress::Silent,
            &cancel,
        ) {
            log::warn!("demo: first safe copy: {e}");
        }
    }
    eprintln!("{}", ctx.lang.demo().try_this);
    if args.suspect {
        demo_suspect(&ctx, &demo)?;
    }
    if live.is_some() {
        held.demo_server = live;
    }
    if args.no_ui {
        return status_command(&ctx, false).map(Flow::Exit);
    }
    start_app(ctx, held)
}

/// `secours demo --suspect`: the pair just made is verified (the reference), then a table is emptied and a
/// new pair written and verified: the status says `suspect` and what changed.
pub fn demo_suspect(ctx: &Context, demo: &demo::Demo) -> Result<()> {
    let history = open_history(&ctx.locations);
    let cancel = crate::progress::Cancel::new();
    let judge = || -> Result<()> {
        let pair = crate::backup::operations::select(&ctx.config, &Default::default())?;
        crate::backup::operations::verify(&pair, history.as_ref(), false, &crate::progress::Silent, &cancel);
        if let Some(h) = &history {
            crate::backup::anomaly::judgement(
                h,
                &ctx.config.anomaly,
                &pair.observation.folder,
                &pair.db,
                &pair.media,
                Timestamp::now(),
            );
        }
        Ok(())
    };
    judge()?;
    // The demo's hourly backup would replace the suspect pair at once: it stops, as with --age.
    demo::set_job(&demo.dir, false)?;
    demo::write_suspect_pair(&demo.dir.join("prod/web"), &demo.backup_dir)?;
    judge()
}

/// `secours demo --age D | --stop-job | --corrupt`: things go wrong on request, then the status.
pub fn demo_trouble(locations: Locations, dir: &std::path::Path, args: &DemoArgs) -> Result<u8> {
    let config_path = dir.join("config.toml");
    if !config_path.exists() {
        return Err(demo::DemoError::NoDemo { dir: dir.to_owned() }.into());
    }
    let ctx = Context::load(Locations {
        config: config_path,
        config_explicit: true,
        ..locations
    })?;
    let (d, t) = (ctx.lang.demo(), ctx.lang.t());
    let message = if let Some(age) = &args.age {
        let by = config::HumanDuration::parse(age).map_err(|_| {
            anyhow::anyhow!("'{age}' is not a duration for --age; write it like '2h' (late) or '4h' (stale)")
        })?;
        demo::age_backup(&ctx.config, dir, by.0)?;
        fill(d.aged, &[("age", &t.age(by.as_secs() as i64))])
    } else if args.stop_job {
        let since = demo::stop_job(&ctx.config, dir)?;
        fill(d.job_stopped, &[("age", &t.age(since.as_secs() as i64))])
    } else {
        let path = demo::corrupt(&ctx.config)?;
        fill(d.corrupted, &[("path", &path.display().to_string())])
    };
    eprintln!("{message}");
    status_command(&ctx, false)
}

/// `secours app` (and `secours` alone): the menu-bar app on the configuration; with no configuration anywhere
/// and no stack installed here, on the demo (the README's first command); with a stack found, on that stack.
pub fn app_command(locations: Locations, held: Held) -> Result<Flow> {
    if !locations.config.exists() && !locations.config_explicit && crate::env::stack::discover_here().is_none() {
        return demo_command(locations, &DemoArgs::default(), held);
    }
    start_app(Context::load(locations)?, held)
}

/// Hands over to the menu-bar app; without a display (or in a build without the app) says so and prints
/// the status instead.
pub fn start_app(ctx: Context, held: Held) -> Result<Flow> {
    #[cfg(feature = "gui")]
    if crate::run::has_display() {
        return Ok(Flow::App {
            ctx: Box::new(ctx),
            held,
        });
    }
    let t = ctx.lang.t();
    eprintln!(
        "{}",
        if cfg!(feature = "gui") {
            t.demo_no_display
        } else {
            t.no_gui
        }
    );
    let _held = held;
    status_command(&ctx, false).map(Flow::Exit)
}
