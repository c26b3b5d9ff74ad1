//! `bundle/make-app` assembles a well-formed `Secours.app` around the built binary, and the committed icons
//! are exactly what `src/icons.rs` draws.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use secours::ui::icons::{self, APP_ICON_SIZES, TRAY_ICON_SIZES, TrayState};

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
    assert_eq!(
        string("CFBundleIdentifier"),
        secours::platform::macos::bundle::DEFAULT_BUNDLE_ID
    );
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

/// A folder of stand-ins for a Mac's `uname`, `codesign` and `iconutil`: each logs its arguments (one
/// line per call) to `calls.log` there; `iconutil` also lists the iconset it was given and writes a file
/// where the `.icns` goes.
fn fake_mac_tools(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let log = dir.join("calls.log");
    let tools = [
        ("uname", "echo Darwin".to_owned()),
        ("codesign", format!("echo \"codesign $*\" >> '{}'", log.display())),
        (
            "iconutil",
            format!(
                "echo \"iconutil $*\" >> '{log}'\nls \"$5\" >> '{log}'\nprintf icns > \"$4\"",
                log = log.display()
            ),
        ),
    ];
    for (name, body) in tools {
        let path = bin.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn make_app_on_a_mac(dir: &Path, extra: &[&str]) -> (std::process::Output, Vec<String>) {
    let bin = fake_mac_tools(dir);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(root().join("bundle/make-app"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_secours"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .env("PATH", path)
        .output()
        .unwrap();
    let calls = fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (out, calls)
}

// Guards item 7 of the Mac issue: on Apple silicon a quarantined bundle without a signature "is damaged"
// and cannot be opened at all, so on a Mac make-app signs ad hoc when no identity is given, and packs the
// icon with Apple's iconutil instead of compiling an example. (Linux cannot sign: these are the command
// lines a Mac would run, through stand-ins.)
#[test]
fn on_a_mac_make_app_signs_ad_hoc_and_uses_iconutil() {
    let dir = tempfile::tempdir().unwrap();
    let (run, calls) = make_app_on_a_mac(dir.path(), &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let app = dir.path().join("out/Secours.app");
    let icon = app.join("Contents/Resources/Secours.icns");
    assert_eq!(
        calls[0],
        format!("iconutil --convert icns --output {} {}", icon.display(), {
            let iconset = calls[0].rsplit(' ').next().unwrap();
            assert!(iconset.ends_with("/Secours.iconset"), "{iconset}");
            iconset
        })
    );
    // The iconset holds every size iconutil expects, 1x and 2x.
    let listed: Vec<&str> = calls[1..11].iter().map(String::as_str).collect();
    for size in [16, 32, 128, 256, 512] {
        assert!(
            listed.contains(&format!("icon_{size}x{size}.png").as_str()),
            "{listed:?}"
        );
        assert!(
            listed.contains(&format!("icon_{size}x{size}@2x.png").as_str()),
            "{listed:?}"
        );
    }
    assert_eq!(fs::read(&icon).unwrap(), b"icns");
    assert_eq!(
        calls[11..],
        [
            format!("codesign --force --sign - {}", app.display()),
            format!("codesign --verify --strict --verbose=2 {}", app.display()),
        ]
    );
}

#[test]
fn on_a_mac_an_identity_signs_with_hardened_runtime_and_the_entitlements() {
    let dir = tempfile::tempdir().unwrap();
    let icns = dir.path().join("given.icns");
    fs::write(&icns, b"given").unwrap();
    let identity = "Developer ID Application: Cabinet Exemple (ABCDE12345)";
    let (run, calls) = make_app_on_a_mac(dir.path(), &["--icns", icns.to_str().unwrap(), "--sign", identity]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let app = dir.path().join("out/Secours.app");
    let entitlements = root().join("bundle/Secours.entitlements");
    assert_eq!(
        calls,
        [
            format!(
                "codesign --force --options runtime --timestamp --entitlements {} --sign {identity} {}",
                entitlements.display(),
                app.display()
            ),
            format!("codesign --verify --strict --verbose=2 {}", app.display()),
        ]
    );
    // The entitlements file is a property list that allows the administrator prompt's Apple events.
    let value = plist::Value::from_file(&entitlements).unwrap();
    assert_eq!(
        value
            .as_dictionary()
            .unwrap()
            .get("com.apple.security.automation.apple-events")
            .and_then(|v| v.as_boolean()),
        Some(true)
    );

    let dir = tempfile::tempdir().unwrap();
    let (run, calls) = make_app_on_a_mac(dir.path(), &["--icns", icns.to_str().unwrap(), "--no-sign"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(calls.is_empty(), "{calls:?}");
}

// Linux (the CI) cannot sign: the bundle is assembled and the output says it is not signed.
#[cfg(not(target_os = "macos"))]
#[test]
fn off_a_mac_the_bundle_is_left_unsigned_and_says_so() {
    let out = tempfile::tempdir().unwrap();
    let run = make_app(
        out.path(),
        &["--icns", root().join("resources/icons/app-16.png").to_str().unwrap()],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("is not signed (codesign is macOS only"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
