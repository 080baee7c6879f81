#!/usr/bin/env bash
# End to end: `swarmd merge` on the swarm's merge operator makes a running swarm merge early (and
# the dashboard is served). Three trainers of a long swarm (the default 3000 rounds); first a fresh
# identity tries to move the merge with hostile status messages and a trainer that is no operator
# tries `swarmd merge`: nothing moves. Then the operator's node is asked to merge; every node must
# merge at the round its order named, to the same model, long before the spec's merge round.
source "$(dirname "$0")/lib.sh"
e2e_init 3000
e2e_operator node1  # the spec names node1's identity as the swarm's merge operator
e2e_start_boot
for i in 1 2 3; do e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms 30; done
e2e_wait_round 1 40 120
# The dashboard: one self-contained page that polls /api/status.
if command -v curl >/dev/null; then
    page=$(curl -sf --max-time 3 "http://$(e2e_http 1)/") || e2e_fail "no dashboard at /"
    [[ "$page" == "<!doctype html>"* && "$page" == *'fetch("/api/status"'* ]] || e2e_fail "the dashboard page is not the expected one"
    [[ "$page" != *"http://"* && "$page" != *"https://"* ]] || e2e_fail "the dashboard loads external resources"
fi
# Without authority, nothing moves the merge: a fresh identity publishes, through node2 alone,
# the old unsigned merge request, a heartbeat naming round 45 as its own merge round, and one
# passing on a merge order whose signature does not verify. node2 refuses the first and the third
# (counted in /metrics) and forwards neither; the second is a valid heartbeat, which moves nothing.
e2e_hostile_pub 2 '{"type":"merge_request","merge_round":45}'
e2e_hostile_pub 2 '{"type":"status","role":"trainer","round":2990,"merge_round":45,"checkpoints":[]}'
forged_sig=$(printf '0%.0s' $(seq 1 128))
e2e_hostile_pub 2 "{\"type\":\"status\",\"role\":\"trainer\",\"round\":50,\"merge_order\":{\"merge_round\":45,\"operator\":\"$(e2e_field 1 peer_id)\",\"signature\":\"$forged_sig\"}}"
# A trainer that is not an operator cannot start one either.
if out=$(e2e_merge 3 2>&1); then e2e_fail "a node that is not an operator started a merge: $out"; fi
e2e_log "refused as expected: $out"
refused=0
for reason in bad_field bad_signature; do
    n=$(e2e_metric 2 "swarmd_status_refused_total{reason=\"$reason\"}")
    [[ "$n" -ge 1 ]] || e2e_fail "node2 did not count a refused status message ($reason: $n)"
    refused=$((refused + n))
done
for i in 1 3; do
    n=$(e2e_metric "$i" "swarmd_status_refused_total{reason=\"bad_field\"}")
    [[ "$n" == 0 ]] || e2e_fail "node$i received a refused message: node2 forwarded it"
done
for i in 1 2 3; do
    m=$(e2e_field "$i" merge_round)
    [[ "$m" == 3000 ]] || e2e_fail "node$i now merges at round $m after the hostile messages"
done
e2e_log "node2 refused $refused hostile status messages and forwarded none; every node still merges at round 3000"
answer=$(e2e_merge 1) || e2e_fail "swarmd merge failed: $answer"
e2e_log "$answer"
requested=$(echo "$answer" | awk '{print $NF}')
[[ "$requested" =~ ^[0-9]+$ && "$requested" -lt 3000 ]] || e2e_fail "unexpected answer: $answer"
# A second request for a later round changes nothing; one for an earlier round than any node's
# would be refused by none, so only check the later one.
e2e_merge 2 --round 2999 >/dev/null 2>&1 || true
e2e_wait_merged 90 1 2 3
for i in 1 2 3; do
    m=$(e2e_field "$i" merge_round)
    [[ "$m" == "$requested" ]] || e2e_fail "node$i merged at round $m, not the requested $requested"
    grep -q "\"merge_round\": $requested" "$e2e_dir/node$i/final/manifest.json" || e2e_fail "node$i's manifest does not name round $requested"
done
hash=$(e2e_same_hash 1 2 3)
e2e_log "all 3 nodes merged at round $requested to $hash"
# The bootstrap node trains nothing, so it refuses to start a merge.
if e2e_merge 0 >/dev/null 2>&1; then e2e_fail "the bootstrap node accepted a merge request"; fi
e2e_log "PASS"
