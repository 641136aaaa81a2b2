//! The routing of host events every AT device driver shares. A driver implements [`AtDriver`]:
//! access to its [`AtLink`], its phase as the routing needs it, and one hook per kind of work
//! that is its own; [`AtDriver::handle_input`] routes each input around the lifecycle of the
//! link:
//!
//! - `Opened` and `Request::Reset` restart the device (every initialisation starts with the
//!   [resynchronisation](crate::resync) of the channel); `Hangup` closes an open port and
//!   publishes `offline` / `hangup`;
//! - bytes from the device and the command deadline go through the link's queue: each command of
//!   the driver that ends goes to [`on_completed`](AtDriver::on_completed), each URC to
//!   [`on_urc`](AtDriver::on_urc);
//! - after too many timeouts in a row the driver [goes silent](AtDriver::go_silent) and the link
//!   probes the device; the first answer restarts it;
//! - raw commands (`Request::Command`) run while the port is open and the device answers;
//! - after every input the next command starts.

use m2mhal_plugin_api::sdk::Effects;
use m2mhal_plugin_api::{CallError, CallErrorKind, CallReply, Effect, Event, Input, Request};

use crate::channel::{AtError, Response, Urc};
use crate::link::{AtLink, LinkPurpose, Work};
use crate::queue::QueueEvent;
use crate::raw;

/// An AT device driver as the shared routing sees it; `P` says why the driver sends each of its
/// commands (a generic parameter rather than an associated type, so that it may stay private to
/// the driver's crate).
pub trait AtDriver<P: LinkPurpose> {
    /// The driver's link and the effects of the input being handled.
    fn link_and_effects(&mut self) -> (&mut AtLink<P>, &mut Effects);

    /// Takes the clocks of the input being handled (`Input::now_ms`, `Input::unix_time`).
    fn set_clocks(&mut self, now_ms: u64, unix_time: u64);

    /// Whether the port is open: after `Opened`, before `Hangup`.
    fn is_open(&self) -> bool;

    /// Whether the device counts as silent and is being probed.
    fn is_silent(&self) -> bool;

    /// Initialises the device from scratch; the work in progress fails with `interrupted`.
    fn restart(&mut self, interrupted: CallError);

    /// The port hung up: drop all work (its calls fail with `error`) and count the port closed.
    fn close(&mut self, error: &CallError);

    /// The device stopped answering: drop all work (its calls fail with `error`) and count the
    /// device silent.
    fn go_silent(&mut self, error: &CallError);

    /// A command the driver queued with `purpose` ended.
    fn on_completed(&mut self, purpose: P, result: Result<Response, AtError>);

    /// An unsolicited result code came.
    fn on_urc(&mut self, urc: Urc);

    /// One of the driver's own timers fired (not the link's deadline or probe timer).
    fn on_timer(&mut self, id: u32);

    /// A call other than `Reset` and `Command`, which the routing takes.
    fn on_call(&mut self, call: u64, request: Request);

    /// The host committed the received message with `key`.
    fn on_committed(&mut self, key: &str);

    /// Handles one input: routes its event, starts the next command, returns the effects.
    fn handle_input(&mut self, input: Input) -> Vec<Effect> {
        let now_ms = input.now_ms;
        self.set_clocks(now_ms, input.unix_time);
        match input.event {
            Event::Opened => self.restart(CallError::new(
                CallErrorKind::Failed,
                "the port was reopened",
            )),
            Event::Rx(bytes) if self.is_open() => {
                let (link, out) = self.link_and_effects();
                for event in link.feed(&bytes, out) {
                    route_queue_event(self, event);
                }
            }
            Event::Hangup if self.is_open() => {
                let error = self.link_and_effects().0.hangup_error();
                self.close(&error);
                let (link, out) = self.link_and_effects();
                link.publish("offline", "hangup", out);
            }
            Event::Timer(id) => route_timer(self, now_ms, id),
            Event::Call { call, request } => route_call(self, call, request),
            Event::MessageCommitted { key } => self.on_committed(&key),
            // Bytes and hangups of a closed port, BLE events and events of later ABI versions
            // do not concern an AT device.
            _ => {}
        }
        let open = self.is_open();
        let (link, out) = self.link_and_effects();
        if open {
            link.pump(now_ms, out);
        }
        out.take()
    }
}

/// The deadline and probe timers go to the link, the others to the driver.
fn route_timer<P: LinkPurpose, D: AtDriver<P> + ?Sized>(driver: &mut D, now_ms: u64, id: u32) {
    let silent = driver.is_silent();
    let (link, out) = driver.link_and_effects();
    if link.is_deadline_timer(id) {
        if let Some(event) = link.deadline_fired(now_ms) {
            route_queue_event(driver, event);
        }
    } else if link.is_probe_timer(id) {
        // A probe timer that fires after the device answered is stale.
        if silent {
            link.send_probe(now_ms, out);
        }
    } else {
        driver.on_timer(id);
    }
}

/// `Reset` and `Command` are the link's, the other calls the driver's.
fn route_call<P: LinkPurpose, D: AtDriver<P> + ?Sized>(
    driver: &mut D,
    call: u64,
    request: Request,
) {
    match request {
        Request::Reset if driver.is_open() => {
            driver.restart(CallError::new(
                CallErrorKind::Failed,
                "interrupted by a reset",
            ));
            driver.link_and_effects().1.reply(call, Ok(CallReply::Done));
        }
        Request::Reset => {
            let (link, out) = driver.link_and_effects();
            link.reply_not_ready(call, out);
        }
        Request::Command { line, timeout_ms } => {
            let accepting = driver.is_open() && !driver.is_silent();
            let (link, out) = driver.link_and_effects();
            link.raw_command(call, &line, timeout_ms, accepting, out);
        }
        other => driver.on_call(call, other),
    }
}

/// A command ended or a URC came: counts timeouts towards silence, ends probes and raw commands,
/// hands the rest to the driver.
fn route_queue_event<P: LinkPurpose, D: AtDriver<P> + ?Sized>(
    driver: &mut D,
    event: QueueEvent<Work<P>>,
) {
    let (work, result) = match event {
        QueueEvent::Completed(work, result) => (work, result),
        QueueEvent::Urc(urc) => return driver.on_urc(urc),
    };
    let silent = driver.is_silent();
    let (link, out) = driver.link_and_effects();
    if let Work::Sync(step) = work {
        return link.sync_ended(step, &result, out);
    }
    if link.goes_silent(&result, silent) {
        let error = link.went_silent(&work, out);
        driver.go_silent(&error);
        let (link, out) = driver.link_and_effects();
        link.start_probing(out);
        return;
    }
    match work {
        Work::Probe if silent => {
            if let Some(interrupted) = link.probe_ended(&result, out) {
                driver.restart(interrupted);
            }
        }
        // The device was restarted meanwhile: the probe has nothing more to tell.
        Work::Probe => {}
        Work::Raw(call) => out.reply(call, raw::reply(result)),
        Work::Sync(_) => {}
        Work::Driver(purpose) => driver.on_completed(purpose, result),
    }
}
