#!/usr/bin/env bash
# The include graph between folders: prints "folder -> folders it includes" and fails when the
# folders form a cycle. A module's detail/ folder is its private part and counts as the module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
folder() { local d; d=$(dirname "$1"); echo "${d%/detail}"; }
edges=$(
    find base crypto net bootstrap training rl node -name '*.hpp' -o -name '*.cpp' | sort | while read -r f; do
        from=$(folder "$f")
        grep -hoE '^#include "[^"]+"' "$f" | sed -E 's/^#include "(.*)"$/\1/' | while read -r inc; do
            [[ -f "$inc" ]] || continue
            to=$(folder "$inc")
            [[ "$from" == "$to" ]] || echo "$from $to"
        done
    done | sort -u
)
echo "$edges" | awk '{to[$1] = to[$1] " " $2} END {for (f in to) print f " ->" to[f]}' | sort
if ! echo "$edges" | tsort > /dev/null 2> /tmp/include_graph.$$; then
    echo "include_graph: the folders form a cycle:" >&2
    cat /tmp/include_graph.$$ >&2
    rm -f /tmp/include_graph.$$
    exit 1
fi
rm -f /tmp/include_graph.$$
echo "include_graph: no cycle between folders"
