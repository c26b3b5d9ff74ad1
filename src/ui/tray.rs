//! The menu-bar app: a tao event loop, a tray icon, and a menu drawn from [`crate::ui::menu::build`].
//!
//! Threads: the event loop owns the tray (macOS and GTK demand it); a watcher thread observes the
//! backups and sends snapshots; Time Machine is read on a thread of its own; what a menu item does runs on
//! a worker thread, and long operations on theirs, which send progress; a confirmation dialog blocks only
//! the thread that asks. Nothing slow ever runs on the event loop: the icon appears at once ("checking…")
//! before anything is read, and the menu never freezes. On Linux, tao's `WaitUntil` does not wake up, so
//! every timer lives in the watcher thread, which sends user events.
//!
//! Only a click on the icon refreshes at once (macOS also reports the pointer entering, moving over and
//! leaving the icon: [`refreshes_on`]). File-system events wake the watcher for the configuration file
//! and the backup folders only ([`crate::ui::watcher::WatchPlan`]), never for Secours's own files.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use jiff::Timestamp;
use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tray_icon::menu::{CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{TrayIcon, TrayIconBuilder};

use crate::ui::menu::{self, Action, Icon, Item, MenuInput};
use crate::ui::session::{self, Session};

/// How often the watcher looks at the backups (metadata only: cheap).
const REFRESH_EVERY: Duration = Duration::from_secs(15);

/// What reaches the event loop from other threads.
#[derive(Debug)]
pub enum UserEvent {
    /// A new picture of the world.
    Snapshot(Box<MenuInput>),
    /// A menu item was chosen.
    Chosen(String),
    /// The user said yes to a restore (in a dialog shown from a worker thread): start it.
    Confirmed(Box<session::Confirmation>),
    /// The configuration file was saved with a valid content: start again on it.
    Reload,
}

/// Runs the menu-bar app until Quit. Returns the exit code.
pub fn run(mut session: Session) -> Result<u8> {
    // Time Machine on its own thread: a snapshot never waits for tmutil.
    session.in_background = true;
    let mut event_loop = EventLoopBuilder::<UserEvent>::with_user_event().build();
    hide_from_dock(&mut event_loop);
    let proxy = event_loop.create_proxy();

    let menu_proxy = proxy.clone();
    MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
        // The loop may be gone while quitting; nothing to do then.
        let _ = menu_proxy.send_event(UserEvent::Chosen(e.id.0));
    }));

    // A restore waiting for the user's yes: the dialog is shown from a thread of its own, so the menu, the
    // icon and any progress go on while it is open.
    let ask_proxy = std::sync::Mutex::new(proxy.clone());
    if let Ok(mut ask) = session.ask.lock() {
        *ask = Some(Box::new(move |c: session::Confirmation| {
            let Ok(proxy) = ask_proxy.lock().map(|p| p.clone()) else {
                return;
            };
            let spawned = std::thread::Builder::new()
                .name("secours-confirm".into())
                .spawn(move || {
                    let mut yes = crate::platform::confirm(&c.title, &c.message, &c.ok, &c.cancel);
                    if yes && let Some(again) = &c.again {
                        yes = crate::platform::confirm(&c.title, again, &c.ok, &c.cancel);
                    }
                    if yes {
                        let _ = proxy.send_event(UserEvent::Confirmed(Box::new(c)));
                    }
                });
            if let Err(e) = spawned {
                log::error!("cannot show the confirmation: {e}");
            }
        }));
    }

    let (wake, woken) = mpsc::channel::<()>();
    if let Ok(mut w) = session.wake.lock() {
        *w = Some(wake.clone());
    }
    let folder_watch = crate::ui::watcher::watch_plan(&watch_plan(&session), wake.clone());
    // A click on the icon opens the menu (macOS): read Time Machine and launch at login at once so the
    // menu is current. Hovering is not a reason: macOS reports every move over the icon.
    let (click_wake, click_session) = (std::sync::Mutex::new(wake.clone()), session.clone());
    tray_icon::TrayIconEvent::set_event_handler(Some(move |e: tray_icon::TrayIconEvent| {
        if !refreshes_on(&e) {
            return;
        }
        click_session.menu_opened();
        if let Ok(w) = click_wake.lock() {
            let _ = w.send(());
        }
    }));
    let watcher_session = session.clone();
    let watcher_proxy = proxy.clone();
    std::thread::Builder::new()
        .name("secours-watcher".into())
        .spawn(move || watch(watcher_session, watcher_proxy, woken))
        .context("cannot start the watcher thread")?;

    let mut ui = Ui {
        first: Some(session.first_input()),
        session,
        tray: None,
        menu: Menu::new(),
        drawn: Vec::new(),
        natives: Vec::new(),
        icon: None,
        input: MenuInput::default(),
        wake,
        _folder_watch: folder_watch,
    };
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            // The tray must be created once the loop runs (macOS), on the loop's thread (GTK).
            Event::NewEvents(StartCause::Init) => {
                if let Err(e) = ui.create_tray() {
                    let e = crate::run::error_text(&e);
                    log::error!("cannot show the menu-bar icon: {e}");
                    eprintln!("secours: cannot show the menu-bar icon: {e}");
                    *control_flow = ControlFlow::ExitWithCode(crate::run::EXIT_UNKNOWN.into());
                }
            }
            Event::UserEvent(UserEvent::Snapshot(input)) => ui.show(*input),
            Event::UserEvent(UserEvent::Confirmed(c)) => {
                match c.then {
                    session::Confirmed::Restore(request) => ui.session.start_restore(*request),
                    session::Confirmed::Software(plan) => ui.session.start_software(*plan),
                }
                let _ = ui.wake.send(());
            }
            Event::UserEvent(UserEvent::Reload) => restart(),
            Event::UserEvent(UserEvent::Chosen(id)) if ui.choose(&id) => {
                *control_flow = ControlFlow::ExitWithCode(0);
            }
            _ => {}
        }
    })
}

#[cfg(target_os = "macos")]
fn hide_from_dock(event_loop: &mut tao::event_loop::EventLoop<UserEvent>) {
    use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
    // A menu-bar app: no Dock icon, no menu bar of its own (LSUIElement says the same in the bundle).
    event_loop.set_activation_policy(ActivationPolicy::Accessory);
}

#[cfg(not(target_os = "macos"))]
fn hide_from_dock(_: &mut tao::event_loop::EventLoop<UserEvent>) {}

/// The configuration file's modification time, to notice a save.
fn config_stamp(session: &Session) -> Option<std::time::SystemTime> {
    std::fs::metadata(&session.locations.config)
        .and_then(|m| m.modified())
        .ok()
}

/// Starts this program again with the same arguments (the configuration is read at start): `exec`
/// replaces the process, so the single-instance lock (closed on exec) and the tray icon go with it.
fn restart() {
    log::info!("the configuration changed: starting again on it");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        match std::env::current_exe() {
            Ok(program) => {
                let err = std::process::Command::new(program)
                    .args(std::env::args_os().skip(1))
                    .exec();
                log::error!("cannot start again after the configuration changed: {err}");
            }
            Err(e) => log::error!("cannot find this program to start it again: {e}"),
        }
    }
}

/// Whether a tray event refreshes the menu: a press on the icon (it opens the menu), not the pointer
/// entering, moving over or leaving it, which macOS reports many times a second.
pub fn refreshes_on(event: &tray_icon::TrayIconEvent) -> bool {
    use tray_icon::{MouseButtonState, TrayIconEvent};
    matches!(
        event,
        TrayIconEvent::Click {
            button_state: MouseButtonState::Down,
            ..
        } | TrayIconEvent::DoubleClick { .. }
    )
}

/// What wakes the watcher: the watched backup folders and the safe-copy destinations, the configuration
/// file itself (Preferences… saves it), and never Secours's own folders (history, lock, logs), which on
/// macOS are the configuration's folder too.
pub fn watch_plan(session: &Session) -> crate::ui::watcher::WatchPlan {
    let mut folders: Vec<std::path::PathBuf> = crate::backup::sources::sources(&session.config)
        .into_iter()
        .map(|s| s.folder)
        .collect();
    folders.extend(session.config.safe_copy.destinations.iter().cloned());
    crate::ui::watcher::WatchPlan {
        folders,
        files: vec![session.locations.config.clone()],
        own: vec![session.locations.data_dir.clone(), session.locations.log_dir.clone()],
    }
}

/// The watcher: a snapshot now, then on every tick or wake-up.
fn watch(session: Session, proxy: EventLoopProxy<UserEvent>, woken: mpsc::Receiver<()>) {
    watch_loop(&session, &woken, |event| proxy.send_event(event).is_ok());
}

/// The watcher's loop, with `send` delivering its events (false: the app is gone, stop).
pub fn watch_loop(session: &Session, woken: &mpsc::Receiver<()>, mut send: impl FnMut(UserEvent) -> bool) {
    let mut stamp = config_stamp(session);
    loop {
        let now_stamp = config_stamp(session);
        // Not in the middle of an operation: the reload waits for its end.
        if now_stamp != stamp && !session.busy() {
            stamp = now_stamp;
            // Only a configuration that loads replaces the running one; a broken save is said once.
            match crate::env::config::load(&session.locations.config) {
                Ok(_) => {
                    send(UserEvent::Reload);
                }
                Err(e) => crate::ui::notifications::send(&crate::ui::notifications::Note {
                    title: "Secours".to_owned(),
                    body: e.to_string(),
                }),
            }
        }
        let input = session.snapshot(Timestamp::now());
        session.notify_changes(&input, Timestamp::now());
        session.background_duties(&input);
        if !send(UserEvent::Snapshot(Box::new(input))) {
            return; // the loop has ended
        }
        // While an operation runs, its progress line is refreshed every second; while Time Machine backs
        // up, every 5 s.
        let every = session.next_refresh(REFRESH_EVERY);
        match woken.recv_timeout(every) {
            Ok(()) => {
                // A burst of file-system events (a file being written) makes one refresh.
                std::thread::sleep(Duration::from_millis(300));
                while woken.try_recv().is_ok() {}
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

struct Ui {
    session: Session,
    /// What the icon shows until the tray exists: "checking…", or a snapshot that came first.
    first: Option<MenuInput>,
    tray: Option<TrayIcon>,
    /// The one menu given to the tray; its content is replaced (Linux cannot swap menus).
    menu: Menu,
    drawn: Vec<Item>,
    /// The native items of `drawn`, for changes in place.
    natives: Vec<Native>,
    icon: Option<Icon>,
    input: MenuInput,
    wake: mpsc::Sender<()>,
    /// File-system events on the watched folders wake the watcher.
    _folder_watch: crate::ui::watcher::FolderWatch,
}

impl Ui {
    /// Creates the tray at once with what is known without reading anything (the watcher's first
    /// snapshot follows within moments; Time Machine later still).
    fn create_tray(&mut self) -> Result<()> {
        let now = Timestamp::now();
        let input = self.first.take().unwrap_or_else(|| self.session.first_input());
        let icon = menu::icon(&input, now);
        let builder = TrayIconBuilder::new()
            .with_menu(Box::new(self.menu.clone()))
            .with_tooltip("Secours");
        let mut builder = with_image(builder, tray_image(icon)?);
        if self.session.config.app.show_title
            && let Some(title) = menu::title(&input, self.session.lang)
        {
            builder = builder.with_title(title);
        }
        self.tray = Some(builder.build().context("the tray icon could not be created")?);
        self.icon = Some(icon);
        self.draw(input);
        Ok(())
    }

    /// A snapshot from the watcher: drawn, or kept for the tray about to be created.
    fn show(&mut self, input: MenuInput) {
        if self.tray.is_none() {
            self.first = Some(input);
            return;
        }
        self.draw(input);
    }

    fn draw(&mut self, input: MenuInput) {
        let now = Timestamp::now();
        let items = menu::build(&input, now, self.session.lang);
        let icon = menu::icon(&input, now);
        if let Some(tray) = &self.tray {
            if self.icon != Some(icon) {
                match tray_image(icon) {
                    Ok(image) => {
                        if let Err(e) = set_image(tray, image) {
                            log::warn!("cannot change the icon: {e}");
                        }
                    }
                    Err(e) => log::warn!("{}", crate::run::error_text(&e)),
                }
                self.icon = Some(icon);
            }
            if self.session.config.app.show_title {
                tray.set_title(menu::title(&input, self.session.lang));
            }
        }
        if items != self.drawn {
            // Same items with new words (a progress line, an age): changed in place, so a menu the user
            // has open stays open and keeps its item ids; anything else rebuilds the menu.
            if same_shape(&items, &self.drawn) {
                update_items(&self.natives, &items);
            } else {
                self.natives = replace_items(&self.menu, &items);
            }
            self.drawn = items;
        }
        self.input = input;
    }

    /// Handles a chosen item; returns true to quit.
    fn choose(&mut self, id: &str) -> bool {
        let Some(action) = Action::from_id(id) else {
            log::warn!("unknown menu item '{id}'");
            return false;
        };
        log::info!("menu: {}", action.id());
        if action == Action::Quit {
            self.session.quitting();
            return true;
        }
        // On a worker thread: an item may run a command (launchctl), open a dialog or read the history.
        let (session, input, wake) = (self.session.clone(), self.input.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new()
            .name("secours-action".into())
            .spawn(move || {
                session.perform(&action, &input);
                // Whatever was done, look again now.
                let _ = wake.send(());
            });
        if let Err(e) = spawned {
            log::error!("cannot start the thread for '{id}': {e}");
        }
        false
    }
}

fn tray_image(icon: Icon) -> Result<tray_icon::Icon> {
    use crate::ui::icons::TrayState;
    let state = match icon {
        Icon::Fresh => TrayState::Fresh,
        Icon::Late => TrayState::Late,
        Icon::Stale => TrayState::Stale,
        Icon::Working => TrayState::Working,
        Icon::Attention => TrayState::Attention,
    };
    let (rgba, w, h) = crate::ui::icons::tray_icon_rgba(state, cfg!(target_os = "macos"))
        .with_context(|| format!("the '{}' icon cannot be decoded", icon.as_str()))?;
    tray_icon::Icon::from_rgba(rgba, w, h).with_context(|| format!("the '{}' icon is not usable", icon.as_str()))
}

/// On macOS the icon is a template (the system tints it for light and dark menu bars).
fn with_image(builder: TrayIconBuilder, image: tray_icon::Icon) -> TrayIconBuilder {
    #[cfg(target_os = "macos")]
    return builder.with_icon_templated(image);
    #[cfg(not(target_os = "macos"))]
    return builder.with_icon(image);
}

fn set_image(tray: &TrayIcon, image: tray_icon::Icon) -> Result<(), tray_icon::Error> {
    #[cfg(target_os = "macos")]
    return tray.set_icon_templated(Some(image));
    #[cfg(not(target_os = "macos"))]
    return tray.set_icon(Some(image));
}

/// A native menu entry, kept to change its words in place.
enum Native {
    Separator(PredefinedMenuItem),
    Item(MenuItem),
    Check(CheckMenuItem),
    Sub(Submenu, Vec<Native>),
}

impl Native {
    fn native(&self) -> &dyn IsMenuItem {
        match self {
            Native::Separator(p) => p,
            Native::Item(m) => m,
            Native::Check(c) => c,
            Native::Sub(s, _) => s,
        }
    }
}

/// Whether `a` and `b` have the same entries (kinds, actions, submenus), whatever their words.
fn same_shape(a: &[Item], b: &[Item]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.separator == y.separator
                && x.action == y.action
                && x.checked.is_some() == y.checked.is_some()
                && x.children.is_empty() == y.children.is_empty()
                && same_shape(&x.children, &y.children)
        })
}

fn update_items(natives: &[Native], items: &[Item]) {
    for (native, item) in natives.iter().zip(items) {
        match native {
            Native::Separator(_) => {}
            Native::Item(m) => {
                m.set_text(&item.label);
                m.set_enabled(item.enabled);
            }
            Native::Check(c) => {
                c.set_text(&item.label);
                c.set_enabled(item.enabled);
                c.set_checked(item.checked.unwrap_or(false));
            }
            Native::Sub(sub, children) => {
                sub.set_text(&item.label);
                sub.set_enabled(item.enabled);
                update_items(children, &item.children);
            }
        }
    }
}

fn replace_items(menu: &Menu, items: &[Item]) -> Vec<Native> {
    while menu.remove_at(0).is_some() {}
    let mut natives = Vec::with_capacity(items.len());
    for item in items {
        let native = native_item(item);
        if let Err(e) = menu.append(native.native()) {
            log::warn!("cannot add the menu item '{}': {e}", item.label);
        }
        natives.push(native);
    }
    natives
}

fn native_item(item: &Item) -> Native {
    if item.separator {
        return Native::Separator(PredefinedMenuItem::separator());
    }
    let id = item.action.as_ref().map(Action::id).unwrap_or_default();
    if !item.children.is_empty() {
        let sub = Submenu::new(&item.label, item.enabled);
        let mut children = Vec::with_capacity(item.children.len());
        for child in &item.children {
            let native = native_item(child);
            if let Err(e) = sub.append(native.native()) {
                log::warn!("cannot add the menu item '{}': {e}", child.label);
            }
            children.push(native);
        }
        return Native::Sub(sub, children);
    }
    match item.checked {
        Some(checked) => Native::Check(CheckMenuItem::with_id(id, &item.label, item.enabled, checked, None)),
        None => Native::Item(MenuItem::with_id(id, &item.label, item.enabled, None)),
    }
}

/// Whether the app can start here: a display on Linux (macOS always has one).
pub fn can_start() -> bool {
    crate::run::has_display()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards item 3 of the Mac issue: tray-icon on macOS reports the pointer entering, moving over and
    // leaving the icon, and each of those refreshed the menu (and asked Time Machine); only a press does.
    #[test]
    fn only_a_press_on_the_icon_refreshes() {
        use tray_icon::dpi::PhysicalPosition;
        use tray_icon::{MouseButton, MouseButtonState, Rect, TrayIconEvent, TrayIconId};
        let (id, position, rect) = (
            TrayIconId::new("secours"),
            PhysicalPosition::new(10.0, 5.0),
            Rect::default(),
        );
        let hovering = [
            TrayIconEvent::Enter {
                id: id.clone(),
                position,
                rect,
            },
            TrayIconEvent::Move {
                id: id.clone(),
                position,
                rect,
            },
            TrayIconEvent::Leave {
                id: id.clone(),
                position,
                rect,
            },
            TrayIconEvent::Click {
                id: id.clone(),
                position,
                rect,
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
            },
        ];
        for e in &hovering {
            assert!(!refreshes_on(e), "{e:?}");
        }
        assert!(refreshes_on(&TrayIconEvent::Click {
            id,
            position,
            rect,
            button: MouseButton::Left,
            button_state: MouseButtonState::Down,
        }));
    }

    // Guards in-place updates: new words (an age, a progress line) keep the menu's shape, so an open menu
    // stays open; another item, or one in another place, does not.
    #[test]
    fn words_change_in_place_but_structure_changes_rebuild() {
        let a = vec![
            Item::info("Last backup: 5 min ago".to_owned()),
            Item::act("Verify the backup now", Action::VerifyNow, true),
        ];
        let mut b = a.clone();
        b[0] = Item::info("Last backup: 6 min ago".to_owned());
        b[1].enabled = false;
        assert!(same_shape(&a, &b));
        let mut c = a.clone();
        c.push(Item::act("Cancel", Action::Cancel, true));
        assert!(!same_shape(&a, &c));
        let mut d = a.clone();
        d[1] = Item::act("Verify the backup now", Action::CopyNow, true);
        assert!(!same_shape(&a, &d));
    }
}
