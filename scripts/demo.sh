#!/usr/bin/env bash
# The m2mhal demo, without hardware: a private D-Bus system bus, a simulated LTE modem and Iridium
# 9603 (m2msim) on ptys, simulated BLE sensors behind a fake BlueZ, m2mhald managing them all, and
# m2mctl showing the devices, sending an SMS and an SBD burst, receiving an SMS and reading sensors.
#
#   scripts/demo.sh          run the demo and clean up
#   scripts/demo.sh --keep   leave bus, simulator and daemon running, and write an env file that
#                            puts m2mctl and m2msim on PATH and points them at the demo's bus
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

scripts/install-deps.sh
bin="$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug"
echo "==> building into $bin (the first build takes about 5 minutes on 2 cores)"
cargo build -p m2mhald -p m2mctl -p m2msim -p m2mhal-driver-cellular \
    -p m2mhal-driver-iridium -p m2mhal-driver-ble
echo "binaries: $bin/m2mhald, $bin/m2mctl, $bin/m2msim"

work=$(mktemp -d /tmp/m2mhal-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    exec 3>&- 2>/dev/null || true
    rm -rf "$work"
}
$keep || trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "private system bus"
cat >"$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow own="org.bluez"/>
    <allow send_destination="org.bluez"/>
  </policy>
  <includedir>$PWD/dist/dbus</includedir>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork 2>/dev/null &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/system_bus_socket"
for _ in $(seq 50); do [ -S "$work/system_bus_socket" ] && break; sleep 0.1; done
echo "DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"

step "simulated modem (m2msim)"
mkfifo "$work/sim-control"
"$bin/m2msim" modem --link "$work/ttyLTE0" <"$work/sim-control" >"$work/sim.log" &
pids+=($!)
exec 3>"$work/sim-control"
for _ in $(seq 50); do [ -e "$work/ttyLTE0" ] && break; sleep 0.1; done
head -n1 "$work/sim.log"

step "simulated Iridium 9603 (m2msim iridium)"
"$bin/m2msim" iridium --link "$work/ttyIRIDIUM0" >"$work/iridium.log" &
pids+=($!)
for _ in $(seq 50); do [ -e "$work/ttyIRIDIUM0" ] && break; sleep 0.1; done
head -n1 "$work/iridium.log"

step "simulated BLE sensors behind a fake BlueZ (m2msim ble)"
cat >"$work/ble.script" <<SCRIPT
add-bthome A4:C1:38:00:11:22 Greenhouse
add-ess C0:FF:EE:00:00:01 Tank
add-phone 5E:11:22:33:44:55
SCRIPT
"$bin/m2msim" ble --script "$work/ble.script" >"$work/ble.log" &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$work/ble.log" 2>/dev/null && break; sleep 0.1; done
echo "a BTHome thermometer, an Environmental Sensing GATT sensor, and a phone walking by"

step "m2mhald"
mkdir -p "$work/plugins" "$work/state"
cp "$bin"/libm2mhal_driver_*.so "$work/plugins/"
cat >"$work/m2mhald.toml" <<CONF
plugin_dirs = ["$work/plugins"]
state_dir = "$work/state"

[[port]]
path = "$work/ttyLTE0"

[[port]]
path = "$work/ttyIRIDIUM0"

[ble]
enabled = true
CONF
cat "$work/m2mhald.toml"
"$bin/m2mhald" --config "$work/m2mhald.toml" 2>"$work/m2mhald.log" &
pids+=($!)
for device in "$work/ttyLTE0" "$work/ttyIRIDIUM0" A4:C1:38:00:11:22 C0:FF:EE:00:00:01; do
    "$bin/m2mctl" wait "$device" --state ready --timeout 20 >/dev/null
done

step "m2mctl list   (the phone never shows up)"
"$bin/m2mctl" list

step "m2mctl show $work/ttyLTE0"
"$bin/m2mctl" show "$work/ttyLTE0"

step "m2mctl send $work/ttyLTE0 +15551234567 'Pump 3 pressure low ⚠️'"
"$bin/m2mctl" send "$work/ttyLTE0" +15551234567 "Pump 3 pressure low ⚠️" --wait
echo "the simulated network saw:"
grep '"sms-sent"' "$work/sim.log" | tail -n1

step "an SMS arrives (multipart, with umlauts)"
echo "sms +4915112345678 Grüße aus dem Pumpenhaus! Der Füllstand ist normal, alle drei Pumpen laufen, die nächste Wartung ist am Montag um 9 Uhr. Bitte den Schlüssel mitbringen." >&3
for _ in $(seq 100); do
    "$bin/m2mctl" messages "$work/ttyLTE0" | grep -q '^.* in ' && break
    sleep 0.1
done

step "m2mctl messages $work/ttyLTE0"
"$bin/m2mctl" messages "$work/ttyLTE0"

step "m2mctl send $work/ttyIRIDIUM0 '' 'pump station 7: level 82%'   (an SBD burst, same API)"
"$bin/m2mctl" send "$work/ttyIRIDIUM0" "" "pump station 7: level 82%" --wait --timeout 30
echo "the simulated Iridium gateway saw:"
grep '"mo"' "$work/iridium.log" | tail -n1

step "m2mctl sensor A4:C1:38:00:11:22   (BTHome advertisements)"
"$bin/m2mctl" sensor A4:C1:38:00:11:22

step "m2mctl sensor C0:FF:EE:00:00:01   (GATT Environmental Sensing, Battery, Device Information)"
"$bin/m2mctl" sensor C0:FF:EE:00:00:01

if $keep; then
    step "still running"
    cat >"$work/env" <<ENV
export PATH="$bin:\$PATH"
export DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS"
ENV
    echo "In your shell, put m2mctl and m2msim on PATH and use the demo's bus:"
    echo
    echo "    source $work/env"
    echo
    echo "(that is: export PATH=\"$bin:\$PATH\" DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS)"
    echo "then e.g.: m2mctl list; m2mctl monitor"
    echo "simulator control: echo 'signal 25' > $work/sim-control   (replies in $work/sim.log;"
    echo "    'help' lists the control commands, as does m2msim modem --help)"
    echo "daemon log: $work/m2mhald.log; stop everything: kill ${pids[*]}"
fi
