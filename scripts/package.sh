#!/usr/bin/env bash
# Builds the Debian package build/package/swarmd_<version>_amd64.deb (or under $SWARMD_BUILD_DIR):
# installs missing packages, builds the binary and the man page only, then runs cpack.
#   sudo apt install ./build/package/swarmd_*_amd64.deb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMD_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" --target swarmd swarmd_man
cd "$build"
cpack -G DEB "$@" >/dev/null
ls "$build"/package/swarmd_*_amd64.deb
