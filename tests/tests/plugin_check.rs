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
