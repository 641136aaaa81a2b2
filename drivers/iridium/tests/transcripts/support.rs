//! A fake host for transcript tests: it feeds the driver inputs, keeps the clock and the armed
//! timers, and records every effect so a test reads like a terminal log:
//!
//! ```ignore
//! terminal.expect_tx("AT+CSQ");
//! terminal.rx("\r\n+CSQ:4\r\n\r\nOK\r\n");
//! ```
//!
//! It mirrors the cellular driver's harness; both could share one generic over `Driver`.

use std::collections::{BTreeMap, VecDeque};

use m2mhal_driver_iridium::IridiumDriver;
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{
    CallError, CallReply, DeviceUpdate, Effect, Encoding, Event, IncomingMessage, Input, LogLevel,
    MessageState, OpenConfig, OutgoingMessage, Request, SignalUpdate,
};

/// Unix time at `now_ms == 0`.
pub const EPOCH: u64 = 1_700_000_000;

/// An `Effect::MessageState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// Message id.
    pub id: String,
    /// New state.
    pub state: MessageState,
    /// Extra facts.
    pub info: BTreeMap<String, String>,
}

/// The driver and everything it asked the host to do.
pub struct Terminal {
    driver: IridiumDriver,
    now_ms: u64,
    timers: BTreeMap<u32, u64>,
    tx: VecDeque<Vec<u8>>,
    next_call: u64,
    /// Replies by call id.
    pub replies: BTreeMap<u64, Result<CallReply, CallError>>,
    /// Every `Effect::Device`, in order.
    pub devices: Vec<DeviceUpdate>,
    /// Every `Effect::Signal`, in order.
    pub signals: Vec<SignalUpdate>,
    /// Every `Effect::MessageReceived`, in order.
    pub received: Vec<IncomingMessage>,
    /// Every `Effect::MessageState`.
    pub message_states: Vec<StateChange>,
    /// Every `Effect::Log`.
    pub logs: Vec<(LogLevel, String)>,
}

impl Terminal {
    /// A driver opened with default options (the port is not `Opened` yet).
    pub fn new() -> Self {
        Self::with_options(&[])
    }

    /// A driver opened with these options.
    pub fn with_options(options: &[(&str, &str)]) -> Self {
        let config = OpenConfig {
            port: "/dev/ttyUSB0".into(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..OpenConfig::default()
        };
        Terminal {
            driver: IridiumDriver::open(config).unwrap(),
            now_ms: 0,
            timers: BTreeMap::new(),
            tx: VecDeque::new(),
            next_call: 1,
            replies: BTreeMap::new(),
            devices: Vec::new(),
            signals: Vec::new(),
            received: Vec::new(),
            message_states: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// Hands one event to the driver and records its effects.
    pub fn input(&mut self, event: Event) {
        let input = Input {
            now_ms: self.now_ms,
            unix_time: self.unix_time(),
            event,
        };
        for effect in self.driver.handle(input) {
            match effect {
                Effect::Tx(bytes) => self.tx.push_back(bytes),
                Effect::SetTimer { id, after_ms } => {
                    self.timers.insert(id, self.now_ms + after_ms);
                }
                Effect::CancelTimer(id) => {
                    self.timers.remove(&id);
                }
                Effect::Reply { call, result } => {
                    let earlier = self.replies.insert(call, result);
                    assert!(earlier.is_none(), "call {call} answered twice");
                }
                Effect::Device(update) => self.devices.push(update),
                Effect::Signal(update) => self.signals.push(update),
                Effect::MessageReceived(message) => self.received.push(message),
                Effect::MessageState {
                    id, state, info, ..
                } => self.message_states.push(StateChange { id, state, info }),
                Effect::Log { level, message } => self.logs.push((level, message)),
                other => panic!("a satellite driver asked for {other:?}"),
            }
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

    /// Text from the terminal.
    pub fn rx(&mut self, text: &str) {
        self.rx_bytes(text.as_bytes());
    }

    /// Bytes from the terminal.
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

    /// Nothing more was written.
    #[track_caller]
    pub fn expect_no_tx(&mut self) {
        let pending: Vec<String> = self
            .tx
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(pending.is_empty(), "unexpected writes: {pending:?}");
    }

    /// `command` is written and the terminal answers these information lines and `OK`.
    #[track_caller]
    pub fn ok(&mut self, command: &str, lines: &[&str]) {
        self.expect_tx(command);
        let mut answer: String = lines.iter().map(|line| format!("\r\n{line}\r\n")).collect();
        answer.push_str("\r\nOK\r\n");
        self.rx(&answer);
    }

    /// `command` is written and the terminal answers `ERROR`.
    #[track_caller]
    pub fn error(&mut self, command: &str) {
        self.expect_tx(command);
        self.rx("\r\nERROR\r\n");
    }

    /// Lets `ms` pass, firing due timers in order.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        while let Some((&id, &due)) = self
            .timers
            .iter()
            .filter(|(_, due)| **due <= end)
            .min_by_key(|(_, due)| **due)
        {
            self.timers.remove(&id);
            self.now_ms = due;
            self.input(Event::Timer(id));
        }
        self.now_ms = end;
    }

    /// An application call; returns its id.
    pub fn call(&mut self, request: Request) -> u64 {
        let call = self.next_call;
        self.next_call += 1;
        self.input(Event::Call { call, request });
        call
    }

    /// Sends `payload` as a binary message with id `id`; returns the call.
    pub fn send(&mut self, id: &str, payload: &[u8]) -> u64 {
        self.call(Request::Send(message(id, payload, Encoding::Binary)))
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

    /// The host committed `key`.
    pub fn commit(&mut self, key: &str) {
        self.input(Event::MessageCommitted { key: key.into() });
    }

    /// The last published state and reason.
    #[track_caller]
    pub fn state(&self) -> (String, String) {
        let last = self
            .devices
            .iter()
            .rev()
            .find(|update| update.state.is_some())
            .expect("no state published");
        (
            last.state.clone().unwrap(),
            last.state_reason.clone().unwrap_or_default(),
        )
    }

    /// The last signal quality published.
    pub fn quality(&self) -> Option<u32> {
        self.signals.iter().rev().find_map(|update| update.quality)
    }

    /// Log lines at `level` that contain `text`.
    pub fn logged(&self, level: LogLevel, text: &str) -> bool {
        self.logs
            .iter()
            .any(|(l, message)| *l == level && message.contains(text))
    }
}

/// An outgoing satellite message.
pub fn message(id: &str, payload: &[u8], encoding: Encoding) -> OutgoingMessage {
    OutgoingMessage {
        id: id.into(),
        destination: String::new(),
        payload: payload.to_vec(),
        encoding,
    }
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
    terminal.ok("AT+CIER=1,1,1", &["+CIEV:0,4", "+CIEV:1,1"]);
    terminal.ok("AT+SBDD0", &["0"]);
    terminal.ok("AT+SBDS", &[sbds]);
    terminal.ok("AT+CSQ", &["+CSQ:4"]);
}

/// A 9603 initialised with `options`, 4 bars, service, empty buffers: `ready`.
pub fn ready_with(options: &[(&str, &str)]) -> Terminal {
    let mut terminal = Terminal::with_options(options);
    terminal.open();
    terminal.ok("ATE0", &[]);
    identify(&mut terminal);
    configure(&mut terminal, "+SBDS: 0, 12, 0, -1");
    terminal.expect_no_tx();
    assert_eq!(terminal.state(), ("ready".to_owned(), String::new()));
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
