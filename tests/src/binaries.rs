//! The workspace's built binaries and plugins, found in its target directory.

use std::path::PathBuf;

/// The workspace's target directory for this profile (where the binaries and plugins are).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // Tests live in target/<profile>/deps/, binaries such as the benchmark in target/<profile>/.
    let dir = exe.parent().expect("target directory");
    if dir.ends_with("deps") {
        dir.parent().expect("target directory").to_owned()
    } else {
        dir.to_owned()
    }
}

/// Path of a workspace binary, checked to exist.
pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}
