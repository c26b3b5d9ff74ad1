//! The alert memory of the app: what each subject looked like and when it was last notified, kept in
//! the data folder so that a restart never repeats an alert (see `alerts` for the policy).

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;

use crate::backup::freshness::State;
use crate::env::paths::Locations;
use crate::i18n::{Lang, fill};
use crate::ui::alerts::{self, Kind, Remembered, Seen, Severity};
use crate::ui::menu::MenuInput;
use crate::ui::notifications::Note;

/// Remembered alerts, per subject, saved as JSON.
#[derive(Debug)]
pub struct AlertStore {
    path: PathBuf,
    memory: BTreeMap<String, Remembered>,
}

impl AlertStore {
    /// Opens the store of a data folder; an unreadable store starts empty (worst case: one repeat).
    pub fn open(locations: &Locations) -> AlertStore {
        let path = locations.data_dir.join("alerts.json");
        let memory = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        AlertStore { path, memory }
    }

    /// Applies the policy to what the menu shows now; returns the notifications to send.
    pub fn observe(&mut self, input: &MenuInput, now: Timestamp, lang: Lang) -> Vec<Note> {
        let t = lang.t();
        let mut notes = Vec::new();
        let mut changed = false;
        for (seen, problem) in subjects(input) {
            let before = self.memory.get(&seen.subject);
            let d = alerts::decide(before, &seen, now);
            changed |= before != Some(&d.remember);
            if let Some(kind) = d.send {
                let name = seen.subject.trim_start_matches("backup:");
                let standby = seen.subject == "standby" && kind != Kind::BackToNormal;
                let title = match kind {
                    _ if standby => lang.standby().alert_title.to_owned(),
                    Kind::Worse => fill(t.alert_worse, &[("name", name), ("state", &seen.condition_text(lang))]),
                    Kind::Reminder => fill(
                        t.alert_reminder,
                        &[("name", name), ("state", &seen.condition_text(lang))],
                    ),
                    Kind::BackToNormal => fill(t.alert_back_to_normal, &[("name", name)]),
                };
                let body = if kind == Kind::BackToNormal {
                    t.alert_back_to_normal_body.to_owned()
                } else if standby {
                    fill(lang.standby().alert_body, &[("problem", &problem)])
                } else {
                    problem
                };
                notes.push(Note { title, body });
            }
            self.memory.insert(seen.subject.clone(), d.remember);
        }
        if changed {
            self.save();
        }
        notes
    }

    fn save(&self) {
        let Ok(json) = serde_json::to_vec_pretty(&self.memory) else {
            return;
        };
        let tmp = self.path.with_extension("json.tmp");
        let result = self
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&tmp, json))
            .and_then(|_| std::fs::rename(&tmp, &self.path));
        if let Err(e) = result {
            log::warn!("cannot save the alert memory '{}': {e}", self.path.display());
        }
    }
}

trait ConditionText {
    fn condition_text(&self, lang: Lang) -> String;
}

impl ConditionText for Seen {
    fn condition_text(&self, lang: Lang) -> String {
        let t = lang.t();
        match State::from_word(&self.condition) {
            Some(state) if state != State::Fresh && state != State::Writing => state.word(t).to_owned(),
            _ => self.condition.clone(),
        }
    }
}

/// The subjects the app alerts about, with the problem text to show.
fn subjects(input: &MenuInput) -> Vec<(Seen, String)> {
    let mut list = Vec::new();
    if let Some(status) = &input.status {
        for s in &status.sources {
            let severity = match s.state {
                State::Fresh | State::Writing => Severity::Ok,
                State::Late | State::Suspect => Severity::Warning,
                _ => Severity::Problem,
            };
            let condition = if severity == Severity::Ok {
                "ok"
            } else {
                s.state.as_str()
            };
            list.push((
                Seen {
                    subject: format!("backup:{}", s.name),
                    condition: condition.to_owned(),
                    severity,
                },
                s.problem.clone().unwrap_or_default(),
            ));
        }
    }
    // The standby's hourly drill: a verified backup that does not restore is a problem to say in words.
    if let Some(status) = input.status.as_ref().filter(|s| s.standby.enabled) {
        let (condition, severity, text) = if status.standby.unrestorable {
            (
                "unrestorable",
                Severity::Problem,
                status.standby.problem.clone().unwrap_or_default(),
            )
        } else {
            ("ok", Severity::Ok, String::new())
        };
        list.push((
            Seen {
                subject: "standby".to_owned(),
                condition: condition.to_owned(),
                severity,
            },
            text,
        ));
    }
    if let Some(tm) = &input.time_machine {
        let (condition, severity) = if tm.problem {
            (tm.text.clone(), Severity::Problem)
        } else {
            ("ok".to_owned(), Severity::Ok)
        };
        list.push((
            Seen {
                subject: "time-machine".to_owned(),
                condition,
                severity,
            },
            tm.text.clone(),
        ));
    }
    list
}
