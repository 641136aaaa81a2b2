//! The fake seen by a plain zbus client, checked against BlueZ's D-Bus API documents
//! (doc/org.bluez.Adapter.rst, Device.rst, GattService.rst, GattCharacteristic.rst,
//! GattDescriptor.rst).

mod common;

use std::collections::HashMap;

use common::{SignalRecorder, WAIT, plant_sensor, show, start_fake, thermometer, writes};
use m2mhal_fake_bluez::bus::PrivateBus;
use m2mhal_fake_bluez::{AdvUpdate, Event, FakeBluez, WriteType};
use zbus::fdo::{IntrospectableProxy, ManagedObjects, ObjectManagerProxy, PropertiesProxy};
use zbus::{Connection, Proxy, Variant};

const ADAPTER: &str = "/org/bluez/hci0";
const CHARACTERISTIC: &str = "org.bluez.GattCharacteristic1";
const DESCRIPTOR: &str = "org.bluez.GattDescriptor1";
const DEV: &str = "/org/bluez/hci0/dev_C4_7C_8D_6A_11_22";
const THERMO: &str = "/org/bluez/hci0/dev_A4_C1_38_00_00_01";
const BATTERY_LEVEL: &str = "/org/bluez/hci0/dev_C4_7C_8D_6A_11_22/service0010/char0011";
const CCCD: &str = "/org/bluez/hci0/dev_C4_7C_8D_6A_11_22/service0010/char0011/desc0013";
const MODE: &str = "/org/bluez/hci0/dev_C4_7C_8D_6A_11_22/service0014/char0015";

struct Setup {
    bus: PrivateBus,
    bluez: FakeBluez,
    client: Connection,
    signals: SignalRecorder,
}

async fn setup() -> Setup {
    let (bus, bluez) = start_fake().await;
    bluez.add_peripheral(plant_sensor()).await.unwrap();
    bluez.add_peripheral(thermometer()).await.unwrap();
    let client = bus.connect().await.unwrap();
    let signals = SignalRecorder::start(&client).await;
    Setup {
        bus,
        bluez,
        client,
        signals,
    }
}

/// [`setup`], with the plant sensor discovered and connected.
async fn connected_setup() -> Setup {
    let setup = setup().await;
    setup.discover().await;
    setup.device("Connect").await.unwrap();
    setup
        .signals
        .wait_for(&format!(
            "PropertiesChanged {DEV} org.bluez.Device1 ServicesResolved=true"
        ))
        .await;
    setup
}

/// Method calls as the test's client, by object.
impl Setup {
    async fn adapter(&self, method: &str, args: &impl Args) -> Reply {
        call(&self.client, ADAPTER, "org.bluez.Adapter1", method, args).await
    }

    /// A call without arguments on the plant sensor's device object.
    async fn device(&self, method: &str) -> Reply {
        call(&self.client, DEV, "org.bluez.Device1", method, &()).await
    }

    async fn characteristic(&self, path: &str, method: &str, args: &impl Args) -> Reply {
        call(&self.client, path, CHARACTERISTIC, method, args).await
    }

    async fn descriptor(&self, path: &str, method: &str, args: &impl Args) -> Reply {
        call(&self.client, path, DESCRIPTOR, method, args).await
    }

    /// Sets the client's discovery filter, then starts discovering.
    async fn start_discovery(&self, filter: HashMap<&str, Variant<'_>>) {
        self.adapter("SetDiscoveryFilter", &(filter,))
            .await
            .unwrap();
        self.adapter("StartDiscovery", &()).await.unwrap();
    }

    /// Discovers with no filter until a device is found.
    async fn discover(&self) {
        self.start_discovery(HashMap::new()).await;
        self.bluez
            .wait_for(WAIT, |e| matches!(e, Event::DeviceFound { .. }))
            .await
            .unwrap();
    }
}

/// What a method call takes as arguments.
trait Args: serde::Serialize + zbus::Type {}
impl<T: serde::Serialize + zbus::Type> Args for T {}

/// A method's reply, or its error as `name: message`.
type Reply = Result<zbus::Message, String>;

async fn call(
    conn: &Connection,
    path: &str,
    interface: &str,
    method: &str,
    args: &impl Args,
) -> Reply {
    let proxy = Proxy::new(conn, "org.bluez", path, interface)
        .await
        .unwrap();
    proxy.call_method(method, args).await.map_err(|e| match e {
        zbus::Error::MethodError(name, message, _) => {
            format!("{name}: {}", message.unwrap_or_default())
        }
        other => other.to_string(),
    })
}

async fn properties(conn: &Connection, path: &str, interface: &str) -> HashMap<String, String> {
    let proxy = PropertiesProxy::builder(conn)
        .destination("org.bluez")
        .path(path)
        .build()
        .await
        .unwrap();
    let interface = zbus::names::InterfaceName::try_from(interface).unwrap();
    proxy
        .get_all(interface)
        .await
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), show(v)))
        .collect()
}

async fn managed_objects(conn: &Connection) -> ManagedObjects {
    let manager = ObjectManagerProxy::builder(conn)
        .destination("org.bluez")
        .path("/")
        .build()
        .await
        .unwrap();
    manager.get_managed_objects().await.unwrap()
}

fn no_options() -> HashMap<String, Variant<'static>> {
    HashMap::new()
}

async fn children(conn: &Connection, path: &str) -> Vec<String> {
    let proxy = IntrospectableProxy::builder(conn)
        .destination("org.bluez")
        .path(path)
        .build()
        .await
        .unwrap();
    let xml = proxy.introspect().await.unwrap();
    // Direct children are the `<node name=...>` lines indented by exactly two spaces.
    let mut names: Vec<String> = xml
        .lines()
        .filter_map(|line| line.strip_prefix("  <node name=\""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn adapter_is_managed_at_root_with_documented_properties() {
    let setup = setup().await;
    let objects = managed_objects(&setup.client).await;
    let with_interfaces: Vec<&str> = objects
        .iter()
        .filter(|(_, interfaces)| !interfaces.is_empty())
        .map(|(path, _)| path.as_str())
        .collect();
    // No device objects before anyone discovers, though both peripherals are in range.
    assert_eq!(with_interfaces, ["/org/bluez/hci0"]);

    let adapter = properties(&setup.client, ADAPTER, "org.bluez.Adapter1").await;
    for (name, value) in [
        ("Address", "00:1A:7D:DA:71:13"),
        ("AddressType", "public"),
        ("Powered", "true"),
        ("PowerState", "on"),
        ("Discovering", "false"),
        ("Discoverable", "false"),
        ("Pairable", "true"),
        ("Modalias", "usb:v1D6Bp0246d054F"),
        ("Roles", "[central, peripheral]"),
    ] {
        assert_eq!(adapter.get(name).map(String::as_str), Some(value), "{name}");
    }
    for name in [
        "Name",
        "Alias",
        "Class",
        "UUIDs",
        "DiscoverableTimeout",
        "PairableTimeout",
    ] {
        assert!(adapter.contains_key(name), "{name} missing");
    }

    let filters = setup.adapter("GetDiscoveryFilters", &()).await.unwrap();
    let filters: Vec<String> = filters.body().deserialize().unwrap();
    assert_eq!(
        filters,
        [
            "UUIDs",
            "RSSI",
            "Pathloss",
            "Transport",
            "DuplicateData",
            "Discoverable",
            "Pattern",
            "AutoConnect"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_reports_only_devices_passing_the_filter() {
    let setup = setup().await;
    let uuids = Variant::from(vec!["0000fe95-0000-1000-8000-00805f9b34fb".to_owned()]);
    setup
        .start_discovery([("UUIDs", uuids), ("DuplicateData", Variant::from(true))].into())
        .await;
    let lines = setup
        .signals
        .wait_for(&format!("InterfacesAdded {DEV} [\"org.bluez.Device1\"]"))
        .await;
    assert_eq!(
        lines[0],
        "PropertiesChanged /org/bluez/hci0 org.bluez.Adapter1 Discovering=true"
    );
    assert!(!lines.iter().any(|l| l.contains(THERMO)), "{lines:?}");

    let device = properties(&setup.client, DEV, "org.bluez.Device1").await;
    for (name, value) in [
        ("Address", "C4:7C:8D:6A:11:22"),
        ("AddressType", "public"),
        ("Name", "Flower care"),
        ("Alias", "Flower care"),
        ("RSSI", "-48"),
        ("Paired", "false"),
        ("Bonded", "false"),
        ("Trusted", "false"),
        ("Blocked", "false"),
        ("LegacyPairing", "false"),
        ("Connected", "false"),
        ("ServicesResolved", "false"),
        ("UUIDs", "[0000fe95-0000-1000-8000-00805f9b34fb]"),
        ("Adapter", "/org/bluez/hci0"),
        ("AdvertisingFlags", "06"),
        ("ManufacturerData", "{343: 0102}"),
        (
            "ServiceData",
            "{0000fe95-0000-1000-8000-00805f9b34fb: 71209800}",
        ),
    ] {
        assert_eq!(device.get(name).map(String::as_str), Some(value), "{name}");
    }
    // Optional properties the peripheral doesn't have are absent, not empty.
    for name in ["TxPower", "Appearance", "Icon", "Class", "Modalias"] {
        assert!(!device.contains_key(name), "{name} present");
    }

    // A repeated advertisement with duplicate data on re-reports RSSI and the data.
    setup.signals.clear();
    let update = AdvUpdate {
        rssi: Some(-50),
        service_data: Some([("fe95".to_owned(), vec![0x71, 0x20, 0x98, 0x01])].into()),
        ..Default::default()
    };
    setup
        .bluez
        .advertise(plant_sensor().address, update)
        .await
        .unwrap();
    setup
        .signals
        .wait_for(&format!(
            "PropertiesChanged {DEV} org.bluez.Device1 ManufacturerData={{343: 0102}} RSSI=-50 ServiceData={{0000fe95-0000-1000-8000-00805f9b34fb: 71209801}}"
        ))
        .await;

    // The same client may not start a second session; stopping invalidates RSSI.
    let again = setup.adapter("StartDiscovery", &()).await;
    assert_eq!(
        again.unwrap_err(),
        "org.bluez.Error.InProgress: Operation already in progress"
    );
    setup.signals.clear();
    setup.adapter("StopDiscovery", &()).await.unwrap();
    setup
        .signals
        .wait_for(&format!("PropertiesChanged {DEV} org.bluez.Device1 -RSSI"))
        .await;
    let stop_again = setup.adapter("StopDiscovery", &()).await;
    assert_eq!(
        stop_again.unwrap_err(),
        "org.bluez.Error.Failed: No discovery started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_discovery_filter_is_invalid_arguments() {
    let setup = setup().await;
    let filter: HashMap<&str, Variant<'_>> = [("Transport", Variant::from("usb"))].into();
    let error = setup
        .adapter("SetDiscoveryFilter", &(filter,))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "org.bluez.Error.InvalidArguments: Invalid arguments in method call"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_exports_gatt_then_resolves_and_disconnect_undoes_it() {
    let setup = setup().await;
    setup.start_discovery(HashMap::new()).await;
    setup
        .signals
        .wait_for(&format!("InterfacesAdded {THERMO} [\"org.bluez.Device1\"]"))
        .await;
    setup.signals.clear();
    setup.device("Connect").await.unwrap();
    let transcript: Vec<String> = setup
        .signals
        .wait_for(&format!(
            "PropertiesChanged {DEV} org.bluez.Device1 ServicesResolved=true"
        ))
        .await;
    assert_eq!(
        transcript,
        [
            format!("PropertiesChanged {DEV} org.bluez.Device1 Connected=true"),
            format!("InterfacesAdded {DEV}/service0010 [\"org.bluez.GattService1\"]"),
            format!(
                "InterfacesAdded {DEV}/service0010/char0011 [\"org.bluez.GattCharacteristic1\"]"
            ),
            format!(
                "InterfacesAdded {DEV}/service0010/char0011/desc0013 [\"org.bluez.GattDescriptor1\"]"
            ),
            format!("InterfacesAdded {DEV}/service0014 [\"org.bluez.GattService1\"]"),
            format!(
                "InterfacesAdded {DEV}/service0014/char0015 [\"org.bluez.GattCharacteristic1\"]"
            ),
            format!(
                "InterfacesAdded {DEV}/service0014/char0015/desc0017 [\"org.bluez.GattDescriptor1\"]"
            ),
            format!(
                "PropertiesChanged {DEV} org.bluez.Device1 UUIDs=[00001204-0000-1000-8000-00805f9b34fb, 0000180f-0000-1000-8000-00805f9b34fb, 0000fe95-0000-1000-8000-00805f9b34fb]"
            ),
            format!("PropertiesChanged {DEV} org.bluez.Device1 ServicesResolved=true"),
        ]
    );

    // btleplug walks these Introspect children rather than GetManagedObjects.
    assert_eq!(
        children(&setup.client, DEV).await,
        ["service0010", "service0014"]
    );
    assert_eq!(
        children(&setup.client, &format!("{DEV}/service0010")).await,
        ["char0011"]
    );
    assert_eq!(children(&setup.client, BATTERY_LEVEL).await, ["desc0013"]);

    let service = properties(
        &setup.client,
        &format!("{DEV}/service0010"),
        "org.bluez.GattService1",
    )
    .await;
    assert_eq!(service["UUID"], "0000180f-0000-1000-8000-00805f9b34fb");
    assert_eq!(service["Primary"], "true");
    assert_eq!(service["Device"], DEV);
    assert_eq!(service["Handle"], "16");
    let level = properties(
        &setup.client,
        BATTERY_LEVEL,
        "org.bluez.GattCharacteristic1",
    )
    .await;
    assert_eq!(level["UUID"], "00002a19-0000-1000-8000-00805f9b34fb");
    assert_eq!(level["Service"], format!("{DEV}/service0010"));
    assert_eq!(level["Flags"], "[read, notify]");
    assert_eq!(level["Notifying"], "false");
    assert_eq!(level["MTU"], "247");
    assert!(
        !level.contains_key("Value"),
        "Value is cached only after a read"
    );
    let cccd = properties(&setup.client, CCCD, "org.bluez.GattDescriptor1").await;
    assert_eq!(cccd["UUID"], "00002902-0000-1000-8000-00805f9b34fb");
    assert_eq!(cccd["Characteristic"], BATTERY_LEVEL);

    setup.signals.clear();
    setup.device("Disconnect").await.unwrap();
    let transcript = setup
        .signals
        .wait_for(&format!(
            "PropertiesChanged {DEV} org.bluez.Device1 Connected=false"
        ))
        .await;
    assert_eq!(
        transcript,
        [
            format!("Disconnected {DEV} org.bluez.Reason.Local"),
            format!("PropertiesChanged {DEV} org.bluez.Device1 ServicesResolved=false"),
            format!(
                "InterfacesRemoved {DEV}/service0014/char0015/desc0017 [\"org.bluez.GattDescriptor1\"]"
            ),
            format!(
                "InterfacesRemoved {DEV}/service0014/char0015 [\"org.bluez.GattCharacteristic1\"]"
            ),
            format!("InterfacesRemoved {DEV}/service0014 [\"org.bluez.GattService1\"]"),
            format!(
                "InterfacesRemoved {DEV}/service0010/char0011/desc0013 [\"org.bluez.GattDescriptor1\"]"
            ),
            format!(
                "InterfacesRemoved {DEV}/service0010/char0011 [\"org.bluez.GattCharacteristic1\"]"
            ),
            format!("InterfacesRemoved {DEV}/service0010 [\"org.bluez.GattService1\"]"),
            format!("PropertiesChanged {DEV} org.bluez.Device1 Connected=false"),
        ]
    );
    let again = setup.device("Disconnect").await;
    assert_eq!(
        again.unwrap_err(),
        "org.bluez.Error.NotConnected: Not Connected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gatt_reads_writes_and_notifications_behave_like_bluez() {
    let setup = connected_setup().await;
    let sensor = plant_sensor().address;

    // A read answers the value and caches it in Value, signalled before the reply.
    setup.signals.clear();
    let reply = setup
        .characteristic(BATTERY_LEVEL, "ReadValue", &(no_options(),))
        .await
        .unwrap();
    let value: Vec<u8> = reply.body().deserialize().unwrap();
    assert_eq!(value, [100]);
    let value_signal =
        format!("PropertiesChanged {BATTERY_LEVEL} org.bluez.GattCharacteristic1 Value=64");
    assert_eq!(setup.signals.wait_for(&value_signal).await, [value_signal]);

    // Writes: with no type, "write" wins over "write-without-response"; a request to a
    // characteristic without "write" is refused by the peripheral.
    setup
        .characteristic(MODE, "WriteValue", &(vec![0xa0u8, 0x1f], no_options()))
        .await
        .unwrap();
    let command: HashMap<String, Variant<'_>> =
        [("type".to_owned(), Variant::from("command"))].into();
    setup
        .characteristic(MODE, "WriteValue", &(vec![0x01u8], command))
        .await
        .unwrap();
    let request: HashMap<String, Variant<'_>> =
        [("type".to_owned(), Variant::from("request"))].into();
    let refused = setup
        .characteristic(BATTERY_LEVEL, "WriteValue", &(vec![0u8], request))
        .await
        .unwrap_err();
    assert_eq!(refused, "org.bluez.Error.NotPermitted: Write not permitted");
    assert_eq!(
        writes(&setup.bluez),
        [
            (vec![0xa0, 0x1f], WriteType::Request),
            (vec![0x01], WriteType::Command)
        ]
    );
    let wide_offset: HashMap<String, Variant<'_>> =
        [("offset".to_owned(), Variant::from(1u64))].into();
    let bad = setup
        .characteristic(MODE, "ReadValue", &(wide_offset,))
        .await
        .unwrap_err();
    assert_eq!(
        bad,
        "org.bluez.Error.InvalidArguments: Invalid arguments in method call"
    );

    // Notifications: one session per client, Value signalled on every notification.
    setup.signals.clear();
    setup
        .characteristic(BATTERY_LEVEL, "StartNotify", &())
        .await
        .unwrap();
    let twice = setup
        .characteristic(BATTERY_LEVEL, "StartNotify", &())
        .await;
    assert_eq!(
        twice.unwrap_err(),
        "org.bluez.Error.Failed: Already notifying"
    );
    assert!(
        setup
            .bluez
            .set_value(sensor, "2a19", vec![99])
            .await
            .unwrap()
    );
    assert!(
        setup
            .bluez
            .set_value(sensor, "2a19", vec![99])
            .await
            .unwrap()
    );
    let cccd_read = setup
        .descriptor(CCCD, "ReadValue", &(no_options(),))
        .await
        .unwrap();
    let cccd: Vec<u8> = cccd_read.body().deserialize().unwrap();
    assert_eq!(cccd, [0x01, 0x00]);
    let cccd_write = setup
        .descriptor(CCCD, "WriteValue", &(vec![0u8, 0], no_options()))
        .await;
    assert_eq!(
        cccd_write.unwrap_err(),
        "org.bluez.Error.NotPermitted: Write not permitted"
    );
    setup
        .characteristic(BATTERY_LEVEL, "StopNotify", &())
        .await
        .unwrap();
    let lines = setup
        .signals
        .wait_for(&format!(
            "PropertiesChanged {BATTERY_LEVEL} org.bluez.GattCharacteristic1 Notifying=false"
        ))
        .await;
    assert_eq!(
        lines,
        [
            format!(
                "PropertiesChanged {BATTERY_LEVEL} org.bluez.GattCharacteristic1 Notifying=true"
            ),
            format!("PropertiesChanged {BATTERY_LEVEL} org.bluez.GattCharacteristic1 Value=63"),
            format!("PropertiesChanged {BATTERY_LEVEL} org.bluez.GattCharacteristic1 Value=63"),
            format!(
                "PropertiesChanged {BATTERY_LEVEL}/desc0013 org.bluez.GattDescriptor1 Value=0100"
            ),
            format!(
                "PropertiesChanged {BATTERY_LEVEL} org.bluez.GattCharacteristic1 Notifying=false"
            ),
        ]
    );
    let stop_again = setup.characteristic(BATTERY_LEVEL, "StopNotify", &()).await;
    assert_eq!(
        stop_again.unwrap_err(),
        "org.bluez.Error.Failed: No notify session started"
    );
    // Without a session the peripheral's new value is not notified.
    assert!(
        !setup
            .bluez
            .set_value(sensor, "2a19", vec![98])
            .await
            .unwrap()
    );
    let acquire = setup
        .characteristic(MODE, "AcquireWrite", &(no_options(),))
        .await;
    assert_eq!(
        acquire.unwrap_err(),
        "org.bluez.Error.NotSupported: Operation is not supported"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn link_loss_and_unreachable_peripherals() {
    let setup = connected_setup().await;
    let sensor = plant_sensor().address;
    setup.signals.clear();
    setup.bluez.set_in_range(sensor, false).await.unwrap();
    let lines = setup
        .signals
        .wait_for(&format!(
            "PropertiesChanged {DEV} org.bluez.Device1 Connected=false"
        ))
        .await;
    assert_eq!(
        lines[0],
        format!("Disconnected {DEV} org.bluez.Reason.Timeout")
    );
    let failed = setup.device("Connect").await;
    assert_eq!(
        failed.unwrap_err(),
        "org.bluez.Error.Failed: le-connection-abort-by-local"
    );

    // A Connect waiting for the peripheral succeeds when it comes back into range.
    let client = setup.client.clone();
    let pending =
        tokio::spawn(async move { call(&client, DEV, "org.bluez.Device1", "Connect", &()).await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    setup.bluez.set_in_range(sensor, true).await.unwrap();
    pending.await.unwrap().unwrap();
    assert!(setup.bluez.drop_link(sensor).await.unwrap());
    assert!(!setup.bluez.drop_link(sensor).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_end_when_their_client_leaves_and_power_and_restart_reset_things() {
    let setup = setup().await;
    let other = setup.bus.connect().await.unwrap();
    call(&other, ADAPTER, "org.bluez.Adapter1", "StartDiscovery", &())
        .await
        .unwrap();
    setup
        .signals
        .wait_for("PropertiesChanged /org/bluez/hci0 org.bluez.Adapter1 Discovering=true")
        .await;
    drop(other);
    setup
        .signals
        .wait_for("PropertiesChanged /org/bluez/hci0 org.bluez.Adapter1 Discovering=false")
        .await;

    setup.signals.clear();
    setup.bluez.set_powered(false).await.unwrap();
    setup
        .signals
        .wait_for(
            "PropertiesChanged /org/bluez/hci0 org.bluez.Adapter1 PowerState=off Powered=false",
        )
        .await;
    let refused = setup.adapter("StartDiscovery", &()).await;
    assert_eq!(
        refused.unwrap_err(),
        "org.bluez.Error.NotReady: Resource Not Ready"
    );
    // Powering on through the property, as btleplug does.
    let adapter = Proxy::new(&setup.client, "org.bluez", ADAPTER, "org.bluez.Adapter1")
        .await
        .unwrap();
    adapter.set_property("Powered", true).await.unwrap();
    setup
        .signals
        .wait_for("PropertiesChanged /org/bluez/hci0 org.bluez.Adapter1 PowerState=on Powered=true")
        .await;

    setup.discover().await;
    setup.bluez.restart().await.unwrap();
    let objects = managed_objects(&setup.client).await;
    let devices = objects
        .values()
        .filter(|interfaces| interfaces.keys().any(|i| i.as_str() == "org.bluez.Device1"))
        .count();
    assert_eq!(devices, 0);
    let adapter = properties(&setup.client, ADAPTER, "org.bluez.Adapter1").await;
    assert_eq!(adapter["Discovering"], "false");
}
