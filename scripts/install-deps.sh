#!/usr/bin/env bash
# Installs the Debian packages m2mhal needs to build, test and run its demo. Idempotent.
set -euo pipefail

packages=(
    build-essential pkg-config # C toolchain for bundled SQLite and test plugins
    dbus                       # dbus-daemon: the private system bus of the demo and the tests
    libdbus-1-dev libudev-dev  # btleplug (BlueZ) and udev monitoring
    systemd udev util-linux    # systemd-analyze, udevadm and setpriv for the system-file tests
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || {
    echo "cargo is missing: install Rust (https://rustup.rs) first" >&2
    exit 1
}
