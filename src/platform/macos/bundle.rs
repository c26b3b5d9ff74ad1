//! macOS: the identity of the app bundle Secours runs from — whether it runs inside `Secours.app`, where
//! that bundle is, and its identifier (`CFBundleIdentifier`).
//!
//! Guarantees: the identifier is the running bundle's own, so a bundle made with `make-app --bundle-id` is
//! itself everywhere (the LaunchAgent's label, the notifications' sender); the bare binary, or a bundle
//! whose `Info.plist` cannot be read, uses [`DEFAULT_BUNDLE_ID`]. Pure path logic, tested on every system.

use std::path::{Component, Path, PathBuf};

/// The bundle identifier `bundle/make-app` uses unless told otherwise; also the LaunchAgent's label.
pub const DEFAULT_BUNDLE_ID: &str = "ch.secours.Secours";

/// True when `exe` runs from inside an app bundle (`….app/Contents/MacOS/…`).
///
/// macOS delivers notifications only to bundled apps (notify-rust needs `set_application(bundle_id)`), so
/// outside a bundle the app should leave notifications off.
pub fn running_inside_bundle(exe: &Path) -> bool {
    bundle_root(exe).is_some()
}

/// The `….app` folder `exe` runs from, if it runs from `….app/Contents/MacOS/<exe>`.
pub fn bundle_root(exe: &Path) -> Option<PathBuf> {
    let parts: Vec<Component<'_>> = exe.components().collect();
    let n = parts.len();
    if n < 4 {
        return None;
    }
    let name = |c: &Component<'_>| c.as_os_str().to_string_lossy().into_owned();
    let app = name(&parts[n - 4]);
    let inside = app.len() > 4
        && app.to_ascii_lowercase().ends_with(".app")
        && name(&parts[n - 3]) == "Contents"
        && name(&parts[n - 2]) == "MacOS";
    inside.then(|| parts[..n - 3].iter().collect())
}

/// The bundle identifier to use for `exe`: its bundle's `CFBundleIdentifier`, else [`DEFAULT_BUNDLE_ID`]
/// (the bare binary, or an unreadable `Info.plist`).
pub fn bundle_id_for(exe: Option<&Path>) -> String {
    exe.and_then(bundle_identifier)
        .unwrap_or_else(|| DEFAULT_BUNDLE_ID.to_owned())
}

/// The identifier of the bundle this process runs from ([`bundle_id_for`] the current executable), read
/// once: the label of the login item and the sender of the notifications. A bundle made with
/// `make-app --bundle-id` has its own; notifications sent under an identifier Launch Services does not
/// know are dropped without a word on macOS 15.
pub fn current_bundle_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| bundle_id_for(std::env::current_exe().ok().as_deref()))
}

/// The `CFBundleIdentifier` of the bundle `exe` runs from, read from its `Info.plist`; `None` outside a
/// bundle or if unreadable. Use it for notify-rust's `set_application` and for the LaunchAgent's label.
pub fn bundle_identifier(exe: &Path) -> Option<String> {
    let info = bundle_root(exe)?.join("Contents").join("Info.plist");
    let value = plist::Value::from_file(info).ok()?;
    value
        .as_dictionary()?
        .get("CFBundleIdentifier")?
        .as_string()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::macos::launch_agent::LaunchAgent;
    use std::fs;

    #[test]
    fn bundle_detection_needs_the_full_app_layout() {
        let exe = Path::new("/Applications/Secours.app/Contents/MacOS/secours");
        assert!(running_inside_bundle(exe));
        assert_eq!(bundle_root(exe), Some(PathBuf::from("/Applications/Secours.app")));
        assert!(!running_inside_bundle(Path::new("/usr/local/bin/secours")));
        assert!(!running_inside_bundle(Path::new("/x/Secours/Contents/MacOS/secours")));
        assert!(!running_inside_bundle(Path::new("/x/Secours.app/Contents/secours")));
    }

    /// `Secours.app` in `dir` whose Info.plist names `id`; returns the path of its executable.
    fn fake_bundle(dir: &Path, id: &str) -> PathBuf {
        let contents = dir.join("Secours.app/Contents");
        fs::create_dir_all(contents.join("MacOS")).unwrap();
        let mut dict = plist::Dictionary::new();
        dict.insert("CFBundleIdentifier".into(), id.into());
        plist::Value::Dictionary(dict)
            .to_file_xml(contents.join("Info.plist"))
            .unwrap();
        contents.join("MacOS/secours")
    }

    // Guards the identity of the bundle: a bundle made with `make-app --bundle-id` uses its own identifier
    // for the login item and the notifications; the bare binary uses the default.
    #[test]
    fn the_bundle_identifier_is_the_running_bundles_own() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_bundle(dir.path(), "org.example.Secours");
        assert_eq!(bundle_id_for(Some(&exe)), "org.example.Secours");
        assert_eq!(
            bundle_id_for(Some(Path::new("/usr/local/bin/secours"))),
            DEFAULT_BUNDLE_ID
        );
        assert_eq!(bundle_id_for(None), DEFAULT_BUNDLE_ID);
        let agent = LaunchAgent::new(dir.path(), &bundle_id_for(Some(&exe)));
        assert!(agent.file().ends_with("Library/LaunchAgents/org.example.Secours.plist"));
        // The test binary is no bundle.
        assert_eq!(current_bundle_id(), DEFAULT_BUNDLE_ID);
    }

    #[test]
    fn bundle_identifier_is_read_from_info_plist() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_bundle(dir.path(), "org.example.Secours");
        assert_eq!(bundle_identifier(&exe).as_deref(), Some("org.example.Secours"));
        assert_eq!(bundle_identifier(Path::new("/usr/bin/secours")), None);
    }
}
