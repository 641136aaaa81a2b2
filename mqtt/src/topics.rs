//! The topic names of the bridge (`<p>` is the configured topic prefix).

/// A device Id as a topic level: every character outside `[A-Za-z0-9_-]` becomes `_`.
pub fn node(device_id: &str) -> String {
    device_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The topics of one bridge.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
    ha_prefix: String,
}

/// What a topic the bridge subscribes to asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// `<p>/devices/<node>/send`: a message to send through that device.
    DeviceSend(&'a str),
    /// `<p>/routes/<route>/send`: a message to send on that route (`Router.Send`).
    RouteSend(&'a str),
    /// `<ha_prefix>/status`: Home Assistant's birth and will.
    HomeAssistantStatus,
}

impl Topics {
    /// Topics under `prefix`, Home Assistant discovery under `ha_prefix`.
    pub fn new(prefix: &str, ha_prefix: &str) -> Topics {
        Topics {
            prefix: prefix.trim_end_matches('/').to_owned(),
            ha_prefix: ha_prefix.trim_end_matches('/').to_owned(),
        }
    }

    /// `<p>/status`: `online`, or `offline` (the Last Will).
    pub fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// `<p>/stats`: the durable queue's length and how many publishes it dropped.
    pub fn stats(&self) -> String {
        format!("{}/stats", self.prefix)
    }

    /// `<p>/removed`: a device object went.
    pub fn removed(&self) -> String {
        format!("{}/removed", self.prefix)
    }

    /// `<p>/devices/<node>/<leaf>`.
    pub fn device(&self, device_id: &str, leaf: &str) -> String {
        format!("{}/devices/{}/{leaf}", self.prefix, node(device_id))
    }

    /// `<p>/devices/+/send`: the command filter the bridge subscribes to.
    pub fn device_send_filter(&self) -> String {
        format!("{}/devices/+/send", self.prefix)
    }

    /// `<p>/devices/<node>/send/result`: results of the commands on `<p>/devices/<node>/send`.
    pub fn send_result(&self, node: &str) -> String {
        format!("{}/devices/{node}/send/result", self.prefix)
    }

    /// `<p>/routes/+/send`: the route command filter the bridge subscribes to.
    pub fn route_send_filter(&self) -> String {
        format!("{}/routes/+/send", self.prefix)
    }

    /// `<p>/routes/<route>/send/result`: results of the commands on `<p>/routes/<route>/send`.
    pub fn route_send_result(&self, route: &str) -> String {
        format!("{}/routes/{route}/send/result", self.prefix)
    }

    /// `<p>/routes/<route>/out`: the messages the daemon's Router sent through the bridge.
    pub fn route_out(&self, route: &str) -> String {
        format!("{}/routes/{}/out", self.prefix, node(route))
    }

    /// `<ha_prefix>/status`.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.ha_prefix)
    }

    /// `<ha_prefix>/sensor/<node>/<object>/config`.
    pub fn ha_config(&self, device_id: &str, object: &str) -> String {
        format!(
            "{}/sensor/{}/{object}/config",
            self.ha_prefix,
            node(device_id)
        )
    }

    /// What an incoming publish on `topic` is, if it is one the bridge handles.
    pub fn inbound<'a>(&self, topic: &'a str) -> Option<Inbound<'a>> {
        if topic == self.ha_status() {
            return Some(Inbound::HomeAssistantStatus);
        }
        let rest = topic.strip_prefix(&self.prefix)?;
        let level = |rest: &'a str| {
            let name = rest.strip_suffix("/send")?;
            (!name.is_empty() && !name.contains('/')).then_some(name)
        };
        if let Some(rest) = rest.strip_prefix("/devices/") {
            return level(rest).map(Inbound::DeviceSend);
        }
        level(rest.strip_prefix("/routes/")?).map(Inbound::RouteSend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_only_safe_characters() {
        assert_eq!(node("imei:867698041234567"), "imei_867698041234567");
        assert_eq!(node("ble:AA:BB:CC:DD:EE:01"), "ble_AA_BB_CC_DD_EE_01");
        assert_eq!(node("serial:a-b_c/d#+é"), "serial_a-b_c_d___");
    }

    #[test]
    fn topic_names() {
        let topics = Topics::new("m2mhal/gw-1/", "homeassistant");
        assert_eq!(topics.status(), "m2mhal/gw-1/status");
        assert_eq!(
            topics.device("imei:1", "state"),
            "m2mhal/gw-1/devices/imei_1/state"
        );
        assert_eq!(
            topics.send_result("imei_1"),
            "m2mhal/gw-1/devices/imei_1/send/result"
        );
        assert_eq!(
            topics.ha_config("ble:AA", "temperature"),
            "homeassistant/sensor/ble_AA/temperature/config"
        );
        assert_eq!(topics.device_send_filter(), "m2mhal/gw-1/devices/+/send");
        assert_eq!(topics.route_out("home"), "m2mhal/gw-1/routes/home/out");
    }

    #[test]
    fn inbound_topics() {
        let topics = Topics::new("m2mhal/gw-1", "ha");
        assert_eq!(
            topics.inbound("m2mhal/gw-1/devices/imei_1/send"),
            Some(Inbound::DeviceSend("imei_1"))
        );
        assert_eq!(
            topics.inbound("ha/status"),
            Some(Inbound::HomeAssistantStatus)
        );
        assert_eq!(
            topics.inbound("m2mhal/gw-1/routes/home/send"),
            Some(Inbound::RouteSend("home"))
        );
        assert_eq!(topics.route_send_filter(), "m2mhal/gw-1/routes/+/send");
        assert_eq!(
            topics.route_send_result("home"),
            "m2mhal/gw-1/routes/home/send/result"
        );
        for other in [
            "m2mhal/gw-1/devices//send",
            "m2mhal/gw-1/devices/a/b/send",
            "m2mhal/gw-1/devices/imei_1/send/result",
            "m2mhal/gw-2/devices/imei_1/send",
            "m2mhal/gw-1/status",
            "m2mhal/gw-1/routes//send",
            "m2mhal/gw-1/routes/home/out",
        ] {
            assert_eq!(topics.inbound(other), None, "{other}");
        }
    }
}
