#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The restore's one privileged path (`owner::run_admin_ops`) on real folders: as root it does everything
//! itself, reaching every entry and links themselves, never their targets; it refuses any path outside the
//! environment's folder; without root it sends the rest of the operations in ONE request — `sudo -n` for
//! each command when a rule allows it, else one `pkexec` or one macOS dialog for the whole script — and
//! checks their effect; a refusal or a dismissed dialog says what to run, and asks nothing more.

use crate::support;

use std::cell::RefCell;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use secours::platform::Os;
use secours::platform::admin::{Privileges, Via, effective_uid, sh_script};
use secours::platform::runner::{CommandRunner, Output};
use secours::restore::owner::{
    AdminOp, Owner, OwnerError, admin_request, applescript_batch, resolve_owner, run_admin_ops,
};
use support::user::all_entries;

fn is_root() -> bool {
    let root = effective_uid().unwrap() == 0;
    if !root {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: these tests change owners and need root"
        );
        eprintln!("skipped: changing owners needs root (CI runs the tests as root)");
    }
    root
}

fn daemon() -> Owner {
    resolve_owner("daemon:daemon").unwrap()
}

fn not_root(os: Os, pkexec: bool, display: bool) -> Privileges {
    Privileges {
        euid: 4242,
        os,
        pkexec,
        display,
    }
}

fn root_privileges() -> Privileges {
    Privileges {
        euid: 0,
        os: Os::Linux,
        pkexec: false,
        display: false,
    }
}

/// A runner that must not be called.
struct NoRunner;

impl CommandRunner for NoRunner {
    fn run(&self, program: &Path, args: &[&str]) -> io::Result<Output> {
        panic!("unexpected command {program:?} {args:?}")
    }
}

/// Records each command; `answer` decides the output (and may run the real command).
struct Fake<F: Fn(&[String]) -> Output> {
    calls: RefCell<Vec<Vec<String>>>,
    answer: F,
}

impl<F: Fn(&[String]) -> Output> Fake<F> {
    fn new(answer: F) -> Self {
        Fake {
            calls: RefCell::new(Vec::new()),
            answer,
        }
    }
}

impl<F: Fn(&[String]) -> Output> CommandRunner for Fake<F> {
    fn run(&self, program: &Path, args: &[&str]) -> io::Result<Output> {
        let argv: Vec<String> = std::iter::once(program.to_str().unwrap().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .collect();
        self.calls.borrow_mut().push(argv.clone());
        Ok((self.answer)(&argv))
    }
}

/// Runs `argv` for real (as the test, root), as the administrator's command would.
fn really(argv: &[String]) -> Output {
    let out = std::process::Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
    Output::new(out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

/// An environment folder: `web/documents` (live, with a file), a staged tree beside web/ with a link
/// inside, a link to a file outside, a nested folder; and a secret file outside the environment.
struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    web: PathBuf,
    stage: PathBuf,
    aside: PathBuf,
    secret: PathBuf,
}

fn env(stage_name: &str) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let root = base.join("apps/secours");
    let web = root.join("web");
    fs::create_dir_all(web.join("documents")).unwrap();
    fs::write(web.join("documents/ancien.pdf"), b"old").unwrap();
    fs::create_dir_all(base.join("outside")).unwrap();
    let secret = base.join("outside/secret.txt");
    fs::write(&secret, b"secret").unwrap();
    let stage = root.join(stage_name);
    fs::create_dir_all(stage.join("documents/sub")).unwrap();
    fs::write(stage.join("documents/a.pdf"), b"a").unwrap();
    fs::write(stage.join("documents/sub/b.pdf"), b"b").unwrap();
    std::os::unix::fs::symlink("a.pdf", stage.join("documents/inside")).unwrap();
    std::os::unix::fs::symlink(&secret, stage.join("documents/outside")).unwrap();
    let aside = root.join(".secours-previous/x/media");
    fs::create_dir_all(&aside).unwrap();
    Env {
        _tmp: tmp,
        root,
        web,
        stage,
        aside,
        secret,
    }
}

impl Env {
    /// The restore's set-aside and swap for `documents`, with the staged folder given to the owner first.
    fn swap_ops(&self) -> Vec<AdminOp> {
        vec![
            AdminOp::Chown {
                path: self.stage.join("documents"),
            },
            AdminOp::Move {
                from: self.web.join("documents"),
                to: self.aside.join("documents"),
            },
            AdminOp::Move {
                from: self.stage.join("documents"),
                to: self.web.join("documents"),
            },
        ]
    }

    fn swapped(&self) -> bool {
        self.web.join("documents/a.pdf").is_file()
            && self.aside.join("documents/ancien.pdf").is_file()
            && !self.stage.join("documents").exists()
    }
}

fn assert_owned_by(root: &Path, uid: u32, gid: u32) {
    for p in all_entries(root) {
        let m = fs::symlink_metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (uid, gid), "{}", p.display());
    }
}

// Guards root's own path: every entry and links themselves change owner, never a link's target, and the
// folders move; no command is run.
#[test]
fn as_root_everything_is_done_in_process_and_links_are_never_followed() {
    if !is_root() {
        return;
    }
    let e = env(".secours-staging-1");
    let via = run_admin_ops(&e.swap_ops(), &daemon(), &e.root, &NoRunner, &root_privileges()).unwrap();
    assert_eq!(via, None);
    assert!(e.swapped());
    assert_owned_by(&e.web.join("documents"), 1, 1);
    let secret = fs::metadata(&e.secret).unwrap();
    assert_eq!((secret.uid(), secret.gid()), (0, 0));
    // Done again, there is nothing left to do, and removing what is gone is not an error.
    let again = [
        AdminOp::Chown {
            path: e.web.join("documents"),
        },
        AdminOp::Remove {
            path: e.stage.join("documents"),
        },
    ];
    run_admin_ops(&again, &daemon(), &e.root, &NoRunner, &root_privileges()).unwrap();
}

// Guards the one check that keeps `chown -R`, `mv` and `rm -rf` away from the rest of the disk.
#[test]
fn any_path_outside_the_environment_is_refused_before_anything_is_done() {
    let e = env("stage");
    let owner = daemon();
    let base = e.root.parent().unwrap().parent().unwrap().to_path_buf();
    let outside = [
        e.secret.clone(),
        e.root.clone(),
        e.root.join("stage/../../secours/web"),
        e.web.join("../../../outside"),
        PathBuf::from("/"),
        PathBuf::from("relative/path"),
        base.join("apps/secours-old/x"),
    ];
    fs::create_dir_all(base.join("apps/secours-old/x")).unwrap();
    for path in outside {
        for op in [
            AdminOp::Remove { path: path.clone() },
            AdminOp::Chown { path: path.clone() },
            AdminOp::Move {
                from: e.web.join("documents"),
                to: path.clone(),
            },
        ] {
            // Placed after a harmless first operation: nothing at all may run.
            let ops = [
                AdminOp::Chown {
                    path: e.stage.join("documents"),
                },
                op,
            ];
            let err = run_admin_ops(&ops, &owner, &e.root, &NoRunner, &not_root(Os::Linux, false, false)).unwrap_err();
            assert!(
                matches!(err, OwnerError::NotInside { .. } | OwnerError::Walk { .. }),
                "{}: {err:?}",
                path.display()
            );
        }
    }
    // A path is judged by where it really is: through this link it is outside the environment.
    std::os::unix::fs::symlink(&base, e.root.join("back")).unwrap();
    let ops = [AdminOp::Remove {
        path: e.root.join("back/outside"),
    }];
    let err = run_admin_ops(&ops, &owner, &e.root, &NoRunner, &not_root(Os::Linux, false, false)).unwrap_err();
    assert!(matches!(err, OwnerError::NotInside { .. }), "{err:?}");
    assert!(err.to_string().contains("Nothing was changed"), "{err}");
    assert!(e.secret.is_file() && e.web.join("documents/ancien.pdf").is_file());
}

// Guards `sudo -n`: one command per operation, exactly as the sudoers rule allows them; nothing asked.
#[test]
fn without_root_sudo_runs_each_fixed_command_and_their_effect_is_checked() {
    if !is_root() {
        return;
    }
    let e = env(".secours-staging-é x");
    let fake = Fake::new(|argv: &[String]| {
        assert_eq!(argv[..2], ["/usr/bin/sudo", "-n"]);
        really(&argv[2..])
    });
    // The request Secours, not root, sends once refused the first operation (the test itself is root).
    let via = admin_request(&e.swap_ops(), &daemon(), &fake, &not_root(Os::Linux, true, true)).unwrap();
    assert_eq!(via, Via::Sudo);
    let d = |p: &Path| p.to_str().unwrap().to_string();
    let expected: Vec<Vec<String>> = vec![
        vec![
            "/usr/bin/sudo".into(),
            "-n".into(),
            "/bin/chown".into(),
            "-R".into(),
            "-P".into(),
            "daemon:daemon".into(),
            d(&e.stage.join("documents")),
        ],
        vec![
            "/usr/bin/sudo".into(),
            "-n".into(),
            "/bin/mv".into(),
            "-n".into(),
            "-T".into(),
            "--".into(),
            d(&e.web.join("documents")),
            d(&e.aside.join("documents")),
        ],
        vec![
            "/usr/bin/sudo".into(),
            "-n".into(),
            "/bin/mv".into(),
            "-n".into(),
            "-T".into(),
            "--".into(),
            d(&e.stage.join("documents")),
            d(&e.web.join("documents")),
        ],
    ];
    assert_eq!(fake.calls.into_inner(), expected);
    assert!(e.swapped());
    assert_owned_by(&e.web.join("documents"), 1, 1);
    assert_eq!(fs::metadata(&e.secret).unwrap().uid(), 0);
}

// Guards "asked once": without a sudo rule, the desktop's pkexec runs the whole script in one request,
// through a real shell (quoting included).
#[test]
fn without_a_sudo_rule_pkexec_runs_the_whole_script_once() {
    if !is_root() {
        return;
    }
    let e = env(".secours-staging-it's \"$x\"");
    let fake = Fake::new(|argv: &[String]| {
        if argv[0] == "/usr/bin/sudo" {
            return Output::new(1, "", "sudo: a password is required\n");
        }
        assert_eq!(argv[..3], ["/usr/bin/pkexec", "/bin/sh", "-c"]);
        really(&argv[1..])
    });
    let ops = e.swap_ops();
    let via = admin_request(&ops, &daemon(), &fake, &not_root(Os::Linux, true, true)).unwrap();
    assert_eq!(via, Via::Pkexec);
    let calls = fake.calls.into_inner();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let argvs: Vec<Vec<String>> = ops
        .iter()
        .map(|op| op.argv(Os::Linux, "daemon:daemon").unwrap())
        .collect();
    assert_eq!(calls[1][3], sh_script(&argvs));
    assert!(e.swapped());
    assert_owned_by(&e.web.join("documents"), 1, 1);
}

/// The administrator request alone (the tests run as root, whose own attempt would succeed): what
/// [`run_admin_ops`] sends once Secours, not root, was refused an operation.
fn admin_only(ops: &[AdminOp], runner: &dyn CommandRunner, privileges: &Privileges) -> OwnerError {
    admin_request(ops, &daemon(), runner, privileges).unwrap_err()
}

#[test]
fn without_rights_or_a_desktop_the_error_gives_the_commands() {
    let e = env("stage it's");
    let ops = [AdminOp::Chown {
        path: e.stage.join("documents"),
    }];
    let fake = Fake::new(|_: &[String]| Output::new(1, "", "sudo: a password is required\n"));
    let err = admin_only(&ops, &fake, &not_root(Os::Linux, true, false));
    assert_eq!(fake.calls.into_inner().len(), 1);
    let expected = format!(
        "sudo /bin/chown -R -P daemon:daemon '{}'",
        e.stage.join("documents").display().to_string().replace('\'', r"'\''")
    );
    match &err {
        OwnerError::NeedsAdmin { command, .. } => assert_eq!(*command, expected),
        other => panic!("expected NeedsAdmin, got {other:?}"),
    }
    assert!(err.to_string().contains(&expected), "{err}");
}

#[test]
fn a_dismissed_password_dialog_is_declined_and_not_asked_again() {
    let e = env("stage");
    let fake = Fake::new(|argv: &[String]| {
        if argv[0] == "/usr/bin/sudo" {
            return Output::new(
                1,
                "",
                "Sorry, user pierre is not allowed to execute '/bin/chown' as root.\n",
            );
        }
        Output::new(126, "", "Error executing command as another user: Request dismissed")
    });
    let err = admin_only(&e.swap_ops(), &fake, &not_root(Os::Linux, true, true));
    assert!(matches!(err, OwnerError::Declined { .. }), "{err:?}");
    assert_eq!(
        fake.calls.into_inner().len(),
        2,
        "sudo, then one dialog, and nothing after a refusal"
    );
    assert!(e.web.join("documents/ancien.pdf").is_file());
}

// Guards the macOS request (built and judged on Linux: only the program differs).
#[test]
fn on_macos_one_administrator_dialog_runs_the_script_and_a_cancel_is_declined() {
    let e = env("Sauvegarde \"du\" $jour");
    let fake = Fake::new(|argv: &[String]| {
        if argv[0] == "/usr/bin/sudo" {
            return Output::new(1, "", "sudo: a password is required\n");
        }
        Output::new(1, "", "0:180: execution error: User canceled. (-128)\n")
    });
    let ops = e.swap_ops();
    let err = admin_only(&ops, &fake, &not_root(Os::MacOs, false, false));
    let argvs: Vec<Vec<String>> = ops
        .iter()
        .map(|op| op.argv(Os::MacOs, "daemon:daemon").unwrap())
        .collect();
    let calls = fake.calls.into_inner();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1],
        vec![
            "/usr/bin/osascript".to_string(),
            "-e".into(),
            applescript_batch(&sh_script(&argvs), "daemon:daemon")
        ]
    );
    let msg = err.to_string();
    assert!(matches!(err, OwnerError::Declined { .. }), "{err:?}");
    assert!(msg.contains("password was not given"), "{msg}");
    assert!(msg.contains("sudo /usr/sbin/chown -R -h daemon:daemon"), "{msg}");
}

// Guards the check after a request: a command that "succeeds" without doing anything is caught.
#[test]
fn a_request_that_did_nothing_is_caught() {
    let e = env("stage");
    let fake = Fake::new(|_: &[String]| Output::new(0, "", ""));
    let err = admin_only(&e.swap_ops(), &fake, &not_root(Os::Linux, false, false));
    assert!(matches!(err, OwnerError::AdminFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("it finished, but"), "{err}");
}
