#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, UBSan errors fatal) in build-fuzz/ and
# runs each one on a temporary copy of its corpus, then prints one table.
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh 5               every target, 5 s each
#   scripts/fuzz.sh 30 dns hello    the named targets, 30 s each
# Fails when a target crashed, leaked, timed out or hit a UBSan error; the inputs that did are
# kept in build-fuzz/artifacts/<target>/ and the fuzzer's output in build-fuzz/logs/<target>.log.
# New inputs stay in the temporary copy: add a small, interesting one to fuzz/corpus/<target>/
# by hand.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${1:-60}
[[ $# -gt 0 ]] && shift
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || {
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
}
build=$root/build-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# clang and its libFuzzer runtime (Debian 12: clang, and libclang-rt-dev, which clang only
# recommends).
probe() {
    printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
        >"$work/probe.cpp"
    command -v clang++ >/dev/null &&
        clang++ -fsanitize=fuzzer,address,undefined "$work/probe.cpp" -o "$work/probe" 2>/dev/null
}
if ! probe; then
    echo "fuzz: installing clang and libFuzzer"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get install -y clang libclang-rt-dev
    probe || { echo "fuzz: clang++ -fsanitize=fuzzer does not link" >&2; exit 1; }
fi

if [[ ! -f $build/build.ninja ]]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DSWARMD_FUZZ=ON -DSWARMD_BENCH=OFF
fi
cmake --build "$build" --target fuzz
built=$SECONDS

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//' | sort)
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build/logs"
rows=()
failed=()
for t in "${targets[@]}"; do
    bin=$build/fuzz/fuzz_$t
    if [[ ! -x $bin ]]; then
        echo "fuzz: no build-fuzz/fuzz/fuzz_$t: no such target, or one only the gcc build replays" >&2
        failed+=("$t")
        rows+=("$(printf '%-18s %12s %9s %6s %8s' "$t" - - - "not built")")
        continue
    fi
    corpus=$work/corpus/$t
    artifacts=$build/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    [[ -d fuzz/corpus/$t ]] && cp -r "fuzz/corpus/$t/." "$corpus/"
    seeds=$(find "$corpus" -type f | wc -l)
    before=$(find "$artifacts" -type f | wc -l)
    log=$build/logs/$t.log
    echo "fuzz: $t for ${seconds}s"
    rc=0
    "$bin" -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [[ -z $execs ]]; then  # no final stats after a crash: the last status line
        execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
        rate=$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    fi
    new=$(($(find "$corpus" -type f | wc -l) - seeds))
    crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
        failed+=("$t")
        [[ $crashes -eq 0 ]] && crashes="rc=$rc"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|artifact_prefix=|Test unit written)' \
            "$log" | head -5 >&2 || true
    fi
    rows+=("$(printf '%-18s %12s %9s %6s %8s' "$t" "${execs:-?}" "${rate:-?}" "$new" "$crashes")")
done

echo
printf '%-18s %12s %9s %6s %8s\n' target executions exec/s new crashes
printf '%s\n' "${rows[@]}"
echo "fuzz: ${built}s to install and build, $((SECONDS - built))s to run"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: failed: ${failed[*]} (inputs in build-fuzz/artifacts/, output in build-fuzz/logs/)" >&2
    exit 1
fi
