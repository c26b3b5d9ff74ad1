//! Step 7 of a restore: is what is now in place what the backup held?
//!
//! - Every base table the dump created holds as many rows as the dump inserted into it.
//! - The media folders hold as many files as were extracted.
//! - When the environment has a `url`, the application answers it. A server error (5xx) or a 4xx
//!   other than an authentication request is a failure (the restored data broke the application); no
//!   answer at all (web server stopped, name unknown) is only a warning: the data is in place, and
//!   rolling it back would not start the web server.
//!
//! The HTTP check is one plain HTTP/1.1 `GET` through `ureq`, with a timeout for the whole exchange, no
//! proxy and no redirect followed: a redirect (a login page) is the application answering. The office's
//! URL is `http://…` on the local network, so Secours carries no TLS: an `https://` URL is reported as
//! not checked, with what to do.

use std::collections::BTreeMap;
use std::time::Duration;

use mysql::prelude::Queryable;
use serde::Serialize;

use crate::db::connect::connect;
use crate::db::quote_ident;
use crate::env::dbphp::DbSettings;
use crate::env::environment::Environment;

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub tables_checked: usize,
    pub rows: u64,
    pub files: Option<u64>,
    pub url: Option<String>,
    pub http_status: Option<u16>,
    /// Reasons to roll back.
    pub problems: Vec<String>,
    /// Worth saying, not worth undoing the restore for.
    pub warnings: Vec<String>,
}

/// Checks the restored target. `rows` are the rows per table the import inserted (`None` on a resumed
/// restore whose import was already done), `expected_files` the files extracted.
pub fn check(
    settings: &DbSettings,
    rows: Option<&BTreeMap<String, u64>>,
    target: &Environment,
    expected_files: Option<u64>,
) -> CheckReport {
    let mut report = CheckReport::default();
    if let Some(rows) = rows {
        check_rows(settings, rows, &mut report);
    }
    if let Some(expected) = expected_files {
        let mut found = 0;
        let mut unreadable = false;
        for d in &target.media_dirs {
            match crate::files::tree::count_tree(&target.media_path(d)) {
                Ok(c) => found += c.files,
                // A folder the archive made private to its owner (the web server's user, now): the swap put in
                // place exactly the staged tree, counted before it was given away.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    unreadable = true;
                    report.warnings.push(format!(
                        "'{}' could not be counted again (only the web server's user may read part of it); the \
                         extraction counted {expected} files",
                        target.media_path(d).display()
                    ));
                }
                Err(e) => report.problems.push(format!(
                    "cannot count the files of '{}': {e}",
                    target.media_path(d).display()
                )),
            }
        }
        report.files = Some(found);
        if found != expected && !unreadable {
            report.problems.push(format!(
                "the media folders hold {found} files where the archive had {expected}"
            ));
        }
    }
    if let Some(url) = &target.url {
        report.url = Some(url.clone());
        match http_status(url, Duration::from_secs(10)) {
            Ok(code) => {
                report.http_status = Some(code);
                if !http_ok(code) {
                    report
                        .problems
                        .push(format!("the application at '{url}' answers HTTP {code} after the restore"));
                }
            }
            Err(e) => report.warnings.push(format!(
                "the application at '{url}' could not be checked ({e}); check that the web server runs and open the address"
            )),
        }
    }
    report
}

fn check_rows(settings: &DbSettings, rows: &BTreeMap<String, u64>, report: &mut CheckReport) {
    let mut conn = match connect(settings) {
        Ok(c) => c,
        Err(e) => {
            report.problems.push(e.to_string());
            return;
        }
    };
    // Only base tables: a view's stand-in table is created by the dump, then replaced by the view.
    let base: Result<Vec<String>, _> = conn.query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    );
    let base = match base {
        Ok(b) => b,
        Err(e) => {
            report.problems.push(format!("cannot list the restored tables: {e}"));
            return;
        }
    };
    // Counting scans every row: the tables are shared out between two connections, biggest first.
    let mut todo: Vec<(&String, u64)> = rows
        .iter()
        .filter(|(t, _)| base.iter().any(|b| b == *t))
        .map(|(t, n)| (t, *n))
        .collect();
    todo.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let (mut mine, mut other) = (Vec::new(), Vec::new());
    let (mut load_mine, mut load_other) = (0u64, 0u64);
    for (t, n) in todo {
        if load_mine <= load_other {
            mine.push((t, n));
            load_mine += n;
        } else {
            other.push((t, n));
            load_other += n;
        }
    }
    let second = std::thread::scope(|s| {
        let helper = s.spawn(|| match connect(settings) {
            Ok(mut c) => count_tables(&mut c, &other),
            Err(e) => Counted {
                problems: vec![e.to_string()],
                ..Counted::default()
            },
        });
        let first = count_tables(&mut conn, &mine);
        let second = helper.join().unwrap_or_else(|_| Counted {
            problems: vec!["the counting thread stopped unexpectedly".to_owned()],
            ..Counted::default()
        });
        [first, second]
    });
    for c in second {
        report.tables_checked += c.tables;
        report.rows += c.rows;
        report.problems.extend(c.problems);
    }
}

#[derive(Default)]
struct Counted {
    tables: usize,
    rows: u64,
    problems: Vec<String>,
}

fn count_tables(conn: &mut mysql::Conn, tables: &[(&String, u64)]) -> Counted {
    let mut out = Counted::default();
    for (table, expected) in tables {
        let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(table));
        match conn.query_first::<u64, _>(sql) {
            Ok(Some(n)) => {
                out.tables += 1;
                out.rows += n;
                if n != *expected {
                    out.problems.push(format!(
                        "table '{table}' holds {n} rows where the dump inserted {expected}"
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => out
                .problems
                .push(format!("cannot count the rows of table '{table}': {e}")),
        }
    }
    out
}

/// 2xx and 3xx, and 401/403 (the application asks for a login): the application answers.
pub fn http_ok(code: u16) -> bool {
    (200..400).contains(&code) || code == 401 || code == 403
}

/// The status code of `GET url` (plain HTTP only): any status the server answers, redirects not
/// followed; an error (a sentence naming the host) when there is no HTTP answer within `timeout`.
pub fn http_status(url: &str, timeout: Duration) -> Result<u16, String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| format!("'{url}' is not a web address ({e})"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(
                "only http:// addresses can be checked: open this https:// address in a browser to see that the \
                 application answers"
                    .to_owned(),
            );
        }
        _ => return Err("only http:// addresses can be checked".to_owned()),
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        // Every answer is a status to judge, a redirect included (to a login page, typically).
        .http_status_as_error(false)
        .max_redirects(0)
        // The address is on the office's network: straight there, whatever proxy the environment names.
        .proxy(None)
        .user_agent(format!("Secours/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    // Only the status line and headers are read; the body is left unread and the connection dropped.
    match agent.get(url).call() {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) => Err(explain(host, e, timeout)),
    }
}

/// A failed `GET` as the check's sentence, naming the host.
fn explain(host: &str, e: ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::HostNotFound => format!("cannot resolve '{host}'"),
        ureq::Error::Timeout(ureq::Timeout::Resolve) => {
            format!("cannot resolve '{host}' within {} s", timeout.as_secs())
        }
        ureq::Error::Timeout(_) => format!("no answer from '{host}' within {} s", timeout.as_secs()),
        ureq::Error::Io(e) => format!("no answer from '{host}': {e}"),
        ureq::Error::ConnectionFailed => format!("no answer from '{host}'"),
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => {
            format!("'{host}' did not answer in HTTP")
        }
        ureq::Error::BadUri(why) => format!("'{host}' is not a web address ({why})"),
        other => format!("'{host}': {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn serve_once(answer: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        format!("http://127.0.0.1:{port}/secours")
    }

    // Guards the reading of the answer: the code is the second word of the status line. The 302's
    // `Location` leads back to this server, which answers only once: following it would fail, so this also
    // guards that redirects are not followed (a login page means the application answers).
    #[test]
    fn reads_the_status_code_of_a_real_answer() {
        let url = serve_once("HTTP/1.1 302 Found\r\nLocation: /secours/site/login\r\n\r\n");
        assert_eq!(http_status(&url, Duration::from_secs(5)).unwrap(), 302);
        let url = serve_once("HTTP/1.0 500 Internal Server Error\r\n\r\n");
        assert_eq!(http_status(&url, Duration::from_secs(5)).unwrap(), 500);
        let url = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(http_status(&url, Duration::from_secs(5)).unwrap(), 200);
        let url = serve_once("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(http_status(&url, Duration::from_secs(5)).unwrap(), 404);
    }

    // Guards the difference between "broken" (a failure) and "not running" (only a warning).
    #[test]
    fn no_server_is_an_error_not_a_code() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let e = http_status(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2)).unwrap_err();
        assert!(e.starts_with("no answer from '127.0.0.1:"), "{e}");
        assert!(http_status("https://example.invalid/", Duration::from_secs(2)).is_err());
    }

    // Guards the message of an https:// address, which Secours cannot check (no TLS): it says so, and
    // what to do instead, without trying the network.
    #[test]
    fn an_https_address_is_not_checked_and_says_what_to_do() {
        let e = http_status("https://imac-de-reunion.local/secours", Duration::from_secs(2)).unwrap_err();
        assert!(e.contains("only http:// addresses can be checked"), "{e}");
        assert!(e.contains("browser"), "{e}");
        assert!(http_status("ftp://host/", Duration::from_secs(2)).is_err());
        assert!(http_status("not a url", Duration::from_secs(2)).is_err());
    }

    // Guards the timeout: a server that accepts and never answers is "no answer", within the time given.
    #[test]
    fn a_silent_server_is_no_answer_within_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let held = listener.accept();
            let _ = rx.recv_timeout(Duration::from_secs(30));
            drop(held);
        });
        let started = std::time::Instant::now();
        let e = http_status(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(1)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert!(e.contains("no answer from '127.0.0.1:"), "{e}");
        let _ = tx.send(());
    }

    // Guards what is not HTTP (another service on the port): not a status code, an error.
    #[test]
    fn an_answer_that_is_not_http_is_an_error() {
        let url = serve_once("SSH-2.0-OpenSSH_9.6\r\n");
        let e = http_status(&url, Duration::from_secs(5)).unwrap_err();
        assert!(
            e.starts_with("'127.0.0.1:") && e.ends_with("' did not answer in HTTP"),
            "{e}"
        );
    }

    #[test]
    fn which_codes_mean_the_application_answers() {
        for ok in [200, 204, 301, 302, 304, 401, 403] {
            assert!(http_ok(ok), "{ok}");
        }
        for bad in [400, 404, 500, 502, 503] {
            assert!(!http_ok(bad), "{bad}");
        }
    }
}
