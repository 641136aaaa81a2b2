//! End-to-end test harness: a private system bus, the real `m2mhald` binary, `m2msim` ptys, and a
//! D-Bus client, exactly as an application on a gateway would see them.
//!
//! The binaries come from the workspace's target directory (`cargo build --workspace` first; the
//! test command in README.md does that).
//!
//! One module per rig; the tests use them through the re-exports below.

mod binaries;
mod ble_rig;
mod bus;
mod client;
mod daemon;
mod dbusmock;
mod devices;
mod fake_usb;
mod line_child;
mod m2mctl;
mod messaging;
mod modem_rig;
mod open_watch;
mod python;
mod sim;
mod wait;

pub mod bench_routing;
pub mod bench_stats;
pub mod device_objects;
pub mod gpsd;
pub mod mm_gnss;
pub mod modemmanager;
pub mod mosquitto;
pub mod other_user;
pub mod paused;
pub mod plugin_files;
pub mod power_cut;
pub mod ready_watch;
pub mod reload;
pub mod restart;
pub mod router;
pub mod scripted_pty;

pub use m2mhal_contract::error::PREFIX as ERROR_PREFIX;
pub use m2mhal_contract::iface::{DEVICE, GATT, MANAGER, MESSAGING, SENSOR, SIGNAL};
pub use m2mhal_contract::{BUS_NAME, MANAGER_PATH};

pub use binaries::{binary, target_dir};
pub use ble_rig::{BleRig, ble_config};
pub use bus::TestBus;
pub use client::{
    assert_hal_error, call, field, next_property_change, next_signal, properties,
    properties_changed, property, subscribe, wait_for_property,
};
pub use daemon::{
    Daemon, daemon_dir, install_plugins, install_test_plugin, run_daemon_to_exit, write_config,
};
pub use dbusmock::{MockBluez, MockPolkit, bus_with_mock_polkit, dbusmock_available};
pub use devices::{
    device_ids, devices, readings, report_kernel_event, tty_event, wait_for_device,
    wait_for_device_id, wait_for_readings,
};
pub use fake_usb::FakeUsb;
pub use m2mctl::{CtlOutput, m2mctl, m2mctl_as_user};
pub use messaging::{
    ReceivedBody, SendOptions, StateChangedBody, StoredMessage, encoding, list_messages, send,
    send_text, wait_message_state,
};
pub use modem_rig::{ModemRig, port_config};
pub use open_watch::OpenWatch;
pub use python::python_has;
pub use sim::Sim;
pub use wait::{WAIT, wait_until};
