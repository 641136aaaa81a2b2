//! m2mhal driver for Bluetooth Low Energy sensors: BTHome v2 advertisers (plain and encrypted) and
//! GATT sensors with the standard Environmental Sensing, Battery and Device Information services,
//! plus generic GATT access (`Gatt.Read`, `Write`, `Subscribe`) for applications.
//!
//! The driver is a sans-IO state machine ([`BleDriver`]), one instance per peripheral: the host
//! scans, claims the peripherals that match [`describe`](m2mhal_plugin_api::sdk::Driver::describe)
//! (BTHome service data `fcd2`, or the advertised services `181a`/`180f`, priority 0), opens an
//! instance with the peripheral's address as `port`, hands it every advertisement, and carries out
//! its `Connect`, `Disconnect` and GATT effects. It is exported as the `ble` plugin
//! (`libm2mhal_driver_ble.so`).
//!
//! # Device
//! `Id` is `ble:<ADDRESS>`, `Kind` `ble-device`, `Capabilities` `gatt`, `sensor`, `signal`.
//! `Model` is the advertised name until the device reports its Model Number (0x2A24);
//! `Manufacturer` (0x2A29), `Revision` (0x2A26) and `SerialNumber` (0x2A25) come from Device
//! Information when the device has it. `Signal.Technology` is `ble`, `Rssi` the advertisement
//! RSSI and `Quality` that RSSI mapped linearly from -100 dBm (0 %) to -50 dBm (100 %); both are
//! published (with `UpdatedAt`) when the RSSI changes. `State` is `initializing` until the first
//! advertisement or link, then `ready`; `offline` with reason `link-lost` (or `connect-failed`
//! before any link) while a link the device needs (GATT sensor, `Connect`, subscriptions) is down.
//!
//! # Options
//! - `bthome_key`: the 32 hex digit key of an encrypted BTHome device.
//! - `connect`: `auto` (default), `always` (read the device over GATT whatever it advertises) or
//!   `never` (connect only for application calls).
//!
//! # Sensor readings
//! `Sensor.Readings` keys, with their units. From GATT: `battery` (%, 0x2A19), `temperature`
//! (degrees C, 0x2A6E), `humidity` (%, 0x2A6F), `pressure` (hPa, 0x2A6D). From BTHome, by object
//! id:
//!
//! | key | unit | objects |
//! |---|---|---|
//! | `temperature` | degrees C | 0x02, 0x45, 0x57, 0x58 |
//! | `humidity` | % | 0x03, 0x2E |
//! | `battery` | % | 0x01 |
//! | `pressure` | hPa | 0x04 |
//! | `illuminance` | lx | 0x05 |
//! | `voltage` | V | 0x0C, 0x4A |
//! | `current` | A | 0x43, 0x5D |
//! | `power` | W | 0x0B, 0x5C |
//! | `energy` | kWh | 0x0A, 0x4D |
//! | `co2` | ppm | 0x12 |
//! | `pm25`, `pm10`, `tvoc` | ug/m3 | 0x0D, 0x0E, 0x13 |
//! | `moisture` | % | 0x14, 0x2F |
//! | `dew_point` | degrees C | 0x08 |
//! | `mass` | kg | 0x06, 0x07 (sent in lb) |
//! | `distance` | m | 0x40 (sent in mm), 0x41 |
//! | `volume`, `water`, `volume_storage` | L | 0x47, 0x48 (sent in mL), 0x4E; 0x4F; 0x55 |
//! | `gas` | m3 | 0x4B, 0x4C |
//! | `flow_rate` | m3/h | 0x49 |
//! | `speed` | m/s | 0x44, 0x62 |
//! | `acceleration` | m/s2 | 0x51, 0x63 |
//! | `gyroscope` | deg/s | 0x52 |
//! | `rotation`, `direction` | deg | 0x3F, 0x5E |
//! | `duration` | s | 0x42 |
//! | `precipitation` | mm | 0x5F |
//! | `uv_index`, `count`, `channel`, `light_level` | - | 0x46; 0x09, 0x3D, 0x3E, 0x59-0x5B; 0x60; 0x64 |
//! | `conductivity` | uS/cm | 0x56 |
//! | `rotational_speed` | rpm | 0x61 |
//! | `timestamp` | unix s | 0x50 |
//! | `button` | event code: 0 none, 1 press, 2 double, 3 triple, 4 long, 5 long double, 6 long triple, 0x80 hold | 0x3A |
//! | `dimmer` | steps, negative to the left | 0x3C |
//! | binary sensors, 0 or 1 | - | `generic_boolean` 0x0F, `power_on` 0x10, `opening` 0x11, `battery_low` 0x15, `battery_charging` 0x16, `carbon_monoxide` 0x17, `cold` 0x18, `connectivity` 0x19, `door` 0x1A, `garage_door` 0x1B, `gas_detected` 0x1C, `heat` 0x1D, `light` 0x1E, `lock` 0x1F, `moisture_detected` 0x20, `motion` 0x21, `moving` 0x22, `occupancy` 0x23, `plug` 0x24, `presence` 0x25, `problem` 0x26, `running` 0x27, `safety` 0x28, `smoke` 0x29, `sound` 0x2A, `tamper` 0x2B, `vibration` 0x2C, `window` 0x2D |
//!
//! A key that occurs again in one packet (a second sensor of the same kind) is numbered:
//! `temperature_2`, `button_2`. A packet with the same packet id (0x00) as the previous one is a
//! repeat: its readings are not taken again (a button press counts once), but it confirms them,
//! so `Sensor.UpdatedAt` moves on to the time of the repeat (at most once per second, the
//! resolution of `UpdatedAt`: a sensor advertising ten times a second costs one
//! `PropertiesChanged` a second, not ten). A packet without a packet id is taken as new. An unknown object id ends the packet (its length is unknown); the
//! readings before it count and a warning is logged once.
//!
//! Module map: `driver` routes host events and owns the link; `bthome` decodes (and decrypts)
//! BTHome service data; `characteristics` decodes the standard GATT characteristics;
//! `operations` matches GATT results to their purpose; `waiting` holds calls waiting for the link;
//! `config`, `describe`, `signal` and `timers` are what their names say.

mod bthome;
mod characteristics;
mod config;
mod describe;
mod driver;
mod operations;
mod signal;
mod timers;
mod waiting;

pub use driver::BleDriver;

m2mhal_plugin_api::export_driver!(BleDriver, "ble");
