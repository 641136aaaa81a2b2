//! The command line of `m2mhal-mqtt` (also what its man page is made of).

use std::path::PathBuf;

use clap::Parser;

/// What the man page and `--help` say beyond the options.
const LONG_ABOUT: &str = "\
The m2mhal MQTT bridge: a D-Bus client of m2mhald (org.m2mhal.Hal1) and an MQTT 3.1.1 or 5 client \
of a broker (mqtt:// or mqtts:// with a CA file and an optional client certificate).

The configuration file has one table [mqtt]: url, ca_file, client_cert, client_key, username, \
password_file, client_id, topic_prefix, state_dir, ha_discovery (default true), ha_prefix \
(default homeassistant), keepalive (seconds, default 30), uplink (the name routes use for the \
bridge as a Router uplink: [[route.uplink]] mqtt = \"<name>\"; \"\" for none), queue_limit (publishes kept while the broker is away, default 10000) and \
protocol (\"3.1.1\", the default, or \"5\").

Topics, <p> being topic_prefix and <id> a device Id with every character outside [A-Za-z0-9_-] \
as _: <p>/status (online; the Last Will says offline), <p>/stats (queued, dropped), \
<p>/devices/<id>/state and /readings (retained), <p>/devices/<id>/messages/in, \
<p>/devices/<id>/send (commands: request_id, destination, text or payload_b64) with results on \
<p>/devices/<id>/send/result, <p>/routes/<route>/send (commands: request_id, text or \
payload_b64, through Router.Send) with results on <p>/routes/<route>/send/result, \
<p>/routes/<route>/out (the messages m2mhald's Router sends through the bridge as its uplink), \
<p>/removed, and Home Assistant discovery under <ha_prefix>/sensor/, published again whenever \
<ha_prefix>/status says online.

Commands survive: the broker keeps the bridge's session, and a command is acknowledged only \
once m2mhald answered it and its result is stored; a command whose request_id the bridge has \
seen before (also one the broker delivers again) gets its first and latest result again and is \
not sent again; results that came while the bridge was away are published after its restart.

As a Router uplink (uplink set), the bridge owns org.m2mhal.Mqtt1, serves \
org.m2mhal.Hal1.Uplink at /org/m2mhal/Mqtt1/Uplink and registers it with \
Manager.RegisterUplink whenever m2mhald appears. A routed message is kept in state_dir by its \
id and counts as sent (signal Sent) only after the broker's PUBACK of its \
<p>/routes/<route>/out publish.

Every publish goes through a durable queue in state_dir and leaves it only on the broker's \
PUBACK: after a broker outage the queue goes out in order, after a restart of the bridge it \
catches up from Messaging.List. Delivery is at least once; the message id lets consumers drop \
duplicates.";

/// The m2mhal MQTT bridge: mirrors m2mhald's devices and messages to an MQTT broker and takes
/// send commands from it.
#[derive(Debug, Parser)]
#[command(
    name = "m2mhal-mqtt",
    version,
    about,
    long_about = LONG_ABOUT,
    after_help = "The log level is set by M2MHAL_LOG (e.g. M2MHAL_LOG=debug); logs go to stderr \
                  (the journal under systemd). The D-Bus system bus is the one of \
                  DBUS_SYSTEM_BUS_ADDRESS when set."
)]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long, default_value = "/etc/m2mhal/m2mhal-mqtt.toml")]
    pub config: PathBuf,
}
