//! macOS only: launch at login through `SMAppService.mainApp` (macOS 13 and later).
//!
//! This is the one module of Secours that calls Apple's frameworks directly, through the objc2 family's
//! generated bindings (`objc2-service-management`). Every `unsafe` block is here, each with its reason.
//! The logic around it (when to use it, what each status means, the LaunchAgent of earlier versions) lives
//! in [`crate::platform::login_item`] behind the [`AppService`] trait ([`super::app_service`]), where tests
//! use a fake.
//!
//! `SMAppService.mainApp` registers the app bundle itself: System Settings › General › Login Items then
//! shows Secours with its name and icon, and the user may switch it off there, which the status reports as
//! "requires approval". It only works for the app inside its bundle (`Secours.app/Contents/MacOS/secours`),
//! and the bundle must be signed (ad hoc is enough): `bundle/make-app` signs it.
#![allow(unsafe_code)]

use objc2_service_management::{SMAppService, SMAppServiceStatus};

use super::app_service::{AppService, AppServiceStatus};

/// `SMAppService.mainApp`; only made on macOS 13 and later, where the class exists.
#[derive(Debug, Clone, Copy)]
pub struct MainApp {
    _private: (),
}

impl MainApp {
    /// The main app's service, or `None` before macOS 13 (the LaunchAgent is used there).
    pub fn new() -> Option<MainApp> {
        objc2::available!(macos = 13.0).then_some(MainApp { _private: () })
    }

    fn service() -> objc2::rc::Retained<SMAppService> {
        // SAFETY: `+[SMAppService mainAppService]` takes no argument and returns a retained object for the
        // running bundle; it exists on macOS 13 and later, which `MainApp::new` checked before any
        // `MainApp` could be made. It is documented as safe to call from any thread.
        unsafe { SMAppService::mainAppService() }
    }
}

impl AppService for MainApp {
    fn status(&self) -> AppServiceStatus {
        // SAFETY: `status` is a read-only property of a valid object (see `service`), no argument.
        let status = unsafe { Self::service().status() };
        match status {
            SMAppServiceStatus::Enabled => AppServiceStatus::Enabled,
            SMAppServiceStatus::RequiresApproval => AppServiceStatus::RequiresApproval,
            SMAppServiceStatus::NotFound => AppServiceStatus::NotFound,
            _ => AppServiceStatus::NotRegistered,
        }
    }

    fn register(&self) -> Result<(), String> {
        // SAFETY: a valid object (see `service`); the error out-parameter is handled by the binding, which
        // returns it as a `Result`.
        unsafe { Self::service().registerAndReturnError() }.map_err(|e| e.localizedDescription().to_string())
    }

    fn unregister(&self) -> Result<(), String> {
        // SAFETY: as for `register`.
        unsafe { Self::service().unregisterAndReturnError() }.map_err(|e| e.localizedDescription().to_string())
    }

    fn open_settings(&self) {
        // SAFETY: a class method without arguments or result, available on macOS 13 and later (see `new`).
        unsafe { SMAppService::openSystemSettingsLoginItems() }
    }
}
