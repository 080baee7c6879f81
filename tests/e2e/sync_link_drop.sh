#!/usr/bin/env bash
# A link that drops in the middle of a sync (tests/e2e/natlab.sh): three trainers on public lab
# hosts train; a fourth node joins late over a slow link (tc tbf), adopts a checkpoint several
# trainers agree on, and starts fetching the log behind it to check that checkpoint. While that
# fetch is under way its cable is pulled (its port on the lab's bridge goes down, nobody is
# told) for longer than the dead-peer timeout, then plugged back in. The node must reconnect,
# fetch the rest, verify the checkpoint against the replay of its log, and merge with the
# others to one hash with every update.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlab.sh"
lab_skip_unless_available
rounds=${SWARMD_E2E_ROUNDS:-1200}
interval=${SWARMD_E2E_INTERVAL_MS:-50}
rate=${SWARMD_E2E_RATE:-1mbit}
down=${SWARMD_E2E_DOWN_S:-20}
e2e_init "$rounds"
lab_init
hosts=(pub1 pub2 pub3 pub4)
for h in "${hosts[@]}"; do lab_public "$h"; done

lab_start_trainers pub1 pub2 pub3 -- --round-interval-ms "$interval"

e2e_wait_round 1 $((rounds / 2)) 300
lab_shape pub4 "$rate"
joined_at=$(e2e_field 1 round)
e2e_log "node4 joins at round $joined_at over a $rate link"
lab_start node4 4 pub4 --bootstrap "$lab_first" --round-interval-ms "$interval" --debug merge
deadline=$((SECONDS + 120))
until grep -qs "to check the joined checkpoint" "$e2e_dir/node4/log"; do
    grep -qs "joined the swarm" "$e2e_dir/node4/log" && ! grep -q "joined from the canonical checkpoint" "$e2e_dir/node4/log" &&
        e2e_fail "node4 joined without a checkpoint: nothing to check (its log: $(grep -c . "$e2e_dir/node4/log") lines)"
    [[ $SECONDS -lt $deadline ]] || e2e_fail "node4 did not start checking a joined checkpoint in 120 s"
    sleep 0.1
done
sleep 1
grep -q "matches the replay" "$e2e_dir/node4/log" &&
    e2e_fail "node4's check was over within a second: the link is too fast to cut it mid-sync"
lab_partition pub4
cut_round=$(e2e_field 1 round)
e2e_log "node4's cable pulled at round $cut_round, 1 s into its fetch of the checkpoint's log"
sleep "$down"
grep -q "matches the replay" "$e2e_dir/node4/log" &&
    e2e_fail "node4 verified its checkpoint while its cable was out"
lab_heal pub4
e2e_log "plugged back in after $down s (swarm at round $(e2e_field 1 round))"

deadline=$((SECONDS + 120))
until grep -q "matches the replay" "$e2e_dir/node4/log"; do
    [[ $(e2e_field 1 round) -lt $rounds ]] || e2e_fail "node4 had not verified its checkpoint when the merge came"
    [[ $SECONDS -lt $deadline ]] || e2e_fail "node4 did not verify its checkpoint within 120 s of the heal"
    sleep 0.5
done
verify_round=$(e2e_field 1 round)
e2e_log "node4: $(grep -o 'the checkpoint through round .* matches the replay of its [0-9]* updates' "$e2e_dir/node4/log" | head -1) (swarm at round $verify_round, merge at $rounds)"
verified=$(e2e_metric 4 'swarmd_join_checkpoints_total{result="verified"}')
refuted=$(e2e_metric 4 'swarmd_join_checkpoints_total{result="refuted"}')
[[ "$verified" == 1 && "$refuted" == 0 ]] || e2e_fail "node4's checkpoint: verified $verified, refuted $refuted"

e2e_wait_merged 300 1 2 3 4
hash=$(e2e_same_hash 1 2 3 4)
counts=$(for i in 1 2 3 4; do e2e_field "$i" updates; done | sort -u)
[[ $(echo "$counts" | wc -l) -eq 1 ]] || e2e_fail "the nodes merged different numbers of updates: $(echo $counts)"
e2e_log "all four merged $counts updates to $hash"
e2e_log "PASS"
