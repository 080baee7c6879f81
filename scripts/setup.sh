#!/usr/bin/env bash
# Installs the Debian 12 packages swarmd builds and runs with. Idempotent: prints nothing and
# touches nothing when every package is already there.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config git
    libboost-dev libsodium-dev libssl-dev libprotobuf-dev protobuf-compiler libspdlog-dev
    catch2 libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
    libtorch-dev libopenblas0-pthread python3-sklearn zlib1g-dev dnsmasq-base clang-format
    curl iproute2 iptables python3-prometheus-client
)
# Node.js and npm run the js-libp2p peers of the interop tests (tests/interop). Debian's packages,
# unless a node and an npm are already on PATH: NodeSource's nodejs ships its own npm and
# conflicts with Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
