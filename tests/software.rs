//! `secours software` through the real binary (#17 part 4): the standby's code brought to parity with
//! production's — from prod's folder or from the `software.taz` a safe copy carries — with a changed, an
//! added and a removed file; the dry run; the refusal without a terminal; a failure in the middle of the
//! swap leaving the target wholly old; media, `runtime/` and `db.php` never touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// A Yii-like environment, with what legitimately differs between two environments (db.php, media,
/// runtime, generated assets).
fn environment(root: &Path, name: &str) {
    write(&root.join("web/index.php"), "<?php echo 'v1';\n");
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
}

/// Prod moves on: one file changed, one file (and a folder) added, one file removed.
fn change_prod(prod: &Path) {
    write(&prod.join("web/index.php"), "<?php echo 'v2';\n");
    write(&prod.join("web/contact.php"), "<?php echo 'contact';\n");
    write(&prod.join("models/Facture.php"), "<?php class Facture {}\n");
    fs::remove_file(prod.join("web/css/site.css")).unwrap();
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

    fn config(&self, name: &str, prod_root: &Path) {
        let d = self.dir.display();
        fs::write(
            self.dir.join(name),
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
    }

    fn secours(&self, config: &str) -> Command {
        let mut c = Command::cargo_bin("secours").unwrap();
        c.env_remove("SECOURS_CONFIG")
            .env_remove("SECOURS_FAULT")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C")
            .env("SECOURS_DATA_DIR", self.dir.join("data"))
            .arg("--config")
            .arg(self.dir.join(config));
        c
    }

    /// `secours software --json ARGS` → (exit code, JSON, stderr).
    fn software(&self, config: &str, args: &[&str], fault: Option<&str>) -> (i32, Value, String) {
        let mut c = self.secours(config);
        c.args(["software", "--json"]).args(args);
        if let Some(f) = fault {
            c.env("SECOURS_FAULT", f);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
        (out.status.code().unwrap(), json, stderr)
    }

    fn parity(&self, config: &str) -> (i32, Value) {
        let out = self.secours(config).args(["parity", "--json"]).output().unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        )
    }
}

/// Every entry under `root` (links by target, files by content, folders), without following links.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let key = String::from_utf8_lossy(path.strip_prefix(root).unwrap().as_os_str().as_bytes()).into_owned();
            let kind = e.file_type().unwrap();
            let value = if kind.is_symlink() {
                format!("-> {}", fs::read_link(&path).unwrap().display())
            } else if kind.is_dir() {
                stack.push(path);
                "dir".to_owned()
            } else {
                fs::read_to_string(&path).unwrap()
            };
            out.insert(key, value);
        }
    }
    out
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// What software never touches in the standby.
fn untouchable(secours: &Path) -> Vec<(PathBuf, String)> {
    [
        "config/db.php",
        "web/documents/secours.pdf",
        "web/pictures/secours.jpg",
        "runtime/logs/app.log",
        "web/assets/secours1a2b/app.js",
    ]
    .iter()
    .map(|p| (secours.join(p), fs::read_to_string(secours.join(p)).unwrap()))
    .collect()
}

fn assert_untouched(before: &[(PathBuf, String)], secours: &Path) {
    for (path, content) in before {
        assert_eq!(&fs::read_to_string(path).unwrap(), content, "{}", path.display());
    }
    for media_of_prod in ["web/documents/prod.pdf", "web/pictures/prod.jpg", "web/assets/prod1a2b"] {
        assert!(!secours.join(media_of_prod).exists(), "{media_of_prod}");
    }
}

// Guards the test: a changed file, an added file (in a new folder too) and a removed file are
// brought to parity from prod's folder; the dry run lists them and changes nothing; the replaced files are
// kept; media, runtime/ and db.php of the standby are never touched.
#[test]
fn a_changed_an_added_and_a_removed_file_are_brought_to_parity() {
    let site = Site::new();
    let secours = site.dir.join("secours");
    change_prod(&site.dir.join("prod"));
    let kept = untouchable(&secours);
    let before = tree(&secours);

    let (code, json, stderr) = site.software("config.toml", &["--dry-run"], None);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert_eq!(json["dry_run"], true);
    assert_eq!(strings(&json["changed"]), ["web/index.php"]);
    assert_eq!(
        strings(&json["added"]),
        ["models", "models/Facture.php", "web/contact.php"]
    );
    assert_eq!(strings(&json["removed"]), ["web/css/site.css"]);
    assert_eq!(tree(&secours), before, "the dry run changed nothing");

    // Without --yes and without a terminal: refused, nothing changed.
    let out = site.secours("config.toml").arg("software").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--yes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tree(&secours), before);

    let (code, json, stderr) = site.software("config.toml", &["--yes"], None);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert_eq!(json["ok"], true);
    assert_eq!(strings(&json["changed"]), ["web/index.php"]);
    assert_eq!(strings(&json["removed"]), ["web/css/site.css"]);
    assert_eq!(
        fs::read_to_string(secours.join("web/index.php")).unwrap(),
        "<?php echo 'v2';\n"
    );
    assert_eq!(
        fs::read_to_string(secours.join("models/Facture.php")).unwrap(),
        "<?php class Facture {}\n"
    );
    assert!(!secours.join("web/css/site.css").exists());
    let previous = PathBuf::from(json["previous"].as_str().unwrap());
    assert!(
        previous.starts_with(secours.join(".secours-previous")),
        "{}",
        previous.display()
    );
    assert_eq!(
        fs::read_to_string(previous.join("web/index.php")).unwrap(),
        "<?php echo 'v1';\n"
    );
    assert_eq!(
        fs::read_to_string(previous.join("web/css/site.css")).unwrap(),
        "body { color: black; }\n"
    );
    let leftovers: Vec<_> = fs::read_dir(&secours)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".secours-software-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_untouched(&kept, &secours);

    let (code, json) = site.parity("config.toml");
    assert_eq!(code, 0, "{json}");
    let (code, json, _) = site.software("config.toml", &["--yes"], None);
    assert_eq!((code, &json["identical"]), (0, &Value::Bool(true)), "{json}");

    // The operation is in history.
    let out = site
        .secours("config.toml")
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("software"));
}

// Guards the transaction: a failure in the middle of the swap (after some renames) is undone, and the
// standby is exactly as it was, file for file; a second run then succeeds.
#[test]
fn a_failure_in_the_middle_leaves_the_target_wholly_old() {
    let site = Site::new();
    let secours = site.dir.join("secours");
    change_prod(&site.dir.join("prod"));
    let before = tree(&secours);
    for fault in ["software-swap:1", "software-swap:3"] {
        let (code, json, stderr) = site.software("config.toml", &["--yes"], Some(fault));
        assert_eq!(code, 2, "{json}\n{stderr}");
        assert_eq!(json["ok"], false);
        let error = json["error"].as_str().unwrap();
        assert!(
            error.contains("step 'swap'") && error.contains("exactly the software it ran before"),
            "{error}"
        );
        assert_eq!(tree(&secours), before, "after {fault}");
    }
    let (code, json) = site.parity("config.toml");
    assert_eq!(code, 2, "{json}");
    let (code, json, stderr) = site.software("config.toml", &["--yes"], None);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert_eq!(site.parity("config.toml").0, 0);
}

// Guards a crash in the middle of the swap (the process dies, the target is mixed): the next `secours
// software` first undoes the unfinished copy from its journal — the replaced files come back, so the copy
// that follows sets the old ones aside again — then brings the target to parity.
#[test]
fn a_crash_in_the_middle_is_undone_by_the_next_run() {
    let site = Site::new();
    let secours = site.dir.join("secours");
    change_prod(&site.dir.join("prod"));
    let out = site
        .secours("config.toml")
        .args(["software", "--yes"])
        .env("SECOURS_FAULT", "software-swap-abort:3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "killed by abort");
    // Mixed: both set aside, one placed.
    assert!(!secours.join("web/index.php").exists() || !secours.join("web/css/site.css").exists());

    let (code, json, stderr) = site.software("config.toml", &["--yes"], None);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert!(
        stderr.contains("An interrupted copy of the software was undone first"),
        "{stderr}"
    );
    assert_eq!(strings(&json["changed"]), ["web/index.php"]);
    assert_eq!(strings(&json["removed"]), ["web/css/site.css"]);
    let previous = PathBuf::from(json["previous"].as_str().unwrap());
    assert_eq!(
        fs::read_to_string(previous.join("web/index.php")).unwrap(),
        "<?php echo 'v1';\n"
    );
    let kept: Vec<_> = fs::read_dir(secours.join(".secours-previous")).unwrap().collect();
    assert_eq!(
        kept.len(),
        1,
        "the crashed copy's set-aside folder was emptied and removed"
    );
    let staging: Vec<_> = fs::read_dir(&secours)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".secours-software-"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(site.parity("config.toml").0, 0);
}

// Guards the standby Mac's path: `secours copy` on prod's computer puts software.taz into the copy, listed
// in SHA256SUMS (so `copies --check` covers it); `--from copy:ID` where prod's folder is not visible brings
// the standby to parity from it; a copy without software.taz is refused with what to do.
#[test]
fn a_safe_copy_carries_the_software_and_the_standby_is_brought_to_parity_from_it() {
    let site = Site::new();
    let prod = site.dir.join("prod");
    let secours = site.dir.join("secours");
    change_prod(&prod);
    secours::demo::write_backup_pair(&prod.join("web"), &prod.join("runtime/backup")).unwrap();
    let out = site.secours("config.toml").args(["copy", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let copies: Vec<PathBuf> = fs::read_dir(site.dir.join("copies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(copies.len(), 1);
    let folder = &copies[0];
    let sums = fs::read_to_string(folder.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  software.taz\n"), "{sums}");
    let out = site
        .secours("config.toml")
        .args(["copies", "--check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&listed[0]["check"]["verdict"], &listed[0]["software"]),
        (&Value::from("ok"), &Value::Bool(true))
    );

    // What the archive holds: prod's code, none of its data.
    let mut names = Vec::new();
    let file = fs::File::open(folder.join("software.taz")).unwrap();
    for e in tar::Archive::new(flate2::read::GzDecoder::new(file)).entries().unwrap() {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert!(names.iter().any(|n| n == "web/contact.php"), "{names:?}");
    for never in [
        "config/db.php",
        "web/documents/prod.pdf",
        "runtime/logs/app.log",
        "web/assets/prod1a2b/app.js",
    ] {
        assert!(!names.iter().any(|n| n.starts_with(never)), "{never} in {names:?}");
    }

    // The standby Mac: prod's disk is not here.
    site.config("standby.toml", &site.dir.join("elsewhere/prod"));
    let kept = untouchable(&secours);
    let id = format!("copy:{}", folder.file_name().unwrap().to_string_lossy());
    let (code, json, stderr) = site.software("standby.toml", &["--from", "prod"], None);
    assert_eq!(code, 2, "{json}\n{stderr}");
    assert!(json["error"].as_str().unwrap().contains("--from copy:ID"), "{json}");

    let (code, json, stderr) = site.software("standby.toml", &["--from", &id, "--dry-run"], None);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert_eq!(strings(&json["changed"]), ["web/index.php"]);
    assert_eq!(strings(&json["removed"]), ["web/css/site.css"]);

    let (code, json, stderr) = site.software("standby.toml", &["--from", &id, "--yes"], None);
    assert_eq!(code, 0, "{json}\n{stderr}");
    assert_eq!(
        fs::read_to_string(secours.join("web/contact.php")).unwrap(),
        "<?php echo 'contact';\n"
    );
    assert_eq!(
        fs::read_link(secours.join("vendor/bin/yii")).unwrap(),
        Path::new("../yiisoft/yii2/yii")
    );
    assert_untouched(&kept, &secours);
    // Parity with prod's recorded code, as the standby sees it.
    let (code, json) = site.parity("standby.toml");
    assert_eq!(code, 0, "{json}");

    // An older copy, from before copies carried the software.
    let old = site.dir.join("copies/2020-01-01_0000");
    fs::create_dir(&old).unwrap();
    for f in ["gestion.gz", "media.taz", "SHA256SUMS"] {
        fs::copy(folder.join(f), old.join(f)).unwrap();
    }
    let sums: String = sums
        .lines()
        .filter(|l| !l.ends_with("software.taz"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(old.join("SHA256SUMS"), sums).unwrap();
    let (code, json, _) = site.software("standby.toml", &["--from", "copy:2020-01-01_0000", "--yes"], None);
    assert_eq!(code, 2, "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("carries no software.taz"),
        "{json}"
    );

    // A damaged software.taz: `copies --check` says so, and the copy of the software refuses it.
    let taz = folder.join("software.taz");
    let mut bytes = fs::read(&taz).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&taz, bytes).unwrap();
    let out = site
        .secours("standby.toml")
        .args(["copies", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let (code, json, _) = site.software("standby.toml", &["--from", &id, "--dry-run"], None);
    assert_eq!(code, 2, "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("does not match its SHA-256"),
        "{json}"
    );
}

// Guards the office's Macs: Secours runs as the logged-in user and the standby's web folder belongs to the
// web server's user. The renames in it, and giving the new files to `[restore] owner`, go through the one
// privileged path (here `sudo -n` under exactly the rule Secours prints); media and db.php stay untouched.
#[test]
fn as_an_ordinary_user_the_web_servers_files_go_through_the_privileged_path() {
    use crate::support::user::{self, WITH_SUDO};
    use std::os::unix::fs::MetadataExt;
    let Some(tester) = user::require("software_as_an_ordinary_user", WITH_SUDO) else {
        return;
    };
    let tmp = tester.tempdir();
    let dir = tmp.path().to_path_buf();
    environment(&dir.join("prod"), "prod");
    environment(&dir.join("secours"), "secours");
    change_prod(&dir.join("prod"));
    let d = dir.display();
    let config = dir.join("config.toml");
    fs::write(
        &config,
        format!(
            "language = \"en\"\n[environments.prod]\nroot = \"{d}/prod\"\n[environments.secours]\nroot = \"{d}/secours\"\n\
             [watch]\nenvironments = [\"prod\"]\n[time-machine]\nenabled = false\n[restore]\nowner = \"daemon:daemon\"\n"
        ),
    )
    .unwrap();
    tester.give(&dir);
    let secours = dir.join("secours");
    user::chown(&secours.join("web"), "daemon:daemon");
    let kept = untouchable(&secours);
    let daemon = secours::restore::owner::resolve_owner("daemon:daemon").unwrap().uid;

    let out = tester
        .command(&tester.bin)
        .env_remove("SECOURS_CONFIG")
        .env_remove("SECOURS_FAULT")
        .env("LANG", "C")
        .env("SECOURS_DATA_DIR", dir.join("data"))
        .arg("--config")
        .arg(&config)
        .args(["software", "--yes", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(out.status.code(), Some(0), "{json}\n{stderr}");
    assert_eq!(json["administrator"], "sudo", "{json}");
    assert_eq!(
        fs::read_to_string(secours.join("web/index.php")).unwrap(),
        "<?php echo 'v2';\n"
    );
    for new in ["web/index.php", "web/contact.php", "models", "models/Facture.php"] {
        let meta = fs::symlink_metadata(secours.join(new)).unwrap();
        assert_eq!(meta.uid(), daemon, "{new} belongs to the web server's user");
    }
    assert!(!secours.join("web/css/site.css").exists());
    let previous = PathBuf::from(json["previous"].as_str().unwrap());
    assert_eq!(
        fs::read_to_string(previous.join("web/index.php")).unwrap(),
        "<?php echo 'v1';\n"
    );
    let leftovers: Vec<_> = fs::read_dir(&secours)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".secours-software-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_untouched(&kept, &secours);
}
