//! `org.m2mhal.Hal1.Gatt`: generic GATT access to a BLE device, through its driver.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_plugin_api::ble::{GattCharacteristic, GattService, normalize_uuid};
use m2mhal_plugin_api::{CallReply, Request};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Variant;
use zbus::{Connection, OwnedVariant, interface};

use super::authorize::{Action, authorize};
use super::error::HalError;
use crate::device::handle::DeviceHandle;

/// How long a GATT call may take, connecting included.
const GATT_TIMEOUT: Duration = Duration::from_secs(45);

/// The Gatt interface of one BLE device object.
pub struct GattInterface {
    handle: Arc<DeviceHandle>,
}

impl GattInterface {
    /// The interface for `handle`'s device.
    pub fn new(handle: Arc<DeviceHandle>) -> Self {
        GattInterface { handle }
    }

    async fn call(&self, request: Request) -> Result<CallReply, HalError> {
        Ok(self.handle.call(request, GATT_TIMEOUT).await?)
    }
}

/// The canonical form of a characteristic UUID argument.
fn characteristic(text: &str) -> Result<String, HalError> {
    normalize_uuid(text).ok_or_else(|| {
        HalError::InvalidArgument(format!(
            "{text:?} is not a UUID: use the 16-bit form (2a19) or the 128-bit form"
        ))
    })
}

/// One entry of `Characteristics`: `uuid`, `service` and `flags`.
fn characteristic_entry(
    service: &GattService,
    characteristic: &GattCharacteristic,
) -> HashMap<String, OwnedVariant> {
    let mut entry = HashMap::new();
    let mut put = |key: &str, value: Variant<'_>| {
        if let Ok(value) = OwnedVariant::try_from(value) {
            entry.insert(key.to_owned(), value);
        }
    };
    put("uuid", Variant::from(characteristic.uuid.as_str()));
    put("service", Variant::from(service.uuid.as_str()));
    put("flags", Variant::from(characteristic.flags.clone()));
    entry
}

/// Reads the `with_response` option (default true); any other option is an error.
fn parse_write_options(options: &HashMap<String, OwnedVariant>) -> Result<bool, HalError> {
    let mut with_response = true;
    for (key, value) in options {
        match key.as_str() {
            "with_response" => {
                with_response = value
                    .try_clone()
                    .ok()
                    .and_then(|v| bool::try_from(v).ok())
                    .ok_or_else(|| {
                        HalError::InvalidArgument(format!(
                            "option \"with_response\" must be a boolean, got {}",
                            value.value_signature()
                        ))
                    })?;
            }
            other => {
                return Err(HalError::InvalidArgument(format!(
                    "unknown option {other:?}; Write accepts \"with_response\""
                )));
            }
        }
    }
    Ok(with_response)
}

#[interface(name = "org.m2mhal.Hal1.Gatt")]
impl GattInterface {
    /// Whether the link is up.
    #[zbus(property)]
    fn connected(&self) -> bool {
        self.handle.state().connected
    }

    /// The characteristics of every service (API 1.1), as bluetoothctl lists them: per
    /// characteristic `uuid` s and `service` s (lower-case 128-bit) and `flags` as (BlueZ's:
    /// `read`, `write`, `write-without-response`, `notify`, `indicate`, ...). Known once the
    /// link was up; kept while it is down.
    #[zbus(property)]
    fn characteristics(&self) -> Vec<HashMap<String, OwnedVariant>> {
        self.handle
            .state()
            .gatt_services
            .iter()
            .flat_map(|service| {
                service
                    .characteristics
                    .iter()
                    .map(|characteristic| characteristic_entry(service, characteristic))
            })
            .collect()
    }

    /// Service UUIDs, lower-case 128-bit form.
    #[zbus(property)]
    fn services(&self) -> Vec<String> {
        self.handle.state().services.clone()
    }

    /// Brings the link up (and keeps it up).
    async fn connect(&self) -> Result<(), HalError> {
        self.call(Request::Connect).await.map(|_| ())
    }

    /// Takes the link down until `Connect`.
    async fn disconnect(&self) -> Result<(), HalError> {
        self.call(Request::Disconnect).await.map(|_| ())
    }

    /// Reads a characteristic, by 16-bit (`2a19`) or 128-bit UUID.
    async fn read(&self, characteristic: String) -> Result<Vec<u8>, HalError> {
        let characteristic = self::characteristic(&characteristic)?;
        match self.call(Request::GattRead { characteristic }).await? {
            CallReply::Bytes(value) => Ok(value),
            other => Err(HalError::Failed(format!(
                "driver answered the read with {other:?} instead of bytes"
            ))),
        }
    }

    /// Writes a characteristic; option `with_response` b (default true).
    async fn write(
        &self,
        characteristic: String,
        value: Vec<u8>,
        options: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), HalError> {
        authorize(conn, &header, Action::Control).await?;
        let characteristic = self::characteristic(&characteristic)?;
        let with_response = parse_write_options(&options)?;
        self.call(Request::GattWrite {
            characteristic,
            value,
            with_response,
        })
        .await
        .map(|_| ())
    }

    /// Starts notifications; the daemon re-arms them after every reconnect.
    async fn subscribe(&self, characteristic: String) -> Result<(), HalError> {
        let characteristic = self::characteristic(&characteristic)?;
        self.call(Request::GattSubscribe { characteristic })
            .await
            .map(|_| ())
    }

    /// Stops notifications.
    async fn unsubscribe(&self, characteristic: String) -> Result<(), HalError> {
        let characteristic = self::characteristic(&characteristic)?;
        self.call(Request::GattUnsubscribe { characteristic })
            .await
            .map(|_| ())
    }

    /// A subscribed characteristic changed.
    #[zbus(signal)]
    pub async fn notification(
        emitter: &SignalEmitter<'_>,
        characteristic: &str,
        value: &[u8],
    ) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_options_are_checked() {
        assert_eq!(
            characteristic("2A19").unwrap(),
            "00002a19-0000-1000-8000-00805f9b34fb"
        );
        assert!(
            matches!(characteristic("battery"), Err(HalError::InvalidArgument(m)) if m.contains("battery"))
        );
        let options = |k: &str, v: Variant<'static>| {
            HashMap::from([(k.to_owned(), OwnedVariant::try_from(v).unwrap())])
        };
        assert!(parse_write_options(&HashMap::new()).unwrap());
        assert!(!parse_write_options(&options("with_response", Variant::from(false))).unwrap());
        assert!(parse_write_options(&options("with_response", Variant::from("no"))).is_err());
        assert!(parse_write_options(&options("timeout", Variant::from(1u32))).is_err());
    }

    #[test]
    fn a_characteristic_entry_names_its_service_and_flags() {
        let battery = GattService {
            uuid: "0000180f-0000-1000-8000-00805f9b34fb".into(),
            characteristics: Vec::new(),
        };
        let level = GattCharacteristic {
            uuid: "00002a19-0000-1000-8000-00805f9b34fb".into(),
            flags: vec!["read".into(), "notify".into()],
        };
        let entry = characteristic_entry(&battery, &level);
        let text = |key: &str| String::try_from(entry[key].try_clone().unwrap()).unwrap();
        assert_eq!(text("uuid"), level.uuid);
        assert_eq!(text("service"), battery.uuid);
        let flags = Vec::<String>::try_from(entry["flags"].try_clone().unwrap()).unwrap();
        assert_eq!(flags, ["read", "notify"]);
    }
}
