//! Backups that look wrong, end to end with the real binary: a normal pair, then a shrunk one (a table
//! emptied) is `suspect` with `db-shrunk` and exit 1; its safe copy is marked and the last good copy kept;
//! "This change is expected" (`secours accept`) makes it the reference, and the state is `fresh` again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use assert_cmd::Command;

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().display();
        for d in ["prod/runtime/backup", "secours/web", "copies"] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let config = format!(
            "language = \"en\"\n\
             [environments.prod]\nroot = \"{r}/prod\"\n\n\
             [environments.secours]\nroot = \"{r}/secours\"\n\n\
             [watch]\nenvironments = [\"prod\"]\n\n\
             [safe-copy]\ndestinations = [\"{r}/copies\"]\nkeep = 1\n\n\
             [time-machine]\nenabled = false\n"
        );
        fs::write(dir.path().join("config.toml"), config).unwrap();
        Site { dir }
    }

    fn backup(&self) -> PathBuf {
        self.dir.path().join("prod/runtime/backup")
    }

    fn secours(&self) -> Command {
        let mut c = Command::cargo_bin("secours").unwrap();
        c.arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .env_remove("SECOURS_CONFIG")
            .env("USER", "zoe")
            .env("LANG", "C");
        c
    }

    /// Runs `secours ARGS`; returns (exit code, stdout as JSON or text, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.secours().args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn status(&self) -> (i32, serde_json::Value) {
        let (code, out, err) = self.run(&["status", "--json"]);
        let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, json)
    }

    /// Writes a pair as the hourly job does, `minutes` ago: the dump holds `facture` with `rows` rows
    /// (each ~200 bytes) and `client` with 3; the media `files` files.
    fn pair(&self, rows: usize, files: usize, minutes: u64) {
        let mut sql = String::from("-- MySQL dump 10.13  Distrib 8.0.36\n--\n");
        sql.push_str("CREATE TABLE `facture` (`id` int NOT NULL, `note` text);\n");
        if rows > 0 {
            let values: Vec<String> = (0..rows).map(|i| format!("({i},'{}')", "é".repeat(100))).collect();
            for chunk in values.chunks(50) {
                sql.push_str(&format!("INSERT INTO `facture` VALUES {};\n", chunk.join(",")));
            }
        }
        sql.push_str("CREATE TABLE `client` (`id` int NOT NULL);\nINSERT INTO `client` VALUES (1),(2),(3);\n");
        sql.push_str("-- Dump completed on 2026-11-25 14:00:01\n");
        let dump = self.backup().join("gestion.gz");
        let mut gz = flate2::write::GzEncoder::new(fs::File::create(&dump).unwrap(), flate2::Compression::fast());
        gz.write_all(sql.as_bytes()).unwrap();
        gz.finish().unwrap();

        let media = self.backup().join("media.taz");
        let gz = flate2::write::GzEncoder::new(fs::File::create(&media).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (i, folder) in (0..files).map(|i| (i, if i % 4 == 0 { "pictures" } else { "documents" })) {
            let data = format!("file {i}").into_bytes();
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, format!("{folder}/f{i}.pdf"), data.as_slice())
                .unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        for f in [&dump, &media] {
            crate::support::age(f, minutes * 60);
        }
    }

    fn copies(&self) -> Vec<(String, bool)> {
        let mut list: Vec<(String, bool)> = fs::read_dir(self.dir.path().join("copies"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    p.join("SUSPECT.json").exists(),
                )
            })
            .filter(|(n, _)| !n.starts_with('.'))
            .collect();
        list.sort();
        list
    }
}

fn kinds(source: &serde_json::Value) -> Vec<&str> {
    source["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect()
}

// Guards the test: a normal pair, then a shrunk one → `suspect` with `db-shrunk` and exit 1; after
// acceptance, `fresh` again. Also: the suspect copy is marked and never replaces the last good one, the
// acceptance is in history with who accepted what, and the next pair like the accepted one is normal.
#[test]
fn a_shrunk_pair_is_suspect_until_the_change_is_accepted() {
    let site = Site::new();
    site.pair(400, 40, 65);
    let (code, out, err) = site.run(&["verify", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["suspect"], false);
    // The shape was counted in the same read: every table with its rows.
    assert_eq!(v["db"]["details"]["shape"]["tables"]["facture"], 400, "{out}");
    assert_eq!(v["db"]["details"]["shape"]["tables"]["client"], 3, "{out}");
    assert_eq!(site.run(&["copy"]).0, 0);
    let (code, json) = site.status();
    assert_eq!((code, json["state"].as_str().unwrap()), (0, "fresh"), "{json}");
    assert_eq!(json["sources"][0]["anomalies"], serde_json::json!([]));

    // Someone emptied `facture`: the dump is a fraction of its size, complete and readable all the same.
    site.pair(0, 40, 5);
    let (code, out, _) = site.run(&["verify"]);
    assert_eq!(code, 0, "the files are sound: {out}");
    assert!(out.contains("Suspect: The database lost"), "{out}");
    let (code, json) = site.status();
    assert_eq!((code, json["state"].as_str().unwrap()), (1, "suspect"), "{json}");
    let src = &json["sources"][0];
    assert_eq!(src["state"], "suspect");
    assert_eq!(kinds(src), ["db-shrunk", "table-emptied"], "{json}");
    let shrunk = &src["anomalies"][0];
    assert!(
        shrunk["before"].as_u64().unwrap() > 5 * shrunk["now"].as_u64().unwrap(),
        "{shrunk}"
    );
    assert!(
        shrunk["message"]
            .as_str()
            .unwrap()
            .starts_with("The database lost 99 % of its size since "),
        "{shrunk}"
    );
    assert_eq!(src["anomalies"][1]["table"], "facture");
    assert_eq!(src["anomalies"][1]["before"], 400);
    assert_eq!(src["anomalies"][1]["now"], 0);
    assert!(
        src["problem"]
            .as_str()
            .unwrap()
            .contains("table `facture` is empty (it had 400 rows)"),
        "{src}"
    );
    // The menu says so and offers to accept it (a build with the menu-bar app).
    #[cfg(feature = "gui")]
    {
        let (_, menu, _) = site.run(&["menu", "--json"]);
        let menu: serde_json::Value = serde_json::from_str(&menu).unwrap();
        assert_eq!(menu["icon"], "attention");
        assert!(
            menu["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["label"] == "This change is expected" && i["action"]["action"] == "accept-change"),
            "{menu}"
        );
    }

    // Copied all the same (it may be the only recent backup), marked, and the last good copy is kept
    // although `keep = 1`.
    assert_eq!(site.run(&["copy"]).0, 0);
    let copies = site.copies();
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert_eq!((copies[0].1, copies[1].1), (false, true), "{copies:?}");

    // "This change is expected".
    let (code, out, err) = site.run(&["accept"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("is the new reference (accepted by zoe (command line))"),
        "{out}"
    );
    let (code, json) = site.status();
    assert_eq!((code, json["state"].as_str().unwrap()), (0, "fresh"), "{json}");
    assert_eq!(json["sources"][0]["anomalies"], serde_json::json!([]));
    assert!(!site.copies()[1].1, "the accepted pair's copy is no longer marked");
    let (code, _, _) = site.run(&["accept"]);
    assert_eq!(code, 2, "nothing left to accept");
    let (_, history, _) = site.run(&["history", "--json"]);
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let accepted = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["details"]["kind"] == "accept-change")
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(accepted["details"]["details"]["by"], "zoe (command line)");
    assert_eq!(accepted["details"]["details"]["findings"][1]["table"], "facture");

    // The next pair like the accepted one is normal; a pair with a tenth of the media files is not.
    site.pair(0, 40, 3);
    site.run(&["verify"]);
    let (code, json) = site.status();
    assert_eq!((code, json["state"].as_str().unwrap()), (0, "fresh"), "{json}");
    site.pair(0, 4, 1);
    site.run(&["verify"]);
    let (code, json) = site.status();
    assert_eq!(code, 1, "{json}");
    assert_eq!(kinds(&json["sources"][0]), ["media-shrunk", "files-dropped"], "{json}");
    assert!(
        json["sources"][0]["anomalies"][1]["message"]
            .as_str()
            .unwrap()
            .contains("only 4 files instead of 40 (90 % fewer, mostly in 'documents')"),
        "{json}"
    );

    // The report shows it all, and is well-formed.
    let page = site.dir.path().join("report.html");
    let (code, out, err) = site.run(&["report", "-o", page.to_str().unwrap(), "--days", "2"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg"));
    assert!(
        html.contains("Change accepted: done (prod, by zoe (command line))"),
        "{html}"
    );
    assert!(html.contains("prod: suspect → up to date"), "{html}");
}

// Guards: a report that cannot be written says which file and what to do, with exit 3.
#[test]
fn a_report_that_cannot_be_written_names_the_file() {
    let site = Site::new();
    let blocker = site.dir.path().join("file");
    fs::write(&blocker, b"x").unwrap();
    let target = blocker.join("report.html");
    let (code, _, err) = site.run(&["report", "-o", target.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!("'{}'", target.display())) && err.contains("-o"),
        "{err}"
    );
}
