//! Where the office's web stack (Bitnami's MAMP stack, "mamstack") is installed, when no configuration
//! says so.
//!
//! The procedure names `/Application/mamstack/apps/{prod,secours}`, but macOS 10.15 and later cannot create
//! a folder at the top of the read-only system volume, and Bitnami's installer puts the stack in
//! `/Applications/mampstack-<version>/` (its MySQL socket in `<stack>/mysql/tmp/mysql.sock`). [`discover`]
//! looks, in this order:
//! 1. the procedure's `/Application/mamstack` (a machine set up by hand before Catalina);
//! 2. `/Applications/mampstack-*` (and `mamstack-*`, `mampstack`, `mamstack`), newest version first;
//! 3. on Linux, Bitnami's `/opt/bitnami`.
//!
//! A folder counts only when its `apps/` holds `prod` or `secours` (a stack also holds Bitnami's own apps,
//! like `phpmyadmin`). The search is a pure function of a root folder (`/` on the machine, a temporary
//! folder in tests) and reads folder listings only.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::config::{Config, EnvironmentConfig};

/// The procedure's stack folder.
pub const PROCEDURE_STACK: &str = "/Application/mamstack";
/// Bitnami's stack folder on Linux.
pub const LINUX_STACK: &str = "/opt/bitnami";
/// The environments Secours knows by name.
pub const APPS: [&str; 2] = ["prod", "secours"];

/// A stack found on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stack {
    /// The stack's folder, e.g. `/Applications/mampstack-8.1.2-0`.
    pub dir: PathBuf,
    /// Which of `prod` and `secours` its `apps/` holds.
    pub apps: Vec<String>,
}

impl Stack {
    /// The folder of one application of the stack: `<stack>/apps/<name>`.
    pub fn app(&self, name: &str) -> PathBuf {
        self.dir.join("apps").join(name)
    }

    /// The stack's own MySQL socket: `<stack>/mysql/tmp/mysql.sock`.
    pub fn socket(&self) -> PathBuf {
        socket_of(&self.dir)
    }

    /// The configuration the defaults give on this stack: the procedure's, with every environment's root
    /// in this stack's `apps/`.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        for (name, env) in config.environments.iter_mut() {
            *env = EnvironmentConfig {
                root: self.app(name),
                ..env.clone()
            };
        }
        config
    }
}

/// `<stack>/mysql/tmp/mysql.sock`.
pub fn socket_of(stack: &Path) -> PathBuf {
    stack.join("mysql").join("tmp").join("mysql.sock")
}

/// The stack an environment's root belongs to, when the root is laid out as `<stack>/apps/<name>`.
pub fn of_root(root: &Path) -> Option<PathBuf> {
    let apps = root.parent()?;
    (apps.file_name()? == "apps").then(|| apps.parent().map(Path::to_path_buf))?
}

/// Finds the stack under `root` (see the module documentation for the order). `linux` adds
/// `/opt/bitnami`.
pub fn discover(root: &Path, linux: bool) -> Option<Stack> {
    let under = |p: &str| root.join(p.trim_start_matches('/'));
    if let Some(stack) = usable(&under(PROCEDURE_STACK)) {
        return Some(stack);
    }
    let mut versioned: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(under("/Applications"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let version = ["mampstack", "mamstack"].iter().find_map(|prefix| {
                        let rest = name.strip_prefix(prefix)?;
                        match rest.strip_prefix('-') {
                            Some(v) => Some(version_key(v)),
                            None => rest.is_empty().then(Vec::new),
                        }
                    })?;
                    Some((version, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    // Newest first; the same version under two names in a stable order.
    versioned.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if let Some(stack) = versioned.iter().find_map(|(_, dir)| usable(dir)) {
        return Some(stack);
    }
    if linux {
        return usable(&under(LINUX_STACK));
    }
    None
}

/// The stack of this machine (searched from `/`).
pub fn discover_here() -> Option<Stack> {
    discover(Path::new("/"), cfg!(target_os = "linux"))
}

/// A stack folder whose `apps/` holds `prod` or `secours`.
fn usable(dir: &Path) -> Option<Stack> {
    let apps: Vec<String> = APPS
        .iter()
        .filter(|name| dir.join("apps").join(name).is_dir())
        .map(|name| (*name).to_owned())
        .collect();
    (!apps.is_empty()).then(|| Stack {
        dir: dir.to_path_buf(),
        apps,
    })
}

/// `8.1.2-0` → `[8, 1, 2, 0]`; anything that is not a number separates.
fn version_key(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Where the stack in use comes from, as `secours config --check` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "how", content = "dir")]
pub enum InUse {
    /// The configuration's environments live in this stack (`<stack>/apps/<name>`).
    Configured(PathBuf),
    /// No configuration: this stack was found on the machine.
    Found(PathBuf),
    /// No configuration and no stack found: the procedure's paths.
    Default,
    /// The configuration's environments are not laid out as `<stack>/apps/<name>`.
    Elsewhere,
}

impl InUse {
    /// Which stack a configuration uses: `found` when it came from [`discover`] (no configuration file).
    pub fn of(config: &Config, found: Option<&Stack>, config_found: bool) -> InUse {
        if !config_found {
            return found.map_or(InUse::Default, |s| InUse::Found(s.dir.clone()));
        }
        let stacks: Vec<PathBuf> = config.environments.values().filter_map(|e| of_root(&e.root)).collect();
        match stacks.first() {
            Some(first) => InUse::Configured(first.clone()),
            None => InUse::Elsewhere,
        }
    }

    /// One line for `secours config --check`.
    pub fn line(&self) -> String {
        match self {
            InUse::Configured(dir) => format!("Stack: {} (from the configuration)", dir.display()),
            InUse::Found(dir) => format!(
                "Stack: {} (found on this machine; 'secours config --init' writes it into a configuration)",
                dir.display()
            ),
            InUse::Default => format!(
                "Stack: none found under {PROCEDURE_STACK}, /Applications/mampstack-*{}; using the procedure's paths",
                if cfg!(target_os = "linux") {
                    " or /opt/bitnami"
                } else {
                    ""
                }
            ),
            InUse::Elsewhere => "Stack: none (the environments are not in a <stack>/apps/<name> folder)".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(root: &Path, rel: &str) {
        std::fs::create_dir_all(root.join(rel)).unwrap();
    }

    // Guards the real install layout: Bitnami's versioned folder under /Applications, newest version first,
    // and only a stack that holds the office's applications.
    #[test]
    fn the_newest_bitnami_stack_with_the_applications_is_found() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        assert_eq!(discover(r, true), None);
        app(r, "Applications/mampstack-8.1.2-0/apps/prod");
        app(r, "Applications/mampstack-8.1.2-0/apps/secours");
        app(r, "Applications/mampstack-8.1.2-0/apps/phpmyadmin");
        app(r, "Applications/mampstack-7.4.30-0/apps/prod");
        // Newer, but without the office's applications.
        app(r, "Applications/mampstack-8.10.0-0/apps/phpmyadmin");
        let stack = discover(r, false).unwrap();
        assert_eq!(stack.dir, r.join("Applications/mampstack-8.1.2-0"));
        assert_eq!(stack.apps, ["prod", "secours"]);
        assert_eq!(stack.app("prod"), r.join("Applications/mampstack-8.1.2-0/apps/prod"));
        assert_eq!(
            stack.socket(),
            r.join("Applications/mampstack-8.1.2-0/mysql/tmp/mysql.sock")
        );
        let config = stack.config();
        assert_eq!(config.environments["secours"].root, stack.app("secours"));
        assert_eq!(
            config.environments["secours"].url,
            Config::default().environments["secours"].url
        );
        assert!(crate::env::config::validate(&config).is_empty());

        // A newer version with the applications wins, compared as numbers (8.10 > 8.9).
        app(r, "Applications/mampstack-8.10.0-0/apps/prod");
        app(r, "Applications/mampstack-8.9.0-0/apps/prod");
        assert_eq!(
            discover(r, false).unwrap().dir,
            r.join("Applications/mampstack-8.10.0-0")
        );

        // The procedure's path comes first.
        app(r, "Application/mamstack/apps/secours");
        let stack = discover(r, false).unwrap();
        assert_eq!(
            (stack.dir, stack.apps),
            (r.join("Application/mamstack"), vec!["secours".to_owned()])
        );
    }

    // Guards `config --init` on a Bitnami Mac: the file it writes points into the stack found, and loads.
    #[test]
    fn the_example_written_points_into_the_stack_found() {
        let dir = Path::new("/Applications/mampstack-8.1.2-0");
        let text = crate::env::config::example_for(Some(dir));
        assert!(text.starts_with("# The stack found on this machine: /Applications/mampstack-8.1.2-0"));
        assert!(!text.contains("/Application/mamstack"), "{text}");
        assert!(text.contains("/Applications/mampstack-8.1.2-0/mysql/tmp/mysql.sock"));
        let config = crate::env::config::parse(&text).unwrap();
        assert_eq!(config.environments["prod"].root, dir.join("apps/prod"));
        assert_eq!(config.environments["secours"].root, dir.join("apps/secours"));
        assert_eq!(crate::env::config::example_for(None), crate::env::config::EXAMPLE);
    }

    #[test]
    fn opt_bitnami_counts_on_linux_only() {
        let root = tempfile::tempdir().unwrap();
        app(root.path(), "opt/bitnami/apps/prod");
        assert_eq!(discover(root.path(), false), None);
        assert_eq!(
            discover(root.path(), true).unwrap().dir,
            root.path().join("opt/bitnami")
        );
    }

    #[test]
    fn the_stack_in_use_is_said() {
        let config = Config::default();
        assert_eq!(
            InUse::of(&config, None, true),
            InUse::Configured(PathBuf::from(PROCEDURE_STACK))
        );
        let found = Stack {
            dir: PathBuf::from("/Applications/mampstack-8.1.2-0"),
            apps: vec!["prod".into()],
        };
        let in_use = InUse::of(&found.config(), Some(&found), false);
        assert_eq!(in_use, InUse::Found(found.dir.clone()));
        assert!(
            in_use
                .line()
                .starts_with("Stack: /Applications/mampstack-8.1.2-0 (found"),
            "{}",
            in_use.line()
        );
        assert_eq!(InUse::of(&config, None, false), InUse::Default);
        assert_eq!(of_root(Path::new("/srv/www/prod")), None);
        assert_eq!(
            serde_json::to_value(&in_use).unwrap(),
            serde_json::json!({"how": "found", "dir": "/Applications/mampstack-8.1.2-0"})
        );
    }
}
