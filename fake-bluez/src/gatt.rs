//! A peripheral's GATT database: handles laid out like a real server, the values the peripheral
//! holds, and what an ATT read or write does to them (with the ATT errors BlueZ turns into
//! `org.bluez.Error.*`).

use std::collections::{BTreeSet, HashMap};

use m2mhal_plugin_api::ble::normalize_uuid;
use serde::Serialize;
use zbus::{OwnedVariant, Variant};

use crate::error::{BluezError, Error};
use crate::spec::{CharSpec, DescSpec, ServiceSpec};

/// Client Characteristic Configuration descriptor (0x2902).
pub const CCCD_UUID: &str = "00002902-0000-1000-8000-00805f9b34fb";
/// The first handle services are laid out from (GAP and GATT services sit below, unexported,
/// as BlueZ claims them).
const FIRST_HANDLE: u16 = 0x0010;
/// Longest attribute value ATT allows.
const MAX_VALUE_LEN: usize = 512;

/// A service with its handle range.
#[derive(Clone, Debug)]
pub struct Service {
    /// Canonical UUID.
    pub uuid: String,
    /// Primary or secondary.
    pub primary: bool,
    /// Declaration handle (names the object `serviceXXXX`).
    pub handle: u16,
    /// Its characteristics.
    pub characteristics: Vec<Characteristic>,
}

/// A characteristic: declaration and value handles, flags, and both values: the one the
/// peripheral holds and the one BlueZ has cached (the `Value` property).
#[derive(Clone, Debug)]
pub struct Characteristic {
    /// Canonical UUID.
    pub uuid: String,
    /// Declaration handle (names the object `charXXXX`).
    pub handle: u16,
    /// Value handle (the `Handle` property).
    pub value_handle: u16,
    /// BlueZ flag names.
    pub flags: Vec<String>,
    /// What the peripheral holds.
    pub value: Vec<u8>,
    /// BlueZ's cached value: updated by reads and notifications only.
    pub cached: Vec<u8>,
    /// Clients (unique bus names) with a notify session.
    pub notify_sessions: BTreeSet<String>,
    /// Its descriptors.
    pub descriptors: Vec<Descriptor>,
}

/// A descriptor.
#[derive(Clone, Debug)]
pub struct Descriptor {
    /// Canonical UUID.
    pub uuid: String,
    /// Handle (names the object `descXXXX`).
    pub handle: u16,
    /// `read` and/or `write`.
    pub flags: Vec<String>,
    /// What the peripheral holds.
    pub value: Vec<u8>,
    /// BlueZ's cached value.
    pub cached: Vec<u8>,
}

/// How a characteristic write goes over the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteType {
    /// Write request (with response).
    Request,
    /// Write command (without response).
    Command,
    /// Reliable (prepared) write.
    Reliable,
}

/// The options BlueZ reads from a `ReadValue`/`WriteValue` dictionary.
#[derive(Debug, Default, PartialEq)]
pub struct ValueOptions {
    /// `offset` (uint16).
    pub offset: u16,
    /// `type` (string), for characteristic writes.
    pub write_type: Option<WriteType>,
}

impl ValueOptions {
    /// Parses the options; wrong types or an unknown write type are `InvalidArguments`, other
    /// keys are ignored (as BlueZ does).
    pub fn parse(options: &HashMap<String, OwnedVariant>) -> Result<Self, BluezError> {
        let mut parsed = ValueOptions::default();
        for (key, value) in options {
            let value: &Variant<'_> = value;
            match key.as_str() {
                "offset" => {
                    parsed.offset = match value {
                        Variant::U16(offset) => *offset,
                        _ => return Err(BluezError::invalid_args()),
                    }
                }
                "type" => {
                    parsed.write_type = Some(match value {
                        Variant::Str(text) => match text.as_str() {
                            "request" => WriteType::Request,
                            "command" => WriteType::Command,
                            "reliable" => WriteType::Reliable,
                            _ => return Err(BluezError::invalid_args()),
                        },
                        _ => return Err(BluezError::invalid_args()),
                    })
                }
                _ => {}
            }
        }
        Ok(parsed)
    }
}

/// Builds the database from the spec, laying out handles like a GATT server does and adding a
/// CCCD to notifying characteristics that lack one.
pub fn build(address: &str, services: &[ServiceSpec]) -> Result<Vec<Service>, Error> {
    let mut next = u32::from(FIRST_HANDLE);
    let mut take = || -> Result<u16, Error> {
        let handle = u16::try_from(next).map_err(|_| Error::TooManyAttributes(address.into()))?;
        next += 1;
        Ok(handle)
    };
    services
        .iter()
        .map(|service| {
            let handle = take()?;
            let characteristics = service
                .characteristics
                .iter()
                .map(|spec| build_characteristic(spec, &mut take))
                .collect::<Result<_, Error>>()?;
            Ok(Service {
                uuid: canonical(&service.uuid)?,
                primary: service.primary,
                handle,
                characteristics,
            })
        })
        .collect()
}

fn build_characteristic(
    spec: &CharSpec,
    take: &mut impl FnMut() -> Result<u16, Error>,
) -> Result<Characteristic, Error> {
    let handle = take()?;
    let value_handle = take()?;
    let mut descriptors: Vec<DescSpec> = spec.descriptors.clone();
    let notifies = spec.flags.iter().any(|f| f == "notify" || f == "indicate");
    let has_cccd = descriptors
        .iter()
        .any(|d| normalize_uuid(&d.uuid).as_deref() == Some(CCCD_UUID));
    if notifies && !has_cccd {
        descriptors.insert(
            0,
            DescSpec {
                uuid: CCCD_UUID.into(),
                flags: vec!["read".into(), "write".into()],
                value: vec![0, 0],
            },
        );
    }
    let descriptors = descriptors
        .iter()
        .map(|desc| {
            Ok(Descriptor {
                uuid: canonical(&desc.uuid)?,
                handle: take()?,
                flags: desc.flags.clone(),
                value: desc.value.clone(),
                cached: Vec::new(),
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Characteristic {
        uuid: canonical(&spec.uuid)?,
        handle,
        value_handle,
        flags: spec.flags.clone(),
        value: spec.value.clone(),
        cached: Vec::new(),
        notify_sessions: BTreeSet::new(),
        descriptors,
    })
}

/// Canonical 128-bit form of a UUID from a spec.
pub fn canonical(uuid: &str) -> Result<String, Error> {
    normalize_uuid(uuid).ok_or_else(|| Error::InvalidUuid(uuid.into()))
}

fn has_flag(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f == flag)
}

/// The ATT read the peripheral answers: its value from `offset` on.
pub fn read(flags: &[String], value: &[u8], offset: u16) -> Result<Vec<u8>, BluezError> {
    if !has_flag(flags, "read") {
        return Err(BluezError::NotPermitted("Read not permitted".into()));
    }
    value
        .get(usize::from(offset)..)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| BluezError::InvalidOffset("Invalid offset".into()))
}

/// A read through BlueZ: the peripheral's answer from `offset` on, which BlueZ also caches (the
/// `Value` property) from `offset` on.
pub fn read_and_cache(
    flags: &[String],
    value: &[u8],
    cached: &mut Vec<u8>,
    offset: u16,
) -> Result<Vec<u8>, BluezError> {
    let data = read(flags, value, offset)?;
    cached.truncate(usize::from(offset));
    cached.extend_from_slice(&data);
    Ok(data)
}

/// The value after writing `data` at `offset` into `value`, as a peripheral accepting the write
/// stores it.
fn splice(value: &[u8], data: &[u8], offset: u16) -> Result<Vec<u8>, BluezError> {
    let offset = usize::from(offset);
    if offset > value.len() {
        return Err(BluezError::InvalidOffset("Invalid offset".into()));
    }
    if offset + data.len() > MAX_VALUE_LEN {
        return Err(BluezError::InvalidValueLength("Invalid Length".into()));
    }
    let mut new = value[..offset].to_vec();
    new.extend_from_slice(data);
    Ok(new)
}

/// What a characteristic write did.
#[derive(Debug, PartialEq)]
pub struct WriteOutcome {
    /// The procedure BlueZ chose.
    pub write_type: WriteType,
    /// The peripheral's new value; `None` if it ignored a command it doesn't support.
    pub new_value: Option<Vec<u8>>,
}

/// A `WriteValue` on a characteristic, BlueZ's procedure choice included: without a `type`
/// option, `reliable-write` beats `write` beats `write-without-response`.
pub fn write_characteristic(
    characteristic: &Characteristic,
    data: &[u8],
    options: &ValueOptions,
    mtu: u16,
) -> Result<WriteOutcome, BluezError> {
    let flags = &characteristic.flags;
    let write_type = match options.write_type {
        Some(write_type) => write_type,
        None if has_flag(flags, "reliable-write") => WriteType::Reliable,
        None if has_flag(flags, "write") => WriteType::Request,
        None if has_flag(flags, "write-without-response") => WriteType::Command,
        None => return Err(BluezError::not_supported()),
    };
    let new_value = match write_type {
        WriteType::Command => {
            if data.len() + 3 > usize::from(mtu) {
                return Err(BluezError::failed("Failed to initiate write"));
            }
            // A command has no response: a peripheral that doesn't take it just drops it.
            has_flag(flags, "write-without-response")
                .then(|| splice(&characteristic.value, data, options.offset).ok())
                .flatten()
        }
        WriteType::Request | WriteType::Reliable => {
            let allowed = if write_type == WriteType::Reliable {
                has_flag(flags, "reliable-write")
            } else {
                has_flag(flags, "write")
            };
            if !allowed {
                return Err(BluezError::NotPermitted("Write not permitted".into()));
            }
            Some(splice(&characteristic.value, data, options.offset)?)
        }
    };
    Ok(WriteOutcome {
        write_type,
        new_value,
    })
}

/// A `WriteValue` on a descriptor; BlueZ refuses CCCD writes (`StartNotify` is the way).
pub fn write_descriptor(
    descriptor: &Descriptor,
    data: &[u8],
    offset: u16,
) -> Result<Vec<u8>, BluezError> {
    if descriptor.uuid == CCCD_UUID || !has_flag(&descriptor.flags, "write") {
        return Err(BluezError::NotPermitted("Write not permitted".into()));
    }
    splice(&descriptor.value, data, offset)
}

/// Characteristic by UUID across services, with its service's handle.
pub fn find_by_uuid<'a>(
    services: &'a mut [Service],
    uuid: &str,
) -> Option<(u16, &'a mut Characteristic)> {
    services.iter_mut().find_map(|s| {
        let handle = s.handle;
        s.characteristics
            .iter_mut()
            .find(|c| c.uuid == uuid)
            .map(|c| (handle, c))
    })
}

/// Characteristic by declaration handle.
pub fn characteristic_mut(services: &mut [Service], handle: u16) -> Option<&mut Characteristic> {
    services
        .iter_mut()
        .flat_map(|s| s.characteristics.iter_mut())
        .find(|c| c.handle == handle)
}

/// Descriptor by handle, with its characteristic's UUID.
pub fn descriptor_mut(services: &mut [Service], handle: u16) -> Option<(String, &mut Descriptor)> {
    services
        .iter_mut()
        .flat_map(|s| s.characteristics.iter_mut())
        .find_map(|c| {
            let uuid = c.uuid.clone();
            c.descriptors
                .iter_mut()
                .find(|d| d.handle == handle)
                .map(|d| (uuid, d))
        })
}

/// The UUIDs of the primary services, as BlueZ adds them to the device's `UUIDs`.
pub fn primary_uuids(services: &[Service]) -> impl Iterator<Item = &str> {
    services
        .iter()
        .filter(|s| s.primary)
        .map(|s| s.uuid.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Vec<ServiceSpec> {
        vec![
            ServiceSpec {
                uuid: "180f".into(),
                primary: true,
                characteristics: vec![CharSpec {
                    uuid: "2a19".into(),
                    flags: vec!["read".into(), "notify".into()],
                    value: vec![100],
                    descriptors: vec![],
                }],
            },
            ServiceSpec {
                uuid: "0000fff0-0000-1000-8000-00805f9b34fb".into(),
                primary: true,
                characteristics: vec![CharSpec {
                    uuid: "fff1".into(),
                    flags: vec!["write-without-response".into()],
                    value: vec![],
                    descriptors: vec![DescSpec {
                        uuid: "2901".into(),
                        flags: vec!["read".into()],
                        value: b"cmd".to_vec(),
                    }],
                }],
            },
        ]
    }

    #[test]
    fn handles_are_laid_out_like_a_server_with_cccd_added() {
        let db = build("AA", &spec()).unwrap();
        assert_eq!(db[0].handle, 0x0010);
        let battery = &db[0].characteristics[0];
        assert_eq!((battery.handle, battery.value_handle), (0x0011, 0x0012));
        assert_eq!(battery.descriptors[0].uuid, CCCD_UUID);
        assert_eq!(battery.descriptors[0].handle, 0x0013);
        assert_eq!(db[1].handle, 0x0014);
        let command = &db[1].characteristics[0];
        assert_eq!((command.handle, command.value_handle), (0x0015, 0x0016));
        assert_eq!(command.descriptors.len(), 1);
        assert_eq!(command.descriptors[0].handle, 0x0017);
        assert_eq!(command.uuid, "0000fff1-0000-1000-8000-00805f9b34fb");
    }

    #[test]
    fn reads_honour_flags_and_offsets() {
        let flags = vec!["read".to_owned()];
        assert_eq!(read(&flags, b"hello", 2).unwrap(), b"llo");
        assert_eq!(read(&flags, b"hello", 5).unwrap(), b"");
        assert_eq!(
            read(&flags, b"hello", 6).unwrap_err(),
            BluezError::InvalidOffset("Invalid offset".into())
        );
        assert_eq!(
            read(&[], b"hello", 0).unwrap_err(),
            BluezError::NotPermitted("Read not permitted".into())
        );
    }

    #[test]
    fn write_procedure_follows_bluez_priority() {
        let mut db = build("AA", &spec()).unwrap();
        let command = &mut db[1].characteristics[0];
        let outcome = write_characteristic(command, &[1, 2], &ValueOptions::default(), 23).unwrap();
        assert_eq!(outcome.write_type, WriteType::Command);
        assert_eq!(outcome.new_value, Some(vec![1, 2]));
        let request = ValueOptions {
            write_type: Some(WriteType::Request),
            ..Default::default()
        };
        assert_eq!(
            write_characteristic(command, &[1], &request, 23).unwrap_err(),
            BluezError::NotPermitted("Write not permitted".into())
        );
        let battery = &db[0].characteristics[0];
        assert_eq!(
            write_characteristic(battery, &[1], &ValueOptions::default(), 23).unwrap_err(),
            BluezError::not_supported()
        );
    }

    #[test]
    fn unsupported_command_is_dropped_silently_and_long_command_fails() {
        let db = build("AA", &spec()).unwrap();
        let battery = &db[0].characteristics[0];
        let command = ValueOptions {
            write_type: Some(WriteType::Command),
            ..Default::default()
        };
        let outcome = write_characteristic(battery, &[1], &command, 23).unwrap();
        assert_eq!(outcome.new_value, None);
        assert_eq!(
            write_characteristic(battery, &[0; 21], &command, 23).unwrap_err(),
            BluezError::failed("Failed to initiate write")
        );
    }

    #[test]
    fn cccd_writes_are_refused() {
        let db = build("AA", &spec()).unwrap();
        let cccd = &db[0].characteristics[0].descriptors[0];
        assert_eq!(
            write_descriptor(cccd, &[1, 0], 0).unwrap_err(),
            BluezError::NotPermitted("Write not permitted".into())
        );
    }

    #[test]
    fn options_are_typed_like_bluez() {
        let options: HashMap<String, OwnedVariant> = [
            ("offset".to_owned(), OwnedVariant::from(3u16)),
            (
                "type".to_owned(),
                OwnedVariant::try_from(Variant::from("request")).unwrap(),
            ),
            ("mtu".to_owned(), OwnedVariant::from(23u16)),
        ]
        .into();
        assert_eq!(
            ValueOptions::parse(&options).unwrap(),
            ValueOptions {
                offset: 3,
                write_type: Some(WriteType::Request)
            }
        );
        let wide: HashMap<String, OwnedVariant> =
            [("offset".to_owned(), OwnedVariant::from(3u64))].into();
        assert_eq!(
            ValueOptions::parse(&wide).unwrap_err(),
            BluezError::invalid_args()
        );
    }
}
