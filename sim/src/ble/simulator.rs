//! The running BLE simulator: the fake BlueZ, the peripherals added to it, their periodic
//! advertisements and the control commands.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use m2mhal_fake_bluez::{ADAPTER_PATH, Address, AdvUpdate, Error, FakeBluez};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::control::{BleControl, BleControlError};
use super::ess;
use super::peripherals::{BthomeSensor, Kind, Simulated, default_name, phone_spec};
use crate::control_plane::Commands;
use crate::help::CommandHelp;
use crate::report;

/// What the simulator added, and the adapter's power.
struct World {
    peripherals: BTreeMap<Address, Simulated>,
    powered: bool,
}

/// The fake BlueZ with the simulator's peripherals.
pub struct BleSimulator {
    bluez: FakeBluez,
    bus: String,
    world: Mutex<World>,
}

impl BleSimulator {
    /// Serves `org.bluez` on `conn` (connected to the bus at `bus`), with no peripherals yet.
    pub async fn start(conn: zbus::Connection, bus: String) -> Result<Arc<Self>, Error> {
        let bluez = FakeBluez::start(conn).await?;
        let world = World {
            peripherals: BTreeMap::new(),
            powered: true,
        };
        Ok(Arc::new(BleSimulator {
            bluez,
            bus,
            world: Mutex::new(world),
        }))
    }

    /// `{"event":"ready","bus":...,"adapter":"/org/bluez/hci0"}`.
    pub fn ready_line(&self) -> Value {
        json!({ "event": "ready", "bus": self.bus, "adapter": ADAPTER_PATH })
    }

    async fn apply(&self, command: BleControl) -> Result<Value, BleControlError> {
        let mut world = self.world.lock().await;
        let reply = match command {
            BleControl::AddBthome { address, name, key } => {
                let sensor = BthomeSensor::new(address, key);
                let name = name.unwrap_or_else(|| default_name("BTHome", &address));
                self.bluez.add_peripheral(sensor.spec(&name)).await?;
                world.add(address, name, Kind::Bthome(sensor))
            }
            BleControl::AddEss { address, name } => {
                let name = name.unwrap_or_else(|| default_name("ESS", &address));
                let spec = ess::spec(address, &name, &ess::INITIAL);
                self.bluez.add_peripheral(spec).await?;
                world.add(address, name, Kind::Ess(ess::INITIAL))
            }
            BleControl::AddPhone(address) => {
                let spec = phone_spec(address);
                let name = spec.name.clone().unwrap_or_default();
                self.bluez.add_peripheral(spec).await?;
                world.add(address, name, Kind::Phone)
            }
            BleControl::Measure(address, measurement) => match &mut world.get(address)?.kind {
                Kind::Bthome(sensor) => {
                    sensor.measure(&measurement);
                    let update = AdvUpdate {
                        service_data: Some(sensor.service_data()),
                        ..AdvUpdate::default()
                    };
                    self.bluez.advertise(address, update).await?;
                    report::ok()
                }
                Kind::Ess(current) => {
                    current.update(&measurement);
                    let mut notified = Vec::new();
                    for (uuid, value) in ess::values(&measurement) {
                        if self.bluez.set_value(address, uuid, value).await? {
                            notified.push(uuid);
                        }
                    }
                    json!({ "event": "ok", "notified": notified })
                }
                Kind::Phone => return Err(BleControlError::NothingToMeasure(address)),
            },
            BleControl::Value(address, uuid, value) => {
                let notified = self.bluez.set_value(address, &uuid, value).await?;
                json!({ "event": "ok", "notified": notified })
            }
            BleControl::Range(address, in_range) => {
                self.bluez.set_in_range(address, in_range).await?;
                world.get(address)?.in_range = in_range;
                report::ok()
            }
            BleControl::Drop(address) => {
                let dropped = self.bluez.drop_link(address).await?;
                json!({ "event": "ok", "dropped": dropped })
            }
            BleControl::Expire(address) => {
                self.bluez.expire_device(address).await?;
                report::ok()
            }
            BleControl::Power(on) => {
                self.bluez.set_powered(on).await?;
                world.powered = on;
                report::ok()
            }
            BleControl::Restart => {
                self.bluez.restart().await?;
                world.powered = true;
                report::ok()
            }
            BleControl::Events => {
                let events: Vec<Value> = self
                    .bluez
                    .events()
                    .iter()
                    .filter_map(|event| serde_json::to_value(event).ok())
                    .collect();
                json!({ "event": "events", "events": events })
            }
            BleControl::Status => {
                let peripherals: Vec<Value> = world
                    .peripherals
                    .iter()
                    .map(|(address, simulated)| simulated.to_json(address))
                    .collect();
                json!({
                    "event": "status",
                    "bus": self.bus,
                    "powered": world.powered,
                    "peripherals": peripherals,
                })
            }
        };
        Ok(reply)
    }

    /// Lets every peripheral in range advertise again every `interval`, as real ones do: BlueZ
    /// reports repeated service and manufacturer data to clients that ask for duplicates, so
    /// scanners see that the device is still there.
    pub async fn advertise_periodically(self: Arc<Self>, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let world = self.world.lock().await;
            for (address, simulated) in &world.peripherals {
                if !simulated.in_range {
                    continue;
                }
                if let Err(error) = self.bluez.advertise(*address, AdvUpdate::default()).await {
                    eprintln!("m2msim: {address} cannot advertise: {error}");
                }
            }
        }
    }
}

impl Commands for BleSimulator {
    async fn execute(&self, command: &str) -> Value {
        let reply = match BleControl::parse(command) {
            Ok(command) => self.apply(command).await,
            Err(error) => Err(error),
        };
        reply.unwrap_or_else(report::error)
    }

    fn help(&self) -> Vec<CommandHelp> {
        super::control::COMMANDS.to_vec()
    }
}

impl World {
    /// Records an added peripheral; the reply to its `add-*` command.
    fn add(&mut self, address: Address, name: String, kind: Kind) -> Value {
        let simulated = Simulated {
            kind,
            name,
            in_range: true,
        };
        let reply = json!({ "event": "ok", "peripheral": simulated.to_json(&address) });
        self.peripherals.insert(address, simulated);
        reply
    }

    fn get(&mut self, address: Address) -> Result<&mut Simulated, Error> {
        self.peripherals
            .get_mut(&address)
            .ok_or_else(|| Error::UnknownPeripheral(address.to_string()))
    }
}
