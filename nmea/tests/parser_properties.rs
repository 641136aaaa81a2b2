//! Properties of the NMEA parser over generated input.

use m2mhal_nmea::{Nmea, NmeaError, parse_line, with_checksum};
use proptest::prelude::*;

/// `ddmm.mmmmm` and hemisphere of a signed angle.
fn nmea_angle(value: f64, degree_digits: usize, positive: char, negative: char) -> String {
    let magnitude = value.abs();
    let degrees = magnitude.trunc();
    let minutes = (magnitude - degrees) * 60.0;
    let hemisphere = if value < 0.0 { negative } else { positive };
    format!(
        "{degrees:0degree_digits$}{minutes:08.5},{hemisphere}",
        degrees = degrees as u32
    )
}

proptest! {
    #[test]
    fn any_bytes_are_refused_or_decoded_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_line(&bytes);
    }

    #[test]
    fn any_fields_under_a_good_checksum_are_refused_or_decoded(
        kind in prop_oneof![Just("GGA"), Just("RMC"), Just("GSA"), Just("GSV"), Just("VTG"), Just("GLL"), Just("TXT")],
        fields in proptest::collection::vec("[0-9A-Z.+-]{0,12}", 0..22),
    ) {
        let _ = parse_line(with_checksum(&format!("GN{kind},{}", fields.join(","))).as_bytes());
    }

    #[test]
    fn a_gga_of_any_position_reads_back(
        latitude in -89.99f64..89.99,
        longitude in -179.99f64..179.99,
        altitude in -400.0f64..9000.0,
        satellites in 0u32..40,
        seconds in 0u32..86_400,
        talker in prop_oneof![Just("GP"), Just("GN"), Just("GL"), Just("GA"), Just("GB")],
    ) {
        let time = format!("{:02}{:02}{:02}.00", seconds / 3600, seconds / 60 % 60, seconds % 60);
        let line = with_checksum(&format!(
            "{talker}GGA,{time},{},{},1,{satellites:02},0.9,{altitude:.1},M,47.0,M,,",
            nmea_angle(latitude, 2, 'N', 'S'),
            nmea_angle(longitude, 3, 'E', 'W'),
        ));
        let Ok(Nmea::Gga(gga)) = parse_line(line.as_bytes()) else {
            panic!("{line} did not decode as GGA");
        };
        let position = gga.position.unwrap();
        // Five decimals of minutes: better than 2e-7 degrees.
        prop_assert!((position.latitude - latitude).abs() < 2e-7, "{line}");
        prop_assert!((position.longitude - longitude).abs() < 2e-7, "{line}");
        prop_assert!((gga.altitude.unwrap() - altitude).abs() < 0.051);
        prop_assert_eq!(gga.satellites, Some(satellites));
        prop_assert_eq!(gga.time.unwrap().seconds, seconds);
    }

    #[test]
    fn any_one_changed_byte_of_a_sentence_drops_it(index in 1usize..70, byte in 0x20u8..0x7f) {
        let good = "$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70";
        let star = good.find('*').unwrap();
        let index = 1 + index % (star - 1);
        prop_assume!(good.as_bytes()[index] != byte);
        let mut damaged = good.as_bytes().to_vec();
        damaged[index] = byte;
        let result = parse_line(&damaged);
        prop_assert!(
            matches!(result, Err(NmeaError::Checksum { .. } | NmeaError::NoChecksum | NmeaError::NoStart)),
            "{:?} gave {:?}", String::from_utf8_lossy(&damaged), result
        );
    }
}
