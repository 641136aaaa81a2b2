//! btleplug 0.13 (the library m2mhald uses) against the fake on a private system bus: scan,
//! advertisement data, connect, services, read, write, notify, disconnect.
//!
//! This binary holds a single test because it points the process's system bus at the private
//! bus through `DBUS_SYSTEM_BUS_ADDRESS`, which libdbus reads from the environment.

mod common;

use btleplug::api::{Central, CentralEvent, Manager as _, Peripheral as _, ScanFilter, WriteType};
use btleplug::platform::Manager;
use common::{WAIT, plant_sensor, start_fake, writes};
use futures_util::StreamExt;
use m2mhal_fake_bluez::{AdvUpdate, Event, WriteType as FakeWriteType};
use tokio::time::timeout;
use uuid::Uuid;

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn btleplug_scans_connects_reads_writes_and_gets_notified() {
    let (bus, bluez) = start_fake().await;
    // SAFETY: the only test in this binary sets it before any library reads the environment.
    unsafe { std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", bus.address()) };
    let sensor = plant_sensor();
    bluez.add_peripheral(sensor.clone()).await.unwrap();

    let manager = Manager::new().await.unwrap();
    let central = manager
        .adapters()
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let mut events = central.events().await.unwrap();
    central.start_scan(ScanFilter::default()).await.unwrap();
    let filter = bluez
        .wait_for(WAIT, |e| matches!(e, Event::DiscoveryFilter { .. }))
        .await
        .unwrap();
    let Event::DiscoveryFilter {
        filter: Some(filter),
        ..
    } = filter
    else {
        panic!("btleplug cleared the filter: {filter:?}");
    };
    assert!(filter.duplicate_data);
    assert_eq!(filter.transport, "auto");

    let id = timeout(WAIT, async {
        loop {
            if let Some(CentralEvent::DeviceDiscovered(id)) = events.next().await {
                return id;
            }
        }
    })
    .await
    .unwrap();
    let peripheral = central.peripheral(&id).await.unwrap();
    let properties = peripheral.properties().await.unwrap().unwrap();
    assert_eq!(properties.address.to_string(), "C4:7C:8D:6A:11:22");
    assert_eq!(properties.local_name.as_deref(), Some("Flower care"));
    assert_eq!(properties.rssi, Some(-48));
    let fe95 = uuid("0000fe95-0000-1000-8000-00805f9b34fb");
    assert_eq!(properties.service_data[&fe95], [0x71, 0x20, 0x98, 0x00]);
    assert_eq!(properties.manufacturer_data[&0x0157], [0x01, 0x02]);

    // A new advertisement reaches btleplug as a service data event.
    let update = AdvUpdate {
        service_data: Some([("fe95".to_owned(), vec![0x71, 0x20, 0x98, 0x01])].into()),
        ..Default::default()
    };
    bluez.advertise(sensor.address, update).await.unwrap();
    timeout(WAIT, async {
        loop {
            let Some(CentralEvent::ServiceDataAdvertisement { service_data, .. }) =
                events.next().await
            else {
                continue;
            };
            if service_data.get(&fe95).map(Vec::as_slice) == Some(&[0x71, 0x20, 0x98, 0x01]) {
                return;
            }
        }
    })
    .await
    .unwrap();

    peripheral.connect().await.unwrap();
    assert!(peripheral.is_connected().await.unwrap());
    peripheral.discover_services().await.unwrap();
    let services: Vec<Uuid> = peripheral.services().iter().map(|s| s.uuid).collect();
    assert!(services.contains(&uuid("0000180f-0000-1000-8000-00805f9b34fb")));
    let characteristics = peripheral.characteristics();
    let level = characteristics
        .iter()
        .find(|c| c.uuid == uuid("00002a19-0000-1000-8000-00805f9b34fb"))
        .unwrap();
    let mode = characteristics
        .iter()
        .find(|c| c.uuid == uuid("00001a00-0000-1000-8000-00805f9b34fb"))
        .unwrap();
    assert_eq!(level.descriptors.len(), 1, "the CCCD");
    assert_eq!(mode.descriptors.len(), 1, "the user description");

    assert_eq!(peripheral.read(level).await.unwrap(), [100]);
    peripheral
        .write(mode, &[0xa0, 0x1f], WriteType::WithResponse)
        .await
        .unwrap();
    peripheral
        .write(mode, &[0x01], WriteType::WithoutResponse)
        .await
        .unwrap();
    assert_eq!(
        writes(&bluez),
        [
            (vec![0xa0, 0x1f], FakeWriteType::Request),
            (vec![0x01], FakeWriteType::Command)
        ]
    );

    let mut notifications = peripheral.notifications().await.unwrap();
    peripheral.subscribe(level).await.unwrap();
    assert!(
        bluez
            .set_value(sensor.address, "2a19", vec![87])
            .await
            .unwrap()
    );
    let notification = timeout(WAIT, notifications.next()).await.unwrap().unwrap();
    assert_eq!(notification.uuid, level.uuid);
    assert_eq!(notification.value, [87]);
    peripheral.unsubscribe(level).await.unwrap();

    peripheral.disconnect().await.unwrap();
    bluez
        .wait_for(WAIT, |e| matches!(e, Event::Disconnected { .. }))
        .await
        .unwrap();
    assert!(!peripheral.is_connected().await.unwrap());
    central.stop_scan().await.unwrap();
}
