# A NAT lab for the end-to-end scripts: Linux network namespaces joined by veth pairs and bridges,
# with iptables NAT in "home router" namespaces. Source it after tests/e2e/lib.sh, call e2e_init,
# then lab_init; lab_cleanup runs when the script exits (it is one of lib.sh's exit hooks) and
# removes every namespace the lab made, with the veths and bridges inside them.
#
# Topology (every name below is a namespace, called swl-<pid>-<name> on the machine):
#
#   inet            the "public internet": one bridge (br0) and nothing else. Its segment is
#                   198.18.0.0/24 (RFC 2544 benchmarking range, meant for labs; swarmd is told to
#                   treat 198.18.0.0/15 as public through SWARMD_TREAT_AS_PUBLIC).
#   NAME            lab_public NAME: a host with one interface (eth0) on br0, 198.18.0.N/24, no
#                   default route: it reaches the internet segment and nothing else.
#   NAME-gw, NAME   lab_home NAME: a home router (wan on br0 with 198.18.0.N/24, lan with
#                   192.168.K.1/24, forwarding on, MASQUERADE out of wan) and one host behind it
#                   (eth0 192.168.K.2/24, default route via the router).
#
# What the two kinds of home router emulate:
#   lab_home NAME            MASQUERADE keeps a connection's source port whenever it is free, so
#                            one inside port maps to the same outside port for every remote peer
#                            (endpoint-independent mapping). Conntrack only lets in packets of a
#                            connection the inside opened (address- and port-dependent filtering):
#                            a "port-restricted cone" NAT, where TCP simultaneous open (hole
#                            punching) can work.
#   lab_home NAME symmetric  MASQUERADE --random picks a random outside port for every new
#                            connection (endpoint-dependent mapping): a "symmetric" NAT. The port a
#                            peer observes is not the one the next peer would see, so hole
#                            punching fails and only a relay can carry traffic to the host.
# Unsolicited inbound connections reach neither kind: a public host has no route to any LAN, and
# a packet to a router's WAN address that matches no connection ends at the router itself, whose
# firewall drops a TCP SYN without a word, as home routers do (an RST instead would also kill
# the hole punch's crossing SYN that arrives a moment before the router's own left: on a lab
# "internet" with a round trip of a fraction of a millisecond, the two can never leave closer
# together than that).
#
# Functions: lab_available, lab_skip_unless_available, lab_init, lab_public, lab_home, lab_exec, lab_listen, lab_tcp_open,
# lab_partition / lab_heal, lab_split / lab_unsplit (two groups), lab_shape (bandwidth),
# lab_impair / lab_impair_report / lab_unimpair (delay, loss, reordering), lab_start_trainers, lab_start / lab_wait_up / lab_maddr /
# lab_status / lab_link_to (swarmd nodes: lib.sh's e2e_field and the other helpers then read them in their
# namespace), lab_cleanup.
#
# Nothing here uses an address outside the namespaces the lab made: every veth is created inside
# a lab namespace (never in the caller's), so deleting the namespaces removes all of it.

lab_prefix="swl-$$"
lab_namespaces=()
declare -A lab_addr=()  # NAME -> the address other lab hosts see it at (a LAN address behind NAT)
declare -A lab_wan=()   # home NAME -> its router's public address
declare -A lab_port=()  # NAME (a public host, a home or its router) -> its port on br0
declare -A lab_uplink=()  # the same NAMEs -> the interface at their end of that port's veth
lab_next_public=2       # next 198.18.0.N
lab_next_lan=1          # next 192.168.K.0/24
lab_next_port=1         # next p<N> port on br0

lab_ns() { echo "$lab_prefix-$1"; }

# lab_exec NAME CMD...: runs CMD in lab namespace NAME.
lab_exec() {
    local name=$1
    shift
    ip netns exec "$(lab_ns "$name")" "$@"
}

_lab_fail() {
    if declare -F e2e_fail >/dev/null; then e2e_fail "lab: $*"; fi
    echo "FAIL: lab: $*" >&2
    exit 1
}

_lab_add_ns() {
    local ns
    ns=$(lab_ns "$1")
    ip netns add "$ns" || _lab_fail "cannot make namespace $ns"
    lab_namespaces+=("$ns")
    ip -n "$ns" link set lo up
}

# _lab_plug NAME IFNAME ADDR/LEN: a veth from namespace NAME (IFNAME) to a new port of br0.
_lab_plug() {
    local port="p$lab_next_port"
    lab_next_port=$((lab_next_port + 1))
    ip -n "$(lab_ns inet)" link add "$port" type veth peer name "$2" netns "$(lab_ns "$1")" ||
        _lab_fail "cannot make the veth of $1"
    ip -n "$(lab_ns inet)" link set "$port" master br0 up
    ip -n "$(lab_ns "$1")" addr add "$3" dev "$2"
    ip -n "$(lab_ns "$1")" link set "$2" up
}

# _lab_take_public_addr: sets lab_taken to the next free address of the internet segment.
_lab_take_public_addr() {
    [[ $lab_next_public -lt 250 ]] || _lab_fail "the internet segment is full"
    lab_taken="198.18.0.$lab_next_public"
    lab_next_public=$((lab_next_public + 1))
}

# lab_available: whether this machine can make the lab's namespaces (root, ip netns); prints
# why not. A missing iptables is no reason to skip: lab_init fails on it.
lab_available() {
    [[ $(id -u) == 0 ]] || { echo "needs root for network namespaces"; return 1; }
    command -v ip >/dev/null || { echo "needs ip(8) (iproute2)"; return 1; }
    local probe="$lab_prefix-probe"
    ip netns add "$probe" 2>/dev/null || { echo "ip netns add fails here"; return 1; }
    ip netns del "$probe"
}

# lab_skip_unless_available: exits the script with "SKIP: <why>" (status 0) when the lab cannot
# run here; the first call of every lab script.
lab_skip_unless_available() {
    local why
    if ! why=$(lab_available); then
        echo "SKIP: $why"
        exit 0
    fi
}

# lab_init: the internet namespace with its bridge. Call after e2e_init.
lab_init() {
    [[ -n "${e2e_dir:-}" ]] || _lab_fail "call e2e_init before lab_init"
    command -v iptables >/dev/null || _lab_fail "needs iptables for its NAT (scripts/setup.sh installs it)"
    e2e_on_exit+=(lab_cleanup)
    _lab_add_ns inet
    ip -n "$(lab_ns inet)" link add br0 type bridge
    ip -n "$(lab_ns inet)" link set br0 up
}

# lab_public NAME: a public host on the internet segment. Prints nothing; see lab_addr[NAME].
lab_public() {
    _lab_take_public_addr
    _lab_add_ns "$1"
    lab_port[$1]="p$lab_next_port"
    lab_uplink[$1]="$1 eth0"
    _lab_plug "$1" eth0 "$lab_taken/24"
    lab_addr[$1]=$lab_taken
}

# lab_home NAME [symmetric]: a home router NAME-gw and a host NAME behind it (see the top).
lab_home() {
    local name=$1 kind=${2:-cone} wan lan_net gw ns
    [[ $kind == cone || $kind == symmetric ]] || _lab_fail "lab_home: unknown kind $kind"
    _lab_take_public_addr
    wan=$lab_taken
    lan_net="192.168.$lab_next_lan"
    lab_next_lan=$((lab_next_lan + 1))
    _lab_add_ns "$name-gw"
    _lab_add_ns "$name"
    gw=$(lab_ns "$name-gw")
    ns=$(lab_ns "$name")
    lab_port[$name]="p$lab_next_port"
    lab_port[$name-gw]="p$lab_next_port"
    lab_uplink[$name]="$name-gw wan"
    lab_uplink[$name-gw]="$name-gw wan"
    _lab_plug "$name-gw" wan "$wan/24"
    ip -n "$gw" route add default dev wan
    ip -n "$gw" link add lan type veth peer name eth0 netns "$ns" || _lab_fail "cannot make the LAN of $name"
    ip -n "$gw" addr add "$lan_net.1/24" dev lan
    ip -n "$gw" link set lan up
    ip -n "$ns" addr add "$lan_net.2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$lan_net.1"
    ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1
    local random=()
    [[ $kind == symmetric ]] && random=(--random)
    ip netns exec "$gw" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${random[@]}" ||
        _lab_fail "iptables MASQUERADE fails in $gw"
    # The router itself serves nothing on wan: SYNs that no NAT mapping took are dropped, not
    # answered with an RST.
    ip netns exec "$gw" iptables -A INPUT -i wan -p tcp --syn -j DROP ||
        _lab_fail "iptables INPUT rule fails in $gw"
    lab_addr[$name]="$lan_net.2"
    lab_addr[$name-gw]=$wan
    lab_wan[$name]=$wan
}

_lab_port_of() {
    [[ -n "${lab_port[$1]:-}" ]] || _lab_fail "no lab host or home called $1"
    echo "${lab_port[$1]}"
}

# lab_partition NAME...: cuts each public host or home (its router) off the internet, as if its
# cable were pulled: its port on br0 goes down, packets are dropped, nobody is told.
lab_partition() {
    local name
    for name in "$@"; do ip -n "$(lab_ns inet)" link set "$(_lab_port_of "$name")" down; done
}

# lab_heal NAME...: plugs them back in (connections that did not time out carry on).
lab_heal() {
    local name
    for name in "$@"; do ip -n "$(lab_ns inet)" link set "$(_lab_port_of "$name")" up; done
}

# lab_split "A1 A2..." "B1 B2...": a partition between two groups of public hosts: each host
# rejects what comes from the other group and what it would send there; each group still
# reaches itself. Nobody is told: the resets the rules make are themselves cut, so open
# connections across the cut go silent (measured: sends still succeed) until a node's own
# timeouts give them up, and new dials time out. lab_unsplit NAME... lifts it on those hosts.
lab_split() {
    local a b
    for a in $1; do for b in $2; do _lab_block "$a" "$b"; _lab_block "$b" "$a"; done; done
}
_lab_block() {
    local ns
    ns=$(lab_ns "$1")
    ip netns exec "$ns" iptables -N LABSPLIT 2>/dev/null || true
    ip netns exec "$ns" iptables -C INPUT -j LABSPLIT 2>/dev/null ||
        ip netns exec "$ns" iptables -I INPUT -j LABSPLIT
    ip netns exec "$ns" iptables -C OUTPUT -j LABSPLIT 2>/dev/null ||
        ip netns exec "$ns" iptables -I OUTPUT -j LABSPLIT
    ip netns exec "$ns" iptables -A LABSPLIT -s "${lab_addr[$2]}" -p tcp -j REJECT --reject-with tcp-reset
    ip netns exec "$ns" iptables -A LABSPLIT -d "${lab_addr[$2]}" -p tcp -j REJECT --reject-with tcp-reset
    ip netns exec "$ns" iptables -A LABSPLIT -s "${lab_addr[$2]}" -j DROP
    ip netns exec "$ns" iptables -A LABSPLIT -d "${lab_addr[$2]}" -j DROP
}
lab_unsplit() {
    local name
    for name in "$@"; do ip netns exec "$(lab_ns "$name")" iptables -F LABSPLIT 2>/dev/null || true; done
}

# lab_shape NAME RATE: limits a public host's or a home's link to the internet to RATE (tc
# units, e.g. 1mbit) each way, with a token bucket (tc tbf; netem is not in every kernel).
lab_shape() {
    local port ns ifname
    port=$(_lab_port_of "$1")
    read -r ns ifname <<<"${lab_uplink[$1]}"
    ip netns exec "$(lab_ns inet)" tc qdisc replace dev "$port" root tbf rate "$2" burst 32kbit latency 400ms ||
        _lab_fail "tc tbf fails on $1's port"
    ip netns exec "$(lab_ns "$ns")" tc qdisc replace dev "$ifname" root tbf rate "$2" burst 32kbit latency 400ms ||
        _lab_fail "tc tbf fails on $1's uplink"
}

# lab_impair ARGS...: the internet segment gets delay, jitter, loss or reordering. Every port
# made so far leaves br0 and is joined instead by lab_switch (tests/e2e/lab_switch.cpp, built as
# swarmd_lab_switch), a user-space switch that applies ARGS (its options: --delay-ms D
# --jitter-ms J --loss P --reorder --seed S) to each frame a host sends, as tc netem would on
# every host's uplink (a one-way delay of D ± J ms, a round trip of twice that). Each host's
# uplink sends one packet per frame (GSO off), so a lost frame is a lost packet. Make every host
# first; lab_partition and lab_heal keep working. Its log is $e2e_dir/lab_switch.log.
lab_switch_pid=""
lab_impair() {
    [[ -z "$lab_switch_pid" ]] || _lab_fail "lab_impair: the lab is impaired already"
    local bin="$e2e_build/tests/e2e/swarmd_lab_switch" ports=() n name ns ifname
    [[ -x "$bin" ]] || _lab_fail "lab_impair needs $bin (ninja swarmd_lab_switch)"
    for ((n = 1; n < lab_next_port; n++)); do
        ports+=(--port "p$n")
        ip -n "$(lab_ns inet)" link set "p$n" nomaster
    done
    for name in "${!lab_uplink[@]}"; do
        read -r ns ifname <<<"${lab_uplink[$name]}"
        ip -n "$(lab_ns "$ns")" link set "$ifname" gso_max_segs 1 || _lab_fail "cannot turn GSO off on $name"
    done
    ip netns exec "$(lab_ns inet)" "$bin" "$@" "${ports[@]}" 2>>"$e2e_dir/lab_switch.log" &
    lab_switch_pid=$!
    for n in $(seq 1 50); do
        grep -q "ports, delay" "$e2e_dir/lab_switch.log" 2>/dev/null && return 0
        kill -0 "$lab_switch_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$e2e_dir/lab_switch.log" >&2 || true
    _lab_fail "lab_switch did not start"
}

# lab_impair_report: the switch's counters so far (one line: frames, lost, mean delay...).
lab_impair_report() {
    [[ -n "$lab_switch_pid" ]] || _lab_fail "lab_impair_report: the lab is not impaired"
    local before
    before=$(grep -c "^lab_switch: frames" "$e2e_dir/lab_switch.log" || true)
    kill -USR1 "$lab_switch_pid"
    for _ in $(seq 1 20); do
        [[ $(grep -c "^lab_switch: frames" "$e2e_dir/lab_switch.log" || true) -gt $before ]] && break
        sleep 0.05
    done
    grep "^lab_switch: frames" "$e2e_dir/lab_switch.log" | tail -1
}

# lab_unimpair: stops the switch and puts every port back on br0.
lab_unimpair() {
    [[ -n "$lab_switch_pid" ]] || return 0
    kill -TERM "$lab_switch_pid" 2>/dev/null || true
    wait "$lab_switch_pid" 2>/dev/null || true
    lab_switch_pid=""
    local n
    for ((n = 1; n < lab_next_port; n++)); do ip -n "$(lab_ns inet)" link set "p$n" master br0; done
}

# lab_tcp_open NAME ADDR PORT: whether NAME can open a TCP connection to ADDR:PORT (2 s at most).
lab_tcp_open() {
    lab_exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# lab_listen NAME PORT: a TCP listener in NAME that accepts for as long as the lab lives (the
# pid is in lab_listener_pids, stopped by lab_cleanup).
lab_listener_pids=()
lab_listen() {
    # Not through lab_exec: $! must be the listener itself, not a subshell around it.
    ip netns exec "$(lab_ns "$1")" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True: s.accept()[0].close()' "$2" &
    lab_listener_pids+=($!)
    local _
    for _ in $(seq 1 50); do
        lab_exec "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null && return 0
        sleep 0.1
    done
    _lab_fail "the test listener in $1 did not come up"
}

# lab_start NODE INDEX NAME ARGS...: `swarmd run ARGS` as lib.sh node NODE (INDEX picks its
# ports as in e2e_start) inside lab namespace NAME, listening on NAME's address and serving HTTP
# on 127.0.0.1 inside it. Never the built-in bootstrap list; the lab's internet counts as public.
lab_start() {
    local node=$1 i=$2 name=$3
    shift 3
    mkdir -p "$e2e_dir/$node"
    e2e_ns[$i]=$(lab_ns "$name")
    ip netns exec "$(lab_ns "$name")" env SWARMD_TREAT_AS_PUBLIC=198.18.0.0/15 \
        "$swarmd" --spec "$e2e_dir/spec.toml" --data-dir "$e2e_dir/$node" --no-default-bootstrap \
        --listen "/ip4/${lab_addr[$name]}/tcp/$((e2e_base + 2 * i))" --http "$(e2e_http "$i")" \
        run "$@" >> "$e2e_dir/$node/log" 2>&1 &
    e2e_pid[$node]=$!
}

# lab_start_trainers HOST... -- ARGS...: trainers node1, node2, ... on the lab hosts named, in
# turn: node1 first, the others with node1 as --bootstrap; each traces its updates (lib.sh's
# e2e_trace) and runs with ARGS. Returns once every one serves its status; lab_first is then
# node1's address, for nodes started later.
lab_first=""
lab_start_trainers() {
    local hosts=() i
    while [[ $# -gt 0 && $1 != -- ]]; do
        hosts+=("$1")
        shift
    done
    [[ $# -gt 0 ]] && shift
    [[ ${#hosts[@]} -gt 0 ]] || _lab_fail "lab_start_trainers: no host named"
    lab_start node1 1 "${hosts[0]}" "$(e2e_trace node1)" "$@"
    lab_wait_up 1 60
    lab_first=$(lab_maddr 1 "${hosts[0]}")
    for ((i = 2; i <= ${#hosts[@]}; i++)); do
        lab_start "node$i" "$i" "${hosts[i - 1]}" --bootstrap "$lab_first" "$(e2e_trace "node$i")" "$@"
    done
    for ((i = 2; i <= ${#hosts[@]}; i++)); do lab_wait_up "$i" 60; done
}

# lab_wait_up INDEX TIMEOUT: until node INDEX answers /api/status.
lab_wait_up() {
    local deadline=$((SECONDS + $2))
    until [[ -n "$(e2e_field "$1" peer_id)" ]]; do
        [[ $SECONDS -lt $deadline ]] || e2e_fail "node $1 did not serve its status in $2 s"
        sleep 0.2
    done
}

# lab_maddr INDEX NAME: node INDEX's libp2p address in lab namespace NAME, with its peer id.
lab_maddr() {
    echo "/ip4/${lab_addr[$2]}/tcp/$((e2e_base + 2 * $1))/p2p/$(e2e_field "$1" peer_id)"
}

# lab_status INDEX: node INDEX's /api/status (JSON), "" when it does not answer.
lab_status() {
    e2e_at "$1" curl -sf --max-time 3 "http://$(e2e_http "$1")/api/status" 2>/dev/null || true
}

# lab_link_to ID: with a node's /api/status on stdin, "direct" when it has a direct connection to
# peer ID, "relayed" when it has only a relayed one, "" when it has none.
lab_link_to() {
    python3 -c 'import json, sys
text = sys.stdin.read()
links = json.loads(text).get("links", []) if text.strip() else []
kinds = sorted({"relayed" if l["relayed"] else "direct" for l in links if l["peer"] == sys.argv[1]})
print("direct" if "direct" in kinds else (kinds[0] if kinds else ""))' "$1"
}

# lab_cleanup: stops the test listeners and deletes every namespace the lab made (their veths
# and bridges go with them). Safe to call twice.
lab_cleanup() {
    local pid ns
    if [[ -n "$lab_switch_pid" ]]; then
        kill -TERM "$lab_switch_pid" 2>/dev/null || true
        wait "$lab_switch_pid" 2>/dev/null || true
        lab_switch_pid=""
    fi
    for pid in "${lab_listener_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${lab_listener_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    lab_listener_pids=()
    for ns in "${lab_namespaces[@]}"; do
        # A process still inside would keep the namespace alive unnamed: name them.
        local left
        left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        [[ -z "$left" ]] || { echo "lab: killing $left left in $ns" >&2; kill -KILL $left 2>/dev/null || true; }
        ip netns del "$ns" 2>/dev/null || true
    done
    lab_namespaces=()
}
