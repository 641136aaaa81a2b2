//! The ModemManager rig ([`MmRig`]) with a modem that has a GNSS: `m2msim modem --gnss` answers
//! ModemManager's `AT+QGPS...` commands, and an `m2msim gnss` receiver is the modem's NMEA port
//! (`/dev/ttyUSB1`, tagged `ID_MM_PORT_TYPE_GPS` as a udev rule for a real modem's GNSS port
//! would), so that ModemManager's quectel plugin offers gps-raw and gps-nmea.

use crate::Sim;
use crate::modemmanager::{MM_MODEM, MODEM_TTY, MmRig, interfaces_added, next_object_with};

/// The testbed's name of the modem's NMEA port.
pub const GPS_TTY: &str = "ttyUSB1";

/// The ModemManager rig and the modem's receiver. Fields drop in order: the rig (ModemManager,
/// the testbed) before the receiver behind the testbed's node.
pub struct MmGnssRig {
    /// ModemManager, the testbed and the modem's simulator.
    pub rig: MmRig,
    /// The receiver behind the modem's NMEA port (device 0; control: `position`, `fix`, ...).
    pub receiver: Sim,
}

impl MmGnssRig {
    /// Starts the rig with a GNSS modem and its receiver (every second an epoch); `None` (after
    /// saying why) when a package is missing.
    pub async fn start() -> Option<MmGnssRig> {
        let rig = MmRig::start_with(&["--gnss"], 1).await?;
        let receiver = Sim::start(&["gnss", "--interval", "1000"], 1).await;
        Some(MmGnssRig { rig, receiver })
    }

    /// Plugs the modem in with its NMEA port and reports both ports to ModemManager; returns the
    /// object path of the modem once ModemManager has probed it.
    pub async fn plug_modem(&mut self) -> String {
        let rig = &mut self.rig;
        let mut added = interfaces_added(&rig.mm.conn).await;
        let ports = format!("{} 0 {}", rig.sim.path(0), self.receiver.path(0));
        rig.usb.ok(&format!("add-modem {ports}")).await;
        rig.mm.report_tty("add", GPS_TTY).await;
        rig.mm.report_tty("add", MODEM_TTY).await;
        next_object_with(&mut added, MM_MODEM).await
    }
}
