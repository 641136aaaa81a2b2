//! Plugins that kill whoever loads them: each plugin is first loaded by a short-lived worker
//! process, so a truncated library (SIGBUS) or an entry function that aborts (SIGABRT) is refused
//! with one log line naming the file and the signal, and the daemon serves with the others.

use m2mhal_tests::plugin_files::{build_c_plugin, write_truncated};
use m2mhal_tests::*;

/// Starts a daemon in `dir` with one simulated modem, expects the refusal of `file` naming
/// `signal`, and checks that the daemon stayed up and the modem (cellular plugin) gets ready.
async fn assert_refused_while_the_modem_serves(dir: &tempfile::TempDir, file: &str, signal: &str) {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let mut daemon = Daemon::start_in(&bus, dir.path(), &port_config(&sim.path(0))).await;
    let refused = daemon.expect_log(file).await;
    assert!(
        refused.contains("refusing plugin")
            && refused.contains("loading it killed the process that checked it")
            && refused.contains(signal),
        "{refused}"
    );
    wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let plugins: Vec<std::collections::HashMap<String, zbus::OwnedVariant>> =
        call(&daemon.conn, MANAGER_PATH, MANAGER, "ListPlugins", &())
            .await
            .unwrap();
    let names: Vec<String> = plugins.iter().map(|p| field(p, "name")).collect();
    assert!(names.contains(&"cellular".to_owned()), "{names:?}");
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_plugin_is_refused_and_the_others_serve() {
    let dir = daemon_dir();
    let plugins = dir.path().join("plugins");
    write_truncated(
        &plugins.join("libm2mhal_driver_iridium.so"),
        &plugins.join("libm2mhal_driver_truncated.so"),
    );
    assert_refused_while_the_modem_serves(&dir, "libm2mhal_driver_truncated.so", "SIGBUS").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_whose_entry_aborts_is_refused_and_the_others_serve() {
    let dir = daemon_dir();
    build_c_plugin(&dir.path().join("plugins"), "entry_aborts.c", "entryaborts");
    assert_refused_while_the_modem_serves(&dir, "libm2mhal_driver_entryaborts.so", "SIGABRT").await;
}

/// Runs `m2mhald --check-plugin plugin`; returns whether it passed and what it printed.
fn check_plugin(plugin: &std::path::Path) -> (bool, String) {
    let output = std::process::Command::new(binary("m2mhald"))
        .arg("--check-plugin")
        .arg(plugin)
        .output()
        .expect("run m2mhald --check-plugin");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // Exit status 0 when it passes, 1 when it breaks a rule, and no other (no crash).
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
    (output.status.success(), stdout)
}

#[test]
fn check_plugin_prints_what_a_good_plugin_declares() {
    let dir = daemon_dir();
    let (passed, report) = check_plugin(&dir.path().join("plugins/libm2mhal_driver_iridium.so"));
    assert!(passed, "{report}");
    assert!(report.contains("driver: iridium "), "{report}");
    assert!(report.contains("kinds: satellite-terminal"), "{report}");
    assert!(report.contains("claims by AT identity"), "{report}");
    // Recorded by export_driver! (ABI v1.1).
    assert!(report.contains("panic strategy: unwind"), "{report}");
    assert!(report.contains("abi: v1.1\n"), "{report}");
    assert!(
        report.contains("ok: the daemon loads this plugin"),
        "{report}"
    );
}

#[test]
fn check_plugin_names_every_rule_a_plugin_breaks() {
    let dir = daemon_dir();
    let plugins = dir.path().join("plugins");
    build_c_plugin(&plugins, "wrong_abi.c", "wrongabi");
    build_c_plugin(&plugins, "entry_aborts.c", "entryaborts");
    let (passed, report) = check_plugin(&plugins.join("libm2mhal_driver_wrongabi.so"));
    assert!(!passed && report.contains("ABI v99"), "{report}");
    // The plugin kills the process that loads it, not the checker.
    let (passed, report) = check_plugin(&plugins.join("libm2mhal_driver_entryaborts.so"));
    assert!(!passed && report.contains("SIGABRT"), "{report}");
    // isolated_drivers names the file, driver = the table: they must agree.
    let renamed = plugins.join("libm2mhal_driver_satellite.so");
    std::fs::copy(plugins.join("libm2mhal_driver_iridium.so"), &renamed).unwrap();
    let (passed, report) = check_plugin(&renamed);
    assert!(
        !passed && report.contains(r#"its driver name "iridium" is not the "satellite""#),
        "{report}"
    );
    let (passed, report) = check_plugin(&plugins.join("not-a-plugin.so"));
    assert!(
        !passed && report.contains("libm2mhal_driver_<name>.so"),
        "{report}"
    );
}

#[test]
fn check_plugin_checks_ownership_as_the_daemon_does() {
    use std::os::unix::fs::PermissionsExt;
    let dir = daemon_dir();
    let plugin = dir.path().join("plugins/libm2mhal_driver_iridium.so");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (passed, report) = check_plugin(&plugin);
    if nix::unistd::geteuid().is_root() {
        assert!(!passed && report.contains("mode 0666"), "{report}");
    } else {
        assert!(
            passed && report.contains("ownership not checked"),
            "{report}"
        );
    }
}
