//! [`PluginClient`] against a plugin exported from this test binary.

use m2mhal_driver_testkit::{PluginClient, linked_plugin, writes};
use m2mhal_plugin_api::sdk::Driver;
use m2mhal_plugin_api::{DriverDescription, Effect, Event, Input, OpenConfig};

/// Writes `hello` when opened and echoes every byte it receives; refuses any option.
struct Echo;

impl Driver for Echo {
    fn describe() -> DriverDescription {
        DriverDescription {
            name: "echo".into(),
            ..DriverDescription::default()
        }
    }

    fn open(config: OpenConfig) -> Result<Self, String> {
        match config.options.keys().next() {
            Some(option) => Err(format!("unknown option {option}")),
            None => Ok(Echo),
        }
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        match input.event {
            Event::Opened => vec![Effect::Tx(b"hello".to_vec())],
            Event::Rx(bytes) => vec![Effect::Tx(bytes)],
            _ => Vec::new(),
        }
    }
}

m2mhal_plugin_api::export_driver!(Echo, "echo");

fn plugin() -> PluginClient {
    linked_plugin!()
}

#[test]
fn a_sound_plugin_passes_the_common_checks() {
    let mut checked = plugin().check_common("echo", &OpenConfig::default());
    assert_eq!(checked.description.name, "echo");
    assert_eq!(writes(&checked.opened), ["hello"]);
    let echoed = checked.instance.handle(5, Event::Rx(b"ping".to_vec()));
    assert_eq!(writes(&echoed), ["ping"]);
}

#[test]
#[should_panic(expected = "left: \"echo\"")]
fn the_common_checks_fail_on_another_name() {
    plugin().check_common("cellular", &OpenConfig::default());
}

#[test]
fn a_refusal_carries_the_message() {
    let config = OpenConfig {
        options: [("speed".to_owned(), "9600".to_owned())].into(),
        ..OpenConfig::default()
    };
    assert_eq!(
        plugin().open(&config).expect_refusal(),
        "unknown option speed"
    );
}

#[test]
fn an_option_refused_by_name() {
    let message = plugin().check_refuses_option(&OpenConfig::default(), "baud", "fast");
    assert_eq!(message, "unknown option baud");
}

#[test]
#[should_panic(expected = "open did not refuse")]
fn expect_refusal_fails_when_open_succeeds() {
    plugin().open(&OpenConfig::default()).expect_refusal();
}
