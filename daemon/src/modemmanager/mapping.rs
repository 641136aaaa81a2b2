//! ModemManager's values in m2mhal's words: modem state and failed reason to `Device.State` /
//! `StateReason`, access technologies to `Signal.Technology`, 3GPP registration to
//! `Signal.Registration`, extended signal figures to `Rssi`/`Rsrp`/`Rsrq`/`Sinr`, and what to do
//! with an SMS MM reports. Pure functions; the numbers are ModemManager's enums
//! (`ModemManager-enums.h`, API 1.x).

use crate::device::state::states;

/// `Device.State` and `StateReason` for MM's `State` (`MMModemState`), `StateFailedReason`
/// (`MMModemStateFailedReason`) and `UnlockRequired` (`MMModemLock`).
///
/// A modem MM is still probing or that is disabled is `initializing` (m2mhald enables it
/// unless told not to); enabled and beyond is `ready`, registered or not (`Registration` says).
pub fn device_state(state: i32, failed_reason: u32, lock: u32) -> (&'static str, &'static str) {
    match state {
        -1 => (states::FAILED, failed_reason_word(failed_reason)),
        2 => (states::INITIALIZING, lock_word(lock)),
        3 | 4 => (states::INITIALIZING, "modem-disabled"),
        6..=11 => (states::READY, ""),
        // unknown, initializing, enabling (and any future state)
        _ => (states::INITIALIZING, ""),
    }
}

/// `StateReason` for `MMModemStateFailedReason`.
fn failed_reason_word(reason: u32) -> &'static str {
    match reason {
        2 => "sim-missing",
        3 => "sim-error",
        4 => "unknown-capabilities",
        5 => "esim-without-profiles",
        _ => "unknown",
    }
}

/// `StateReason` for the `MMModemLock` of a locked modem.
fn lock_word(lock: u32) -> &'static str {
    match lock {
        2 => "sim-pin-required",
        3 => "sim-pin2-required",
        4 => "sim-puk-required",
        5 => "sim-puk2-required",
        _ => "locked",
    }
}

/// `MMModemAccessTechnology` flags.
mod access {
    pub const GSM_FAMILY: u32 = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4);
    pub const UMTS_FAMILY: u32 = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);
    pub const LTE: u32 = 1 << 14;
    pub const NR5G: u32 = 1 << 15;
    pub const LTE_CAT_M: u32 = 1 << 16;
    pub const LTE_NB_IOT: u32 = 1 << 17;
}

/// `Signal.Technology` for MM's `AccessTechnologies` flags: the most capable one set, "" when
/// none is known.
pub fn technology(flags: u32) -> &'static str {
    let order = [
        (access::NR5G, "nr5g"),
        (access::LTE_CAT_M, "lte-m"),
        (access::LTE_NB_IOT, "nb-iot"),
        (access::LTE, "lte"),
        (access::UMTS_FAMILY, "umts"),
        (access::GSM_FAMILY, "gsm"),
    ];
    order
        .into_iter()
        .find(|(mask, _)| flags & mask != 0)
        .map_or("", |(_, word)| word)
}

/// `Signal.Registration` for `MMModem3gppRegistrationState`. Limited service (emergency only,
/// attached for restricted local operator services) counts as `denied`: no SMS, no data.
pub fn registration(state: u32) -> &'static str {
    match state {
        0 => "idle",
        1 | 6 | 9 => "home",
        2 => "searching",
        3 | 8 | 11 => "denied",
        5 | 7 | 10 => "roaming",
        _ => "unknown",
    }
}

/// MM's extended signal figures (the `Signal` interface's per-technology dictionaries, values in
/// dBm or dB), those that are present.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MmSignal {
    /// `rssi` of the serving technology's dictionary.
    pub rssi: Option<f64>,
    /// `rsrp` (LTE or 5G NR).
    pub rsrp: Option<f64>,
    /// `rsrq` (LTE or 5G NR).
    pub rsrq: Option<f64>,
    /// `snr` (LTE or 5G NR).
    pub snr: Option<f64>,
}

/// m2mhal's `Rssi`, `Rsrp`, `Rsrq`, `Sinr`, in the API's units and unknown-values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalFigures {
    /// dBm, 0 when unknown.
    pub rssi: i32,
    /// dBm, 0 when unknown.
    pub rsrp: i32,
    /// dB, NaN when unknown.
    pub rsrq: f64,
    /// dB, NaN when unknown.
    pub sinr: f64,
}

/// The API's figures for MM's: dBm rounded to whole numbers, unknown as 0 / NaN. MM reports
/// figures it does not have as absent (or, in some versions, as -inf): both are unknown.
pub fn signal_figures(mm: MmSignal) -> SignalFigures {
    let known = |value: Option<f64>| value.filter(|value| value.is_finite());
    let dbm = |value: Option<f64>| {
        known(value).map_or(0, |value| value.round().clamp(-200.0, 0.0) as i32)
    };
    SignalFigures {
        rssi: dbm(mm.rssi),
        rsrp: dbm(mm.rsrp),
        rsrq: known(mm.rsrq).unwrap_or(f64::NAN),
        sinr: known(mm.snr).unwrap_or(f64::NAN),
    }
}

/// What m2mhal does with an SMS MM reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingSms {
    /// A whole received message: commit it to the store, signal it, then delete it from MM.
    Commit,
    /// Parts are still missing (`receiving`): leave it to MM until it is `received`.
    Wait,
    /// Not an incoming message m2mhal takes (one being sent, a status report, ...).
    Ignore,
}

/// What to do with an SMS of `MMSmsState` `state` and `MMSmsPduType` `pdu_type`.
pub fn incoming_sms(state: u32, pdu_type: u32) -> IncomingSms {
    /// `MM_SMS_PDU_TYPE_DELIVER`, `MM_SMS_PDU_TYPE_CDMA_DELIVER`.
    const DELIVERS: [u32; 2] = [1, 32];
    match state {
        2 if DELIVERS.contains(&pdu_type) => IncomingSms::Wait,
        3 if DELIVERS.contains(&pdu_type) => IncomingSms::Commit,
        _ => IncomingSms::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modem_states_map_to_device_states() {
        assert_eq!(device_state(8, 0, 1), ("ready", ""));
        assert_eq!(device_state(6, 0, 1), ("ready", ""));
        assert_eq!(device_state(11, 0, 1), ("ready", ""));
        assert_eq!(device_state(3, 0, 1), ("initializing", "modem-disabled"));
        assert_eq!(device_state(1, 0, 0), ("initializing", ""));
        assert_eq!(device_state(5, 0, 1), ("initializing", ""));
        assert_eq!(device_state(0, 0, 0), ("initializing", ""));
    }

    #[test]
    fn failed_modems_say_why() {
        assert_eq!(device_state(-1, 2, 0), ("failed", "sim-missing"));
        assert_eq!(device_state(-1, 3, 0), ("failed", "sim-error"));
        assert_eq!(device_state(-1, 4, 0), ("failed", "unknown-capabilities"));
        assert_eq!(device_state(-1, 1, 0), ("failed", "unknown"));
        assert_eq!(device_state(-1, 99, 0), ("failed", "unknown"));
    }

    #[test]
    fn locked_modems_name_the_code_they_wait_for() {
        assert_eq!(device_state(2, 0, 2), ("initializing", "sim-pin-required"));
        assert_eq!(device_state(2, 0, 4), ("initializing", "sim-puk-required"));
        assert_eq!(device_state(2, 0, 9), ("initializing", "locked"));
    }

    #[test]
    fn the_most_capable_technology_wins() {
        assert_eq!(technology(0), "");
        assert_eq!(technology(1 << 1), "gsm");
        assert_eq!(technology(1 << 4), "gsm");
        assert_eq!(technology((1 << 6) | (1 << 7)), "umts");
        assert_eq!(technology(1 << 14), "lte");
        assert_eq!(technology((1 << 14) | (1 << 15)), "nr5g");
        assert_eq!(technology(1 << 16), "lte-m");
        assert_eq!(technology(1 << 17), "nb-iot");
        // POTS alone is nothing the API names.
        assert_eq!(technology(1), "");
    }

    #[test]
    fn registration_states() {
        let words: Vec<&str> = (0..=12).map(registration).collect();
        assert_eq!(
            words,
            [
                "idle",
                "home",
                "searching",
                "denied",
                "unknown",
                "roaming",
                "home",
                "roaming",
                "denied",
                "home",
                "roaming",
                "denied",
                "unknown"
            ]
        );
    }

    #[test]
    fn signal_figures_round_and_mark_unknowns() {
        let figures = signal_figures(MmSignal {
            rssi: Some(-71.4),
            rsrp: Some(-95.6),
            rsrq: Some(-11.5),
            snr: Some(13.0),
        });
        assert_eq!(
            figures,
            SignalFigures {
                rssi: -71,
                rsrp: -96,
                rsrq: -11.5,
                sinr: 13.0
            }
        );
        let unknown = signal_figures(MmSignal {
            rssi: Some(f64::NEG_INFINITY),
            ..MmSignal::default()
        });
        assert_eq!((unknown.rssi, unknown.rsrp), (0, 0));
        assert!(unknown.rsrq.is_nan() && unknown.sinr.is_nan());
    }

    #[test]
    fn only_whole_received_messages_are_committed() {
        assert_eq!(incoming_sms(3, 1), IncomingSms::Commit);
        assert_eq!(incoming_sms(3, 32), IncomingSms::Commit);
        assert_eq!(incoming_sms(2, 1), IncomingSms::Wait);
        // A status report, a message being sent, a stored draft.
        assert_eq!(incoming_sms(3, 3), IncomingSms::Ignore);
        assert_eq!(incoming_sms(4, 2), IncomingSms::Ignore);
        assert_eq!(incoming_sms(1, 2), IncomingSms::Ignore);
    }
}
