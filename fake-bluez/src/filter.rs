//! Discovery filters (`Adapter1.SetDiscoveryFilter`): parsing the `a{sv}` the way BlueZ does and
//! deciding which advertisements a client's filter lets through (BlueZ's `is_filter_match`).

use std::collections::HashMap;

use m2mhal_plugin_api::ble::normalize_uuid;
use serde::Serialize;
use zbus::{OwnedVariant, Variant};

use crate::error::BluezError;

/// The keys `GetDiscoveryFilters` reports, in BlueZ's order.
pub const FILTER_KEYS: [&str; 8] = [
    "UUIDs",
    "RSSI",
    "Pathloss",
    "Transport",
    "DuplicateData",
    "Discoverable",
    "Pattern",
    "AutoConnect",
];

/// One client's discovery filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiscoveryFilter {
    /// Service UUIDs (canonical 128-bit); empty means any.
    pub uuids: Vec<String>,
    /// Minimum RSSI, in dBm.
    pub rssi: Option<i16>,
    /// Maximum path loss (TX power minus RSSI), in dB.
    pub pathloss: Option<u16>,
    /// `auto`, `bredr` or `le`.
    pub transport: String,
    /// Report every advertisement's data, not only changes.
    pub duplicate_data: bool,
    /// Make the adapter discoverable while discovering.
    pub discoverable: bool,
    /// Prefix of address or name to report.
    pub pattern: Option<String>,
    /// Connect to matching devices automatically (recorded, not acted on).
    pub auto_connect: bool,
}

/// What an advertisement offers a filter to look at.
pub struct Sighting<'a> {
    /// Address as text, `AA:BB:...`.
    pub address: &'a str,
    /// Advertised name.
    pub name: Option<&'a str>,
    /// Advertised service UUIDs (canonical).
    pub uuids: &'a [String],
    /// Received strength.
    pub rssi: i16,
    /// Advertised TX power.
    pub tx_power: Option<i16>,
}

impl DiscoveryFilter {
    /// Parses `SetDiscoveryFilter`'s argument. `None` means "no filter": an empty dictionary
    /// removes the caller's filter.
    pub fn parse(dict: &HashMap<String, OwnedVariant>) -> Result<Option<Self>, BluezError> {
        if dict.is_empty() {
            return Ok(None);
        }
        let mut filter = DiscoveryFilter {
            transport: "auto".into(),
            ..Default::default()
        };
        for (key, value) in dict {
            let value: &Variant<'_> = value;
            match key.as_str() {
                "UUIDs" => filter.uuids = parse_uuids(value)?,
                "RSSI" => filter.rssi = Some(typed::<i16>(value)?),
                "Pathloss" => filter.pathloss = Some(typed::<u16>(value)?),
                "Transport" => {
                    let transport = typed::<String>(value)?;
                    if !["auto", "bredr", "le"].contains(&transport.as_str()) {
                        return Err(BluezError::invalid_args());
                    }
                    filter.transport = transport;
                }
                "DuplicateData" => filter.duplicate_data = typed::<bool>(value)?,
                "Discoverable" => filter.discoverable = typed::<bool>(value)?,
                "Pattern" => filter.pattern = Some(typed::<String>(value)?),
                "AutoConnect" => filter.auto_connect = typed::<bool>(value)?,
                _ => return Err(BluezError::invalid_args()),
            }
        }
        if filter.rssi.is_some() && filter.pathloss.is_some() {
            return Err(BluezError::invalid_args());
        }
        Ok(Some(filter))
    }

    /// Whether this filter reports the sighting: one of its UUIDs is advertised (or it has
    /// none), the signal is strong enough, and the pattern (if any) prefixes address or name.
    pub fn matches(&self, sighting: &Sighting<'_>) -> bool {
        let uuid_match =
            self.uuids.is_empty() || self.uuids.iter().any(|uuid| sighting.uuids.contains(uuid));
        let rssi_match = self.rssi.is_none_or(|threshold| sighting.rssi >= threshold);
        let pathloss_match = self.pathloss.is_none_or(|max| {
            sighting
                .tx_power
                .is_some_and(|tx| i32::from(tx) - i32::from(sighting.rssi) <= i32::from(max))
        });
        let pattern_match = self.pattern.as_deref().is_none_or(|pattern| {
            sighting.address.starts_with(pattern)
                || sighting.name.is_some_and(|name| name.starts_with(pattern))
        });
        uuid_match && rssi_match && pathloss_match && pattern_match
    }
}

fn typed<T>(value: &Variant<'_>) -> Result<T, BluezError>
where
    T: TryFrom<OwnedVariant>,
{
    let owned = OwnedVariant::try_from(value).map_err(|_| BluezError::invalid_args())?;
    T::try_from(owned).map_err(|_| BluezError::invalid_args())
}

fn parse_uuids(value: &Variant<'_>) -> Result<Vec<String>, BluezError> {
    typed::<Vec<String>>(value)?
        .iter()
        .map(|text| normalize_uuid(text).ok_or_else(BluezError::invalid_args))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(entries: Vec<(&str, Variant<'static>)>) -> HashMap<String, OwnedVariant> {
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), OwnedVariant::try_from(v).unwrap()))
            .collect()
    }

    fn sighting<'a>(uuids: &'a [String], rssi: i16) -> Sighting<'a> {
        Sighting {
            address: "C4:7C:8D:6A:11:22",
            name: Some("Flower care"),
            uuids,
            rssi,
            tx_power: Some(0),
        }
    }

    #[test]
    fn btleplug_filter_parses_and_matches_everything() {
        let filter = DiscoveryFilter::parse(&dict(vec![
            ("Transport", Variant::from("auto")),
            ("DuplicateData", Variant::from(true)),
        ]))
        .unwrap()
        .unwrap();
        assert!(filter.duplicate_data);
        assert!(filter.matches(&sighting(&[], -100)));
    }

    #[test]
    fn empty_dict_removes_the_filter() {
        assert_eq!(DiscoveryFilter::parse(&HashMap::new()).unwrap(), None);
    }

    #[test]
    fn uuids_are_canonical_and_must_be_advertised() {
        let filter = DiscoveryFilter::parse(&dict(vec![(
            "UUIDs",
            Variant::from(vec!["FE95".to_owned()]),
        )]))
        .unwrap()
        .unwrap();
        assert_eq!(filter.uuids, ["0000fe95-0000-1000-8000-00805f9b34fb"]);
        assert!(!filter.matches(&sighting(&[], -40)));
        assert!(filter.matches(&sighting(&filter.uuids.clone(), -40)));
    }

    #[test]
    fn rssi_threshold_is_inclusive() {
        let filter = DiscoveryFilter::parse(&dict(vec![("RSSI", Variant::from(-70i16))]))
            .unwrap()
            .unwrap();
        assert!(filter.matches(&sighting(&[], -70)));
        assert!(!filter.matches(&sighting(&[], -71)));
    }

    #[test]
    fn pattern_prefixes_address_or_name() {
        let by_name = DiscoveryFilter::parse(&dict(vec![("Pattern", Variant::from("Flower"))]))
            .unwrap()
            .unwrap();
        assert!(by_name.matches(&sighting(&[], -40)));
        let other = DiscoveryFilter::parse(&dict(vec![("Pattern", Variant::from("AA:"))]))
            .unwrap()
            .unwrap();
        assert!(!other.matches(&sighting(&[], -40)));
    }

    #[test]
    fn bad_filters_are_invalid_arguments() {
        let bad = [
            vec![("Transport", Variant::from("usb"))],
            vec![("RSSI", Variant::from(-70i32))],
            vec![("Colour", Variant::from(true))],
            vec![("UUIDs", Variant::from(vec!["not-a-uuid".to_owned()]))],
            vec![
                ("RSSI", Variant::from(-70i16)),
                ("Pathloss", Variant::from(20u16)),
            ],
        ];
        for entries in bad {
            let error = DiscoveryFilter::parse(&dict(entries.clone())).unwrap_err();
            assert_eq!(error, BluezError::invalid_args(), "{entries:?}");
        }
    }
}
