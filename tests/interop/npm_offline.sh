#!/usr/bin/env bash
# npm_offline.sh NODE NPM PEER_DIR CACHE: installs the pinned npm set (PEER_DIR's package.json and
# package-lock.json) into a fresh directory from CACHE alone, inside a network namespace of its
# own, and checks that every locked package arrived at its locked version.
set -euo pipefail
node=$1 npm=$2 peer_dir=$3 cache=$4

if ! unshare -rn true 2>/dev/null; then
    echo "SKIP: this machine does not allow a network namespace (unshare -rn), so the offline install cannot be shown"
    exit 77
fi
[[ -d "$cache/_cacache" ]] || { echo "FAIL: no npm cache at $cache (the 'interop: npm ci' fixture fills it)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$peer_dir/package.json" "$peer_dir/package-lock.json" "$work/"
cd "$work"

# Inside the namespace there is no interface but a loopback that is down: nothing can be reached.
unshare -rn bash -c '
    set -euo pipefail
    links=$(ip -o link show | awk -F": " "{print \$2}" | tr "\n" " ")
    [[ "$links" == "lo " ]] || { echo "FAIL: the namespace has interfaces: $links"; exit 1; }
    ip -o link show lo | grep -q "state DOWN" || { echo "FAIL: loopback is up in the namespace"; exit 1; }
    "$1" ci --offline --cache "$2" --no-audit --no-fund --loglevel=error
' offline "$npm" "$cache"

# Every package of the lock file, at its locked version.
"$node" - <<'JS'
const fs = require('fs')
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'))
let checked = 0
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || entry.optional || entry.link) continue
  const installed = JSON.parse(fs.readFileSync(`${path}/package.json`, 'utf8'))
  if (installed.version !== entry.version) {
    console.log(`FAIL: ${path} is ${installed.version}, the lock file says ${entry.version}`)
    process.exit(1)
  }
  checked++
}
if (checked < 50) { console.log(`FAIL: only ${checked} packages in the lock file`); process.exit(1) }
console.log(`the pinned set installed offline: ${checked} packages at their locked versions`)
JS
