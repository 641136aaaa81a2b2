//! `location DEVICE [--on|--off]`: the device's position, and switching its GNSS.

use serde_json::{Map, Value as Json};

use super::{print, print_json};
use crate::bus::{Hal, iface};
use crate::device::Properties;
use crate::error::CliError;
use crate::format::location::location_text;
use crate::format::value::{render_named, to_json};

/// The properties `location` shows, in order.
const SHOWN: [&str; 12] = [
    "Mode",
    "Latitude",
    "Longitude",
    "Altitude",
    "Speed",
    "Course",
    "Hdop",
    "Satellites",
    "FixTime",
    "Source",
    "Enabled",
    "Cell",
];

/// `m2mctl location DEVICE [--on|--off]`: `switch` calls `SetEnabled` first (privileged).
pub async fn location(
    hal: &Hal,
    json: bool,
    spec: &str,
    switch: Option<bool>,
) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    let mut properties = device.interface(iface::LOCATION)?.clone();
    if let Some(on) = switch {
        hal.call::<_, ()>(&device.path, iface::LOCATION, "SetEnabled", &(on,))
            .await?;
        properties = hal.properties(&device.path, iface::LOCATION).await?;
    }
    if json {
        let fields: Map<String, Json> = SHOWN
            .iter()
            .filter_map(|name| Some((name.to_lowercase(), to_json(properties.get(*name)?))))
            .collect();
        print_json(&Json::Object(fields))
    } else {
        print(&location_lines(&properties))
    }
}

/// One `Name  value` line per property, with units.
fn location_lines(location: &Properties) -> String {
    let width = SHOWN.iter().map(|name| name.len()).max().unwrap_or(0);
    SHOWN
        .iter()
        .filter_map(|name| {
            let value = location.get(*name)?;
            let text = location_text(name, value).unwrap_or_else(|| render_named(name, value));
            Some(format!("{name:<width$}  {text}\n"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use zbus::Variant;
    use zbus::zvariant::OwnedVariant;

    use super::*;

    #[test]
    fn a_fix_with_units_and_a_lost_one() {
        let properties = |pairs: Vec<(&str, Variant<'static>)>| -> Properties {
            pairs
                .into_iter()
                .map(|(name, value)| (name.to_owned(), OwnedVariant::try_from(value).unwrap()))
                .collect()
        };
        let fix = properties(vec![
            ("Mode", Variant::from("3d")),
            ("Latitude", Variant::from(52.52)),
            ("Longitude", Variant::from(-13.405)),
            ("Altitude", Variant::from(34.0)),
            ("Satellites", Variant::from(8u32)),
            ("FixTime", Variant::from(0u64)),
            ("Enabled", Variant::from(true)),
        ]);
        assert_eq!(
            location_lines(&fix),
            "Mode        3d\n\
             Latitude    52.520000° N\n\
             Longitude   13.405000° W\n\
             Altitude    34.0 m\n\
             Satellites  8\n\
             FixTime     never (0)\n\
             Enabled     true\n"
        );
        let lost = properties(vec![("Latitude", Variant::from(f64::NAN))]);
        assert_eq!(location_lines(&lost), "Latitude    unknown\n");
    }
}
