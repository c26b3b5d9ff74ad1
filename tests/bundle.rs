//! `bundle/make-app` assembles a well-formed `Secours.app` around the built binary, and the committed icons
//! are exactly what `src/icons.rs` draws.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use secours::icons::{self, APP_ICON_SIZES, TRAY_ICON_SIZES, TrayState};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn make_app(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(root().join("bundle/make-app"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_secours"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn make_app_assembles_a_complete_bundle() {
    let out = tempfile::tempdir().unwrap();
    let run = make_app(out.path(), &[]);
    assert!(
        run.status.success(),
        "make-app failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let app = out.path().join("Secours.app");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), app.to_str().unwrap());
    let contents = app.join("Contents");

    let info = plist::Value::from_file(contents.join("Info.plist")).unwrap();
    let info = info.as_dictionary().unwrap();
    let string = |key: &str| {
        info.get(key)
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| panic!("no string {key}"))
    };
    assert_eq!(string("CFBundleIdentifier"), "ch.secours.Secours");
    assert_eq!(string("CFBundleIdentifier"), secours::login_item::DEFAULT_BUNDLE_ID);
    assert_eq!(string("CFBundleName"), "Secours");
    assert_eq!(string("CFBundleDisplayName"), "Secours");
    assert_eq!(string("CFBundleVersion"), env!("CARGO_PKG_VERSION"));
    assert_eq!(string("CFBundleShortVersionString"), env!("CARGO_PKG_VERSION"));
    assert_eq!(string("CFBundlePackageType"), "APPL");
    assert_eq!(string("CFBundleIconFile"), "Secours");
    assert_eq!(string("LSMinimumSystemVersion"), "11.0");
    assert_eq!(string("CFBundleDevelopmentRegion"), "fr");
    assert!(string("NSHumanReadableCopyright").contains("Secours"));
    let prompt = string("NSAppleEventsUsageDescription");
    assert!(
        prompt.contains("administrateur") && prompt.contains("administrator"),
        "{prompt}"
    );
    let locales: Vec<_> = info
        .get("CFBundleLocalizations")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(locales, ["fr", "en"]);
    // Guards the menu-bar-only behaviour: without LSUIElement the app would show a Dock icon.
    assert_eq!(info.get("LSUIElement").and_then(|v| v.as_boolean()), Some(true));

    let exe = contents.join("MacOS").join(string("CFBundleExecutable"));
    assert_eq!(string("CFBundleExecutable"), "secours");
    let mode = fs::metadata(&exe).unwrap().permissions().mode();
    assert!(mode & 0o111 == 0o111, "executable bits missing: {mode:o}");
    assert_eq!(
        fs::read(&exe).unwrap(),
        fs::read(env!("CARGO_BIN_EXE_secours")).unwrap()
    );
    assert_eq!(fs::read(contents.join("PkgInfo")).unwrap(), b"APPL????");

    let icns_path = contents
        .join("Resources")
        .join(format!("{}.icns", string("CFBundleIconFile")));
    let family = icns::IconFamily::read(BufReader::new(fs::File::open(&icns_path).unwrap())).unwrap();
    let mut sizes: Vec<u32> = family.available_icons().iter().map(|t| t.pixel_width()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    assert_eq!(sizes, APP_ICON_SIZES);
    // The largest element must be the committed 1024 px source, pixel for pixel.
    let big = family.get_icon_with_type(icns::IconType::RGBA32_512x512_2x).unwrap();
    let (source, _, _) = icons::decode_png(
        "app-1024",
        &fs::read(root().join("resources/icons/app-1024.png")).unwrap(),
    )
    .unwrap();
    assert_eq!(big.data(), source.as_slice());
}

#[test]
fn make_app_takes_a_bundle_id_and_rejects_a_bad_one() {
    let out = tempfile::tempdir().unwrap();
    let run = make_app(out.path(), &["--bundle-id", "org.example.Secours-Test"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let info = plist::Value::from_file(out.path().join("Secours.app/Contents/Info.plist")).unwrap();
    let id = info
        .as_dictionary()
        .unwrap()
        .get("CFBundleIdentifier")
        .unwrap()
        .as_string()
        .unwrap()
        .to_string();
    assert_eq!(id, "org.example.Secours-Test");

    // Guards the sed substitution against identifiers that would break the plist.
    let bad = make_app(out.path(), &["--bundle-id", "evil</string>&"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'evil</string>&' is not reverse-DNS"));
}

#[test]
fn committed_icons_are_up_to_date() {
    // Compares pixels, not bytes, so a different PNG encoder version does not count as a change.
    let mut stale = Vec::new();
    for (name, png) in icons::generated_icons().unwrap() {
        let path = root().join("resources/icons").join(&name);
        let committed = fs::read(&path).unwrap_or_default();
        let fresh = icons::decode_png(&name, &png).unwrap();
        if icons::decode_png(&name, &committed).ok() != Some(fresh) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale icons {stale:?}: run `cargo run --example make_icons` and commit them"
    );
}

#[test]
fn committed_icons_have_the_right_sizes() {
    for size in APP_ICON_SIZES {
        let name = icons::app_icon_file_name(size);
        let (_, w, h) =
            icons::decode_png(&name, &fs::read(root().join("resources/icons").join(&name)).unwrap()).unwrap();
        assert_eq!((w, h), (size, size), "{name}");
    }
    for state in TrayState::ALL {
        for template in [false, true] {
            for size in TRAY_ICON_SIZES {
                let name = icons::tray_icon_file_name(state, template, size);
                let bytes = fs::read(root().join("resources/icons").join(&name)).unwrap();
                let (_, w, h) = icons::decode_png(&name, &bytes).unwrap();
                assert_eq!((w, h), (size, size), "{name}");
                assert_eq!(
                    bytes,
                    icons::tray_icon_png(state, template, size == 64),
                    "{name} embedded"
                );
            }
        }
    }
}
