#!/usr/bin/env bash
# Runs every libFuzzer target BUILD_DIR/fuzz/fuzz_* on a scratch copy of its
# seed corpus (fuzz/corpus/NAME for fuzz_NAME), sharing SECONDS between them.
# Fails when a target finds a crash (the reproducer is left in fuzz/ as
# crash-*, see docs/fuzzing.md); prints libFuzzer's closing lines for each.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: scripts/fuzz.sh BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)

targets=()
for t in "$build"/fuzz/fuzz_*; do
    [ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no fuzz_* binaries in $build/fuzz (configure with CC=clang -DUTCP_FUZZ=ON)" >&2
    exit 1
fi
each=$((seconds / ${#targets[@]}))
[ "$each" -ge 1 ] || each=1

scratch=$(mktemp -d "${TMPDIR:-/tmp}/utcp-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=0
for t in "${targets[@]}"; do
    name=$(basename "$t")
    seeds=$root/fuzz/corpus/${name#fuzz_}
    corpus=$scratch/$name
    mkdir -p "$corpus"
    if [ -d "$seeds" ]; then
        cp "$seeds"/* "$corpus"/ 2>/dev/null || true
    else
        echo "fuzz.sh: warning: no seed corpus $seeds for $name" >&2
    fi
    echo "fuzz.sh: $name for ${each}s on $(find "$corpus" -type f | wc -l) seeds"
    log=$scratch/$name.log
    rc=0
    # -rss_limit_mb stays below a CI machine's share; artifacts (crash-*,
    # timeout-*, leak-*) land in fuzz/, where .gitignore expects them.
    "$t" -max_total_time="$each" -print_final_stats=1 -rss_limit_mb=2048 \
        -timeout=10 -artifact_prefix="$root/fuzz/" "$corpus" >"$log" 2>&1 || rc=$?
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1 || true
    grep -E '^Done [0-9]+ runs' "$log" || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
    if [ "$rc" -ne 0 ]; then
        echo "fuzz.sh: $name FAILED (exit $rc); the end of its log:" >&2
        tail -n 60 "$log" >&2
        find "$root/fuzz" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' \
            -o -name 'leak-*' -o -name 'oom-*' \) | sed 's/^/fuzz.sh: reproducer: /' >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz.sh: a fuzz target failed; reproduce with: $build/fuzz/fuzz_NAME fuzz/crash-..." >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), no crash in ${seconds}s"
