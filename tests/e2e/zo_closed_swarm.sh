#!/usr/bin/env bash
# End to end: a closed swarm. The spec names node1 and node2 as its trainers (spec key trainers);
# node3 runs the same spec with an identity of its own. Its updates are rejected by the trainers'
# validators and never forwarded: the trainers count them as not_a_trainer, merge to one model,
# and the merge names node1 and node2 alone.
source "$(dirname "$0")/lib.sh"
e2e_init 60
ids=()
for i in 1 2; do ids+=("\"$("$swarmd" keygen --out "$e2e_dir/node$i/identity.key")\""); done
sed -i -E "s/^(merge_round = .*)$/\1\ntrainers = [${ids[0]}, ${ids[1]}]/" "$e2e_dir/spec.toml"
grep -q "^trainers = " "$e2e_dir/spec.toml" || e2e_fail "could not name the trainers"
e2e_start_boot
for i in 1 2 3; do e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms 30; done
grep -q "not among the spec's trainers" "$e2e_dir/node3/log" 2>/dev/null ||
    { sleep 2; grep -q "not among the spec's trainers" "$e2e_dir/node3/log" || e2e_fail "node3 did not warn that it is no trainer"; }
e2e_wait_merged 240 1 2
refused=0
for i in 1 2; do
    n=$(e2e_metric "$i" 'swarmd_updates_refused_total{reason="not_a_trainer"}')
    refused=$((refused + ${n%.*}))
done
[[ $refused -ge 1 ]] || e2e_fail "no trainer refused node3's updates"
hash=$(e2e_same_hash 1 2)
for i in 1 2; do
    people=$(grep -c '"peer_id"' "$e2e_dir/node$i/final/manifest.json")
    [[ $people -eq 2 ]] || e2e_fail "node$i's merge has $people participants, not the 2 trainers"
    ! grep -q "$(e2e_field 3 peer_id)" "$e2e_dir/node$i/final/manifest.json" || e2e_fail "node$i merged node3's updates"
done
e2e_log "closed swarm: $refused updates of node3 refused; node1 and node2 merged to $hash"
