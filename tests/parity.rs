//! `secours parity` through the real binary: two environments' code compared, what is left out, exit
//! codes and JSON, and the code manifest `secours copy` records for the standby Mac.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// A folder with `prod/`, `secours/`, `copies/`, a configuration and a data folder.
struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// A Yii-like environment. What legitimately differs between two environments differs here too:
/// db.php, media, runtime, the published assets' hashed names, Secours's work folders, .DS_Store.
fn environment(root: &Path, name: &str) {
    write(
        &root.join("web/index.php"),
        "<?php require __DIR__ . '/../vendor/autoload.php';\n",
    );
    write(&root.join("web/css/site.css"), "body { color: black; }\n");
    write(&root.join("config/web.php"), "<?php return ['id' => 'gestion'];\n");
    write(&root.join("vendor/yiisoft/yii2/yii"), "#!/usr/bin/env php\n");
    fs::create_dir_all(root.join("vendor/bin")).unwrap();
    std::os::unix::fs::symlink("../yiisoft/yii2/yii", root.join("vendor/bin/yii")).unwrap();
    let db = if name == "prod" { "gestion" } else { "gestion_secours" };
    write(
        &root.join("config/db.php"),
        &format!("<?php\nreturn ['dsn' => 'mysql:host=localhost;dbname={db}', 'username' => '{db}'];\n"),
    );
    write(&root.join(format!("web/documents/{name}.pdf")), name);
    write(&root.join(format!("web/pictures/{name}.jpg")), name);
    write(&root.join("runtime/logs/app.log"), name);
    fs::create_dir_all(root.join("runtime/backup")).unwrap();
    write(&root.join(format!("web/assets/{name}1a2b/app.js")), name);
    write(&root.join(format!(".secours-previous/web/{name}.php")), name);
    write(&root.join(format!("web/.secours-staging-{name}/x.php")), name);
    write(&root.join("config/.DS_Store"), name);
}

impl Site {
    fn new() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        environment(&dir.join("prod"), "prod");
        environment(&dir.join("secours"), "secours");
        fs::create_dir_all(dir.join("copies")).unwrap();
        let site = Site { _tmp: tmp, dir };
        site.config("config.toml", &site.dir.join("prod"));
        site
    }

    /// A configuration whose prod lives at `prod_root` (elsewhere: the standby Mac's view).
    fn config(&self, name: &str, prod_root: &Path) -> PathBuf {
        let d = self.dir.display();
        let path = self.dir.join(name);
        fs::write(
            &path,
            format!(
                "language = \"en\"\n\
                 [environments.prod]\nroot = \"{}\"\n\
                 [environments.secours]\nroot = \"{d}/secours\"\n\
                 [watch]\nenvironments = [\"prod\"]\n\
                 [safe-copy]\ndestinations = [\"{d}/copies\"]\n\
                 [time-machine]\nenabled = false\n",
                prod_root.display()
            ),
        )
        .unwrap();
        path
    }

    fn secours(&self, config: &str) -> Command {
        let mut c = Command::cargo_bin("secours").unwrap();
        c.env_remove("SECOURS_CONFIG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C")
            .env("SECOURS_DATA_DIR", self.dir.join("data"))
            .arg("--config")
            .arg(self.dir.join(config));
        c
    }

    /// `secours parity --json ARGS` → (exit code, JSON).
    fn parity(&self, config: &str, args: &[&str]) -> (i32, Value) {
        let out = self
            .secours(config)
            .args(["parity", "--json"])
            .args(args)
            .output()
            .unwrap();
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        (out.status.code().unwrap(), json)
    }

    fn parity_text(&self, config: &str) -> (i32, String) {
        let out = self.secours(config).arg("parity").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap(), text)
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

// Guards the exclusions: media, runtime, db.php, generated assets, Secours's work folders and .DS_Store
// differ between the two environments, and still the software is identical.
#[test]
fn same_code_is_identical_whatever_the_data() {
    let site = Site::new();
    let (code, json) = site.parity("config.toml", &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["identical"], true);
    assert_eq!(json["a"]["environment"], "prod");
    assert_eq!(json["b"]["environment"], "secours");
    assert!(json["a"]["manifest"].is_null());
    // config, config/web.php, vendor (6 entries with the link), web, web/assets, web/css (+ 2 files).
    assert_eq!(json["files_a"], 13, "{json}");
    assert_eq!(json["files_a"], json["files_b"]);
    let (code, text) = site.parity_text("config.toml");
    assert_eq!(code, 0);
    assert!(
        text.contains("Software identical: prod and secours (13 entries compared)."),
        "{text}"
    );
}

#[test]
fn differences_are_listed_and_exit_2() {
    let site = Site::new();
    let (prod, secours) = (site.dir.join("prod"), site.dir.join("secours"));
    write(&secours.join("web/index.php"), "<?php // patched on the standby only\n");
    write(&secours.join("web/extra.php"), "<?php\n");
    write(&prod.join("vendor/new.php"), "<?php\n");
    fs::remove_file(secours.join("vendor/bin/yii")).unwrap();
    std::os::unix::fs::symlink("../yiisoft/yii2/yii-old", secours.join("vendor/bin/yii")).unwrap();
    // A missing generated folder counts: the application cannot publish its assets without it.
    fs::remove_dir_all(secours.join("web/assets")).unwrap();

    let (code, json) = site.parity("config.toml", &[]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["identical"], false);
    assert_eq!(strings(&json["different"]), ["vendor/bin/yii", "web/index.php"]);
    assert_eq!(strings(&json["only_in_a"]), ["vendor/new.php", "web/assets"]);
    assert_eq!(strings(&json["only_in_b"]), ["web/extra.php"]);

    let (code, text) = site.parity_text("config.toml");
    assert_eq!(code, 2);
    for line in [
        "The software differs between prod and secours:",
        "  Different content (2):\n    vendor/bin/yii\n    web/index.php\n",
        "  Only in prod (2):\n",
        "  Only in secours (1):\n    web/extra.php\n",
        "→ Bring secours up to date",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
}

// Guards the "first 20 of each kind" of the text output, and that JSON lists everything.
#[test]
fn long_lists_are_cut_in_text_only() {
    let site = Site::new();
    for i in 0..25 {
        write(&site.dir.join(format!("secours/web/new{i:02}.php")), "<?php\n");
    }
    let (code, json) = site.parity("config.toml", &[]);
    assert_eq!(code, 2);
    assert_eq!(json["only_in_b"].as_array().unwrap().len(), 25);
    let (_, text) = site.parity_text("config.toml");
    assert!(text.contains("web/new19.php\n    … and 5 more\n"), "{text}");
    assert!(!text.contains("web/new20.php"), "{text}");
}

#[test]
fn nothing_to_compare_with_is_exit_3() {
    let site = Site::new();
    // The standby's root is missing.
    fs::rename(site.dir.join("secours"), site.dir.join("secours-away")).unwrap();
    let (code, json) = site.parity("config.toml", &[]);
    assert_eq!(code, 3, "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("environment 'secours'"),
        "{json}"
    );
    fs::rename(site.dir.join("secours-away"), site.dir.join("secours")).unwrap();

    // Prod is not on this computer and no copy recorded its code.
    site.config("standby.toml", &site.dir.join("elsewhere/prod"));
    let (code, json) = site.parity("standby.toml", &[]);
    assert_eq!(code, 3, "{json}");
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("environment 'prod' is not on this computer and no code manifest of it was found"),
        "{error}"
    );
    assert!(
        error.contains("Run 'secours copy' on the production computer"),
        "{error}"
    );

    let (code, _) = site.parity("config.toml", &["--with", "prod"]);
    assert_eq!(code, 3);
    let (code, _) = site.parity("config.toml", &["--with", "nowhere"]);
    assert_eq!(code, 3);
}

/// The copy folders under `copies/`.
fn copy_folders(site: &Site) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(site.dir.join("copies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

// Guards the standby Mac's path: prod's code travels with the safe copies, the newest manifest of prod
// is the one used, and the copies stay exactly as `copies --check` expects them.
#[test]
fn a_copy_records_prods_code_for_the_standby() {
    let site = Site::new();
    let prod = site.dir.join("prod");
    secours::demo::write_backup_pair(&prod.join("web"), &prod.join("runtime/backup")).unwrap();
    let out = site.secours("config.toml").args(["copy", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    let recorded = PathBuf::from(results[0]["code_manifest"].as_str().unwrap());
    let folders = copy_folders(&site);
    assert_eq!(folders.len(), 1);
    assert_eq!(recorded, folders[0].join("code-manifest.txt"));
    let text = fs::read_to_string(&recorded).unwrap();
    assert!(
        text.starts_with("# secours code-manifest 1 environment=prod at="),
        "{text}"
    );
    assert!(text.contains("  web/index.php\n"), "{text}");
    assert!(!text.contains("db.php") && !text.contains("documents"), "{text}");

    let out = site
        .secours("config.toml")
        .args(["copies", "--check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let copies: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(copies[0]["check"]["verdict"], "ok");
    assert_eq!(copies[0]["manifest"], true);
    let backup: u64 = ["gestion.gz", "media.taz"]
        .iter()
        .map(|f| fs::metadata(prod.join("runtime/backup").join(f)).unwrap().len())
        .sum();
    assert_eq!(copies[0]["size"], backup, "the code manifest is not part of the copy");

    // Decoys: an older manifest of prod that would differ, and a newer one of another environment.
    let mut old = secours::backup::parity::read_manifest(&recorded).unwrap();
    let newer_at = old.at.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    old.entries.clear();
    old.at = old.at.checked_sub(jiff::SignedDuration::from_hours(24)).unwrap();
    let older = site.dir.join("copies/2020-01-01_0000");
    fs::create_dir(&older).unwrap();
    secours::backup::parity::write_manifest(&older.join("code-manifest.txt"), &old).unwrap();
    old.environment = "other".into();
    old.at = newer_at;
    let other = site.dir.join("copies/2030-01-01_0000");
    fs::create_dir(&other).unwrap();
    secours::backup::parity::write_manifest(&other.join("code-manifest.txt"), &old).unwrap();

    // The standby Mac: prod's disk is not here.
    site.config("standby.toml", &site.dir.join("elsewhere/prod"));
    let (code, json) = site.parity("standby.toml", &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["a"]["manifest"], recorded.to_str().unwrap());
    assert_eq!(json["a"]["environment"], "prod");
    assert_eq!(json["b"]["environment"], "secours");
    assert!(json["b"]["manifest"].is_null());

    write(&site.dir.join("secours/web/index.php"), "<?php // drifted\n");
    let (code, json) = site.parity("standby.toml", &[]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(strings(&json["different"]), ["web/index.php"]);

    // Naming the manifest compares it with the environment that is here (secours, on the standby).
    let (code, json) = site.parity("standby.toml", &["--manifest", recorded.to_str().unwrap()]);
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["a"]["environment"], "secours");
    assert_eq!(json["b"]["environment"], "prod");
    assert_eq!(json["b"]["manifest"], recorded.to_str().unwrap());
    assert_eq!(strings(&json["different"]), ["web/index.php"]);
    let out = site.secours("standby.toml").arg("parity").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("prod: code as recorded on "), "{text}");
}
