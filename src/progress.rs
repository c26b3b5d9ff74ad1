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

/// Counts units done towards a known total and reports every `every` units (and on [`Meter::finish`]),
/// so long loops report progress without flooding the sink.
pub struct Meter<'a> {
    progress: &'a dyn Progress,
    step: &'static str,
    every: u64,
    pub total: u64,
    pub done: u64,
    next: u64,
    /// Shown with each report: the current file or table.
    pub detail: String,
}

impl<'a> Meter<'a> {
    pub fn new(progress: &'a dyn Progress, step: &'static str, total: u64, every: u64, detail: String) -> Self {
        Meter {
            progress,
            step,
            every,
            total,
            done: 0,
            next: 0,
            detail,
        }
    }

    /// Adds `n` units; reports when `every` more units are done since the last report.
    pub fn add(&mut self, n: u64) {
        self.done += n;
        if self.done >= self.next {
            self.next = self.done + self.every;
            self.report();
        }
    }

    /// Reports the total as done.
    pub fn finish(&mut self) {
        self.done = self.total;
        self.report();
    }

    fn report(&self) {
        self.progress.update(Update {
            step: self.step,
            done: self.done,
            total: Some(self.total),
            detail: Some(self.detail.clone()),
        });
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
        let u = |done, total| Update {
            step: "copy",
            done,
            total,
            detail: None,
        };
        assert_eq!(u(50, Some(200)).percent(), Some(25));
        assert_eq!(u(300, Some(200)).percent(), Some(100));
        assert_eq!(u(0, Some(0)).percent(), Some(100));
        assert_eq!(u(1, None).percent(), None);
    }
}
