#!/usr/bin/env bash
# Interop (b): half-close both ways. (1) utcp shuts down its sending side
# first; the kernel server reads to EOF, then still sends 1 MB, all of which
# utcp nc receives. (2) The kernel client shuts down first; utcp nc -l, in
# CLOSE_WAIT, still sends 1 MB, all of which the kernel receives.
. "$(dirname "$0")/lib.sh" "$@"

ns_up
head -c 1048576 /dev/urandom > "$TMP/mb.bin"
want=$(sha "$TMP/mb.bin")

note "utcp shuts down first, the kernel keeps sending 1 MB"
cat > "$TMP/server.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 5003)); s.listen(1)
c, _ = s.accept()
got = b""
while True:
    d = c.recv(65536)
    if not d: break
    got += d
open(sys.argv[2], "wb").write(got)
time.sleep(0.2)               # utcp is in FIN_WAIT_2 now
c.sendall(open(sys.argv[1], "rb").read())
c.close()
PY
bg_ns python3 "$TMP/server.py" "$TMP/mb.bin" "$TMP/server_got.bin"
server=$!
wait_kernel_listen 5003
printf 'request\n' | unc --trace 198.18.0.1 5003 > "$TMP/got1.bin" 2> "$TMP/nc1.log" ||
  fail "utcp nc exited $?"
wait_pid $server 10
[ "$WAIT_RC" -eq 0 ] || fail "kernel server exited $WAIT_RC"
[ "$(cat "$TMP/server_got.bin")" = request ] || fail "kernel got '$(cat "$TMP/server_got.bin")'"
[ "$(sha "$TMP/got1.bin")" = "$want" ] || fail "utcp received $(stat -c %s "$TMP/got1.bin") bytes, not the 1 MB sent"
grep -q "FIN_WAIT_1 -> FIN_WAIT_2" "$TMP/nc1.log" || fail "utcp never was in FIN_WAIT_2 (see nc1.log)"

note "the kernel shuts down first, utcp keeps sending 1 MB"
cat > "$TMP/client.py" <<'PY'
import socket, sys
c = socket.create_connection(("198.18.0.2", 5004), timeout=10)
c.sendall(b"hello from the kernel\n")
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = c.recv(65536)
    if not d: break
    got += d
open(sys.argv[1], "wb").write(got)
c.close()
PY
# utcp's stdin gives the 1 MB only once the kernel's FIN arrived (CLOSE_WAIT).
mkfifo "$TMP/in.fifo"
( for _ in $(seq 200); do
    grep -q "ESTABLISHED -> CLOSE_WAIT" "$TMP/nc2.log" 2>/dev/null && break
    sleep 0.05
  done
  cat "$TMP/mb.bin" ) > "$TMP/in.fifo" &
PIDS+=($!)
bg_unc --trace -v -l 5004 < "$TMP/in.fifo" > "$TMP/got2.txt" 2> "$TMP/nc2.log"
ncpid=$!
wait_for_line "$TMP/nc2.log" "listening on"
in_ns python3 "$TMP/client.py" "$TMP/client_got.bin" || fail "kernel client failed"
wait_pid $ncpid 10
[ "$WAIT_RC" -eq 0 ] || fail "utcp nc -l exited $WAIT_RC"
[ "$(cat "$TMP/got2.txt")" = "hello from the kernel" ] || fail "utcp got '$(cat "$TMP/got2.txt")'"
[ "$(sha "$TMP/client_got.bin")" = "$want" ] || fail "kernel received $(stat -c %s "$TMP/client_got.bin") bytes, not the 1 MB sent"
grep -q "ESTABLISHED -> CLOSE_WAIT" "$TMP/nc2.log" || fail "utcp never was in CLOSE_WAIT (see nc2.log)"
echo "PASS: $TEST_NAME"
