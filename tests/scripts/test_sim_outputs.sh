#!/usr/bin/env bash
# Checks the outputs and inputs of `utcp sim` beyond the ladder: the SVG
# picture is well-formed XML (xmllint) with the expected state labels, one
# arrow per segment and a cross per lost one; the JSON trace parses
# (python3 -m json.tool) with the expected counts; every example scenario
# script runs, and every built-in's script (--show) runs as a file; syntax errors exit 2 naming file:line:column; a failed
# expectation exits 1 naming file:line; `--random 50` passes.
# Usage: test_sim_outputs.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=${1:?usage: test_sim_outputs.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: test_sim_outputs.sh BUILD_DIR SOURCE_DIR}
utcp=$build/tools/utcp

fail() {
    echo "test_sim_outputs: FAIL: $*" >&2
    exit 1
}
for tool in xmllint python3; do
    command -v $tool >/dev/null ||
        fail "$tool not found: run 'bash scripts/deps.sh' (it installs it)"
done
[ -x "$utcp" ] || fail "$utcp not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/utcp-simout.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# count XPATH FILE: an XPath count over the SVG (namespace-agnostic).
count() {
    xmllint --xpath "count($1)" "$2"
}
svg_line() { # svg_line CLASS: <line> elements whose class contains CLASS
    echo "//*[local-name()='line' and contains(concat(' ', @class, ' '), ' $1 ')]"
}
svg_text() { # svg_text CLASS TEXT
    echo "//*[local-name()='text' and @class='$1' and normalize-space(.)='$2']"
}

# ---- SVG and JSON of built-in scenarios ----
for name in classic simultaneous-close lost-final-ack; do
    "$utcp" sim "$name" --svg "$tmp/$name.svg" --json "$tmp/$name.json" \
        --pcap "$tmp/$name.pcap" >/dev/null 2>"$tmp/err" ||
        fail "$name exited $?: $(cat "$tmp/err")"
    xmllint --noout "$tmp/$name.svg" || fail "$name.svg is not well-formed XML"
    python3 -m json.tool "$tmp/$name.json" >/dev/null ||
        fail "$name.json does not parse"
    segs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["segments"])' "$tmp/$name.json")
    lost=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["lost"])' "$tmp/$name.json")
    ab=$(count "$(svg_line ab)" "$tmp/$name.svg")
    ba=$(count "$(svg_line ba)" "$tmp/$name.svg")
    crosses=$(count "$(svg_line lost)" "$tmp/$name.svg")
    [ "$((ab + ba + crosses))" -eq "$segs" ] ||
        fail "$name.svg: $ab + $ba arrows and $crosses lost, the trace has $segs segments"
    [ "$crosses" -eq "$lost" ] || fail "$name.svg: $crosses crosses, $lost segments lost"
    for st in SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 TIME_WAIT CLOSED; do
        [ "$(count "$(svg_text state "$st")" "$tmp/$name.svg")" -ge 1 ] ||
            fail "$name.svg has no state label $st"
    done
    # The JSON has every segment with its header fields and fate.
    python3 - "$tmp/$name.json" "$name" <<'PY' || fail "$name.json: bad content"
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["events"]
assert d["schema"] == "utcp-sim-trace" and d["ok"] is True
assert d["counts"]["events"] == len(ev)
segs = [e for e in ev if e["kind"] == "segment"]
assert len(segs) == d["counts"]["segments"]
for e in segs:
    t = e["tcp"]
    for k in ("sport", "dport", "seq", "ack", "rel_seq", "flags", "win", "len", "checksum"):
        assert k in t, k
    assert e["fate"]["verdict"] in ("sent", "lost", "unroutable")
states = [e for e in ev if e["kind"] == "state"]
assert all(e["cause"] and e["cause_text"] for e in states)
assert [e["t_us"] for e in ev] == sorted(e["t_us"] for e in ev)
paths = {(c["node"], c["conn"]): c["path"] for c in d["connections"]}
assert any(p.endswith("TIME_WAIT>CLOSED") for p in paths.values())
if sys.argv[2] == "lost-final-ack":
    lost = [e for e in segs if e["fate"]["verdict"] == "lost"]
    assert len(lost) == 1 and lost[0]["fate"]["reason"] == "RULE"
    assert any(e["retransmit"] for e in segs)
PY
done
[ "$(count "$(svg_text state CLOSING)" "$tmp/simultaneous-close.svg")" -eq 2 ] ||
    fail "simultaneous-close.svg: CLOSING is not shown on both ends"
grep -q 'seq=101 ack=101' "$tmp/simultaneous-close.svg" ||
    fail "simultaneous-close.svg: the crossing FINs are not labelled"
grep -q 's later' "$tmp/classic.svg" || fail "classic.svg: no break mark for 2*MSL"
[ "$(wc -c <"$tmp/classic.svg")" -lt 60000 ] || fail "classic.svg is too large"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["counts"]["segments"] == 11, d["counts"]' \
    "$tmp/classic.json" || fail "classic.json: expected 11 segments"

# ---- the example scripts ----
n=0
for f in "$src"/examples/scenarios/*.utcp; do
    rc=0
    "$utcp" sim "$f" --svg "$tmp/ex.svg" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 0 ] || fail "$f exited $rc: $(cat "$tmp/err")"
    grep -q "^utcp sim $f: ok" "$tmp/out" || fail "$f: no ok line"
    xmllint --noout "$tmp/ex.svg" || fail "$f: SVG not well-formed"
    n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n example scenarios"

# Every built-in scenario is a script: --show prints it, and running that
# text as a file gives the same ladder as the built-in.
"$utcp" sim --list | awk '{print $1}' >"$tmp/names"
while read -r name; do
    "$utcp" sim --show "$name" >"$tmp/show.utcp" || fail "--show $name exited $?"
    "$utcp" sim "$tmp/show.utcp" --seed 3 --no-color >"$tmp/a" 2>"$tmp/err" ||
        fail "the script of $name exited $?: $(cat "$tmp/err")"
    "$utcp" sim "$name" --seed 3 --no-color >"$tmp/b" 2>"$tmp/err" ||
        fail "$name exited $?: $(cat "$tmp/err")"
    cmp -s <(sed '1d;$d' "$tmp/a") <(sed '1d;$d' "$tmp/b") ||
        fail "--show $name: the script runs differently from the built-in"
done <"$tmp/names"
rc=0
"$utcp" sim --show no-such >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--show of an unknown scenario exited $rc, want 2"
# A script's pcap holds the packets as sent: tshark finds nothing malformed
# even when the link corrupted copies in flight.
if command -v tshark >/dev/null; then
    "$utcp" sim "$src/examples/scenarios/lossy.utcp" --pcap "$tmp/lossy.pcap" >/dev/null ||
        fail "lossy.utcp with --pcap failed"
    bad=$(tshark -n -r "$tmp/lossy.pcap" -o tcp.check_checksum:TRUE \
        -Y '_ws.malformed || tcp.checksum.status==0' 2>"$tmp/tshark.err") ||
        fail "tshark: $(cat "$tmp/tshark.err")"
    [ -z "$bad" ] || fail "lossy.pcap has bad packets: $bad"
fi

# ---- errors ----
printf 'link both delay 10ms\nat 0 B.l listen 80\nA.c sned 5\n' >"$tmp/syntax.utcp"
rc=0
"$utcp" sim "$tmp/syntax.utcp" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "a syntax error exited $rc, want 2"
grep -q "^$tmp/syntax.utcp:3:5: error: unknown action 'sned'" "$tmp/err" ||
    fail "syntax error message: $(cat "$tmp/err")"

printf 'link both delay 10ms\nat 0 B.l listen 80\nat 0 A.c connect B 80\nat 1s expect A.c state CLOSING\n' \
    >"$tmp/expect.utcp"
rc=0
"$utcp" sim "$tmp/expect.utcp" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "a failed expectation exited $rc, want 1"
grep -q "^$tmp/expect.utcp:4: FAILED: A.c is in ESTABLISHED, expected CLOSING" "$tmp/err" ||
    fail "failed expectation message: $(cat "$tmp/err")"

rc=0
"$utcp" sim "$tmp/none.utcp" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "a missing script exited $rc, want 2"
rc=0
"$utcp" sim --random 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--random 0 exited $rc, want 2"

# ---- random runs ----
"$utcp" sim --random 50 --seed 1 --out "$tmp" >"$tmp/random" 2>"$tmp/err" ||
    fail "--random 50 failed: $(cat "$tmp/random" "$tmp/err")"
grep -q ': 50 passed, 0 failed;' "$tmp/random" || fail "--random summary: $(cat "$tmp/random")"
echo "test_sim_outputs: PASS ($n example scripts; $(cat "$tmp/random"))"
