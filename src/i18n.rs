//! French and English: the language choice and every user-facing string, in one place per language.
//!
//! The system language decides unless the configuration says `language = "fr"` or `"en"`; anything
//! that is not French falls back to English. Numbers follow the language: "1,2 Go" / "1.2 GB".

/// The `language` setting of the configuration: follow the system, or force one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LanguageSetting {
    #[default]
    Auto,
    Fr,
    En,
}

/// A language Secours speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// The language to use for a setting, asking the system when it says `auto`.
    pub fn choose(setting: LanguageSetting) -> Lang {
        match setting {
            LanguageSetting::Fr => Lang::Fr,
            LanguageSetting::En => Lang::En,
            LanguageSetting::Auto => Lang::from_locale(sys_locale::get_locale().as_deref().unwrap_or("en")),
        }
    }

    /// `fr`, `fr-CH`, `fr_FR.UTF-8` → French; anything else → English.
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    /// The strings of this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// Every user-facing string. Templates use `{name}` placeholders, filled by [`fill`].
pub struct Texts {
    pub state_fresh: &'static str,
    pub state_writing: &'static str,
    pub state_late: &'static str,
    pub state_stale: &'static str,
    pub state_missing: &'static str,
    pub state_corrupt: &'static str,
    pub state_unknown: &'static str,
    pub state_suspect: &'static str,
    pub state_unrestorable: &'static str,
    pub overall: &'static str,
    pub source_line: &'static str,
    pub last_backup: &'static str,
    pub no_backup: &'static str,
    pub ago: &'static str,
    pub in_future: &'static str,
    pub file_line: &'static str,
    pub file_absent: &'static str,
    pub file_unreadable: &'static str,
    pub reason_db_missing: &'static str,
    pub reason_media_missing: &'static str,
    pub reason_both_missing: &'static str,
    pub reason_unreadable: &'static str,
    pub reason_corrupt: &'static str,
    pub reason_clock_skew: &'static str,
    pub reason_writing: &'static str,
    pub reason_late: &'static str,
    pub reason_stale: &'static str,
    pub advice_missing: &'static str,
    pub folder_absent: &'static str,
    pub folder_not_a_folder: &'static str,
    pub folder_unreadable: &'static str,
    pub folder_several_dumps: &'static str,
    pub advice_stale: &'static str,
    pub advice_corrupt: &'static str,
    pub advice_unknown: &'static str,
    pub no_config: &'static str,
    pub database: &'static str,
    pub media: &'static str,
    pub units: [&'static str; 5],
    pub decimal: char,
    pub minutes: &'static str,
    pub hours: &'static str,
    pub days: &'static str,
    pub demo_created: &'static str,
    pub demo_no_display: &'static str,
    /// A build without the menu-bar app (`--no-default-features`) asked for it.
    pub no_gui: &'static str,
    pub app_not_yet: &'static str,
    pub copy_done: &'static str,
    /// A safe copy that failed: the earlier copies are untouched (the detail follows).
    pub copy_failed: &'static str,
    pub copy_line: &'static str,
    pub copy_none: &'static str,
    pub copy_problem: &'static str,
    pub verify_ok: &'static str,
    pub verify_bad: &'static str,
    /// A sound dump that reaches outside its database (`{detail}`: where and what, in English).
    pub verify_outside: &'static str,
    pub tm_line: &'static str,
    pub tm_running: &'static str,
    pub history_empty: &'static str,
    pub not_available_yet: &'static str,
    pub alert_worse: &'static str,
    pub alert_reminder: &'static str,
    pub alert_back_to_normal: &'static str,
    pub alert_back_to_normal_body: &'static str,
    pub menu_show_backups_other: &'static str,
    pub colon: &'static str,
    pub menu_config_problem: &'static str,
    pub menu_time_machine: &'static str,
    pub menu_newest_copy: &'static str,
    pub menu_no_copy: &'static str,
    pub menu_last_drill: &'static str,
    pub menu_no_drill: &'static str,
    pub menu_drill_due: &'static str,
    pub menu_unfinished: &'static str,
    pub menu_resume: &'static str,
    pub menu_rollback: &'static str,
    pub menu_cancel: &'static str,
    pub menu_copy: &'static str,
    pub menu_verify: &'static str,
    pub menu_restore: &'static str,
    pub menu_restore_latest: &'static str,
    pub menu_restore_copy: &'static str,
    pub menu_restore_choose: &'static str,
    pub menu_failback: &'static str,
    pub menu_backup_now: &'static str,
    pub backup_done: &'static str,
    pub backup_failed: &'static str,
    /// No backup pair could be read for the verification asked from the menu.
    pub verify_cannot: &'static str,
    /// What follows a headline: the library's message, which names the file, step or value.
    pub detail: &'static str,
    pub menu_open: &'static str,
    pub menu_show_backups: &'static str,
    pub menu_history: &'static str,
    pub menu_preferences: &'static str,
    pub menu_grant_fda: &'static str,
    pub menu_login: &'static str,
    pub menu_quit: &'static str,
    pub menu_running_verify: &'static str,
    pub menu_running_copy: &'static str,
    pub menu_running_restore: &'static str,
    pub menu_running_failback: &'static str,
    pub menu_running_backup: &'static str,
    pub menu_running_software: &'static str,
    /// Names of the parts of a running operation, after its name in the menu ("médias 63 %, base 41 %").
    pub part_database: &'static str,
    pub part_database_check: &'static str,
    pub part_database_export: &'static str,
    pub part_media: &'static str,
    pub part_media_archive: &'static str,
    pub part_copy: &'static str,
    pub part_code: &'static str,
    pub menu_nothing_watched: &'static str,
    pub parity_recorded: &'static str,
    pub parity_identical: &'static str,
    pub parity_different: &'static str,
    pub parity_changed: &'static str,
    pub parity_only_in: &'static str,
    pub parity_more: &'static str,
    pub parity_advice: &'static str,
}

pub static FR: Texts = Texts {
    state_fresh: "à jour",
    state_writing: "en cours d’écriture",
    state_late: "en retard",
    state_stale: "trop ancienne",
    state_missing: "manquante",
    state_corrupt: "corrompue",
    state_unknown: "inconnue",
    state_suspect: "suspecte",
    state_unrestorable: "non restaurable",
    overall: "État des sauvegardes : {state}",
    source_line: "{name} ({folder}) : {state}",
    last_backup: "Dernière sauvegarde : il y a {age} — base {db}, médias {media}",
    no_backup: "Aucune sauvegarde complète trouvée",
    ago: "il y a {age}",
    in_future: "dans le futur ({age})",
    file_line: "{label} : {path} — {size}, {when}",
    file_absent: "{label} : {path} — absent",
    file_unreadable: "{label} : {path} — illisible ({error})",
    reason_db_missing: "Le fichier de la base de données est absent",
    reason_media_missing: "Le fichier des médias (media.taz) est absent",
    reason_both_missing: "Aucun fichier de sauvegarde",
    reason_unreadable: "Un fichier ne peut pas être lu",
    reason_corrupt: "La vérification a trouvé un fichier endommagé",
    reason_clock_skew: "La date d’un fichier est dans le futur de {age} : vérifiez l’horloge de l’ordinateur.",
    reason_writing: "La sauvegarde est en cours d’écriture.",
    reason_late: "La dernière sauvegarde a plus de {limit}.",
    reason_stale: "La dernière sauvegarde a plus de {limit} : la sauvegarde horaire ne fonctionne plus",
    advice_missing: "Vérifiez que la sauvegarde horaire tourne sur l’ordinateur de production.",
    folder_absent: "Le dossier de sauvegarde n’existe pas.",
    folder_not_a_folder: "Le chemin surveillé n’est pas un dossier : corrigez-le dans la configuration.",
    folder_unreadable: "Le dossier ne peut pas être lu ({error}) : donnez à Secours l’accès à ce dossier.",
    folder_several_dumps: "Plusieurs sauvegardes de base ({names}) : indiquez le nom de la base dans la configuration de l’environnement.",
    advice_stale: "Vérifiez que l’ordinateur de production est allumé et que sa sauvegarde horaire tourne.",
    advice_corrupt: "Ne restaurez pas ce fichier : utilisez une copie plus ancienne ou Time Machine.",
    advice_unknown: "Vérifiez les droits d’accès au dossier et l’horloge de l’ordinateur.",
    no_config: "Pas de fichier de configuration à {path} : valeurs par défaut de la procédure utilisées.",
    database: "Base",
    media: "Médias",
    units: ["o", "Ko", "Mo", "Go", "To"],
    decimal: ',',
    minutes: "min",
    hours: "h",
    days: "j",
    demo_created: "Démonstration prête dans {dir} (configuration : {config}).",
    demo_no_display: "Pas d’écran disponible : voici l’état des sauvegardes à la place de l’icône.",
    no_gui: "Cette version de Secours n’a pas l’application de barre des menus (construite sans la fonction « gui ») : voici l’état des sauvegardes à la place.",
    app_not_yet: "L’icône de barre de menus arrive dans une prochaine version ; voici l’état des sauvegardes.",
    copy_done: "La sauvegarde est copiée en lieu sûr et vérifiée.",
    copy_failed: "La copie de sécurité a échoué ; les copies déjà faites sont intactes.",
    copy_line: "Copie de sécurité sur {dest} : il y a {age}",
    copy_none: "Copie de sécurité sur {dest} : aucune",
    copy_problem: "Copie de sécurité sur {dest} : {problem}",
    verify_ok: "Sauvegarde vérifiée : complète et lisible.",
    verify_bad: "La sauvegarde est endommagée : ne la restaurez pas.",
    verify_outside: "Cette sauvegarde de la base ne se limite pas à sa base de données ; elle sera refusée à la restauration : {detail}",
    tm_line: "Time Machine : dernière sauvegarde {when}",
    tm_running: "en cours",
    history_empty: "L’historique est vide pour l’instant.",
    not_available_yet: "Cette action arrive dans une prochaine version de Secours. En attendant, suivez la procédure de secours.",
    alert_worse: "Sauvegarde {name} : {state}",
    alert_reminder: "Rappel — sauvegarde {name} : {state}",
    alert_back_to_normal: "Sauvegarde {name} : de nouveau à jour",
    alert_back_to_normal_body: "Tout est rentré dans l’ordre.",
    menu_show_backups_other: "Afficher les sauvegardes dans le gestionnaire de fichiers",
    colon: " : ",
    menu_config_problem: "Configuration à corriger : {problem}",
    menu_time_machine: "Time Machine : {text}",
    menu_newest_copy: "Copie de sécurité la plus récente : il y a {age} sur « {destination} »",
    menu_no_copy: "Aucune copie de sécurité",
    menu_last_drill: "Dernier exercice de restauration : il y a {age}",
    menu_no_drill: "Aucun exercice de restauration enregistré",
    menu_drill_due: "exercice conseillé",
    menu_unfinished: "Restauration interrompue : {what}",
    menu_resume: "Terminer la restauration interrompue",
    menu_rollback: "Annuler la restauration interrompue (revenir à l’état d’avant)",
    menu_cancel: "Annuler l’opération en cours",
    menu_copy: "Copier la sauvegarde en lieu sûr…",
    menu_verify: "Vérifier la sauvegarde maintenant",
    menu_restore: "Restaurer sur {target}",
    menu_restore_latest: "Dernière sauvegarde vérifiée",
    menu_restore_copy: "Copie du {date} (« {destination} »)",
    menu_restore_choose: "Choisir un dossier…",
    menu_failback: "Revenir en production…",
    menu_backup_now: "Sauvegarder maintenant",
    backup_done: "Sauvegarde de « {env} » faite ({size}).",
    backup_failed: "La sauvegarde n'a pas pu être faite ; les fichiers de la sauvegarde précédente sont intacts.",
    verify_cannot: "Impossible de vérifier la sauvegarde.",
    detail: "Détail : {text}",
    menu_open: "Ouvrir {target} dans le navigateur",
    menu_show_backups: "Afficher les sauvegardes dans le Finder",
    menu_history: "Historique…",
    menu_preferences: "Préférences…",
    menu_grant_fda: "Autoriser l’accès complet au disque…",
    menu_login: "Ouvrir au démarrage de la session",
    menu_quit: "Quitter Secours",
    menu_running_verify: "Vérification…",
    menu_running_copy: "Copie…",
    menu_running_restore: "Restauration…",
    menu_running_failback: "Retour en production…",
    menu_running_backup: "Sauvegarde…",
    menu_running_software: "Copie du logiciel…",
    part_database: "base",
    part_database_check: "contrôle de la base",
    part_database_export: "export de la base",
    part_media: "médias",
    part_media_archive: "archive des médias",
    part_copy: "copie",
    part_code: "inventaire du code",
    menu_nothing_watched: "Aucune sauvegarde surveillée : voir Préférences",
    parity_recorded: "{env} : code relevé le {date} ({path})",
    parity_identical: "Logiciel identique : {a} et {b} ({count} éléments comparés).",
    parity_different: "Le logiciel diffère entre {a} et {b} :",
    parity_changed: "Contenu différent ({count}) :",
    parity_only_in: "Seulement dans {name} ({count}) :",
    parity_more: "… et {count} de plus",
    parity_advice: "Mettez {b} à jour avec le code de {a} (mêmes fichiers, mêmes versions), puis comparez de nouveau.",
};

pub static EN: Texts = Texts {
    state_fresh: "up to date",
    state_writing: "being written",
    state_late: "late",
    state_stale: "stale",
    state_missing: "missing",
    state_corrupt: "corrupt",
    state_unknown: "unknown",
    state_suspect: "suspect",
    state_unrestorable: "unrestorable",
    overall: "Backups: {state}",
    source_line: "{name} ({folder}): {state}",
    last_backup: "Last backup: {age} ago — database {db}, media {media}",
    no_backup: "No complete backup found",
    ago: "{age} ago",
    in_future: "in the future ({age})",
    file_line: "{label}: {path} — {size}, {when}",
    file_absent: "{label}: {path} — absent",
    file_unreadable: "{label}: {path} — unreadable ({error})",
    reason_db_missing: "The database dump is absent",
    reason_media_missing: "The media archive (media.taz) is absent",
    reason_both_missing: "No backup file",
    reason_unreadable: "A file cannot be read",
    reason_corrupt: "Verification found a damaged file",
    reason_clock_skew: "A file's time is {age} in the future: check the computer's clock.",
    reason_writing: "The backup is being written.",
    reason_late: "The last backup is older than {limit}.",
    reason_stale: "The last backup is older than {limit}: the hourly backup has stopped",
    advice_missing: "Check that the hourly backup runs on the production computer.",
    folder_absent: "The backup folder does not exist.",
    folder_not_a_folder: "The watched path is not a folder: correct it in the configuration.",
    folder_unreadable: "The folder cannot be read ({error}): give Secours access to it.",
    folder_several_dumps: "Several database dumps ({names}): name the database in the environment's configuration.",
    advice_stale: "Check that the production computer is on and that its hourly backup runs.",
    advice_corrupt: "Do not restore this file: use an older copy or Time Machine.",
    advice_unknown: "Check the folder's permissions and the computer's clock.",
    no_config: "No configuration file at {path}: using the procedure's defaults.",
    database: "Database",
    media: "Media",
    units: ["B", "KB", "MB", "GB", "TB"],
    decimal: '.',
    minutes: "min",
    hours: "h",
    days: "d",
    demo_created: "Demo ready in {dir} (configuration: {config}).",
    demo_no_display: "No display available: here is the backup status instead of the icon.",
    no_gui: "This build of Secours has no menu-bar app (built without the 'gui' feature): here is the backup status instead.",
    app_not_yet: "The menu-bar icon comes in a later version; here is the backup status.",
    copy_done: "The backup is copied to the safe place and checked.",
    copy_failed: "The safe copy failed; the copies made before are intact.",
    copy_line: "Safe copy on {dest}: {age} ago",
    copy_none: "Safe copy on {dest}: none yet",
    copy_problem: "Safe copy on {dest}: {problem}",
    verify_ok: "Backup verified: complete and readable.",
    verify_bad: "The backup is damaged: do not restore it.",
    verify_outside: "This database dump reaches outside its database; a restore will refuse it: {detail}",
    tm_line: "Time Machine: last backup {when}",
    tm_running: "running",
    history_empty: "The history is empty so far.",
    not_available_yet: "This action comes in a later version of Secours. Meanwhile, follow the recovery procedure.",
    alert_worse: "Backup {name}: {state}",
    alert_reminder: "Reminder — backup {name}: {state}",
    alert_back_to_normal: "Backup {name}: up to date again",
    alert_back_to_normal_body: "Everything is back to normal.",
    menu_show_backups_other: "Show backups in the file manager",
    colon: ": ",
    menu_config_problem: "Configuration to fix: {problem}",
    menu_time_machine: "Time Machine: {text}",
    menu_newest_copy: "Newest safe copy: {age} ago on “{destination}”",
    menu_no_copy: "No safe copy",
    menu_last_drill: "Last restore rehearsal: {age} ago",
    menu_no_drill: "No restore rehearsal recorded",
    menu_drill_due: "rehearsal advised",
    menu_unfinished: "Interrupted restore: {what}",
    menu_resume: "Finish the interrupted restore",
    menu_rollback: "Undo the interrupted restore (back to the previous state)",
    menu_cancel: "Cancel the running operation",
    menu_copy: "Copy the backup to a safe location…",
    menu_verify: "Verify the backup now",
    menu_restore: "Restore onto {target}",
    menu_restore_latest: "Latest verified backup",
    menu_restore_copy: "Copy of {date} (“{destination}”)",
    menu_restore_choose: "Choose a folder…",
    menu_failback: "Return to production…",
    menu_backup_now: "Back up now",
    backup_done: "Backup of '{env}' done ({size}).",
    backup_failed: "The backup could not be made; the previous backup's files are intact.",
    verify_cannot: "The backup cannot be verified.",
    detail: "{text}",
    menu_open: "Open {target} in the browser",
    menu_show_backups: "Show backups in Finder",
    menu_history: "History…",
    menu_preferences: "Preferences…",
    menu_grant_fda: "Grant Full Disk Access…",
    menu_login: "Launch at login",
    menu_quit: "Quit Secours",
    menu_running_verify: "Verifying…",
    menu_running_copy: "Copying…",
    menu_running_restore: "Restoring…",
    menu_running_failback: "Returning to production…",
    menu_running_backup: "Backing up…",
    menu_running_software: "Copying the software…",
    part_database: "database",
    part_database_check: "database check",
    part_database_export: "database export",
    part_media: "media",
    part_media_archive: "media archive",
    part_copy: "copy",
    part_code: "code manifest",
    menu_nothing_watched: "No backup watched: see Preferences",
    parity_recorded: "{env}: code as recorded on {date} ({path})",
    parity_identical: "Software identical: {a} and {b} ({count} entries compared).",
    parity_different: "The software differs between {a} and {b}:",
    parity_changed: "Different content ({count}):",
    parity_only_in: "Only in {name} ({count}):",
    parity_more: "… and {count} more",
    parity_advice: "Bring {b} up to date with {a}'s code (same files, same versions), then compare again.",
};

impl Texts {
    /// The menu's name for a progress step of the library ([`crate::progress::Update::step`]). The
    /// verification of the database and its import share one name, as do both media steps: the line says
    /// how far the database and the media are, whatever the step.
    pub fn part<'a>(&self, step: &'a str) -> &'a str {
        match step {
            "verify-db" | "import" => self.part_database,
            "import-check" => self.part_database_check,
            "dump" => self.part_database_export,
            "verify-media" | "media" => self.part_media,
            "media-archive" => self.part_media_archive,
            "copy" => self.part_copy,
            "code-manifest" => self.part_code,
            other => other,
        }
    }

    /// A failure for people: `headline` (the state things are in and what to do, in this language; may be
    /// empty) and then `detail`, the library's message naming the file, step or value.
    pub fn failure(&self, headline: &str, detail: &str) -> String {
        let detail = fill(self.detail, &[("text", detail)]);
        if headline.is_empty() {
            detail
        } else {
            format!("{headline}\n{detail}")
        }
    }

    /// A size for people: "48 Mo", "1,2 Go".
    pub fn bytes(&self, n: u64) -> String {
        let mut value = n as f64;
        let mut unit = 0;
        while value >= 1000.0 && unit < self.units.len() - 1 {
            value /= 1000.0;
            unit += 1;
        }
        let text = if unit == 0 || value >= 10.0 {
            format!("{value:.0}")
        } else {
            format!("{value:.1}")
        };
        format!("{} {}", text.replace('.', &self.decimal.to_string()), self.units[unit])
    }

    /// A duration for people: "45 s", "12 min", "2 h 05", "3 j".
    pub fn age(&self, seconds: i64) -> String {
        let s = seconds.max(0);
        if s < 60 {
            format!("{s} s")
        } else if s < 3600 {
            format!("{} {}", s / 60, self.minutes)
        } else if s < 48 * 3600 {
            format!("{} {} {:02}", s / 3600, self.hours, (s % 3600) / 60)
        } else {
            format!("{} {}", s / 86_400, self.days)
        }
    }
}

/// Replaces each `{name}` of `template` by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The strings of a restore and of the return to production (kept apart from [`Texts`] because they
/// only serve the `restore` and `failback` commands and the app's confirmations).
pub struct RestoreTexts {
    pub title_restore: &'static str,
    pub title_failback: &'static str,
    pub backup: &'static str,
    pub replaces_db: &'static str,
    pub replaces_db_unknown: &'static str,
    pub replaces_media: &'static str,
    pub kept: &'static str,
    pub space: &'static str,
    pub estimate: &'static str,
    /// Administrator rights will be asked for once ({how}).
    pub administrator: &'static str,
    pub steps: &'static str,
    pub warning: &'static str,
    pub confirm: &'static str,
    pub confirm_failback: &'static str,
    pub yes_words: &'static [&'static str],
    pub declined: &'static str,
    pub needs_yes: &'static str,
    pub needs_to_production: &'static str,
    pub done: &'static str,
    pub rolled_back_done: &'static str,
    /// Headlines of a failed restore: what state the target is in and what to do, in the user's language;
    /// the technical detail (the library's message) follows them. Empty in English: that message is
    /// English and already says both.
    pub failed_refused: &'static str,
    pub failed_rolled_back: &'static str,
    pub failed_cancelled: &'static str,
    pub failed_rollback_failed: &'static str,
    pub failed_unfinished: &'static str,
    pub failed_busy: &'static str,
    pub failed_nothing_unfinished: &'static str,
    pub failed_other: &'static str,
    pub sources_header: &'static str,
    pub sources_none: &'static str,
    pub verified: &'static str,
    pub not_verified: &'static str,
    pub dry_run: &'static str,
    pub button_replace: &'static str,
    pub button_cancel: &'static str,
    pub failback_again: &'static str,
    pub choose_folder: &'static str,
}

pub static FR_RESTORE: RestoreTexts = RestoreTexts {
    title_restore: "Restauration de la sauvegarde sur « {target} »",
    title_failback: "RETOUR EN PRODUCTION : la production « {target} » va être remplacée par la sauvegarde du secours",
    backup: "Sauvegarde : {time} (il y a {age}), dans {folder}\n  base {db} ({tables} tables), médias {media} ({files} fichiers, {bytes} une fois extraits)",
    replaces_db: "Sera remplacée : la base « {database} » ({objects} tables, vues, routines et événements, {size})",
    replaces_db_unknown: "Sera remplacée : la base « {database} »",
    replaces_media: "Seront remplacés : les médias de {web} ({files} fichiers, {bytes})",
    kept: "L'état actuel est d'abord mis de côté et gardé {keep} ; en cas d'échec il est remis en place automatiquement.",
    space: "Espace disque libre : {free} (nécessaire : {needed})",
    estimate: "Durée estimée : environ {duration}",
    administrator: "Les dossiers du serveur web appartiennent à un autre utilisateur : les droits d'administrateur seront demandés une seule fois ({how}).",
    steps: "Étapes : vérifier la sauvegarde, contrôler la cible, copie de sécurité, médias et base en parallèle, mise en place, contrôle final",
    warning: "Attention : {text}",
    confirm: "Remplacer « {target} » par cette sauvegarde ? Tapez « oui » pour continuer : ",
    confirm_failback: "Ceci remplace la PRODUCTION. Pour confirmer, tapez son nom ({target}) : ",
    yes_words: &["oui", "o", "yes", "y"],
    declined: "Rien n'a été changé.",
    needs_yes: "Pas de terminal pour confirmer : relancez avec --yes après avoir relu le résumé (--dry-run).",
    needs_to_production: "Le retour en production remplace la production : --yes ne suffit pas, ajoutez aussi --to-production.",
    done: "Terminé en {duration} : {tables} tables, {rows} lignes, {files} fichiers. « {target} » est à jour.",
    rolled_back_done: "« {target} » a été remis exactement dans son état d'avant la restauration.",
    failed_refused: "La restauration n'a pas commencé : rien n'a été changé. Corrigez le problème ci-dessous, puis recommencez.",
    failed_rolled_back: "La restauration a échoué à l'étape « {step} ». « {target} » a été remis automatiquement exactement comme avant.",
    failed_cancelled: "Restauration annulée : « {target} » est exactement comme avant.",
    failed_rollback_failed: "La restauration a échoué à l'étape « {step} », et la remise en état aussi : « {target} » est peut-être restauré en partie. Corrigez la cause, puis choisissez « Annuler la restauration interrompue » dans le menu (ou : secours restore --rollback).",
    failed_unfinished: "Une restauration de « {target} » n'est pas terminée. Choisissez dans le menu « Terminer la restauration interrompue » ou « Annuler la restauration interrompue » (ou : secours restore --resume / --rollback).",
    failed_busy: "Une autre restauration est en cours : attendez qu'elle se termine.",
    failed_nothing_unfinished: "Aucune restauration interrompue : il n'y a rien à terminer ni à annuler.",
    failed_other: "La restauration n'a pas pu se faire.",
    sources_header: "Sauvegardes disponibles (la plus récente d'abord) :",
    sources_none: "Aucune sauvegarde complète trouvée.",
    verified: "vérifiée",
    not_verified: "pas encore vérifiée",
    dry_run: "Simulation : rien n'a été changé.",
    button_replace: "Remplacer",
    button_cancel: "Annuler",
    failback_again: "Dernière confirmation : la PRODUCTION « {target} » va être remplacée par la sauvegarde du secours. Continuer ?",
    choose_folder: "Choisir le dossier de la sauvegarde (base .gz et media.taz)",
};

pub static EN_RESTORE: RestoreTexts = RestoreTexts {
    title_restore: "Restore of the backup onto '{target}'",
    title_failback: "RETURN TO PRODUCTION: production '{target}' will be replaced by the standby's backup",
    backup: "Backup: {time} ({age} ago), in {folder}\n  database {db} ({tables} tables), media {media} ({files} files, {bytes} extracted)",
    replaces_db: "Will be replaced: database '{database}' ({objects} tables, views, routines and events, {size})",
    replaces_db_unknown: "Will be replaced: database '{database}'",
    replaces_media: "Will be replaced: the media of {web} ({files} files, {bytes})",
    kept: "The current state is set aside first and kept {keep}; if anything fails it is put back automatically.",
    space: "Free disk space: {free} (needed: {needed})",
    estimate: "Estimated duration: about {duration}",
    administrator: "The web server's folders belong to another user: administrator rights will be asked for once ({how}).",
    steps: "Steps: verify the backup, check the target, safety copy, media and database in parallel, switch, final check",
    warning: "Warning: {text}",
    confirm: "Replace '{target}' with this backup? Type 'yes' to continue: ",
    confirm_failback: "This replaces PRODUCTION. To confirm, type its name ({target}): ",
    yes_words: &["yes", "y", "oui", "o"],
    declined: "Nothing was changed.",
    needs_yes: "No terminal to confirm: run again with --yes after reading the summary (--dry-run).",
    needs_to_production: "The return to production replaces production: --yes is not enough, add --to-production too.",
    done: "Done in {duration}: {tables} tables, {rows} rows, {files} files. '{target}' is up to date.",
    rolled_back_done: "'{target}' was put back exactly as it was before the restore.",
    failed_refused: "",
    failed_rolled_back: "",
    failed_cancelled: "",
    failed_rollback_failed: "",
    failed_unfinished: "",
    failed_busy: "",
    failed_nothing_unfinished: "",
    failed_other: "",
    sources_header: "Available backups (newest first):",
    sources_none: "No complete backup found.",
    verified: "verified",
    not_verified: "not verified yet",
    dry_run: "Dry run: nothing was changed.",
    button_replace: "Replace",
    button_cancel: "Cancel",
    failback_again: "Last confirmation: PRODUCTION '{target}' will be replaced by the standby's backup. Continue?",
    choose_folder: "Choose the backup's folder (database .gz and media.taz)",
};

impl Lang {
    /// The restore strings of this language.
    pub fn restore(self) -> &'static RestoreTexts {
        match self {
            Lang::Fr => &FR_RESTORE,
            Lang::En => &EN_RESTORE,
        }
    }
}

/// The demo's strings: its database server, what goes wrong on request, its menu and its web pages.
pub struct DemoTexts {
    /// No server binary: the one line saying how to install one (`{install}`).
    pub no_server: &'static str,
    /// The server did not start (`{error}` names the log to read).
    pub server_failed: &'static str,
    /// The server and the pages run (`{server}`, `{pages}`).
    pub server_ready: &'static str,
    /// The application was loaded into an environment (`{env}`, `{tables}`, `{rows}`).
    pub seeded: &'static str,
    /// What to try, three lines.
    pub try_this: &'static str,
    pub aged: &'static str,
    pub job_stopped: &'static str,
    pub corrupted: &'static str,
    pub repaired: &'static str,
    pub repair_failed: &'static str,
    pub no_demo: &'static str,
    pub menu: &'static str,
    pub menu_open_prod: &'static str,
    pub menu_stop_job: &'static str,
    pub menu_age: &'static str,
    pub menu_corrupt: &'static str,
    pub menu_repair: &'static str,
    pub page_banner_prod: &'static str,
    pub page_banner_standby: &'static str,
    pub page_title: &'static str,
    pub page_database: &'static str,
    pub page_table: &'static str,
    pub page_rows: &'static str,
    pub page_total: &'static str,
    pub page_documents: &'static str,
    pub page_no_documents: &'static str,
    pub page_pictures: &'static str,
    pub page_db_down: &'static str,
    pub page_index: &'static str,
}

pub static FR_DEMO: DemoTexts = DemoTexts {
    no_server: "Pas de serveur MariaDB/MySQL sur cet ordinateur : la démonstration tourne sans base de données (restaurer, revenir en production et sauvegarder ne peuvent pas être essayés). Pour tout essayer : {install}",
    server_failed: "Le serveur de base de données de la démonstration n’a pas démarré : {error}",
    server_ready: "Base de données de la démonstration : {server} ; pages : {pages}",
    seeded: "Application de démonstration chargée dans « {env} » : {tables} tables, {rows} lignes.",
    try_this: "À essayer :\n  1. regardez l’icône : elle demande votre attention tant qu’aucune restauration n’a été répétée ;\n  2. « Restaurer sur secours » › « Dernière sauvegarde vérifiée » (une répétition : l’icône dit alors que tout va bien) ;\n  3. « Ouvrir secours dans le navigateur » : secours montre maintenant les données de prod.",
    aged: "La sauvegarde a maintenant {age} et la sauvegarde horaire est arrêtée : l’icône change dans quelques secondes. « secours demo » remet tout en ordre.",
    job_stopped: "La sauvegarde horaire est arrêtée depuis {age} : l’icône passe à « en retard » dans quelques secondes. « secours demo » la relance.",
    corrupted: "Le fichier {path} est maintenant endommagé : la vérification le trouvera et l’icône passera au rouge. « secours demo » refait une bonne sauvegarde.",
    repaired: "Tout est en ordre : nouvelle sauvegarde faite, sauvegarde horaire relancée.",
    repair_failed: "La démonstration n’a pas pu être remise en ordre",
    no_demo: "Pas de démonstration dans '{dir}' : lancez d’abord « secours demo ».",
    menu: "Démo",
    menu_open_prod: "Ouvrir prod dans le navigateur",
    menu_stop_job: "Arrêter la sauvegarde horaire (→ en retard)",
    menu_age: "Vieillir la sauvegarde de 4 h (→ trop ancienne)",
    menu_corrupt: "Endommager la sauvegarde (→ corrompue)",
    menu_repair: "Tout remettre en ordre",
    page_banner_prod: "PRODUCTION",
    page_banner_standby: "SECOURS — environnement de secours",
    page_title: "Gestion — {env}",
    page_database: "Base de données « {db} » : {tables} tables, {rows} lignes",
    page_table: "Table",
    page_rows: "Lignes",
    page_total: "Total",
    page_documents: "Documents ({count})",
    page_no_documents: "Aucun document.",
    page_pictures: "Images : {count}",
    page_db_down: "La base de données « {db} » ne répond pas : {error}",
    page_index: "Démonstration de Secours : les environnements",
};

pub static EN_DEMO: DemoTexts = DemoTexts {
    no_server: "No MariaDB/MySQL server on this computer: the demo runs without a database (restoring, returning to production and backing up cannot be tried). To try everything: {install}",
    server_failed: "The demo's database server did not start: {error}",
    server_ready: "The demo's database: {server}; pages: {pages}",
    seeded: "Demo application loaded into '{env}': {tables} tables, {rows} rows.",
    try_this: "Things to try:\n  1. look at the icon: it asks for attention while no restore has been rehearsed;\n  2. \"Restore onto secours\" › \"Latest verified backup\" (a rehearsal: the icon then says all is well);\n  3. \"Open secours in the browser\": secours now shows prod's data.",
    aged: "The backup is now {age} old and the hourly backup is stopped: the icon changes within seconds. 'secours demo' puts everything right.",
    job_stopped: "The hourly backup stopped {age} ago: the icon turns to late within seconds. 'secours demo' starts it again.",
    corrupted: "The file {path} is now damaged: the verification will find it and the icon will turn red. 'secours demo' makes a good backup again.",
    repaired: "Everything is right again: a new backup was made and the hourly backup runs again.",
    repair_failed: "The demo could not be put right",
    no_demo: "No demo in '{dir}': run 'secours demo' first.",
    menu: "Demo",
    menu_open_prod: "Open prod in the browser",
    menu_stop_job: "Stop the hourly backup (→ late)",
    menu_age: "Make the backup 4 h old (→ stale)",
    menu_corrupt: "Damage the backup (→ corrupt)",
    menu_repair: "Put everything right",
    page_banner_prod: "PRODUCTION",
    page_banner_standby: "SECOURS — standby environment",
    page_title: "Gestion — {env}",
    page_database: "Database '{db}': {tables} tables, {rows} rows",
    page_table: "Table",
    page_rows: "Rows",
    page_total: "Total",
    page_documents: "Documents ({count})",
    page_no_documents: "No documents.",
    page_pictures: "Pictures: {count}",
    page_db_down: "The database '{db}' does not answer: {error}",
    page_index: "Secours demo: the environments",
};

impl Lang {
    /// The demo's strings of this language.
    pub fn demo(self) -> &'static DemoTexts {
        match self {
            Lang::Fr => &FR_DEMO,
            Lang::En => &EN_DEMO,
        }
    }
}

/// The menu-bar app's words while it starts and for launch at login on macOS 13+.
pub struct AppTexts {
    /// The first line until the first look at the backups is done.
    pub checking: &'static str,
    /// The Time Machine line until `tmutil` has answered (it may take up to a minute).
    pub tm_checking: &'static str,
    /// The launch-at-login item when macOS waits for the user's approval in System Settings.
    pub login_approval: &'static str,
    /// Said when launch at login needs the user in System Settings.
    pub login_approval_note: &'static str,
}

static FR_APP: AppTexts = AppTexts {
    checking: "Vérification des sauvegardes…",
    tm_checking: "vérification…",
    login_approval: "Ouvrir au démarrage de la session (à autoriser dans Réglages Système)",
    login_approval_note: "Secours attend votre accord : dans Réglages Système › Général › Ouverture, activez Secours.",
};

static EN_APP: AppTexts = AppTexts {
    checking: "Checking the backups…",
    tm_checking: "checking…",
    login_approval: "Launch at login (to allow in System Settings)",
    login_approval_note: "Secours waits for your approval: in System Settings › General › Login Items, switch Secours on.",
};

impl Lang {
    /// The app's start-up and login-item strings of this language.
    pub fn app(self) -> &'static AppTexts {
        match self {
            Lang::Fr => &FR_APP,
            Lang::En => &EN_APP,
        }
    }
}

/// The strings of anomalies (suspect backups) and of the history report.
pub struct ReportTexts {
    /// Anomalies: `{pct}` percent lost, `{since}` one of the `since_*`, sizes in `{before}` / `{now}`.
    pub db_shrunk: &'static str,
    pub media_shrunk: &'static str,
    pub table_emptied: &'static str,
    pub table_missing: &'static str,
    pub files_dropped: &'static str,
    pub files_dropped_folder: &'static str,
    /// Between the database's shrinking and the tables that explain it.
    pub because: &'static str,
    pub and: &'static str,
    pub since_today: &'static str,
    pub since_yesterday: &'static str,
    pub since_date: &'static str,
    pub advice: &'static str,
    pub menu_accept: &'static str,
    pub accepted: &'static str,
    pub accept_nothing: &'static str,
    pub restore_suspect: &'static str,
    pub needs_accept_anomaly: &'static str,
    pub verify_suspect: &'static str,
    pub copy_suspect: &'static str,
    pub title: &'static str,
    pub generated: &'static str,
    pub source: &'static str,
    pub row_backups: &'static str,
    pub row_time_machine: &'static str,
    pub row_copies: &'static str,
    pub row_restores: &'static str,
    pub legend_verified: &'static str,
    pub legend_seen: &'static str,
    pub legend_suspect: &'static str,
    pub legend_accepted: &'static str,
    pub legend_corrupt: &'static str,
    pub legend_late: &'static str,
    pub legend_stale: &'static str,
    pub legend_failed: &'static str,
    pub chart_db: &'static str,
    pub chart_media: &'static str,
    pub no_data: &'static str,
    pub events: &'static str,
    pub events_more: &'static str,
    pub col_when: &'static str,
    pub col_kind: &'static str,
    pub col_what: &'static str,
    pub kind_state: &'static str,
    pub kind_verification: &'static str,
    pub kind_operation: &'static str,
    pub kind_notification: &'static str,
    pub first_record: &'static str,
    pub verdict_ok: &'static str,
    pub verdict_corrupt: &'static str,
    pub verdict_unsafe: &'static str,
    pub op_copy: &'static str,
    pub op_restore: &'static str,
    pub op_failback: &'static str,
    pub op_drill: &'static str,
    pub op_accept: &'static str,
    pub outcome_ok: &'static str,
    pub outcome_failed: &'static str,
    pub outcome_rolled_back: &'static str,
    pub outcome_cancelled: &'static str,
    pub outcome_unfinished: &'static str,
    pub accepted_by: &'static str,
    pub notified: &'static str,
    pub written: &'static str,
    pub date_format: &'static str,
}

pub static FR_REPORT: ReportTexts = ReportTexts {
    db_shrunk: "la base a perdu {pct} % de sa taille {since} ({now} au lieu de {before})",
    media_shrunk: "les médias ont perdu {pct} % de leur taille {since} ({now} au lieu de {before})",
    table_emptied: "la table `{table}` est vide (elle avait {before} lignes)",
    table_missing: "la table `{table}` a disparu (elle avait {before} lignes)",
    files_dropped: "les médias n'ont plus que {now} fichiers au lieu de {before} ({pct} % de moins{folder})",
    files_dropped_folder: ", surtout dans « {folder} »",
    because: " : ",
    and: " ; ",
    since_today: "depuis {time}",
    since_yesterday: "depuis hier",
    since_date: "depuis le {date}",
    advice: "Si c'est voulu, choisissez « Ce changement est normal » dans le menu (ou « secours accept ») ; sinon, vérifiez l'application de production : les copies de sûreté gardent la dernière bonne sauvegarde.",
    menu_accept: "Ce changement est normal",
    accepted: "La sauvegarde de {time} de « {name} » est la nouvelle référence (acceptée par {by}).",
    accept_nothing: "Aucune sauvegarde suspecte : rien à accepter.",
    restore_suspect: "Attention, cette sauvegarde est suspecte : {anomaly}. La restaurer quand même ?",
    needs_accept_anomaly: "cette sauvegarde est suspecte ({anomaly}) : rien n'a été fait. Si vous voulez la restaurer quand même, ajoutez --accept-anomaly à --yes.",
    verify_suspect: "Suspecte : {message}",
    copy_suspect: "La copie est marquée suspecte ; la dernière bonne copie est gardée.",
    title: "Secours — historique",
    generated: "Établi le {time}, sur les {days} derniers jours.",
    source: "Sauvegardes de « {name} » ({folder})",
    row_backups: "Sauvegardes",
    row_time_machine: "Time Machine",
    row_copies: "Copies de sûreté",
    row_restores: "Restaurations",
    legend_verified: "vérifiée",
    legend_seen: "vue, pas encore vérifiée",
    legend_suspect: "suspecte",
    legend_accepted: "changement accepté",
    legend_corrupt: "endommagée",
    legend_late: "en retard",
    legend_stale: "trop ancienne ou absente",
    legend_failed: "échec",
    chart_db: "Taille de la base (fichier compressé)",
    chart_media: "Taille des médias (media.taz)",
    no_data: "Pas encore de données pour cette période.",
    events: "Événements",
    events_more: "Les événements plus anciens ne sont pas montrés ici (voir « secours history »).",
    col_when: "Quand",
    col_kind: "Type",
    col_what: "Quoi",
    kind_state: "État",
    kind_verification: "Vérification",
    kind_operation: "Opération",
    kind_notification: "Notification",
    first_record: "premier relevé",
    verdict_ok: "intacte",
    verdict_corrupt: "endommagée",
    verdict_unsafe: "dangereuse",
    op_copy: "Copie de sûreté",
    op_restore: "Restauration",
    op_failback: "Retour en production",
    op_drill: "Exercice de restauration",
    op_accept: "Changement accepté",
    outcome_ok: "réussie",
    outcome_failed: "échouée",
    outcome_rolled_back: "échouée, remise en état",
    outcome_cancelled: "annulée",
    outcome_unfinished: "inachevée",
    accepted_by: "par {by}",
    notified: "Notification envoyée",
    written: "Historique écrit dans {path}",
    date_format: "%d/%m/%Y %H:%M",
};

pub static EN_REPORT: ReportTexts = ReportTexts {
    db_shrunk: "the database lost {pct} % of its size {since} ({now} instead of {before})",
    media_shrunk: "the media lost {pct} % of their size {since} ({now} instead of {before})",
    table_emptied: "table `{table}` is empty (it had {before} rows)",
    table_missing: "table `{table}` is gone (it had {before} rows)",
    files_dropped: "the media hold only {now} files instead of {before} ({pct} % fewer{folder})",
    files_dropped_folder: ", mostly in '{folder}'",
    because: ": ",
    and: "; ",
    since_today: "since {time}",
    since_yesterday: "since yesterday",
    since_date: "since {date}",
    advice: "If this was intended, choose 'This change is expected' in the menu (or 'secours accept'); otherwise check the production application: the safe copies keep the last good backup.",
    menu_accept: "This change is expected",
    accepted: "The {time} backup of '{name}' is the new reference (accepted by {by}).",
    accept_nothing: "No suspect backup: nothing to accept.",
    restore_suspect: "Warning, this backup is suspect: {anomaly}. Restore it anyway?",
    needs_accept_anomaly: "this backup is suspect ({anomaly}): nothing was done. To restore it anyway, add --accept-anomaly to --yes.",
    verify_suspect: "Suspect: {message}",
    copy_suspect: "The copy is marked suspect; the last good copy is kept.",
    title: "Secours — history",
    generated: "Made on {time}, over the last {days} days.",
    source: "Backups of '{name}' ({folder})",
    row_backups: "Backups",
    row_time_machine: "Time Machine",
    row_copies: "Safe copies",
    row_restores: "Restores",
    legend_verified: "verified",
    legend_seen: "seen, not verified yet",
    legend_suspect: "suspect",
    legend_accepted: "change accepted",
    legend_corrupt: "damaged",
    legend_late: "late",
    legend_stale: "too old or missing",
    legend_failed: "failed",
    chart_db: "Database size (compressed file)",
    chart_media: "Media size (media.taz)",
    no_data: "No data for this period yet.",
    events: "Events",
    events_more: "Older events are not shown here (see 'secours history').",
    col_when: "When",
    col_kind: "Kind",
    col_what: "What",
    kind_state: "State",
    kind_verification: "Verification",
    kind_operation: "Operation",
    kind_notification: "Notification",
    first_record: "first record",
    verdict_ok: "sound",
    verdict_corrupt: "damaged",
    verdict_unsafe: "unsafe",
    op_copy: "Safe copy",
    op_restore: "Restore",
    op_failback: "Return to production",
    op_drill: "Restore rehearsal",
    op_accept: "Change accepted",
    outcome_ok: "done",
    outcome_failed: "failed",
    outcome_rolled_back: "failed, put back as before",
    outcome_cancelled: "cancelled",
    outcome_unfinished: "unfinished",
    accepted_by: "by {by}",
    notified: "Notification sent",
    written: "History written to {path}",
    date_format: "%Y-%m-%d %H:%M",
};

impl Lang {
    /// The strings of anomalies and of the history report in this language.
    pub fn report(self) -> &'static ReportTexts {
        match self {
            Lang::Fr => &FR_REPORT,
            Lang::En => &EN_REPORT,
        }
    }
}

/// A time as people read it here: `2026-12-05 14:00`, in the system's time zone.
pub fn local_minute(t: jiff::Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// The standby made ready ahead of time (`secours standby`, the restore's summary, the menu, the alert).
pub struct StandbyTexts {
    pub summary_prestaged: &'static str,
    pub summary_not_prestaged: &'static str,
    pub menu_ready: &'static str,
    pub alert_title: &'static str,
    pub alert_body: &'static str,
    pub proven: &'static str,
    pub up_to_date: &'static str,
    pub waiting: &'static str,
    pub off: &'static str,
    pub unrestorable: &'static str,
}

pub static FR_STANDBY: StandbyTexts = StandbyTexts {
    summary_prestaged: "Prête d'avance : cette sauvegarde a été restaurée à côté du secours et contrôlée le {time} ; la bascule la met en place en quelques secondes.",
    summary_not_prestaged: "Cette sauvegarde n'a pas été préparée d'avance : elle sera importée (la durée ci-dessus).",
    menu_ready: "Secours prêt : sauvegarde de {time}",
    alert_title: "La dernière sauvegarde ne se restaure pas",
    alert_body: "{problem}. Prévenez la personne qui s'occupe de l'application ; le secours garde prête la dernière sauvegarde qui se restaure.",
    proven: "Sauvegarde de {time} prête sur le secours : restaurée d'avance et contrôlée (import {import}, {rows} lignes, {files} fichiers).",
    up_to_date: "Le secours est prêt : la sauvegarde de {time} est déjà préparée.",
    waiting: "Rien de préparé pour l'instant : {reason}.",
    off: "La préparation d'avance ne tourne pas ici : {reason}.",
    unrestorable: "La sauvegarde de {time} ne se restaure pas sur le secours (étape « {step} ») : {error}",
};

pub static EN_STANDBY: StandbyTexts = StandbyTexts {
    summary_prestaged: "Ready ahead of time: this backup was restored beside the standby and proven on {time}; the switch-over puts it in place within seconds.",
    summary_not_prestaged: "This backup was not made ready ahead of time: it will be imported (the duration above).",
    menu_ready: "Standby ready: backup of {time}",
    alert_title: "The latest backup does not restore",
    alert_body: "{problem}. Tell the person who looks after the application; the standby keeps the last backup that restores ready.",
    proven: "Backup of {time} ready on the standby: restored ahead of time and proven (import {import}, {rows} rows, {files} files).",
    up_to_date: "The standby is ready: the backup of {time} is already pre-staged.",
    waiting: "Nothing pre-staged for now: {reason}.",
    off: "Pre-staging does not run here: {reason}.",
    unrestorable: "The backup of {time} does not restore on the standby (step '{step}'): {error}",
};

impl Lang {
    /// The standby's strings of this language.
    pub fn standby(self) -> &'static StandbyTexts {
        match self {
            Lang::Fr => &FR_STANDBY,
            Lang::En => &EN_STANDBY,
        }
    }
}

// ----- The copy of the software (`secours software`, #17 part 4) -----

/// The strings of `secours software` and of the menu's "Copy the software to secours…".
pub struct SoftwareTexts {
    pub title: &'static str,
    pub identical: &'static str,
    pub changed: &'static str,
    pub added: &'static str,
    pub removed: &'static str,
    pub more: &'static str,
    pub confirm: &'static str,
    pub done: &'static str,
    pub previous: &'static str,
    pub failed_refused: &'static str,
    pub failed_rolled_back: &'static str,
    pub failed_mixed: &'static str,
    pub unfinished_undone: &'static str,
    pub menu_item: &'static str,
    pub menu_confirm: &'static str,
}

static FR_SOFTWARE: SoftwareTexts = SoftwareTexts {
    title: "Copie du logiciel de « {from} » vers « {target} » :",
    identical: "Le logiciel de « {target} » est déjà identique à celui de « {from} » ({count} éléments) : rien à faire.",
    changed: "{count} modifiés",
    added: "{count} ajoutés",
    removed: "{count} en trop (mis de côté)",
    more: "… et {count} de plus",
    confirm: "Mettre le logiciel de « {target} » à l'identique ? [o/N] ",
    done: "Le logiciel de « {target} » est maintenant identique à celui de « {from} ».",
    previous: "Les fichiers remplacés sont gardés dans {path}.",
    failed_refused: "Rien n'a été changé.",
    failed_rolled_back: "La copie du logiciel a échoué ; « {target} » a été remis exactement comme avant.",
    failed_mixed: "La copie du logiciel a échoué et n'a pas pu être annulée : « {target} » peut mélanger l'ancien et le nouveau logiciel.",
    unfinished_undone: "Une copie du logiciel interrompue a d'abord été annulée.",
    menu_item: "Copier le logiciel vers {target}…",
    menu_confirm: "Le logiciel de « {target} » sera rendu identique à celui de « {from} » : {summary}. Continuer ?",
};

static EN_SOFTWARE: SoftwareTexts = SoftwareTexts {
    title: "Copy of the software of '{from}' onto '{target}':",
    identical: "The software of '{target}' is already identical to '{from}''s ({count} entries): nothing to do.",
    changed: "{count} changed",
    added: "{count} added",
    removed: "{count} removed (set aside)",
    more: "… and {count} more",
    confirm: "Bring the software of '{target}' to parity? [y/N] ",
    done: "The software of '{target}' is now identical to '{from}''s.",
    previous: "The replaced files are kept in {path}.",
    failed_refused: "Nothing was changed.",
    failed_rolled_back: "The copy of the software failed; '{target}' was put back exactly as it was.",
    failed_mixed: "The copy of the software failed and could not be undone: '{target}' may mix old and new software.",
    unfinished_undone: "An interrupted copy of the software was undone first.",
    menu_item: "Copy the software to {target}…",
    menu_confirm: "The software of '{target}' will be made identical to '{from}''s: {summary}. Continue?",
};

impl Lang {
    /// The strings of the copy of the software in this language.
    pub fn software(self) -> &'static SoftwareTexts {
        match self {
            Lang::Fr => &FR_SOFTWARE,
            Lang::En => &EN_SOFTWARE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_follows_the_locale() {
        assert_eq!(Lang::from_locale("fr_CH.UTF-8"), Lang::Fr);
        assert_eq!(Lang::from_locale("fr-FR"), Lang::Fr);
        assert_eq!(Lang::from_locale("de_CH"), Lang::En);
        assert_eq!(Lang::choose(LanguageSetting::Fr), Lang::Fr);
    }

    // Guards: a failure starts with what it means for the user, in their language, and keeps the detail.
    #[test]
    fn a_failure_is_a_headline_then_the_detail() {
        assert_eq!(
            FR.failure(FR.copy_failed, "no space left on '/Volumes/Copies'"),
            "La copie de sécurité a échoué ; les copies déjà faites sont intactes.\nDétail : no space left on '/Volumes/Copies'"
        );
        assert_eq!(EN.failure("", "cannot read 'x'"), "cannot read 'x'");
    }

    // Guards: the progress line of a restore reads "médias 63 %, base 41 %" in French, never the library's
    // step words; every step the library reports has a name.
    #[test]
    fn progress_steps_have_names_in_both_languages() {
        let steps = [
            "verify-db",
            "verify-media",
            "media",
            "import",
            "import-check",
            "dump",
            "media-archive",
            "copy",
            "code-manifest",
        ];
        for step in steps {
            assert_ne!(FR.part(step), step, "{step}");
            assert!(!EN.part(step).is_empty(), "{step}");
        }
        assert_eq!(FR.part("media"), "médias");
        assert_eq!(FR.part("import"), FR.part("verify-db"));
        assert_eq!(FR.part("something-new"), "something-new");
        assert_eq!(crate::restore::media::STEP, "media");
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(FR.bytes(1_200_000_000), "1,2 Go");
        assert_eq!(EN.bytes(48_000_000), "48 MB");
        assert_eq!(EN.bytes(512), "512 B");
        assert_eq!(FR.age(12 * 60 + 5), "12 min");
        assert_eq!(FR.age(2 * 3600 + 5 * 60), "2 h 05");
        assert_eq!(EN.age(3 * 86_400), "3 d");
        assert_eq!(fill("il y a {age}", &[("age", "3 min")]), "il y a 3 min");
    }
}
