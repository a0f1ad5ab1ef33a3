#!/bin/sh
# Installs what a fresh Debian 12 machine lacks to build and test Plexus.
# Safe to run again: apt-get skips what is already there.
# Usage: scripts/setup.sh [arm]
#   arm: instead, what scripts/test-arm.sh needs to cross-build for 64-bit
#   ARM and run the tests under qemu: the cross compiler and C library,
#   qemu-user, and the arm64 builds of the libraries (Debian multiarch: adds
#   the arm64 architecture to dpkg). About 75 MB of packages.
set -eu
PACKAGES="build-essential cmake pkg-config libinih-dev libjansson-dev libcurl4-openssl-dev clang libclang-rt-14-dev python3 python3-numpy python3-onnx"
ARCH=""
if [ "${1:-}" = arm ]; then
  PACKAGES="cmake pkg-config gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libinih-dev:arm64 libjansson-dev:arm64 libcurl4-openssl-dev:arm64"
  dpkg --print-foreign-architectures | grep -qx arm64 || ARCH=arm64
fi

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "setup: all packages present"
  exit 0
fi
echo "setup: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
[ -z "$ARCH" ] || $SUDO dpkg --add-architecture "$ARCH"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
