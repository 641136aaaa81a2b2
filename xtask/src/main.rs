//! `xtask generate DIR`: writes the man pages of m2mhald, m2mhal-mqtt, m2mctl and m2msim and the shell
//! completions of m2mctl, made from their clap command lines, into `DIR` (`make` runs it; `make
//! install` installs what it wrote):
//!
//! - `DIR/man/man8/m2mhald.8` and `m2mhal-mqtt.8`, `DIR/man/man1/m2mctl.1` and
//!   `m2mctl-<subcommand>.1` pages,
//!   `DIR/man/man1/m2msim.1` and `m2msim-<kind>.1` pages;
//! - `DIR/completions/m2mctl.bash`, `_m2mctl` (zsh) and `m2mctl.fish`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// What the program is asked to do.
#[derive(Debug, clap::Parser)]
#[command(name = "xtask")]
enum Task {
    /// Write the man pages and shell completions into DIR.
    Generate {
        /// The output directory (created; its man/ and completions/ are written anew).
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let Task::Generate { dir } = <Task as clap::Parser>::parse();
    match generate(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// Writes every man page and completion file under `dir`.
fn generate(dir: &Path) -> std::io::Result<()> {
    // No page of a subcommand that is gone stays behind to be installed.
    for old in [dir.join("man"), dir.join("completions")] {
        match std::fs::remove_dir_all(&old) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    let man1 = dir.join("man/man1");
    let man8 = dir.join("man/man8");
    let completions = dir.join("completions");
    for dir in [&man1, &man8, &completions] {
        std::fs::create_dir_all(dir)?;
    }
    write_man_page(m2mhald::cli::Args::command(), "8", &man8)?;
    write_man_page(m2mhal_mqtt::cli::Args::command(), "8", &man8)?;
    write_man_pages(m2mctl::cli::Cli::command(), &man1)?;
    write_man_pages(m2msim::cli::command(), &man1)?;
    write_completions(m2mctl::cli::Cli::command(), &completions)
}

/// `NAME.SECTION` for a command without subcommands.
fn write_man_page(command: clap::Command, section: &str, dir: &Path) -> std::io::Result<()> {
    let name = command.get_name().to_owned();
    let man = clap_mangen::Man::new(command).section(section);
    let mut page = Vec::new();
    man.render(&mut page)?;
    std::fs::write(dir.join(format!("{name}.{section}")), page)
}

/// `NAME.1` and a `NAME-SUBCOMMAND.1` page for every subcommand, nested ones included.
fn write_man_pages(command: clap::Command, dir: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(command, dir)
}

/// The bash, zsh and fish completions of `command`, in the file names each shell looks for.
fn write_completions(mut command: clap::Command, dir: &Path) -> std::io::Result<()> {
    let name = command.get_name().to_owned();
    for (shell, file) in [
        (Shell::Bash, format!("{name}.bash")),
        (Shell::Zsh, format!("_{name}")),
        (Shell::Fish, format!("{name}.fish")),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, &name, &mut script);
        std::fs::write(dir.join(file), script)?;
    }
    Ok(())
}
