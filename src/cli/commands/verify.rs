//! `secours verify`: verify the latest pair completely.

use anyhow::Result;
use jiff::Timestamp;

use crate::cli::args::VerifyArgs;
use crate::cli::print_json;
use crate::cli::progress::Bars;
use crate::i18n::fill;
use crate::run::{Context, open_history};

pub fn verify_command(ctx: &Context, args: &VerifyArgs) -> Result<u8> {
    let sel = crate::backup::operations::Selection {
        folder: args.folder.clone(),
        env: args.env.clone(),
    };
    let pair = match crate::backup::operations::select(&ctx.config, &sel) {
        Ok(p) => p,
        Err(e @ crate::backup::operations::OperationError::Incomplete { .. }) => {
            eprintln!("secours: {e}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    let history = open_history(&ctx.locations);
    let bars = Bars::new(!args.json);
    let v = crate::backup::operations::verify(
        &pair,
        history.as_ref(),
        args.force,
        &bars,
        &crate::progress::Cancel::new(),
    );
    // A sound pair may still look wrong: said, never hidden (the exit code stays about the files).
    let now = Timestamp::now();
    let judged = history.as_ref().filter(|_| v.verdict.is_ok()).and_then(|h| {
        crate::backup::anomaly::judgement(
            h,
            &ctx.config.anomaly,
            &pair.observation.folder,
            &pair.db,
            &pair.media,
            now,
        )
    });
    let anomalies = judged
        .as_ref()
        .filter(|j| j.is_suspect())
        .map(|j| j.anomalies(ctx.lang, now))
        .unwrap_or_default();
    if args.json {
        let mut value = serde_json::to_value(&v)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("suspect".to_owned(), serde_json::Value::Bool(!anomalies.is_empty()));
            obj.insert("anomalies".to_owned(), serde_json::to_value(&anomalies)?);
        }
        print_json(&value)?;
    } else {
        let t = ctx.lang.t();
        for f in [&v.db, &v.media] {
            let reason = f.details.get("reason").and_then(|r| r.as_str()).unwrap_or("");
            println!("{:<10} {}  {reason}", f.verdict, f.path.display());
            if let Some(outside) = f
                .details
                .get("containment")
                .and_then(|c| serde_json::from_value::<crate::db::importer::Outside>(c.clone()).ok())
            {
                let detail = outside.to_string();
                println!(
                    "{:<10} {}",
                    "",
                    crate::i18n::fill(t.verify_outside, &[("detail", &detail)])
                );
            }
        }
        // Where the media folders are in the archive, and what a restore would take from it.
        if let Some(layout) = crate::backup::verify::MediaLayout::from_details(&v.media.details) {
            println!("{:<10} {}", "", layout.describe());
        }
        println!("{}", if v.verdict.is_ok() { t.verify_ok } else { t.verify_bad });
        if let Some(j) = judged.as_ref().filter(|j| j.is_suspect()) {
            println!(
                "{}",
                fill(
                    ctx.lang.report().verify_suspect,
                    &[(
                        "message",
                        &format!("{}. {}", j.summary(ctx.lang, now), ctx.lang.report().advice)
                    )]
                )
            );
        }
    }
    Ok(v.exit_code())
}
