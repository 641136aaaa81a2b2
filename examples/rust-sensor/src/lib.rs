//! An m2mhal driver plugin for the Acme TS-1, a serial thermometer (an example: copy it, rename
//! it, and change the protocol part for your device; see README.md).
//!
//! The device speaks lines ending in CR LF: `ID?` answers `SN=<serial number>`, `READ?` answers
//! `T=<degrees Celsius>`, anything else `ERR`. The driver identifies the device once the port is
//! open, publishes it as ready, then reads the temperature every `poll_ms` milliseconds (option of
//! `[drivers.tempsensor]`, default 10000) and on `Sensor.Refresh`, and passes `Device.Command`
//! lines through.
//!
//! Like every m2mhal driver it is a sans-IO state machine: it never touches the port, a clock or
//! a thread. The daemon hands it inputs (port opened, bytes received, timers fired, application
//! calls) and performs the effects it returns (bytes to send, timers to arm, replies, properties).

use std::collections::VecDeque;

use m2mhal_plugin_api::sdk::{Driver, Effects};
use m2mhal_plugin_api::{
    CallError, CallErrorKind, CallReply, DeviceKind, DeviceUpdate, DriverDescription, Effect,
    Event, Input, LogLevel, OpenConfig, Request, SensorUpdate,
};

/// The driver name: what `driver = "tempsensor"` in the daemon's config names, and the `<name>` of
/// the plugin file `libm2mhal_driver_<name>.so`.
pub const NAME: &str = "tempsensor";
/// Timer that starts the next periodic reading.
const POLL_TIMER: u32 = 1;
/// Timer that gives up waiting for the device's answer.
const ANSWER_TIMER: u32 = 2;
/// How long the device has to answer a query.
const ANSWER_TIMEOUT_MS: u64 = 2_000;
/// Reading period when the config names none.
const DEFAULT_POLL_MS: u64 = 10_000;

/// A query to the device, waiting for its answer line.
#[derive(Debug, Clone, PartialEq)]
enum Query {
    /// `ID?`, once per opening of the port.
    Identify,
    /// `READ?`; answers the `Refresh` call that asked for it, if any.
    Read { call: Option<u64> },
    /// A `Device.Command` line, answered with the device's line.
    Command { call: u64, line: String },
}

impl Query {
    /// The line to send for this query.
    fn line(&self) -> &str {
        match self {
            Query::Identify => "ID?",
            Query::Read { .. } => "READ?",
            Query::Command { line, .. } => line,
        }
    }

    /// The call waiting for this query's answer.
    fn call(&self) -> Option<u64> {
        match self {
            Query::Identify => None,
            Query::Read { call } => *call,
            Query::Command { call, .. } => Some(*call),
        }
    }
}

/// The driver for one TS-1.
pub struct TempSensor {
    poll_ms: u64,
    /// Bytes of the line being received.
    line: Vec<u8>,
    /// The query sent and waiting for its answer.
    in_flight: Option<Query>,
    /// Queries waiting for their turn.
    queue: VecDeque<Query>,
    out: Effects,
}

impl Driver for TempSensor {
    fn describe() -> DriverDescription {
        DriverDescription {
            name: NAME.to_owned(),
            // Must equal the version in the entry table, which export_driver! takes from
            // Cargo.toml: so take it from there too.
            version: env!("CARGO_PKG_VERSION").to_owned(),
            kinds: vec![DeviceKind::Sensor],
            default_baud: Some(9600),
            // No udev or AT rules: the device cannot be recognised by itself, so the
            // administrator names the driver for its port (`[[port]] driver = "tempsensor"`).
            ..Default::default()
        }
    }

    fn open(config: OpenConfig) -> Result<Self, String> {
        let poll_ms = match config.options.get("poll_ms") {
            Some(text) => text
                .parse()
                .map_err(|_| format!("poll_ms must be a number of milliseconds, not {text:?}"))?,
            None => DEFAULT_POLL_MS,
        };
        Ok(TempSensor {
            poll_ms,
            line: Vec::new(),
            in_flight: None,
            queue: VecDeque::new(),
            out: Effects::new(),
        })
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        match input.event {
            Event::Opened => {
                self.restart();
                self.ask(Query::Identify);
            }
            Event::Hangup => self.restart(),
            Event::Rx(bytes) => self.receive(&bytes, input.unix_time),
            Event::Timer(POLL_TIMER) => {
                self.ask(Query::Read { call: None });
                self.out.set_timer(POLL_TIMER, self.poll_ms);
            }
            Event::Timer(ANSWER_TIMER) => self.no_answer(),
            Event::Call { call, request } => self.call(call, request),
            // Other timers, and events of later ABI versions: nothing to do.
            _ => {}
        }
        self.out.take()
    }
}

impl TempSensor {
    /// Forgets every query (the port was reopened or hung up); their callers get `NotReady`.
    fn restart(&mut self) {
        let calls: Vec<u64> = self
            .in_flight
            .take()
            .into_iter()
            .chain(self.queue.drain(..))
            .filter_map(|query| query.call())
            .collect();
        let error = CallError::new(CallErrorKind::NotReady, "the port was closed");
        self.out.fail_all(calls, &error);
        self.line.clear();
        self.out.cancel_timer(ANSWER_TIMER);
        self.out.cancel_timer(POLL_TIMER);
    }

    /// An application call.
    fn call(&mut self, call: u64, request: Request) {
        match request {
            Request::Refresh => self.ask(Query::Read { call: Some(call) }),
            Request::Command { line, .. } => self.ask(Query::Command { call, line }),
            Request::Reset => {
                self.ask(Query::Identify);
                self.out.reply(call, Ok(CallReply::Done));
            }
            _ => {
                let error = CallError::new(CallErrorKind::NotSupported, "a thermometer");
                self.out.reply(call, Err(error));
            }
        }
    }

    /// Queues `query` and sends it if the device is idle.
    fn ask(&mut self, query: Query) {
        self.queue.push_back(query);
        self.send_next();
    }

    fn send_next(&mut self) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some(query) = self.queue.pop_front() {
            self.out
                .push(Effect::Tx(format!("{}\r\n", query.line()).into_bytes()));
            self.out.set_timer(ANSWER_TIMER, ANSWER_TIMEOUT_MS);
            self.in_flight = Some(query);
        }
    }

    /// Bytes from the device: every complete line answers the query in flight.
    fn receive(&mut self, bytes: &[u8], unix_time: u64) {
        for &byte in bytes {
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            let line = String::from_utf8_lossy(&self.line).trim().to_owned();
            self.line.clear();
            if line.is_empty() {
                continue;
            }
            match self.in_flight.take() {
                Some(query) => {
                    self.out.cancel_timer(ANSWER_TIMER);
                    self.answer(query, &line, unix_time);
                    self.send_next();
                }
                None => self.out.log(LogLevel::Debug, "unsolicited line ignored"),
            }
        }
    }

    /// The device answered `query` with `line`.
    fn answer(&mut self, query: Query, line: &str, unix_time: u64) {
        match query {
            Query::Identify => match line.strip_prefix("SN=") {
                Some(serial) => {
                    self.out.device(DeviceUpdate {
                        // The identity: stable across replugging and restarts.
                        id: Some(format!("{NAME}:{serial}")),
                        manufacturer: Some("Acme".into()),
                        model: Some("TS-1".into()),
                        serial_number: Some(serial.to_owned()),
                        state: Some("ready".into()),
                        // Selects the D-Bus interfaces: Sensor (Readings, Refresh).
                        capabilities: Some(vec!["sensor".into()]),
                        ..Default::default()
                    });
                    self.ask(Query::Read { call: None });
                    self.out.set_timer(POLL_TIMER, self.poll_ms);
                }
                None => self
                    .out
                    .log(LogLevel::Warn, "the device did not identify itself"),
            },
            Query::Read { call } => {
                let celsius = line.strip_prefix("T=").and_then(|t| t.parse::<f64>().ok());
                let result = match celsius {
                    Some(celsius) => {
                        self.out.push(Effect::Sensor(SensorUpdate {
                            readings: [("temperature".to_owned(), celsius)].into(),
                            updated_at: Some(unix_time),
                        }));
                        Ok(CallReply::Done)
                    }
                    None => {
                        self.out.log(LogLevel::Warn, "unreadable temperature");
                        Err(CallError::new(
                            CallErrorKind::Failed,
                            "unreadable temperature",
                        ))
                    }
                };
                if let Some(call) = call {
                    self.out.reply(call, result);
                }
            }
            Query::Command { call, .. } => self.out.reply(call, Ok(CallReply::Text(line.into()))),
        }
    }

    /// The device did not answer the query in flight in time.
    fn no_answer(&mut self) {
        if let Some(query) = self.in_flight.take() {
            self.out.log(LogLevel::Warn, "the device did not answer");
            if let Some(call) = query.call() {
                let error = CallError::new(CallErrorKind::Timeout, "the device did not answer");
                self.out.reply(call, Err(error));
            }
        }
        self.send_next();
    }
}

m2mhal_plugin_api::export_driver!(TempSensor, "tempsensor");

/// Transcript tests with the vendor testkit (`m2mhal-driver-testkit`): the driver in the daemon's
/// own host core on a virtual clock, no daemon and no device; and the plugin through nothing but
/// its exported C table, as the daemon loads it.
#[cfg(test)]
mod tests {
    use m2mhal_driver_testkit::{Host, linked_plugin, writes};

    use super::*;

    /// The device's answer to the line in flight.
    fn answer(sensor: &mut Host<TempSensor>, line: &str) {
        sensor.rx(&format!("{line}\r\n"));
    }

    /// `line` and CR LF were written to the device.
    #[track_caller]
    fn expect_line(sensor: &mut Host<TempSensor>, line: &str) {
        sensor.expect_bytes(format!("{line}\r\n").as_bytes());
    }

    /// A thermometer that identified itself as `AC1234` and whose first reading is in flight.
    fn identified() -> Host<TempSensor> {
        let mut sensor = Host::new();
        sensor.open();
        expect_line(&mut sensor, "ID?");
        answer(&mut sensor, "SN=AC1234");
        let device = sensor.device();
        assert_eq!(device.id, Some(format!("{NAME}:AC1234")));
        assert_eq!(device.serial_number.as_deref(), Some("AC1234"));
        assert_eq!(sensor.state(), ("ready", ""));
        assert_eq!(device.capabilities, Some(vec!["sensor".to_owned()]));
        expect_line(&mut sensor, "READ?");
        sensor
    }

    #[test]
    fn identifies_the_device_then_reads_the_temperature_every_poll() {
        let mut sensor = identified();
        answer(&mut sensor, "T=21.5");
        assert_eq!(sensor.readings()["temperature"], 21.5);
        sensor.expect_no_tx();
        // The next reading comes with the poll timer.
        sensor.advance(DEFAULT_POLL_MS);
        expect_line(&mut sensor, "READ?");
        answer(&mut sensor, "T=22");
        assert_eq!(sensor.readings()["temperature"], 22.0);
    }

    #[test]
    fn refresh_is_answered_with_the_reading() {
        let mut sensor = identified();
        answer(&mut sensor, "T=21.5");
        let refresh = sensor.call(Request::Refresh);
        expect_line(&mut sensor, "READ?");
        assert!(!sensor.answered(refresh));
        answer(&mut sensor, "T=23.25");
        assert_eq!(sensor.reply(refresh), Ok(CallReply::Done));
        assert_eq!(sensor.readings()["temperature"], 23.25);
    }

    #[test]
    fn commands_are_answered_with_the_device_line_and_time_out() {
        let mut sensor = identified();
        answer(&mut sensor, "T=21.5");
        let command = || Request::Command {
            line: "VER?".into(),
            timeout_ms: 1000,
        };
        let call = sensor.call(command());
        expect_line(&mut sensor, "VER?");
        answer(&mut sensor, "TS-1 v2");
        assert_eq!(sensor.reply(call), Ok(CallReply::Text("TS-1 v2".into())));
        // A device that stays silent: the call fails with Timeout when the answer timer fires.
        let call = sensor.call(command());
        expect_line(&mut sensor, "VER?");
        sensor.advance(ANSWER_TIMEOUT_MS - 1);
        assert!(!sensor.answered(call));
        sensor.advance(1);
        assert_eq!(
            sensor.reply(call).map_err(|e| e.kind),
            Err(CallErrorKind::Timeout)
        );
        assert!(sensor.logged(LogLevel::Warn, "did not answer"));
    }

    #[test]
    fn a_hangup_fails_the_waiting_calls_and_stops_polling() {
        let mut sensor = identified();
        let refresh = sensor.call(Request::Refresh);
        sensor.input(Event::Hangup);
        assert_eq!(
            sensor.reply(refresh).map_err(|e| e.kind),
            Err(CallErrorKind::NotReady)
        );
        sensor.advance(10 * DEFAULT_POLL_MS);
        sensor.expect_no_tx();
    }

    #[test]
    fn requests_it_cannot_serve_are_not_supported() {
        let mut sensor = identified();
        let call = sensor.call(Request::Poll);
        assert_eq!(
            sensor.reply(call).map_err(|e| e.kind),
            Err(CallErrorKind::NotSupported)
        );
    }

    #[test]
    fn the_plugin_passes_the_checks_of_its_c_table() {
        let plugin = linked_plugin!();
        let checked = plugin.check_common(NAME, &OpenConfig::default());
        assert_eq!(checked.description.kinds, [DeviceKind::Sensor]);
        assert_eq!(checked.description.version, plugin.version());
        assert_eq!(writes(&checked.opened), ["ID?\r\n"]);
        let refusal = plugin.check_refuses_option(&OpenConfig::default(), "poll_ms", "soon");
        assert!(refusal.contains("milliseconds"), "{refusal}");
    }
}
