//! Calls to ModemManager with a timeout each, and what their failures mean to a caller.

use std::future::Future;
use std::time::Duration;

use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply};
use zbus::fdo::PropertiesProxy;
use zbus::names::InterfaceName;
use zbus::{Connection, MatchRule, MessageStream};

use super::properties::Properties;
use super::proxies::{MM_NAME, ModemProxy};

/// How long ModemManager may take to answer a question about its objects.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long ModemManager may take to enable a modem or send an SMS.
pub const SLOW_TIMEOUT: Duration = Duration::from_secs(120);
/// How long ModemManager (1.20) itself may go on sending an SMS part before it gives up: 10 s
/// for `AT+CMGS`, 300 s for the modem's answer to the PDU, and a little for the commands queued
/// ahead of it.
pub const MM_SEND_LIMIT: Duration = Duration::from_secs(330);

/// A call to ModemManager that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum MmError {
    /// No answer in time.
    #[error("ModemManager did not answer {0} in time")]
    Timeout(&'static str),
    /// The bus or ModemManager said no.
    #[error(transparent)]
    Bus(#[from] zbus::Error),
}

impl MmError {
    /// The error a caller (or the outbox) gets.
    pub fn call_error(&self) -> CallError {
        let kind = match self {
            MmError::Timeout(_) => CallErrorKind::Timeout,
            MmError::Bus(zbus::Error::MethodError(name, ..)) => error_kind(name.as_str()),
            MmError::Bus(_) => CallErrorKind::NotReady,
        };
        CallError::new(kind, self.to_string())
    }
}

/// What a D-Bus error of ModemManager (or of the bus about it) means: ModemManager or the
/// modem went away or is not ready (the bus's own errors, a port that failed, a cancelled or
/// out-of-state operation) is "not ready", and a message stays queued; an AT command refused
/// outside debug mode, or an operation the modem's plugin lacks (`Reset`), is "not supported";
/// MM's other refusals are failures.
fn error_kind(name: &str) -> CallErrorKind {
    const NOT_READY: [&str; 6] = [
        "org.freedesktop.DBus.Error.",
        "org.freedesktop.ModemManager1.Error.Serial.",
        "org.freedesktop.ModemManager1.Error.Core.Cancelled",
        "org.freedesktop.ModemManager1.Error.Core.Aborted",
        "org.freedesktop.ModemManager1.Error.Core.WrongState",
        "org.freedesktop.ModemManager1.Error.Core.Retry",
    ];
    if NOT_READY.iter().any(|prefix| name.starts_with(prefix)) {
        CallErrorKind::NotReady
    } else if [
        "org.freedesktop.ModemManager1.Error.Core.Unauthorized",
        "org.freedesktop.ModemManager1.Error.Core.Unsupported",
    ]
    .contains(&name)
    {
        CallErrorKind::NotSupported
    } else {
        CallErrorKind::Failed
    }
}

/// Awaits a call to ModemManager for at most `limit`.
pub async fn within<T>(
    what: &'static str,
    limit: Duration,
    call: impl Future<Output = zbus::Result<T>>,
) -> Result<T, MmError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(MmError::Timeout(what)),
    }
}

/// Every property of `interface` on MM's object `path`.
pub async fn get_all(
    conn: &Connection,
    path: &str,
    interface: &str,
) -> Result<Properties, MmError> {
    let properties = PropertiesProxy::builder(conn)
        .destination(MM_NAME)
        .path(path.to_owned())
        .build()
        .await?;
    let interface = InterfaceName::try_from(interface.to_owned())?;
    let all = async { Ok(properties.get_all(interface).await?) };
    within("GetAll", ANSWER_TIMEOUT, all).await
}

/// `PropertiesChanged` signals on MM's object `path`, or under `namespace` for `interface`.
pub async fn properties_changed(
    conn: &Connection,
    path: Option<&str>,
    namespace: Option<(&str, &str)>,
) -> zbus::Result<MessageStream> {
    let mut rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(MM_NAME)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged");
    if let Some(path) = path {
        rule = rule.path(path.to_owned());
    }
    if let Some((namespace, interface)) = namespace {
        rule = rule
            .path_namespace(namespace.to_owned())
            .arg(0, interface.to_owned());
    }
    MessageStream::for_match_rule(rule.build()?, conn, None).await
}

/// Runs `Modem.Command` (`timeout_ms` rounded up to MM's whole seconds).
pub async fn command(
    conn: &Connection,
    path: String,
    line: &str,
    timeout_ms: u32,
) -> Result<CallReply, CallError> {
    let seconds = timeout_ms.div_ceil(1000).max(1);
    let limit = Duration::from_millis(u64::from(timeout_ms)) + ANSWER_TIMEOUT;
    let answer = async {
        let modem = ModemProxy::builder(conn).path(path).build().await?;
        modem.command(line, seconds).await
    };
    within("Modem.Command", limit, answer)
        .await
        .map(CallReply::Text)
        .map_err(|e| match e.call_error() {
            error if error.kind == CallErrorKind::NotSupported => CallError::new(
                error.kind,
                format!(
                    "{} (ModemManager passes AT commands only when it runs with --debug)",
                    error.message
                ),
            ),
            error => error,
        })
}

/// Resets the modem (`Modem.Reset`). ModemManager then drops the modem and probes it again,
/// so the device goes `offline` and comes back; a plugin without a reset (Quectel AT modems
/// in ModemManager 1.20) refuses, which is `NotSupported`.
pub async fn reset(conn: &Connection, path: String) -> Result<CallReply, CallError> {
    let reset = async {
        let modem = ModemProxy::builder(conn).path(path).build().await?;
        modem.reset().await
    };
    within("Modem.Reset", SLOW_TIMEOUT, reset)
        .await
        .map(|()| CallReply::Done)
        .map_err(|e| match (&e, e.call_error()) {
            (MmError::Bus(_), error) => CallError::new(
                error.kind,
                format!("ModemManager cannot reset the modem: {}", error.message),
            ),
            (MmError::Timeout(_), error) => error,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modemmanager_errors_say_whether_to_try_again() {
        let not_ready = [
            "org.freedesktop.DBus.Error.NoReply",
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.UnknownObject",
            "org.freedesktop.ModemManager1.Error.Serial.ResponseTimeout",
            "org.freedesktop.ModemManager1.Error.Core.Cancelled",
            "org.freedesktop.ModemManager1.Error.Core.WrongState",
        ];
        for name in not_ready {
            assert_eq!(error_kind(name), CallErrorKind::NotReady, "{name}");
        }
        for name in [
            "org.freedesktop.ModemManager1.Error.Core.Unauthorized",
            "org.freedesktop.ModemManager1.Error.Core.Unsupported",
        ] {
            assert_eq!(error_kind(name), CallErrorKind::NotSupported, "{name}");
        }
        assert_eq!(
            error_kind("org.freedesktop.ModemManager1.Error.MessageError.NetworkTimeout"),
            CallErrorKind::Failed
        );
        assert_eq!(
            error_kind("org.freedesktop.ModemManager1.Error.Core.Failed"),
            CallErrorKind::Failed
        );
        let timeout = MmError::Timeout("Sms.Send").call_error();
        assert_eq!(timeout.kind, CallErrorKind::Timeout);
        assert!(timeout.message.contains("Sms.Send"), "{timeout:?}");
    }

    #[tokio::test]
    async fn a_modemmanager_that_never_answers_is_a_timeout() {
        let never = std::future::pending::<zbus::Result<()>>();
        let answer = within("Messaging.List", Duration::from_millis(1), never).await;
        assert!(
            matches!(answer, Err(MmError::Timeout("Messaging.List"))),
            "{answer:?}"
        );
        let answered = within("Messaging.List", Duration::from_secs(60), async { Ok(7) }).await;
        assert_eq!(answered.ok(), Some(7));
    }
}
