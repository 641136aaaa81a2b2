//! The device's `State` and `StateReason` as a driver last published them.

use m2mhal_plugin_api::{CallError, CallErrorKind, DeviceUpdate, Effect};

/// The `State` and `StateReason` last published, so that a change is published once and every
/// other device update and every "not ready" error can name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedState {
    /// What the device is called in error messages (`modem`, `terminal`).
    device: &'static str,
    /// State and reason; `None` before the first publication.
    current: Option<(String, String)>,
}

impl PublishedState {
    /// Nothing published yet; `device` names the device in errors ("the modem is not ready").
    pub fn new(device: &'static str) -> Self {
        Self {
            device,
            current: None,
        }
    }

    /// The update that publishes `state` and `reason`; `None` when they are already published.
    pub fn change(&mut self, state: &str, reason: &str) -> Option<Effect> {
        let wanted = (state.to_owned(), reason.to_owned());
        if self.current.as_ref() == Some(&wanted) {
            return None;
        }
        self.current = Some(wanted);
        Some(Effect::Device(DeviceUpdate {
            state: Some(state.to_owned()),
            state_reason: Some(reason.to_owned()),
            ..DeviceUpdate::default()
        }))
    }

    /// `update` with the published state and reason in it.
    pub fn with_state(&self, update: DeviceUpdate) -> Effect {
        let (state, state_reason) = self.current.clone().unzip();
        Effect::Device(DeviceUpdate {
            state,
            state_reason,
            ..update
        })
    }

    /// The `NotReady` error of a call the device cannot take now, naming its state:
    /// "the modem is not ready (failed: sim-missing)"; `offline` before anything was published.
    pub fn not_ready(&self) -> CallError {
        let detail = match &self.current {
            None => "offline".to_owned(),
            Some((state, reason)) if reason.is_empty() => state.clone(),
            Some((state, reason)) => format!("{state}: {reason}"),
        };
        CallError::new(
            CallErrorKind::NotReady,
            format!("the {} is not ready ({detail})", self.device),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_update(state: &str, reason: &str) -> Option<Effect> {
        Some(Effect::Device(DeviceUpdate {
            state: Some(state.to_owned()),
            state_reason: Some(reason.to_owned()),
            ..DeviceUpdate::default()
        }))
    }

    #[test]
    fn a_change_is_published_once() {
        let mut published = PublishedState::new("modem");
        assert_eq!(
            published.change("initializing", ""),
            state_update("initializing", "")
        );
        assert_eq!(published.change("initializing", ""), None);
        assert_eq!(
            published.change("initializing", "sim-pin-required"),
            state_update("initializing", "sim-pin-required")
        );
    }

    #[test]
    fn updates_carry_the_published_state() {
        let mut published = PublishedState::new("modem");
        let identity = DeviceUpdate {
            id: Some("imei:867698041234567".into()),
            ..DeviceUpdate::default()
        };
        assert_eq!(
            published.with_state(identity.clone()),
            Effect::Device(identity.clone()),
            "nothing published yet"
        );
        published.change("initializing", "");
        let Effect::Device(update) = published.with_state(identity) else {
            panic!("not a device update");
        };
        assert_eq!(update.id.as_deref(), Some("imei:867698041234567"));
        assert_eq!(update.state.as_deref(), Some("initializing"));
        assert_eq!(update.state_reason.as_deref(), Some(""));
    }

    #[test]
    fn not_ready_names_the_device_and_its_state() {
        let mut published = PublishedState::new("terminal");
        let message = |published: &PublishedState| published.not_ready().message;
        assert_eq!(message(&published), "the terminal is not ready (offline)");
        published.change("ready", "");
        assert_eq!(message(&published), "the terminal is not ready (ready)");
        published.change("failed", "access-denied");
        assert_eq!(
            message(&published),
            "the terminal is not ready (failed: access-denied)"
        );
        assert_eq!(published.not_ready().kind, CallErrorKind::NotReady);
    }
}
