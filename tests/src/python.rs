//! The distribution's Python, which runs umockdev and python-dbusmock.

use std::process::Stdio;

/// The distribution's Python, which has the `gi` (umockdev) and `dbusmock` modules; a `python3`
/// found first in `PATH` (pyenv's, say) may lack them.
pub(crate) const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Whether [`SYSTEM_PYTHON`] can import `module`.
pub fn python_has(module: &str) -> bool {
    std::process::Command::new(SYSTEM_PYTHON)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
