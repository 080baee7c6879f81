#!/usr/bin/env bash
# End to end: a private network. The bootstrap node and trainers node1 and node2 share a key
# (--psk-file) and list each other (--allow-peer). Outsiders try to join both ways: node3 (no
# key) and node4 (another key) bootstrap to node1, and node2 is told to bootstrap to them; a
# `swarmd p2p listen` holding the key but off the allowlist is dialed by node2 and pings node1.
# node1 and node2 merge to one model; no outsider ever shows in a member's status, and the
# members count every refusal: private_network failures and not_allowed refusals.
source "$(dirname "$0")/lib.sh"
e2e_init 60
make_key() {
    printf '/key/swarm/psk/1.0.0/\n/base16/\n%s\n' \
        "$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$1"
    chmod 600 "$1"
}
key="$e2e_dir/swarm.key"
other_key="$e2e_dir/other.key"
make_key "$key"
make_key "$other_key"

# Identities first: the members' allowlist and node2's bootstrap list name them.
declare -A id=()
id[boot]=$(cat "$e2e_dir/boot.id")
for name in node1 node2 node3 node4 lurker; do
    id[$name]=$("$swarmd" keygen --out "$e2e_dir/$name/identity.key")
done
maddr() { echo "/ip4/127.0.0.1/tcp/$((e2e_base + 2 * $2))/p2p/${id[$1]}"; }
members=(--psk-file "$key" --allow-peer "${id[boot]}" --allow-peer "${id[node1]}"
    --allow-peer "${id[node2]}")
lurker_port=$((e2e_base + 2 * 9))

started=$SECONDS
e2e_start boot 0 --bootstrap-node "${members[@]}"
for _ in $(seq 1 100); do e2e_status_line 0 >/dev/null && break; sleep 0.2; done
e2e_status_line 0 >/dev/null || e2e_fail "the bootstrap node did not come up"
grep -q "private network: only peers holding the key" "$e2e_dir/boot/log" ||
    e2e_fail "the bootstrap node did not say it runs in a private network"
! grep -qi "$(sed -n 3p "$key")" "$e2e_dir/boot/log" || e2e_fail "the key is in the log"

# Unreachable peers are retried (1 s, doubling): whoever starts first, every dial below is made
# again once both ends listen.
e2e_start node1 1 --bootstrap "$e2e_boot" --round-interval-ms 30 "${members[@]}" --debug net
e2e_start node3 3 --bootstrap "$(maddr node1 1)" --round-interval-ms 30
e2e_start node4 4 --psk-file "$other_key" --bootstrap "$(maddr node1 1)" --round-interval-ms 30
mkdir -p "$e2e_dir/lurker"
"$swarmd" --psk-file "$key" p2p listen --key-file "$e2e_dir/lurker/identity.key" \
    --listen "/ip4/127.0.0.1/tcp/$lurker_port" >> "$e2e_dir/lurker/log" 2>&1 &
e2e_pid[lurker]=$!
e2e_start node2 2 --bootstrap "$e2e_boot" --bootstrap "$(maddr node3 3)" \
    --bootstrap "$(maddr node4 4)" --bootstrap "/ip4/127.0.0.1/tcp/$lurker_port/p2p/${id[lurker]}" \
    --round-interval-ms 30 "${members[@]}" --debug net

# A holder of the key off the allowlist dials in: Noise completes, then node1 hangs up.
e2e_wait_round 1 1 60
! "$swarmd" --psk-file "$key" p2p ping --key-file "$e2e_dir/lurker/identity.key" "$(maddr node1 1)" \
    >/dev/null 2>"$e2e_dir/lurker/ping.err" || e2e_fail "the lurker pinged node1"
# Without the key, the same dial fails before multistream.
! "$swarmd" p2p ping "$(maddr node1 1)" >/dev/null 2>&1 || e2e_fail "a keyless ping reached node1"

e2e_wait_merged 120 1 2
hash=$(e2e_same_hash 1 2)
refusing=$((SECONDS - started))

# No outsider in any member's status (peer ids, links, swarm peers), and none connected anywhere.
for i in 0 1 2; do
    status=$(e2e_at "$i" curl -sf --max-time 3 "http://$(e2e_http "$i")/api/status") ||
        e2e_fail "member $i does not answer /api/status"
    for name in node3 node4 lurker; do
        ! grep -q "${id[$name]}" <<<"$status" || e2e_fail "$name shows in member $i's status"
    done
done
for i in 3 4; do
    [[ "$(e2e_field "$i" connections)" == 0 ]] || e2e_fail "outsider node$i has connections"
done
# Inbound: node1 refused the keyless and wrong-key dials of node3, node4 and the keyless ping,
# and the lurker's keyed ping once Noise named it. Outbound: node2 refused its own dials to all
# three (nobody else dials node2 from outside: the outsiders never learn its address).
count() { local v; v=$(e2e_metric "$1" "$2"); echo "${v%.*}"; }
pnet_in=$(count 1 'swarmd_net_connections_failed_total{reason="private_network"}')
allow_in=$(count 1 'swarmd_net_connections_refused_total{reason="not_allowed"}')
pnet_out=$(count 2 'swarmd_net_connections_failed_total{reason="private_network"}')
allow_out=$(count 2 'swarmd_net_connections_refused_total{reason="not_allowed"}')
[[ $pnet_in -ge 3 ]] || e2e_fail "node1 counted $pnet_in private_network failures, want >= 3"
[[ $allow_in -ge 1 ]] || e2e_fail "node1 counted $allow_in not_allowed refusals, want >= 1"
[[ $pnet_out -ge 2 ]] || e2e_fail "node2 counted $pnet_out private_network failures, want >= 2"
[[ $allow_out -ge 1 ]] || e2e_fail "node2 counted $allow_out not_allowed refusals, want >= 1"
grep -q "connection refused .*dir=in .*peer=${id[lurker]}" "$e2e_dir/node1/log" ||
    e2e_fail "node1 did not log refusing the lurker"
grep -q "connection refused .*dir=out .*peer=${id[lurker]}" "$e2e_dir/node2/log" ||
    e2e_fail "node2 did not log refusing its dial to the lurker"
e2e_log "private network: node1 and node2 merged to $hash; outsiders refused for ${refusing} s:" \
    "node1 (inbound) $pnet_in private_network + $allow_in not_allowed," \
    "node2 (outbound) $pnet_out private_network + $allow_out not_allowed"
