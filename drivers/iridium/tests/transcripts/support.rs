//! The terminal side of the transcript tests. The fake host is the testkit's [`Host`]; here are
//! the answers of a 9603 and the SBD byte formats:
//!
//! ```ignore
//! terminal.expect_tx("AT+CSQ");
//! terminal.rx("\r\n+CSQ:4\r\n\r\nOK\r\n");
//! ```

use m2mhal_driver_iridium::IridiumDriver;
pub use m2mhal_driver_testkit::EPOCH;
use m2mhal_driver_testkit::{Host, outgoing};
use m2mhal_plugin_api::{Encoding, OutgoingMessage};

/// The Iridium driver in the fake host.
pub type Terminal = Host<IridiumDriver>;

/// An outgoing satellite message.
pub fn message(id: &str, payload: &[u8], encoding: Encoding) -> OutgoingMessage {
    outgoing(id, "", payload, encoding)
}

/// A binary satellite message.
pub fn binary(id: &str, payload: &[u8]) -> OutgoingMessage {
    message(id, payload, Encoding::Binary)
}

/// The `AT+CGMR` answer of a 9603.
pub const CGMR_9603: [&str; 7] = [
    "Call Processor Version: TA19002",
    "Modem DSP Version: 1.7 svn: 2358",
    "DBB Version: 0x0001 (ASIC)",
    "RFA Version: 0x0007 (SRFA2)",
    "NVM Version: KVS",
    "Hardware Version: BOOT07d2/9603NrvA-D/04/RAW0d",
    "BOOT Version: TA19002 (rev exported)",
];

/// The IMEI of the test terminal.
pub const IMEI: &str = "300434063963620";

/// Answers the identification commands like a 9603 (after `ATE0`).
pub fn identify(terminal: &mut Terminal) {
    terminal.ok("AT&K0", &[]);
    terminal.ok("AT+CGMI", &["Iridium"]);
    terminal.ok("AT+CGMM", &["IRIDIUM 9600 Family SBD Transceiver"]);
    terminal.ok("AT+CGMR", &CGMR_9603);
    terminal.ok("AT+CGSN", &[IMEI]);
}

/// Answers the configuration after the IMEI: ring alerts, indications (the terminal reports its
/// indicators at once), an empty MO buffer, `sbds` as the `AT+SBDS` answer, 4 bars.
pub fn configure(terminal: &mut Terminal, sbds: &str) {
    terminal.ok("AT+SBDMTA=1", &[]);
    terminal.ok("AT+CIER=0", &[]);
    terminal.ok("AT+CIER=1,1,1", &["+CIEV:0,4", "+CIEV:1,1"]);
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.ok("AT+SBDS", &[sbds]);
    terminal.ok("AT+CSQ", &["+CSQ:4"]);
}

/// A 9603 initialised with `options`, 4 bars, service, empty buffers: `ready`.
pub fn ready_with(options: &[(&str, &str)]) -> Terminal {
    let mut terminal = Terminal::with_options(options);
    terminal.open();
    terminal.resync();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    configure(&mut terminal, "+SBDS: 0, 12, 0, -1");
    terminal.expect_no_tx();
    assert_eq!(terminal.state(), ("ready", ""));
    terminal
}

/// A 9603 initialised with default options.
pub fn ready_terminal() -> Terminal {
    ready_with(&[])
}

/// The `+SBDIX` answer line with `OK`.
pub fn sbdix(fields: [u32; 6]) -> String {
    let [mo, momsn, mt, mtmsn, length, queued] = fields;
    format!("\r\n+SBDIX: {mo}, {momsn}, {mt}, {mtmsn}, {length}, {queued}\r\n\r\nOK\r\n")
}

/// Writes `payload` through `AT+SBDWB`: checks the command and the exact bytes after `READY`,
/// answers result 0.
#[track_caller]
pub fn write_message(terminal: &mut Terminal, payload: &[u8]) {
    terminal.expect_tx(&format!("AT+SBDWB={}", payload.len()));
    terminal.rx("\r\nREADY\r\n");
    terminal.expect_bytes(&with_checksum(payload));
    terminal.rx("\r\n0\r\n\r\nOK\r\n");
}

/// Answers the `AT+SBDS` a session with a message reads first when the MOMSN is unknown (after a
/// session that did not succeed): the message is in the MO buffer, the next MOMSN is `momsn`.
#[track_caller]
pub fn momsn_read(terminal: &mut Terminal, momsn: u32) {
    terminal.ok("AT+SBDS", &[&format!("+SBDS: 1, {momsn}, 0, -1")]);
}

/// `payload` followed by its SBD checksum (sum of the bytes, low 16 bits, big-endian).
pub fn with_checksum(payload: &[u8]) -> Vec<u8> {
    let sum = payload.iter().map(|&b| u32::from(b)).sum::<u32>() as u16;
    [payload, &sum.to_be_bytes()].concat()
}

/// The `AT+SBDRB` answer for `payload`: length, payload, checksum, `OK`.
pub fn read_block(payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len()).unwrap().to_be_bytes();
    [&length[..], &with_checksum(payload), b"\r\nOK\r\n"].concat()
}
