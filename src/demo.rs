//! A realistic sandbox to try Secours without a real installation.
//!
//! `secours demo` lays out, under one folder, what the recovery procedure describes:
//! `prod/` and `secours/` environments with a Yii-style `config/db.php`, `web/documents` and
//! `web/pictures` holding files (accents and spaces in their names), an hourly backup pair in
//! `prod/runtime/backup` (a real gzip'd mysqldump-format SQL dump of a small Yii-like schema and a real
//! `media.taz`), a `copies/` folder for safe copies, and a `config.toml` pointing at all of it.
//!
//! Running it again keeps what exists and writes a new backup pair, so the demo starts `fresh`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The demo application's database name (the dump is `gestion.gz`).
pub const DEMO_DB: &str = "gestion";

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct Demo {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub backup_dir: PathBuf,
}

/// Why the demo could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the demo at '{path}': {source}. Choose another folder with --dir, or free some space.")]
pub struct DemoError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

trait At<T> {
    fn at(self, path: &Path) -> Result<T, DemoError>;
}

impl<T> At<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T, DemoError> {
        self.map_err(|source| DemoError {
            path: path.to_owned(),
            source,
        })
    }
}

/// Creates (or refreshes) the demo in `dir`.
pub fn create(dir: &Path) -> Result<Demo, DemoError> {
    fs::create_dir_all(dir).at(dir)?;
    // Absolute paths in the config, whatever the caller passed.
    let dir = fs::canonicalize(dir).at(dir)?;
    for (env, banner, db) in [("prod", "noire", DEMO_DB), ("secours", "VERTE", "gestion_secours")] {
        let root = dir.join(env);
        for sub in [
            "web/documents",
            "web/pictures",
            "config",
            "runtime/backup",
            "runtime/logs",
        ] {
            let p = root.join(sub);
            fs::create_dir_all(&p).at(&p)?;
        }
        write_if_absent(&root.join("config/db.php"), db_php(db, env).as_bytes())?;
        let index = format!(
            "<?php\n// Application de démonstration (environnement {env}, bannière {banner}).\n\
             require __DIR__ . '/../vendor/autoload.php';\n"
        );
        write_if_absent(&root.join("web/index.php"), index.as_bytes())?;
    }
    let prod_web = dir.join("prod/web");
    for (name, content) in media_files("2026") {
        write_if_absent(&prod_web.join(name), &content)?;
    }
    // The standby holds an older state, so a restore visibly changes it.
    for (name, content) in media_files("2025").into_iter().take(3) {
        write_if_absent(&dir.join("secours/web").join(name), &content)?;
    }
    let copies = dir.join("copies");
    fs::create_dir_all(&copies).at(&copies)?;

    let backup_dir = dir.join("prod/runtime/backup");
    write_backup_pair(&prod_web, &backup_dir)?;

    let config = dir.join("config.toml");
    write_if_absent(&config, config_toml(&dir).as_bytes())?;
    Ok(Demo {
        dir,
        config,
        backup_dir,
    })
}

fn write_if_absent(path: &Path, content: &[u8]) -> Result<(), DemoError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    crate::secret::write_private(path, content).at(path)
}

/// Writes `gestion.gz` and `media.taz` the way the hourly job does: to a temporary name, then renamed.
pub fn write_backup_pair(web: &Path, backup_dir: &Path) -> Result<(), DemoError> {
    let dump = backup_dir.join(format!("{DEMO_DB}.gz"));
    let tmp = backup_dir.join(format!(".{DEMO_DB}.gz.tmp"));
    let mut gz = GzEncoder::new(fs::File::create(&tmp).at(&tmp)?, Compression::default());
    gz.write_all(&demo_dump()).at(&tmp)?;
    gz.finish().at(&tmp)?.sync_all().at(&tmp)?;
    fs::rename(&tmp, &dump).at(&dump)?;

    let media = backup_dir.join("media.taz");
    let tmp = backup_dir.join(".media.taz.tmp");
    let gz = GzEncoder::new(fs::File::create(&tmp).at(&tmp)?, Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    for folder in ["documents", "pictures"] {
        tar.append_dir_all(folder, web.join(folder)).at(&web.join(folder))?;
    }
    tar.into_inner().at(&tmp)?.finish().at(&tmp)?.sync_all().at(&tmp)?;
    fs::rename(&tmp, &media).at(&media)?;
    // As if the hourly job had run a few minutes ago: a pair modified seconds ago reads as "being
    // written", and the demo should open on a settled, fresh backup.
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(5 * 60);
    for path in [&dump, &media] {
        fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(when))
            .at(path)?;
    }
    Ok(())
}

/// Writes a pair as the hourly job would after someone emptied the `document` table by mistake: complete
/// and readable, yet suspect (`secours demo --suspect`). Its time is a little after the normal pair's.
pub fn write_suspect_pair(web: &Path, backup_dir: &Path) -> Result<(), DemoError> {
    write_backup_pair(web, backup_dir)?;
    let dump = backup_dir.join(format!("{DEMO_DB}.gz"));
    let tmp = backup_dir.join(format!(".{DEMO_DB}.gz.tmp"));
    let emptied: Vec<u8> = demo_dump()
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"INSERT INTO `document`"))
        .flatten()
        .copied()
        .collect();
    let mut gz = GzEncoder::new(fs::File::create(&tmp).at(&tmp)?, Compression::default());
    gz.write_all(&emptied).at(&tmp)?;
    gz.finish().at(&tmp)?.sync_all().at(&tmp)?;
    fs::rename(&tmp, &dump).at(&dump)?;
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 60);
    for path in [dump, backup_dir.join("media.taz")] {
        fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(when))
            .at(&path)?;
    }
    Ok(())
}

fn db_php(db: &str, env: &str) -> String {
    format!(
        "<?php\n\
         // Connexion à la base de données ({env}).\n\
         return [\n    \
             'class' => 'yii\\db\\Connection',\n    \
             'dsn' => 'mysql:host=localhost;dbname={db}',\n    \
             'username' => '{db}',\n    \
             'password' => 'demo-{env}-secret',\n    \
             'charset' => 'utf8mb4',\n\
         ];\n"
    )
}

fn config_toml(dir: &Path) -> String {
    let d = dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "# Secours demo configuration (made by 'secours demo').\n\
         [environments.prod]\nroot = \"{d}/prod\"\n\n\
         [environments.secours]\nroot = \"{d}/secours\"\nurl = \"http://localhost/secours\"\n\n\
         [watch]\nenvironments = [\"prod\"]\n\n\
         [safe-copy]\ndestinations = [\"{d}/copies\"]\nkeep = 5\n\n\
         [restore]\ntarget = \"secours\"\n\n\
         [time-machine]\nenabled = false\n"
    )
}

/// Deterministic demo files: (path under web/, content).
fn media_files(year: &str) -> Vec<(String, Vec<u8>)> {
    let pdf = |title: &str| {
        format!("%PDF-1.4\n% {title}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
            .into_bytes()
    };
    let mut pixels = Vec::with_capacity(4096);
    let mut x: u32 = 2_463_534_242;
    for _ in 0..4096 {
        // xorshift: incompressible but reproducible "photo" bytes.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pixels.push((x & 0xff) as u8);
    }
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend_from_slice(&pixels);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    vec![
        (format!("documents/Procès-verbal {year}-01.pdf"), pdf("Procès-verbal")),
        (format!("documents/Facture n°42 {year}.pdf"), pdf("Facture")),
        (
            "documents/Liste des membres.csv".to_owned(),
            "nom;prénom\nDupont;Zoé\nMüller;Jérôme\n".as_bytes().to_vec(),
        ),
        (format!("pictures/Réunion d’été {year}.jpg"), jpeg.clone()),
        ("pictures/logo école.jpg".to_owned(), jpeg[..1024].to_vec()),
        (
            format!("documents/archives/{year}/Rapport annuel.pdf"),
            pdf("Rapport annuel"),
        ),
    ]
}

/// A small Yii-like database in mysqldump format, as bytes (the BLOB holds raw, non-UTF-8 bytes).
pub fn demo_dump() -> Vec<u8> {
    let mut sql: Vec<u8> = Vec::new();
    sql.extend_from_slice(DUMP_HEAD.as_bytes());
    // A thumbnail with every byte value, escaped as mysqldump does.
    let blob: Vec<u8> = (0..=255u8).collect();
    sql.extend_from_slice(
        b"INSERT INTO `picture` VALUES (1,'pictures/R\xc3\xa9union d\xe2\x80\x99\xc3\xa9t\xc3\xa9 2026.jpg','",
    );
    sql.extend_from_slice(&escape(&blob));
    sql.extend_from_slice(b"','2026-06-21 18:30:00');\n");
    sql.extend_from_slice(DUMP_TAIL.as_bytes());
    sql
}

/// Escapes bytes for a single-quoted MySQL string literal the way mysqldump does.
fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    crate::db::escape_bytes_into(bytes, &mut out);
    out
}

const DUMP_HEAD: &str = r#"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: gestion
-- ------------------------------------------------------
-- Server version	10.11.19-MariaDB-0+deb12u1

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table `migration`
--

DROP TABLE IF EXISTS `migration`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `migration` (
  `version` varchar(180) NOT NULL,
  `apply_time` int(11) DEFAULT NULL,
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

LOCK TABLES `migration` WRITE;
/*!40000 ALTER TABLE `migration` DISABLE KEYS */;
INSERT INTO `migration` VALUES ('m000000_000000_base',1700000000),('m240101_120000_create_document',1704110400);
/*!40000 ALTER TABLE `migration` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `user`
--

DROP TABLE IF EXISTS `user`;
CREATE TABLE `user` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `username` varchar(255) NOT NULL,
  `auth_key` varchar(32) NOT NULL,
  `email` varchar(255) NOT NULL,
  `created_at` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `username` (`username`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

LOCK TABLES `user` WRITE;
/*!40000 ALTER TABLE `user` DISABLE KEYS */;
INSERT INTO `user` VALUES (1,'zoe.dupont','k1','zoe@example.org',1700000000),(2,'jerome.muller','k2','jerome@example.org',1700000100),(3,'anaïs','k3','anais@example.org',1700000200);
/*!40000 ALTER TABLE `user` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `document`
--

DROP TABLE IF EXISTS `document`;
CREATE TABLE `document` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `path` varchar(255) NOT NULL,
  `title` varchar(255) NOT NULL,
  `user_id` int(11) NOT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_document_user` (`user_id`),
  CONSTRAINT `fk_document_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

LOCK TABLES `document` WRITE;
/*!40000 ALTER TABLE `document` DISABLE KEYS */;
INSERT INTO `document` VALUES (1,'documents/Procès-verbal 2026-01.pdf','Procès-verbal de janvier; séance \'ordinaire\'',1,'2026-01-15 09:00:00'),(2,'documents/Facture n°42 2026.pdf','Facture -- n°42',2,'2026-02-01 10:30:00'),(3,'documents/Liste des membres.csv','Liste /* des */ membres',3,NULL);
/*!40000 ALTER TABLE `document` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `picture`
--

DROP TABLE IF EXISTS `picture`;
CREATE TABLE `picture` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `path` varchar(255) NOT NULL,
  `thumbnail` blob DEFAULT NULL,
  `taken_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=2 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

LOCK TABLES `picture` WRITE;
/*!40000 ALTER TABLE `picture` DISABLE KEYS */;
"#;

const DUMP_TAIL: &str = r#"/*!40000 ALTER TABLE `picture` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER `document_touch` BEFORE UPDATE ON `document` FOR EACH ROW BEGIN
  -- keep the date current; even with a ';' in a comment
  SET NEW.updated_at = NOW();
END */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;

--
-- Final view structure for view `document_list`
--

/*!50001 DROP VIEW IF EXISTS `document_list`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 SQL SECURITY INVOKER */
/*!50001 VIEW `document_list` AS select `d`.`id` AS `id`,`d`.`title` AS `title`,`u`.`username` AS `username` from (`document` `d` join `user` `u` on(`u`.`id` = `d`.`user_id`)) */;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-11-25 14:00:01
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_complete_fresh_sandbox_and_refreshes_it() {
        let dir = tempfile::tempdir().unwrap();
        let demo = create(dir.path()).unwrap();
        assert!(demo.backup_dir.join("gestion.gz").is_file());
        assert!(demo.backup_dir.join("media.taz").is_file());
        assert!(demo.dir.join("secours/config/db.php").is_file());
        let cfg = crate::config::load(&demo.config).unwrap();
        assert_eq!(cfg.restore.target, "secours");
        // A second run keeps the files and rewrites the pair.
        let again = create(dir.path()).unwrap();
        assert_eq!(again.config, demo.config);
    }

    // Guards: the demo's media archive holds the two media folders, names with accents intact.
    #[test]
    fn media_archive_holds_documents_and_pictures() {
        let dir = tempfile::tempdir().unwrap();
        let demo = create(dir.path()).unwrap();
        let f = fs::File::open(demo.backup_dir.join("media.taz")).unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(
            names.iter().any(|n| n == "pictures/Réunion d’été 2026.jpg"),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("documents") || n.starts_with("pictures"))
        );
    }

    #[test]
    fn dump_is_bytes_and_complete() {
        let d = demo_dump();
        assert!(
            std::str::from_utf8(&d).is_err(),
            "the BLOB must hold raw non-UTF-8 bytes"
        );
        assert!(d.ends_with(b"-- Dump completed on 2026-11-25 14:00:01\n"));
        assert_eq!(escape(b"a'\0\\"), b"a\\'\\0\\\\".to_vec());
    }
}
