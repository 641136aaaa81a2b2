//! A fake host for transcript tests: it feeds the driver inputs, keeps the clock and the armed
//! timers, and records every effect so a test can read like a modem log:
//!
//! ```ignore
//! modem.expect_tx("AT+CSQ");
//! modem.rx("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
//! ```

use std::collections::{BTreeMap, VecDeque};

use m2mhal_driver_cellular::CellularDriver;
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{
    CallError, CallReply, DeviceUpdate, Effect, Event, IncomingMessage, Input, LogLevel,
    MessageState, OpenConfig, Request, SignalUpdate,
};

/// Unix time at `now_ms == 0`.
pub const EPOCH: u64 = 1_700_000_000;

/// The driver and everything it asked the host to do.
pub struct Modem {
    driver: CellularDriver,
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
    /// Every `Effect::MessageState`: id and state.
    pub message_states: Vec<(String, MessageState)>,
    /// Every `Effect::Log`.
    pub logs: Vec<(LogLevel, String)>,
}

impl Modem {
    /// A driver opened with default options (the port is not `Opened` yet).
    pub fn new() -> Self {
        Self::with_options(&[])
    }

    /// A driver opened with these options.
    pub fn with_options(options: &[(&str, &str)]) -> Self {
        let config = OpenConfig {
            port: "/dev/ttyUSB2".into(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..OpenConfig::default()
        };
        Modem {
            driver: CellularDriver::open(config).unwrap(),
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
                Effect::MessageState { id, state, .. } => self.message_states.push((id, state)),
                Effect::Log { level, message } => self.logs.push((level, message)),
                other => panic!("a modem driver asked for {other:?}"),
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

    /// Bytes from the modem.
    pub fn rx(&mut self, text: &str) {
        self.input(Event::Rx(text.as_bytes().to_vec()));
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
                String::from_utf8_lossy(&sent),
                String::from_utf8_lossy(bytes),
                "unexpected bytes written"
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

    /// `command` is written and the modem answers `answer` (raw bytes, line endings included).
    #[track_caller]
    pub fn exchange(&mut self, command: &str, answer: &str) {
        self.expect_tx(command);
        self.rx(answer);
    }

    /// `command` is written and the modem answers these information lines and `OK`.
    #[track_caller]
    pub fn ok(&mut self, command: &str, lines: &[&str]) {
        let mut answer: String = lines.iter().map(|line| format!("\r\n{line}\r\n")).collect();
        answer.push_str("\r\nOK\r\n");
        self.exchange(command, &answer);
    }

    /// `command` is written and the modem answers with the final result `error`
    /// (`ERROR`, `+CME ERROR: 4`, ...).
    #[track_caller]
    pub fn fails(&mut self, command: &str, error: &str) {
        self.exchange(command, &format!("\r\n{error}\r\n"));
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

    /// Whether timer `id` is armed.
    pub fn timer_armed(&self, id: u32) -> bool {
        self.timers.contains_key(&id)
    }

    /// An application call; returns its id.
    pub fn call(&mut self, request: Request) -> u64 {
        let call = self.next_call;
        self.next_call += 1;
        self.input(Event::Call { call, request });
        call
    }

    /// The reply to `call`, which must have come.
    #[track_caller]
    pub fn reply(&self, call: u64) -> Result<CallReply, CallError> {
        self.replies
            .get(&call)
            .cloned()
            .unwrap_or_else(|| panic!("call {call} not answered"))
    }

    /// The host committed `key`.
    pub fn commit(&mut self, key: &str) {
        self.input(Event::MessageCommitted { key: key.into() });
    }

    /// The last published state and reason.
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

    /// All device updates folded into one, as the host's view of the device.
    pub fn device(&self) -> DeviceUpdate {
        let mut view = DeviceUpdate::default();
        for update in &self.devices {
            let update = update.clone();
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
                extra
            );
        }
        view
    }

    /// All signal updates folded into one, as the host's view of the Signal interface.
    pub fn signal(&self) -> SignalUpdate {
        let mut view = SignalUpdate::default();
        for update in &self.signals {
            let update = update.clone();
            macro_rules! fold {
                ($($field:ident),*) => { $( if update.$field.is_some() { view.$field = update.$field; } )* };
            }
            fold!(
                quality,
                rssi,
                technology,
                registration,
                operator,
                updated_at
            );
        }
        view
    }

    /// Log lines at `level` that contain `text`.
    pub fn logged(&self, level: LogLevel, text: &str) -> bool {
        self.logs
            .iter()
            .any(|(l, message)| *l == level && message.contains(text))
    }
}

/// A standard modem that answers every initialisation command: a Quectel EG25 with a ready SIM,
/// storage "ME", LTE home network, no stored messages. Leaves the driver `ready`.
pub fn ready_modem() -> Modem {
    let mut modem = Modem::new();
    modem.open();
    modem.ok("ATE0", &[]);
    modem.ok("AT+CMEE=1", &[]);
    modem.ok("AT+CGMI", &["Quectel"]);
    modem.ok("AT+CGMM", &["EG25"]);
    modem.ok("AT+CGMR", &["EG25GGBR07A08M2G"]);
    modem.ok("AT+CGSN", &["867698041234567"]);
    modem.ok("AT+CPIN?", &["+CPIN: READY"]);
    configure_after_sim(&mut modem, &[]);
    modem
}

/// Answers the initialisation from `AT+CIMI` on like an EG25; `stored` is the `AT+CMGL=4` answer.
pub fn configure_after_sim(modem: &mut Modem, stored: &[&str]) {
    modem.ok("AT+CIMI", &["262011234567890"]);
    modem.ok("AT+CCID", &["+CCID: 89490200001234567890"]);
    modem.ok("AT+CMGF=0", &[]);
    modem.ok("AT+CSMS?", &["+CSMS: 0,1,1,1"]);
    modem.ok("AT+CPMS?", &[r#"+CPMS: "ME",0,255,"ME",0,255,"ME",0,255"#]);
    modem.ok("AT+CNMI=2,1,0,2,0", &[]);
    modem.ok("AT+CREG=2", &[]);
    modem.ok("AT+CGREG=2", &[]);
    modem.ok("AT+CEREG=2", &[]);
    modem.ok("AT+COPS=3,0", &[]);
    answer_refresh(modem);
    modem.ok("AT+CMGL=4", stored);
    modem.expect_no_tx();
    assert_eq!(modem.state(), ("ready".to_owned(), String::new()));
}

/// Answers a signal refresh: LTE, RSRP -95 dBm, home network on Telekom.de.
pub fn answer_refresh(modem: &mut Modem) {
    modem.ok("AT+CSQ", &["+CSQ: 20,99"]);
    modem.ok("AT+CESQ", &["+CESQ: 99,99,255,255,20,45"]);
    modem.ok("AT+CREG?", &[r#"+CREG: 2,1,"1A2B","01A2D101",7"#]);
    modem.ok("AT+CGREG?", &["+CGREG: 2,0"]);
    modem.ok("AT+CEREG?", &[r#"+CEREG: 2,1,"1A2B","01A2D101",7"#]);
    modem.ok("AT+COPS?", &[r#"+COPS: 0,0,"Telekom.de",7"#]);
}
