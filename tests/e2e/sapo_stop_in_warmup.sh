#!/usr/bin/env bash
# End to end, SAPO: SIGTERM exits within 5 s at any point of the start, here while the node
# waits for peers to announce a base policy and in the middle of a long supervised warm-up; an
# interrupted warm-up caches nothing.
source "$(dirname "$0")/lib.sh"
e2e_init 30 "$e2e_root/docs/examples/sapo-testnet.toml"
sed -i -E "s/^warmup_steps = .*/warmup_steps = 1000000/" "$e2e_dir/spec.toml"

# e2e_term NAME: SIGTERM, then fail unless it exits (status 0) within 5 s.
e2e_term() {
    local pid=${e2e_pid[$1]} started elapsed rc=0
    started=$(date +%s%N)
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && e2e_fail "$1 still runs 6 s after SIGTERM"
    wait "$pid" || rc=$?
    elapsed=$((($(date +%s%N) - started) / 1000000))
    unset "e2e_pid[$1]"
    [[ $elapsed -le 5000 ]] || e2e_fail "$1 took $elapsed ms to exit after SIGTERM"
    [[ $rc -eq 0 ]] || e2e_fail "$1 exited with status $rc"
    e2e_log "$1 exited $elapsed ms after SIGTERM"
}

# e2e_wait_log NAME TEXT TIMEOUT
e2e_wait_log() {
    local deadline=$((SECONDS + $3))
    until grep -q "$2" "$e2e_dir/$1/log" 2>/dev/null; do
        [[ $SECONDS -lt $deadline ]] || e2e_fail "no \"$2\" in $1's log after $3 s"
        sleep 0.2
    done
}

# Alone, with no base policy: it waits for peers to announce one.
e2e_start node1 1 --policy tiny
e2e_wait_log node1 "status on http" 60
sleep 1
e2e_term node1
# Again; after the wait it makes the base policy itself, and is stopped mid-warm-up.
e2e_start node1 1 --policy tiny
e2e_wait_log node1 "supervised warm-up of 1000000 steps" 60
sleep 2
e2e_term node1
grep -q "warm-up interrupted" "$e2e_dir/node1/log" || e2e_fail "the log does not say the warm-up was interrupted"
[[ ! -e "$e2e_dir/node1/sapo/base-tiny.pt" ]] || e2e_fail "an interrupted warm-up was cached as the base policy"
e2e_log "PASS"
