//! A driver that misbehaves on purpose, to test the host's worker isolation
//! (`isolated_drivers`). It claims nothing by itself (use `[[port]] driver = "misbehaving"`),
//! publishes its device as ready at once, and answers every application call as its option
//! `on_call` (`[drivers.misbehaving]`) says:
//!
//! - `abort`: the process aborts (SIGABRT), as a crashing C driver would;
//! - `hang`: the call never returns, as a driver stuck in a loop would;
//! - `ok` (the default): the call succeeds.
//!
//! With option `refuse_open_while` set to a path, opening fails while a file exists there, so a
//! test can make every restart of a crashed driver fail.

use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{
    CallReply, DeviceKind, DeviceUpdate, DriverDescription, Effect, Event, Input, OpenConfig,
};

/// The driver's name.
const NAME: &str = "misbehaving";

/// What the driver does when an application calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnCall {
    Abort,
    Hang,
    Ok,
}

/// The misbehaving driver for one device.
pub struct Misbehaving {
    port: String,
    on_call: OnCall,
}

impl Driver for Misbehaving {
    fn describe() -> DriverDescription {
        DriverDescription {
            name: NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            kinds: vec![DeviceKind::CellularModem],
            ..Default::default()
        }
    }

    fn open(config: OpenConfig) -> Result<Self, String> {
        if let Some(path) = config.options.get("refuse_open_while")
            && std::path::Path::new(path).exists()
        {
            return Err(format!("refusing to open while {path} exists"));
        }
        let on_call = match config.options.get("on_call").map(String::as_str) {
            None | Some("ok") => OnCall::Ok,
            Some("abort") => OnCall::Abort,
            Some("hang") => OnCall::Hang,
            Some(other) => return Err(format!("on_call {other:?} is not abort, hang or ok")),
        };
        Ok(Misbehaving {
            port: config.port,
            on_call,
        })
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        match input.event {
            Event::Opened => vec![Effect::Device(DeviceUpdate {
                id: Some(format!("misbehaving:{}", self.port)),
                state: Some("ready".to_owned()),
                state_reason: Some(String::new()),
                manufacturer: Some("m2mhal tests".to_owned()),
                model: Some(NAME.to_owned()),
                ..Default::default()
            })],
            Event::Call { call, .. } => match self.on_call {
                OnCall::Abort => std::process::abort(),
                OnCall::Hang => loop {
                    std::thread::park();
                },
                OnCall::Ok => vec![Effect::Reply {
                    call,
                    result: Ok(CallReply::Done),
                }],
            },
            _ => Vec::new(),
        }
    }
}

m2mhal_plugin_api::export_driver!(Misbehaving, "misbehaving");
