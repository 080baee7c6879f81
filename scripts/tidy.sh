#!/usr/bin/env bash
# clang-tidy with the checks agreed in .clang-tidy (bugprone, performance, naming, init,
# override, nullptr, braces) over our sources, from the build's compile database.
#   scripts/tidy.sh                 every translation unit of base crypto net bootstrap node
#   scripts/tidy.sh node/zo/*.cpp   just these
# Installs clang-tidy when missing. LibTorch units (training/, rl/) take minutes each; name
# them to include them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMD_BUILD_DIR:-$root/build}
cd "$root"
if ! command -v clang-tidy >/dev/null; then
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get install -y -qq --no-install-recommends clang-tidy >/dev/null
fi
if [[ ! -f "$build/compile_commands.json" ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
if [[ $# -gt 0 ]]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files -- 'base/*.cpp' 'crypto/*.cpp' 'net/*.cpp' 'bootstrap/*.cpp' 'node/*.cpp')
fi
status=0
for f in "${files[@]}"; do
    clang-tidy -p "$build" --quiet "$f" 2>/dev/null || status=1
done
exit $status
