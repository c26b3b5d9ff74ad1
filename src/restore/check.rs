//! Step 7 of a restore: is what is now in place what the backup held?
//!
//! - Every base table the dump created holds as many rows as the dump inserted into it.
//! - The media folders hold as many files as were extracted.
//! - When the environment has a `url`, the application answers it. A server error (5xx) or a 4xx
//!   other than an authentication request is a failure (the restored data broke the application); no
//!   answer at all (web server stopped, name unknown) is only a warning: the data is in place, and
//!   rolling it back would not start the web server.
//!
//! The HTTP check is a plain HTTP/1.1 `GET` over a socket with a timeout (the office's URL is
//! `http://…` on the local network; an `https://` URL is reported as not checked).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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

/// The status code of `GET url` (plain HTTP only).
pub fn http_status(url: &str, timeout: Duration) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// addresses can be checked".to_owned())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let with_port = if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{host}': {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve '{host}'"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("no answer from '{host}': {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Secours/{}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request to '{host}': {e}"))?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let n = stream
            .read(&mut head[got..])
            .map_err(|e| format!("no answer from '{host}': {e}"))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    parse_status_line(&head[..got]).ok_or_else(|| format!("'{host}' did not answer in HTTP"))
}

/// `HTTP/1.x NNN …` → NNN.
fn parse_status_line(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head.get(..12)?).ok()?;
    let rest = text.strip_prefix("HTTP/1.")?;
    rest.get(2..5)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
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

    // Guards the reading of the answer: the code is the second word of the status line.
    #[test]
    fn reads_the_status_code_of_a_real_answer() {
        let url = serve_once("HTTP/1.1 302 Found\r\nLocation: /secours/site/login\r\n\r\n");
        assert_eq!(http_status(&url, Duration::from_secs(5)).unwrap(), 302);
        let url = serve_once("HTTP/1.0 500 Internal Server Error\r\n\r\n");
        assert_eq!(http_status(&url, Duration::from_secs(5)).unwrap(), 500);
    }

    // Guards the difference between "broken" (a failure) and "not running" (only a warning).
    #[test]
    fn no_server_is_an_error_not_a_code() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(http_status(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2)).is_err());
        assert!(http_status("https://example.invalid/", Duration::from_secs(2)).is_err());
    }

    #[test]
    fn which_codes_mean_the_application_answers() {
        for ok in [200, 204, 301, 302, 304, 401, 403] {
            assert!(http_ok(ok), "{ok}");
        }
        for bad in [400, 404, 500, 502, 503] {
            assert!(!http_ok(bad), "{bad}");
        }
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH"), None);
    }
}
