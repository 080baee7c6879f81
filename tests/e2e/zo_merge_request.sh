#!/usr/bin/env bash
# End to end: `swarmd merge` asks a running swarm to merge early (and the dashboard is served). Two trainers of a long swarm
# (the default 3000 rounds); after a few dozen rounds one node is asked to merge; every node must
# merge at the round the request named, to the same model, long before the spec's merge round.
source "$(dirname "$0")/lib.sh"
e2e_init 3000
e2e_start_boot
for i in 1 2 3; do e2e_start "node$i" "$i" --bootstrap "$e2e_boot" --round-interval-ms 30; done
e2e_wait_round 1 40 120
# The dashboard: one self-contained page that polls /api/status.
if command -v curl >/dev/null; then
    page=$(curl -sf --max-time 3 "http://$(e2e_http 1)/") || e2e_fail "no dashboard at /"
    [[ "$page" == "<!doctype html>"* && "$page" == *'fetch("/api/status"'* ]] || e2e_fail "the dashboard page is not the expected one"
    [[ "$page" != *"http://"* && "$page" != *"https://"* ]] || e2e_fail "the dashboard loads external resources"
fi
answer=$("$swarmd" --http "$(e2e_http 1)" merge) || e2e_fail "swarmd merge failed: $answer"
e2e_log "$answer"
requested=$(echo "$answer" | awk '{print $NF}')
[[ "$requested" =~ ^[0-9]+$ && "$requested" -lt 3000 ]] || e2e_fail "unexpected answer: $answer"
# A second request for a later round changes nothing; one for an earlier round than any node's
# would be refused by none, so only check the later one.
"$swarmd" --http "$(e2e_http 2)" merge --round 2999 >/dev/null 2>&1 || true
e2e_wait_merged 90 1 2 3
for i in 1 2 3; do
    m=$(e2e_field "$i" merge_round)
    [[ "$m" == "$requested" ]] || e2e_fail "node$i merged at round $m, not the requested $requested"
    grep -q "\"merge_round\": $requested" "$e2e_dir/node$i/final/manifest.json" || e2e_fail "node$i's manifest does not name round $requested"
done
hash=$(e2e_same_hash 1 2 3)
e2e_log "all 3 nodes merged at round $requested to $hash"
# The bootstrap node trains nothing, so it refuses to start a merge.
if "$swarmd" --http "$(e2e_http 0)" merge >/dev/null 2>&1; then e2e_fail "the bootstrap node accepted a merge request"; fi
e2e_log "PASS"
