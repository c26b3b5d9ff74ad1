//! What differs per operating system, and every external program Secours runs.
//!
//! Owns: the one runner for external commands ([`runner`], with its fake for unit tests), the [`Os`] value,
//! opening a URL, a folder or a file with the user's default application, the dialogs (confirmation, folder
//! choice), launch at login ([`login_item`], which picks [`macos::launch_agent`] and `SMAppService` or
//! [`linux::autostart`]), the bundle identity ([`macos::bundle`]), asking for administrator rights
//! ([`admin`]: `sudo` shared, the dialog of [`macos::osascript`] or [`linux::pkexec`]), and a process's
//! processor time and low priority ([`cpu`], for the standby's pre-staging).
//!
//! May use: only the ground (`files`, `progress`, `i18n`), and today none of them; nothing above. The per-OS
//! modules are compiled on every system (their pure parts are tested everywhere) except the few calls into
//! Apple's frameworks, `macos::main_app`, the one place of Secours allowed `unsafe`.
//!
//! Opening uses `open` on macOS and `xdg-open` on Linux and other Unixes; it is started and not waited for,
//! so the menu never blocks on it. The dialogs block only the worker thread that asks.

use std::path::Path;

use serde::Serialize;

pub mod admin;
pub mod cpu;
#[cfg(test)]
pub(crate) mod fake;
pub mod linux;
pub mod login_entry;
pub mod login_item;
pub mod macos;
pub mod runner;

/// The operating system, as a value so the branches of both systems can be tested on either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Os {
    MacOs,
    Linux,
}

impl Os {
    /// The system this binary was built for (Linux stands for every other Unix).
    pub fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// Why something could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open '{what}' with '{program}': {source}. Open it by hand.")]
pub struct OpenError {
    what: String,
    program: &'static str,
    #[source]
    source: std::io::Error,
}

#[cfg(target_os = "macos")]
const OPENER: &str = "/usr/bin/open";
#[cfg(not(target_os = "macos"))]
const OPENER: &str = "xdg-open";

fn spawn(program: &'static str, args: &[&std::ffi::OsStr], what: String) -> Result<(), OpenError> {
    runner::start(program, args).map_err(|source| OpenError { what, program, source })
}

/// Opens a web address in the default browser.
pub fn open_url(url: &str) -> Result<(), OpenError> {
    spawn(OPENER, &[url.as_ref()], url.to_owned())
}

/// Shows a folder in Finder (the file manager on Linux).
pub fn show_folder(path: &Path) -> Result<(), OpenError> {
    spawn(OPENER, &[path.as_os_str()], path.display().to_string())
}

/// Opens a local web page (the history report) in the default browser.
pub fn open_in_browser(path: &Path) -> Result<(), OpenError> {
    spawn(OPENER, &[path.as_os_str()], path.display().to_string())
}

/// Opens a text file in the default text editor.
pub fn edit_file(path: &Path) -> Result<(), OpenError> {
    #[cfg(target_os = "macos")]
    return spawn(OPENER, &["-t".as_ref(), path.as_os_str()], path.display().to_string());
    #[cfg(not(target_os = "macos"))]
    return spawn(OPENER, &[path.as_os_str()], path.display().to_string());
}

/// Opens the Full Disk Access pane of System Settings (macOS only; elsewhere nothing to grant).
pub fn open_full_disk_access_settings() -> Result<(), OpenError> {
    #[cfg(target_os = "macos")]
    return open_url("x-apple.systempreferences:com.apple.preference.security?Privacy_AllFiles");
    #[cfg(not(target_os = "macos"))]
    return Ok(());
}

/// Asks a yes/no question in a dialog (the platform's own: a system alert on macOS, GTK on Linux); `ok` is
/// the label of the button that says yes.
///
/// Blocks the calling thread until the user answers, and only that thread: the dialog is shown through
/// rfd's asynchronous API (on macOS a `CFUserNotification` on a thread of its own, on Linux a GTK dialog
/// that is not run modally), so the menu, the icon and the progress of a running operation go on while it
/// is open. Call it from a worker thread, never from the event loop's.
#[cfg(feature = "gui")]
pub fn confirm(title: &str, message: &str, ok: &str, cancel: &str) -> bool {
    let answer = block_on(
        rfd::AsyncMessageDialog::new()
            .set_level(rfd::MessageLevel::Warning)
            .set_title(title)
            .set_description(message)
            .set_buttons(rfd::MessageButtons::OkCancelCustom(ok.to_owned(), cancel.to_owned()))
            .show(),
    );
    match answer {
        rfd::MessageDialogResult::Ok | rfd::MessageDialogResult::Yes => true,
        rfd::MessageDialogResult::Custom(label) => label == ok,
        _ => false,
    }
}

/// Lets the user choose a folder (a safe copy, a Time Machine folder). Blocks the calling thread only, as
/// [`confirm`] does: call it from a worker thread.
///
/// macOS: AppKit's open panel must run on the main thread, and a menu-bar app has no window to attach it
/// to; `osascript`'s `choose folder` shows the same panel from its own process instead.
#[cfg(feature = "gui")]
pub fn choose_folder(title: &str) -> Option<std::path::PathBuf> {
    #[cfg(target_os = "macos")]
    return macos::osascript::choose_folder(title);
    #[cfg(not(target_os = "macos"))]
    return block_on(rfd::AsyncFileDialog::new().set_title(title).pick_folder()).map(|h| h.path().to_path_buf());
}

/// Runs a future to completion on the calling thread (the dialogs' futures are woken from the toolkit's
/// thread); no executor needed for one future at a time.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the dialogs' wait: a future woken from another thread (as a toolkit's callback does) completes
    // on the thread that waits for it, which alone is blocked.
    #[test]
    fn block_on_waits_for_a_future_woken_from_another_thread() {
        let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let waker_thread = std::thread::spawn(move || {
            let waker = rx.recv().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            waker.wake();
        });
        let mut sent = Some(tx);
        let answer = block_on(std::future::poll_fn(|cx| {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return std::task::Poll::Ready(42);
            }
            if let Some(tx) = sent.take() {
                tx.send(cx.waker().clone()).unwrap();
            }
            std::task::Poll::Pending
        }));
        assert_eq!(answer, 42);
        waker_thread.join().unwrap();
    }
}
