#!/usr/bin/env bash
# A local swarm on loopback, as real processes: one bootstrap node and N training nodes, each with
# its own data directory and ports. Shows a live table, waits for the final merge, checks that
# every node wrote the same merged model, and stops the swarm.
#
#   scripts/testnet.sh [N] [--mode zo|sapo] [--rounds R] [--round-interval-ms MS] [--keep]
#
# Installs missing packages and builds first. Without --rounds the embedded default spec is used
# unchanged; --rounds writes a variant of it (a different swarm id). --mode sapo runs
# docs/examples/sapo-testnet.toml instead: nodes alternate between its policy sizes, and the merge
# must agree within each architecture group.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMD_BUILD_DIR:-$root/build}

nodes=4
mode=""
rounds=""
interval=20
keep=0
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then nodes=$1; shift; fi
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mode) mode=${2:?--mode needs zo or sapo}; shift 2 ;;
        --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
        --round-interval-ms) interval=${2:?}; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "testnet: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ "$nodes" -ge 1 && "$nodes" -le 64 ]] || { echo "testnet: N must be 1..64" >&2; exit 2; }
[[ -z "$mode" || "$mode" == zo || "$mode" == sapo ]] || { echo "testnet: --mode is zo or sapo" >&2; exit 2; }
[[ -z "$rounds" || "$rounds" =~ ^[0-9]+$ ]] || { echo "testnet: --rounds needs a number" >&2; exit 2; }

echo "testnet: building swarmd (first build takes several minutes)"
"$root/scripts/build.sh" --target swarmd >/dev/null
swarmd="$build/node/swarmd"
dir=$(mktemp -d "${TMPDIR:-/tmp}/swarmd-testnet.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ $keep -eq 0 ]]; then rm -rf "$dir"; else echo "testnet: data kept in $dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spec_args=()
if [[ "$mode" == sapo ]]; then
    "$swarmd" --spec "$root/docs/examples/sapo-testnet.toml" spec show --canonical > "$dir/spec.toml"
elif [[ -n "$mode" || -n "$rounds" ]]; then
    "$swarmd" spec show --canonical > "$dir/spec.toml"
fi
if [[ -f "$dir/spec.toml" ]]; then
    [[ -z "$rounds" ]] || sed -i -E "s/^rounds = .*/rounds = $rounds/; s/^merge_round = .*/merge_round = $rounds/" "$dir/spec.toml"
    "$swarmd" spec check "$dir/spec.toml" >/dev/null || { echo "testnet: the variant spec is invalid" >&2; exit 1; }
    spec_args=(--spec "$dir/spec.toml")
fi
# SAPO: node i runs the spec's policies in turn.
policies=()
if [[ "$mode" == sapo ]]; then
    mapfile -t policies < <(awk '/^\[\[sapo.policies\]\]/ {p = 1} p && /^name = / {gsub(/"/, "", $3); print $3; p = 0}' "$dir/spec.toml")
fi
swarm_id=$("$swarmd" "${spec_args[@]}" spec show --id)
echo "testnet: swarm $swarm_id, $nodes nodes + 1 bootstrap node, data in $dir"

# Ports stay below the kernel's ephemeral range (32768 and up), where outgoing connections
# would take them.
base=$((10000 + RANDOM % 20000))
start_node() {  # name index extra-args...
    local name=$1 i=$2; shift 2
    mkdir -p "$dir/$name"
    # A local testnet stays local: the public DHT's bootstrap list is left out.
    "$swarmd" "${spec_args[@]}" --data-dir "$dir/$name" --no-default-bootstrap --listen "/ip4/127.0.0.1/tcp/$((base + 2 * i))" \
        --http "127.0.0.1:$((base + 2 * i + 1))" run "$@" > "$dir/$name/log" 2>&1 &
    pids+=($!)
}
"$swarmd" keygen --out "$dir/boot/identity.key" > "$dir/boot.id"
boot_addr="/ip4/127.0.0.1/tcp/$base/p2p/$(cat "$dir/boot.id")"
start_node boot 0 --bootstrap-node
for _ in $(seq 1 100); do  # the nodes dial it at once: let it listen first
    "$swarmd" --http "127.0.0.1:$((base + 1))" status --line >/dev/null 2>&1 && break
    sleep 0.2
done
for i in $(seq 1 "$nodes"); do
    policy_args=()
    [[ ${#policies[@]} -eq 0 ]] || policy_args=(--policy "${policies[$(((i - 1) % ${#policies[@]}))]}")
    start_node "node$i" "$i" --bootstrap "$boot_addr" --round-interval-ms "$interval" "${policy_args[@]}"
done
echo "testnet: bootstrap node $boot_addr"

status() { "$swarmd" --http "127.0.0.1:$((base + 2 * $1 + 1))" status --line 2>/dev/null || echo "(not answering)"; }
deadline=$((SECONDS + ${SWARMD_TESTNET_TIMEOUT:-900}))
while :; do
    sleep 3
    merged=0
    echo "---- $(date +%T)"
    for i in $(seq 1 "$nodes"); do
        line=$(status "$i")
        printf 'node%-3s %s\n' "$i" "$line"
        if [[ "$line" == *" merge merged "* ]]; then merged=$((merged + 1)); fi
        kill -0 "${pids[$i]}" 2>/dev/null || { echo "testnet: node$i exited; its log:"; tail -20 "$dir/node$i/log"; exit 1; }
    done
    if [[ $merged -eq $nodes ]]; then
        [[ "$mode" != sapo ]] && break
        # SAPO: a node merges again when it learns of a late commitment; wait until every
        # architecture group agrees.
        groups=$(for i in $(seq 1 "$nodes"); do status "$i"; done |
                 awk '{for (f = 1; f < NF; f++) if ($f == "policy") print $(f + 1), $NF}' | sort -u)
        [[ $(echo "$groups" | awk '{print $1}' | uniq -d | wc -l) -eq 0 ]] && break
    fi
    if [[ $SECONDS -ge $deadline ]]; then echo "testnet: timed out waiting for the merge" >&2; exit 1; fi
done

if [[ "$mode" == sapo ]]; then
    failed=0
    for i in $(seq 1 "$nodes"); do
        external=$(status "$i" | awk '{for (f = 1; f < NF; f++) if ($f == "external") print $(f + 1)}')
        if [[ -z "$external" || "$external" -eq 0 ]]; then
            echo "testnet: node$i trained on no external rollouts" >&2
            failed=1
        fi
    done
    echo "$groups" | while read -r policy hash; do
        count=$(for i in $(seq 1 "$nodes"); do status "$i"; done | grep -c " policy $policy ")
        echo "testnet: policy $policy: $count nodes merged to $hash"
    done
    [[ $failed -eq 0 ]] || exit 1
    echo "testnet: every node used external rollouts; each architecture group merged to one model"
    if [[ $keep -eq 1 ]]; then echo "testnet: manifests in $dir/node*/final/manifest.json"; fi
    exit 0
fi

hashes=$(for i in $(seq 1 "$nodes"); do status "$i" | awk '{print $NF}'; done | sort -u)
accuracy=$(status 1 | sed -E 's/.* accuracy ([^ ]+) .*/\1/')
if [[ $(echo "$hashes" | wc -l) -eq 1 ]]; then
    echo "testnet: all $nodes nodes merged to the same model $hashes (held-out accuracy $accuracy)"
    if [[ $keep -eq 1 ]]; then echo "testnet: manifests in $dir/node*/final/manifest.json"; fi
else
    echo "testnet: merged models differ between nodes:" >&2
    echo "$hashes" >&2
    exit 1
fi
