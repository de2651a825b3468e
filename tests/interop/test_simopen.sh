#!/usr/bin/env bash
# Simultaneous open and close against the kernel (RFC 9293 3.5, figure 8):
# utcp (port 5000) and the kernel (port 6000) connect to each other at once.
# utcp's SYN is held 300 ms by its own filter so the kernel's SYN finds utcp
# in SYN_SENT: utcp goes SYN_SENT -> SYN_RECEIVED -> ESTABLISHED, both FINs
# cross (FIN_WAIT_1 -> CLOSING -> TIME_WAIT), data arrives both ways, and the
# delayed last ACK still reaches the kernel after utcp nc stops.
. "$(dirname "$0")/lib.sh" "$@"

ns_up
cat > "$TMP/simopen.py" <<'PY'
import socket, sys
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind(("198.18.0.1", 6000)); c.settimeout(10)
open(sys.argv[2]).readline()   # "go": utcp is in SYN_SENT
c.connect(("198.18.0.2", 5000))
c.sendall(b"from the kernel\n"); c.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = c.recv(100)
    if not d: break
    got += d
open(sys.argv[1], "wb").write(got)
c.close()
PY
printf 'from utcp\n' > "$TMP/utcp_in.txt"
# The kernel's side starts first (python may be slow to start) and connects
# the moment it reads "go".
mkfifo "$TMP/go"
bg_ns python3 "$TMP/simopen.py" "$TMP/kernel_got.txt" "$TMP/go"
kpid=$!
exec 7<> "$TMP/go"
bg_unc --trace --delay 300 --impair-dir out -p 5000 198.18.0.1 6000 < "$TMP/utcp_in.txt" > "$TMP/utcp_got.txt" 2> "$TMP/simopen.log"
ncpid=$!
wait_for_line "$TMP/simopen.log" "CLOSED -> SYN_SENT"
echo go >&7
wait_pid $kpid 10
[ "$WAIT_RC" -eq 0 ] || fail "the kernel's connect failed"
wait_pid $ncpid 10
[ "$WAIT_RC" -eq 0 ] || fail "utcp nc exited $WAIT_RC"
[ "$(cat "$TMP/utcp_got.txt")" = "from the kernel" ] || fail "utcp got '$(cat "$TMP/utcp_got.txt")'"
[ "$(cat "$TMP/kernel_got.txt")" = "from utcp" ] || fail "the kernel got '$(cat "$TMP/kernel_got.txt")'"
grep -q "SYN_SENT -> SYN_RECEIVED" "$TMP/simopen.log" || fail "no simultaneous open (see simopen.log)"
grep -q "SYN_RECEIVED -> ESTABLISHED" "$TMP/simopen.log" || fail "SYN_RECEIVED never became ESTABLISHED"
grep -q "FIN_WAIT_1 -> CLOSING" "$TMP/simopen.log" || fail "no simultaneous close (see simopen.log)"
grep -q "CLOSING -> TIME_WAIT" "$TMP/simopen.log" || fail "CLOSING never became TIME_WAIT"
# the kernel got our last ACK: its socket is gone or in TIME_WAIT, not
# retransmitting its FIN in LAST_ACK / CLOSING
sleep 0.2
if in_ns ss -Htan "sport = :6000" | grep -qE "LAST-ACK|CLOSING|FIN-WAIT-1"; then
  fail "the kernel is still waiting for our last ACK: $(in_ns ss -Htan "sport = :6000")"
fi
grep -- "->" "$TMP/simopen.log" | sed "s/^utcp nc: [0-9.]* //"
echo "PASS: $TEST_NAME"
