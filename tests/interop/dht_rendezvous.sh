#!/usr/bin/env bash
# Finding a swarm through a DHT that is not ours: three js-libp2p Kademlia servers (@libp2p/kad-dht
# on /ipfs/kad/1.0.0, standing in for the public DHT) and three `swarmd run` trainers, each given
# only ONE of the js nodes as its bootstrap peer (--no-default-bootstrap --bootstrap JS_i) and no
# swarmd bootstrap node. The js nodes do not speak the swarmd hello and know nothing of the swarm,
# so the trainers can meet only by announcing the swarm's rendezvous key on the DHT and finding
# each other as its providers. Passes when all three train together and merge to one model.
#   dht_rendezvous.sh NODE JS_PEER_DIR   (SWARMD_BUILD_DIR names the build tree)
set -euo pipefail
node=$1 js_dir=$2
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init 60
js_pids=()
stop_js() { for pid in "${js_pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap 'stop_js; e2e_cleanup' EXIT

first_line() {  # FILE: its first line, waiting up to 30 s
    for _ in $(seq 300); do
        [[ -s $1 ]] && { head -n1 "$1"; return; }
        sleep 0.1
    done
    e2e_fail "no output in $1"
}

js_addr=()
for i in 0 1 2; do
    mkfifo "$e2e_dir/js$i.in"
    (cd "$js_dir" && exec "$node" --import ./polyfill.mjs peer.mjs kad <"$e2e_dir/js$i.in" \
        >"$e2e_dir/js$i.out" 2>"$e2e_dir/js$i.err") &
    js_pids+=($!)
    eval "exec {fd}>\"$e2e_dir/js$i.in\""  # holds the js node's stdin open
    line=$(first_line "$e2e_dir/js$i.out")
    addr=$(grep -o '"/ip4/127.0.0.1/tcp/[^"]*"' <<<"$line" | head -n1 | tr -d '"')
    [[ -n $addr ]] || e2e_fail "js DHT node $i printed no address: $line"
    js_addr+=("$addr")
    if [[ $i -gt 0 ]]; then  # one js DHT: each later node dials the first
        echo "{\"cmd\":\"dial\",\"addr\":\"${js_addr[0]}\"}" >&"$fd"
    fi
done
e2e_log "js DHT: ${js_addr[*]}"

for i in 1 2 3; do
    e2e_start "node$i" "$i" --bootstrap "${js_addr[$((i - 1))]}" --round-interval-ms 40
done
e2e_wait_merged 240 1 2 3
hash=$(e2e_same_hash 1 2 3)
total=0
for i in 1 2 3; do
    grep -q "a libp2p peer outside the swarm; searching the DHT" "$e2e_dir/node$i/log" ||
        e2e_fail "node$i did not take its js bootstrap peer as a DHT peer"
    found=$(e2e_metric "$i" swarmd_rendezvous_providers_total)
    total=$((total + found))
    e2e_log "node$i: $found providers of the swarm key seen, $(e2e_field "$i" updates) updates"
done
# The first node to announce may find nobody yet (the others then find it), so count them all:
# at least the two later nodes found an earlier one.
[[ $total -ge 2 ]] || e2e_fail "only $total providers of the swarm key were found in all"
# Each node merged the others' updates too (one author trains one update per round: alone, a
# node would hold 60).
for i in 1 2 3; do
    updates=$(e2e_field "$i" updates)
    [[ "$updates" -ge 150 ]] || e2e_fail "node$i merged only $updates updates: it trained alone"
done
e2e_log "3 trainers that knew only js DHT nodes found each other and merged to $hash"
