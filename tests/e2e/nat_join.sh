#!/usr/bin/env bash
# End to end behind NAT (tests/e2e/natlab.sh): a swarmd bootstrap node on a public host and three
# trainers, each alone behind its own home router (two port-preserving NATs, one symmetric), given
# only the public node as --bootstrap. First the lab itself is checked (the homes reach the
# public host; nobody reaches into a home), then the trainers must join through the relay, the two
# behind port-preserving NATs must hole-punch a direct connection, and all must train and merge
# to one model. Prints how long joining took and what each node says about its reachability.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlab.sh"
lab_skip_unless_available
e2e_init 60
lab_init
lab_public pub
lab_home home1
lab_home home2
lab_home home3 symmetric
homes=(home1 home2 home3)

# The lab: each home opens TCP to the public host; the public host cannot open TCP to a home
# host's LAN address (no route) nor through its router's public address (the NAT lets in no
# unsolicited connection); one home cannot reach another home's LAN address.
probe=$((e2e_base - 1))
lab_listen pub "$probe"
for h in "${homes[@]}"; do lab_listen "$h" "$probe"; done
for h in "${homes[@]}"; do
    lab_tcp_open "$h" "${lab_addr[pub]}" "$probe" || e2e_fail "lab: $h cannot reach the public host"
    lab_tcp_open "$h" 127.0.0.1 "$probe" || e2e_fail "lab: $h's own listener does not answer"
    ! lab_tcp_open pub "${lab_addr[$h]}" "$probe" || e2e_fail "lab: the public host reached $h's LAN address"
    ! lab_tcp_open pub "${lab_wan[$h]}" "$probe" || e2e_fail "lab: the public host got through $h's NAT"
done
! lab_tcp_open home1 "${lab_addr[home2]}" "$probe" || e2e_fail "lab: home1 reached home2's LAN address"
! lab_tcp_open home3 "${lab_addr[home1]}" "$probe" || e2e_fail "lab: home3 reached home1's LAN address"
e2e_log "lab: public host ${lab_addr[pub]}; $(for h in "${homes[@]}"; do
    printf '%s %s behind %s; ' "$h" "${lab_addr[$h]}" "${lab_wan[$h]}"; done)connectivity as expected"

lab_start boot 0 pub --bootstrap-node --debug net,boot
lab_wait_up 0 60
boot="/ip4/${lab_addr[pub]}/tcp/$e2e_base/p2p/$(cat "$e2e_dir/boot.id")"
start=$SECONDS
for i in 1 2 3; do lab_start "node$i" "$i" "${homes[i - 1]}" --bootstrap "$boot" --round-interval-ms 30 --debug net,boot; done
for i in 1 2 3; do lab_wait_up "$i" 60; done
ids=()
for i in 1 2 3; do ids+=("$(e2e_field "$i" peer_id)"); done
up=$((SECONDS - start))

# Joined: connected to the bootstrap node, then hearing every other trainer's status over gossip.
declare -A connected_at=() joined_at=()
deadline=$((SECONDS + 90))
while [[ ${#joined_at[@]} -lt 3 ]]; do
    for i in 1 2 3; do
        [[ -z "${joined_at[$i]:-}" ]] || continue
        s=$(lab_status "$i")
        [[ -n "$s" ]] || continue
        if [[ -z "${connected_at[$i]:-}" ]] && grep -q "$(cat "$e2e_dir/boot.id")" <<<"$s"; then
            connected_at[$i]=$((SECONDS - start))
        fi
        heard=0
        for j in 1 2 3; do
            [[ $j == "$i" ]] && continue
            python3 -c 'import json, sys
sys.exit(0 if sys.argv[1] in json.loads(sys.stdin.read()).get("swarm_peers", {}) else 1)' "${ids[j - 1]}" <<<"$s" &&
                heard=$((heard + 1))
        done
        [[ $heard -eq 2 ]] && joined_at[$i]=$((SECONDS - start))
    done
    [[ $SECONDS -lt $deadline ]] || e2e_fail "only ${#joined_at[@]} of 3 trainers heard all the others in 90 s"
    sleep 0.3
done
e2e_log "joining: processes up after ${up} s; connected to the bootstrap node after" \
    "$(for i in 1 2 3; do printf '%s ' "${connected_at[$i]:-?}"; done)s; every trainer heard the" \
    "other two after $(for i in 1 2 3; do printf '%s ' "${joined_at[$i]}"; done)s (from the trainers' start)"

# Behind NAT: one public peer cannot give an AutoNAT verdict (it takes several agreeing servers),
# so each trainer presumes it from its private listen address and the public address the
# bootstrap node sees it at; it then reserves a slot on the bootstrap node's relay and advertises
# the /p2p-circuit address (identify, signed peer record, provider record on the DHT).
reach_of() {
    python3 -c 'import json, sys
text = sys.stdin.read()
r = (json.loads(text).get("reach") or {}) if text.strip() else {}
print("%s %d" % ("yes" if r.get("behind_nat") else "no", len(r.get("relay_addrs", []))))'
}
deadline=$((SECONDS + 60))
for i in 1 2 3; do
    until [[ "$(lab_status "$i" | reach_of)" =~ ^yes\ [1-9] ]]; do
        [[ $SECONDS -lt $deadline ]] ||
            e2e_fail "node$i behind ${homes[i - 1]} has no relay reservation: $(lab_status "$i" | reach_of)"
        sleep 0.5
    done
done
reserved_at=$((SECONDS - start))
e2e_log "behind NAT: every trainer holds a relay reservation on the bootstrap node after ${reserved_at} s"

# The trainers find each other's relay addresses through the DHT and connect through the relay.
deadline=$((SECONDS + 90))
pairs_linked() {
    local i j
    for i in 1 2 3; do
        s=$(lab_status "$i")
        for j in 1 2 3; do
            [[ $i == "$j" ]] && continue
            [[ -n "$(lab_link_to "${ids[j - 1]}" <<<"$s")" ]] || return 1
        done
    done
}
until pairs_linked; do
    [[ $SECONDS -lt $deadline ]] || e2e_fail "the trainers behind NAT did not connect to each other in 90 s"
    sleep 0.5
done
e2e_log "connected: every pair of trainers behind NAT has a connection after $((SECONDS - start)) s:" \
    "$(for i in 1 2 3; do s=$(lab_status "$i"); for j in 1 2 3; do [[ $i == "$j" ]] ||
        printf '%s-%s %s; ' "$i" "$j" "$(lab_link_to "${ids[j - 1]}" <<<"$s")"; done; done)"

# Hole punching (DCUtR): the two trainers behind port-preserving NATs upgrade their relayed
# connection to a direct one; the symmetric NAT maps each destination to another port, so home3's
# links stay relayed (the relay carries on).
deadline=$((SECONDS + 60))
direct_12() {
    [[ "$(lab_status 1 | lab_link_to "${ids[1]}")" == direct ]] &&
        [[ "$(lab_status 2 | lab_link_to "${ids[0]}")" == direct ]]
}
until direct_12; do
    [[ $SECONDS -lt $deadline ]] ||
        e2e_fail "home1 and home2 did not connect directly in 60 s: 1-2 $(lab_status 1 | lab_link_to "${ids[1]}"), 2-1 $(lab_status 2 | lab_link_to "${ids[0]}")"
    sleep 0.5
done
direct_at=$((SECONDS - start))
punch_of() {
    python3 -c 'import json, sys
text = sys.stdin.read()
print(json.dumps((json.loads(text).get("reach") or {}).get("hole_punch")) if text.strip() else "none")'
}
e2e_log "hole punch: home1 and home2 connected directly after ${direct_at} s; 1-3 $(lab_status 1 | lab_link_to "${ids[2]}")," \
    "2-3 $(lab_status 2 | lab_link_to "${ids[2]}"); DCUtR $(for i in 1 2 3; do printf 'node%s %s; ' "$i" "$(lab_status "$i" | punch_of)"; done)"
for j in 1 2; do
    link=$(lab_status 3 | lab_link_to "${ids[j - 1]}")
    [[ -n "$link" ]] || e2e_fail "node3 behind the symmetric NAT lost its link to node$j"
done

e2e_wait_merged 150 1 2 3
hash=$(e2e_same_hash 1 2 3)
e2e_log "merged: the three trainers behind NAT merged to $hash, $((SECONDS - start)) s after they started"

# swarmd doctor from a home host: the bootstrap node answers, and its AutoNAT dial-back fails, so
# the report says the machine is behind NAT and what to do; from the public host it says public.
doctor_at() {
    lab_exec "$1" env SWARMD_TREAT_AS_PUBLIC=198.18.0.0/15 "$swarmd" --spec "$e2e_dir/spec.toml" \
        --data-dir "$e2e_dir/doctor-$1" --no-default-bootstrap doctor "$boot" 2>&1
}
out=$(doctor_at home1) || e2e_fail "doctor in home1 could not reach the bootstrap node: $out"
e2e_log "doctor in home1: $(tr '\n' '|' <<<"$out")"
grep -q "^reachability: private" <<<"$out" || e2e_fail "doctor in home1 did not say private"
grep -q "forward TCP port" <<<"$out" || e2e_fail "doctor in home1 did not say what to do"
grep -q "through a relay: 1 of these peers" <<<"$out" || e2e_fail "doctor in home1 did not see the relay"
out=$(doctor_at pub) || e2e_fail "doctor on the public host could not reach the bootstrap node: $out"
e2e_log "doctor on the public host: $(tr '\n' '|' <<<"$out")"
grep -q "^reachability: public" <<<"$out" || e2e_fail "doctor on the public host did not say public"

# What each node says about itself: its addresses and, when the build has it, its reach verdict.
report() {
    python3 -c 'import json, sys
text = sys.stdin.read()
if not text.strip(): sys.exit(print("no status"))
s = json.loads(text)
reach = s.get("reach")
print("addresses=%s connections=%s peers=%d reach=%s" % (",".join(s.get("addresses", [])),
      s.get("connections"), len(s.get("peer_ids", [])), json.dumps(reach) if reach is not None else "absent"))'
}
reachability() {
    python3 -c 'import json, sys
text = sys.stdin.read()
print((json.loads(text).get("reach") or {}).get("reachability", "") if text.strip() else "")'
}
for i in 0 1 2 3; do
    name=boot
    [[ $i == 0 ]] || name="node$i (${homes[i - 1]})"
    e2e_log "$name: $(lab_status "$i" | report)"
done
for i in 1 2 3; do
    s=$(lab_status "$i")
    [[ -n "$s" ]] || e2e_fail "node$i stopped answering /api/status"
    verdict=$(reachability <<<"$s")
    [[ "$verdict" != public ]] || e2e_fail "node$i behind ${homes[i - 1]}'s NAT thinks it is public"
done
verdict=$(lab_status 0 | reachability)
e2e_log "the public node's verdict: ${verdict:-none (its /api/status has no reach.reachability)}"

# What the nodes logged about the network (for the report; not asserted): warnings and errors,
# outbound connections, failed dials and learned addresses the address filter refused.
for node in boot node1 node2 node3; do
    log="$e2e_dir/$node/log"
    count() { grep -cE "$1" "$log" || true; }
    e2e_log "$node: $(count '^[-0-9]+ [:.0-9]+ (warn|error) ') warnings or errors," \
        "$(count 'connection open dir=out') outbound connections, $(count 'dial failed') failed dials," \
        "$(count 'learned addresses refused') refusals of learned addresses"
    grep -E '^[-0-9]+ [:.0-9]+ (warn|error) |dial failed' "$log" | cut -c25-240 | sort | uniq -c | sort -rn | head -5 || true
done
e2e_log "PASS"
