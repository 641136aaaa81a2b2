//! Debian's real ModemManager against `m2msim modem` under umockdev, on a private system bus
//! (the rig of `m2mhal_tests::modemmanager`): what m2mhal's ModemManager backend builds on.

use m2mhal_tests::modemmanager::*;
use m2mhal_tests::*;
use zbus::OwnedObjectPath;

/// `MM_MODEM_3GPP_REGISTRATION_STATE_HOME`.
const REGISTRATION_HOME: u32 = 1;
/// `MM_SMS_STATE_RECEIVING`: parts of a multipart message are still missing.
const SMS_RECEIVING: u32 = 2;
/// `MM_SMS_STATE_RECEIVED`.
const SMS_RECEIVED: u32 = 3;
/// `MM_SMS_PDU_TYPE_DELIVER`.
const PDU_DELIVER: u32 = 1;
const SENDER: &str = "+4915123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modemmanager_finds_the_simulated_modem_and_registers_it() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let modem = rig.plug_modem().await;
    let conn = rig.mm.conn.clone();
    let imei: String = mm_property(&conn, &modem, MM_MODEM, "EquipmentIdentifier").await;
    assert_eq!(imei, "356938035643809");
    let manufacturer: String = mm_property(&conn, &modem, MM_MODEM, "Manufacturer").await;
    assert_eq!(manufacturer, "Quectel");
    let model: String = mm_property(&conn, &modem, MM_MODEM, "Model").await;
    assert_eq!(model, "EG25");
    let primary: String = mm_property(&conn, &modem, MM_MODEM, "PrimaryPort").await;
    assert_eq!(primary, MODEM_TTY);

    rig.enable(&modem).await;
    let registration: u32 = mm_property(&conn, &modem, MM_MODEM_3GPP, "RegistrationState").await;
    assert_eq!(registration, REGISTRATION_HOME);
    let operator: String = mm_property(&conn, &modem, MM_MODEM_3GPP, "OperatorName").await;
    assert_eq!(operator, "SIMNET");
    // The simulator's +CSQ: 20 is 20/31 of the scale.
    let (quality, _recent): (u32, bool) =
        wait_for_mm_property(&conn, &modem, MM_MODEM, "SignalQuality", |(quality, _)| {
            *quality > 0
        })
        .await;
    assert_eq!(quality, 20 * 100 / 31);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_from_the_simulator_arrives_in_modemmanager_and_multipart_assembled() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    let conn = rig.mm.conn.clone();
    let mut added = messages_added(&conn, &modem).await;

    rig.sim
        .ok(&format!("@0 sms {SENDER} hello from the network"))
        .await;
    let sms = next_message(&mut added).await;
    let state =
        wait_for_mm_property(&conn, &sms, MM_SMS, "State", |s: &u32| *s == SMS_RECEIVED).await;
    assert_eq!(state, SMS_RECEIVED);
    let text: String = mm_property(&conn, &sms, MM_SMS, "Text").await;
    assert_eq!(text, "hello from the network");
    let number: String = mm_property(&conn, &sms, MM_SMS, "Number").await;
    assert_eq!(number, SENDER);
    let pdu_type: u32 = mm_property(&conn, &sms, MM_SMS, "PduType").await;
    assert_eq!(pdu_type, PDU_DELIVER);

    // Two parts, the second a moment later, as a network delivers them.
    let long_text = "a message too long for one part. ".repeat(6);
    let long_text = long_text.trim_end();
    rig.sim
        .ok(&format!("@0 sms-stepwise {SENDER} {long_text}"))
        .await;
    let multipart = next_message(&mut added).await;
    let state: u32 = mm_property(&conn, &multipart, MM_SMS, "State").await;
    assert_eq!(state, SMS_RECEIVING, "one part of two is in");
    rig.sim.ok("@0 next-part").await;
    wait_for_mm_property(&conn, &multipart, MM_SMS, "State", |s: &u32| {
        *s == SMS_RECEIVED
    })
    .await;
    let text: String = mm_property(&conn, &multipart, MM_SMS, "Text").await;
    assert_eq!(text, long_text);
    let listed: Vec<OwnedObjectPath> = mm_messages(&conn, &modem).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
}

/// The modem's node in the testbed, as m2mhald sees it.
const MODEM_NODE: &str = "/dev/ttyUSB2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_modemmanager_manages_stays_its_own() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    // Enabled, ModemManager holds the port open: from now on any open is somebody else's.
    let mut opens = OpenWatch::new(&[&rig.sim.path(0)]);
    let mut daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    daemon
        .expect_log("ModemManager is on the bus and manages 1 modem(s)")
        .await;
    let refused = daemon.expect_log("not opening its port").await;
    assert!(refused.contains(MODEM_NODE), "{refused}");

    assert!(
        devices_driven_by(&daemon.conn, "cellular").await.is_empty(),
        "m2mhal drives it"
    );
    assert_eq!(
        opens.opened(),
        Vec::<std::path::PathBuf>::new(),
        "m2mhal opened the port"
    );
    let conn = rig.mm.conn.clone();
    let state: i32 = mm_property(&conn, &modem, MM_MODEM, "State").await;
    assert_eq!(state, MM_STATE_REGISTERED, "ModemManager still has it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mode_off_m2mhal_serves_the_modem_itself_and_never_asks_modemmanager() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    // ModemManager runs, but is never told about the modem (as for a modem it ignores).
    rig.usb.ok(&format!("add-modem {}", rig.sim.path(0))).await;
    let mut daemon =
        Daemon::start_with_env(&rig.bus, "[modemmanager]\nmode = \"off\"\n", &rig.usb.env()).await;
    let path = wait_for_device(&daemon.conn, MODEM_NODE, "ready").await;
    let id: String = property(&daemon.conn, &path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809");
    let lines = daemon.log_until("is initializing").await;
    let asked: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("ModemManager"))
        .collect();
    assert!(asked.is_empty(), "m2mhald followed ModemManager: {asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_takes_the_modem_from_modemmanager_and_gives_it_back_on_exit() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let modem = rig.plug_modem().await;
    rig.enable(&modem).await;
    let conn = rig.mm.conn.clone();
    let mut added = interfaces_added(&conn).await;
    let mut removed = interfaces_removed(&conn).await;

    let mut daemon = Daemon::start_with_env(
        &rig.bus,
        "[modemmanager]\nown = [\"imei:356938035643809\"]\n",
        &rig.usb.env(),
    )
    .await;
    daemon
        .expect_log("took imei:356938035643809 from ModemManager")
        .await;
    object_gone(&mut removed, &modem).await;
    let path = wait_for_device(&daemon.conn, MODEM_NODE, "ready").await;
    let id: String = property(&daemon.conn, &path, DEVICE, "Id").await;
    assert_eq!(id, "imei:356938035643809");
    let driver: String = property(&daemon.conn, &path, DEVICE, "Driver").await;
    assert_eq!(driver, "cellular", "served directly");

    // m2mhald leaves the bus: ModemManager ends the inhibition and takes the modem again.
    daemon.stop().await;
    let back = next_object_with(&mut added, MM_MODEM).await;
    let imei: String = mm_property(&conn, &back, MM_MODEM, "EquipmentIdentifier").await;
    assert_eq!(imei, "356938035643809");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_plugged_in_while_both_run_is_left_to_modemmanager() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    let mut daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    daemon
        .expect_log("ModemManager is on the bus and manages 0 modem(s)")
        .await;
    // m2mhald sees the udev event at once, ModemManager exports the modem seconds later.
    let modem = rig.plug_modem().await;
    let lines = daemon.log_until("not opening its port").await;
    let opened: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("opening serial port"))
        .collect();
    assert!(opened.is_empty(), "m2mhald opened the port: {opened:?}");
    assert!(
        devices_driven_by(&daemon.conn, "cellular").await.is_empty(),
        "m2mhal drives it"
    );
    let imei: String = mm_property(&rig.mm.conn, &modem, MM_MODEM, "EquipmentIdentifier").await;
    assert_eq!(imei, "356938035643809");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_modemmanager_is_away_its_modem_stays_its_own() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    rig.plug_modem().await;
    let mut daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    daemon.expect_log("not opening its port").await;

    // ModemManager stops (as in a restart); the modem's port shows up again meanwhile.
    let conn = daemon.conn.clone();
    rig.mm.stop().await;
    daemon.expect_log("ModemManager left the bus").await;
    rig.usb.ok("change-modem").await;
    let lines = daemon.log_until("not opening its port").await;
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("opening serial port")),
        "m2mhald took the port while ModemManager was away: {lines:?}"
    );
    assert!(devices_driven_by(&conn, "cellular").await.is_empty());
}
