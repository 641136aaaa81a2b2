#!/usr/bin/env bash
# Runs every test: unit, transcript, property and end-to-end tests (private D-Bus system bus, the
# real m2mhald, m2msim ptys), plus a build of the fuzz targets. tests/tests/system_files.rs also
# builds the Debian packages from this debug build (scripts/build-deb.sh; required when CI is set)
# and checks their contents.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The end-to-end tests run the workspace's binaries and load its plugins from target/.
cargo build --workspace --all-targets
cargo test --workspace
cargo build --manifest-path fuzz/Cargo.toml
