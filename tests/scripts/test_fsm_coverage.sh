#!/usr/bin/env bash
# Every row of the transition table (utcp fsm --all) is taken by at least
# one engine test: the tests log each transition they cause when
# UTCP_FSM_COVERAGE names a file (tests/support/seg.c, tnet.c).
set -euo pipefail
build=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log=$tmp/taken.txt
: >"$log"
ran=0
for t in "$build"/tests/test_scenarios "$build"/tests/test_listen \
         "$build"/tests/test_syn_sent "$build"/tests/test_syn_received \
         "$build"/tests/test_established "$build"/tests/test_closing_states \
         "$build"/tests/test_time_wait "$build"/tests/test_timewait_record \
         "$build"/tests/test_random; do
    [ -x "$t" ] || { echo "fsm coverage: missing test program $t"; exit 1; }
    UTCP_FSM_COVERAGE=$log "$t" >/dev/null 2>&1 || { echo "fsm coverage: $t failed"; exit 1; }
    ran=$((ran + 1))
done
"$build"/tools/utcp fsm --all | awk 'NR > 1 {print $1, $2, $3}' | sort -u >"$tmp/rows.txt"
sort -u "$log" >"$tmp/taken_u.txt"
missing=$(comm -23 "$tmp/rows.txt" "$tmp/taken_u.txt")
extra=$(comm -13 "$tmp/rows.txt" "$tmp/taken_u.txt")
if [ -n "$extra" ]; then
    echo "fsm coverage: transitions taken that are not in the table:"; echo "$extra"; exit 1
fi
if [ -n "$missing" ]; then
    echo "fsm coverage: rows no test takes:"; echo "$missing"; exit 1
fi
echo "fsm coverage: all $(wc -l <"$tmp/rows.txt") rows taken by $ran test programs"
