//! The SDK examples (examples/rust-sensor, examples/c-sensor) built the way a vendor builds them:
//! copied out of the tree, against the packaged `m2mhal-plugin-api` crate or the header and
//! pkg-config file `make install-dev` installs, then loaded by the real m2mhald, which serves the
//! readings of a scripted TS-1 thermometer on a pty.

use std::path::{Path, PathBuf};
use std::process::Command;

use m2mhal_tests::scripted_pty::ScriptedPty;
use m2mhal_tests::*;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Runs `command` and fails the test with its output unless it succeeds.
fn run(command: &mut Command) {
    let output = command.output().expect("run the build command");
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Copies the regular files of `from` (recursively) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the example") {
        let entry = entry.expect("dir entry");
        let kind = entry.file_type().expect("file type");
        let name = entry.file_name();
        // What a vendor's copy would not have: a local build's leftovers.
        if name == "target" || name == "Cargo.lock" || name.to_string_lossy().ends_with(".so") {
            continue;
        }
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy a file");
        }
    }
}

/// Builds examples/rust-sensor out of tree: plain copies of plugin-api and of the testkit with the
/// host core it runs drivers in (as a vendor copies or vendors the SDK: no workspace around them to
/// inherit anything from) and of the example, which finds them at `../../plugin-api` and
/// `../../drivers/testkit` as in the tree; the copy builds and runs its transcript tests, written
/// with the testkit.
/// `profile` is `dev`, or `panic-abort`: the same with `panic = "abort"`, as a vendor's profile
/// might say. Returns the plugin.
fn build_rust_example(dir: &Path, profile: &str) -> PathBuf {
    for sdk_crate in ["plugin-api", "host-core", "drivers/testkit"] {
        copy_tree(&root().join(sdk_crate), &dir.join(sdk_crate));
    }
    let example = dir.join("examples/rust-sensor");
    copy_tree(&root().join("examples/rust-sensor"), &example);
    // One target directory for the examples' builds, inside the workspace's (never a second
    // one elsewhere); not the workspace's own, whose plugins every other test installs.
    let examples_target = root().join("target/sdk-examples");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let steps: &[&str] = if profile == "dev" {
        &["build", "test"]
    } else {
        &["build"]
    };
    for step in steps {
        // Each run builds the copies at new paths, so the example and plugin-api are compiled
        // anew: without debug info and incremental state that costs a few MB, not hundreds.
        run(Command::new(&cargo)
            .current_dir(&example)
            .args([step, "--offline", "--profile", profile])
            .args(["--config", "profile.dev.debug=false"])
            .args(["--config", "profile.panic-abort.inherits=\"dev\""])
            .args(["--config", "profile.panic-abort.panic=\"abort\""])
            .env("CARGO_TARGET_DIR", &examples_target)
            .env("CARGO_INCREMENTAL", "0"));
    }
    let out_dir = if profile == "dev" { "debug" } else { profile };
    examples_target
        .join(out_dir)
        .join("libm2mhal_driver_tempsensor.so")
}

/// Builds examples/c-sensor out of tree with its Makefile, against the SDK `make install-dev`
/// staged in `dir/sdk`. Returns the plugin.
fn build_c_example(dir: &Path) -> PathBuf {
    let stage = dir.join("sdk");
    run(Command::new("make")
        .current_dir(root())
        .arg("install-dev")
        .arg(format!("DESTDIR={}", stage.display()))
        .arg("PREFIX=/usr"));
    let example = dir.join("c-sensor");
    copy_tree(&root().join("examples/c-sensor"), &example);
    run(Command::new("make")
        .current_dir(&example)
        .env("PKG_CONFIG_PATH", stage.join("usr/share/pkgconfig"))
        .env("PKG_CONFIG_SYSROOT_DIR", &stage));
    example.join("libm2mhal_driver_tempsensor_c.so")
}

/// Installs `plugin` as driver `driver` in a daemon's plugin directory, with `extra` config, and
/// checks that the daemon loads it, identifies the scripted thermometer and serves its readings
/// and calls. Returns the daemon's log lines until it loaded the plugin, that line last.
async fn assert_the_daemon_serves_the_thermometer(
    plugin: &Path,
    driver: &str,
    extra: &str,
) -> Vec<String> {
    let bus = TestBus::start().await;
    let thermometer = ScriptedPty::start(&[("ID?", "SN=AC1234"), ("READ?", "T=21.5")]);
    let dir = daemon_dir();
    std::fs::copy(
        plugin,
        dir.path()
            .join("plugins")
            .join(format!("libm2mhal_driver_{driver}.so")),
    )
    .expect("install the plugin");
    let config = format!(
        "{extra}\n[[port]]\npath = \"{}\"\ndriver = \"{driver}\"\n\
         [drivers.{driver}]\npoll_ms = 60000\n",
        thermometer.path()
    );
    let mut daemon = Daemon::start_in(&bus, dir.path(), &config).await;
    let lines = daemon.log_until(&format!("loaded driver {driver}")).await;
    let conn = daemon.conn.clone();
    let path = wait_for_device_id(&conn, &format!("{driver}:AC1234"), "ready").await;
    let readings = wait_for_readings(&conn, &path, |r| r.contains_key("temperature")).await;
    assert_eq!(readings["temperature"], 21.5);
    let serial: String = property(&conn, &path, DEVICE, "SerialNumber").await;
    assert_eq!(serial, "AC1234");
    let kind: String = property(&conn, &path, DEVICE, "Kind").await;
    assert_eq!(kind, "sensor");
    let refreshed: Result<(), _> = call(&conn, &path, SENSOR, "Refresh", &()).await;
    assert_eq!(refreshed, Ok(()));
    let answer: String = call(&conn, &path, DEVICE, "Command", &("READ?", 0u32))
        .await
        .unwrap();
    assert_eq!(answer, "T=21.5");
    assert!(daemon.stop().await.success());
    lines
}

/// What `m2mhald --check-plugin` prints about `plugin`.
fn check_plugin_report(plugin: &Path) -> String {
    let checked = Command::new(binary("m2mhald"))
        .arg("--check-plugin")
        .arg(plugin)
        .output()
        .expect("run m2mhald --check-plugin");
    String::from_utf8_lossy(&checked.stdout).into_owned()
}

/// The last of `lines`: the one a [`Daemon::log_until`] waited for.
fn last(lines: &[String]) -> &str {
    lines.last().map(String::as_str).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_example_builds_out_of_tree_and_serves_a_thermometer() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = build_rust_example(dir.path(), "dev");
    // A third party's driver runs in worker processes by default ...
    let lines = assert_the_daemon_serves_the_thermometer(&plugin, "tempsensor", "").await;
    assert!(
        last(&lines).contains("tempsensor 0.1.0 (isolated"),
        "{lines:?}"
    );
    // The daemon logs the ABI minor version the plugin declares.
    assert!(last(&lines).contains("abi=v1.1"), "{lines:?}");
    // ... and in the daemon when the administrator trusts it.
    let trusted = "in_process_drivers = [\"tempsensor\"]";
    let lines = assert_the_daemon_serves_the_thermometer(&plugin, "tempsensor", trusted).await;
    assert!(!last(&lines).contains("isolated"), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_example_builds_out_of_tree_and_serves_a_thermometer() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = build_c_example(dir.path());
    let report = check_plugin_report(&plugin);
    assert!(report.contains("abi: v1.1\n"), "{report}");
    let lines = assert_the_daemon_serves_the_thermometer(&plugin, "tempsensor_c", "").await;
    assert!(
        last(&lines).contains("tempsensor_c 0.1.0 (isolated"),
        "{lines:?}"
    );
}

/// `panic = "abort"` in a vendor's profile would turn a driver's panic into an abort of the
/// daemon: the description records it, and the daemon runs such a plugin only in workers, even
/// when `in_process_drivers` trusts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_with_panic_abort_never_runs_in_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = build_rust_example(dir.path(), "panic-abort");
    let report = check_plugin_report(&plugin);
    assert!(report.contains("panic strategy: abort"), "{report}");
    // export_driver! declares the ABI minor version of the SDK the plugin was built with.
    assert!(report.contains("abi: v1.1\n"), "{report}");
    let trusted = "in_process_drivers = [\"tempsensor\"]";
    let lines = assert_the_daemon_serves_the_thermometer(&plugin, "tempsensor", trusted).await;
    assert!(last(&lines).contains("(isolated"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|line| line.contains(r#"built with panic = "abort""#)),
        "{lines:?}"
    );
}

/// What `cargo package` would publish of `package`: its file list.
fn packaged_files(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(root())
        .args(["package", "-p", package, "--list", "--allow-dirty"])
        .arg("--offline")
        .output()
        .expect("run cargo package --list");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What `cargo package` would publish of the SDK crate: the C header ships with it.
#[test]
fn the_sdk_crate_packages_with_its_header_and_readme() {
    let files = packaged_files("m2mhal-plugin-api");
    for file in [
        "include/m2mhal_plugin.h",
        "README.md",
        "src/lib.rs",
        "src/sdk.rs",
    ] {
        assert!(files.iter().any(|line| line == file), "{file} in {files:?}");
    }
}

/// The vendor testkit and the host core it runs drivers in package as standalone crates.
#[test]
fn the_testkit_and_the_host_core_package_with_their_readmes() {
    for (package, main) in [
        ("m2mhal-driver-testkit", "src/host.rs"),
        ("m2mhal-host-core", "src/host.rs"),
    ] {
        let files = packaged_files(package);
        for file in ["README.md", "src/lib.rs", main] {
            assert!(files.iter().any(|line| line == file), "{file} in {files:?}");
        }
        assert!(
            !files.iter().any(|line| line.starts_with("tests/")),
            "{files:?}"
        );
    }
}
