//! The receiver side of the transcript tests: real bursts (from the gpsd project's regression
//! logs) and helpers to send them.

use m2mhal_driver_gnss::GnssDriver;
pub use m2mhal_driver_testkit::EPOCH;
use m2mhal_driver_testkit::Host;
use m2mhal_nmea::with_checksum;

/// The GNSS driver in the fake host.
pub type Receiver = Host<GnssDriver>;

/// A u-blox LEA-5H after power-up: its TXT identification and two epochs with a 3D fix
/// (gpsd `test/daemon/ublox-lea-5h.log`).
pub const LEA_5H: &str = "\
$GPTXT,01,01,02,u-blox ag - www.u-blox.com*50\r\n\
$GPTXT,01,01,02,HW  UBX-G50xx  00040005 *53\r\n\
$GPTXT,01,01,02,EXT CORE 6.00 (33247) May 13 2009 17:35:46*49\r\n\
$GPTXT,01,01,02,ROM BASE 4.00 (25682) Jan 14 2008 16:29:23*4F\r\n\
$GPTXT,01,01,02,MOD LEA-5H-0*2E\r\n\
$GPTXT,01,01,02,ANTSUPERV=AC SD PDoS SR*20\r\n\
$GPTXT,01,01,02,ANTSTATUS=OK*3B\r\n\
$GPRMC,083723.00,A,5155.55442,N,00434.65873,E,0.211,,210810,,,A*7F\r\n\
$GPVTG,,T,,M,0.211,N,0.391,K,A*2A\r\n\
$GPGGA,083723.00,5155.55442,N,00434.65873,E,1,06,2.51,-4.0,M,46.0,M,,*70\r\n\
$GPGSA,A,3,27,15,09,28,18,08,,,,,,,3.33,2.51,2.20*04\r\n\
$GPGSV,3,1,12,05,04,187,,08,11,078,29,09,43,270,37,12,03,212,*75\r\n\
$GPGSV,3,2,12,15,78,214,34,17,25,106,18,18,32,294,39,22,13,324,20*77\r\n\
$GPGSV,3,3,12,24,04,342,,26,55,139,24,27,62,276,36,28,39,055,26*77\r\n\
$GPGLL,5155.55442,N,00434.65873,E,083723.00,A,A*6E\r\n";

/// The LEA-5H's next epoch (same log).
pub const LEA_5H_NEXT: &str = "\
$GPRMC,083724.00,A,5155.55430,N,00434.65878,E,0.392,,210810,,,A*7C\r\n\
$GPVTG,,T,,M,0.392,N,0.727,K,A*29\r\n\
$GPGGA,083724.00,5155.55430,N,00434.65878,E,1,06,2.51,-4.2,M,46.0,M,,*7B\r\n\
$GPGSA,A,3,27,15,09,28,18,08,,,,,,,3.33,2.51,2.20*04\r\n\
$GPGLL,5155.55430,N,00434.65878,E,083724.00,A,A*67\r\n";

/// Unix time of the LEA-5H's first epoch, 2010-08-21 08:37:23 UTC.
pub const LEA_5H_TIME: u64 = 1_282_379_843;

/// A Quectel L76K with GPS, BeiDou and GLONASS: one burst (gpsd
/// `test/daemon/quectel-l76k-nmea.log`); its RMC is stamped 200 ms before its GGA.
pub const L76K: &str = "\
$GPGSV,3,1,12,01,17,083,03,02,20,056,27,07,18,123,25,08,,,15,0*58\r\n\
$GPGSV,3,2,12,14,79,041,29,15,31,297,21,17,54,166,28,19,24,192,23,0*62\r\n\
$GPGSV,3,3,12,20,47,263,22,22,78,280,15,24,07,305,,30,57,127,31,0*61\r\n\
$BDGSV,1,1,03,13,19,043,17,27,38,127,33,37,36,091,24,0*49\r\n\
$GLGSV,3,1,10,74,52,302,,82,25,034,33,73,59,049,31,80,10,081,21,0*71\r\n\
$GLGSV,3,2,10,75,07,276,,65,19,333,,84,12,149,26,83,37,097,19,0*79\r\n\
$GLGSV,3,3,10,71,23,216,,72,43,277,,0*7A\r\n\
$GNRMC,055234.000,A,4739.71890,N,12219.58362,W,0.00,286.35,050826,,,A,V*13\r\n\
$GNVTG,286.35,T,,M,0.00,N,0.00,K,A*29\r\n\
$GNZDA,055234.000,05,08,2026,00,00*46\r\n\
$GNGGA,055234.200,4739.71890,N,12219.58362,W,1,14,0.9,76.5,M,-21.6,M,,*4A\r\n\
$GNGLL,4739.71890,N,12219.58362,W,055234.200,A,A*5F\r\n\
$GNGSA,A,3,02,07,14,15,17,20,22,30,,,,,1.5,0.9,1.2,1*3C\r\n\
$GNGSA,A,3,13,27,37,,,,,,,,,,1.5,0.9,1.2,4*39\r\n\
$GNGSA,A,3,73,84,83,,,,,,,,,,1.5,0.9,1.2,2*3F\r\n";

/// A receiver opened and talking: the LEA-5H's identification and first epoch.
pub fn lea_5h() -> Receiver {
    let mut receiver = Receiver::new();
    receiver.open();
    receiver.rx(LEA_5H);
    receiver
}

/// `body` as a line with its checksum and CR LF.
pub fn line(body: &str) -> String {
    format!("{}\r\n", with_checksum(body))
}

#[track_caller]
pub fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-6,
        "{actual} is not {expected}"
    );
}
