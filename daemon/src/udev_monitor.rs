//! udev: coldplug enumeration of ttys at start, then hotplug events, fed into the same kernel-event
//! path as `Manager.ReportKernelEvent`. On a system without udev the monitor logs once and stops;
//! ports then come from the config and from reported events.
//!
//! libudev handles are not `Send`, so the monitor lives on a thread of its own and blocks in
//! `poll`; it costs nothing while nothing is plugged.

use std::collections::BTreeMap;
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use tokio::sync::mpsc;

use crate::kernel_event::{Action, KernelEvent};

/// The only subsystem m2mhal serves through udev.
const SUBSYSTEM: &str = "tty";

/// Starts the monitor thread, feeding `events` until it closes.
pub fn spawn(events: mpsc::Sender<KernelEvent>) {
    let started = std::thread::Builder::new()
        .name("udev".into())
        .spawn(move || monitor(&events));
    if let Err(e) = started {
        tracing::warn!("cannot start the udev monitor: {e}");
    }
}

fn monitor(events: &mpsc::Sender<KernelEvent>) {
    // Listen before enumerating, so that a device plugged in between is not missed.
    let socket = match udev::MonitorBuilder::new()
        .and_then(|builder| builder.match_subsystem(SUBSYSTEM))
        .and_then(|builder| builder.listen())
    {
        Ok(socket) => socket,
        Err(e) => {
            tracing::info!(
                "udev monitoring is unavailable ({e}); using configured and reported ports"
            );
            return;
        }
    };
    for event in coldplug() {
        if events.blocking_send(event).is_err() {
            return;
        }
    }
    loop {
        let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        if let Err(e) = poll(&mut fds, PollTimeout::NONE) {
            if e == nix::errno::Errno::EINTR {
                continue;
            }
            tracing::warn!("udev monitor failed: {e}");
            return;
        }
        for event in socket.iter() {
            let action = match event.event_type() {
                udev::EventType::Add => Action::Add,
                udev::EventType::Change => Action::Change,
                udev::EventType::Remove => Action::Remove,
                _ => continue,
            };
            let Some(event) = kernel_event(&event.device(), action) else {
                continue;
            };
            tracing::debug!(port = %event.devnode.display(), "udev: {:?}", event.action);
            if events.blocking_send(event).is_err() {
                return;
            }
        }
    }
}

/// `add` events for the ttys udev knows now.
fn coldplug() -> Vec<KernelEvent> {
    let devices = udev::Enumerator::new().and_then(|mut enumerator| {
        enumerator.match_subsystem(SUBSYSTEM)?;
        Ok(enumerator
            .scan_devices()?
            .filter_map(|device| kernel_event(&device, Action::Add))
            .collect())
    });
    devices.unwrap_or_else(|e| {
        tracing::info!("cannot enumerate ttys through udev: {e}");
        Vec::new()
    })
}

/// The kernel event for a udev tty device; `None` for devices without a node.
fn kernel_event(device: &udev::Device, action: Action) -> Option<KernelEvent> {
    let devnode = device.devnode()?.to_owned();
    let properties: BTreeMap<String, String> = device
        .properties()
        .map(|p| {
            (
                p.name().to_string_lossy().into_owned(),
                p.value().to_string_lossy().into_owned(),
            )
        })
        .collect();
    Some(KernelEvent {
        action,
        subsystem: SUBSYSTEM.to_owned(),
        name: device.sysname().to_string_lossy().into_owned(),
        devnode,
        properties,
    })
}
