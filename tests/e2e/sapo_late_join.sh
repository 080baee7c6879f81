#!/usr/bin/env bash
# End to end, SAPO: a node that joins late fetches its architecture's base policy from the peers
# that hold it (slices from two of them, verified against the hash both announce) instead of
# redoing the supervised warm-up, starts in the swarm's round window rather than at round 1,
# trains on other nodes' rollouts and merges within its architecture group.
source "$(dirname "$0")/lib.sh"
e2e_init 45 "$e2e_root/docs/examples/sapo-testnet.toml"
e2e_start_boot
policies=(tiny small tiny small)
for i in 1 2 3 4; do
    e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms 300 --policy "${policies[$((i - 1))]}"
done
for i in 1 2 3 4; do e2e_wait_round "$i" 10 240; done
for i in 1 3; do grep -q "making base policy tiny here" "$e2e_dir/node$i/log" || e2e_fail "node$i did not make its base policy"; done
e2e_log "the swarm is at round $(e2e_field 1 round); node5 (tiny) joins"
e2e_start node5 5 --bootstrap "$e2e_boot" --round-interval-ms 300 --policy tiny
deadline=$((SECONDS + 90))
while [[ -z "$(e2e_field 5 base_source)" ]]; do
    [[ $SECONDS -lt $deadline ]] || e2e_fail "node5 has no base policy after 90 s"
    sleep 0.5
done
source=$(e2e_field 5 base_source)
[[ "$source" == fetched ]] || e2e_fail "node5's base policy was $source, not fetched"
line=$(grep "base policy tiny fetched from" "$e2e_dir/node5/log") || e2e_fail "no fetch line in node5's log"
e2e_log "node5: ${line#*] }"
[[ "$(e2e_field 5 base_holders)" -ge 2 ]] || e2e_fail "node5 fetched from fewer than 2 peers"
grep -q "supervised warm-up" "$e2e_dir/node5/log" && e2e_fail "node5 ran the warm-up although it fetched"
# Same base as the nodes that made it.
[[ "$(e2e_field 5 base_hash)" == "$(e2e_field 1 base_hash)" ]] || e2e_fail "node5's base hash differs from node1's"
e2e_wait_merged 300 1 2 3 4 5
start=$(e2e_field 5 start_round)
[[ "$start" -gt 5 ]] || e2e_fail "node5 started at round $start, not in the swarm's window"
external=$(e2e_field 5 external_used)
[[ "$external" -gt 0 ]] || e2e_fail "node5 trained on no external rollouts"
tiny=$(e2e_same_hash 1 3 5)
small=$(e2e_same_hash 2 4)
[[ "$tiny" != "$small" ]] || e2e_fail "the two architecture groups merged to one hash"
grep -c '"peer_id"' "$e2e_dir/node5/final/manifest.json" | grep -qx 3 || e2e_fail "node5's merge does not have the 3 tiny nodes"
e2e_log "node5 started at round $start, used $external external groups; tiny group merged to $tiny, small group to $small"
e2e_log "PASS"
