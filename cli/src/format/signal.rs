//! `Signal` levels for people: RSSI and RSRP in dBm, RSRQ and SINR in dB, "unknown" where the
//! API's "unknown" value (0 dBm, NaN dB) stands.

use zbus::Variant;

use crate::device::unwrap_variant;

/// A `Signal` level property as text with its unit (`-73 dBm`, `-9.5 dB`, `unknown`); `None`
/// for any other property.
pub fn level_text(property: &str, value: &Variant<'_>) -> Option<String> {
    match (property, unwrap_variant(value)) {
        ("Rssi" | "Rsrp", Variant::I32(0)) => Some("unknown".to_owned()),
        ("Rssi" | "Rsrp", Variant::I32(dbm)) => Some(format!("{dbm} dBm")),
        ("Rsrq" | "Sinr", Variant::F64(db)) if db.is_nan() => Some("unknown".to_owned()),
        ("Rsrq" | "Sinr", Variant::F64(db)) => Some(format!("{db} dB")),
        _ => None,
    }
}

/// The known ones of a modem's `Rssi` and `Rsrp` as `RSSI -73 dBm, RSRP -93 dBm` ("" when
/// neither is known): the two differ by 20-30 dB on one LTE cell, so both are named.
pub fn modem_levels(rssi: Option<&Variant<'_>>, rsrp: Option<&Variant<'_>>) -> String {
    let known = |label: &str, value: Option<&Variant<'_>>| match value.map(unwrap_variant) {
        Some(Variant::I32(dbm)) if *dbm != 0 => Some(format!("{label} {dbm} dBm")),
        _ => None,
    };
    [known("RSSI", rssi), known("RSRP", rsrp)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_have_units_and_unknown_is_named() {
        let text = |property, value: Variant<'_>| level_text(property, &value);
        assert_eq!(
            text("Rssi", Variant::from(-73i32)).as_deref(),
            Some("-73 dBm")
        );
        assert_eq!(
            text("Rsrp", Variant::from(0i32)).as_deref(),
            Some("unknown")
        );
        assert_eq!(
            text("Rsrq", Variant::from(-9.5f64)).as_deref(),
            Some("-9.5 dB")
        );
        assert_eq!(
            text("Sinr", Variant::from(f64::NAN)).as_deref(),
            Some("unknown")
        );
        assert_eq!(text("Quality", Variant::from(60u32)), None);
    }

    #[test]
    fn modem_levels_name_what_is_known() {
        let rssi = Variant::from(-73i32);
        let rsrp = Variant::from(-93i32);
        let unknown = Variant::from(0i32);
        assert_eq!(
            modem_levels(Some(&rssi), Some(&rsrp)),
            "RSSI -73 dBm, RSRP -93 dBm"
        );
        assert_eq!(modem_levels(Some(&rssi), Some(&unknown)), "RSSI -73 dBm");
        assert_eq!(modem_levels(Some(&unknown), None), "");
    }
}
