//! Linux: asking for root with polkit's password dialog, `pkexec /bin/sh -c <script>`, once for a whole
//! script. Only offered when `pkexec` is installed and a graphical session is there to show the dialog.

use std::path::Path;

/// polkit's `pkexec`.
pub const PKEXEC: &str = "/usr/bin/pkexec";

/// The shell that runs the script as root.
const SH: &str = "/bin/sh";

/// Whether `pkexec` is installed.
pub fn installed() -> bool {
    Path::new(PKEXEC).exists()
}

/// Whether a graphical session is there to show `pkexec`'s dialog (`DISPLAY` or `WAYLAND_DISPLAY` set).
pub fn desktop() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// The command that runs the POSIX shell `script` as root after one polkit dialog.
pub fn administrator_argv(script: &str) -> Vec<String> {
    vec![PKEXEC.into(), SH.into(), "-c".into(), script.into()]
}
