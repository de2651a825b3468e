#!/usr/bin/env bash
# Interop (6): the transfers of test_bulk through utcp's own impairment filter
# (this kernel has no netem): 5% loss, 5% reordering and 20 ms delay in each
# direction. Still byte-exact both ways; while the upload runs, `utcp stat`
# shows the connection and `utcp stat -s` its retransmissions. 50 MB each way
# as test_bulk (UTCP_INTEROP_IMPAIRED_KB, in KiB). utcp nc sends with BBR
# (--cc bbr, the tools' default, passed here explicitly), which, like the
# kernel's BBR in the other direction, does not take random loss for
# congestion: the upload runs at 6-10 MB/s (5.4-8.5 s, no timeout) with
# utcp nc's 4 MiB send buffer, where NewReno or CUBIC hold near Mathis's
# limit of MSS/RTT * 1.22/sqrt(p), about 0.14 MB/s at 5% loss and a 40 ms
# RTT (6 MB took 45 s with NewReno and RACK-TLP: 50 MB would take six
# minutes). The download from the kernel's BBR runs at 2.2-2.7 MB/s (20 s;
# utcp's receive window is 256 KiB).
. "$(dirname "$0")/lib.sh" "$@"
SIZE_KB=${UTCP_INTEROP_IMPAIRED_KB:-51200}
IMPAIR=(--loss 5 --reorder 5 --delay 20)

ns_up
head -c $((SIZE_KB * 1024)) /dev/urandom > "$TMP/src.bin"
want=$(sha "$TMP/src.bin")

note "upload through the filter, watched with utcp stat"
bg_ns socat -u TCP-LISTEN:5010,reuseaddr CREATE:"$TMP/up.bin"
server=$!
wait_kernel_listen 5010
bg_unc -v --cc bbr "${IMPAIR[@]}" --seed 7 198.18.0.1 5010 < "$TMP/src.bin" > /dev/null 2> "$TMP/up.log"
ncpid=$!
seen_conn=no; seen_rtx=no
for _ in $(seq 200); do
  kill -0 $ncpid 2>/dev/null || break
  if [ $seen_conn = no ] && "$UTCP" stat --pid $ncpid > "$TMP/stat.out" 2>/dev/null &&
     grep -q "ESTABLISHED .*198.18.0.1:5010 .* bbr:[a-z_]* " "$TMP/stat.out"; then
    seen_conn=yes; cat "$TMP/stat.out"
  fi
  if [ $seen_rtx = no ] && "$UTCP" stat -s --pid $ncpid > "$TMP/stats.out" 2>/dev/null &&
     awk '$1 == "RetransSegs" && $2 > 0 { f = 1 } END { exit !f }' "$TMP/stats.out"; then
    seen_rtx=yes; grep -E "RetransSegs|FilterDrop" "$TMP/stats.out"
  fi
  [ $seen_conn = yes ] && [ $seen_rtx = yes ] && break
  sleep 0.1
done
[ $seen_conn = yes ] || fail "utcp stat never showed the ESTABLISHED connection (with its cc, bbr:MODE)"
[ $seen_rtx = yes ] || fail "utcp stat -s never showed a retransmission"
wait_pid $ncpid 90
[ "$WAIT_RC" -eq 0 ] || fail "utcp nc (upload) exited $WAIT_RC"
wait_pid $server 10
got=$(sha "$TMP/up.bin")
[ "$got" = "$want" ] || fail "upload: SHA-256 differs ($(stat -c %s "$TMP/up.bin") bytes)"
grep "MB/s\|filter" "$TMP/up.log"

note "download through the filter"
bg_ns socat -u OPEN:"$TMP/src.bin" TCP-LISTEN:5011,reuseaddr
server=$!
wait_kernel_listen 5011
unc -v "${IMPAIR[@]}" --seed 8 198.18.0.1 5011 < /dev/null > "$TMP/down.bin" 2> "$TMP/down.log" ||
  fail "utcp nc (download) exited $?"
wait_pid $server 10
got=$(sha "$TMP/down.bin")
[ "$got" = "$want" ] || fail "download: SHA-256 differs ($(stat -c %s "$TMP/down.bin") bytes)"
grep "MB/s\|filter" "$TMP/down.log"
grep -q "filter dropped 0 out, 0 in" "$TMP/down.log" && fail "the filter dropped nothing"
echo "PASS: $TEST_NAME"
