#!/usr/bin/env bash
# Interop (c): refused both ways, and the basics around it. The kernel pings
# utcp (ICMP echo); the kernel connects to a closed utcp port and gets RST
# (socat: Connection refused); utcp nc connects to a closed kernel port and
# exits 3; utcp nc connects to an address nobody answers for and exits 5
# (timed out); SIGTERM makes utcp nc -l exit 143; bad usage exits 2; a
# device that is not a TUN, or one another utcp holds, is a clear error.
. "$(dirname "$0")/lib.sh" "$@"

ns_up
note "bad usage and a missing device name are errors"
set +e
"$UTCP" nc > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "utcp nc without arguments exited $rc, want 2"
"$UTCP" nc 1.2.3 80 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "utcp nc with a bad host exited $rc, want 2"
"$UTCP" nc -l 99999 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "utcp nc with a bad port exited $rc, want 2"
in_ns "$UTCP" nc "${MODE_ARGS[@]}" --dev lo 198.18.0.1 5000 < /dev/null > /dev/null 2> "$TMP/lo.log"; rc=$?
set -e
[ $rc -eq 1 ] || fail "utcp nc --dev lo exited $rc, want 1"
grep -q "not a TUN device" "$TMP/lo.log" || fail "no clear message for --dev lo: $(cat "$TMP/lo.log")"

note "ping from the kernel; the kernel connects to a closed utcp port"
bg_unc -v -l 5000 < /dev/null > /dev/null 2> "$TMP/listen.log"
ncpid=$!
wait_for_line "$TMP/listen.log" "listening on"
in_ns ping -c 3 -i 0.2 -W 1 $UADDR > "$TMP/ping.log" || fail "ping $UADDR failed: $(cat "$TMP/ping.log")"
grep -q " 0% packet loss" "$TMP/ping.log" || fail "ping lost packets: $(cat "$TMP/ping.log")"
set +e
in_ns timeout 10 socat -u /dev/null TCP:$UADDR:5999 2> "$TMP/socat.log"; rc=$?
set -e
[ $rc -ne 0 ] || fail "socat to a closed utcp port succeeded"
grep -qi "connection refused" "$TMP/socat.log" || fail "socat did not report refused: $(cat "$TMP/socat.log")"

note "a second utcp on the same device: busy"
set +e
unc 198.18.0.1 5000 < /dev/null > /dev/null 2> "$TMP/busy.log"; rc=$?
set -e
[ $rc -eq 1 ] || fail "a second utcp nc on $DEV exited $rc, want 1"
grep -q "busy" "$TMP/busy.log" || fail "no 'busy' message: $(cat "$TMP/busy.log")"

note "SIGTERM stops utcp nc -l (exit 143)"
kill -TERM $ncpid
wait_pid $ncpid 5
[ "$WAIT_RC" -eq 143 ] || fail "utcp nc -l after SIGTERM exited $WAIT_RC, want 143"

note "utcp nc creates its own device and gives the kernel its address"
in_ns "$UTCP" nc "${MODE_ARGS[@]}" --dev ut1 --addr 198.18.1.2 --kernel-addr 198.18.1.1/24 -v -l 7000 \
  < /dev/null > "$TMP/own.out" 2> "$TMP/own.log" &
PIDS+=($!); ownpid=$!
wait_for_line "$TMP/own.log" "listening on"
in_ns ip -o addr show dev ut1 | grep -q "inet 198.18.1.1/24" || fail "ut1 has no 198.18.1.1/24: $(in_ns ip -o addr show dev ut1)"
echo "over ut1" | in_ns timeout 5 socat - TCP:198.18.1.2:7000 > "$TMP/own_kernel.out" ||
  fail "the kernel could not talk to utcp over ut1"
wait_pid $ownpid 5
[ "$WAIT_RC" -eq 0 ] || fail "utcp nc on ut1 exited $WAIT_RC"
[ "$(cat "$TMP/own.out")" = "over ut1" ] || fail "utcp got '$(cat "$TMP/own.out")'"
in_ns ip link show ut1 > /dev/null 2>&1 && fail "ut1 outlived utcp nc"

note "utcp nc to a closed kernel port: exit 3"
set +e
unc 198.18.0.1 5999 < /dev/null > /dev/null 2> "$TMP/refused.log"; rc=$?
set -e
[ $rc -eq 3 ] || fail "utcp nc to a closed port exited $rc, want 3: $(cat "$TMP/refused.log")"
grep -q "refused" "$TMP/refused.log" || fail "no 'refused' message: $(cat "$TMP/refused.log")"

note "utcp nc to an address nobody answers for: exit 5 (1 SYN retry, ~3 s)"
set +e
unc --syn-retries 1 198.18.0.9 5000 < /dev/null > /dev/null 2> "$TMP/timeout.log"; rc=$?
set -e
[ $rc -eq 5 ] || fail "utcp nc to a silent address exited $rc, want 5: $(cat "$TMP/timeout.log")"
echo "PASS: $TEST_NAME"
