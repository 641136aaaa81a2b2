//! A modem's ModemManager properties (as `GetAll` returns them per interface) in m2mhal's words:
//! the device's identity and state, and its signal. Pure; [`super::served`] reads the maps.

use std::collections::HashMap;

use m2mhal_plugin_api::{DeviceKind, DeviceUpdate, SignalUpdate};
use zbus::{OwnedVariant, Variant};

use super::mapping::{self, MmSignal};
use crate::device::state::DataState;

/// One interface's properties, by name.
pub type Properties = HashMap<String, OwnedVariant>;

/// The largest payload one `Send` takes: the same as the direct driver's (8 concatenated parts
/// of GSM 7-bit text).
pub const MAX_PAYLOAD: u32 = 1200;

/// `MMModemState` from which a modem can send and receive SMS (`registered` and beyond).
const MM_STATE_REGISTERED: i32 = 8;
/// `MM_MODEM_STATE_DISABLED`.
const MM_STATE_DISABLED: i32 = 3;

/// The property `name` of `properties` as a `T`, if present and of that type.
pub fn value<T>(properties: &Properties, name: &str) -> Option<T>
where
    T: TryFrom<Variant<'static>>,
{
    variant_value(properties.get(name)?)
}

/// `variant` as a `T`, if it is of that type.
pub fn variant_value<T>(variant: &OwnedVariant) -> Option<T>
where
    T: TryFrom<Variant<'static>>,
{
    T::try_from(Variant::from(variant.try_clone().ok()?)).ok()
}

/// What m2mhal makes of a modem's `org.freedesktop.ModemManager1.Modem` properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ModemView {
    /// `imei:<IMEI>`, when the equipment identifier is an IMEI.
    pub id: Option<String>,
    /// MM's `State`.
    pub mm_state: i32,
    /// The device's port: `/dev/<PrimaryPort>`, "" when MM names none.
    pub port: String,
    /// The device update: identity, state and reason.
    pub device: DeviceUpdate,
}

impl ModemView {
    /// Reads the `Modem` interface's properties.
    pub fn read(modem: &Properties) -> ModemView {
        let text = |name: &str| value::<String>(modem, name).unwrap_or_default();
        let imei = text("EquipmentIdentifier");
        let id = (imei.len() == 15 && imei.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| format!("imei:{imei}"));
        let mm_state = value::<i32>(modem, "State").unwrap_or(0);
        let (state, reason) = mapping::device_state(
            mm_state,
            value::<u32>(modem, "StateFailedReason").unwrap_or(0),
            value::<u32>(modem, "UnlockRequired").unwrap_or(0),
        );
        let primary = text("PrimaryPort");
        let port = if primary.is_empty() {
            String::new()
        } else {
            format!("/dev/{primary}")
        };
        let device = DeviceUpdate {
            id: id.clone(),
            kind: Some(DeviceKind::CellularModem),
            manufacturer: Some(text("Manufacturer")),
            model: Some(text("Model")),
            revision: Some(text("Revision")),
            serial_number: Some(imei),
            state: Some(state.to_owned()),
            state_reason: Some(reason.to_owned()),
            capabilities: Some(["signal", "messaging", "data"].map(str::to_owned).to_vec()),
            max_payload: Some(MAX_PAYLOAD),
            ..DeviceUpdate::default()
        };
        ModemView {
            id,
            mm_state,
            port,
            device,
        }
    }

    /// Whether the modem can send and receive SMS now.
    pub fn registered(&self) -> bool {
        self.mm_state >= MM_STATE_REGISTERED
    }

    /// Whether the modem is disabled (and m2mhald may enable it).
    pub fn disabled(&self) -> bool {
        self.mm_state == MM_STATE_DISABLED
    }
}

/// The `Data` properties for a modem's bearers (their `Bearer` properties): the connected one,
/// else the first; nothing known without one.
pub fn data_state(bearers: &[Properties]) -> DataState {
    let connected = |bearer: &&Properties| value::<bool>(bearer, "Connected").unwrap_or(false);
    let Some(bearer) = bearers.iter().find(connected).or(bearers.first()) else {
        return DataState::default();
    };
    let address = |name: &str| {
        let config = value::<HashMap<String, OwnedVariant>>(bearer, name).unwrap_or_default();
        match (
            value::<String>(&config, "address"),
            value::<u32>(&config, "prefix"),
        ) {
            (Some(address), Some(prefix)) if prefix > 0 => format!("{address}/{prefix}"),
            (Some(address), _) => address,
            (None, _) => String::new(),
        }
    };
    let settings = value::<HashMap<String, OwnedVariant>>(bearer, "Properties").unwrap_or_default();
    DataState {
        connected: connected(&bearer),
        interface: value::<String>(bearer, "Interface").unwrap_or_default(),
        ipv4: address("Ip4Config"),
        ipv6: address("Ip6Config"),
        apn: value::<String>(&settings, "apn").unwrap_or_default(),
    }
}

/// `Signal` properties from the `Modem`, `Modem3gpp` and `Signal` interfaces' properties (each
/// empty when the modem lacks it). `updated_at` is left to the caller.
pub fn signal_update(modem: &Properties, gpp: &Properties, signal: &Properties) -> SignalUpdate {
    let quality = value::<(u32, bool)>(modem, "SignalQuality").map(|(quality, _)| quality);
    let technology =
        mapping::technology(value::<u32>(modem, "AccessTechnologies").unwrap_or(0)).to_owned();
    let registration =
        value::<u32>(gpp, "RegistrationState").map(|state| mapping::registration(state).to_owned());
    let operator = value::<String>(gpp, "OperatorName");
    let figures = mapping::signal_figures(extended_signal(signal));
    SignalUpdate {
        quality,
        rssi: Some(figures.rssi),
        rsrp: Some(figures.rsrp),
        rsrq: Some(figures.rsrq),
        sinr: Some(figures.sinr),
        technology: Some(technology),
        registration,
        operator,
        updated_at: None,
    }
}

/// The figures of MM's `Signal` interface: RSSI of the most capable technology that has one,
/// RSRP/RSRQ/SNR of 5G NR or else LTE.
fn extended_signal(signal: &Properties) -> MmSignal {
    let dict =
        |name: &str| value::<HashMap<String, OwnedVariant>>(signal, name).unwrap_or_default();
    let dicts = [dict("Nr5g"), dict("Lte"), dict("Umts"), dict("Gsm")];
    let figure = |name: &str, among: &[HashMap<String, OwnedVariant>]| {
        among
            .iter()
            .filter_map(|dict| value::<f64>(dict, name))
            .find(|figure| figure.is_finite())
    };
    MmSignal {
        rssi: figure("rssi", &dicts),
        rsrp: figure("rsrp", &dicts[..2]),
        rsrq: figure("rsrq", &dicts[..2]),
        snr: figure("snr", &dicts[..2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(entries: Vec<(&str, Variant<'static>)>) -> Properties {
        entries
            .into_iter()
            .map(|(name, value)| (name.to_owned(), OwnedVariant::try_from(value).unwrap()))
            .collect()
    }

    fn modem(state: i32) -> Properties {
        properties(vec![
            ("EquipmentIdentifier", Variant::from("356938035643809")),
            ("Manufacturer", Variant::from("Quectel")),
            ("Model", Variant::from("EG25")),
            ("Revision", Variant::from("EG25GGBR07A08M2G")),
            ("PrimaryPort", Variant::from("ttyUSB2")),
            ("State", Variant::from(state)),
            ("StateFailedReason", Variant::from(0u32)),
            ("UnlockRequired", Variant::from(1u32)),
            ("AccessTechnologies", Variant::from(1u32 << 14)),
            ("SignalQuality", Variant::from((64u32, true))),
        ])
    }

    #[test]
    fn a_registered_modem_is_a_ready_cellular_modem_with_the_direct_drivers_id() {
        let view = ModemView::read(&modem(8));
        assert_eq!(view.id.as_deref(), Some("imei:356938035643809"));
        assert!(view.registered());
        assert!(!view.disabled());
        let device = &view.device;
        assert_eq!(device.kind, Some(DeviceKind::CellularModem));
        assert_eq!(device.manufacturer.as_deref(), Some("Quectel"));
        assert_eq!(device.model.as_deref(), Some("EG25"));
        assert_eq!(device.revision.as_deref(), Some("EG25GGBR07A08M2G"));
        assert_eq!(device.serial_number.as_deref(), Some("356938035643809"));
        assert_eq!(device.state.as_deref(), Some("ready"));
        assert_eq!(device.state_reason.as_deref(), Some(""));
        assert_eq!(device.max_payload, Some(MAX_PAYLOAD));
        assert_eq!(view.port, "/dev/ttyUSB2");
    }

    #[test]
    fn a_disabled_or_failed_modem_says_so() {
        let disabled = ModemView::read(&modem(3));
        assert!(disabled.disabled() && !disabled.registered());
        assert_eq!(
            disabled.device.state_reason.as_deref(),
            Some("modem-disabled")
        );
        let mut failed = modem(-1);
        failed.insert("StateFailedReason".to_owned(), OwnedVariant::from(2u32));
        let failed = ModemView::read(&failed);
        assert_eq!(failed.device.state.as_deref(), Some("failed"));
        assert_eq!(failed.device.state_reason.as_deref(), Some("sim-missing"));
        let esn = properties(vec![("EquipmentIdentifier", Variant::from("8088AB12"))]);
        assert_eq!(ModemView::read(&esn).id, None);
    }

    #[test]
    fn data_comes_from_the_connected_bearer() {
        assert_eq!(data_state(&[]), DataState::default());
        let config = |address: &str, prefix: u32| {
            let config: HashMap<String, Variant<'static>> = [
                ("address".to_owned(), Variant::from(address.to_owned())),
                ("prefix".to_owned(), Variant::from(prefix)),
            ]
            .into();
            Variant::from(config)
        };
        let settings: HashMap<String, Variant<'static>> =
            [("apn".to_owned(), Variant::from("internet"))].into();
        let idle = properties(vec![
            ("Connected", Variant::from(false)),
            ("Properties", Variant::from(settings.clone())),
        ]);
        let up = properties(vec![
            ("Connected", Variant::from(true)),
            ("Interface", Variant::from("wwan0")),
            ("Ip4Config", config("10.64.12.7", 30)),
            ("Ip6Config", config("2001:db8::7", 64)),
            ("Properties", Variant::from(settings)),
        ]);
        assert_eq!(
            data_state(&[idle.clone(), up]),
            DataState {
                connected: true,
                interface: "wwan0".to_owned(),
                ipv4: "10.64.12.7/30".to_owned(),
                ipv6: "2001:db8::7/64".to_owned(),
                apn: "internet".to_owned(),
            }
        );
        let created = data_state(&[idle]);
        assert!(!created.connected);
        assert_eq!(
            (created.apn.as_str(), created.ipv4.as_str()),
            ("internet", "")
        );
    }

    #[test]
    fn signal_comes_from_all_three_interfaces() {
        let gpp = properties(vec![
            ("RegistrationState", Variant::from(5u32)),
            ("OperatorName", Variant::from("SIMNET")),
        ]);
        let lte: HashMap<String, Variant<'static>> = [
            ("rssi", -71.4),
            ("rsrp", -95.6),
            ("rsrq", -11.5),
            ("snr", 13.0),
        ]
        .into_iter()
        .map(|(name, figure)| (name.to_owned(), Variant::from(figure)))
        .collect();
        let signal = properties(vec![("Lte", Variant::from(lte))]);
        let update = signal_update(&modem(8), &gpp, &signal);
        assert_eq!(update.quality, Some(64));
        assert_eq!(update.technology.as_deref(), Some("lte"));
        assert_eq!(update.registration.as_deref(), Some("roaming"));
        assert_eq!(update.operator.as_deref(), Some("SIMNET"));
        assert_eq!(
            (update.rssi, update.rsrp, update.rsrq, update.sinr),
            (Some(-71), Some(-96), Some(-11.5), Some(13.0))
        );
        // Without Modem3gpp and Signal: what the Modem interface has, the rest unknown.
        let bare = signal_update(&modem(8), &Properties::new(), &Properties::new());
        assert_eq!((bare.registration, bare.operator), (None, None));
        assert_eq!((bare.rssi, bare.rsrp), (Some(0), Some(0)));
        assert!(bare.rsrq.is_some_and(f64::is_nan));
    }
}
