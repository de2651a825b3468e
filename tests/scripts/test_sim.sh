#!/usr/bin/env bash
# Checks `utcp sim`: every scenario of `utcp sim --list` runs and exits 0;
# its pcap reads back in tshark with nothing malformed and every checksum
# good, and the TCP flags tshark decodes, in order, are the ones the ladder
# printed; --no-color output has no escape byte; bad arguments exit 2.
# Usage: test_sim.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=${1:?usage: test_sim.sh BUILD_DIR SOURCE_DIR}
utcp=$build/tools/utcp

fail() {
    echo "test_sim: FAIL: $*" >&2
    exit 1
}

command -v tshark >/dev/null ||
    fail "tshark not found: run 'bash scripts/deps.sh' (it installs tshark)"
[ -x "$utcp" ] || fail "$utcp not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/utcp-sim.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config
mkdir -p "$HOME"

# ---- the command line ----
expect_exit() { # expect_exit CODE PATTERN ARGS...: exit code and stderr
    local want=$1 pattern=$2 rc=0
    shift 2
    "$utcp" sim "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "utcp sim $* exited $rc, want $want"
    grep -q -- "$pattern" "$tmp/err" ||
        fail "utcp sim $*: stderr lacks '$pattern': $(cat "$tmp/err")"
}
expect_exit 2 'missing scenario NAME'
expect_exit 2 "unknown scenario 'no-such-scenario'" no-such-scenario
expect_exit 2 'classic' no-such-scenario # the list of names follows
expect_exit 2 "unknown option '--bogus'" classic --bogus
expect_exit 2 '--seed wants a non-negative integer' classic --seed abc
expect_exit 2 '--seed wants a non-negative integer' classic --seed -3
expect_exit 2 '--pcap needs a value' classic --pcap
expect_exit 2 'one scenario at a time' classic handshake
"$utcp" sim --help >"$tmp/help" || fail "--help exited $?"
grep -q '^usage: utcp sim' "$tmp/help" || fail "--help prints no usage"
rc=0
"$utcp" sim classic --pcap "$tmp/no/such/dir/x.pcap" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "an unwritable --pcap exited $rc, want 1"
grep -q "cannot write" "$tmp/err" || fail "no clear error for an unwritable pcap"

# Colour only when asked (stdout here is a file, not a terminal).
"$utcp" sim handshake >"$tmp/plain" || fail "handshake exited $?"
if LC_ALL=C grep -q $'\033' "$tmp/plain"; then
    fail "escape bytes in output to a file without --color"
fi
"$utcp" sim handshake --color >"$tmp/colour" || fail "--color exited $?"
LC_ALL=C grep -q $'\033\\[' "$tmp/colour" || fail "--color printed no ANSI colour"
cmp -s "$tmp/plain" <(sed 's/\x1b\[[0-9;]*m//g' "$tmp/colour") ||
    fail "--color output differs from the plain one by more than colour"

"$utcp" sim --list >"$tmp/list" || fail "--list exited $?"
mapfile -t names < <(awk '{print $1}' "$tmp/list")
[ "${#names[@]}" -ge 12 ] || fail "only ${#names[@]} scenarios listed"
while read -r name desc; do
    [ -n "$desc" ] || fail "scenario $name has no description"
done <"$tmp/list"

# tcp.flags (0x0012) as the ladder writes them ("[SYN, ACK]").
flag_names() {
    local v=$(($1)) out="" sep=""
    local bits=(FIN SYN RST PSH ACK URG ECE CWR)
    for i in 0 1 2 3 4 5 6 7; do
        if (((v >> i) & 1)); then
            out+="$sep${bits[$i]}"
            sep=", "
        fi
    done
    echo "[$out]"
}

# ---- every scenario ----
for name in "${names[@]}"; do
    pcap=$tmp/$name.pcap
    rc=0
    "$utcp" sim "$name" --seed 7 --pcap "$pcap" --no-color >"$tmp/$name.out" \
        2>"$tmp/$name.err" || rc=$?
    [ "$rc" -eq 0 ] || fail "scenario $name exited $rc: $(cat "$tmp/$name.err")"
    grep -q "^utcp sim $name: ok" "$tmp/$name.out" || fail "$name: no ok line"
    if LC_ALL=C grep -q $'\033' "$tmp/$name.out"; then
        fail "$name: --no-color output contains escape bytes"
    fi
    [ -s "$pcap" ] || fail "$name: empty pcap"

    bad=$(tshark -n -r "$pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
        -Y '_ws.malformed || tcp.checksum.status==0 || ip.checksum.status==0' \
        2>"$tmp/tshark.err") || fail "$name: tshark failed: $(cat "$tmp/tshark.err")"
    [ -z "$bad" ] || fail "$name: tshark finds bad packets:
$bad"

    # The flags of every arrow of the ladder, in order, vs tshark's.
    grep -E -- '(-|<|x)-+ \[' "$tmp/$name.out" |
        grep -oE '\[[A-Z]+(, [A-Z]+)*\]' >"$tmp/$name.ladder"
    tshark -n -r "$pcap" -T fields -e tcp.flags 2>"$tmp/tshark.err" |
        while read -r f; do flag_names "$f"; done >"$tmp/$name.tshark" ||
        fail "$name: tshark failed: $(cat "$tmp/tshark.err")"
    if ! diff -u "$tmp/$name.ladder" "$tmp/$name.tshark" >"$tmp/$name.diff"; then
        cat "$tmp/$name.diff" >&2
        fail "$name: the ladder's flags differ from the pcap's (- ladder, + tshark)"
    fi
    # Deterministic: the same seed prints the same ladder.
    "$utcp" sim "$name" --seed 7 --no-color >"$tmp/$name.again" 2>/dev/null ||
        fail "$name: second run failed"
    cmp -s "$tmp/$name.out" "$tmp/$name.again" ||
        fail "$name: two runs with seed 7 differ"
    echo "ok: $name ($(wc -l <"$tmp/$name.ladder") segments)"
done
echo "test_sim: PASS (${#names[@]} scenarios)"
