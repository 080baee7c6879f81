#!/usr/bin/env bash
# A partition that heals (tests/e2e/natlab.sh): six trainers on six public lab hosts, split into
# two halves of three for the middle third of the run (each half reaches only itself; TCP across
# the cut goes silent, so the nodes must notice by themselves that their cross connections are dead).
# Each half trains on alone; after the cut is lifted the halves must find each other again,
# exchange what they missed, and merge to one hash with every update of both sides: six
# authors, one update per round each.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlab.sh"
lab_skip_unless_available
rounds=${SWARMD_E2E_ROUNDS:-1200}
interval=${SWARMD_E2E_INTERVAL_MS:-50}
e2e_init "$rounds"
lab_init
hosts=(pub1 pub2 pub3 pub4 pub5 pub6)
for h in "${hosts[@]}"; do lab_public "$h"; done
command -v iptables >/dev/null || e2e_fail "needs iptables"

lab_start_trainers "${hosts[@]}" -- --round-interval-ms "$interval"

e2e_wait_round 1 $((rounds / 3)) 120
lab_split "pub1 pub2 pub3" "pub4 pub5 pub6"
cut_at=$(e2e_field 1 round)
e2e_log "split at round $cut_at: {1,2,3} | {4,5,6}"
# The cut holds: after a moment no node keeps a connection across it.
ids=()
for i in 1 2 3 4 5 6; do ids+=("$(e2e_field "$i" peer_id)"); done
cross() {  # INDEX: its connections to the other half
    local j other=(4 5 6)
    [[ $1 -le 3 ]] || other=(1 2 3)
    lab_status "$1" | python3 -c 'import json, sys
links = json.loads(sys.stdin.read() or "{}").get("links", [])
print(sum(1 for l in links if l["peer"] in sys.argv[1:]))' "${ids[other[0] - 1]}" "${ids[other[1] - 1]}" "${ids[other[2] - 1]}"
}
# Nothing comes through, nobody is told: the nodes must see for themselves that the peers
# across the cut are gone (the host's dead-peer timeout, 15 s), before the cut is lifted.
cut_start=$SECONDS
while :; do
    left=0
    for i in 1 2 3 4 5 6; do left=$((left + $(cross "$i"))); done
    [[ $left -eq 0 ]] && break
    [[ "$(e2e_field 1 round)" -lt $((2 * rounds / 3)) ]] ||
        e2e_fail "$left connections across the cut were still open when it was due to heal"
    sleep 0.5
done
e2e_log "every connection across the cut was given up $((SECONDS - cut_start)) s after the split"
e2e_wait_round 1 $((2 * rounds / 3)) 120
lab_unsplit "${hosts[@]}"
healed_at=$(e2e_field 1 round)
e2e_log "healed at round $healed_at"

e2e_wait_merged 240 1 2 3 4 5 6
hash=$(e2e_same_hash 1 2 3 4 5 6)
expected=$((6 * rounds))
for i in 1 2 3 4 5 6; do
    updates=$(e2e_field "$i" updates)
    e2e_log "node$i: $updates updates merged"
    [[ "$updates" -eq "$expected" ]] || e2e_fail "node$i merged $updates updates, not the $expected of both halves"
done
e2e_log "the halves split from round $cut_at to $healed_at merged to $hash with all $expected updates"
e2e_log "PASS"
