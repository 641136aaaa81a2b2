//! Whose modem is simulated (`m2msim modem --vendor`): what it says about itself (`AT+CGMI`,
//! `AT+CGMM`, `AT+CGMR`, `ATI`) and which GNSS commands a modem started with `--gnss` answers.

/// The manufacturer a simulated modem claims to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Vendor {
    /// A Quectel EG25 (GNSS: `AT+QGPS`, `AT+QGPSLOC=2`, `AT+QGPSEND`).
    #[default]
    Quectel,
    /// A u-blox SARA-R510M8S (GNSS: `AT+UGPS`, `AT+UGRMC`).
    Ublox,
    /// A Telit LE910C1-EU (GNSS: `AT$GPSP`, `AT$GPSACP`).
    Telit,
}

impl Vendor {
    /// What `AT+CGMI` answers.
    pub fn manufacturer(self) -> &'static str {
        match self {
            Vendor::Quectel => "Quectel",
            Vendor::Ublox => "u-blox",
            Vendor::Telit => "Telit",
        }
    }

    /// What `AT+CGMM` answers.
    pub fn model(self) -> &'static str {
        match self {
            Vendor::Quectel => "EG25",
            Vendor::Ublox => "SARA-R510M8S",
            Vendor::Telit => "LE910C1-EU",
        }
    }

    /// What `AT+CGMR` answers.
    pub fn revision(self) -> &'static str {
        match self {
            Vendor::Quectel => "EG25GGBR07A08M2G",
            Vendor::Ublox => "03.15",
            Vendor::Telit => "25.21.660",
        }
    }
}
