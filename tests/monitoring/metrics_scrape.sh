#!/usr/bin/env bash
# What a Prometheus user scrapes: a bootstrap node and two trainers on loopback; once the trainers
# have trained, gossiped and synced a while, each node's /metrics goes through prometheus_client's
# exposition-format parser and the naming checks of check_metrics.py, and every metric the
# Grafana dashboard (docs/grafana/swarmd.json) queries must be among them.
source "$(dirname "$0")/../e2e/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" -c 'import prometheus_client' 2>/dev/null ||
    { echo "FAIL: $python cannot import prometheus_client (scripts/setup.sh installs python3-prometheus-client)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl is missing (scripts/setup.sh installs it)"; exit 1; }

e2e_init 3000
e2e_start_boot
for i in 1 2; do e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms 20; done
e2e_wait_round 1 60 180
e2e_wait_round 2 60 180
sleep 2  # a few heartbeats and gossip stats more
for i in 0 1 2; do
    curl -sf --max-time 5 "http://$(e2e_http "$i")/metrics" > "$e2e_dir/metrics$i.prom" ||
        e2e_fail "node $i served no /metrics"
done
# The trainers exported what the dashboard's training panels show, with real values.
for name in swarmd_round swarmd_updates_published_total swarmd_gossip_messages_received_total; do
    v=$(e2e_metric 1 "$name")
    awk -v v="$v" 'BEGIN { exit !(v > 0) }' || e2e_fail "node1's $name is $v"
done
"$python" "$here/check_metrics.py" "$e2e_root" "$e2e_root/docs/grafana/swarmd.json" \
    "$e2e_dir"/metrics{0,1,2}.prom || e2e_fail "the scrapes break the conventions (above)"
e2e_log "metrics: 3 scrapes parse and follow the conventions"
