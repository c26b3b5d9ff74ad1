//! `secours login-item`: launch Secours when the session opens.

use anyhow::Result;

use crate::cli::args::LoginItemChoice;

pub fn login_item_command(what: LoginItemChoice) -> Result<u8> {
    use crate::platform::login_item::{LoginItem, Status};
    use crate::platform::macos::bundle::current_bundle_id;
    let item = LoginItem::for_current_user(current_bundle_id())?;
    let status = match what {
        LoginItemChoice::On => item.enable(&std::env::current_exe()?)?,
        LoginItemChoice::Off => item.disable()?,
        LoginItemChoice::Status => item.status()?,
    };
    println!("{status}");
    Ok(if matches!(status, Status::Stale { .. }) { 1 } else { 0 })
}
