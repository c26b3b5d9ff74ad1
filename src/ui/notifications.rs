//! Desktop notifications: notify-rust (D-Bus on Linux, the Notification Center on macOS).
//!
//! Sending never blocks the caller: each notification is shown from a short-lived thread. On macOS,
//! notifications only work from inside `Secours.app` (they are sent under the identifier of the bundle
//! Secours runs from, [`crate::platform::macos::bundle::current_bundle_id`]); outside a bundle they are logged as off
//! instead of hanging.

use std::sync::Once;

/// One notification for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    pub title: String,
    pub body: String,
}

use crate::platform::macos::bundle::running_inside_bundle;

static SETUP: Once = Once::new();

/// Whether notifications can be shown from this process.
pub fn available() -> bool {
    if cfg!(target_os = "macos") {
        return std::env::current_exe().is_ok_and(|p| running_inside_bundle(&p));
    }
    true
}

/// Shows a notification (in the background). Failures are logged, never fatal.
pub fn send(note: &Note) {
    log::info!("notification: {} — {}", note.title, note.body);
    if std::env::var_os("SECOURS_NO_NOTIFICATIONS").is_some() {
        return;
    }
    if !available() {
        SETUP.call_once(|| log::warn!("notifications are off: Secours is not running from Secours.app"));
        return;
    }
    SETUP.call_once(setup);
    let note = note.clone();
    let spawned = std::thread::Builder::new()
        .name("secours-notify".into())
        .spawn(move || {
            let result = notify_rust::Notification::new()
                .appname("Secours")
                .summary(&note.title)
                .body(&note.body)
                .show();
            if let Err(e) = result {
                log::warn!("the notification '{}' could not be shown: {e}", note.title);
            }
        });
    if let Err(e) = spawned {
        log::warn!("cannot start a notification thread: {e}");
    }
}

/// Sends as the bundle Secours runs from (its own identifier, whatever `make-app --bundle-id` gave it):
/// macOS 15 drops notifications sent under an identifier Launch Services does not know.
#[cfg(target_os = "macos")]
fn setup() {
    let id = crate::platform::macos::bundle::current_bundle_id();
    if let Err(e) = notify_rust::set_application(id) {
        log::warn!("notifications: cannot use the bundle identifier '{id}': {e}");
    }
}

#[cfg(not(target_os = "macos"))]
fn setup() {}
