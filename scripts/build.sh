#!/usr/bin/env bash
# Installs missing packages, configures and builds swarmd into build/ (or $SWARMD_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
build=${SWARMD_BUILD_DIR:-$root/build}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${SWARMD_BUILD_TYPE:-RelWithDebInfo} \
        -DSWARMD_WERROR=${SWARMD_WERROR:-OFF} >/dev/null
fi
cmake --build "$build" -j "$(nproc)" "$@"
