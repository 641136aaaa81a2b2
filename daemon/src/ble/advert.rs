//! What BlueZ (through btleplug) knows of a peripheral, as the ABI's [`Advertisement`].

use btleplug::api::PeripheralProperties;
use m2mhal_plugin_api::ble::Advertisement;
use serde_bytes::ByteBuf;

/// Converts btleplug's view of a peripheral; addresses upper-case, UUIDs canonical.
pub fn advertisement(properties: &PeripheralProperties) -> Advertisement {
    Advertisement {
        address: properties.address.to_string().to_ascii_uppercase(),
        name: properties
            .local_name
            .clone()
            .or_else(|| properties.advertisement_name.clone()),
        rssi: properties.rssi,
        tx_power: properties.tx_power_level,
        manufacturer_data: properties
            .manufacturer_data
            .iter()
            .map(|(id, data)| (*id, ByteBuf::from(data.clone())))
            .collect(),
        service_data: properties
            .service_data
            .iter()
            .map(|(uuid, data)| (uuid.to_string(), ByteBuf::from(data.clone())))
            .collect(),
        services: properties.services.iter().map(|u| u.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use btleplug::api::BDAddr;
    use std::collections::HashMap;

    #[test]
    fn properties_become_a_canonical_advertisement() {
        let bthome = btleplug::api::bleuuid::uuid_from_u16(0xfcd2);
        let properties = PeripheralProperties {
            address: BDAddr::from([0xa4, 0xc1, 0x38, 0x00, 0x11, 0x22]),
            local_name: Some("ATC_001122".into()),
            rssi: Some(-67),
            manufacturer_data: HashMap::from([(0x0499, vec![1, 2])]),
            service_data: HashMap::from([(bthome, vec![0x40, 0x02, 0xc4, 0x09])]),
            services: vec![bthome],
            ..Default::default()
        };
        let adv = advertisement(&properties);
        assert_eq!(adv.address, "A4:C1:38:00:11:22");
        assert_eq!(adv.name.as_deref(), Some("ATC_001122"));
        assert_eq!(adv.rssi, Some(-67));
        assert_eq!(adv.manufacturer_data[&0x0499].as_slice(), &[1, 2]);
        let key = "0000fcd2-0000-1000-8000-00805f9b34fb";
        assert_eq!(adv.service_data[key].as_slice(), &[0x40, 0x02, 0xc4, 0x09]);
        assert_eq!(adv.services, vec![key.to_owned()]);
    }
}
