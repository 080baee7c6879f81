#!/usr/bin/env bash
# `swarmd p2p identify|ping|listen` against the js-libp2p peer, both directions.
#   cli_test.sh SWARMD NODE JS_PEER_DIR
set -euo pipefail
swarmd=$1 node=$2 js_dir=$3
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Waits up to 30 s for a first line in file $1.
first_line() {
    for _ in $(seq 300); do
        [[ -s $1 ]] && { head -n1 "$1"; return; }
        sleep 0.1
    done
    fail "no output in $1"
}

cd "$js_dir"

# swarmd dials js: identify and ping.
mkfifo "$work/js_in"
"$node" --import ./polyfill.mjs peer.mjs listen <"$work/js_in" >"$work/js.out" 2>>"$work/js.err" &
pids+=($!)
exec 3>"$work/js_in"  # holds the js peer's stdin open
js_line=$(first_line "$work/js.out")
js_addr=$(grep -o '"/ip4/[^"]*"' <<<"$js_line" | head -n1 | tr -d '"')
js_id=${js_addr##*/}
[[ -n $js_addr ]] || fail "js peer printed no address: $js_line"

identify=$("$swarmd" p2p identify "$js_addr")
echo "$identify"
grep -qx "peer: $js_id" <<<"$identify" || fail "identify: wrong peer id"
grep -q "^agent: js-libp2p/" <<<"$identify" || fail "identify: agent"
grep -qx "  /ipfs/id/1.0.0" <<<"$identify" || fail "identify: /ipfs/id/1.0.0 missing"
grep -qx "  /ipfs/ping/1.0.0" <<<"$identify" || fail "identify: /ipfs/ping/1.0.0 missing"
grep -q "^  /ip4/127.0.0.1/tcp/" <<<"$identify" || fail "identify: no listen address"

ping=$("$swarmd" p2p ping "$js_addr" -n 3)
echo "$ping"
[[ $(grep -c "^pong [0-9]*: rtt=" <<<"$ping") -eq 3 ]] || fail "ping: expected 3 pongs"

# js dials swarmd: `swarmd p2p listen` prints its full multiaddr.
"$swarmd" p2p listen --listen /ip4/127.0.0.1/tcp/0 >"$work/swarmd.out" 2>"$work/swarmd.err" &
listener=$!
pids+=($listener)
swarmd_addr=$(first_line "$work/swarmd.out")
[[ $swarmd_addr == /ip4/127.0.0.1/tcp/*/p2p/12D3KooW* ]] || fail "listen printed $swarmd_addr"
dial=$("$node" --import ./polyfill.mjs peer.mjs dial "$swarmd_addr" --pings 2)
echo "$dial"
grep -q '"event":"identify".*"agentVersion":"swarmd/0.1.0"' <<<"$dial" || fail "js did not identify swarmd"
[[ $(grep -c '"event":"ping"' <<<"$dial") -eq 2 ]] || fail "js pings"
grep -q '"event":"done"' <<<"$dial" || fail "js dial did not finish"

kill -INT "$listener"
wait "$listener" || fail "swarmd p2p listen did not exit cleanly on SIGINT"
echo "cli interop: ok"
