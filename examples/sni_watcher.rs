//! A minimal StatusNotifierWatcher for the UI test: `cargo run --example sni_watcher`.
//!
//! Owns `org.kde.StatusNotifierWatcher` on the session bus (object `/StatusNotifierWatcher`) so that
//! libayatana-appindicator registers the tray as a StatusNotifierItem instead of showing an XEmbed
//! icon. It hosts nothing: it records where the item is, which is how a panel finds the item and its
//! `com.canonical.dbusmenu` menu (the app exports both on its unique bus name even without a watcher,
//! where nobody can find them).
//!
//! libayatana-appindicator watches that name from the start: while it has no owner the app shows an
//! XEmbed GtkStatusIcon; once it has one, the app calls `RegisterStatusNotifierItem(<its object path>)`
//! and drops the XEmbed icon when the call succeeds (it reads none of the watcher's properties).
//!
//! Output (stdout, one line each, flushed): `ready` once the name is owned, then every registration:
//! `item <bus name><object path>` — libappindicator passes its object path only, so the sender's unique
//! name is put in front (`item :1.7/org/ayatana/NotificationItem/tray_icon_tray_app_1234_1`); an item
//! registered by bus name alone gets the path `/StatusNotifierItem` the specification implies — and
//! `host <service>`. Items are never dropped from the list: a test watcher lives no longer than one test.
//! Exits 1 with a message on stderr when the session bus or the name is unavailable.

use std::process::ExitCode;

use anyhow::Context as _;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;

/// The item path the specification implies when a client registers a bus name alone.
const DEFAULT_ITEM_PATH: &str = "/StatusNotifierItem";

#[derive(Default)]
struct Watcher {
    items: Vec<String>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(
        &mut self,
        service: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        let item = item_address(service, header.sender().map(|s| s.as_str()));
        println!("item {item}");
        if !self.items.contains(&item) {
            self.items.push(item.clone());
            self.registered_status_notifier_items_changed(&emitter).await?;
        }
        Self::status_notifier_item_registered(&emitter, &item).await?;
        Ok(())
    }

    async fn register_status_notifier_host(
        &self,
        service: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        println!("host {service}");
        Self::status_notifier_host_registered(&emitter).await?;
        Ok(())
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items.clone()
    }

    /// Always true: clients (Qt's among them) show nothing while no host is registered.
    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(signal)]
    async fn status_notifier_item_registered(emitter: &SignalEmitter<'_>, service: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_host_registered(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// Where an item lives, as `<bus name><object path>`: a path is completed with the caller's unique
/// name, a bus name with the default path.
fn item_address(service: &str, sender: Option<&str>) -> String {
    if service.starts_with('/') {
        format!("{}{service}", sender.unwrap_or_default())
    } else if service.contains('/') {
        service.to_owned()
    } else {
        format!("{service}{DEFAULT_ITEM_PATH}")
    }
}

fn run() -> anyhow::Result<()> {
    async_io::block_on(async {
        let _connection = zbus::connection::Builder::session()
            .context("no session bus (is DBUS_SESSION_BUS_ADDRESS set?)")?
            .name("org.kde.StatusNotifierWatcher")?
            .serve_at("/StatusNotifierWatcher", Watcher::default())?
            .build()
            .await
            .context("cannot own 'org.kde.StatusNotifierWatcher' on the session bus (another watcher runs?)")?;
        println!("ready");
        // zbus serves the object on its own executor thread; this only keeps the connection open.
        std::future::pending().await
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sni_watcher: {e:#}");
            ExitCode::FAILURE
        }
    }
}
