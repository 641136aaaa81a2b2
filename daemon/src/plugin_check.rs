//! `m2mhald --check-plugin FILE`: the checks the daemon makes before it uses a plugin, run by hand
//! on one file, with what the plugin declares and every rule it breaks printed for its author or
//! an administrator.
//!
//! The plugin is loaded the way the daemon loads it, by a short-lived worker process
//! ([`plugin_host::check`]), so a plugin that crashes whoever loads it is reported with the signal,
//! not a crash of the checker.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use m2mhal_plugin_api::{DriverDescription, PanicStrategy};

use crate::plugin_file::PluginFile;
use crate::plugin_host;

/// What the check found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// What the plugin declares, one fact a line (empty if it could not be loaded).
    pub declared: Vec<String>,
    /// Every rule it breaks; the daemon refuses it or never uses it as meant.
    pub problems: Vec<String>,
    /// What was not checked, and why.
    pub notes: Vec<String>,
}

impl Verdict {
    /// Whether the plugin breaks no rule.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report, as printed.
    pub fn report(&self, path: &Path) -> String {
        let mut text = format!("plugin: {}\n", path.display());
        for line in &self.declared {
            let _ = writeln!(text, "{line}");
        }
        for note in &self.notes {
            let _ = writeln!(text, "note: {note}");
        }
        for problem in &self.problems {
            let _ = writeln!(text, "problem: {problem}");
        }
        text.push_str(if self.passed() {
            "ok: the daemon loads this plugin\n"
        } else {
            "FAILED: fix the problems above\n"
        });
        text
    }
}

/// Checks the plugin file at `path`, prints the report and returns the exit code: success when
/// it breaks no rule, failure otherwise.
pub fn run(path: &Path) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("m2mhald: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let verdict = runtime.block_on(check(path));
    print!("{}", verdict.report(path));
    if verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs every check on the plugin file at `path`.
pub async fn check(path: &Path) -> Verdict {
    let mut verdict = Verdict::default();
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    if !plugin_host::is_plugin_file_name(file_name) {
        verdict.problems.push(format!(
            "the file name {file_name:?} is not libm2mhal_driver_<name>.so (<name> of letters, \
             digits, '_' and '-'): the daemon never opens it"
        ));
    }
    let file = match PluginFile::open(path) {
        Ok(file) => file,
        Err(e) => {
            verdict.problems.push(format!("cannot use it: {e}"));
            return verdict;
        }
    };
    check_ownership(path, &mut verdict);
    let description = match plugin_host::check(&file).await {
        Ok(description) => description,
        Err(e) => {
            verdict.problems.push(format!("the daemon refuses it: {e}"));
            return verdict;
        }
    };
    verdict.declared = declarations(&description);
    if let Some(file_driver) = plugin_host::file_driver_name(path)
        && file_driver != description.name
    {
        verdict.problems.push(format!(
            "its driver name {:?} is not the {file_driver:?} of its file name: `driver = {:?}` \
             selects it but `isolated_drivers = [{file_driver:?}]` isolates it; name the file \
             libm2mhal_driver_{}.so",
            description.name, description.name, description.name
        ));
    }
    verdict
}

/// The daemon, run as root, loads only root-owned plugins in root-owned directories that nobody
/// else can write: checked the same way when the checker runs as root.
fn check_ownership(path: &Path, verdict: &mut Verdict) {
    if !nix::unistd::geteuid().is_root() {
        verdict.notes.push(
            "ownership not checked: the daemon checks it when it runs as root, so run this as root"
                .into(),
        );
        return;
    }
    let directory = path.parent().filter(|dir| !dir.as_os_str().is_empty());
    let directory = directory.unwrap_or(Path::new("."));
    for (what, path, is_dir) in [("plugin", path, false), ("its directory", directory, true)] {
        if let Err(why) = plugin_host::check_root_only(path, is_dir) {
            verdict.problems.push(format!(
                "{what} {}: {why}; the daemon, run as root, refuses it",
                path.display()
            ));
        }
    }
}

/// What the plugin declares, one fact a line.
fn declarations(description: &DriverDescription) -> Vec<String> {
    let kinds: Vec<&str> = description.kinds.iter().map(|kind| kind.as_str()).collect();
    let mut lines = vec![
        format!("driver: {} {}", description.name, description.version),
        format!("kinds: {}", kinds.join(", ")),
        match description.abi_minor {
            Some(_) => format!("abi: {}", description.abi()),
            None => format!(
                "abi: {} (not declared: a C plugin, or built before ABI v1.1)",
                description.abi()
            ),
        },
    ];
    lines.push(match description.panic_strategy {
        Some(PanicStrategy::Unwind) => "panic strategy: unwind".to_owned(),
        Some(PanicStrategy::Abort) => {
            "panic strategy: abort (a panic aborts its process: the daemon runs it only in \
             worker processes)"
                .to_owned()
        }
        None => "panic strategy: not recorded (a C plugin, or built before ABI v1.1)".to_owned(),
    });
    if let Some(baud) = description.default_baud {
        lines.push(format!("default baud: {baud}"));
    }
    for rule in &description.udev {
        let properties: Vec<String> = rule
            .properties
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        lines.push(format!("claims by udev: {}", properties.join(" ")));
    }
    for rule in &description.at {
        lines.push(format!(
            "claims by AT identity: manufacturer {:?}, model {:?}, priority {}",
            rule.manufacturer.as_deref().unwrap_or("any"),
            rule.model.as_deref().unwrap_or("any"),
            rule.priority
        ));
    }
    for rule in &description.ble {
        lines.push(format!("claims by BLE advertisement: {rule:?}"));
    }
    if description.udev.is_empty() && description.at.is_empty() && description.ble.is_empty() {
        lines.push(format!(
            "claims nothing by itself: name it for a port with `driver = {:?}`",
            description.name
        ));
    }
    lines
}
