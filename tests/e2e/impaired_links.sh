#!/usr/bin/env bash
# A slow, lossy internet (tests/e2e/natlab.sh lab_impair, tests/e2e/lab_switch.cpp): four trainers
# on four public lab hosts whose every packet is delayed 200 ms ± 50 ms one way (uniform, so
# packets overtake each other, as with netem's jitter) and lost with probability 2%. The lab is
# checked first (a TCP handshake takes about one impaired round trip). The trainers must join,
# train, and merge to one hash, with every update that any of them accepted in every node's
# merged set; the switch's counters show the loss and delay the swarm went through.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlab.sh"
lab_skip_unless_available
rounds=${SWARMD_E2E_ROUNDS:-250}
interval=${SWARMD_E2E_INTERVAL_MS:-50}
delay=${SWARMD_E2E_DELAY_MS:-200}
jitter=${SWARMD_E2E_JITTER_MS:-50}
loss=${SWARMD_E2E_LOSS:-0.02}
e2e_init "$rounds"
lab_init
hosts=(pub1 pub2 pub3 pub4)
for h in "${hosts[@]}"; do lab_public "$h"; done
lab_impair --delay-ms "$delay" --jitter-ms "$jitter" --loss "$loss" --reorder --seed "$RANDOM"

# The lab: a TCP handshake is one round trip, 2 × (delay ± jitter) here.
probe=$((e2e_base - 1))
lab_listen pub2 "$probe"
rtt=$(lab_exec pub1 python3 -c 'import socket, sys, time
best = None
for _ in range(3):
    start = time.monotonic()
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10).close()
    took = (time.monotonic() - start) * 1000
    best = took if best is None else min(best, took)
print(int(best))' "${lab_addr[pub2]}" "$probe") || e2e_fail "lab: pub1 cannot reach pub2 through the switch"
[[ $rtt -ge $((2 * (delay - jitter) - 20)) ]] ||
    e2e_fail "lab: a handshake took $rtt ms, less than the impaired round trip of $((2 * (delay - jitter))) ms at least"
e2e_log "lab: $delay ± $jitter ms each way, loss $loss, reordering; fastest of 3 handshakes: $rtt ms"

start=$SECONDS
lab_start_trainers "${hosts[@]}" -- --round-interval-ms "$interval"

e2e_wait_merged 600 1 2 3 4
took=$((SECONDS - start))
hash=$(e2e_same_hash 1 2 3 4)
report=$(e2e_accepted_in_merge node1 node2 node3 node4)
read -r compared authors <<<"$report"
e2e_log "every one of the $compared updates by $authors authors that any node accepted is in every node's merged set"
e2e_log "$(lab_impair_report)"
e2e_log "four trainers over links of $delay ± $jitter ms and $loss loss merged $rounds rounds to $hash in $took s ($((rounds / took)) rounds/s)"
e2e_log "PASS"
