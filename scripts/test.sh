#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs the whole ctest suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMD_BUILD_DIR:-$root/build}
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
