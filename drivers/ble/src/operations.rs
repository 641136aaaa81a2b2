//! The GATT operations in flight: each `Effect::Gatt` gets an id, and the `Event::GattDone`
//! carrying it is matched to why the operation was started.

use std::collections::BTreeMap;

use m2mhal_plugin_api::Effect;
use m2mhal_plugin_api::ble::{GattAction, GattOp};

use crate::characteristics::{InfoCharacteristic, SensorCharacteristic};

/// Why an operation was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Read a Device Information string.
    Identity(InfoCharacteristic),
    /// Read a sensor value; `outdated` once a notification brought a newer one, so the read's
    /// answer must not replace it.
    Reading {
        /// The value read.
        sensor: SensorCharacteristic,
        /// A notification of the same value arrived while the read was in flight.
        outdated: bool,
    },
    /// Turn on notifications of a sensor value.
    SensorNotifications(SensorCharacteristic),
    /// Re-arm an application's subscription after a reconnect.
    Resubscribe(String),
    /// An application call.
    Call {
        /// The call to answer.
        call: u64,
        /// Its characteristic.
        characteristic: String,
        /// What it asked for.
        action: GattAction,
    },
}

/// The operations in flight.
#[derive(Debug, Default)]
pub(crate) struct GattOperations {
    last_op: u64,
    in_flight: BTreeMap<u64, Purpose>,
}

impl GattOperations {
    /// Starts an operation; the returned effect asks the host to perform it.
    pub fn start(&mut self, characteristic: &str, action: GattAction, purpose: Purpose) -> Effect {
        self.last_op += 1;
        self.in_flight.insert(self.last_op, purpose);
        Effect::Gatt(GattOp {
            op: self.last_op,
            characteristic: characteristic.to_owned(),
            action,
        })
    }

    /// The purpose of the finished operation `op`; `None` if it is not in flight (abandoned).
    pub fn finish(&mut self, op: u64) -> Option<Purpose> {
        self.in_flight.remove(&op)
    }

    /// Forgets every operation in flight (the link went down) and returns their purposes.
    pub fn abandon(&mut self) -> Vec<Purpose> {
        std::mem::take(&mut self.in_flight).into_values().collect()
    }

    /// Whether a sensor value read is in flight.
    pub fn reading(&self) -> bool {
        self.in_flight
            .values()
            .any(|purpose| matches!(purpose, Purpose::Reading { .. }))
    }

    /// A notification brought a value of `sensor`: reads of it still in flight answer with an
    /// older one.
    pub fn outdate_readings(&mut self, notified: SensorCharacteristic) {
        for purpose in self.in_flight.values_mut() {
            if let Purpose::Reading { sensor, outdated } = purpose
                && *sensor == notified
            {
                *outdated = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_numbered_and_matched() {
        let mut ops = GattOperations::default();
        let battery = "00002a19-0000-1000-8000-00805f9b34fb";
        let first = ops.start(
            battery,
            GattAction::Read,
            Purpose::Reading {
                sensor: SensorCharacteristic::BatteryLevel,
                outdated: false,
            },
        );
        assert_eq!(
            first,
            Effect::Gatt(GattOp {
                op: 1,
                characteristic: battery.into(),
                action: GattAction::Read
            })
        );
        ops.start(
            battery,
            GattAction::Subscribe,
            Purpose::Resubscribe(battery.into()),
        );
        assert!(ops.reading());
        assert_eq!(
            ops.finish(1),
            Some(Purpose::Reading {
                sensor: SensorCharacteristic::BatteryLevel,
                outdated: false,
            })
        );
        assert!(!ops.reading());
        assert_eq!(ops.finish(1), None);
        assert_eq!(ops.abandon(), [Purpose::Resubscribe(battery.into())]);
        assert_eq!(ops.finish(2), None);
    }
}
