//! [`Host`]: a fake host for transcript tests, built on the daemon's own host core.

use std::collections::{BTreeMap, VecDeque};

use m2mhal_host_core::{
    Action, Answer, DeviceHost, IncomingOutcome, Now, Publication, StateChange, Update,
};
use m2mhal_plugin_api::ble::GattOp;
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{
    CallError, CallReply, DeviceUpdate, Effect, Event, Fix, IncomingMessage, LocationUpdate,
    LogLevel, OpenConfig, OutgoingMessage, Request, SensorUpdate, SignalUpdate,
};

/// Unix time at the virtual clock's start (`now_ms == 0`).
pub const EPOCH: u64 = 1_700_000_000;

/// The port a serial driver is opened on.
const SERIAL_PORT: &str = "/dev/ttyUSB0";

/// How the device is attached; it decides which link effects the driver may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attachment {
    /// A serial port: bytes.
    Serial,
    /// A BLE peripheral: the link and GATT operations.
    Ble,
}

/// An `Effect::Connect` or `Effect::Disconnect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    /// Bring the link up.
    Connect,
    /// Take the link down.
    Disconnect,
}

/// A driver in the daemon's host core ([`m2mhal_host_core::DeviceHost`]), and everything it
/// asked the host to do.
///
/// The clock is virtual: it starts at 0 ([`EPOCH`] in Unix time) and moves only with
/// [`Host::advance`], which fires the timers the driver armed, in order. Bytes the driver writes,
/// the link requests and the GATT operations of a BLE driver queue up until a test takes them
/// ([`Host::expect_tx`], [`Host::take_link_request`], [`Host::take_gatt`]); everything else it
/// asks for is recorded in the public fields. The host core treats every effect as the daemon
/// does; a link effect the device's attachment cannot carry out (a GATT operation from a serial
/// driver, bytes from a BLE driver), which the daemon ignores with a warning, makes the test
/// fail, and so does a reply to a call nobody waits for (answered twice, say).
///
/// The fake store commits nothing by itself: a received message is recorded in
/// [`Host::received`] and the test commits it with [`Host::commit`]. The device is published as
/// soon as the core asks; the store has no queued messages and no earlier commits.
pub struct Host<D> {
    driver: D,
    config: OpenConfig,
    core: DeviceHost<()>,
    attachment: Attachment,
    now_ms: u64,
    tx: VecDeque<Vec<u8>>,
    link_requests: VecDeque<LinkRequest>,
    gatt: VecDeque<GattOp>,
    /// Replies by call id.
    pub replies: BTreeMap<u64, Result<CallReply, CallError>>,
    /// Every `Effect::Device`, in order.
    pub devices: Vec<DeviceUpdate>,
    /// Every `Effect::Signal`, in order.
    pub signals: Vec<SignalUpdate>,
    /// Every `Effect::MessageReceived` after the device's `Id`, in order (the host drops those
    /// before it).
    pub received: Vec<IncomingMessage>,
    /// Every outgoing message state committed, in order.
    pub message_states: Vec<StateChange>,
    /// Every `Effect::Sensor`, in order.
    pub sensors: Vec<SensorUpdate>,
    /// Every `Effect::Location`, in order.
    pub locations: Vec<LocationUpdate>,
    /// Every `Effect::Notify`: characteristic and value, in order.
    pub notifications: Vec<(String, Vec<u8>)>,
    /// Every `Effect::Log`, in order.
    pub logs: Vec<(LogLevel, String)>,
}

/// A driver opened with default options (the port is not `Opened` yet).
impl<D: Driver> Default for Host<D> {
    fn default() -> Self {
        Self::with_options(&[])
    }
}

impl<D: Driver> Host<D> {
    /// A driver opened with default options (the port is not `Opened` yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// A driver of a serial device opened with these options (the port is not `Opened` yet);
    /// panics if the driver refuses them.
    pub fn with_options(options: &[(&str, &str)]) -> Self {
        Self::attached(Attachment::Serial, SERIAL_PORT, options)
    }

    /// A driver of the BLE peripheral at `address` opened with these options (the device is not
    /// `Opened` yet); panics if the driver refuses them.
    pub fn ble_peripheral(address: &str, options: &[(&str, &str)]) -> Self {
        Self::attached(Attachment::Ble, address, options)
    }

    fn attached(attachment: Attachment, port: &str, options: &[(&str, &str)]) -> Self {
        let config = OpenConfig {
            port: port.into(),
            // What the daemon tells a driver it opens.
            host_abi_minor: m2mhal_plugin_api::ABI_MINOR,
            options: options
                .iter()
                .map(|(key, value)| ((*key).into(), (*value).into()))
                .collect(),
            ..OpenConfig::default()
        };
        let driver = Self::open_driver(&config);
        Host {
            driver,
            config,
            core: DeviceHost::new(Now {
                ms: 0,
                unix_time: EPOCH,
            }),
            attachment,
            now_ms: 0,
            tx: VecDeque::new(),
            link_requests: VecDeque::new(),
            gatt: VecDeque::new(),
            replies: BTreeMap::new(),
            devices: Vec::new(),
            signals: Vec::new(),
            received: Vec::new(),
            message_states: Vec::new(),
            sensors: Vec::new(),
            locations: Vec::new(),
            notifications: Vec::new(),
            logs: Vec::new(),
        }
    }

    fn open_driver(config: &OpenConfig) -> D {
        D::open(config.clone()).unwrap_or_else(|error| panic!("open failed: {error}"))
    }

    /// Hands one event to the driver now, after anything queued before, and carries out
    /// everything that follows.
    #[track_caller]
    pub fn input(&mut self, event: Event) {
        self.core.deliver(event);
        self.run();
    }

    /// Carries out the core's actions until it is idle.
    #[track_caller]
    fn run(&mut self) {
        let now = Now {
            ms: self.now_ms,
            unix_time: self.unix_time(),
        };
        while let Some(action) = self.core.poll(now) {
            self.carry_out(action);
        }
    }

    #[track_caller]
    fn carry_out(&mut self, action: Action<()>) {
        let answer = match action {
            Action::Drive(input) => Answer::Driven(Ok(self.driver.handle(input))),
            Action::Link(effect) => return self.link(effect),
            Action::Update(update) => return self.record(update),
            Action::Log { level, message } => return self.logs.push((level, message)),
            Action::Reply { call, result, .. } => {
                self.replies.insert(call, result);
                return;
            }
            Action::StrayReply { call } => {
                panic!("the driver answered call {call}, which nobody waits for (answered twice?)")
            }
            Action::StoreIncoming { message, .. } => {
                self.received.push(message);
                Answer::IncomingStored(IncomingOutcome::NotCommitted)
            }
            Action::CommitState(change) => return self.message_states.push(change),
            Action::EmitNotification {
                characteristic,
                value,
            } => return self.notifications.push((characteristic, value)),
            Action::EmitReceived { .. } | Action::EmitState { .. } | Action::Withdraw => return,
            Action::Publish => Answer::Published(Publication::New),
            Action::LoadOutbox { .. } => Answer::OutboxLoaded(Some(Vec::new())),
            Action::ReadRecentCommits { .. } => Answer::RecentCommits(Vec::new()),
            Action::ReadProgress { .. } => Answer::Progress(None),
            Action::RestartDriver => {
                self.driver = Self::open_driver(&self.config);
                Answer::DriverRestarted(Ok(()))
            }
        };
        self.core.answer(answer);
    }

    /// Queues a link effect for the test to take.
    #[track_caller]
    fn link(&mut self, effect: Effect) {
        match (self.attachment, effect) {
            (Attachment::Serial, Effect::Tx(bytes)) => self.tx.push_back(bytes),
            (Attachment::Ble, Effect::Connect) => {
                self.link_requests.push_back(LinkRequest::Connect)
            }
            (Attachment::Ble, Effect::Disconnect) => {
                self.link_requests.push_back(LinkRequest::Disconnect)
            }
            (Attachment::Ble, Effect::Gatt(op)) => self.gatt.push_back(op),
            (attachment, other) => {
                panic!(
                    "the driver asked for {other:?}, which a {attachment:?} device has no use for"
                )
            }
        }
    }

    /// Records a change of the device's properties that the driver asked for.
    fn record(&mut self, update: Update) {
        match update {
            Update::Device(update) => self.devices.push(update),
            Update::Signal(update) => self.signals.push(update),
            Update::Sensor(update) => self.sensors.push(update),
            Update::Location(update) => self.locations.push(update),
            Update::State { .. } | Update::Pending(_) => {}
        }
    }

    /// Unix time now.
    pub fn unix_time(&self) -> u64 {
        EPOCH + self.now_ms / 1000
    }

    /// The port opened.
    pub fn open(&mut self) {
        self.input(Event::Opened);
    }

    /// Text from the device.
    pub fn rx(&mut self, text: &str) {
        self.rx_bytes(text.as_bytes());
    }

    /// Bytes from the device.
    pub fn rx_bytes(&mut self, bytes: &[u8]) {
        self.input(Event::Rx(bytes.to_vec()));
    }

    /// The next bytes written must be `line` and a carriage return.
    #[track_caller]
    pub fn expect_tx(&mut self, line: &str) {
        self.expect_bytes(format!("{line}\r").as_bytes());
    }

    /// The next bytes written must be exactly `bytes`.
    #[track_caller]
    pub fn expect_bytes(&mut self, bytes: &[u8]) {
        match self.tx.pop_front() {
            Some(sent) => assert_eq!(
                sent,
                bytes,
                "unexpected bytes written: {:?} instead of {:?}",
                String::from_utf8_lossy(&sent),
                String::from_utf8_lossy(bytes)
            ),
            None => panic!(
                "nothing written, expected {:?}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }

    /// The next bytes written, if any.
    pub fn take_tx(&mut self) -> Option<Vec<u8>> {
        self.tx.pop_front()
    }

    /// The next link request, if any.
    pub fn take_link_request(&mut self) -> Option<LinkRequest> {
        self.link_requests.pop_front()
    }

    /// The next GATT operation, if any.
    pub fn take_gatt(&mut self) -> Option<GattOp> {
        self.gatt.pop_front()
    }

    /// Nothing more was written.
    #[track_caller]
    pub fn expect_no_tx(&mut self) {
        let pending: Vec<String> = self
            .tx
            .iter()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .collect();
        assert!(pending.is_empty(), "unexpected writes: {pending:?}");
    }

    /// The resynchronisation every AT driver starts with after an open or restart
    /// (`m2mhal_at::resync`) is written, and the device answers it with echo off: ESC, 341
    /// carriage returns and `ATE1` (answered `OK`), then the `AT` marker (answered with its echo
    /// and `OK`, echo being on by then).
    #[track_caller]
    pub fn resync(&mut self) {
        let mut escape_and_echo_on = vec![b'\r'; 342];
        escape_and_echo_on[0] = 0x1B;
        escape_and_echo_on.extend_from_slice(b"ATE1\r");
        self.expect_bytes(&escape_and_echo_on);
        self.rx("\r\nOK\r\n");
        self.exchange("AT", "AT\r\r\nOK\r\n");
    }

    /// `command` is written and the device answers `answer` (raw text, line endings included).
    #[track_caller]
    pub fn exchange(&mut self, command: &str, answer: &str) {
        self.expect_tx(command);
        self.rx(answer);
    }

    /// `command` is written and the device answers these information lines and `OK`.
    #[track_caller]
    pub fn ok(&mut self, command: &str, lines: &[&str]) {
        let mut answer: String = lines.iter().map(|line| format!("\r\n{line}\r\n")).collect();
        answer.push_str("\r\nOK\r\n");
        self.exchange(command, &answer);
    }

    /// `command` is written and the device answers with the final result `error` (`ERROR`,
    /// `+CME ERROR: 4`, ...).
    #[track_caller]
    pub fn fails(&mut self, command: &str, error: &str) {
        self.exchange(command, &format!("\r\n{error}\r\n"));
    }

    /// Lets `ms` pass, firing due timers in order, each at its time.
    #[track_caller]
    pub fn advance(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        while let Some(due) = self.core.deadline().filter(|due| *due <= end) {
            self.now_ms = due;
            self.core.wake(Now {
                ms: due,
                unix_time: self.unix_time(),
            });
            self.run();
        }
        self.now_ms = end;
    }

    /// Whether timer `id` is armed.
    pub fn timer_armed(&self, id: u32) -> bool {
        self.core.timer_due(id).is_some()
    }

    /// When timer `id` fires (milliseconds on the virtual clock), if it is armed.
    pub fn timer_due(&self, id: u32) -> Option<u64> {
        self.core.timer_due(id)
    }

    /// Milliseconds on the virtual clock.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// An application call; returns its id.
    #[track_caller]
    pub fn call(&mut self, request: Request) -> u64 {
        let call = self.core.call(request, ());
        self.run();
        call
    }

    /// Sends `message`; returns the call.
    #[track_caller]
    pub fn send(&mut self, message: OutgoingMessage) -> u64 {
        self.call(Request::Send(message))
    }

    /// The reply to `call`, which must have come.
    #[track_caller]
    pub fn reply(&self, call: u64) -> Result<CallReply, CallError> {
        self.replies
            .get(&call)
            .cloned()
            .unwrap_or_else(|| panic!("call {call} not answered"))
    }

    /// Whether `call` is answered.
    pub fn answered(&self, call: u64) -> bool {
        self.replies.contains_key(&call)
    }

    /// The host committed the received message `key`.
    #[track_caller]
    pub fn commit(&mut self, key: &str) {
        self.input(Event::MessageCommitted { key: key.into() });
    }

    /// The last published state and reason.
    #[track_caller]
    pub fn state(&self) -> (&str, &str) {
        let last = self
            .devices
            .iter()
            .rev()
            .find(|update| update.state.is_some())
            .expect("no state published");
        (
            last.state.as_deref().unwrap_or_default(),
            last.state_reason.as_deref().unwrap_or_default(),
        )
    }

    /// All device updates folded into one, as the host's view of the device.
    pub fn device(&self) -> DeviceUpdate {
        let mut view = DeviceUpdate::default();
        for update in self.devices.iter().cloned() {
            macro_rules! fold {
                ($($field:ident),*) => { $( if update.$field.is_some() { view.$field = update.$field; } )* };
            }
            fold!(
                id,
                kind,
                manufacturer,
                model,
                revision,
                serial_number,
                state,
                state_reason,
                capabilities,
                max_payload,
                extra,
                connected,
                services,
                gatt_services
            );
        }
        view
    }

    /// All signal updates folded into one, as the host's view of the Signal interface.
    pub fn signal(&self) -> SignalUpdate {
        let mut view = SignalUpdate::default();
        for update in self.signals.iter().cloned() {
            macro_rules! fold {
                ($($field:ident),*) => { $( if update.$field.is_some() { view.$field = update.$field; } )* };
            }
            fold!(
                quality,
                rssi,
                rsrp,
                rsrq,
                sinr,
                technology,
                registration,
                operator,
                updated_at
            );
        }
        view
    }

    /// The last signal quality published.
    pub fn quality(&self) -> Option<u32> {
        self.signal().quality
    }

    /// The last fix reported ([`Fix::none`] before the first).
    pub fn fix(&self) -> Fix {
        self.locations
            .iter()
            .rev()
            .find_map(|update| update.fix.clone())
            .unwrap_or_default()
    }

    /// Every fix reported, in order.
    pub fn fixes(&self) -> Vec<Fix> {
        self.locations
            .iter()
            .filter_map(|update| update.fix.clone())
            .collect()
    }

    /// The last `enabled` reported (false before the first).
    pub fn location_enabled(&self) -> bool {
        self.locations
            .iter()
            .rev()
            .find_map(|update| update.enabled)
            .unwrap_or(false)
    }

    /// All sensor readings merged by key, as the host's view of `Sensor.Readings`.
    pub fn readings(&self) -> BTreeMap<String, f64> {
        self.sensors
            .iter()
            .flat_map(|update| update.readings.clone())
            .collect()
    }

    /// Whether a log line at `level` contains `text`.
    pub fn logged(&self, level: LogLevel, text: &str) -> bool {
        self.log_count(level, text) > 0
    }

    /// How many log lines at `level` contain `text`.
    pub fn log_count(&self, level: LogLevel, text: &str) -> usize {
        self.logs
            .iter()
            .filter(|(logged, message)| *logged == level && message.contains(text))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use m2mhal_plugin_api::ble::GattAction;
    use m2mhal_plugin_api::{DriverDescription, Input};

    use super::*;

    const ADDRESS: &str = "54:48:E6:8F:80:A5";

    /// Arms timer 2 for 500 ms and timer 1 for 100 ms when opened; writes `T<id>` when one fires
    /// and re-arms timer 1; answers every call `Done`.
    struct Ticker;

    impl Driver for Ticker {
        fn describe() -> DriverDescription {
            DriverDescription::default()
        }

        fn open(_: OpenConfig) -> Result<Self, String> {
            Ok(Ticker)
        }

        fn handle(&mut self, input: Input) -> Vec<Effect> {
            match input.event {
                Event::Opened => vec![
                    Effect::SetTimer {
                        id: 2,
                        after_ms: 500,
                    },
                    Effect::SetTimer {
                        id: 1,
                        after_ms: 100,
                    },
                ],
                Event::Timer(id) => vec![
                    Effect::Tx(format!("T{id}@{}", input.now_ms).into_bytes()),
                    Effect::SetTimer {
                        id: 1,
                        after_ms: 300,
                    },
                ],
                Event::Call { call, .. } => vec![Effect::Reply {
                    call,
                    result: Ok(CallReply::Done),
                }],
                _ => Vec::new(),
            }
        }
    }

    #[test]
    fn advance_fires_due_timers_in_order_at_their_time() {
        let mut host = Host::<Ticker>::new();
        host.open();
        host.advance(99);
        host.expect_no_tx();
        host.advance(451);
        host.expect_bytes(b"T1@100");
        host.expect_bytes(b"T1@400");
        host.expect_bytes(b"T2@500");
        host.expect_no_tx();
        assert!(host.timer_armed(1));
        assert!(!host.timer_armed(2));
        assert_eq!(host.unix_time(), EPOCH);
    }

    #[test]
    fn calls_get_their_own_ids() {
        let mut host = Host::<Ticker>::new();
        let first = host.call(Request::Poll);
        let second = host.call(Request::Refresh);
        assert_ne!(first, second);
        assert_eq!(host.reply(second), Ok(CallReply::Done));
        assert!(host.answered(first));
    }

    /// A BLE peripheral's driver: connects and reads the battery level when opened, publishes
    /// and forwards every notification, disconnects when a timer fires.
    struct BatteryMonitor;

    impl Driver for BatteryMonitor {
        fn describe() -> DriverDescription {
            DriverDescription::default()
        }

        fn open(_: OpenConfig) -> Result<Self, String> {
            Ok(BatteryMonitor)
        }

        fn handle(&mut self, input: Input) -> Vec<Effect> {
            match input.event {
                Event::Opened => vec![
                    Effect::Connect,
                    Effect::Gatt(GattOp {
                        op: 1,
                        characteristic: "2a19".into(),
                        action: GattAction::Read,
                    }),
                ],
                Event::Notification {
                    characteristic,
                    value,
                } => vec![
                    Effect::Sensor(SensorUpdate {
                        readings: [("battery".to_owned(), f64::from(value[0]))].into(),
                        updated_at: Some(input.unix_time),
                    }),
                    Effect::Notify {
                        characteristic,
                        value,
                    },
                ],
                Event::Timer(_) => vec![Effect::Disconnect],
                _ => Vec::new(),
            }
        }
    }

    #[test]
    fn a_ble_host_queues_link_requests_and_gatt_operations_and_records_the_rest() {
        let mut host = Host::<BatteryMonitor>::ble_peripheral(ADDRESS, &[]);
        host.open();
        assert_eq!(host.take_link_request(), Some(LinkRequest::Connect));
        assert_eq!(host.take_link_request(), None);
        assert_eq!(
            host.take_gatt(),
            Some(GattOp {
                op: 1,
                characteristic: "2a19".into(),
                action: GattAction::Read,
            })
        );
        assert_eq!(host.take_gatt(), None);

        host.input(Event::Notification {
            characteristic: "2a19".into(),
            value: vec![90],
        });
        host.input(Event::Notification {
            characteristic: "2a19".into(),
            value: vec![85],
        });
        assert_eq!(host.readings(), [("battery".to_owned(), 85.0)].into());
        assert_eq!(
            host.notifications,
            [("2a19".to_owned(), vec![90]), ("2a19".to_owned(), vec![85])]
        );
        host.input(Event::Timer(1));
        assert_eq!(host.take_link_request(), Some(LinkRequest::Disconnect));
    }

    #[test]
    fn a_serial_host_takes_sensor_readings_and_notifications_as_the_daemon_does() {
        let mut host = Host::<BatteryMonitor>::new();
        host.input(Event::Notification {
            characteristic: "2a19".into(),
            value: vec![77],
        });
        assert_eq!(host.readings(), [("battery".to_owned(), 77.0)].into());
        assert_eq!(host.notifications, [("2a19".to_owned(), vec![77])]);
    }

    #[test]
    #[should_panic(expected = "which nobody waits for")]
    fn a_reply_to_an_unknown_call_fails_the_test() {
        Host::<Ticker>::new().input(Event::Call {
            call: 7,
            request: Request::Poll,
        });
    }

    #[test]
    #[should_panic(expected = "which a Serial device has no use for")]
    fn a_serial_host_refuses_ble_link_effects() {
        Host::<BatteryMonitor>::new().open();
    }

    #[test]
    #[should_panic(expected = "which a Ble device has no use for")]
    fn a_ble_host_refuses_bytes() {
        let mut host = Host::<Ticker>::ble_peripheral(ADDRESS, &[]);
        host.open();
        host.advance(100);
    }

    #[test]
    fn timers_report_when_they_fire() {
        let mut host = Host::<Ticker>::new();
        host.open();
        host.advance(50);
        assert_eq!(host.now_ms(), 50);
        assert_eq!(host.timer_due(1), Some(100));
        assert_eq!(host.timer_due(2), Some(500));
        assert_eq!(host.timer_due(3), None);
    }
}
