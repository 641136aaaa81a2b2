//! zbus proxies of the ModemManager 1.x D-Bus API (`org.freedesktop.ModemManager1`) that m2mhal
//! uses: the manager (`InhibitDevice`), modems (Modem, Modem3gpp, Signal, Messaging, Location),
//! SMS and bearers. ModemManager's own object manager is `zbus::fdo::ObjectManagerProxy` at
//! [`MM_PATH`].

use std::collections::HashMap;

use zbus::proxy;
use zbus::{OwnedObjectPath, OwnedVariant};

/// ModemManager's bus name.
pub const MM_NAME: &str = "org.freedesktop.ModemManager1";
/// ModemManager's manager object, which is also its object manager.
pub const MM_PATH: &str = "/org/freedesktop/ModemManager1";
/// The interface every modem object has.
pub const MODEM_INTERFACE: &str = "org.freedesktop.ModemManager1.Modem";

/// `org.freedesktop.ModemManager1`: the manager.
#[proxy(
    interface = "org.freedesktop.ModemManager1",
    default_service = "org.freedesktop.ModemManager1",
    default_path = "/org/freedesktop/ModemManager1"
)]
pub trait Manager {
    /// Takes the device with this `uid` (a modem's `Device` property) from ModemManager
    /// (`inhibit` true) or gives it back (false); ModemManager gives it back by itself when the
    /// caller leaves the bus.
    fn inhibit_device(&self, uid: &str, inhibit: bool) -> zbus::Result<()>;
}

/// `org.freedesktop.ModemManager1.Modem`.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Modem",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Modem {
    /// Enables (or disables) the modem.
    fn enable(&self, enable: bool) -> zbus::Result<()>;
    /// Resets the modem (not every plugin can).
    fn reset(&self) -> zbus::Result<()>;
    /// Runs an AT command (only when ModemManager runs with `--debug`).
    fn command(&self, cmd: &str, timeout: u32) -> zbus::Result<String>;
    /// The bearers of the modem.
    #[zbus(property)]
    fn bearers(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
    /// The sysfs path of the physical device: its uid for `InhibitDevice`.
    #[zbus(property)]
    fn device(&self) -> zbus::Result<String>;
    /// The kernel names of the modem's ports with their `MMModemPortType`.
    #[zbus(property)]
    fn ports(&self) -> zbus::Result<Vec<(String, u32)>>;
    /// The port ModemManager talks to the modem through.
    #[zbus(property)]
    fn primary_port(&self) -> zbus::Result<String>;
    /// IMEI (3GPP) or ESN/MEID.
    #[zbus(property)]
    fn equipment_identifier(&self) -> zbus::Result<String>;
    /// Manufacturer.
    #[zbus(property)]
    fn manufacturer(&self) -> zbus::Result<String>;
    /// Model.
    #[zbus(property)]
    fn model(&self) -> zbus::Result<String>;
    /// Firmware revision.
    #[zbus(property)]
    fn revision(&self) -> zbus::Result<String>;
    /// `MMModemState`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<i32>;
    /// `MMModemStateFailedReason`.
    #[zbus(property)]
    fn state_failed_reason(&self) -> zbus::Result<u32>;
    /// `MMModemLock`: which unlock the SIM waits for.
    #[zbus(property)]
    fn unlock_required(&self) -> zbus::Result<u32>;
    /// `MMModemAccessTechnology` flags.
    #[zbus(property)]
    fn access_technologies(&self) -> zbus::Result<u32>;
    /// Signal quality in percent, and whether it is recent.
    #[zbus(property)]
    fn signal_quality(&self) -> zbus::Result<(u32, bool)>;
}

/// `org.freedesktop.ModemManager1.Modem.Modem3gpp`.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Modem.Modem3gpp",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Modem3gpp {
    /// IMEI.
    #[zbus(property)]
    fn imei(&self) -> zbus::Result<String>;
    /// `MMModem3gppRegistrationState`.
    #[zbus(property)]
    fn registration_state(&self) -> zbus::Result<u32>;
    /// MCC and MNC of the network.
    #[zbus(property)]
    fn operator_code(&self) -> zbus::Result<String>;
    /// Name of the network.
    #[zbus(property)]
    fn operator_name(&self) -> zbus::Result<String>;
}

/// `org.freedesktop.ModemManager1.Modem.Signal`: extended signal figures, refreshed every
/// `Setup` seconds.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Modem.Signal",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Signal {
    /// Refreshes the figures every `rate` seconds (0: never).
    fn setup(&self, rate: u32) -> zbus::Result<()>;
    /// The refresh rate in seconds.
    #[zbus(property)]
    fn rate(&self) -> zbus::Result<u32>;
    /// GSM figures (`rssi`).
    #[zbus(property)]
    fn gsm(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
    /// UMTS figures (`rssi`, `rscp`, `ecio`).
    #[zbus(property)]
    fn umts(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
    /// LTE figures (`rssi`, `rsrq`, `rsrp`, `snr`).
    #[zbus(property)]
    fn lte(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
    /// 5G NR figures (`rsrq`, `rsrp`, `snr`).
    #[zbus(property)]
    fn nr5g(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
}

/// `org.freedesktop.ModemManager1.Modem.Messaging`.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Modem.Messaging",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Messaging {
    /// The SMS objects of the modem.
    fn list(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
    /// Creates an SMS to send (`number`, `text` or `data`, ...).
    fn create(&self, properties: HashMap<&str, zbus::Variant<'_>>)
    -> zbus::Result<OwnedObjectPath>;
    /// Deletes an SMS from ModemManager and the modem's storage.
    fn delete(&self, path: &zbus::ObjectPath<'_>) -> zbus::Result<()>;
    /// An SMS object appeared; `received` when it came from the network.
    #[zbus(signal)]
    fn added(&self, path: OwnedObjectPath, received: bool) -> zbus::Result<()>;
    /// An SMS object went away.
    #[zbus(signal)]
    fn deleted(&self, path: OwnedObjectPath) -> zbus::Result<()>;
}

/// `org.freedesktop.ModemManager1.Sms`.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Sms",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Sms {
    /// Sends the SMS.
    fn send(&self) -> zbus::Result<()>;
    /// `MMSmsState`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<u32>;
    /// `MMSmsPduType`.
    #[zbus(property)]
    fn pdu_type(&self) -> zbus::Result<u32>;
    /// The other party's number.
    #[zbus(property)]
    fn number(&self) -> zbus::Result<String>;
    /// The text, "" for data.
    #[zbus(property)]
    fn text(&self) -> zbus::Result<String>;
    /// The 8-bit data, empty for text.
    #[zbus(property)]
    fn data(&self) -> zbus::Result<Vec<u8>>;
    /// The service centre.
    #[zbus(property, name = "SMSC")]
    fn smsc(&self) -> zbus::Result<String>;
    /// The service centre's time stamp (ISO 8601).
    #[zbus(property)]
    fn timestamp(&self) -> zbus::Result<String>;
}

/// `org.freedesktop.ModemManager1.Modem.Location`.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Modem.Location",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Location {
    /// Enables the `MMModemLocationSource` flags `sources`.
    fn setup(&self, sources: u32, signal_location: bool) -> zbus::Result<()>;
    /// The current location per source.
    fn get_location(&self) -> zbus::Result<HashMap<u32, OwnedVariant>>;
    /// Updates the GNSS sources' location at most every `rate` seconds (0: every trace).
    fn set_gps_refresh_rate(&self, rate: u32) -> zbus::Result<()>;
    /// The sources the modem has.
    #[zbus(property)]
    fn capabilities(&self) -> zbus::Result<u32>;
    /// The sources enabled now.
    #[zbus(property)]
    fn enabled(&self) -> zbus::Result<u32>;
}

/// `org.freedesktop.ModemManager1.Bearer`.
#[proxy(
    interface = "org.freedesktop.ModemManager1.Bearer",
    default_service = "org.freedesktop.ModemManager1"
)]
pub trait Bearer {
    /// Whether the bearer is connected.
    #[zbus(property)]
    fn connected(&self) -> zbus::Result<bool>;
    /// The network interface (`wwan0`).
    #[zbus(property)]
    fn interface(&self) -> zbus::Result<String>;
    /// IPv4 settings (`address`, `prefix`, `gateway`, ...).
    #[zbus(property)]
    fn ip4_config(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
    /// IPv6 settings.
    #[zbus(property)]
    fn ip6_config(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
    /// The settings the bearer was created with (`apn`, ...).
    #[zbus(property)]
    fn properties(&self) -> zbus::Result<HashMap<String, OwnedVariant>>;
}
