//! The modem's GNSS: switched on at ready when the `gnss` option says so or when `SetEnabled`
//! asks, polled every `gnss_interval` while on, and every changed fix reported.

use m2mhal_at::{AtError, Response};
use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply, Fix, LocationUpdate, LogLevel};

use super::{CellularDriver, Phase};
use crate::purpose::Purpose;
use crate::timers::Timer;

/// What the driver knows and wants of the GNSS.
#[derive(Debug, Clone)]
pub(super) struct GnssState {
    /// Whether it should be on (the `gnss` option, then the last `SetEnabled`).
    pub wanted: bool,
    /// Whether it is on, as far as the driver knows.
    pub on: bool,
    /// The fix last reported.
    pub reported: Fix,
}

impl GnssState {
    /// Off, wanted as `wanted`.
    pub fn new(wanted: bool) -> Self {
        GnssState {
            wanted,
            on: false,
            reported: Fix::none(),
        }
    }
}

impl CellularDriver {
    /// The modem is ready: report the GNSS and bring it to the wanted state.
    pub(super) fn gnss_ready(&mut self) {
        let Some(family) = self.facts.gnss else {
            return;
        };
        self.gnss.on = self.facts.gnss_on;
        self.out.location(LocationUpdate {
            enabled: Some(self.gnss.on),
            fix: None,
        });
        if self.gnss.wanted != self.gnss.on {
            let on = self.gnss.wanted;
            self.link
                .push(family.power(on), Purpose::GnssPower { on, call: None });
        } else if self.gnss.on {
            self.gnss_running();
        }
    }

    /// `SetEnabled(on)`.
    pub(super) fn set_gnss(&mut self, call: u64, on: bool) {
        let Some(family) = self.facts.gnss else {
            let error = CallError::new(CallErrorKind::NotSupported, "this modem has no GNSS");
            return self.out.reply(call, Err(error));
        };
        if self.phase != Phase::Ready {
            return self.link.reply_not_ready(call, &mut self.out);
        }
        self.gnss.wanted = on;
        let switching = |p: &Purpose| matches!(p, Purpose::GnssPower { .. });
        if self.gnss.on == on && !self.link.contains(switching) {
            return self.out.reply(call, Ok(CallReply::Done));
        }
        self.link.push(
            family.power(on),
            Purpose::GnssPower {
                on,
                call: Some(call),
            },
        );
    }

    pub(super) fn on_gnss_power(
        &mut self,
        on: bool,
        call: Option<u64>,
        result: Result<Response, AtError>,
    ) {
        let Some(family) = self.facts.gnss else {
            return;
        };
        if !family.powered(on, &result) {
            let what = if on { "on" } else { "off" };
            let why = result.err().map(|e| e.to_string()).unwrap_or_default();
            self.out.log(
                LogLevel::Warn,
                format!("cannot switch the GNSS {what}: {why}"),
            );
            if let Some(call) = call {
                let error = CallError::new(
                    CallErrorKind::Failed,
                    format!("the modem did not switch the GNSS {what}: {why}"),
                );
                self.out.reply(call, Err(error));
            }
            return;
        }
        self.out
            .log(LogLevel::Info, if on { "GNSS on" } else { "GNSS off" });
        self.gnss.on = on;
        self.out.location(LocationUpdate {
            enabled: Some(on),
            fix: None,
        });
        if on {
            self.gnss_running();
        } else {
            self.out.cancel_timer(Timer::GnssPoll.id());
            self.report_fix(Fix::none());
        }
        if let Some(call) = call {
            self.out.reply(call, Ok(CallReply::Done));
        }
    }

    /// The port closed or the modem went silent: its fix is no longer known.
    pub(super) fn gnss_gone(&mut self) {
        self.report_fix(Fix::none());
    }

    /// The poll timer fired.
    pub(super) fn on_gnss_timer(&mut self) {
        if self.phase == Phase::Ready && self.gnss.on {
            self.queue_gnss_poll();
        }
    }

    /// The GNSS is on: set it up where the family needs it, then poll it.
    fn gnss_running(&mut self) {
        let Some(family) = self.facts.gnss else {
            return;
        };
        if let Some(setup) = family.setup() {
            self.link.push(setup, Purpose::GnssSetup);
        }
        self.queue_gnss_poll();
    }

    /// The answer to the setup: a failure is logged; the polls say whether it mattered.
    pub(super) fn on_gnss_setup(&mut self, result: Result<Response, AtError>) {
        if let Err(error) = result {
            self.out
                .log(LogLevel::Warn, format!("cannot set the GNSS up: {error}"));
        }
    }

    fn queue_gnss_poll(&mut self) {
        let Some(family) = self.facts.gnss else {
            return;
        };
        if !self.link.contains(|p| *p == Purpose::GnssPoll) {
            self.link.push(family.poll(), Purpose::GnssPoll);
        }
        self.out
            .set_timer(Timer::GnssPoll.id(), self.gnss_options.interval_ms);
    }

    pub(super) fn on_gnss_poll(&mut self, result: Result<Response, AtError>) {
        let Some(family) = self.facts.gnss else {
            return;
        };
        match family.fix(&result) {
            // Switched off while the poll waited: no fix to report.
            Some(fix) if self.gnss.on => self.report_fix(fix),
            Some(_) => {}
            None => {
                let why = result.err().map(|e| e.to_string()).unwrap_or_default();
                self.out
                    .log(LogLevel::Debug, format!("no GNSS position: {why}"));
            }
        }
    }

    fn report_fix(&mut self, fix: Fix) {
        if fix.same_as(&self.gnss.reported) {
            return;
        }
        self.gnss.reported = fix.clone();
        self.out.location(LocationUpdate {
            enabled: None,
            fix: Some(fix),
        });
    }
}
