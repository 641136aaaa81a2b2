//! The bridge's configuration file (`m2mhal-mqtt --config FILE`, TOML, table `[mqtt]`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why, naming the key.
        source: Box<toml::de::Error>,
    },
    /// A value is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    mqtt: Config,
}

/// The `[mqtt]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS).
    pub url: String,
    /// PEM trust anchors for TLS (required with `mqtts://`).
    #[serde(default)]
    pub ca_file: PathBuf,
    /// PEM client certificate for mutual TLS ("" for none).
    #[serde(default)]
    pub client_cert: PathBuf,
    /// PEM private key of `client_cert`.
    #[serde(default)]
    pub client_key: PathBuf,
    /// User name for the broker ("" for none).
    #[serde(default)]
    pub username: String,
    /// File holding the password (first line); "" for none.
    #[serde(default)]
    pub password_file: PathBuf,
    /// MQTT client id.
    pub client_id: String,
    /// `<p>` of every topic.
    pub topic_prefix: String,
    /// The durable publish queue and message cursors live here.
    pub state_dir: PathBuf,
    /// Publish Home Assistant discovery configs.
    #[serde(default = "default_true")]
    pub ha_discovery: bool,
    /// Home Assistant's discovery prefix.
    #[serde(default = "default_ha_prefix")]
    pub ha_prefix: String,
    /// Keep-alive interval, seconds.
    #[serde(default = "default_keepalive")]
    pub keepalive: u64,
    /// The name routes use for this bridge as an uplink (`[[route.uplink]] mqtt = "<name>"`);
    /// "" for none.
    #[serde(default)]
    pub uplink: String,
    /// Most publishes kept while the broker is away; past it the oldest are dropped (counted).
    #[serde(default = "default_queue_limit")]
    pub queue_limit: u64,
    /// The MQTT protocol version: `"3.1.1"` (default) or `"5"`.
    #[serde(default)]
    pub protocol: Protocol,
}

/// The MQTT protocol version the bridge speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// MQTT 3.1.1.
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5.
    #[serde(rename = "5")]
    V5,
}

fn default_true() -> bool {
    true
}

fn default_ha_prefix() -> String {
    "homeassistant".to_owned()
}

fn default_keepalive() -> u64 {
    30
}

fn default_queue_limit() -> u64 {
    10_000
}

/// Where the broker is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS (`mqtts://`).
    pub tls: bool,
}

impl Config {
    /// Reads and checks the configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text).map_err(|error| match error {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_owned(),
                source,
            },
            other => other,
        })
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::new(),
            source: Box::new(source),
        })?;
        let config = file.mqtt;
        let endpoint = config.endpoint()?;
        if endpoint.tls && config.ca_file.as_os_str().is_empty() {
            return Err(ConfigError::Invalid(
                "mqtt.ca_file is required with mqtts://".to_owned(),
            ));
        }
        if config.client_cert.as_os_str().is_empty() != config.client_key.as_os_str().is_empty() {
            return Err(ConfigError::Invalid(
                "mqtt.client_cert and mqtt.client_key go together".to_owned(),
            ));
        }
        if config.client_id.is_empty() || config.topic_prefix.is_empty() {
            return Err(ConfigError::Invalid(
                "mqtt.client_id and mqtt.topic_prefix must not be empty".to_owned(),
            ));
        }
        if config.topic_prefix.contains(['+', '#']) || config.ha_prefix.contains(['+', '#']) {
            return Err(ConfigError::Invalid(
                "mqtt.topic_prefix and mqtt.ha_prefix must not contain + or #".to_owned(),
            ));
        }
        if config.queue_limit == 0 {
            return Err(ConfigError::Invalid(
                "mqtt.queue_limit must be at least 1".to_owned(),
            ));
        }
        Ok(config)
    }

    /// The broker's host, port and transport, from `url`.
    pub fn endpoint(&self) -> Result<Endpoint, ConfigError> {
        let invalid = || {
            ConfigError::Invalid(format!(
                "mqtt.url {:?} is not mqtt://host[:port] or mqtts://host[:port]",
                self.url
            ))
        };
        let (tls, rest) = if let Some(rest) = self.url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = self.url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(invalid());
        };
        let rest = rest.trim_end_matches('/');
        let default_port = if tls { 8883 } else { 1883 };
        let parse_port = |port: &str| port.parse::<u16>().map_err(|_| invalid());
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(invalid)?;
            match after {
                "" => (host, default_port),
                _ => (
                    host,
                    parse_port(after.strip_prefix(':').ok_or_else(invalid)?)?,
                ),
            }
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, parse_port(port)?),
                None => (rest, default_port),
            }
        };
        if host.is_empty() || host.contains('/') {
            return Err(invalid());
        }
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            tls,
        })
    }

    /// The password from `password_file` (its first line), if one is configured.
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        if self.password_file.as_os_str().is_empty() {
            return Ok(None);
        }
        let text =
            std::fs::read_to_string(&self.password_file).map_err(|source| ConfigError::Read {
                path: self.password_file.clone(),
                source,
            })?;
        Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\nclient_id = \"gw-1\"\n\
                           topic_prefix = \"m2mhal/gw-1\"\nstate_dir = \"/tmp/x\"\n";

    fn with(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{MINIMAL}{extra}"))
    }

    #[test]
    fn defaults() {
        let config = with("").unwrap();
        assert!(config.ha_discovery);
        assert_eq!(config.ha_prefix, "homeassistant");
        assert_eq!(config.keepalive, 30);
        assert_eq!(config.queue_limit, 10_000);
        assert_eq!(config.protocol, Protocol::V311);
        assert_eq!(config.password().unwrap(), None);
        assert_eq!(with("protocol = \"5\"\n").unwrap().protocol, Protocol::V5);
        let unknown = with("protocol = \"4\"\n").unwrap_err().to_string();
        assert!(unknown.contains("protocol"), "{unknown}");
    }

    #[test]
    fn the_design_example_parses() {
        let example = include_str!("../../dist/m2mhal-mqtt.toml");
        let config = Config::parse(example).unwrap();
        assert_eq!(config.client_id, "gw-0001");
        assert_eq!(config.uplink, "fleet");
    }

    #[test]
    fn endpoints() {
        let endpoint = |url: &str| {
            with("")
                .map(|config| Config {
                    url: url.to_owned(),
                    ..config
                })
                .unwrap()
                .endpoint()
        };
        let plain = |host: &str, port, tls| Endpoint {
            host: host.to_owned(),
            port,
            tls,
        };
        assert_eq!(
            endpoint("mqtt://broker.local").unwrap(),
            plain("broker.local", 1883, false)
        );
        assert_eq!(
            endpoint("mqtts://broker.local").unwrap(),
            plain("broker.local", 8883, true)
        );
        assert_eq!(
            endpoint("mqtt://10.0.0.1:1884/").unwrap(),
            plain("10.0.0.1", 1884, false)
        );
        assert_eq!(
            endpoint("mqtt://[::1]:1884").unwrap(),
            plain("::1", 1884, false)
        );
        assert_eq!(endpoint("mqtt://[::1]").unwrap(), plain("::1", 1883, false));
        for bad in ["http://x", "mqtt://", "mqtt://x:port", "mqtt://x/y"] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_name_the_key() {
        let unknown = with("colour = \"red\"\n").unwrap_err().to_string();
        assert!(unknown.contains("colour"), "{unknown}");
        let tls = with("").map(|c| c.url).unwrap();
        assert_eq!(tls, "mqtt://127.0.0.1:1883");
        let no_ca = Config::parse(&MINIMAL.replace("mqtt://", "mqtts://"))
            .unwrap_err()
            .to_string();
        assert!(no_ca.contains("ca_file"), "{no_ca}");
        let half = with("client_cert = \"c.pem\"\n").unwrap_err().to_string();
        assert!(half.contains("client_key"), "{half}");
        let wildcard = Config::parse(&MINIMAL.replace("m2mhal/gw-1", "m2mhal/#"))
            .unwrap_err()
            .to_string();
        assert!(wildcard.contains("topic_prefix"), "{wildcard}");
    }

    #[test]
    fn password_is_the_first_line_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let config = with(&format!("password_file = \"{}\"\n", file.display())).unwrap();
        assert_eq!(config.password().unwrap().as_deref(), Some("s3cret"));
    }
}
