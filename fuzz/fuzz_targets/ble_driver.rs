//! Fuzzes the BLE driver with arbitrary bytes where a peripheral decides them: BTHome service
//! data (plain, and encrypted since a key is configured), manufacturer data, and the values of
//! the standard GATT characteristics the driver decodes, both read and notified. It must never
//! panic. The first byte picks what the rest of the input is.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use m2mhal_driver_ble::BleDriver;
use m2mhal_plugin_api::ble::{Advertisement, GattCharacteristic, GattService};
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{Event, Input, OpenConfig};
use serde_bytes::ByteBuf;

const ADDRESS: &str = "A4:C1:38:00:00:01";
/// The BTHome key of the bthome.io encryption example.
const KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";
/// The characteristics the driver decodes: Device Information, Battery, Environmental Sensing.
const STANDARD: [&str; 8] = [
    "2a29", "2a24", "2a26", "2a25", "2a19", "2a6e", "2a6f", "2a6d",
];

fn uuid16(short: &str) -> String {
    format!("0000{short}-0000-1000-8000-00805f9b34fb")
}

fn advertisement(bytes: &[u8], as_bthome: bool) -> Advertisement {
    let mut advertisement = Advertisement {
        address: ADDRESS.into(),
        name: Some("fuzz".into()),
        rssi: Some(-60),
        ..Advertisement::default()
    };
    let data = ByteBuf::from(bytes.to_vec());
    if as_bthome {
        advertisement.service_data.insert(uuid16("fcd2"), data);
    } else {
        advertisement.manufacturer_data.insert(0x0499, data);
    }
    advertisement
}

/// One service holding every standard characteristic, readable and notifying.
fn services() -> Vec<GattService> {
    let characteristics = STANDARD
        .iter()
        .map(|short| GattCharacteristic {
            uuid: uuid16(short),
            flags: vec!["read".into(), "notify".into()],
        })
        .collect();
    vec![GattService {
        uuid: uuid16("181a"),
        characteristics,
    }]
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let config = OpenConfig {
        port: ADDRESS.into(),
        options: BTreeMap::from([("bthome_key".to_owned(), KEY.to_owned())]),
        ..OpenConfig::default()
    };
    let Ok(mut driver) = BleDriver::open(config) else {
        return;
    };
    let mut step = |event| {
        let _ = driver.handle(Input {
            now_ms: 0,
            unix_time: 0,
            event,
        });
    };
    step(Event::Opened);
    match selector % 3 {
        0 => step(Event::Advertisement(advertisement(bytes, true))),
        1 => step(Event::Advertisement(advertisement(bytes, false))),
        _ => {
            step(Event::LinkUp {
                services: services(),
            });
            // The reads and subscriptions the link-up started, answered with the bytes.
            for op in 1..=2 * STANDARD.len() as u64 {
                step(Event::GattDone {
                    op,
                    result: Ok(ByteBuf::from(bytes.to_vec())),
                });
            }
            for short in STANDARD {
                step(Event::Notification {
                    characteristic: uuid16(short),
                    value: bytes.to_vec(),
                });
            }
        }
    }
});
