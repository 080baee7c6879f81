#!/usr/bin/env bash
# End to end, ZO mode, with churn: four trainers and a bootstrap node as real processes on
# loopback; a fifth trainer joins late (checkpoint + log suffix over /swarmd/sync/1.0.0); one
# trainer is killed with SIGKILL mid-run and restarted; another is stopped with SIGTERM under
# load and restarted. Checks:
#   - the SIGKILLed node resumes at a round >= the one it reported, with every update it had
#     reported in its log;
#   - SIGTERM exits with status 0 within 5 s, and the node restarts cleanly from that state;
#   - before the churn, every canonical checkpoint announced by two nodes has the same hash
#     (update sets are reconciled before checkpointing); the late node usually joins from one;
#   - after the churn, too: the updates the stopped nodes made just before leaving reach every
#     node once they are back, and the checkpoints that lacked them are cut again;
#   - at the merge every node reports the same hash, and held-out accuracy is well above chance.
source "$(dirname "$0")/lib.sh"
rounds=${SWARMD_E2E_ROUNDS:-600}
interval=${SWARMD_E2E_INTERVAL_MS:-40}
e2e_init "$rounds"
e2e_log "swarm of 4 trainers, $rounds rounds, data in $e2e_dir"
e2e_start_boot
for i in 1 2 3 4; do e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms "$interval"; done

# Late join.
e2e_wait_round 1 $((rounds / 4)) 120
e2e_log "node1 at round $(e2e_field 1 round): node5 joins"
compared=$(e2e_checkpoints_agree 1 2 3 4)
e2e_log "nodes 1-4 announce $compared checkpoints; every round held twice has one hash"
[[ $compared -ge 4 ]] || e2e_fail "only $compared checkpoints announced by round $((rounds / 4))"
e2e_start node5 5 --bootstrap "$e2e_boot" --round-interval-ms "$interval"

# Crash: SIGKILL, then restart.
e2e_wait_round 2 $((rounds * 2 / 5)) 120
before_round=$(e2e_field 2 round)
before_updates=$(e2e_field 2 updates)
kill -KILL "${e2e_pid[node2]}"
wait "${e2e_pid[node2]}" 2>/dev/null || true
e2e_log "node2 killed at round $before_round with $before_updates updates; restarting"
e2e_start node2 2 --bootstrap "$e2e_boot" --round-interval-ms "$interval"
for _ in $(seq 1 100); do grep -q "resumed from the update log" "$e2e_dir/node2/log" && break; sleep 0.1; done
resumed=$(grep "resumed from the update log" "$e2e_dir/node2/log" | tail -1)
[[ -n "$resumed" ]] || e2e_fail "node2 did not resume from its log"
after_updates=$(echo "$resumed" | sed -E 's/.*update log: ([0-9]+) updates, at round ([0-9]+).*/\1/')
after_round=$(echo "$resumed" | sed -E 's/.*update log: ([0-9]+) updates, at round ([0-9]+).*/\2/')
e2e_log "node2 restarted: resumed at round $after_round with $after_updates updates in its log"
[[ "$after_round" -ge "$before_round" ]] || e2e_fail "node2 resumed at round $after_round < $before_round"
[[ "$after_updates" -ge "$before_updates" ]] || e2e_fail "node2 lost updates: $after_updates < $before_updates"

# Leave under load: SIGTERM, exit 0 within 5 s, then restart from that state.
e2e_wait_round 3 $((rounds * 3 / 5)) 120
term_round=$(e2e_field 3 round)
start_ns=$(date +%s%N)
kill -TERM "${e2e_pid[node3]}"
rc=0
wait "${e2e_pid[node3]}" || rc=$?
took_ms=$((($(date +%s%N) - start_ns) / 1000000))
e2e_log "node3 stopped by SIGTERM at round $term_round: exit $rc after $took_ms ms"
[[ $rc -eq 0 ]] || e2e_fail "node3 exited with $rc after SIGTERM"
[[ $took_ms -lt 5000 ]] || e2e_fail "node3 took $took_ms ms to stop (limit 5000)"
e2e_start node3 3 --bootstrap "$e2e_boot" --round-interval-ms "$interval"
for _ in $(seq 1 100); do grep -q "resumed from the update log" "$e2e_dir/node3/log" && break; sleep 0.1; done
restart_round=$(grep "resumed from the update log" "$e2e_dir/node3/log" | tail -1 | sed -E 's/.* at round ([0-9]+).*/\1/')
e2e_log "node3 restarted: resumed at round ${restart_round:-?}"
[[ -n "$restart_round" && "$restart_round" -ge "$term_round" ]] || e2e_fail "node3 restarted at round ${restart_round:-?} < $term_round"
if grep -q "torn tail\|cannot \|failed;" "$e2e_dir/node3/log"; then e2e_fail "node3 did not restart cleanly after SIGTERM"; fi

e2e_wait_merged 150 1 2 3 4 5
hash=$(e2e_same_hash 1 2 3 4 5)
grep -q "caught up: " "$e2e_dir/node5/log" || e2e_fail "node5 did not catch up with the swarm"
# Reported, not required: in about one run in six the late node fetched the whole log rather
# than a checkpoint.
if grep -q "joined from the canonical checkpoint" "$e2e_dir/node5/log"; then
    e2e_log "node5 joined from an agreed checkpoint: $(grep -o 'through round [0-9]* ([0-9]* updates)' "$e2e_dir/node5/log" | head -1)"
    # Every node here is honest: the checkpoint must match the replay of its log once fetched.
    verified=$(e2e_metric 5 'swarmd_join_checkpoints_total{result="verified"}')
    refuted=$(e2e_metric 5 'swarmd_join_checkpoints_total{result="refuted"}')
    [[ "$verified" == 1 && "$refuted" == 0 ]] ||
        e2e_fail "node5's joined checkpoint was not checked against its log (verified $verified, refuted $refuted)"
    e2e_log "node5 checked it against the replay of its log: $(grep -o 'matches the replay of its [0-9]* updates' "$e2e_dir/node5/log" | head -1)"
else
    e2e_log "node5 joined without a checkpoint: it fetched the whole log"
fi
# The stopped nodes made updates nobody got before they left (the SIGKILLed one always may);
# the others cut checkpoints without them meanwhile and must fetch them when the node is back,
# then cut again, so that after the churn every node's checkpoints hold one set.
split=$(e2e_checkpoint_splits 1 2 3 4 5)
if [[ -n "$split" ]]; then
    for i in 1 2 3 4 5; do e2e_checkpoints "$i" | sed "s/^/  node$i /" >&2; done
    e2e_fail "after the churn and the merge, checkpoint hashes differ at rounds: $split"
fi
common=$(for i in 1 2 3 4 5; do e2e_checkpoints "$i" | awk 'NF == 2 { print $1 }' | sort -u; done |
    sort | uniq -c | awk '$1 == 5 { print $2 }' | sort -n | tr '\n' ' ')
if [[ -z "$common" ]]; then
    for i in 1 2 3 4 5; do e2e_checkpoints "$i" | sed "s/^/  node$i /" >&2; done
    e2e_fail "no checkpoint round is announced by all five nodes after the merge"
fi
e2e_log "after the churn and the merge, nodes 1-5 announce one hash each for rounds ${common% }"
accuracy=$(e2e_field 1 accuracy)
e2e_log "all 5 nodes merged to $hash; held-out accuracy $accuracy"
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.5) }' || e2e_fail "accuracy $accuracy is not well above chance (0.1)"
e2e_log "PASS"
