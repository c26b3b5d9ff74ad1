//! Regenerates the committed icon PNGs: `cargo run --example make_icons [-- OUT_DIR]`.
//!
//! The drawing lives in `secours::ui::icons`; this only writes the files (default `resources/icons/`). A test
//! fails when the committed files differ from what the code draws, so run this after changing the drawing.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("resources")
            .join("icons"),
    };
    std::fs::create_dir_all(&out)?;
    for (name, png) in secours::ui::icons::generated_icons()? {
        let path = out.join(&name);
        std::fs::write(&path, png).map_err(|e| anyhow::anyhow!("cannot write '{}': {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
