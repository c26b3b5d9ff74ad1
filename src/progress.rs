//! Progress and cancellation for long work (verify, copy, import, restore).
//!
//! The library reports progress through a [`Progress`] sink so the CLI can draw a bar and the menu can
//! show a line, without the library knowing which. Work checks a [`Cancel`] token between units of work
//! (a buffer, a statement, a file) and stops cleanly when it is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// What is being done, a stable machine word: "verify-db", "verify-media", "copy", "import", …
    pub step: &'static str,
    /// Units done so far (usually bytes of the input consumed).
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// A short detail for people: the current table or file.
    pub detail: Option<String>,
}

impl Update {
    /// 0–100, when the total is known.
    pub fn percent(&self) -> Option<u8> {
        let total = self.total?;
        if total == 0 {
            return Some(100);
        }
        Some(((self.done.min(total) as u128 * 100) / total as u128) as u8)
    }
}

/// Where progress goes. Implemented for any `Fn(Update) + Sync`, so a closure will do.
pub trait Progress: Sync {
    fn update(&self, update: Update);
}

impl<F: Fn(Update) + Sync> Progress for F {
    fn update(&self, update: Update) {
        self(update)
    }
}

/// A sink that drops every report.
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: Update) {}
}

/// A cancellation token shared between the UI and a worker.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_clamped_and_handles_empty_totals() {
        let u = |done, total| Update { step: "copy", done, total, detail: None };
        assert_eq!(u(50, Some(200)).percent(), Some(25));
        assert_eq!(u(300, Some(200)).percent(), Some(100));
        assert_eq!(u(0, Some(0)).percent(), Some(100));
        assert_eq!(u(1, None).percent(), None);
    }
}
