//! The menu-bar app: a tao event loop, a tray icon, and a menu drawn from [`crate::menu::build`].
//!
//! Threads: the event loop owns the tray (macOS and GTK demand it); a watcher thread observes the
//! backups and sends snapshots; long operations run on worker threads and send progress. Nothing slow
//! ever runs on the event loop, so the menu never freezes. On Linux, tao's `WaitUntil` does not wake
//! up, so every timer lives in the watcher thread, which sends user events.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use jiff::Timestamp;
use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tray_icon::menu::{CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{TrayIcon, TrayIconBuilder};

use crate::app::{self, Session};
use crate::menu::{self, Action, Icon, Item, MenuInput};

/// How often the watcher looks at the backups (metadata only: cheap).
const REFRESH_EVERY: Duration = Duration::from_secs(15);

/// What reaches the event loop from other threads.
#[derive(Debug)]
pub enum UserEvent {
    /// A new picture of the world.
    Snapshot(Box<MenuInput>),
    /// A menu item was chosen.
    Chosen(String),
    /// A restore is ready and waits for the user's yes (dialogs must run on this thread).
    Confirm(Box<app::Confirmation>),
}

/// Runs the menu-bar app until Quit. Returns the exit code.
pub fn run(session: Session) -> Result<u8> {
    let mut event_loop = EventLoopBuilder::<UserEvent>::with_user_event().build();
    hide_from_dock(&mut event_loop);
    let proxy = event_loop.create_proxy();

    let menu_proxy = proxy.clone();
    MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
        // The loop may be gone while quitting; nothing to do then.
        let _ = menu_proxy.send_event(UserEvent::Chosen(e.id.0));
    }));

    let ask_proxy = std::sync::Mutex::new(proxy.clone());
    if let Ok(mut ask) = session.ask.lock() {
        *ask = Some(Box::new(move |c: app::Confirmation| {
            if let Ok(p) = ask_proxy.lock() {
                let _ = p.send_event(UserEvent::Confirm(Box::new(c)));
            }
        }));
    }

    let (wake, woken) = mpsc::channel::<()>();
    let mut folders: Vec<std::path::PathBuf> = crate::status::sources(&session.config)
        .into_iter()
        .map(|s| s.folder)
        .collect();
    folders.extend(session.config.safe_copy.destinations.iter().cloned());
    let folder_watch = crate::fswatch::watch(&folders, wake.clone());
    // A click on the icon opens the menu (macOS): read Time Machine at once so the menu is current.
    let (click_wake, tm_now) = (std::sync::Mutex::new(wake.clone()), session.time_machine_now.clone());
    tray_icon::TrayIconEvent::set_event_handler(Some(move |_e: tray_icon::TrayIconEvent| {
        tm_now.store(true, std::sync::atomic::Ordering::SeqCst);
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
        session,
        tray: None,
        menu: Menu::new(),
        drawn: Vec::new(),
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
                    log::error!("cannot show the menu-bar icon: {e:#}");
                    eprintln!("secours: cannot show the menu-bar icon: {e:#}");
                    *control_flow = ControlFlow::ExitWithCode(crate::cli::EXIT_UNKNOWN.into());
                }
            }
            Event::UserEvent(UserEvent::Snapshot(input)) => ui.draw(*input),
            Event::UserEvent(UserEvent::Confirm(c)) => ui.confirm(*c),
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

/// The watcher: a snapshot now, then on every tick or wake-up.
fn watch(session: Session, proxy: EventLoopProxy<UserEvent>, woken: mpsc::Receiver<()>) {
    loop {
        let input = session.snapshot(Timestamp::now());
        session.notify_changes(&input, Timestamp::now());
        session.background_duties(&input);
        if proxy.send_event(UserEvent::Snapshot(Box::new(input))).is_err() {
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
    tray: Option<TrayIcon>,
    /// The one menu given to the tray; its content is replaced (Linux cannot swap menus).
    menu: Menu,
    drawn: Vec<Item>,
    icon: Option<Icon>,
    input: MenuInput,
    wake: mpsc::Sender<()>,
    /// File-system events on the watched folders wake the watcher.
    _folder_watch: crate::fswatch::FolderWatch,
}

impl Ui {
    /// Shows the restore's summary and runs it on yes (twice yes for the return to production).
    fn confirm(&mut self, c: app::Confirmation) {
        let mut yes = crate::platform::confirm(&c.title, &c.message, &c.ok, &c.cancel);
        if yes && let Some(again) = &c.again {
            yes = crate::platform::confirm(&c.title, again, &c.ok, &c.cancel);
        }
        if yes {
            self.session.start_restore(c.request);
        }
        let _ = self.wake.send(());
    }

    fn create_tray(&mut self) -> Result<()> {
        let now = Timestamp::now();
        let input = self.session.snapshot(now);
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
                    Err(e) => log::warn!("{e:#}"),
                }
                self.icon = Some(icon);
            }
            if self.session.config.app.show_title {
                tray.set_title(menu::title(&input, self.session.lang));
            }
        }
        if items != self.drawn {
            replace_items(&self.menu, &items);
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
            return true;
        }
        self.session.perform(&action, &self.input);
        // Whatever was done, look again now.
        let _ = self.wake.send(());
        false
    }
}

fn tray_image(icon: Icon) -> Result<tray_icon::Icon> {
    use crate::icons::TrayState;
    let state = match icon {
        Icon::Fresh => TrayState::Fresh,
        Icon::Late => TrayState::Late,
        Icon::Stale => TrayState::Stale,
        Icon::Working => TrayState::Working,
        Icon::Attention => TrayState::Attention,
    };
    let (rgba, w, h) = crate::icons::tray_icon_rgba(state, cfg!(target_os = "macos"))
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

fn replace_items(menu: &Menu, items: &[Item]) {
    while menu.remove_at(0).is_some() {}
    for item in items {
        let native = native_item(item);
        if let Err(e) = menu.append(native.as_ref()) {
            log::warn!("cannot add the menu item '{}': {e}", item.label);
        }
    }
}

fn native_item(item: &Item) -> Box<dyn IsMenuItem> {
    if item.separator {
        return Box::new(PredefinedMenuItem::separator());
    }
    let id = item.action.as_ref().map(Action::id).unwrap_or_default();
    if !item.children.is_empty() {
        let sub = Submenu::new(&item.label, item.enabled);
        for child in &item.children {
            let native = native_item(child);
            if let Err(e) = sub.append(native.as_ref()) {
                log::warn!("cannot add the menu item '{}': {e}", child.label);
            }
        }
        return Box::new(sub);
    }
    match item.checked {
        Some(checked) => Box::new(CheckMenuItem::with_id(id, &item.label, item.enabled, checked, None)),
        None => Box::new(MenuItem::with_id(id, &item.label, item.enabled, None)),
    }
}

/// Whether the app can start here: a display on Linux (macOS always has one).
pub fn can_start() -> bool {
    app::has_display()
}
