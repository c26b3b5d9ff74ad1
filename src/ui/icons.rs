//! The app icon and the tray icons, drawn from simple geometry (no external artwork).
//!
//! Every icon is a pure function of its parameters: shapes are tested per sub-sample with only `+ - * /`
//! and `sqrt` (exact in IEEE arithmetic, so the same on every OS), so the committed PNGs under
//! `resources/icons/` can be regenerated bit-for-bit by `cargo run --example make_icons` and a test checks
//! they are up to date. The tray reads the committed files through [`tray_icon_rgba`] (embedded with
//! `include_bytes!`), so running the app never draws anything.
//!
//! Two tray families exist: coloured shields for Linux panels (the colour carries the state) and
//! monochrome "template" glyphs for the macOS menu bar (black + alpha; macOS tints them for light and dark
//! menu bars), where the state is carried by the mark cut out of the shield.

use std::fmt;

/// Errors from encoding or decoding an icon PNG.
#[derive(Debug, thiserror::Error)]
pub enum IconError {
    /// The PNG encoder refused the image.
    #[error(
        "cannot encode the {size}x{size} icon '{name}' as PNG: {reason}. This is a bug in Secours; please report it."
    )]
    Encode {
        /// Which icon.
        name: String,
        /// Its side in pixels.
        size: u32,
        /// The encoder's message.
        reason: String,
    },
    /// An icon PNG could not be read back.
    #[error(
        "cannot decode the icon PNG '{name}': {reason}. Regenerate the icons with `cargo run --example make_icons`."
    )]
    Decode {
        /// Which icon.
        name: String,
        /// The decoder's message.
        reason: String,
    },
}

/// The overall state the tray shows, one icon each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrayState {
    /// Backups are recent: all is well.
    Fresh,
    /// The last backup is older than expected, but not alarmingly.
    Late,
    /// The backup is too old, missing or corrupt: act now.
    Stale,
    /// A check or a restore is running.
    Working,
    /// Something needs the user (a failed restore, a permission to grant).
    Attention,
}

impl TrayState {
    /// Every state, in the order the icons are generated.
    pub const ALL: [TrayState; 5] = [
        TrayState::Fresh,
        TrayState::Late,
        TrayState::Stale,
        TrayState::Working,
        TrayState::Attention,
    ];

    /// The name used in icon file names (`tray-<name>.png`).
    pub fn name(self) -> &'static str {
        match self {
            TrayState::Fresh => "fresh",
            TrayState::Late => "late",
            TrayState::Stale => "stale",
            TrayState::Working => "working",
            TrayState::Attention => "attention",
        }
    }

    /// The colour of the coloured (Linux) shield.
    fn colour(self) -> Rgba {
        match self {
            TrayState::Fresh => Rgba::rgb(0x2e, 0x9e, 0x48),
            TrayState::Late => Rgba::rgb(0xe8, 0x85, 0x14),
            TrayState::Stale => Rgba::rgb(0xd6, 0x3a, 0x2f),
            TrayState::Working => Rgba::rgb(0x2f, 0x7b, 0xd6),
            TrayState::Attention => Rgba::rgb(0x8e, 0x4c, 0xc2),
        }
    }
}

impl fmt::Display for TrayState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Sides (pixels) of the app icon sources; they feed the `.icns` (16 … 512 and 512@2x).
pub const APP_ICON_SIZES: [u32; 7] = [16, 32, 64, 128, 256, 512, 1024];

/// Sides (pixels) of the tray icons: 1x and @2x.
pub const TRAY_ICON_SIZES: [u32; 2] = [32, 64];

/// File name of the app icon source of side `size`, e.g. `app-256.png`.
pub fn app_icon_file_name(size: u32) -> String {
    format!("app-{size}.png")
}

/// File name of a tray icon: `tray-<state>[-template][@2x].png` (`@2x` for 64 px).
pub fn tray_icon_file_name(state: TrayState, template: bool, size: u32) -> String {
    let template = if template { "-template" } else { "" };
    let scale = if size == TRAY_ICON_SIZES[1] { "@2x" } else { "" };
    format!("tray-{}{template}{scale}.png", state.name())
}

/// Every generated icon as (file name, PNG bytes), in a fixed order; `make_icons` writes them.
pub fn generated_icons() -> Result<Vec<(String, Vec<u8>)>, IconError> {
    let mut out = Vec::new();
    for size in APP_ICON_SIZES {
        out.push((app_icon_file_name(size), render_app_icon(size)?));
    }
    for state in TrayState::ALL {
        for template in [false, true] {
            for size in TRAY_ICON_SIZES {
                let png = render_tray_icon(state, template, size)?;
                out.push((tray_icon_file_name(state, template, size), png));
            }
        }
    }
    Ok(out)
}

/// Draws the app icon (a green-and-white lifebuoy on a blue rounded square) as a `size`×`size` PNG.
pub fn render_app_icon(size: u32) -> Result<Vec<u8>, IconError> {
    let pixels = rasterize(size, &app_icon_scene(size));
    encode_png(&format!("app-{size}"), size, &pixels)
}

/// Draws the tray icon of `state` as a `size`×`size` PNG: coloured, or a macOS template when `template`.
pub fn render_tray_icon(state: TrayState, template: bool, size: u32) -> Result<Vec<u8>, IconError> {
    let pixels = rasterize(size, &tray_scene(state, template));
    encode_png(&tray_icon_file_name(state, template, size), size, &pixels)
}

/// The committed tray PNG of `state` (64 px when `hidpi`, else 32 px), embedded in the binary.
pub fn tray_icon_png(state: TrayState, template: bool, hidpi: bool) -> &'static [u8] {
    macro_rules! icon {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/resources/icons/", $name))
        };
    }
    match (state, template, hidpi) {
        (TrayState::Fresh, false, false) => icon!("tray-fresh.png"),
        (TrayState::Fresh, false, true) => icon!("tray-fresh@2x.png"),
        (TrayState::Fresh, true, false) => icon!("tray-fresh-template.png"),
        (TrayState::Fresh, true, true) => icon!("tray-fresh-template@2x.png"),
        (TrayState::Late, false, false) => icon!("tray-late.png"),
        (TrayState::Late, false, true) => icon!("tray-late@2x.png"),
        (TrayState::Late, true, false) => icon!("tray-late-template.png"),
        (TrayState::Late, true, true) => icon!("tray-late-template@2x.png"),
        (TrayState::Stale, false, false) => icon!("tray-stale.png"),
        (TrayState::Stale, false, true) => icon!("tray-stale@2x.png"),
        (TrayState::Stale, true, false) => icon!("tray-stale-template.png"),
        (TrayState::Stale, true, true) => icon!("tray-stale-template@2x.png"),
        (TrayState::Working, false, false) => icon!("tray-working.png"),
        (TrayState::Working, false, true) => icon!("tray-working@2x.png"),
        (TrayState::Working, true, false) => icon!("tray-working-template.png"),
        (TrayState::Working, true, true) => icon!("tray-working-template@2x.png"),
        (TrayState::Attention, false, false) => icon!("tray-attention.png"),
        (TrayState::Attention, false, true) => icon!("tray-attention@2x.png"),
        (TrayState::Attention, true, false) => icon!("tray-attention-template.png"),
        (TrayState::Attention, true, true) => icon!("tray-attention-template@2x.png"),
    }
}

/// The tray icon of `state` as (RGBA8 pixels, width, height), ready for `tray_icon::Icon::from_rgba`.
///
/// Always the 64 px (@2x) variant: the menu bar and the panels scale it down, and it stays sharp on
/// HiDPI screens.
pub fn tray_icon_rgba(state: TrayState, template: bool) -> Result<(Vec<u8>, u32, u32), IconError> {
    decode_png(
        &tray_icon_file_name(state, template, TRAY_ICON_SIZES[1]),
        tray_icon_png(state, template, true),
    )
}

/// Decodes an 8-bit RGBA PNG into (pixels, width, height); `name` only labels errors.
pub fn decode_png(name: &str, png_bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), IconError> {
    let fail = |reason: String| IconError::Decode {
        name: name.to_string(),
        reason,
    };
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().map_err(|e| fail(e.to_string()))?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| fail("image too large".to_string()))?
    ];
    let info = reader.next_frame(&mut buf).map_err(|e| fail(e.to_string()))?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return Err(fail(format!(
            "expected 8-bit RGBA, found {:?} {:?}",
            info.bit_depth, info.color_type
        )));
    }
    buf.truncate(info.buffer_size());
    Ok((buf, info.width, info.height))
}

fn encode_png(name: &str, size: u32, pixels: &[u8]) -> Result<Vec<u8>, IconError> {
    let fail = |reason: String| IconError::Encode {
        name: name.to_string(),
        size,
        reason,
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer.write_image_data(pixels).map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// Drawing: a scene is a list of layers painted back to front; coordinates are in the unit square (y down).

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgba {
    r: f64,
    g: f64,
    b: f64,
    a: f64,
}

impl Rgba {
    const CLEAR: Rgba = Rgba {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        a: 0.0,
    };

    fn rgb(r: u8, g: u8, b: u8) -> Rgba {
        Rgba {
            r: f64::from(r) / 255.0,
            g: f64::from(g) / 255.0,
            b: f64::from(b) / 255.0,
            a: 1.0,
        }
    }

    fn with_alpha(self, a: f64) -> Rgba {
        Rgba { a, ..self }
    }

    fn mix(self, other: Rgba, t: f64) -> Rgba {
        let lerp = |x: f64, y: f64| x + (y - x) * t;
        Rgba {
            r: lerp(self.r, other.r),
            g: lerp(self.g, other.g),
            b: lerp(self.b, other.b),
            a: lerp(self.a, other.a),
        }
    }

    /// Source-over compositing of `self` onto `below` (straight alpha in, straight alpha out).
    fn over(self, below: Rgba) -> Rgba {
        let a = self.a + below.a * (1.0 - self.a);
        if a <= 0.0 {
            return Rgba::CLEAR;
        }
        let c = |s: f64, d: f64| (s * self.a + d * below.a * (1.0 - self.a)) / a;
        Rgba {
            r: c(self.r, below.r),
            g: c(self.g, below.g),
            b: c(self.b, below.b),
            a,
        }
    }
}

/// A region of the unit square.
#[derive(Debug, Clone)]
enum Shape {
    /// Superellipse `|dx/r|^4 + |dy/r|^4 <= 1`: a rounded square close to macOS's icon outline.
    Squircle {
        cx: f64,
        cy: f64,
        r: f64,
    },
    Circle {
        cx: f64,
        cy: f64,
        r: f64,
    },
    Ring {
        cx: f64,
        cy: f64,
        outer: f64,
        inner: f64,
    },
    /// A segment with round caps, `r` being half its thickness.
    Capsule {
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
        r: f64,
    },
    /// Flat top with rounded corners, straight sides down to `mid`, then curving to a point at `bottom`.
    Shield {
        cx: f64,
        top: f64,
        bottom: f64,
        mid: f64,
        half_width: f64,
        corner: f64,
    },
    /// The four 45° sectors centred on the axes through (cx, cy): `|dy| < k|dx|` or `|dx| < k|dy|`,
    /// with `k = tan 22.5°`; they cut the lifebuoy into its coloured bands.
    AxisBands {
        cx: f64,
        cy: f64,
    },
    Both(Box<Shape>, Box<Shape>),
    Union(Vec<Shape>),
}

impl Shape {
    fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            Shape::Squircle { cx, cy, r } => {
                let (u, v) = ((x - cx) / r, (y - cy) / r);
                let (u2, v2) = (u * u, v * v);
                u2 * u2 + v2 * v2 <= 1.0
            }
            Shape::Circle { cx, cy, r } => dist2(x, y, *cx, *cy) <= r * r,
            Shape::Ring { cx, cy, outer, inner } => {
                let d2 = dist2(x, y, *cx, *cy);
                d2 <= outer * outer && d2 >= inner * inner
            }
            Shape::Capsule { x0, y0, x1, y1, r } => {
                let (dx, dy) = (x1 - x0, y1 - y0);
                let len2 = dx * dx + dy * dy;
                let t = if len2 > 0.0 {
                    (((x - x0) * dx + (y - y0) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                dist2(x, y, x0 + t * dx, y0 + t * dy) <= r * r
            }
            Shape::Shield {
                cx,
                top,
                bottom,
                mid,
                half_width,
                corner,
            } => {
                if y < *top || y > *bottom {
                    return false;
                }
                let dx = (x - cx).abs();
                let reach = if y <= *mid {
                    *half_width
                } else {
                    let s = (y - mid) / (bottom - mid);
                    half_width * (1.0 - s * s)
                };
                if dx > reach {
                    return false;
                }
                let (ccx, ccy) = (half_width - corner, top + corner);
                !(dx > ccx && y < ccy && dist2(dx, y, ccx, ccy) > corner * corner)
            }
            Shape::AxisBands { cx, cy } => {
                let k = 2.0_f64.sqrt() - 1.0;
                let (dx, dy) = ((x - cx).abs(), (y - cy).abs());
                dy < k * dx || dx < k * dy
            }
            Shape::Both(a, b) => a.contains(x, y) && b.contains(x, y),
            Shape::Union(shapes) => shapes.iter().any(|s| s.contains(x, y)),
        }
    }
}

fn dist2(x: f64, y: f64, cx: f64, cy: f64) -> f64 {
    (x - cx) * (x - cx) + (y - cy) * (y - cy)
}

#[derive(Debug, Clone)]
enum Paint {
    Solid(Rgba),
    /// Vertical gradient from `top` (at y = y0) to `bottom` (at y = y1).
    Vertical {
        top: Rgba,
        bottom: Rgba,
        y0: f64,
        y1: f64,
    },
    /// Makes the covered sub-samples transparent again (knock-outs in template glyphs).
    Erase,
}

struct Layer {
    shape: Shape,
    paint: Paint,
}

fn layer(shape: Shape, paint: Paint) -> Layer {
    Layer { shape, paint }
}

/// Renders a scene to straight-alpha RGBA8, `n`×`n` sub-samples per pixel, averaged with premultiplied
/// alpha so edges between layers do not bleed.
fn rasterize(size: u32, scene: &[Layer]) -> Vec<u8> {
    // Small icons get more sub-samples: their edges are a larger share of what the eye sees.
    let n: u32 = if size <= 64 { 8 } else { 4 };
    let side = f64::from(size);
    let step = 1.0 / f64::from(n);
    let mut out = Vec::with_capacity((size * size * 4) as usize);
    for py in 0..size {
        for px in 0..size {
            let (mut r, mut g, mut b, mut a) = (0.0, 0.0, 0.0, 0.0);
            for sy in 0..n {
                for sx in 0..n {
                    let x = (f64::from(px) + (f64::from(sx) + 0.5) * step) / side;
                    let y = (f64::from(py) + (f64::from(sy) + 0.5) * step) / side;
                    let mut c = Rgba::CLEAR;
                    for l in scene {
                        if l.shape.contains(x, y) {
                            c = match &l.paint {
                                Paint::Solid(colour) => colour.over(c),
                                Paint::Vertical { top, bottom, y0, y1 } => {
                                    top.mix(*bottom, ((y - y0) / (y1 - y0)).clamp(0.0, 1.0)).over(c)
                                }
                                Paint::Erase => Rgba::CLEAR,
                            };
                        }
                    }
                    r += c.r * c.a;
                    g += c.g * c.a;
                    b += c.b * c.a;
                    a += c.a;
                }
            }
            let count = f64::from(n * n);
            let to_byte = |v: f64| (v * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8;
            if a > 0.0 {
                out.extend_from_slice(&[to_byte(r / a), to_byte(g / a), to_byte(b / a), to_byte(a / count)]);
            } else {
                out.extend_from_slice(&[0, 0, 0, 0]);
            }
        }
    }
    out
}

fn app_icon_scene(size: u32) -> Vec<Layer> {
    let (cx, cy) = (0.5, 0.5);
    // The rounded square follows Apple's icon grid (824/1024 of the canvas, leaving room for the shadow),
    // except in list-view sizes, where every pixel counts and a shadow would only blur the edge.
    let small = size <= 32;
    let tile = if small { 0.47 } else { 0.4023 };
    let shadow = if small { 0.0 } else { 0.09 };
    let white = Rgba::rgb(0xff, 0xff, 0xff);
    let green = Rgba::rgb(0x2f, 0xb3, 0x5a);
    let dark_green = Rgba::rgb(0x1d, 0x7a, 0x3b);
    let (outer, inner) = (0.285, 0.15);
    vec![
        // A soft drop shadow (two faint layers), then the tile.
        layer(
            Shape::Squircle {
                cx,
                cy: cy + 0.016,
                r: tile + 0.008,
            },
            Paint::Solid(Rgba::CLEAR.with_alpha(shadow)),
        ),
        layer(
            Shape::Squircle {
                cx,
                cy: cy + 0.010,
                r: tile + 0.004,
            },
            Paint::Solid(Rgba::CLEAR.with_alpha(shadow)),
        ),
        layer(
            Shape::Squircle { cx, cy, r: tile },
            Paint::Vertical {
                top: Rgba::rgb(0x3a, 0x8e, 0xd8),
                bottom: Rgba::rgb(0x17, 0x4f, 0x94),
                y0: cy - tile,
                y1: cy + tile,
            },
        ),
        // The buoy's shadow on the tile.
        layer(
            Shape::Ring {
                cx,
                cy: cy + 0.018,
                outer: outer + 0.004,
                inner: inner - 0.004,
            },
            Paint::Solid(Rgba::CLEAR.with_alpha(0.28)),
        ),
        layer(Shape::Ring { cx, cy, outer, inner }, Paint::Solid(white)),
        // Four green bands across the white ring, like the stripes of a real lifebuoy.
        layer(
            Shape::Both(
                Box::new(Shape::Ring { cx, cy, outer, inner }),
                Box::new(Shape::AxisBands { cx, cy }),
            ),
            Paint::Solid(green),
        ),
        // A thin darker rim keeps the white parts apart from a white desktop at small sizes.
        layer(
            Shape::Ring {
                cx,
                cy,
                outer,
                inner: outer - 0.012,
            },
            Paint::Solid(dark_green.with_alpha(0.55)),
        ),
        layer(
            Shape::Ring {
                cx,
                cy,
                outer: inner + 0.012,
                inner,
            },
            Paint::Solid(dark_green.with_alpha(0.55)),
        ),
    ]
}

fn tray_shield(inset: f64) -> Shape {
    Shape::Shield {
        cx: 0.5,
        top: 0.06 + inset,
        bottom: 0.96 - inset * 1.6,
        mid: 0.48,
        half_width: 0.40 - inset,
        corner: (0.10 - inset).max(0.0),
    }
}

/// The state mark, centred on the shield's visual centre.
fn tray_mark(state: TrayState) -> Shape {
    let t = 0.065; // half stroke width
    let (cx, cy) = (0.5, 0.44);
    match state {
        TrayState::Fresh => Shape::Union(vec![
            Shape::Capsule {
                x0: 0.32,
                y0: 0.45,
                x1: 0.45,
                y1: 0.58,
                r: t,
            },
            Shape::Capsule {
                x0: 0.45,
                y0: 0.58,
                x1: 0.68,
                y1: 0.32,
                r: t,
            },
        ]),
        // A clock face: a thin ring and two hands, thinner than the other marks so the face stays open.
        TrayState::Late => Shape::Union(vec![
            Shape::Ring {
                cx,
                cy,
                outer: 0.245,
                inner: 0.175,
            },
            Shape::Capsule {
                x0: cx,
                y0: cy,
                x1: cx,
                y1: cy - 0.12,
                r: 0.037,
            },
            Shape::Capsule {
                x0: cx,
                y0: cy,
                x1: cx + 0.095,
                y1: cy,
                r: 0.037,
            },
        ]),
        TrayState::Stale => Shape::Union(vec![
            Shape::Capsule {
                x0: 0.36,
                y0: 0.31,
                x1: 0.64,
                y1: 0.59,
                r: t,
            },
            Shape::Capsule {
                x0: 0.64,
                y0: 0.31,
                x1: 0.36,
                y1: 0.59,
                r: t,
            },
        ]),
        TrayState::Working => Shape::Union(vec![
            Shape::Circle { cx: 0.31, cy, r: 0.075 },
            Shape::Circle { cx, cy, r: 0.075 },
            Shape::Circle { cx: 0.69, cy, r: 0.075 },
        ]),
        TrayState::Attention => Shape::Union(vec![
            Shape::Capsule {
                x0: cx,
                y0: 0.25,
                x1: cx,
                y1: 0.50,
                r: t,
            },
            Shape::Circle {
                cx,
                cy: 0.65,
                r: t * 1.15,
            },
        ]),
    }
}

fn tray_scene(state: TrayState, template: bool) -> Vec<Layer> {
    let black = Rgba::rgb(0, 0, 0);
    let white = Rgba::rgb(0xff, 0xff, 0xff);
    if template {
        return vec![
            layer(tray_shield(0.0), Paint::Solid(black)),
            layer(tray_mark(state), Paint::Erase),
        ];
    }
    let colour = state.colour();
    // A darker rim so the shield stands out on light panels; the colour itself stands out on dark ones.
    vec![
        layer(tray_shield(0.0), Paint::Solid(colour.mix(black, 0.35))),
        layer(
            tray_shield(0.045),
            Paint::Vertical {
                top: colour.mix(white, 0.12),
                bottom: colour,
                y0: 0.1,
                y1: 0.9,
            },
        ),
        layer(tray_mark(state), Paint::Solid(white)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_documented_pattern() {
        assert_eq!(app_icon_file_name(1024), "app-1024.png");
        assert_eq!(tray_icon_file_name(TrayState::Late, false, 32), "tray-late.png");
        assert_eq!(
            tray_icon_file_name(TrayState::Stale, true, 64),
            "tray-stale-template@2x.png"
        );
    }

    #[test]
    fn template_icons_are_black_with_alpha_only() {
        for state in TrayState::ALL {
            let png = render_tray_icon(state, true, 32).unwrap();
            let (pixels, w, h) = decode_png("t", &png).unwrap();
            assert_eq!((w, h), (32, 32));
            assert!(
                pixels.chunks(4).all(|p| p[0] == 0 && p[1] == 0 && p[2] == 0),
                "{state} has colour"
            );
            assert!(pixels.chunks(4).any(|p| p[3] == 255), "{state} is empty");
        }
    }

    #[test]
    fn each_state_has_a_distinct_template_glyph() {
        // Guards the macOS menu bar, where the mark is the only thing telling the states apart.
        let glyphs: Vec<_> = TrayState::ALL
            .iter()
            .map(|s| render_tray_icon(*s, true, 32).unwrap())
            .collect();
        for i in 0..glyphs.len() {
            for j in i + 1..glyphs.len() {
                assert_ne!(glyphs[i], glyphs[j]);
            }
        }
    }

    #[test]
    fn app_icon_corners_are_transparent_and_centre_is_opaque() {
        let (pixels, _, _) = decode_png("a", &render_app_icon(64).unwrap()).unwrap();
        assert_eq!(pixels[3], 0);
        // The centre is the buoy's hole, showing the opaque tile.
        let centre = (32 * 64 + 32) * 4;
        assert_eq!(pixels[centre + 3], 255);
    }

    #[test]
    fn embedded_tray_icons_decode_to_64_px() {
        for state in TrayState::ALL {
            for template in [false, true] {
                let (pixels, w, h) = tray_icon_rgba(state, template).unwrap();
                assert_eq!((w, h), (64, 64));
                assert_eq!(pixels.len(), 64 * 64 * 4);
            }
        }
    }
}
