//! A simulated cellular modem through the Device, Signal and Manager interfaces and the
//! ObjectManager: every value comes from the simulator, every change is announced.

use std::collections::HashMap;

use m2mhal_contract::DEVICES_PATH_PREFIX;
use m2mhal_tests::*;
use zbus::{OwnedObjectPath, OwnedVariant};

/// The IMEI the tests give the simulated modem (a valid one, not the simulator's default).
const IMEI: &str = "490154203237518";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_properties_come_from_the_modem() {
    let rig = ModemRig::start(&["modem", "--imei", IMEI], "").await;
    let device = properties(rig.conn(), &rig.path, DEVICE).await;
    let text = |name: &str| field::<String>(&device, name);
    assert_eq!(text("Id"), format!("imei:{IMEI}"));
    assert_eq!(text("Kind"), "cellular-modem");
    assert_eq!(text("Driver"), "cellular");
    assert_eq!(text("Manufacturer"), "Quectel");
    assert_eq!(text("Model"), "EG25");
    assert_eq!(text("Revision"), "EG25GGBR07A08M2G");
    assert_eq!(text("SerialNumber"), IMEI);
    assert_eq!(text("Port"), rig.port);
    assert_eq!(text("State"), "ready");
    assert_eq!(text("StateReason"), "");
    let mut capabilities: Vec<String> = field(&device, "Capabilities");
    capabilities.sort();
    assert_eq!(capabilities, ["messaging", "signal"]);
    let max_payload: u32 = property(rig.conn(), &rig.path, MESSAGING, "MaxPayload").await;
    assert_eq!(max_payload, 1200);
    let pending: u32 = property(rig.conn(), &rig.path, MESSAGING, "Pending").await;
    assert_eq!(pending, 0);
    assert!(rig.daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm_signal_comes_from_csq() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    sim.ok("register roaming gsm").await;
    sim.ok("signal 15").await;
    sim.ok("operator Vodafone.de").await;
    let before = unix_now();
    let daemon = Daemon::start(&bus, &port_config(&sim.path(0))).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let signal = properties(&daemon.conn, &path, SIGNAL).await;
    // +CSQ 15 is -113 + 2 * 15 = -83 dBm; Quality maps -113..-51 dBm to 0..100 %.
    assert_eq!(field::<i32>(&signal, "Rssi"), -83);
    assert_eq!(field::<u32>(&signal, "Quality"), 48);
    assert_eq!(field::<String>(&signal, "Technology"), "gsm");
    assert_eq!(field::<String>(&signal, "Registration"), "roaming");
    assert_eq!(field::<String>(&signal, "Operator"), "Vodafone.de");
    let updated_at: u64 = field(&signal, "UpdatedAt");
    assert!(
        (before..=unix_now()).contains(&updated_at),
        "UpdatedAt {updated_at} is not the time of the reading"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lte_signal_has_the_rssi_of_csq_and_the_rsrp_of_cesq() {
    let bus = TestBus::start().await;
    let mut sim = Sim::start(&["modem"], 1).await;
    sim.ok("signal 20 -100").await;
    let daemon = Daemon::start(&bus, &port_config(&sim.path(0))).await;
    let path = wait_for_device(&daemon.conn, &sim.path(0), "ready").await;
    let signal = properties(&daemon.conn, &path, SIGNAL).await;
    // +CSQ 20 is RSSI -113 + 2 * 20 = -73 dBm, and Quality follows it (-113..-51 dBm is 0..100 %).
    assert_eq!(field::<i32>(&signal, "Rssi"), -73);
    assert_eq!(field::<u32>(&signal, "Quality"), 64);
    // RSRP -100 dBm is +CESQ <rsrp> 41 (-100 <= RSRP < -99, TS 27.007); the simulator's <rsrq>
    // 20 is -10 dB. No SINR without vendor commands.
    assert_eq!(field::<i32>(&signal, "Rsrp"), -100);
    assert_eq!(field::<f64>(&signal, "Rsrq"), -10.0);
    assert!(field::<f64>(&signal, "Sinr").is_nan());
    assert_eq!(field::<String>(&signal, "Technology"), "lte");
    assert_eq!(field::<String>(&signal, "Registration"), "home");
    assert_eq!(field::<String>(&signal, "Operator"), "SIMNET");

    // m2mctl names both levels.
    let listed = m2mctl(&bus.address, &["list"]).await;
    assert_eq!(listed.code, Some(0), "{listed:?}");
    assert!(
        listed.stdout.contains("64% (RSSI -73 dBm, RSRP -100 dBm)"),
        "{listed:?}"
    );
    let shown = m2mctl(&bus.address, &["show", &sim.path(0)]).await;
    let lines: Vec<String> = shown
        .stdout
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for line in [
        "Rsrp -100 dBm",
        "Rsrq -10 dB",
        "Rssi -73 dBm",
        "Sinr unknown",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line:?} in {shown:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_changes_are_announced() {
    let mut rig = ModemRig::start(&["modem"], "[drivers.cellular]\nsignal_interval = 1").await;
    let mut changes = properties_changed(rig.conn(), &rig.path).await;

    // Registration changes arrive as +CEREG/+CREG URCs.
    rig.sim.ok("register roaming").await;
    next_property_change::<String>(&mut changes, SIGNAL, "Registration", |r| r == "roaming").await;
    rig.sim.ok("register searching").await;
    next_property_change::<String>(&mut changes, SIGNAL, "Registration", |r| r == "searching")
        .await;
    rig.sim.ok("register home umts").await;
    next_property_change::<String>(&mut changes, SIGNAL, "Technology", |t| t == "umts").await;

    // Signal and operator have no URC: the periodic refresh (every second here) finds them.
    rig.sim.ok("signal 31").await;
    // +CSQ 31 is -51 dBm, the top of the scale.
    next_property_change::<u32>(&mut changes, SIGNAL, "Quality", |q| *q == 100).await;
    let rssi: i32 = property(rig.conn(), &rig.path, SIGNAL, "Rssi").await;
    assert_eq!(rssi, -51);
    rig.sim.ok("operator Telekom.de").await;
    next_property_change::<String>(&mut changes, SIGNAL, "Operator", |o| o == "Telekom.de").await;
    let registration: String = property(rig.conn(), &rig.path, SIGNAL, "Registration").await;
    assert_eq!(registration, "home");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reads_the_signal_now() {
    // No periodic refresh: only Refresh can see the new values.
    let mut rig = ModemRig::start(&["modem"], "[drivers.cellular]\nsignal_interval = 0").await;
    let first: u64 = property(rig.conn(), &rig.path, SIGNAL, "UpdatedAt").await;
    rig.sim.ok("operator Refreshed Net").await;
    rig.sim.ok("register home gsm").await;
    rig.sim.ok("signal 5").await;
    let mut changes = properties_changed(rig.conn(), &rig.path).await;
    let before = unix_now();
    let reply: Result<(), _> = call(rig.conn(), &rig.path, SIGNAL, "Refresh", &()).await;
    reply.expect("Refresh");
    let signal = properties(rig.conn(), &rig.path, SIGNAL).await;
    assert_eq!(field::<String>(&signal, "Operator"), "Refreshed Net");
    // +CSQ 5 is -103 dBm.
    assert_eq!(field::<i32>(&signal, "Rssi"), -103);
    assert_eq!(field::<u32>(&signal, "Quality"), 16);
    let updated_at: u64 = field(&signal, "UpdatedAt");
    assert!(updated_at >= before && updated_at >= first, "{updated_at}");
    next_property_change::<String>(&mut changes, SIGNAL, "Operator", |o| o == "Refreshed Net")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_initialises_the_modem_again() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    assert_eq!(
        rig.sim.status(0).await["echo"],
        false,
        "init turns echo off"
    );
    let answer: String = call(rig.conn(), &rig.path, DEVICE, "Command", &("ATE1", 0u32))
        .await
        .expect("Command ATE1");
    assert!(answer.ends_with("OK"), "{answer:?}");
    assert_eq!(rig.sim.status(0).await["echo"], true);

    let mut changes = properties_changed(rig.conn(), &rig.path).await;
    let reset: Result<(), _> = call(rig.conn(), &rig.path, DEVICE, "Reset", &()).await;
    reset.expect("Reset");
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "initializing").await;
    next_property_change::<String>(&mut changes, DEVICE, "State", |s| s == "ready").await;
    assert_eq!(rig.sim.status(0).await["echo"], false, "init ran again");
    let id: String = property(rig.conn(), &rig.path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_passes_at_lines_through() {
    let mut rig = ModemRig::start(&["modem"], "").await;
    let (conn, path) = (rig.conn().clone(), rig.path.clone());
    let command = |line: &'static str, timeout_ms: u32| {
        let (conn, path) = (conn.clone(), path.clone());
        async move { call::<_, String>(&conn, &path, DEVICE, "Command", &(line, timeout_ms)).await }
    };
    assert_eq!(command("AT+CGSN", 0).await.unwrap(), "356938035643809\nOK");
    rig.sim.ok("signal 7").await;
    assert_eq!(command("AT+CSQ", 5000).await.unwrap(), "+CSQ: 7,99\nOK");
    // A command the modem refuses is an answer, not a D-Bus error.
    let refused = command("AT+NOSUCHTHING", 0).await.unwrap();
    assert!(refused.contains("ERROR"), "{refused:?}");

    for bad in [
        "",
        "   ",
        "AT\r\nAT+CFUN=0",
        "AT+CMGS=\u{1a}",
        "hello modem",
        "ATé",
    ] {
        let result: Result<String, _> = call(&conn, &path, DEVICE, "Command", &(bad, 0u32)).await;
        assert_hal_error(result, "InvalidArgument");
    }
    assert_hal_error(command("AT", 300_001).await, "InvalidArgument");
    // The modem is untouched by the refused lines.
    assert_eq!(rig.sim.status(0).await["cfun"], 1);
    assert_eq!(command("AT", 0).await.unwrap(), "OK");
}

/// The `GetManagedObjects` answer.
type ManagedObjects = HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedVariant>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_manager_announces_a_new_device() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    let conn = &daemon.conn;
    let objects: ManagedObjects = call(
        conn,
        MANAGER_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "GetManagedObjects",
        &(),
    )
    .await
    .unwrap();
    assert!(objects.is_empty(), "{objects:?}");
    assert!(devices(conn).await.is_empty());

    let mut added = subscribe(
        conn,
        "org.freedesktop.DBus.ObjectManager",
        "InterfacesAdded",
    )
    .await;
    let event = tty_event("add", &sim.path(0), &[("ID_M2MHAL_CANDIDATE", "1")]);
    report_kernel_event(conn, &event).await.unwrap();

    type Added = (
        OwnedObjectPath,
        HashMap<String, HashMap<String, OwnedVariant>>,
    );
    let (path, interfaces): Added = next_signal(&mut added, |(_, interfaces): &Added| {
        interfaces.contains_key(DEVICE)
    })
    .await;
    let number = path.as_str().strip_prefix(DEVICES_PATH_PREFIX);
    assert!(number.is_some_and(|n| n.parse::<u32>().is_ok()), "{path}");
    assert_eq!(
        field::<String>(&interfaces[DEVICE], "Id"),
        "imei:356938035643809"
    );
    wait_for_device(conn, &sim.path(0), "ready").await;
    let objects: ManagedObjects = call(
        conn,
        MANAGER_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "GetManagedObjects",
        &(),
    )
    .await
    .unwrap();
    // zbus also lists the bare intermediate node /org/m2mhal/Hal1/Devices, without interfaces.
    let objects: ManagedObjects = objects
        .into_iter()
        .filter(|(_, interfaces)| !interfaces.is_empty())
        .collect();
    assert_eq!(objects.len(), 1, "{objects:?}");
    let interfaces = &objects[&path];
    for interface in [DEVICE, SIGNAL, MESSAGING] {
        assert!(interfaces.contains_key(interface), "{interface} missing");
    }
    assert_eq!(field::<String>(&interfaces[DEVICE], "State"), "ready");
    assert_eq!(field::<String>(&interfaces[DEVICE], "Port"), sim.path(0));
    assert_eq!(field::<u32>(&interfaces[MESSAGING], "MaxPayload"), 1200);
    assert_eq!(devices(conn).await, vec![path]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_property_change_lists_the_new_device() {
    let bus = TestBus::start().await;
    let sim = Sim::start(&["modem"], 1).await;
    let daemon = Daemon::start(&bus, "").await;
    let mut changes = properties_changed(&daemon.conn, MANAGER_PATH).await;
    let event = tty_event("add", &sim.path(0), &[("ID_M2MHAL_DRIVER", "cellular")]);
    report_kernel_event(&daemon.conn, &event).await.unwrap();
    let announced =
        next_property_change::<Vec<OwnedObjectPath>>(&mut changes, MANAGER, "Devices", |_| true)
            .await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced, devices(&daemon.conn).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_reports_version_and_plugins() {
    let bus = TestBus::start().await;
    let daemon = Daemon::start(&bus, "").await;
    let version: String = property(&daemon.conn, MANAGER_PATH, MANAGER, "Version").await;
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let plugins: Vec<HashMap<String, OwnedVariant>> =
        call(&daemon.conn, MANAGER_PATH, MANAGER, "ListPlugins", &())
            .await
            .unwrap();
    // Every driver built in the workspace is installed; look at the cellular one.
    let plugin = plugins
        .iter()
        .find(|p| field::<String>(p, "name") == "cellular")
        .expect("the cellular plugin is listed");
    assert_eq!(
        field::<String>(plugin, "version"),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(field::<u32>(plugin, "abi"), 1);
    assert_eq!(
        field::<String>(plugin, "path"),
        daemon
            .dir
            .join("plugins/libm2mhal_driver_cellular.so")
            .display()
            .to_string()
    );
    assert_eq!(field::<Vec<String>>(plugin, "kinds"), ["cellular-modem"]);
}
