#!/usr/bin/env bash
# clang-format over our C++ (.clang-format: Google base, indent 4, 100 columns).
#   scripts/format.sh          reformats the tree in place
#   scripts/format.sh --check  changes nothing; fails and names the files that differ (ctest runs this)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v clang-format >/dev/null || { echo "format: clang-format is not installed (scripts/setup.sh)" >&2; exit 1; }
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' | grep -vE '^(build|fuzz/corpus)/')
if [[ "${1:-}" == "--check" ]]; then
    bad=()
    for f in "${files[@]}"; do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
    done
    if [[ ${#bad[@]} -gt 0 ]]; then
        echo "format: ${#bad[@]} files differ from .clang-format (run scripts/format.sh):" >&2
        printf '  %s\n' "${bad[@]}" >&2
        exit 1
    fi
    echo "format: ${#files[@]} files match .clang-format"
else
    clang-format -i "${files[@]}"
fi
