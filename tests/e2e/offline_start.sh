#!/usr/bin/env bash
# `swarmd run` with the built-in bootstrap list (the public libp2p DHT peers) on a machine with no
# network: inside a fresh network namespace that has only loopback, so the test cannot reach any
# address outside it. Within seconds the node must say clearly that it is offline, keep serving
# its status and listening, and not spin while it retries; `swarmd doctor` there says none of
# the bootstrap peers is reachable and exits 1.
set -euo pipefail
build=${SWARMD_BUILD_DIR:?set SWARMD_BUILD_DIR to the build tree}
swarmd="$build/node/swarmd"
if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
    echo "SKIP: needs root and ip(8) to make a network namespace"
    exit 0
fi
ns="swarmd-offline-$$"
dir=$(mktemp -d)
pid=""
cleanup() {
    [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "--- node log"; cut -c1-300 "$dir/log" | tail -30
    exit 1
}
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

# No --no-default-bootstrap: this test is about the built-in list.
ip netns exec "$ns" "$swarmd" --data-dir "$dir" --listen /ip4/127.0.0.1/tcp/4001 \
    --http 127.0.0.1:7070 run > "$dir/log" 2>&1 &
pid=$!
start=$SECONDS
until grep -q "none of the .* bootstrap peers can be reached" "$dir/log"; do
    kill -0 "$pid" 2>/dev/null || fail "swarmd exited"
    (( SECONDS - start < 15 )) || fail "no line saying the bootstrap peers cannot be reached within 15 s"
    sleep 0.2
done
echo "said so after $((SECONDS - start)) s: $(grep -o "none of the .*" "$dir/log" | head -1 | cut -c1-200)"
grep -q "looks offline" "$dir/log" || fail "the line does not say the machine looks offline"

# It keeps listening and serving its status.
ip netns exec "$ns" curl -sf --max-time 3 http://127.0.0.1:7070/api/status > "$dir/status.json" ||
    fail "/api/status does not answer"
grep -q '"peer_id"' "$dir/status.json" || fail "/api/status has no peer id"
ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/4001' || fail "the libp2p port does not accept"

# No spin: CPU time over 5 s of retrying stays small (clock ticks from /proc/PID/stat).
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(cpu)
sleep 5
after=$(cpu)
used_ms=$(( (after - before) * 1000 / hz ))
echo "CPU over 5 s while offline: ${used_ms} ms"
(( used_ms < 500 )) || fail "swarmd used ${used_ms} ms of CPU in 5 s while offline"
kill -0 "$pid" 2>/dev/null || fail "swarmd exited"
lines=$(wc -l < "$dir/log")
echo "log lines after $((SECONDS - start)) s: $lines"
(( lines < 40 )) || fail "$lines log lines: the retries are logged one by one"

# swarmd doctor on the same machine: every entry gets its diagnosis, the summary says none is
# reachable, and it exits 1.
set +e
ip netns exec "$ns" "$swarmd" --data-dir "$dir" --listen /ip4/127.0.0.1/tcp/4001 --http off \
    doctor > "$dir/doctor" 2>&1
rc=$?
set -e
echo "doctor (exit $rc): $(tr '\n' '|' < "$dir/doctor" | cut -c1-400)"
[[ $rc == 1 ]] || fail "doctor exited $rc with no route anywhere, not 1"
grep -q "^0 of [0-9]* bootstrap peers reachable" "$dir/doctor" || fail "doctor's summary does not say none is reachable"
echo "PASS"
