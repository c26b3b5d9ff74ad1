//! The one fake [`CommandRunner`] of the unit tests: it answers from a table of command lines, or through a
//! function that keeps the state of what it stands in for (launchd), and records every call.
//!
//! A command line is the program and its arguments joined by spaces (`/usr/bin/tmutil status -X`). A line
//! the table does not know exits 1 with `fake: no answer for '<line>'`. Clones share the table and the
//! record, so a test keeps one clone to read the calls after giving the other away.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use super::runner::{CommandRunner, Output};

type Answer = Box<dyn Fn(&Path, &[&str]) -> io::Result<Output> + Send + Sync>;

/// Answers external commands for tests; see the module documentation.
#[derive(Clone, Default)]
pub struct FakeRunner(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    table: Vec<(String, Result<Output, io::ErrorKind>)>,
    answer: Option<Arc<Answer>>,
    calls: Vec<String>,
}

impl FakeRunner {
    /// A fake whose every answer comes from `answer` (the table is not used).
    pub fn answering(answer: impl Fn(&Path, &[&str]) -> io::Result<Output> + Send + Sync + 'static) -> Self {
        let fake = FakeRunner::default();
        fake.state().answer = Some(Arc::new(Box::new(answer)));
        fake
    }

    /// Answers `line` with `output` (replacing an earlier answer for it).
    pub fn answer(self, line: &str, output: Output) -> Self {
        self.set(line, Ok(output))
    }

    /// Makes `line` fail to start, with an error of `kind`.
    pub fn refuse(self, line: &str, kind: io::ErrorKind) -> Self {
        self.set(line, Err(kind))
    }

    fn set(self, line: &str, answer: Result<Output, io::ErrorKind>) -> Self {
        {
            let mut state = self.state();
            state.table.retain(|(l, _)| l != line);
            state.table.push((line.to_owned(), answer));
        }
        self
    }

    /// Every command line run so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// Forgets the calls made so far.
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; its state is still readable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl CommandRunner for FakeRunner {
    fn run(&self, program: &Path, args: &[&str]) -> io::Result<Output> {
        let line = std::iter::once(program.to_string_lossy().into_owned())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect::<Vec<_>>()
            .join(" ");
        let answer = {
            let mut state = self.state();
            state.calls.push(line.clone());
            if let Some(answer) = &state.answer {
                Some(answer.clone())
            } else {
                match state.table.iter().find(|(l, _)| *l == line) {
                    Some((_, Ok(output))) => return Ok(output.clone()),
                    Some((_, Err(kind))) => return Err(io::Error::new(*kind, format!("fake: {line}"))),
                    None => None,
                }
            }
        };
        // Called without the lock: the function may read the calls.
        match answer {
            Some(answer) => answer(program, args),
            None => Ok(Output::new(1, "", format!("fake: no answer for '{line}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_from_the_table_and_records_every_call() {
        let fake = FakeRunner::default()
            .answer("/usr/bin/id -u pierre", Output::new(0, "501\n", ""))
            .refuse("/usr/bin/sudo -n true", io::ErrorKind::NotFound);
        let kept = fake.clone();
        assert_eq!(
            fake.run(Path::new("/usr/bin/id"), &["-u", "pierre"]).unwrap(),
            Output::new(0, "501\n", "")
        );
        let err = fake.run(Path::new("/usr/bin/sudo"), &["-n", "true"]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let other = fake.run(Path::new("/bin/x"), &[]).unwrap();
        assert_eq!(other, Output::new(1, "", "fake: no answer for '/bin/x'"));
        assert_eq!(
            kept.calls(),
            ["/usr/bin/id -u pierre", "/usr/bin/sudo -n true", "/bin/x"]
        );
        kept.clear_calls();
        assert!(fake.calls().is_empty());
    }

    #[test]
    fn a_function_may_answer_instead() {
        let fake = FakeRunner::answering(|program, args| {
            Ok(Output::new(0, format!("{} {}", program.display(), args.len()), ""))
        });
        assert_eq!(
            fake.run(Path::new("/bin/launchctl"), &["print", "x"]).unwrap().stdout,
            b"/bin/launchctl 2"
        );
        assert_eq!(fake.calls(), ["/bin/launchctl print x"]);
    }
}
