//! Progress on a terminal: one bar per step of long work; nothing when stderr is not a terminal.

/// A progress display for a terminal: one bar per step; nothing when stderr is not a terminal.
pub struct Bars {
    multi: indicatif::MultiProgress,
    bars: std::sync::Mutex<std::collections::BTreeMap<&'static str, indicatif::ProgressBar>>,
    enabled: bool,
}

impl Bars {
    pub fn new(enabled: bool) -> Bars {
        use std::io::IsTerminal;
        Bars {
            multi: indicatif::MultiProgress::new(),
            bars: std::sync::Mutex::new(Default::default()),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }
}

impl crate::progress::Progress for Bars {
    fn update(&self, u: crate::progress::Update) {
        if !self.enabled {
            return;
        }
        let Ok(mut bars) = self.bars.lock() else { return };
        let bar = bars.entry(u.step).or_insert_with(|| {
            let bar = self.multi.add(indicatif::ProgressBar::new(u.total.unwrap_or(0)));
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{prefix:>13} [{bar:30}] {bytes}/{total_bytes} {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(u.step);
            bar
        });
        if let Some(total) = u.total {
            bar.set_length(total);
        }
        bar.set_position(u.done);
        if let Some(d) = u.detail {
            bar.set_message(d);
        }
    }
}
