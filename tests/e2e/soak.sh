#!/usr/bin/env bash
# Soak: trainers as real processes on loopback (and a bootstrap node); every KILL_EVERY seconds
# one trainer picked at random is killed with SIGKILL and restarted at once, for SECONDS seconds
# of training; then the swarm merges. Passes when:
#   - every node merged, all to one hash;
#   - no update that any node accepted at any time is missing from the merged set. Every node
#     traces what it accepted and published (`--trace-updates`, appended to across restarts);
#     the merged set is what a node's log holds (manifest.json counts it per author). Since
#     every accepted update is logged and every logged one was traced, the union of the traces
#     holds the merged set, and equal counts per author mean equal sets.
#   - every killed node resumed from its log (none started over).
#
#   tests/e2e/soak.sh [SECONDS [TRAINERS [KILL_EVERY]]]   defaults 600 8 30 (ctest: 75 5 15)
source "$(dirname "$0")/lib.sh"
seconds=${1:-600}
trainers=${2:-8}
kill_every=${3:-30}
interval=${SWARMD_E2E_INTERVAL_MS:-50}
# The merge round: the run's length at the round interval (rounds take a little longer on
# shared cores, so the kills stop with the merge still ahead).
rounds=$((seconds * 1000 / interval))
e2e_init "$rounds"
e2e_log "soak: $trainers trainers, $rounds rounds at $interval ms, one SIGKILL and restart every $kill_every s for $seconds s"
e2e_start_boot
start_trainer() {
    e2e_start "node$1" "$1" --bootstrap "$e2e_boot" --round-interval-ms "$interval" \
        "$(e2e_trace "node$1")"
}
for i in $(seq 1 "$trainers"); do start_trainer "$i"; done
for i in $(seq 1 "$trainers"); do e2e_wait_round "$i" 1 120; done

start=$SECONDS
restarts=0
declare -A killed=()
while [[ $((SECONDS - start)) -lt $seconds ]]; do
    sleep "$kill_every"
    round=$(e2e_field 1 round)
    # Stop killing a little before the merge, so that the last restart joins in time.
    [[ -n "$round" && "$round" -lt $((rounds - 2 * kill_every * 1000 / interval)) ]] || break
    victim=$((1 + RANDOM % trainers))
    at=$(e2e_field "$victim" round)
    kill -KILL "${e2e_pid[node$victim]}" 2>/dev/null || e2e_fail "node$victim was not running when its turn came"
    wait "${e2e_pid[node$victim]}" 2>/dev/null || true
    start_trainer "$victim"
    restarts=$((restarts + 1))
    killed[$victim]=$((${killed[$victim]:-0} + 1))
    e2e_log "restart $restarts: node$victim killed at round ${at:-?} and restarted (swarm at round $round)"
done
[[ $restarts -ge $((seconds / kill_every / 2)) ]] ||
    e2e_fail "only $restarts restarts in $seconds s (the swarm reached the merge too early)"

nodes=$(seq 1 "$trainers" | tr '\n' ' ')
e2e_wait_merged $((seconds + 300)) $nodes
hash=$(e2e_same_hash $nodes)

for i in "${!killed[@]}"; do
    resumed=$(grep -c "resumed from the update log" "$e2e_dir/node$i/log" || true)
    [[ $resumed -ge ${killed[$i]} ]] ||
        e2e_fail "node$i was restarted ${killed[$i]} times but resumed from its log $resumed times"
done

report=$(e2e_accepted_in_merge $(for i in $nodes; do echo "node$i"; done))
read -r compared authors <<<"$(echo "$report" | head -1)"
e2e_log "restarts survived: $restarts ($(for i in $(printf '%s\n' "${!killed[@]}" | sort -n); do printf 'node%s ×%s ' "$i" "${killed[$i]}"; done))"
e2e_log "updates compared: $compared accepted by any node (from $authors authors), all $compared in every node's merged set"
e2e_log "all $trainers trainers merged to $hash"
e2e_log "PASS"
