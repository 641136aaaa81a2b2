//! [`GnssDriver`]: the state machine of one NMEA receiver.
//!
//! The receiver talks and the driver listens: nothing is ever written to the port. Lines are cut
//! from the bytes ([`LineReader`]), verified and decoded ([`m2mhal_nmea`]); a line that fails is
//! dropped whole. The sentences of an epoch make one fix ([`FixAssembler`]), reported when it
//! differs from the last one.

use m2mhal_plugin_api::sdk::{Driver, Effects};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DeviceKind, DeviceUpdate, DriverDescription, Effect,
    Event, Fix, Input, LocationUpdate, LogLevel, OpenConfig, Request,
};

use crate::identity::{Identity, device_id};
use crate::lines::LineReader;
use crate::timers::{QUIET_MS, SILENCE_MS, Timer};
use m2mhal_nmea::{self as nmea, FixAssembler, Nmea};

/// Whether the receiver talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Port closed (before `Opened`, after `Hangup`).
    Closed,
    /// Open, no valid sentence yet.
    Waiting,
    /// Valid sentences arrive.
    Talking,
    /// Open, but no valid sentence for [`SILENCE_MS`].
    Silent,
}

/// One NMEA 0183 receiver.
pub struct GnssDriver {
    id: String,
    link: Link,
    lines: LineReader,
    assembler: FixAssembler,
    identity: Identity,
    /// The fix last reported to the host.
    reported: Fix,
    /// When the last valid sentence came (monotonic ms).
    last_sentence_ms: u64,
    now_ms: u64,
    unix_time: u64,
    out: Effects,
}

impl Driver for GnssDriver {
    fn describe() -> DriverDescription {
        crate::describe::description()
    }

    fn open(config: OpenConfig) -> Result<Self, String> {
        Ok(GnssDriver {
            id: device_id(&config.port, &config.properties),
            link: Link::Closed,
            lines: LineReader::new(),
            assembler: FixAssembler::new(),
            identity: Identity::default(),
            reported: Fix::none(),
            last_sentence_ms: 0,
            now_ms: 0,
            unix_time: 0,
            out: Effects::new(),
        })
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        self.now_ms = input.now_ms;
        self.unix_time = input.unix_time;
        match input.event {
            Event::Opened => self.opened(),
            Event::Rx(bytes) if self.link != Link::Closed => self.received(&bytes),
            Event::Hangup if self.link != Link::Closed => self.hung_up(),
            Event::Timer(id) => match Timer::from_id(id) {
                Some(Timer::Quiet) => self.quiet(),
                Some(Timer::Silence) => self.check_silence(),
                None => {}
            },
            Event::Call { call, request } => self.call(call, request),
            // Bytes of a closed port, BLE and message events, events of later ABI versions.
            _ => {}
        }
        self.out.take()
    }
}

impl GnssDriver {
    /// The port is open: a receiver starts over (its identity, its fix).
    fn opened(&mut self) {
        self.link = Link::Waiting;
        self.lines.clear();
        self.assembler = FixAssembler::new();
        self.last_sentence_ms = self.now_ms;
        self.out.device(DeviceUpdate {
            id: Some(self.id.clone()),
            kind: Some(DeviceKind::GnssReceiver),
            capabilities: Some(vec!["location".to_owned()]),
            state: Some("initializing".to_owned()),
            state_reason: Some(String::new()),
            ..DeviceUpdate::default()
        });
        self.out.location(LocationUpdate {
            enabled: Some(true),
            fix: None,
        });
        self.out.set_timer(Timer::Silence.id(), SILENCE_MS);
    }

    fn hung_up(&mut self) {
        self.link = Link::Closed;
        self.out.cancel_timer(Timer::Quiet.id());
        self.out.cancel_timer(Timer::Silence.id());
        self.report(Fix::none());
        self.publish_state("offline", "hangup");
    }

    fn received(&mut self, bytes: &[u8]) {
        for line in self.lines.push(bytes) {
            match nmea::parse_line(&line) {
                Ok(sentence) => self.sentence(&sentence),
                Err(error) => self
                    .out
                    .log(LogLevel::Debug, format!("dropped a sentence: {error}")),
            }
        }
        self.out.set_timer(Timer::Quiet.id(), QUIET_MS);
    }

    fn sentence(&mut self, sentence: &Nmea) {
        self.last_sentence_ms = self.now_ms;
        if self.link != Link::Talking {
            if self.link == Link::Silent {
                self.out.log(LogLevel::Info, "the receiver talks again");
            }
            self.link = Link::Talking;
            self.publish_state("ready", "");
        }
        if let Nmea::Txt(text) = sentence
            && self.identity.learn(text)
        {
            self.out.device(DeviceUpdate {
                manufacturer: Some(self.identity.manufacturer.clone()),
                model: Some(self.identity.model.clone()),
                revision: Some(self.identity.revision.clone()),
                ..DeviceUpdate::default()
            });
        }
        if let Some(fix) = self.assembler.push(sentence, self.unix_time) {
            self.report(fix);
        }
    }

    /// The burst is over: report the epoch as it stands.
    fn quiet(&mut self) {
        if let Some(fix) = self.assembler.current(self.unix_time) {
            self.report(fix);
        }
    }

    fn check_silence(&mut self) {
        if self.link == Link::Closed {
            return;
        }
        let silent_for = self.now_ms.saturating_sub(self.last_sentence_ms);
        if silent_for < SILENCE_MS {
            self.out
                .set_timer(Timer::Silence.id(), SILENCE_MS - silent_for);
            return;
        }
        if self.link != Link::Silent {
            self.link = Link::Silent;
            self.out.log(
                LogLevel::Warn,
                format!("no valid sentence for {} s", SILENCE_MS / 1000),
            );
            self.report(Fix::none());
            self.publish_state("failed", "no-response");
        }
        self.out.set_timer(Timer::Silence.id(), SILENCE_MS);
    }

    /// Reports `fix` if it says something else than the last one reported.
    fn report(&mut self, fix: Fix) {
        if fix.same_as(&self.reported) {
            return;
        }
        self.reported = fix.clone();
        self.out.location(LocationUpdate {
            enabled: None,
            fix: Some(fix),
        });
    }

    fn publish_state(&mut self, state: &str, reason: &str) {
        self.out.device(DeviceUpdate {
            state: Some(state.to_owned()),
            state_reason: Some(reason.to_owned()),
            ..DeviceUpdate::default()
        });
    }

    fn call(&mut self, call: u64, request: Request) {
        let result = match request {
            // The receiver reports by itself; there is nothing to read or reset on the wire.
            Request::Refresh => Ok(CallReply::Done),
            Request::Reset => {
                if self.link != Link::Closed {
                    self.opened();
                }
                Ok(CallReply::Done)
            }
            Request::SetLocationEnabled(true) => Ok(CallReply::Done),
            Request::SetLocationEnabled(false) => Err(CallError::new(
                CallErrorKind::NotSupported,
                "a serial GNSS receiver is powered with its port and cannot be switched off",
            )),
            _ => Err(CallError::new(
                CallErrorKind::NotSupported,
                "a GNSS receiver only reports its location",
            )),
        };
        self.out.reply(call, result);
    }
}
