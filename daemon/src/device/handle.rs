//! The D-Bus side's view of a device: its properties and a channel to its task.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use m2mhal_plugin_api::{CallError, CallReply, Request};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::state::DeviceState;
use crate::store::MessageRecord;

/// How long after a call's deadline its caller gives up by itself. The device task answers
/// `Timeout` at the deadline (its host core keeps the deadlines); this only keeps a caller from
/// hanging on a task that is stuck.
const SAFETY_NET: Duration = Duration::from_secs(5);

/// Why a device did not do what it was asked. The D-Bus side maps each onto its
/// `org.m2mhal.Hal1.Error.*`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// No task serves the device (unplugged, or the daemon stops).
    #[error("{0}")]
    Gone(String),
    /// The device did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The driver answered with an error.
    #[error("{}", .0.message)]
    Call(CallError),
}

/// What the D-Bus interfaces ask of a device task.
#[derive(Debug)]
pub enum DeviceRequest {
    /// A call to the driver; the reply comes back on `reply`, by `answer_by` at the latest
    /// (`Timeout` then, if the driver has not answered).
    Call {
        /// The request.
        request: Request,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<CallReply, CallError>>,
        /// When the caller stops waiting.
        answer_by: Instant,
        /// How long the caller waits (`answer_by` is this long after the call).
        timeout: Duration,
    },
    /// A message was committed to the outbox; send it when its turn comes.
    Enqueue(MessageRecord),
    /// A stored message was deleted; drop it from the outbox if it is still waiting there.
    Forget(String),
    /// The router takes a waiting message back; `reply` says whether it did (not if it may
    /// have reached the wire).
    Withdraw {
        /// The message id.
        id: String,
        /// Whether it was withdrawn.
        reply: oneshot::Sender<bool>,
    },
    /// The device's object was taken off the bus (`Device.Forget`); publish it again when the
    /// device is back.
    Withdrawn,
}

/// Shared handle on one device, held by its D-Bus interfaces. The object outlives the task that
/// serves it: when the device comes back (replug, reopen under another node), a new task attaches
/// to the same handle, so the device keeps its object path.
#[derive(Debug)]
pub struct DeviceHandle {
    /// The device's object path (given by the D-Bus side; the device's name in logs).
    pub path: String,
    state: Arc<RwLock<DeviceState>>,
    requests: RwLock<mpsc::Sender<DeviceRequest>>,
    /// The pending `forget_after` timer, if the device is offline and will be forgotten.
    forget_timer: Mutex<Option<AbortHandle>>,
}

impl DeviceHandle {
    /// A handle on the task listening on `requests`.
    pub fn new(
        path: String,
        state: Arc<RwLock<DeviceState>>,
        requests: mpsc::Sender<DeviceRequest>,
    ) -> Self {
        DeviceHandle {
            path,
            state,
            requests: RwLock::new(requests),
            forget_timer: Mutex::new(None),
        }
    }

    /// Sets the device's `forget_after` timer, cancelling the one it had (the device went offline
    /// again since that one started, so that one would forget it too early).
    pub fn replace_forget_timer(&self, timer: AbortHandle) {
        let previous = self
            .forget_timer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .replace(timer);
        if let Some(previous) = previous {
            previous.abort();
        }
    }

    /// The properties, shared with the task that serves the device.
    pub fn shared_state(&self) -> Arc<RwLock<DeviceState>> {
        Arc::clone(&self.state)
    }

    /// The current task's request channel.
    pub fn sender(&self) -> mpsc::Sender<DeviceRequest> {
        self.requests
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether a task serves the device now.
    pub fn is_attached(&self) -> bool {
        !self.sender().is_closed()
    }

    /// Hands the device to a new task.
    pub fn attach(&self, requests: mpsc::Sender<DeviceRequest>) {
        *self
            .requests
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = requests;
    }

    /// Reads the current properties. The guard must not be held across an await.
    pub fn state(&self) -> RwLockReadGuard<'_, DeviceState> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn gone(&self) -> DeviceError {
        DeviceError::Gone(format!("device {} is gone", self.path))
    }

    /// Sends a request to the device task without waiting for an answer.
    pub async fn send(&self, request: DeviceRequest) -> Result<(), DeviceError> {
        self.sender().send(request).await.map_err(|_| self.gone())
    }

    /// Calls the driver, which has `timeout` to answer (the device task answers `Timeout` when
    /// it does not).
    pub async fn call(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<CallReply, DeviceError> {
        let (reply, answer) = oneshot::channel();
        let answer_by = Instant::now() + timeout;
        let call = DeviceRequest::Call {
            request,
            reply,
            answer_by,
            timeout,
        };
        self.send(call).await?;
        match tokio::time::timeout_at(answer_by + SAFETY_NET, answer).await {
            Err(_) => {
                tracing::warn!(
                    path = self.path,
                    "device task did not answer a call in time"
                );
                Err(DeviceError::Timeout(format!(
                    "device {} did not answer within {} ms",
                    self.path,
                    timeout.as_millis()
                )))
            }
            Ok(Err(_)) => Err(self.gone()),
            Ok(Ok(result)) => result.map_err(DeviceError::Call),
        }
    }
}
