#!/usr/bin/env bash
# Builds the Debian packages m2mhal, m2mhal-sim and m2mhal-mqtt with dpkg-buildpackage (debian/).
#
#   scripts/build-deb.sh                       release build (`make`), packages in target/debian
#   scripts/build-deb.sh --bin-dir target/debug --out DIR
#                                              package binaries already built in target/debug
#                                              (quick, for CI), packages in DIR
#
# dpkg-buildpackage writes its results next to the source tree, so the tree (without target/
# and .git) is copied into a scratch directory under the output directory first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin_dir=""
out=target/debian
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin_dir=$(realpath "$2"); shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--bin-dir DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(realpath "$out")
scratch=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

source="$scratch/m2mhal"
mkdir "$source"
tar -C "$root" --exclude=./target --exclude='./target-*' --exclude=./.git --exclude=./fuzz/target \
    -cf - . | tar -C "$source" -xf -
# A full build reuses the workspace's target directory (and its incremental state).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
# Prebuilt binaries: no -dbgsym packages (a release build has no debug info to put in them, a
# debug build's would be hundreds of MB).
[ -n "$bin_dir" ] && export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noautodbgsym"
(cd "$source" && M2MHAL_BIN_DIR="$bin_dir" dpkg-buildpackage -b -us -uc)
mv "$scratch"/*.deb "$out/"
ls "$out"/*.deb
