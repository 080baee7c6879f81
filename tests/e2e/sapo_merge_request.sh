#!/usr/bin/env bash
# End to end, SAPO: `swarmd merge` on the operator's node of a long swarm (3000 rounds) publishes
# a merge order signed by the operator named in the spec (a fresh identity's unsigned request and
# a trainer that is no operator move nothing); every SAPO node lowers its merge round to the requested one and each
# architecture group merges there, to one model per group.
source "$(dirname "$0")/lib.sh"
e2e_init 3000 "$e2e_root/docs/examples/sapo-testnet.toml"
e2e_operator node2  # the spec names node2's identity as the swarm's merge operator
e2e_start_boot
policies=(tiny small tiny)
for i in 1 2 3; do
    e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms 200 --policy "${policies[$((i - 1))]}"
done
for i in 1 2 3; do e2e_wait_round "$i" 5 240; done
# A fresh identity's unsigned merge request, through node1 alone, moves nothing.
e2e_hostile_pub 1 '{"type":"merge_request","merge_round":8}'
[[ $(e2e_metric 1 'swarmd_status_refused_total{reason="bad_field"}') -ge 1 ]] || e2e_fail "node1 did not refuse the unsigned merge request"
if e2e_merge 3 >/dev/null 2>&1; then e2e_fail "node3, no operator, started a merge"; fi
for i in 1 2 3; do
    [[ "$(e2e_field "$i" merge_round)" == 3000 ]] || e2e_fail "node$i's merge round moved without an operator's order"
done
answer=$(e2e_merge 2) || e2e_fail "swarmd merge failed: $answer"
e2e_log "$answer"
requested=$(echo "$answer" | awk '{print $NF}')
[[ "$requested" =~ ^[0-9]+$ && "$requested" -lt 3000 ]] || e2e_fail "unexpected answer: $answer"
# A request for a later round lowers nothing.
e2e_merge 1 --round 2999 >/dev/null 2>&1 && e2e_fail "a later merge round was accepted"
deadline=$((SECONDS + 30))
for i in 1 2 3; do
    until [[ "$(e2e_field "$i" merge_round)" == "$requested" ]]; do
        [[ $SECONDS -lt $deadline ]] || e2e_fail "node$i's merge round is $(e2e_field "$i" merge_round), not $requested"
        sleep 0.5
    done
done
e2e_log "every node merges at round $requested"
e2e_wait_merged 240 1 2 3
for i in 1 2 3; do
    grep -q "\"merge_round\": $requested" "$e2e_dir/node$i/final/manifest.json" || e2e_fail "node$i's manifest does not name round $requested"
done
tiny=$(e2e_same_hash 1 3)
grep -c '"peer_id"' "$e2e_dir/node1/final/manifest.json" | grep -qx 2 || e2e_fail "the tiny group did not merge both its nodes"
e2e_log "all 3 nodes merged at round $requested; the tiny group to $tiny"
# The bootstrap node trains nothing, so it refuses to start a merge.
if e2e_merge 0 >/dev/null 2>&1; then e2e_fail "the bootstrap node accepted a merge request"; fi
e2e_log "PASS"
