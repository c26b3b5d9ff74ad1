//! The demo's web pages: the application as the office sees it in a browser, one page per environment.
//!
//! Served on `127.0.0.1` only (the port of the environments' `url`), while the demo's database server runs
//! (see [`super::server`]). A page shows the procedure's banner (production black, the standby green), the
//! rows of every table of the environment's database and the list of its documents, so a restore visibly
//! changes what the standby shows, and the restore's URL check gets a real answer: `200` when the
//! database answers, `500` when it does not (as the real application would fail).
//!
//! Routes: `/<env>` (the path of the environment's `url`), `/<env>/files/<path under web/>` (a media
//! file, never outside the media folders), `/` (links to every environment) and `/_ready` (the demo's
//! folder, which tells a Secours command that these pages, and so the database, are up).

use std::path::{Component, Path, PathBuf};

use mysql::prelude::Queryable;

use crate::env::config::Config;
use crate::env::environment::{self, Environment};
use crate::i18n::{Lang, fill};

/// What the readiness route answers first (then the demo's folder).
pub const READY: &str = "secours-demo ";

/// The port of an `http://host:port/…` address.
pub fn url_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// The path of an `http://host:port/path` address, without a trailing slash (`/` for none).
pub fn url_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let trimmed = path.trim_end_matches('/');
    Some(if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    })
}

/// How a page looks: the procedure's banner colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Banner {
    Production,
    Standby,
    Other,
}

/// What a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageData {
    pub env: String,
    pub banner: Banner,
    pub database: String,
    /// Rows per base table, by name; or why the database did not answer.
    pub tables: Result<Vec<(String, u64)>, String>,
    /// Documents: path under `web/` and size in bytes.
    pub documents: Vec<(String, u64)>,
    pub pictures: usize,
}

/// An answer: status, content type, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: body.into_bytes(),
        }
    }

    fn text(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into_bytes(),
        }
    }
}

/// `<`, `>`, `&`, `"` and `'` escaped for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path (every byte but unreserved characters and `/`).
pub fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` sequences; `None` for a malformed one or bytes that are not UTF-8.
pub fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

const STYLE: &str = "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#222}\
.banner{padding:14px 24px;font-size:22px;font-weight:bold;letter-spacing:.05em}\
main{padding:8px 24px}table{border-collapse:collapse}td,th{padding:3px 12px;border-bottom:1px solid #ddd;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.error{color:#b00020;font-weight:bold}";

/// The page of one environment (pure: everything comes in `data`).
pub fn render_page(data: &PageData, lang: Lang) -> String {
    let t = lang.demo();
    let (background, banner) = match data.banner {
        Banner::Production => ("#000000", t.page_banner_prod.to_owned()),
        Banner::Standby => ("#1e8e3e", t.page_banner_standby.to_owned()),
        Banner::Other => ("#5f6368", data.env.to_uppercase()),
    };
    let title = fill(t.page_title, &[("env", &data.env)]);
    let mut html = format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n\
         <body><div class=\"banner\" style=\"background:{background};color:#ffffff\">{}</div><main>\n<h1>{}</h1>\n",
        if lang == Lang::Fr { "fr" } else { "en" },
        escape(&title),
        escape(&banner),
        escape(&title),
    );
    match &data.tables {
        Ok(tables) => {
            let rows: u64 = tables.iter().map(|(_, n)| n).sum();
            html.push_str(&format!(
                "<h2>{}</h2>\n<table id=\"rows\"><tr><th>{}</th><th>{}</th></tr>\n",
                escape(&fill(
                    t.page_database,
                    &[
                        ("db", &data.database),
                        ("tables", &tables.len().to_string()),
                        ("rows", &rows.to_string())
                    ]
                )),
                escape(t.page_table),
                escape(t.page_rows)
            ));
            for (name, n) in tables {
                html.push_str(&format!(
                    "<tr data-table=\"{0}\"><td>{0}</td><td class=\"n\">{n}</td></tr>\n",
                    escape(name)
                ));
            }
            html.push_str(&format!(
                "<tr><th>{}</th><th class=\"n\">{rows}</th></tr></table>\n",
                escape(t.page_total)
            ));
        }
        Err(e) => html.push_str(&format!(
            "<p class=\"error\">{}</p>\n",
            escape(&fill(t.page_db_down, &[("db", &data.database), ("error", e)]))
        )),
    }
    html.push_str(&format!(
        "<h2>{}</h2>\n",
        escape(&fill(t.page_documents, &[("count", &data.documents.len().to_string())]))
    ));
    if data.documents.is_empty() {
        html.push_str(&format!("<p>{}</p>\n", escape(t.page_no_documents)));
    } else {
        html.push_str("<ul id=\"documents\">\n");
        for (path, bytes) in &data.documents {
            let name = path.strip_prefix("documents/").unwrap_or(path);
            html.push_str(&format!(
                "<li><a href=\"/{}/files/{}\">{}</a> — {}</li>\n",
                percent_encode(&data.env),
                percent_encode(path),
                escape(name),
                escape(&lang.t().bytes(*bytes))
            ));
        }
        html.push_str("</ul>\n");
    }
    html.push_str(&format!(
        "<p>{}</p>\n</main></body></html>\n",
        escape(&fill(t.page_pictures, &[("count", &data.pictures.to_string())]))
    ));
    html
}

/// The rows of each base table of `env`'s database, by name.
pub fn table_rows(env: &Environment) -> Result<Vec<(String, u64)>, String> {
    let settings = env.database().map_err(|e| e.to_string())?;
    let mut conn = crate::db::connect::connect(&settings).map_err(|e| e.to_string())?;
    let names: Vec<String> = conn
        .query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        )
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let n: Option<u64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {}", crate::db::quote_ident(&name)))
            .map_err(|e| e.to_string())?;
        out.push((name, n.unwrap_or(0)));
    }
    Ok(out)
}

/// Files under `dir`, as paths relative to `base` with their sizes, sorted.
fn files_under(dir: &Path, base: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        let path = e.path();
        if kind.is_dir() {
            files_under(&path, base, out);
        } else if kind.is_file() {
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            if let Ok(rel) = path.strip_prefix(base) {
                out.push((rel.to_string_lossy().into_owned(), size));
            }
        }
    }
}

/// Everything the page of `env` shows, read now.
pub fn gather(config: &Config, env: &Environment) -> PageData {
    let banner = if env.name == config.restore.production {
        Banner::Production
    } else if env.name == config.restore.target {
        Banner::Standby
    } else {
        Banner::Other
    };
    let mut documents = Vec::new();
    files_under(&env.web.join("documents"), &env.web, &mut documents);
    documents.sort();
    let mut pictures = Vec::new();
    files_under(&env.web.join("pictures"), &env.web, &mut pictures);
    PageData {
        env: env.name.clone(),
        banner,
        database: env.database_name().unwrap_or_else(|| "?".to_owned()),
        tables: table_rows(env),
        documents,
        pictures: pictures.len(),
    }
}

/// A media file of `env` named by a decoded path under `web/`, only inside its media folders.
fn media_file(env: &Environment, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let first = rel.components().next()?.as_os_str().to_str()?;
    if !env.media_dirs.iter().any(|d| d == first) {
        return None;
    }
    let path = env.web.join(rel);
    path.is_file().then_some(path)
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The answer to `GET path` (path without the query), for the demo in `dir` with `config`.
pub fn route(path: &str, config: &Config, dir: &Path, lang: Lang) -> Reply {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    if path == "/_ready" {
        return Reply::text(200, format!("{READY}{}", dir.display()));
    }
    let envs = environment::all(config);
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        let mut html = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Secours</title><style>{STYLE}</style></head><body><main>\n<h1>{}</h1><ul>\n",
            escape(lang.demo().page_index)
        );
        for env in &envs {
            if let Some(p) = env.url.as_deref().and_then(url_path) {
                html.push_str(&format!(
                    "<li><a href=\"{}\">{}</a></li>\n",
                    escape(&p),
                    escape(&env.name)
                ));
            }
        }
        html.push_str("</ul></main></body></html>\n");
        return Reply::html(200, html);
    }
    for env in &envs {
        let Some(base) = env.url.as_deref().and_then(url_path) else {
            continue;
        };
        if trimmed == base {
            let data = gather(config, env);
            let status = if data.tables.is_ok() { 200 } else { 500 };
            return Reply::html(status, render_page(&data, lang));
        }
        let files = format!("{}/files/", base.trim_end_matches('/'));
        if let Some(rel) = path.strip_prefix(&files) {
            return match percent_decode(rel).and_then(|rel| media_file(env, &rel)) {
                Some(file) => match std::fs::read(&file) {
                    Ok(body) => Reply {
                        status: 200,
                        content_type: content_type(&file),
                        body,
                    },
                    Err(e) => Reply::text(500, format!("cannot read '{}': {e}", file.display())),
                },
                None => Reply::text(404, "not found".to_owned()),
            };
        }
    }
    Reply::text(404, "not found".to_owned())
}

/// Answers requests until the server is unblocked (see [`tiny_http::Server::unblock`]). The configuration
/// is read again for each page, so an edited `config.toml` or `db.php` shows at once.
pub fn serve(server: &tiny_http::Server, config_path: &Path, dir: &Path, lang: Lang) {
    while let Ok(request) = server.recv() {
        let reply = match crate::env::config::load(config_path) {
            Ok(config) if *request.method() == tiny_http::Method::Get => route(request.url(), &config, dir, lang),
            Ok(_) => Reply::text(405, "only GET".to_owned()),
            Err(e) => Reply::text(500, e.to_string()),
        };
        let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
        if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], reply.content_type.as_bytes()) {
            response.add_header(h);
        }
        if let Err(e) = request.respond(response) {
            log::debug!("demo page: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(tables: Result<Vec<(String, u64)>, String>) -> PageData {
        PageData {
            env: "secours".into(),
            banner: Banner::Standby,
            database: "gestion_secours".into(),
            tables,
            documents: vec![("documents/Procès-verbal 2026-01.pdf".into(), 120)],
            pictures: 2,
        }
    }

    // Guards the page: the banner colour, the rows per table and the documents, in French.
    #[test]
    fn page_shows_banner_rows_and_documents() {
        let html = render_page(&data(Ok(vec![("member".into(), 420), ("user".into(), 5)])), Lang::Fr);
        assert!(html.contains("background:#1e8e3e"), "{html}");
        assert!(html.contains("SECOURS — environnement de secours"));
        assert!(html.contains("<tr data-table=\"member\"><td>member</td><td class=\"n\">420</td></tr>"));
        assert!(html.contains("2 tables, 425 lignes"));
        assert!(html.contains("href=\"/secours/files/documents/Proc%C3%A8s-verbal%202026-01.pdf\""));
        assert!(html.contains(">Procès-verbal 2026-01.pdf</a>"));
        let prod = PageData {
            banner: Banner::Production,
            ..data(Ok(vec![]))
        };
        assert!(render_page(&prod, Lang::En).contains("background:#000000"));
    }

    #[test]
    fn a_database_that_does_not_answer_is_said() {
        let html = render_page(&data(Err("refused <x>".into())), Lang::En);
        assert!(html.contains("does not answer: refused &lt;x&gt;"), "{html}");
    }

    #[test]
    fn urls_and_paths() {
        assert_eq!(url_port("http://127.0.0.1:4123/secours"), Some(4123));
        assert_eq!(url_port("http://localhost/secours"), None);
        assert_eq!(url_path("http://127.0.0.1:4123/secours/").as_deref(), Some("/secours"));
        assert_eq!(url_path("http://127.0.0.1:4123").as_deref(), Some("/"));
        assert_eq!(percent_decode(&percent_encode("a é/’ b")).as_deref(), Some("a é/’ b"));
        assert_eq!(percent_decode("%zz"), None);
    }

    // Guards: a file route never leaves the media folders, whatever the path says.
    #[test]
    fn files_are_served_only_from_the_media_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("secours");
        std::fs::create_dir_all(root.join("web/documents")).unwrap();
        std::fs::create_dir_all(root.join("config")).unwrap();
        std::fs::write(root.join("web/documents/a b.pdf"), b"%PDF").unwrap();
        std::fs::write(root.join("config/db.php"), b"<?php secret").unwrap();
        let env = Environment::resolve("secours", &crate::env::config::EnvironmentConfig::at(&root, None));
        assert!(media_file(&env, "documents/a b.pdf").is_some());
        assert!(media_file(&env, "documents/../../config/db.php").is_none());
        assert!(media_file(&env, "../config/db.php").is_none());
        assert!(media_file(&env, "index.php").is_none());
    }
}
