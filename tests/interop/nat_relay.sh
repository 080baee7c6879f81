#!/usr/bin/env bash
# Behind NAT with js-libp2p on the public side (tests/e2e/natlab.sh namespaces):
#  1. The only public node is a js-libp2p node serving @libp2p/kad-dht and @libp2p/circuit-relay-v2
#     (no swarmd bootstrap node). Two swarmd trainers, each behind its own home router and given
#     only the js node's address, reserve a slot on the js relay, find each other's
#     /p2p-circuit addresses on the js DHT, connect through the js relay, hole-punch (DCUtR over
#     the js relay's circuit) to a direct connection, train and merge.
#  2. A js-libp2p node behind a third NAT dials a swarmd trainer behind a fourth through a swarmd
#     bootstrap node's relay (the trainer's circuit address) and pings it over the limited
#     connection.
#   nat_relay.sh NODE JS_PEER_DIR   (SWARMD_BUILD_DIR names the build tree)
set -euo pipefail
node=$1 js_dir=$(cd "$2" && pwd)
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/../e2e/natlab.sh"
lab_skip_unless_available
e2e_init 60
lab_init
lab_public pub
lab_public pub2
lab_home home1
lab_home home2
lab_home home3
lab_home home4
js_pids=()
stop_js() { for pid in "${js_pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
e2e_on_exit=(stop_js "${e2e_on_exit[@]}")

first_line() {  # FILE PATTERN: the first line matching, waiting up to 30 s
    for _ in $(seq 300); do
        grep -m1 -e "$2" "$1" 2>/dev/null && return
        sleep 0.1
    done
    e2e_fail "no '$2' in $1: $(cat "$1" "${1%.out}.err" 2>/dev/null | tail -5)"
}
# js_start NAME WHERE ARGS...: peer.mjs ARGS in lab namespace WHERE; its stdin is fd js_fd[NAME].
declare -A js_fd=()
js_start() {
    local name=$1 where=$2
    shift 2
    mkfifo "$e2e_dir/$name.in"
    lab_exec "$where" bash -c 'cd "$1" && shift && exec "$@"' _ "$js_dir" "$node" --import \
        ./polyfill.mjs peer.mjs "$@" <"$e2e_dir/$name.in" >"$e2e_dir/$name.out" 2>"$e2e_dir/$name.err" &
    js_pids+=($!)
    local fd
    exec {fd}>"$e2e_dir/$name.in"
    js_fd[$name]=$fd
}

# Part 1: a js DHT + relay as the whole public network.
js_start jsrelay pub kad --relay-server --listen "/ip4/${lab_addr[pub]}/tcp/$((e2e_base - 3))"
line=$(first_line "$e2e_dir/jsrelay.out" '"listening"')
js_relay=$(grep -o "\"/ip4/${lab_addr[pub]}/tcp/[^\"]*\"" <<<"$line" | head -n1 | tr -d '"')
[[ -n $js_relay ]] || e2e_fail "the js relay printed no lab address: $line"
js_id=${js_relay##*/}
e2e_log "js DHT and relay at $js_relay"

start=$SECONDS
lab_start node1 1 home1 --bootstrap "$js_relay" --round-interval-ms 40
lab_start node2 2 home2 --bootstrap "$js_relay" --round-interval-ms 40
for i in 1 2; do lab_wait_up "$i" 60; done
ids=("$(e2e_field 1 peer_id)" "$(e2e_field 2 peer_id)")

relay_of() {  # the relays named in this node's reach.relay_addrs
    python3 -c 'import json, sys
text = sys.stdin.read()
r = (json.loads(text).get("reach") or {}) if text.strip() else {}
print(" ".join(a.split("/p2p/")[1].split("/")[0] for a in r.get("relay_addrs", [])))'
}
deadline=$((SECONDS + 60))
for i in 1 2; do
    until [[ " $(lab_status "$i" | relay_of) " == *" $js_id "* ]]; do
        [[ $SECONDS -lt $deadline ]] || e2e_fail "node$i holds no reservation on the js relay: $(lab_status "$i")"
        sleep 0.5
    done
done
e2e_log "both trainers hold a reservation on the js relay after $((SECONDS - start)) s"
deadline=$((SECONDS + 120))
until [[ -n "$(lab_status 1 | lab_link_to "${ids[1]}")" && -n "$(lab_status 2 | lab_link_to "${ids[0]}")" ]]; do
    [[ $SECONDS -lt $deadline ]] || e2e_fail "the trainers did not connect to each other through the js relay"
    sleep 0.5
done
e2e_log "the trainers connected after $((SECONDS - start)) s: node1->node2 $(lab_status 1 | lab_link_to "${ids[1]}")," \
    "node2->node1 $(lab_status 2 | lab_link_to "${ids[0]}")"
# Over the js relay's circuit the two run DCUtR and hole-punch a direct connection (the js relay
# limits a circuit to 2 min and 128 KiB: training needs the direct one).
deadline=$((SECONDS + 60))
until [[ "$(lab_status 1 | lab_link_to "${ids[1]}")" == direct && "$(lab_status 2 | lab_link_to "${ids[0]}")" == direct ]]; do
    [[ $SECONDS -lt $deadline ]] || e2e_fail "the trainers did not hole-punch a direct connection over the js relay: node1->node2 $(lab_status 1 | lab_link_to "${ids[1]}"), node2->node1 $(lab_status 2 | lab_link_to "${ids[0]}")"
    sleep 0.5
done
e2e_log "the trainers connected directly (DCUtR over the js relay) after $((SECONDS - start)) s"
e2e_wait_merged 240 1 2
hash=$(e2e_same_hash 1 2)
for i in 1 2; do
    updates=$(e2e_field "$i" updates)
    [[ "$updates" -ge 100 ]] || e2e_fail "node$i merged only $updates updates: it trained alone"
done
e2e_log "two trainers behind NAT that knew only a js DHT and relay merged to $hash"

# Part 2: js behind NAT dials a swarmd trainer behind NAT through a swarmd relay.
lab_start boot 0 pub2 --bootstrap-node
lab_wait_up 0 60
boot="/ip4/${lab_addr[pub2]}/tcp/$e2e_base/p2p/$(e2e_field 0 peer_id)"
lab_start node3 3 home3 --bootstrap "$boot" --round-interval-ms 40
lab_wait_up 3 60
deadline=$((SECONDS + 60))
until [[ -n "$(lab_status 3 | relay_of)" ]]; do
    [[ $SECONDS -lt $deadline ]] || e2e_fail "node3 holds no reservation on the swarmd relay"
    sleep 0.5
done
target="$boot/p2p-circuit/p2p/$(e2e_field 3 peer_id)"
js_start jsdialer home4 relay --listen "/ip4/${lab_addr[home4]}/tcp/$((e2e_base - 5))"
first_line "$e2e_dir/jsdialer.out" '"listening"' >/dev/null
echo "{\"cmd\":\"ping\",\"addr\":\"$target\"}" >&"${js_fd[jsdialer]}"
line=$(first_line "$e2e_dir/jsdialer.out" '"pinged"\|"error"')
grep -q '"event":"pinged"' <<<"$line" || e2e_fail "js could not ping node3 through the swarmd relay: $line"
grep -q '"limited":true' <<<"$line" || e2e_fail "js's connection to node3 is not a limited (relayed) one: $line"
e2e_log "js behind NAT pinged node3 behind NAT through the swarmd relay: $line"
e2e_log "PASS"
