//! Transcript tests: the driver against BLE conversations, events in and effects out.

mod support;

mod app_gatt;
mod bthome;
mod gatt_sensor;
mod link_control;
mod reconnect;
