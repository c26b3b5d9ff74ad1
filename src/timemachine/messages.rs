//! What each Time Machine problem means for the office, and what to do, in French and English.
//!
//! Every [`Reason`] has an explanation (what is wrong, in plain words) and an action (one step the user
//! can take). The texts name macOS settings as System Settings calls them since macOS 13 (Ventura).

use std::path::PathBuf;
use std::time::Duration;

pub use crate::i18n::Lang;

/// Why Time Machine does not (or may not) protect the backup folder right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    FullDiskAccess,
    NoDestination,
    Excluded { path: PathBuf },
    DestinationUnavailable { name: Option<String> },
    NoMachineDirectory,
    NoBackups,
    Late { age: Duration },
    Stale { age: Duration },
    Error { detail: String },
}

impl Reason {
    /// What is wrong, in one or two plain sentences.
    pub fn explanation(&self, lang: Lang) -> String {
        use Lang::{En, Fr};
        match (self, lang) {
            (Reason::FullDiskAccess, En) => {
                "Secours cannot read the list of Time Machine backups: macOS has not given it Full Disk Access.".into()
            }
            (Reason::FullDiskAccess, Fr) => {
                "Secours ne peut pas lire la liste des sauvegardes Time Machine : macOS ne \
                 lui a pas donné l'accès complet au disque."
                    .into()
            }
            (Reason::NoDestination, En) => "Time Machine has no backup disk, so nothing is copied off this Mac.".into(),
            (Reason::NoDestination, Fr) => {
                "Time Machine n'a aucun disque de sauvegarde : rien n'est copié hors de ce Mac.".into()
            }
            (Reason::Excluded { path }, En) => format!(
                "The backup folder '{}' is excluded from Time Machine, so the hourly backups never leave this Mac.",
                path.display()
            ),
            (Reason::Excluded { path }, Fr) => format!(
                "Le dossier de sauvegarde '{}' est exclu de Time Machine : les sauvegardes horaires ne quittent \
                 jamais ce Mac.",
                path.display()
            ),
            (Reason::DestinationUnavailable { name: Some(name) }, En) => {
                format!("The Time Machine disk '{name}' is not available.")
            }
            (Reason::DestinationUnavailable { name: None }, En) => "The Time Machine disk is not available.".into(),
            (Reason::DestinationUnavailable { name: Some(name) }, Fr) => {
                format!("Le disque Time Machine '{name}' n'est pas disponible.")
            }
            (Reason::DestinationUnavailable { name: None }, Fr) => {
                "Le disque Time Machine n'est pas disponible.".into()
            }
            (Reason::NoMachineDirectory, En) => "The Time Machine disk holds no backup of this Mac yet.".into(),
            (Reason::NoMachineDirectory, Fr) => {
                "Le disque Time Machine ne contient encore aucune sauvegarde de ce Mac.".into()
            }
            (Reason::NoBackups, En) => "Time Machine has not made any backup of this Mac yet.".into(),
            (Reason::NoBackups, Fr) => "Time Machine n'a encore fait aucune sauvegarde de ce Mac.".into(),
            (Reason::Late { age }, En) => {
                format!(
                    "The last Time Machine backup is {} old; it normally runs every hour.",
                    age_text(*age, En)
                )
            }
            (Reason::Late { age }, Fr) => format!(
                "La dernière sauvegarde Time Machine date de {} ; elle a lieu normalement toutes les heures.",
                age_text(*age, Fr)
            ),
            (Reason::Stale { age }, En) => format!(
                "The last Time Machine backup is {} old: the recent hourly backups exist only on this Mac.",
                age_text(*age, En)
            ),
            (Reason::Stale { age }, Fr) => format!(
                "La dernière sauvegarde Time Machine date de {} : les sauvegardes horaires récentes n'existent \
                 que sur ce Mac.",
                age_text(*age, Fr)
            ),
            (Reason::Error { detail }, En) => format!("Time Machine gave an unexpected answer: '{detail}'."),
            (Reason::Error { detail }, Fr) => format!("Time Machine a donné une réponse inattendue : '{detail}'."),
        }
    }

    /// One step the user can take.
    pub fn action(&self, lang: Lang) -> String {
        use Lang::{En, Fr};
        let text = match (self, lang) {
            (Reason::FullDiskAccess, En) => {
                "Grant Full Disk Access to Secours: System Settings → Privacy & Security → Full Disk Access."
            }
            (Reason::FullDiskAccess, Fr) => {
                "Accordez l'accès complet au disque à Secours : Réglages Système → Confidentialité et sécurité → \
                 Accès complet au disque."
            }
            (Reason::NoDestination, En) => {
                "Choose a backup disk: System Settings → General → Time Machine → Add Backup Disk."
            }
            (Reason::NoDestination, Fr) => {
                "Choisissez un disque : Réglages Système → Général → Time Machine → Ajouter un disque de sauvegarde."
            }
            (Reason::Excluded { .. }, En) => {
                "Remove it from the exclusions: System Settings → General → Time Machine → Options."
            }
            (Reason::Excluded { .. }, Fr) => {
                "Retirez-le des exclusions : Réglages Système → Général → Time Machine → Options."
            }
            (Reason::DestinationUnavailable { .. }, En) => {
                "Connect the backup disk (or check that the network share is reachable), then wait for the next \
                 backup."
            }
            (Reason::DestinationUnavailable { .. }, Fr) => {
                "Branchez le disque de sauvegarde (ou vérifiez que le partage réseau est accessible), puis \
                 attendez la prochaine sauvegarde."
            }
            (Reason::NoMachineDirectory | Reason::NoBackups, En) => "Start a backup: Time Machine menu → Back Up Now.",
            (Reason::NoMachineDirectory | Reason::NoBackups, Fr) => {
                "Lancez une sauvegarde : menu Time Machine → Sauvegarder maintenant."
            }
            (Reason::Late { .. } | Reason::Stale { .. }, En) => {
                "Check that the backup disk is connected and that automatic backups are on, or choose Back Up Now \
                 in the Time Machine menu."
            }
            (Reason::Late { .. } | Reason::Stale { .. }, Fr) => {
                "Vérifiez que le disque de sauvegarde est branché et que les sauvegardes automatiques sont \
                 activées, ou choisissez Sauvegarder maintenant dans le menu Time Machine."
            }
            (Reason::Error { .. }, En) => {
                "Open System Settings → General → Time Machine to check it; if this persists, report the text above."
            }
            (Reason::Error { .. }, Fr) => {
                "Ouvrez Réglages Système → Général → Time Machine pour vérifier ; si cela persiste, signalez le \
                 texte ci-dessus."
            }
        };
        text.to_owned()
    }

    /// The explanation followed by the action.
    pub fn message(&self, lang: Lang) -> String {
        format!("{} {}", self.explanation(lang), self.action(lang))
    }
}

/// "5 h" under two days, "3 days" / "3 jours" beyond.
fn age_text(age: Duration, lang: Lang) -> String {
    let hours = age.as_secs() / 3600;
    if hours < 48 {
        return format!("{hours} h");
    }
    let days = hours / 24;
    match lang {
        Lang::En => format!("{days} days"),
        Lang::Fr => format!("{days} jours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Reason> {
        vec![
            Reason::FullDiskAccess,
            Reason::NoDestination,
            Reason::Excluded {
                path: "/srv/app/runtime/backup".into(),
            },
            Reason::DestinationUnavailable {
                name: Some("TM".into()),
            },
            Reason::DestinationUnavailable { name: None },
            Reason::NoMachineDirectory,
            Reason::NoBackups,
            Reason::Late {
                age: Duration::from_secs(3 * 3600),
            },
            Reason::Stale {
                age: Duration::from_secs(80 * 3600),
            },
            Reason::Error { detail: "boom".into() },
        ]
    }

    #[test]
    fn every_reason_has_distinct_french_and_english_texts() {
        for r in all() {
            let (fr, en) = (r.message(Lang::Fr), r.message(Lang::En));
            assert_ne!(fr, en, "{r:?}");
            assert!(fr.ends_with('.') && en.ends_with('.'), "{r:?}");
        }
    }

    #[test]
    fn full_disk_access_names_the_setting() {
        assert_eq!(
            Reason::FullDiskAccess.action(Lang::En),
            "Grant Full Disk Access to Secours: System Settings → Privacy & Security → Full Disk Access."
        );
        assert!(
            Reason::FullDiskAccess
                .action(Lang::Fr)
                .contains("Accès complet au disque")
        );
    }

    #[test]
    fn ages_read_in_hours_then_days() {
        assert_eq!(age_text(Duration::from_secs(3 * 3600 + 59), Lang::En), "3 h");
        assert_eq!(age_text(Duration::from_secs(47 * 3600), Lang::Fr), "47 h");
        assert_eq!(age_text(Duration::from_secs(80 * 3600), Lang::Fr), "3 jours");
        assert_eq!(age_text(Duration::from_secs(80 * 3600), Lang::En), "3 days");
    }
}
