//! `sensor DEVICE [--refresh]`: the Sensor interface's readings with their units.

use serde_json::json;

use super::{print, print_json};
use crate::bus::{Hal, iface};
use crate::device::Properties;
use crate::error::CliError;
use crate::format::sensor::unit;
use crate::format::table::Table;
use crate::format::value::{dict_entries, render, render_named, to_json};

/// `m2mctl sensor DEVICE [--refresh]`
pub async fn sensor(hal: &Hal, json: bool, spec: &str, refresh: bool) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    let mut properties = device.interface(iface::SENSOR)?.clone();
    if refresh {
        hal.call::<_, ()>(&device.path, iface::SENSOR, "Refresh", &())
            .await?;
        properties = hal.properties(&device.path, iface::SENSOR).await?;
    }
    if json {
        let value = |name| properties.get(name).map(|value| to_json(value));
        print_json(&json!({
            "readings": value("Readings").unwrap_or_else(|| json!({})),
            "updated_at": value("UpdatedAt"),
        }))
    } else {
        print(&readings_text(&properties))
    }
}

/// The readings as a KEY VALUE UNIT table sorted by key, then when they were taken.
fn readings_text(sensor: &Properties) -> String {
    let readings = sensor
        .get("Readings")
        .map(|value| dict_entries(value))
        .unwrap_or_default();
    let mut text = if readings.is_empty() {
        "no readings\n".to_owned()
    } else {
        let mut table = Table::new(&["KEY", "VALUE", "UNIT"]);
        for (key, value) in &readings {
            let unit = unit(key).unwrap_or_default().to_owned();
            table.push(vec![key.clone(), render(value), unit]);
        }
        table.render()
    };
    let updated = sensor.get("UpdatedAt").map_or_else(
        || "unknown".to_owned(),
        |value| render_named("UpdatedAt", value),
    );
    text.push_str(&format!("UpdatedAt: {updated}\n"));
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use zbus::Variant;

    use super::*;
    use crate::test_support::properties;

    #[test]
    fn table_of_readings_with_units_then_the_time() {
        let readings = Variant::from(BTreeMap::from([
            ("temperature", Variant::from(21.5f64)),
            ("battery", Variant::from(87.0f64)),
            ("temperature_2", Variant::from(-3.25f64)),
            ("co2", Variant::from(612.0f64)),
            ("motion", Variant::from(1.0f64)),
        ]));
        let sensor = properties([
            ("Readings", readings),
            ("UpdatedAt", Variant::from(1_714_564_800u64)),
        ]);
        assert_eq!(
            readings_text(&sensor),
            "KEY            VALUE  UNIT\n\
             battery        87     %\n\
             co2            612    ppm\n\
             motion         1      -\n\
             temperature    21.5   °C\n\
             temperature_2  -3.25  °C\n\
             UpdatedAt: 2024-05-01 12:00:00 UTC (1714564800)\n"
        );
    }

    #[test]
    fn before_the_first_reading() {
        let empty: BTreeMap<&str, Variant> = BTreeMap::new();
        let sensor = properties([
            ("Readings", Variant::from(empty)),
            ("UpdatedAt", Variant::from(0u64)),
        ]);
        assert_eq!(
            readings_text(&sensor),
            "no readings\nUpdatedAt: never (0)\n"
        );
        assert_eq!(
            readings_text(&Properties::new()),
            "no readings\nUpdatedAt: unknown\n"
        );
    }
}
