//! The modem side of the transcript tests. The fake host is the testkit's [`Host`]; here are the
//! answers of a standard modem, a Quectel EG25 with a ready SIM, in the order the driver asks:
//!
//! ```text
//! identify                     (resync) ATE0 ... AT+CGSN
//! answer_sim_ready             AT+CPIN?
//! configure_after_sim              AT+CIMI ... AT+CMGL=4 (ready)
//!   configure_until_listing        AT+CIMI ... AT+COPS?
//!     answer_imsi_and_iccid        AT+CIMI, AT+CCID
//!     configure_messaging          AT+CMGF=0 ... AT+CNMI=2,1,0,2,0
//!     answer_registration_reports  AT+CREG=2 ... AT+COPS=3,0
//!     answer_refresh               AT+CSQ ... AT+COPS?
//!   (the listing)                  AT+CMGL=4
//! ```

use m2mhal_driver_cellular::CellularDriver;
pub use m2mhal_driver_testkit::EPOCH;
use m2mhal_driver_testkit::Host;

/// The cellular driver in the fake host.
pub type Modem = Host<CellularDriver>;

/// What a modem says about itself.
pub struct Identity {
    /// `AT+CGMI`.
    pub manufacturer: &'static str,
    /// `AT+CGMM`.
    pub model: &'static str,
    /// `AT+CGMR`.
    pub revision: &'static str,
    /// `AT+CGSN`.
    pub imei: &'static str,
    /// The answer to the GNSS probe a Quectel, SIMCom, u-blox or Telit modem gets (`AT+QGPS?`,
    /// `AT+CGPS?`, `AT+UGPS?`, `AT$GPSP?`);
    /// `None`: `ERROR`, a modem without GNSS.
    pub gnss: Option<&'static str>,
}

/// The standard modem.
pub const EG25: Identity = Identity {
    manufacturer: "Quectel",
    model: "EG25",
    revision: "EG25GGBR07A08M2G",
    imei: "867698041234567",
    gnss: None,
};

/// The standard modem with its GNSS, which is off.
pub const EG25_GNSS: Identity = Identity {
    gnss: Some("+QGPS: 0"),
    ..EG25
};

/// A standard modem that answers every initialisation command, with no stored messages. Leaves
/// the driver `ready`.
pub fn ready_modem() -> Modem {
    ready_modem_with(&[])
}

/// [`ready_modem`], opened with these driver options.
pub fn ready_modem_with(options: &[(&str, &str)]) -> Modem {
    let mut modem = Modem::with_options(options);
    modem.open();
    identify(&mut modem);
    answer_sim_ready(&mut modem);
    configure_after_sim(&mut modem, &[]);
    modem
}

/// Answers the start of the initialisation like the standard modem: echo off, numeric errors and
/// the identification up to the IMEI.
#[track_caller]
pub fn identify(modem: &mut Modem) {
    identify_as(modem, &EG25);
}

/// Answers the start of the initialisation, up to the IMEI, as `identity`.
#[track_caller]
pub fn identify_as(modem: &mut Modem, identity: &Identity) {
    modem.resync();
    answer_identification(modem, identity);
}

/// Answers the start of the initialisation after the resynchronisation, up to the IMEI, as
/// `identity`.
#[track_caller]
pub fn answer_identification(modem: &mut Modem, identity: &Identity) {
    modem.ok("ATE0", &[]);
    modem.ok("AT+CMEE=1", &[]);
    modem.ok("AT+CGMI", &[identity.manufacturer]);
    modem.ok("AT+CGMM", &[identity.model]);
    modem.ok("AT+CGMR", &[identity.revision]);
    let probe = match identity.manufacturer {
        "Quectel" => Some("AT+QGPS?"),
        "SIMCOM INCORPORATED" => Some("AT+CGPS?"),
        "u-blox" => Some("AT+UGPS?"),
        "Telit" => Some("AT$GPSP?"),
        _ => None,
    };
    match (probe, identity.gnss) {
        (Some(probe), Some(answer)) => modem.ok(probe, &[answer]),
        (Some(probe), None) => modem.fails(probe, "ERROR"),
        (None, _) => {}
    }
    modem.ok("AT+CGSN", &[identity.imei]);
}

/// `identity` initialised with `options` (and no periodic signal refresh) up to the storage
/// listing, which is answered; the driver is ready (and may be switching its GNSS).
pub fn ready_as(identity: &Identity, options: &[(&str, &str)]) -> Modem {
    let options = [options, &[("signal_interval", "0")]].concat();
    let mut modem = Modem::with_options(&options);
    modem.open();
    identify_as(&mut modem, identity);
    answer_sim_ready(&mut modem);
    configure_until_listing(&mut modem);
    modem.ok("AT+CMGL=4", &[]);
    assert_eq!(modem.state(), ("ready", ""));
    modem
}

/// Answers `AT+CPIN?`: the SIM is ready.
#[track_caller]
pub fn answer_sim_ready(modem: &mut Modem) {
    modem.ok("AT+CPIN?", &["+CPIN: READY"]);
}

/// Answers the initialisation from `AT+CIMI` on like the standard modem; `stored` is the
/// `AT+CMGL=4` answer. The modem is `ready` and nothing more is written.
#[track_caller]
pub fn configure_after_sim(modem: &mut Modem, stored: &[&str]) {
    configure_until_listing(modem);
    modem.ok("AT+CMGL=4", stored);
    modem.expect_no_tx();
    assert_eq!(modem.state(), ("ready", ""));
}

/// Answers the initialisation from `AT+CIMI` up to the storage listing (`AT+CMGL=4`, the last
/// step, not answered) like the standard modem.
#[track_caller]
pub fn configure_until_listing(modem: &mut Modem) {
    answer_imsi_and_iccid(modem);
    configure_messaging(modem);
    answer_registration_reports(modem);
    answer_refresh(modem);
}

/// Answers `AT+CIMI` and `AT+CCID` with a German SIM's.
#[track_caller]
pub fn answer_imsi_and_iccid(modem: &mut Modem) {
    modem.ok("AT+CIMI", &["262011234567890"]);
    modem.ok("AT+CCID", &["+CCID: 89490200001234567890"]);
}

/// Answers the SMS configuration: PDU mode, no acknowledgement of direct deliveries, storage
/// "ME" everywhere, `+CMTI` indications.
#[track_caller]
pub fn configure_messaging(modem: &mut Modem) {
    modem.ok("AT+CMGF=0", &[]);
    modem.ok("AT+CSMS?", &["+CSMS: 0,1,1,1"]);
    modem.ok("AT+CPMS?", &[r#"+CPMS: "ME",0,255,"ME",0,255,"ME",0,255"#]);
    modem.ok("AT+CNMI=2,1,0,2,0", &[]);
}

/// Accepts the registration reports of the three domains and the operator name format.
#[track_caller]
pub fn answer_registration_reports(modem: &mut Modem) {
    modem.ok("AT+CREG=2", &[]);
    modem.ok("AT+CGREG=2", &[]);
    modem.ok("AT+CEREG=2", &[]);
    modem.ok("AT+COPS=3,0", &[]);
}

/// Answers a signal refresh: LTE, RSRP -95 dBm, home network on Telekom.de.
#[track_caller]
pub fn answer_refresh(modem: &mut Modem) {
    modem.ok("AT+CSQ", &["+CSQ: 20,99"]);
    modem.ok("AT+CESQ", &["+CESQ: 99,99,255,255,20,45"]);
    modem.ok("AT+CREG?", &[r#"+CREG: 2,1,"1A2B","01A2D101",7"#]);
    modem.ok("AT+CGREG?", &["+CGREG: 2,0"]);
    modem.ok("AT+CEREG?", &[r#"+CEREG: 2,1,"1A2B","01A2D101",7"#]);
    modem.ok("AT+COPS?", &[r#"+COPS: 0,0,"Telekom.de",7"#]);
}

/// Answers the `> ` prompt of the `AT+CMGS` just written and returns the PDU hex the driver sent.
#[track_caller]
pub fn take_payload(modem: &mut Modem, command: &str) -> String {
    modem.expect_tx(command);
    modem.rx("\r\n> ");
    let payload = modem.take_tx().expect("no PDU after the prompt");
    let (hex, ctrl_z) = payload.split_at(payload.len() - 1);
    assert_eq!(ctrl_z, [0x1A], "the PDU ends with Ctrl-Z");
    String::from_utf8(hex.to_vec()).unwrap()
}
