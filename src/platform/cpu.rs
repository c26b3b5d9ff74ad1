//! The processor time this process used, and a lower priority for background work (the hourly
//! pre-staging of the standby runs in a process of its own at `nice` 10).
//!
//! Linux reads `/proc/self/stat`; macOS asks `ps -o cputime=` (Secours allows no `unsafe` for
//! `getrusage`). Both are best effort: `None` when the system does not say.

use std::path::Path;

use super::runner::CommandRunner;

/// The niceness of background work: the office's applications and the server come first.
pub const BACKGROUND_NICE: i32 = 10;

/// Lowers this process's priority (on Linux, of the calling thread, which is the one doing the work).
pub fn lower_priority() {
    if let Err(e) = rustix::process::setpriority_process(None, BACKGROUND_NICE) {
        log::info!("cannot lower this process's priority: {e}");
    }
}

/// User plus system processor seconds used by this process so far.
pub fn process_cpu_seconds(runner: &dyn CommandRunner) -> Option<f64> {
    if cfg!(target_os = "linux") {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let ticks = parse_proc_stat(&stat)?;
        Some(ticks as f64 / rustix::param::clock_ticks_per_second().max(1) as f64)
    } else {
        let pid = std::process::id().to_string();
        let out = runner.run(Path::new("/bin/ps"), &["-o", "cputime=", "-p", &pid]).ok()?;
        parse_ps_time(String::from_utf8_lossy(&out.stdout).trim())
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line; the command name (field 2) may hold
/// spaces and parentheses, so the fields are counted after its last `)`.
pub fn parse_proc_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `ps`'s `cputime`: `[[dd-]hh:]mm:ss[.cc]`.
pub fn parse_ps_time(text: &str) -> Option<f64> {
    let (days, rest) = match text.split_once('-') {
        Some((d, r)) => (d.parse::<f64>().ok()?, r),
        None => (0.0, text),
    };
    let mut seconds = 0.0;
    for part in rest.split(':') {
        seconds = seconds * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(days * 86_400.0 + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the count after the command's name: a name with spaces and a parenthesis does not shift it.
    #[test]
    fn proc_stat_fields_are_counted_after_the_name() {
        let line = "4242 (secours (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 30 10 3 0 1000 0 0";
        assert_eq!(parse_proc_stat(line), Some(175));
        assert_eq!(parse_proc_stat("garbage"), None);
    }

    // Guards the shapes of ps's time on macOS and Linux.
    #[test]
    fn ps_times_in_their_shapes() {
        assert_eq!(parse_ps_time("0:01.50"), Some(1.5));
        assert_eq!(parse_ps_time("01:02:03"), Some(3723.0));
        assert_eq!(parse_ps_time("1-00:00:01"), Some(86_401.0));
        assert_eq!(parse_ps_time("x"), None);
    }

    #[test]
    fn this_process_has_used_some_time() {
        let runner = crate::platform::runner::SystemRunner::default();
        let s = process_cpu_seconds(&runner).unwrap();
        assert!(s >= 0.0);
    }
}
