#!/usr/bin/env bash
# Interop (d): close orders. utcp closes first: the kernel's `ss -tan` shows
# CLOSE_WAIT, then nothing; utcp's trace shows FIN_WAIT_2 then TIME_WAIT. The
# kernel closes first: the kernel shows TIME_WAIT; utcp goes CLOSE_WAIT ->
# LAST_ACK -> CLOSED. Abortive close both ways: utcp's RST is a reset for the
# kernel; the kernel's RST makes utcp nc exit 4 (reset).
. "$(dirname "$0")/lib.sh" "$@"

ns_up
cat > "$TMP/server.py" <<'PY'
import socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", port)); s.listen(1)
c, _ = s.accept()
if mode == "hold":          # read to EOF, stay in CLOSE_WAIT a while, close
    while c.recv(65536): pass
    time.sleep(1.0)
    c.close()
elif mode == "close":       # send a line and close at once
    c.sendall(b"bye\n"); c.close()
elif mode == "read":        # read until EOF or reset; report which
    try:
        while c.recv(65536): pass
        print("eof")
    except ConnectionResetError:
        print("reset")
elif mode == "abort":       # RST: SO_LINGER 0, then close
    time.sleep(0.3)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY

note "utcp closes first"
bg_ns python3 "$TMP/server.py" hold 5005
server=$!
wait_kernel_listen 5005
printf 'x' | unc --trace 198.18.0.1 5005 > /dev/null 2> "$TMP/first.log" &
ncpid=$!; PIDS+=($ncpid)
seen=no
for _ in $(seq 40); do
  if in_ns ss -Htan state close-wait "sport = :5005" | grep -q .; then seen=yes; break; fi
  sleep 0.05
done
[ $seen = yes ] || fail "the kernel never showed CLOSE_WAIT"
wait_pid $ncpid 10
[ "$WAIT_RC" -eq 0 ] || fail "utcp nc exited $WAIT_RC"
wait_pid $server 5
grep -n "FIN_WAIT_2\|TIME_WAIT" "$TMP/first.log" | head -5
l2=$(grep -n -- "-> FIN_WAIT_2" "$TMP/first.log" | head -1 | cut -d: -f1)
ltw=$(grep -n -- "FIN_WAIT_2 -> TIME_WAIT" "$TMP/first.log" | head -1 | cut -d: -f1)
[ -n "$l2" ] && [ -n "$ltw" ] && [ "$l2" -lt "$ltw" ] || fail "utcp's trace lacks FIN_WAIT_2 then TIME_WAIT"
gone=no
for _ in $(seq 40); do
  if ! in_ns ss -Htan "sport = :5005" | grep -q .; then gone=yes; break; fi
  sleep 0.05
done
[ $gone = yes ] || fail "the kernel still has the connection: $(in_ns ss -Htan "sport = :5005")"

note "the kernel closes first"
bg_ns python3 "$TMP/server.py" close 5006
server=$!
wait_kernel_listen 5006
(sleep 0.5) | unc --trace 198.18.0.1 5006 > "$TMP/bye.txt" 2> "$TMP/second.log" ||
  fail "utcp nc exited $?"
wait_pid $server 5
[ "$(cat "$TMP/bye.txt")" = bye ] || fail "utcp got '$(cat "$TMP/bye.txt")'"
in_ns ss -Htan state time-wait "sport = :5006" | grep -q . ||
  fail "the kernel shows no TIME_WAIT: $(in_ns ss -Htan)"
grep -q "CLOSE_WAIT -> LAST_ACK" "$TMP/second.log" || fail "utcp never went CLOSE_WAIT -> LAST_ACK"
grep -q "LAST_ACK -> CLOSED" "$TMP/second.log" || fail "utcp never went LAST_ACK -> CLOSED"

note "utcp aborts (RST)"
bg_ns python3 "$TMP/server.py" read 5007 > "$TMP/read.out"
server=$!
wait_kernel_listen 5007
printf 'data' | unc --rst-on-eof 198.18.0.1 5007 > /dev/null 2> "$TMP/abort1.log" ||
  fail "utcp nc --rst-on-eof exited $?"
wait_pid $server 5
[ "$(cat "$TMP/read.out")" = reset ] || fail "the kernel saw '$(cat "$TMP/read.out")', want reset"

note "the kernel aborts (RST): utcp nc exits 4"
bg_ns python3 "$TMP/server.py" abort 5008
server=$!
wait_kernel_listen 5008
set +e
(sleep 3) | unc 198.18.0.1 5008 > /dev/null 2> "$TMP/abort2.log"; rc=$?
set -e
wait_pid $server 5
[ $rc -eq 4 ] || fail "utcp nc after the kernel's RST exited $rc, want 4: $(cat "$TMP/abort2.log")"
grep -q "reset" "$TMP/abort2.log" || fail "no 'reset' message: $(cat "$TMP/abort2.log")"
note "SIGINT: utcp nc closes its connection gracefully (FIN) and exits 130"
cat > "$TMP/idle.py" <<'PY'
import socket, sys
c = socket.create_connection(("198.18.0.2", 5010), timeout=10)
try:
    got = c.recv(100)
    print("eof" if got == b"" else "data")
except ConnectionResetError:
    print("reset")
c.close()
PY
mkfifo "$TMP/idle.fifo"
sleep 30 > "$TMP/idle.fifo" &
PIDS+=($!)
bg_unc --trace -l 5010 < "$TMP/idle.fifo" > /dev/null 2> "$TMP/sigint.log"
ncpid=$!
wait_for_line "$TMP/sigint.log" "LISTEN"
bg_ns python3 "$TMP/idle.py" > "$TMP/idle.out"
client=$!
wait_for_line "$TMP/sigint.log" "SYN_RECEIVED -> ESTABLISHED"
kill -INT $ncpid
wait_pid $ncpid 5
[ "$WAIT_RC" -eq 130 ] || fail "utcp nc after SIGINT exited $WAIT_RC, want 130"
wait_pid $client 5
[ "$(cat "$TMP/idle.out")" = eof ] || fail "the kernel saw '$(cat "$TMP/idle.out")', want a clean end of stream"
grep -q "ESTABLISHED -> FIN_WAIT_1" "$TMP/sigint.log" || fail "no FIN after SIGINT (see sigint.log)"

note "a new connection on the same ports while the kernel is in TIME_WAIT"
# utcp's ISNs and timestamps grow from one process to the next (the
# runtime's per-boot secret), so the kernel's TIME_WAIT takes the new SYN at
# once instead of answering it with an ACK (a 1 s or, with PAWS, endless
# retry).
cat > "$TMP/twice.py" <<'PY'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 5009)); s.listen(2)
for i in range(2):
    c, _ = s.accept(); c.sendall(b"hi%d\n" % i); c.close()
PY
bg_ns python3 "$TMP/twice.py"
server=$!
wait_kernel_listen 5009
(sleep 0.2) | unc -p 45000 198.18.0.1 5009 > "$TMP/tw1.txt" 2> "$TMP/tw1.log" || fail "first connection: exit $?"
in_ns ss -Htan state time-wait "sport = :5009" | grep -q . || fail "the kernel is not in TIME_WAIT"
t0=$(date +%s%N)
(sleep 0.2) | unc -p 45000 198.18.0.1 5009 > "$TMP/tw2.txt" 2> "$TMP/tw2.log" || fail "second connection: exit $?"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait_pid $server 5
[ "$(cat "$TMP/tw1.txt")$(cat "$TMP/tw2.txt")" = hi0hi1 ] || fail "got '$(cat "$TMP/tw1.txt")' and '$(cat "$TMP/tw2.txt")'"
[ $ms -lt 800 ] || fail "the second connection took $ms ms (SYN answered by the kernel's TIME_WAIT?)"
echo "second connection on the same ports: $ms ms"
echo "PASS: $TEST_NAME"
