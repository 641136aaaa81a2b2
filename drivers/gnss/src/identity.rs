//! Who the receiver is: its `Id` from the port's udev properties, and its maker, model and
//! firmware from the TXT sentences a u-blox sends at power-up.

use std::collections::BTreeMap;

/// The device `Id`: `gnss:` and the USB serial number, or the `/dev/serial/by-id/` name, or the
/// USB serial string, or (a receiver on a fixed UART) the port's name.
pub(crate) fn device_id(port: &str, properties: &BTreeMap<String, String>) -> String {
    let property = |key: &str| {
        properties
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let by_id = || {
        property("DEVLINKS")?
            .split_whitespace()
            .find_map(|link| link.strip_prefix("/dev/serial/by-id/"))
    };
    let name = property("ID_SERIAL_SHORT")
        .or_else(by_id)
        .or_else(|| property("ID_SERIAL"))
        .unwrap_or_else(|| port.rsplit('/').next().unwrap_or(port));
    format!("gnss:{name}")
}

/// What the TXT sentences said about the receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    /// `Manufacturer`.
    pub manufacturer: String,
    /// `Model`: the module (`MOD=NEO-M8N-0`) or else the chip (`HW UBX-M8030`).
    pub model: String,
    /// `Revision`: the firmware (`FWVER=SPG 3.01`, or the `EXT`/`ROM CORE` version).
    pub revision: String,
    module_named: bool,
    firmware_named: bool,
}

impl Identity {
    /// Learns from one TXT text; returns whether anything changed.
    pub fn learn(&mut self, text: &str) -> bool {
        let before = self.clone();
        let text = text.trim();
        if text.to_ascii_lowercase().starts_with("u-blox") {
            self.manufacturer = "u-blox".to_owned();
        } else if let Some(module) = text
            .strip_prefix("MOD=")
            .or_else(|| text.strip_prefix("MOD "))
        {
            self.model = module.trim().to_owned();
            self.module_named = true;
        } else if let Some(hardware) = text.strip_prefix("HW ") {
            if !self.module_named
                && let Some(chip) = hardware.split_whitespace().next()
            {
                self.model = chip.to_owned();
            }
        } else if let Some(firmware) = text.strip_prefix("FWVER=") {
            self.revision = firmware.trim().to_owned();
            self.firmware_named = true;
        } else if let Some((_, core)) = text.split_once("CORE ")
            && !self.firmware_named
            && (text.starts_with("EXT ") || text.starts_with("ROM "))
        {
            let version: Vec<&str> = core.split_whitespace().take(2).collect();
            self.revision = version.join(" ");
        }
        *self != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_prefers_the_usb_serial_then_the_by_id_name_then_the_port() {
        let mut properties = BTreeMap::from([
            ("ID_SERIAL".to_owned(), "u-blox_AG_u-blox_7".to_owned()),
            (
                "DEVLINKS".to_owned(),
                "/dev/gps0 /dev/serial/by-id/usb-u-blox_AG_u-blox_7-if00".to_owned(),
            ),
        ]);
        assert_eq!(
            device_id("/dev/ttyACM0", &properties),
            "gnss:usb-u-blox_AG_u-blox_7-if00"
        );
        properties.insert("ID_SERIAL_SHORT".to_owned(), "01A2B3".to_owned());
        assert_eq!(device_id("/dev/ttyACM0", &properties), "gnss:01A2B3");
        assert_eq!(device_id("/dev/ttymxc1", &BTreeMap::new()), "gnss:ttymxc1");
    }

    #[test]
    fn a_lea_5h_and_a_neo_m8n_introduce_themselves() {
        // TXT texts of a LEA-5H at power-up (gpsd's regression log ublox-lea-5h.log).
        let mut lea = Identity::default();
        for text in [
            "u-blox ag - www.u-blox.com",
            "HW  UBX-G50xx  00040005 ",
            "EXT CORE 6.00 (33247) May 13 2009 17:35:46",
            "ROM BASE 4.00 (25682) Jan 14 2008 16:29:23",
            "MOD LEA-5H-0",
            "ANTSUPERV=AC SD PDoS SR",
            "ANTSTATUS=OK",
        ] {
            lea.learn(text);
        }
        assert_eq!(
            (
                lea.manufacturer.as_str(),
                lea.model.as_str(),
                lea.revision.as_str()
            ),
            ("u-blox", "LEA-5H-0", "6.00 (33247)")
        );
        let mut neo = Identity::default();
        assert!(neo.learn("u-blox AG - www.u-blox.com"));
        assert!(neo.learn("HW UBX-M8030 00080000"));
        assert!(neo.learn("ROM CORE 3.01 (107888)"));
        assert!(neo.learn("FWVER=SPG 3.01"));
        assert!(!neo.learn("PROTVER=18.00"));
        assert!(!neo.learn("ROM CORE 3.01 (107888)"), "FWVER stays");
        assert_eq!(
            (neo.model.as_str(), neo.revision.as_str()),
            ("UBX-M8030", "SPG 3.01")
        );
    }
}
