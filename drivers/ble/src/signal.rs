//! `Signal.Quality` from the advertisement RSSI.
//!
//! BLE has no quality indicator of its own, so the percentage is the RSSI placed linearly between
//! -100 dBm (0 %, at the edge of reception) and -50 dBm (100 %, a strong nearby signal):
//! `quality = 2 * (rssi + 100)`, clamped to 0..=100. -70 dBm reads 60 %.

/// RSSI at and below which the quality is 0 %.
const RSSI_FLOOR_DBM: i32 = -100;
/// RSSI at and above which the quality is 100 %.
const RSSI_CEILING_DBM: i32 = -50;

/// Quality in percent for an RSSI in dBm.
pub(crate) fn quality_from_rssi(rssi_dbm: i16) -> u32 {
    let rssi = i32::from(rssi_dbm).clamp(RSSI_FLOOR_DBM, RSSI_CEILING_DBM);
    let percent = (rssi - RSSI_FLOOR_DBM) * 100 / (RSSI_CEILING_DBM - RSSI_FLOOR_DBM);
    percent.unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_between_minus_100_and_minus_50_dbm() {
        let cases = [
            (-127, 0),
            (-100, 0),
            (-99, 2),
            (-85, 30),
            (-70, 60),
            (-50, 100),
            (-30, 100),
            (20, 100),
        ];
        for (rssi, quality) in cases {
            assert_eq!(quality_from_rssi(rssi), quality, "{rssi} dBm");
        }
    }
}
