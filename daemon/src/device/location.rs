//! The `org.m2mhal.Hal1.Location` properties of one device, and how a driver's location update
//! (or a modem's serving cell) changes them.

use m2mhal_plugin_api::{Fix, LocationUpdate};

use super::state::{Changed, DeviceState, Property};

/// `org.m2mhal.Hal1.Location` properties: the receiver's power, its last fix and the serving
/// cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocationState {
    /// `Enabled`.
    pub enabled: bool,
    /// The last fix ([`Fix::none`] before the first and after a loss).
    pub fix: Fix,
    /// `Cell`: the serving cell of a modem that reports it (not a position).
    pub cell: CellIdentity,
}

/// The identity of a modem's serving cell (`Location.Cell`, an API 1.1 extension): what a
/// network-based location service needs, never a position by itself. Unknown parts are "" / 0
/// (a LAC or TAC of 0 is reserved, 3GPP TS 23.003; ModemManager reports no cell with CI 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellIdentity {
    /// Mobile country code, three digits.
    pub mcc: String,
    /// Mobile network code, two or three digits (leading zeros kept).
    pub mnc: String,
    /// Location area code (GSM/UMTS).
    pub lac: u32,
    /// Tracking area code (LTE/NR).
    pub tac: u32,
    /// Cell identity (28 bits for E-UTRAN, 16 or 28 for GSM/UMTS).
    pub cell_id: u32,
}

impl LocationState {
    /// `Source` as D-Bus shows it ("" without a fix).
    pub fn source(&self) -> &'static str {
        self.fix.source.map(|s| s.as_str()).unwrap_or_default()
    }
}

/// The properties whose values differ between `old` and `new`.
fn changed_properties(old: &Fix, new: &Fix) -> Vec<Property> {
    let differs = |a: f64, b: f64| a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan());
    [
        (differs(old.latitude, new.latitude), Property::Latitude),
        (differs(old.longitude, new.longitude), Property::Longitude),
        (differs(old.altitude, new.altitude), Property::Altitude),
        (old.time != new.time, Property::FixTime),
        (old.mode != new.mode, Property::FixMode),
        (differs(old.hdop, new.hdop), Property::Hdop),
        (differs(old.speed, new.speed), Property::Speed),
        (differs(old.course, new.course), Property::Course),
        (
            old.satellites_used != new.satellites_used,
            Property::Satellites,
        ),
        (old.source != new.source, Property::LocationSource),
    ]
    .into_iter()
    .filter_map(|(differs, name)| differs.then_some(name))
    .collect()
}

impl DeviceState {
    /// Applies a driver's location update; returns what changed (one `PropertiesChanged` per fix
    /// that changed anything an application sees).
    pub fn apply_location(&mut self, update: LocationUpdate) -> Changed {
        let mut changed = Changed::default();
        let location = &mut self.location;
        if let Some(enabled) = update.enabled
            && enabled != location.enabled
        {
            location.enabled = enabled;
            changed.push(Property::LocationEnabled);
        }
        if let Some(fix) = update.fix {
            for property in changed_properties(&location.fix, &fix) {
                changed.push(property);
            }
            location.fix = fix;
        }
        changed
    }

    /// Sets the serving cell's identity; returns what changed.
    pub fn set_cell(&mut self, cell: CellIdentity) -> Changed {
        let mut changed = Changed::default();
        if cell != self.location.cell {
            self.location.cell = cell;
            changed.push(Property::Cell);
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_plugin_api::{FixMode, LocationSource};

    use super::*;

    fn fix(latitude: f64) -> Fix {
        Fix {
            mode: FixMode::ThreeD,
            latitude,
            longitude: 11.5,
            altitude: 545.4,
            satellites_used: 8,
            time: 1_700_000_000,
            source: Some(LocationSource::Gnss),
            ..Fix::none()
        }
    }

    fn update(fix: Fix) -> LocationUpdate {
        LocationUpdate {
            enabled: None,
            fix: Some(fix),
        }
    }

    #[test]
    fn a_fix_changes_what_differs_and_the_same_fix_again_nothing() {
        let mut state = DeviceState::new("gnss", "gnss-receiver", "/dev/ttyUSB0");
        assert_eq!(state.location.fix.mode, FixMode::None);
        let changed = state.apply_location(update(fix(48.1)));
        assert_eq!(
            changed.properties(),
            [
                Property::Latitude,
                Property::Longitude,
                Property::Altitude,
                Property::FixTime,
                Property::FixMode,
                Property::Satellites,
                Property::LocationSource
            ]
        );
        assert!(state.apply_location(update(fix(48.1))).is_empty());
        assert_eq!(
            state.apply_location(update(fix(48.2))).properties(),
            [Property::Latitude]
        );
        assert_eq!(state.location.source(), "gnss");
    }

    #[test]
    fn a_lost_fix_goes_back_to_nan_and_none() {
        let mut state = DeviceState::new("gnss", "gnss-receiver", "/dev/ttyUSB0");
        state.apply_location(LocationUpdate {
            enabled: Some(true),
            fix: Some(fix(48.1)),
        });
        let changed = state.apply_location(update(Fix::none()));
        assert!(changed.contains(Property::FixMode));
        assert!(state.location.fix.latitude.is_nan());
        assert_eq!((state.location.fix.time, state.location.source()), (0, ""));
        assert!(state.location.enabled);
        let off = LocationUpdate {
            enabled: Some(false),
            fix: None,
        };
        assert_eq!(
            state.apply_location(off).properties(),
            [Property::LocationEnabled]
        );
    }

    #[test]
    fn a_new_serving_cell_changes_cell_and_nothing_else() {
        let mut state = DeviceState::new("modemmanager", "cellular-modem", "");
        let cell = CellIdentity {
            mcc: "262".to_owned(),
            mnc: "01".to_owned(),
            tac: 0x1A2B,
            cell_id: 0x01A2_B3C4,
            ..CellIdentity::default()
        };
        assert_eq!(state.set_cell(cell.clone()).properties(), [Property::Cell]);
        assert!(state.set_cell(cell).is_empty());
        assert_eq!(state.location.fix.mode, m2mhal_plugin_api::FixMode::None);
    }
}
