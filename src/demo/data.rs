//! The demo's application: a small office database (`gestion`) and its media, made up but realistic.
//!
//! [`dump`] writes the database in mysqldump format (what `secours db import` and the restore read): nine
//! tables with foreign keys, a `MEDIUMBLOB` column holding raw non-UTF-8 bytes (picture thumbnails),
//! accented text everywhere, two triggers, two views, a function and a procedure — about 3 MB of SQL.
//! [`media_files`] gives the files of `web/documents` and `web/pictures` that the `document` and
//! `picture` tables speak of.
//!
//! Two states: [`State::Current`] is production's (2026), [`State::Older`] the standby's last restore
//! (2025, fewer rows and files), so a restore visibly changes what the standby shows. Everything is
//! deterministic: the same state always gives the same bytes.

use crate::db::escape_bytes_into;

/// Which state of the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Production today.
    Current,
    /// The standby, restored a year ago.
    Older,
}

impl State {
    fn year(self) -> u32 {
        match self {
            State::Current => 2026,
            State::Older => 2025,
        }
    }
}

/// How many rows of each kind a state holds.
struct Size {
    members: u32,
    meetings: u32,
    pictures: u32,
    invoices: u32,
    audit: u32,
}

fn size(state: State) -> Size {
    match state {
        State::Current => Size {
            members: 420,
            meetings: 48,
            pictures: 120,
            invoices: 900,
            audit: 6000,
        },
        State::Older => Size {
            members: 310,
            meetings: 36,
            pictures: 80,
            invoices: 640,
            audit: 4200,
        },
    }
}

/// Bytes of one picture thumbnail (incompressible, like a JPEG).
const THUMBNAIL_BYTES: usize = 16 * 1024;

/// A tiny deterministic generator (xorshift32): reproducible "random" data without a dependency.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u32) as usize]
    }
}

const LAST_NAMES: &[&str] = &[
    "Dupont",
    "Müller",
    "Lefèvre",
    "Châtelain",
    "Nuñez",
    "Bérard",
    "O’Brien",
    "Zurbriggen",
    "Rochat",
    "Fløgstad",
    "Gagnon",
    "Perret",
    "Da Silva",
    "Häberli",
    "Lemaître",
    "Voisin",
];
const FIRST_NAMES: &[&str] = &[
    "Zoé",
    "Jérôme",
    "Anaïs",
    "François",
    "Hélène",
    "Noël",
    "Chloé",
    "Mathéo",
    "Léa",
    "Cécile",
    "Björn",
    "Inès",
    "Gaëlle",
    "Raphaël",
    "Maëlle",
    "Loïc",
];
const CITIES: &[&str] = &[
    "Genève",
    "Lausanne",
    "Neuchâtel",
    "Fribourg",
    "Sion",
    "Delémont",
    "Bienne",
    "Zürich",
    "Besançon",
    "Montréal",
];
const PLACES: &[&str] = &[
    "Salle du conseil",
    "Réfectoire",
    "Bibliothèque",
    "Chez Zoé",
    "Café de l’Hôtel-de-Ville",
];
const SUBJECTS: &[&str] = &[
    "Comité : budget et cotisations",
    "Assemblée générale ordinaire",
    "Préparation de la fête d’été",
    "Travaux : toiture « nord »",
    "Bilan du trimestre; divers",
];
const LABELS: &[&str] = &[
    "Cotisation annuelle",
    "Repas de soutien",
    "Location de salle",
    "Don — merci !",
    "Fournitures (papier, encre)",
    "Entrée « fête d’été »",
];
const ACTIONS: &[&str] = &["login", "update", "create", "delete", "export"];

/// A mysqldump-escaped, single-quoted string literal.
fn lit(out: &mut Vec<u8>, s: &str) {
    out.push(b'\'');
    escape_bytes_into(s.as_bytes(), out);
    out.push(b'\'');
}

fn push(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// The files of `web/` for a state: (path under `web/`, content). The document rows name the same paths.
pub fn media_files(state: State) -> Vec<(String, Vec<u8>)> {
    let year = state.year();
    let pdf = |title: &str| {
        format!("%PDF-1.4\n% {title}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
            .into_bytes()
    };
    let mut rng = Rng(2_463_534_242 ^ year);
    let mut jpeg = |bytes: usize| {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
        v.extend((0..bytes).map(|_| (rng.next() & 0xff) as u8));
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    };
    let mut files = vec![
        (format!("documents/Procès-verbal {year}-01.pdf"), pdf("Procès-verbal")),
        (format!("documents/Facture n°42 {year}.pdf"), pdf("Facture")),
        (
            "documents/Liste des membres.csv".to_owned(),
            "nom;prénom\nDupont;Zoé\nMüller;Jérôme\n".as_bytes().to_vec(),
        ),
        (format!("pictures/Réunion d’été {year}.jpg"), jpeg(4096)),
        ("pictures/logo école.jpg".to_owned(), jpeg(1024)),
        (
            format!("documents/archives/{year}/Rapport annuel.pdf"),
            pdf("Rapport annuel"),
        ),
    ];
    let months = match state {
        State::Current => 2..=9,
        State::Older => 2..=4,
    };
    for m in months {
        files.push((
            format!("documents/Procès-verbal {year}-{m:02}.pdf"),
            pdf(&format!("Procès-verbal {year}-{m:02}")),
        ));
    }
    if state == State::Older {
        // The standby holds an older, smaller state.
        files.truncate(3);
    }
    files
}

/// The application's database in mysqldump format, as bytes (the BLOBs hold raw, non-UTF-8 bytes).
pub fn dump(state: State) -> Vec<u8> {
    let year = state.year();
    let n = size(state);
    let mut rng = Rng(0x5EC0_0000 ^ year);
    let mut out: Vec<u8> = Vec::with_capacity(4 << 20);
    push(&mut out, HEAD);

    // migration
    push(&mut out, &table_head("migration", MIGRATION));
    push(
        &mut out,
        "INSERT INTO `migration` VALUES ('m000000_000000_base',1700000000),('m240101_120000_create_document',1704110400),('m250301_090000_invoice',1740819600);\n",
    );
    push(&mut out, &table_tail("migration"));

    // user
    push(&mut out, &table_head("user", USER));
    let users = [
        ("zoe.dupont", "zoe@example.org"),
        ("jerome.muller", "jerome@example.org"),
        ("anaïs", "anais@example.org"),
        ("secrétariat", "secretariat@example.org"),
        ("trésorier", "tresorier@example.org"),
    ];
    let mut rows = Vec::new();
    for (i, (name, email)) in users.iter().enumerate() {
        let mut r = format!("({},", i + 1).into_bytes();
        lit(&mut r, name);
        push(&mut r, &format!(",'k{}',", i + 1));
        lit(&mut r, email);
        push(&mut r, &format!(",{})", 1_700_000_000 + i * 100));
        rows.push(r);
    }
    insert(&mut out, "user", rows);
    push(&mut out, &table_tail("user"));

    // member
    push(&mut out, &table_head("member", MEMBER));
    let mut rows = Vec::new();
    for id in 1..=n.members {
        let (last, first, city) = (rng.pick(LAST_NAMES), rng.pick(FIRST_NAMES), rng.pick(CITIES));
        let mut r = format!("({id},").into_bytes();
        lit(&mut r, last);
        r.push(b',');
        lit(&mut r, first);
        r.push(b',');
        lit(&mut r, city);
        r.push(b',');
        if id % 9 == 0 {
            push(&mut r, "NULL");
        } else {
            let email = format!("membre{id}@example.org");
            lit(&mut r, &email);
        }
        push(
            &mut r,
            &format!(
                ",'{}-{:02}-{:02}',{})",
                2010 + rng.below(year - 2010),
                1 + rng.below(12),
                1 + rng.below(28),
                u32::from(rng.below(5) != 0)
            ),
        );
        rows.push(r);
    }
    insert(&mut out, "member", rows);
    push(&mut out, &table_tail("member"));

    // meeting
    push(&mut out, &table_head("meeting", MEETING));
    let mut rows = Vec::new();
    for id in 1..=n.meetings {
        let mut r = format!(
            "({id},'{}-{:02}-{:02}',",
            year - 3 + (id - 1) / 12,
            1 + (id - 1) % 12,
            1 + rng.below(28)
        )
        .into_bytes();
        lit(&mut r, rng.pick(PLACES));
        r.push(b',');
        lit(&mut r, rng.pick(SUBJECTS));
        r.push(b')');
        rows.push(r);
    }
    insert(&mut out, "meeting", rows);
    push(&mut out, &table_tail("meeting"));

    // document: one row per file of web/documents
    push(&mut out, &table_head("document", DOCUMENT));
    let mut rows = Vec::new();
    let documents: Vec<String> = media_files(state)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("documents/"))
        .collect();
    for (i, path) in documents.iter().enumerate() {
        let id = i + 1;
        let title = path
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .trim_end_matches(".pdf")
            .trim_end_matches(".csv");
        let mut r = format!("({id},").into_bytes();
        lit(&mut r, path);
        r.push(b',');
        lit(&mut r, &format!("{title} — classé par l’équipe"));
        push(
            &mut r,
            &format!(
                ",{},{},'{year}-{:02}-15 09:00:00')",
                1 + i % users.len(),
                1 + (i as u32 % n.meetings),
                1 + i % 12
            ),
        );
        rows.push(r);
    }
    insert(&mut out, "document", rows);
    push(&mut out, &table_tail("document"));
    push(&mut out, TRIGGER_DOCUMENT);

    // picture: the thumbnails are the bulk of the database
    push(&mut out, &table_head("picture", PICTURE));
    let mut rows = Vec::new();
    for id in 1..=n.pictures {
        let mut r = format!("({id},").into_bytes();
        lit(&mut r, &format!("pictures/album/Photo {id:03} — fête d’été.jpg"));
        push(&mut r, ",'");
        let mut thumb = vec![0xFF, 0xD8, 0xFF, 0xE0];
        thumb.extend((0..THUMBNAIL_BYTES).map(|_| (rng.next() >> 7) as u8));
        escape_bytes_into(&thumb, &mut r);
        push(
            &mut r,
            &format!("','{year}-06-{:02} 18:{:02}:00')", 1 + id % 28, id % 60),
        );
        rows.push(r);
    }
    insert(&mut out, "picture", rows);
    push(&mut out, &table_tail("picture"));

    // invoice and its lines (the totals agree with the lines, as the trigger keeps them)
    let mut invoices = Vec::new();
    let mut lines = Vec::new();
    let mut line_id = 0;
    for id in 1..=n.invoices {
        let mut total_cents: u64 = 0;
        for _ in 0..(1 + id % 4) {
            line_id += 1;
            let qty = 1 + rng.below(4);
            let cents = 500 + u64::from(rng.below(200)) * 50;
            total_cents += u64::from(qty) * cents;
            let mut r = format!("({line_id},{id},").into_bytes();
            lit(&mut r, rng.pick(LABELS));
            push(&mut r, &format!(",{qty},{}.{:02})", cents / 100, cents % 100));
            lines.push(r);
        }
        let status = match id % 10 {
            0 => "annulée",
            1..=3 => "ouverte",
            _ => "payée",
        };
        let mut r = format!(
            "({id},'F{year}-{id:04}',{},'{year}-{:02}-{:02}',{}.{:02},",
            1 + rng.below(n.members),
            1 + (id % 12),
            1 + id % 28,
            total_cents / 100,
            total_cents % 100
        )
        .into_bytes();
        lit(&mut r, status);
        r.push(b')');
        invoices.push(r);
    }
    push(&mut out, &table_head("invoice", INVOICE));
    insert(&mut out, "invoice", invoices);
    push(&mut out, &table_tail("invoice"));
    push(&mut out, &table_head("invoice_line", INVOICE_LINE));
    insert(&mut out, "invoice_line", lines);
    push(&mut out, &table_tail("invoice_line"));
    push(&mut out, TRIGGER_INVOICE);

    // audit_log
    push(&mut out, &table_head("audit_log", AUDIT_LOG));
    let mut rows = Vec::new();
    for id in 1..=n.audit {
        let action = rng.pick(ACTIONS);
        let mut r = format!(
            "({id},'{year}-{:02}-{:02} {:02}:{:02}:{:02}',{},",
            1 + (id * 12 / (n.audit + 1)),
            1 + id % 28,
            8 + id % 10,
            id % 60,
            (id * 7) % 60,
            1 + id as usize % users.len()
        )
        .into_bytes();
        lit(&mut r, action);
        r.push(b',');
        let detail = format!(
            "{action} par {} {} depuis {} — fiche n°{}; « ok »",
            rng.pick(FIRST_NAMES),
            rng.pick(LAST_NAMES),
            rng.pick(CITIES),
            1 + rng.below(n.members)
        );
        lit(&mut r, &detail);
        r.push(b')');
        rows.push(r);
    }
    insert(&mut out, "audit_log", rows);
    push(&mut out, &table_tail("audit_log"));

    push(&mut out, VIEWS);
    push(&mut out, ROUTINES);
    push(&mut out, TAIL);
    out
}

/// `INSERT INTO t VALUES (…),(…);` statements of at most about 1 MB each, as mysqldump's extended inserts.
fn insert(out: &mut Vec<u8>, table: &str, rows: Vec<Vec<u8>>) {
    const MAX: usize = 1 << 20;
    let mut current = 0;
    for row in rows {
        if current == 0 {
            push(out, &format!("INSERT INTO `{table}` VALUES "));
        } else {
            out.push(b',');
        }
        current += row.len() + 1;
        out.extend_from_slice(&row);
        if current >= MAX {
            push(out, ";\n");
            current = 0;
        }
    }
    if current > 0 {
        push(out, ";\n");
    }
}

fn table_head(name: &str, create: &str) -> String {
    format!(
        "\n--\n-- Table structure for table `{name}`\n--\n\nDROP TABLE IF EXISTS `{name}`;\n\
         /*!40101 SET @saved_cs_client     = @@character_set_client */;\n\
         /*!40101 SET character_set_client = utf8mb4 */;\n{create}\n\
         /*!40101 SET character_set_client = @saved_cs_client */;\n\n\
         --\n-- Dumping data for table `{name}`\n--\n\nLOCK TABLES `{name}` WRITE;\n\
         /*!40000 ALTER TABLE `{name}` DISABLE KEYS */;\n"
    )
}

fn table_tail(name: &str) -> String {
    format!("/*!40000 ALTER TABLE `{name}` ENABLE KEYS */;\nUNLOCK TABLES;\n")
}

const HEAD: &str = "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: gestion
-- ------------------------------------------------------
-- Server version\t10.11.19-MariaDB-0+deb12u1

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
";

const MIGRATION: &str = "CREATE TABLE `migration` (
  `version` varchar(180) NOT NULL,
  `apply_time` int(11) DEFAULT NULL,
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const USER: &str = "CREATE TABLE `user` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `username` varchar(255) NOT NULL,
  `auth_key` varchar(32) NOT NULL,
  `email` varchar(255) NOT NULL,
  `created_at` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `username` (`username`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const MEMBER: &str = "CREATE TABLE `member` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `last_name` varchar(100) NOT NULL,
  `first_name` varchar(100) NOT NULL,
  `city` varchar(100) NOT NULL,
  `email` varchar(255) DEFAULT NULL,
  `joined_on` date NOT NULL,
  `fee_paid` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_member_name` (`last_name`,`first_name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const MEETING: &str = "CREATE TABLE `meeting` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `held_on` date NOT NULL,
  `place` varchar(150) NOT NULL,
  `subject` varchar(255) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const DOCUMENT: &str = "CREATE TABLE `document` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `path` varchar(255) NOT NULL,
  `title` varchar(255) NOT NULL,
  `user_id` int(11) NOT NULL,
  `meeting_id` int(11) DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_document_user` (`user_id`),
  KEY `fk_document_meeting` (`meeting_id`),
  CONSTRAINT `fk_document_meeting` FOREIGN KEY (`meeting_id`) REFERENCES `meeting` (`id`),
  CONSTRAINT `fk_document_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const PICTURE: &str = "CREATE TABLE `picture` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `path` varchar(255) NOT NULL,
  `thumbnail` mediumblob DEFAULT NULL,
  `taken_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const INVOICE: &str = "CREATE TABLE `invoice` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `number` varchar(20) NOT NULL,
  `member_id` int(11) NOT NULL,
  `issued_on` date NOT NULL,
  `total` decimal(10,2) NOT NULL DEFAULT 0.00,
  `status` enum('ouverte','payée','annulée') NOT NULL DEFAULT 'ouverte',
  PRIMARY KEY (`id`),
  UNIQUE KEY `number` (`number`),
  KEY `fk_invoice_member` (`member_id`),
  CONSTRAINT `fk_invoice_member` FOREIGN KEY (`member_id`) REFERENCES `member` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const INVOICE_LINE: &str = "CREATE TABLE `invoice_line` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `invoice_id` int(11) NOT NULL,
  `label` varchar(255) NOT NULL,
  `quantity` int(11) NOT NULL DEFAULT 1,
  `unit_price` decimal(10,2) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_line_invoice` (`invoice_id`),
  CONSTRAINT `fk_line_invoice` FOREIGN KEY (`invoice_id`) REFERENCES `invoice` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const AUDIT_LOG: &str = "CREATE TABLE `audit_log` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `at` datetime NOT NULL,
  `user_id` int(11) DEFAULT NULL,
  `action` varchar(50) NOT NULL,
  `detail` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_audit_at` (`at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;";

const TRIGGER_DOCUMENT: &str = "/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER `document_touch` BEFORE UPDATE ON `document` FOR EACH ROW BEGIN
  -- keep the date current; even with a ';' in a comment
  SET NEW.updated_at = NOW();
END */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
";

const TRIGGER_INVOICE: &str = "/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER `invoice_line_total` AFTER INSERT ON `invoice_line` FOR EACH ROW BEGIN
  UPDATE `invoice` SET `total` = `total` + NEW.quantity * NEW.unit_price WHERE `id` = NEW.invoice_id;
END */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
";

const VIEWS: &str = "
--
-- Final view structure for view `document_list`
--

/*!50001 DROP VIEW IF EXISTS `document_list`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 SQL SECURITY INVOKER */
/*!50001 VIEW `document_list` AS select `d`.`id` AS `id`,`d`.`title` AS `title`,`u`.`username` AS `username` from (`document` `d` join `user` `u` on(`u`.`id` = `d`.`user_id`)) */;

--
-- Final view structure for view `unpaid_invoice`
--

/*!50001 DROP VIEW IF EXISTS `unpaid_invoice`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 SQL SECURITY INVOKER */
/*!50001 VIEW `unpaid_invoice` AS select `i`.`number` AS `number`,concat(`m`.`first_name`,' ',`m`.`last_name`) AS `member`,`i`.`total` AS `total` from (`invoice` `i` join `member` `m` on(`m`.`id` = `i`.`member_id`)) where `i`.`status` = 'ouverte' */;
";

const ROUTINES: &str = "
--
-- Dumping routines for database 'gestion'
--
/*!50003 DROP FUNCTION IF EXISTS `member_balance` */;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES' */ ;
DELIMITER ;;
CREATE FUNCTION `member_balance`(p_member INT) RETURNS decimal(10,2)
    READS SQL DATA
BEGIN
  DECLARE owed DECIMAL(10,2); -- what « ouverte » invoices add up to
  SELECT COALESCE(SUM(total), 0) INTO owed FROM invoice WHERE member_id = p_member AND status = 'ouverte';
  RETURN owed;
END ;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 DROP PROCEDURE IF EXISTS `cancel_old_invoices` */;
/*!50003 SET sql_mode              = '' */ ;
DELIMITER ;;
CREATE PROCEDURE `cancel_old_invoices`(IN p_before DATE)
BEGIN
  /* invoices still open before that date are cancelled; see the treasurer's note */
  UPDATE invoice SET status = 'annulée' WHERE status = 'ouverte' AND issued_on < p_before;
END ;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
";

const TAIL: &str = "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-11-25 14:00:01
";

/// The base tables of the application, in dump order.
pub const TABLES: [&str; 9] = [
    "migration",
    "user",
    "member",
    "meeting",
    "document",
    "picture",
    "invoice",
    "invoice_line",
    "audit_log",
];

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the "realistic application": a few MB, raw BLOB bytes, accents, every kind of object.
    #[test]
    fn the_application_is_a_few_mb_with_every_kind_of_object() {
        let d = dump(State::Current);
        assert!((2 << 20..8 << 20).contains(&d.len()), "{} bytes", d.len());
        assert!(
            std::str::from_utf8(&d).is_err(),
            "the BLOBs must hold raw non-UTF-8 bytes"
        );
        let text = String::from_utf8_lossy(&d);
        for t in TABLES {
            assert!(text.contains(&format!("CREATE TABLE `{t}`")), "{t}");
        }
        for needle in [
            "TRIGGER `document_touch`",
            "TRIGGER `invoice_line_total`",
            "VIEW `document_list`",
            "VIEW `unpaid_invoice`",
            "FUNCTION `member_balance`",
            "PROCEDURE `cancel_old_invoices`",
            "mediumblob",
            "Zürich",
            "payée",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        assert!(d.ends_with(b"-- Dump completed on 2026-11-25 14:00:01\n"));
        // Deterministic, and the older state is smaller.
        assert_eq!(d, dump(State::Current));
        assert!(dump(State::Older).len() < d.len());
    }

    // Guards: every document row names a file of web/documents, so the page and the restore agree.
    #[test]
    fn document_rows_name_the_media_files() {
        for state in [State::Current, State::Older] {
            let text = String::from_utf8_lossy(&dump(state)).into_owned();
            let files = media_files(state);
            let docs: Vec<&String> = files
                .iter()
                .map(|(p, _)| p)
                .filter(|p| p.starts_with("documents/"))
                .collect();
            assert!(!docs.is_empty());
            for p in docs {
                let mut quoted = Vec::new();
                lit(&mut quoted, p);
                assert!(text.contains(&*String::from_utf8_lossy(&quoted)), "{p}");
            }
        }
    }

    #[test]
    fn long_inserts_are_split_near_one_megabyte() {
        let mut out = Vec::new();
        insert(&mut out, "t", (0..3000).map(|_| vec![b'x'; 1000]).collect());
        let statements = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        assert_eq!(statements, 3);
        assert!(out.ends_with(b";\n"));
    }
}
