#!/usr/bin/env bash
# One trainer on a link too slow for the swarm's pace (tests/e2e/natlab.sh, tc tbf): the other
# three wait for it at the pacing floor until it has held them for over half a minute's worth
# (the pacing budget, docs/operations.md "Pacing"); then they stop waiting for it and go at
# their own pace. Passes when node1 says it stopped waiting for the slow node, trains faster in
# the 20 s after that than in the 20 s before, and all four still merge to one hash with every
# update any of them accepted (the slow node's late updates come in through reconciles).
# Not in ctest (it takes 5-8 minutes): run it by hand, as root.
# Status: at 128 kbit/s node1 went from 3.5 to 16.1 rounds/s once it stopped waiting (the
# merge then took several rounds of re-merging; the check for it came after that run). At 192
# kbit/s the three fast nodes all let go of node4, but node1 stalled 12 s at one round soon
# after (1.7 -> 0.4 rounds/s): something other than the pacing floor still holds it. The
# cause is not known yet, and the script fails on it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlab.sh"
lab_skip_unless_available
rounds=${SWARMD_E2E_ROUNDS:-2000}
interval=${SWARMD_E2E_INTERVAL_MS:-50}
rate=${SWARMD_E2E_RATE:-192kbit}
e2e_init "$rounds"
lab_init
hosts=(pub1 pub2 pub3 pub4)
for h in "${hosts[@]}"; do lab_public "$h"; done
lab_shape pub4 "$rate"

lab_start_trainers "${hosts[@]}" -- --round-interval-ms "$interval"
slow=$(e2e_field 4 peer_id)
e2e_log "node4 ($slow) trains over a $rate link"

# node1's round once a second, to measure its pace around the release. Pacing spreads: node1
# also waits for node2 and node3 while they wait for node4, so the pace after is measured once
# all three have stopped waiting for it.
released_by() {  # how many of nodes 1-3 stopped waiting for the slow node
    local i n=0
    for i in 1 2 3; do grep -q "stopped waiting for peer=$slow" "$e2e_dir/node$i/log" && n=$((n + 1)); done
    echo "$n"
}
: >"$e2e_dir/pace"
deadline=$((SECONDS + 300))
first_release=""
until [[ $(released_by) -eq 3 ]]; do
    echo "$SECONDS $(e2e_field 1 round)" >>"$e2e_dir/pace"
    [[ -n "$first_release" || $(released_by) -eq 0 ]] || first_release=$SECONDS
    [[ $SECONDS -lt $deadline ]] || e2e_fail "only $(released_by) of nodes 1-3 stopped waiting for the slow node in 300 s"
    [[ "$(e2e_field 1 merge_state)" != merged ]] || e2e_fail "node1 merged before the others stopped waiting for the slow node"
    sleep 1
done
[[ -n "$first_release" ]] || first_release=$SECONDS
released=$SECONDS
for _ in $(seq 1 20); do
    echo "$SECONDS $(e2e_field 1 round)" >>"$e2e_dir/pace"
    sleep 1
done
read -r before after <<<"$(awk -v t0="$first_release" -v t1="$released" '
    { at[NR] = $1; round[NR] = $2 }
    END {
        for (i = 1; i <= NR; ++i) {
            if (at[i] >= t0 - 20 && b0 == "") b0 = i
            if (at[i] <= t0) b1 = i
            if (at[i] >= t1 && a0 == "") a0 = i
            a1 = i
        }
        printf "%.1f %.1f\n", (round[b1] - round[b0]) / (at[b1] - at[b0] + 1e-9),
                              (round[a1] - round[a0]) / (at[a1] - at[a0] + 1e-9)
    }' "$e2e_dir/pace")"
e2e_log "nodes 1-3 stopped waiting for node4 within $((released - first_release)) s (node1 at round $(e2e_field 1 round)): node1 trained $before rounds/s in the 20 s before, $after after"
awk -v b="$before" -v a="$after" 'BEGIN { exit !(a > 2 * b) }' ||
    e2e_fail "node1 did not speed up after the others stopped waiting ($before -> $after rounds/s)"
released_count=$(e2e_metric 1 swarmd_pacing_released_total)
[[ "$released_count" -ge 1 ]] || e2e_fail "swarmd_pacing_released_total is $released_count on node1"

# Over so slow a link the merge's syncs with node4 can outlast the merge's wait (60 s after
# the grace): a node then merges without them and again when they arrive. Wait for the four to
# agree, not only for each to have merged once.
e2e_wait_merged 400 1 2 3 4
deadline=$((SECONDS + 400))
until [[ $(for i in 1 2 3 4; do echo "$(e2e_field "$i" merge_state) $(e2e_field "$i" merged_hash)"; done | sort -u | wc -l) -eq 1 &&
    "$(e2e_field 1 merge_state)" == merged ]]; do
    [[ $SECONDS -lt $deadline ]] || e2e_fail "the four nodes did not come to one merged hash in 400 s"
    sleep 2
done
hash=$(e2e_same_hash 1 2 3 4)
remerges=$(cat "$e2e_dir"/node{1,2,3,4}/log | grep -c "merged .* updates from" || true)
e2e_log "one merged hash after $remerges merges in all (4 would be one each)"
report=$(e2e_accepted_in_merge node1 node2 node3 node4)
read -r compared authors <<<"$report"
e2e_log "all four merged to $hash, with all $compared updates by $authors authors that any node accepted"
e2e_log "PASS"
