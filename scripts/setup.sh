#!/bin/sh
# Installs what a fresh Debian 12 machine lacks to build and test Plexus.
# Safe to run again: apt-get skips what is already there.
set -eu
PACKAGES="build-essential cmake pkg-config libinih-dev libjansson-dev libcurl4-openssl-dev clang libclang-rt-14-dev python3 python3-numpy"

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
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
