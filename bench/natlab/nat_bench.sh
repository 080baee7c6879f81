#!/usr/bin/env bash
# Joining from behind NAT, measured in the NAT lab (tests/e2e/natlab.sh; root, network namespaces):
# a swarmd bootstrap node on a public host, two trainers each behind its own port-preserving home
# router, given only the bootstrap node's address. Over N starts (fresh identities each time):
#   - time from start to the first swarm peer: a connection to the other trainer, found through
#     the DHT rendezvous (relayed, or direct at once);
#   - time from start to a direct connection both ways (DCUtR hole punch);
# and, as the baseline measured in the same run, the time to the first swarm peer for two trainers
# on public hosts (no NAT, no relay). Then one longer run: the share of the trainers' bytes that
# went through the relay, over the first 60 s and over the 30 s after it.
# Goals (issue 14): every NAT'd pair direct (>= 90%); the relay carries <= 5% after the first minute.
#   bench/natlab/nat_bench.sh [STARTS]      (SWARMD_BUILD_DIR names the build tree)
set -euo pipefail
starts=${1:-20}
source "$(dirname "$0")/../../tests/e2e/lib.sh"
source "$(dirname "$0")/../../tests/e2e/natlab.sh"
lab_skip_unless_available
e2e_init 100000
lab_init
lab_public pub
lab_public pubA
lab_public pubB
lab_home home1
lab_home home2

lab_start boot 0 pub --bootstrap-node
lab_wait_up 0 60
boot="/ip4/${lab_addr[pub]}/tcp/$e2e_base/p2p/$(cat "$e2e_dir/boot.id")"

now_ms() { date +%s%3N; }
stop_node() {
    local pid=${e2e_pid[$1]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "e2e_pid[$1]"
}

# one_start WHERE1 WHERE2 K: starts two trainers there (data dirs a-K, b-K), prints
# "first_peer_ms direct_ms" ("-" when not within 60 s), stops them.
one_start() {
    local t0 first="" direct="" s1 s2 id1 id2 deadline
    t0=$(now_ms)
    lab_start "a-$3" 1 "$1" --bootstrap "$boot" --round-interval-ms 200
    lab_start "b-$3" 2 "$2" --bootstrap "$boot" --round-interval-ms 200
    lab_wait_up 1 60
    lab_wait_up 2 60
    id1=$(e2e_field 1 peer_id)
    id2=$(e2e_field 2 peer_id)
    deadline=$((SECONDS + 60))
    while [[ -z "$direct" && $SECONDS -lt $deadline ]]; do
        s1=$(lab_status 1)
        s2=$(lab_status 2)
        if [[ -z "$first" ]] && { [[ -n "$(lab_link_to "$id2" <<<"$s1")" ]] || [[ -n "$(lab_link_to "$id1" <<<"$s2")" ]]; }; then
            first=$(($(now_ms) - t0))
        fi
        if [[ "$(lab_link_to "$id2" <<<"$s1")" == direct && "$(lab_link_to "$id1" <<<"$s2")" == direct ]]; then
            direct=$(($(now_ms) - t0))
            [[ -n "$first" ]] || first=$direct
        fi
        sleep 0.1
    done
    stop_node "a-$3"
    stop_node "b-$3"
    echo "${first:--} ${direct:--}"
}

summary() {  # NAME VALUES...: p50, p99, n (values in ms; "-" counts as missing)
    python3 -c 'import sys
name, vals = sys.argv[1], [float(v) for v in sys.argv[2:] if v != "-"]
missing = len(sys.argv[2:]) - len(vals)
vals.sort()
def q(p):
    if not vals: return float("nan")
    i = min(len(vals) - 1, max(0, int(round(p * (len(vals) - 1)))))
    return vals[i] / 1000
print("%-34s p50 %6.2f s  p99 %6.2f s  n=%d missing=%d" % (name, q(0.5), q(0.99), len(vals), missing))' "$@"
}

nat_first=() nat_direct=() pub_first=()
for k in $(seq 1 "$starts"); do
    read -r f d < <(one_start home1 home2 "nat$k")
    nat_first+=("$f")
    nat_direct+=("$d")
    read -r f _ < <(one_start pubA pubB "pub$k")
    pub_first+=("$f")
    e2e_log "start $k/$starts: behind NAT first peer ${nat_first[-1]} ms, direct ${nat_direct[-1]} ms; public first peer ${pub_first[-1]} ms"
done

# The byte shares: one pair behind NAT, left to train.
lab_start a-long 1 home1 --bootstrap "$boot" --round-interval-ms 200
lab_start b-long 2 home2 --bootstrap "$boot" --round-interval-ms 200
t0=$SECONDS
lab_wait_up 1 60
lab_wait_up 2 60
traffic() {  # INDEX: "relayed total" session bytes so far
    lab_status "$1" | python3 -c 'import json, sys
t = json.loads(sys.stdin.read()).get("traffic") or {}
r = t.get("relayed_sent", 0) + t.get("relayed_received", 0)
print(r, r + t.get("direct_sent", 0) + t.get("direct_received", 0))'
}
sleep $((60 - (SECONDS - t0)))
read -r r1a t1a < <(traffic 1)
read -r r2a t2a < <(traffic 2)
sleep 30
read -r r1b t1b < <(traffic 1)
read -r r2b t2b < <(traffic 2)

echo
echo "NAT lab, $starts starts of two trainers behind two port-preserving NATs, bootstrap node public"
summary "first swarm peer (behind NAT)" "${nat_first[@]}"
summary "first swarm peer (public baseline)" "${pub_first[@]}"
summary "direct after hole punch" "${nat_direct[@]}"
python3 - "$starts" "${nat_first[*]}" "${pub_first[*]}" "${nat_direct[*]}" "$r1a" "$t1a" "$r2a" "$t2a" "$r1b" "$t1b" "$r2b" "$t2b" <<'PY'
import sys
starts = int(sys.argv[1])
nat, pub, direct = ([float(v) for v in a.split() if v != "-"] for a in sys.argv[2:5])
r1a, t1a, r2a, t2a, r1b, t1b, r2b, t2b = (int(v) for v in sys.argv[5:13])
med = lambda v: sorted(v)[len(v) // 2] if v else float("nan")
print("ratio first peer behind NAT / public (p50): %.2f" % (med(nat) / med(pub)))
print("pairs direct after hole punching: %d of %d (%.0f%%; goal >= 90%%)" % (len(direct), starts, 100 * len(direct) / starts))
first = (r1a + r2a) / max(1, t1a + t2a)
later = ((r1b - r1a) + (r2b - r2a)) / max(1, (t1b - t1a) + (t2b - t2a))
print("relayed share of the trainers' bytes: first 60 s %.1f%% (%d of %d bytes); 60-90 s %.2f%% (%d of %d bytes; goal <= 5%%)" % (
    100 * first, r1a + r2a, t1a + t2a, 100 * later, (r1b - r1a) + (r2b - r2a), (t1b - t1a) + (t2b - t2a)))
PY
