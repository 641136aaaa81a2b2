//! Authorization of privileged methods: root may do everything; anyone else needs polkit's yes
//! for the action, asked with the caller's bus name as subject. Without an answer from polkit the
//! call is refused.

use std::collections::HashMap;

use m2mhal_contract::action;
use zbus::Connection;
use zbus::message::Header;
use zbus::names::BusName;
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

use super::error::HalError;

/// The polkit actions of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `Send`, `Delete`.
    Messaging,
    /// `List` (reading stored messages).
    MessagingRead,
    /// `Reset`, `Gatt.Write`, `ReportKernelEvent`.
    Control,
    /// `Command` (raw AT pass-through).
    Command,
}

impl Action {
    /// The polkit action id.
    pub fn id(self) -> &'static str {
        match self {
            Action::Messaging => action::MESSAGING,
            Action::MessagingRead => action::MESSAGING_READ,
            Action::Control => action::CONTROL,
            Action::Command => action::COMMAND,
        }
    }
}

/// Allows the call in `header` if its sender is root or polkit authorizes it for `action`.
pub async fn authorize(
    conn: &Connection,
    header: &Header<'_>,
    action: Action,
) -> Result<(), HalError> {
    let refuse = |why: String| {
        HalError::NotAuthorized(format!("{} requires authorization: {why}", action.id()))
    };
    let sender = header
        .sender()
        .ok_or_else(|| refuse("the call has no sender".into()))?;
    let dbus = zbus::fdo::DBusProxy::new(conn)
        .await
        .map_err(|e| refuse(format!("cannot ask the bus who called: {e}")))?;
    let uid = dbus
        .get_connection_unix_user(BusName::from(sender.to_owned()))
        .await
        .map_err(|e| refuse(format!("cannot ask the bus who called: {e}")))?;
    if uid == 0 {
        return Ok(());
    }
    let subject = Subject::new_for_message_header(header).map_err(|e| refuse(format!("{e}")))?;
    let authority = AuthorityProxy::new(conn)
        .await
        .map_err(|e| refuse(format!("polkit is not reachable: {e}")))?;
    let result = authority
        .check_authorization(
            &subject,
            action.id(),
            &HashMap::new(),
            CheckAuthorizationFlags::ALLOW_USER_INTERACTION,
            "",
        )
        .await
        .map_err(|e| refuse(format!("polkit did not answer: {e}")))?;
    if result.is_authorized {
        Ok(())
    } else {
        Err(refuse(format!("polkit denied it to uid {uid}")))
    }
}
