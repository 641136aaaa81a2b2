//! A modem served through ModemManager follows the interfaces ModemManager gives it (issue 12):
//! with the real ModemManager managing a simulated modem whose SIM wants its PIN, MM exports
//! the modem's Messaging and Location interfaces only once the SIM is unlocked. The m2mhal
//! device, published before that, gains the `location` capability and the Location interface
//! then (with the ObjectManager's `InterfacesAdded`), and its Messaging interface, which refused
//! SMS by name while MM gave none, sends them through MM's.

use std::collections::HashMap;

use m2mhal_contract::iface::LOCATION;
use m2mhal_tests::modemmanager::*;
use m2mhal_tests::*;
use zbus::OwnedObjectPath;
use zbus::zvariant::OwnedVariant;

const ID: &str = "imei:356938035643809";
const PEER: &str = "+4915123456789";
/// The simulated SIM's PIN (`m2msim`'s).
const SIM_PIN: &str = "1234";
/// `org.freedesktop.ModemManager1.Sim`.
const MM_SIM: &str = "org.freedesktop.ModemManager1.Sim";
/// The body of `InterfacesAdded`.
type Added = (
    OwnedObjectPath,
    HashMap<String, HashMap<String, OwnedVariant>>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interfaces_modemmanager_adds_after_the_sim_is_unlocked_appear_on_the_device() {
    let Some(mut rig) = MmRig::start().await else {
        return;
    };
    rig.sim.ok("@0 sim pin").await;
    let modem = rig.plug_modem().await;
    let daemon = Daemon::start_with_env(&rig.bus, "", &rig.usb.env()).await;
    let conn = &daemon.conn;

    // Locked: ModemManager exports the modem without Messaging or Location; the device is
    // published without Location and refuses SMS by name.
    let path = wait_for_device_id(conn, ID, "initializing").await;
    let reason: String = property(conn, &path, DEVICE, "StateReason").await;
    assert_eq!(reason, "sim-pin-required");
    let capabilities: Vec<String> = property(conn, &path, DEVICE, "Capabilities").await;
    assert!(
        !capabilities.iter().any(|c| c == "location"),
        "{capabilities:?}"
    );
    let refused = send_text(conn, &path, PEER, "before the PIN").await;
    let message = assert_hal_error(refused, "NotSupported");
    assert!(message.contains("no Messaging interface"), "{message}");

    // Unlocked (as a user would, through ModemManager): MM gets to know the modem, exports its
    // Messaging and Location interfaces, and the device follows.
    let mut added = subscribe(
        conn,
        "org.freedesktop.DBus.ObjectManager",
        "InterfacesAdded",
    )
    .await;
    let sim: OwnedObjectPath = mm_property(&rig.mm.conn, &modem, MM_MODEM, "Sim").await;
    mm_proxy(&rig.mm.conn, sim.as_str(), MM_SIM)
        .await
        .call_method("SendPin", &(SIM_PIN,))
        .await
        .expect("SendPin");
    next_signal::<Added>(&mut added, |(object, interfaces)| {
        object.as_str() == path && interfaces.contains_key(LOCATION)
    })
    .await;
    let capabilities: Vec<String> = property(conn, &path, DEVICE, "Capabilities").await;
    assert!(
        capabilities.iter().any(|c| c == "location"),
        "{capabilities:?}"
    );

    // m2mhald enables the unlocked modem; its SMS go out through MM's Messaging.
    assert_eq!(wait_for_device_id(conn, ID, "ready").await, path);
    let mut states = subscribe(conn, MESSAGING, "StateChanged").await;
    let id = send_text(conn, &path, PEER, "after the PIN")
        .await
        .expect("Send once MM gives the modem Messaging");
    wait_message_state(&mut states, &id, "sent").await;
    let sent = rig.sim.expect_event("sms-sent").await;
    assert_eq!(sent["text"], "after the PIN", "{sent}");
}
