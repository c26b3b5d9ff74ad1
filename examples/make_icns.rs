//! Builds `Secours.icns` from the committed app icon PNGs, in pure Rust (no `iconutil`, no Mac needed):
//! `cargo run --example make_icns -- OUT.icns [SOURCE_DIR]` (sources default to `resources/icons/`).
//!
//! Used by `bundle/make-app`. Each size goes into the element types `iconutil` writes for an `.iconset`:
//! 16 and 32 px as classic RGB + 8-bit mask (understood by every macOS), the rest as PNG-carrying
//! elements, including the @2x variants (`ic11` … `ic10`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use icns::{IconFamily, IconType, Image};

/// (source side in px, element types filled from it).
const LAYOUT: [(u32, &[IconType]); 7] = [
    (16, &[IconType::RGB24_16x16]),
    (32, &[IconType::RGB24_32x32, IconType::RGBA32_16x16_2x]),
    (64, &[IconType::RGBA32_32x32_2x]),
    (128, &[IconType::RGBA32_128x128]),
    (256, &[IconType::RGBA32_256x256, IconType::RGBA32_128x128_2x]),
    (512, &[IconType::RGBA32_512x512, IconType::RGBA32_256x256_2x]),
    (1024, &[IconType::RGBA32_512x512_2x]),
];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        bail!("usage: make_icns OUT.icns [SOURCE_DIR]");
    };
    let sources = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("resources")
            .join("icons"),
    };
    let mut family = IconFamily::new();
    for (size, types) in LAYOUT {
        let path = sources.join(secours::ui::icons::app_icon_file_name(size));
        let file = File::open(&path).with_context(|| format!("cannot open the icon source '{}'", path.display()))?;
        let image = Image::read_png(BufReader::new(file))
            .with_context(|| format!("cannot decode the icon source '{}'", path.display()))?;
        for icon_type in types {
            family
                .add_icon_with_type(&image, *icon_type)
                .with_context(|| format!("cannot add '{}' as {icon_type:?}", path.display()))?;
        }
    }
    let file = File::create(&out).with_context(|| format!("cannot create '{}'", out.display()))?;
    let mut writer = BufWriter::new(file);
    family
        .write(&mut writer)
        .with_context(|| format!("cannot write '{}'", out.display()))?;
    writer
        .flush()
        .with_context(|| format!("cannot write '{}'", out.display()))?;
    Ok(())
}
