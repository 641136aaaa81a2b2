//! The values in identification answers (`AT+CGMI`, `AT+CGMM`, `AT+CGMR`, `AT+CGSN`, `AT+CCID`).
//!
//! Modems answer these with the bare value (`Quectel`, `867698041234567`) or behind the
//! command's name (`+CGMI: "u-blox"`, `^ICCID: 8944...`, `Revision: EG25GGBR07A08M2G`), quoted
//! or not. [`DeviceIdentity`] holds the values a driver publishes.

use m2mhal_plugin_api::{DeviceKind, DeviceUpdate};

/// What the identification commands told of a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// `AT+CGMI`.
    pub manufacturer: String,
    /// `AT+CGMM`.
    pub model: String,
    /// The firmware revision (`AT+CGMR`).
    pub revision: String,
    /// `AT+CGSN`, 15 digits.
    pub imei: String,
}

impl DeviceIdentity {
    /// The update that makes the host publish a device of `kind` with this identity: `Id`
    /// `imei:<IMEI>`, the IMEI as serial number, the `signal` and `messaging` capabilities and
    /// payloads of up to `max_payload` bytes.
    pub fn device_update(&self, kind: DeviceKind, max_payload: usize) -> DeviceUpdate {
        DeviceUpdate {
            id: Some(format!("imei:{}", self.imei)),
            kind: Some(kind),
            manufacturer: Some(self.manufacturer.clone()),
            model: Some(self.model.clone()),
            revision: Some(self.revision.clone()),
            serial_number: Some(self.imei.clone()),
            capabilities: Some(vec!["signal".to_owned(), "messaging".to_owned()]),
            max_payload: u32::try_from(max_payload).ok(),
            ..DeviceUpdate::default()
        }
    }
}

/// The value of an identification answer line: the text after an optional `<name>:` prefix,
/// without quotes. `None` for an empty answer.
pub fn identity_value(line: &str) -> Option<String> {
    let line = line.trim();
    let value = match line.split_once(':') {
        Some((head, rest)) if is_value_name(head) => rest,
        _ => line,
    };
    let value = value.trim().trim_matches('"').trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The value of the first answer line that has one.
pub fn first_identity_value(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| identity_value(line))
}

/// The IMEI in an `AT+CGSN` answer: the first line whose value is 15 digits.
pub fn find_imei(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| imei(line))
}

fn imei(line: &str) -> Option<String> {
    identity_value(line)
        .filter(|value| value.len() == 15 && value.bytes().all(|b| b.is_ascii_digit()))
}

/// `+CGSN`, `^ICCID`, `#CCID`, `Revision`: a name a modem puts in front of a value (one word,
/// so that a value with a colon in it, `Call Processor Version: TA19002`, stays whole).
fn is_value_name(head: &str) -> bool {
    let name = head.trim_start_matches(['+', '^', '#', '$', '!']);
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn identity_values_lose_prefix_and_quotes() {
        assert_eq!(identity_value("Quectel").as_deref(), Some("Quectel"));
        assert_eq!(
            identity_value(r#"+CGSN: "867698041234567""#).as_deref(),
            Some("867698041234567")
        );
        assert_eq!(
            identity_value("^ICCID: 89860000000000000000").as_deref(),
            Some("89860000000000000000")
        );
        assert_eq!(
            identity_value("Revision: EG25GGBR07A08M2G").as_deref(),
            Some("EG25GGBR07A08M2G")
        );
        assert_eq!(
            identity_value("SIMCOM INCORPORATED").as_deref(),
            Some("SIMCOM INCORPORATED")
        );
        assert_eq!(
            identity_value("Call Processor Version: TA19002").as_deref(),
            Some("Call Processor Version: TA19002")
        );
        assert_eq!(identity_value("  "), None);
        assert_eq!(identity_value("+CGMI: \"\""), None);
    }

    #[test]
    fn first_value_skips_empty_lines() {
        assert_eq!(
            first_identity_value(&lines(&["", "+CGMM: EG25"])).as_deref(),
            Some("EG25")
        );
        assert_eq!(first_identity_value(&[]), None);
    }

    #[test]
    fn the_update_publishes_the_identity_under_the_imei() {
        let identity = DeviceIdentity {
            manufacturer: "Quectel".into(),
            model: "EG25".into(),
            revision: "EG25GGBR07A08M2G".into(),
            imei: "867698041234567".into(),
        };
        let some = |text: &str| Some(text.to_owned());
        assert_eq!(
            identity.device_update(DeviceKind::CellularModem, 1200),
            DeviceUpdate {
                id: some("imei:867698041234567"),
                kind: Some(DeviceKind::CellularModem),
                manufacturer: some("Quectel"),
                model: some("EG25"),
                revision: some("EG25GGBR07A08M2G"),
                serial_number: some("867698041234567"),
                capabilities: Some(vec!["signal".to_owned(), "messaging".to_owned()]),
                max_payload: Some(1200),
                ..DeviceUpdate::default()
            }
        );
    }

    #[test]
    fn imei_is_fifteen_digits_bare_or_quoted() {
        let imei = |line: &str| find_imei(&lines(&[line]));
        assert_eq!(imei("867698041234567").as_deref(), Some("867698041234567"));
        assert_eq!(
            imei(r#"+CGSN: "300434063963620""#).as_deref(),
            Some("300434063963620")
        );
        assert_eq!(imei("86769804123456"), None);
        assert_eq!(imei("8676980412345678"), None);
        assert_eq!(imei("86769804123456X"), None);
        assert_eq!(
            find_imei(&lines(&["ERROR?", "490154203237518"])).as_deref(),
            Some("490154203237518")
        );
    }
}
