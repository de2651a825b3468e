#!/usr/bin/env bash
# Interop: bench/tun_connserver, the utcp server of bench/tun_connrate.sh,
# against kernel clients in both close orders: 300 connections of the
# connrate kind (16-byte request, 16-byte reply), one that closes before its
# request is whole, one that resets after the reply; the counters printed
# on SIGTERM must add up (accepted, completed, short, resets, TIME_WAIT
# records left when utcp closed first), exit 0; bad usage exits 2. Plain
# mode: kernel GRO is on, and this traffic (lone segments with PSH, SYNs,
# FINs, ACKs) never goes through its NAPI queue.
. "$(dirname "$0")/lib.sh" "$@"

SERVER=$BUILD_DIR/bench/tun_connserver
[ -x "$SERVER" ] || skip "no $SERVER (configured with UTCP_BUILD_BENCH=OFF?)"

note "bad usage exits 2"
rc=0; "$SERVER" --port 0 2> "$TMP/usage.log" || rc=$?
[ $rc -eq 2 ] || fail "--port 0 exited $rc, not 2"
rc=0; "$SERVER" --no-such-option 2>> "$TMP/usage.log" || rc=$?
[ $rc -eq 2 ] || fail "an unknown option exited $rc, not 2"
"$SERVER" --help | grep -q "client-first" || fail "--help does not list --client-first"

ns_up
cat > "$TMP/client.py" <<'PY'
import socket, struct, sys
n, client_first = int(sys.argv[1]), sys.argv[2] == "client-first"
req = b"GET / HTTP/1.0\n\n"
def conn():
    return socket.create_connection(("198.18.0.2", 8081), timeout=10)
for i in range(n):
    c = conn()
    c.sendall(req)
    got = b""
    while len(got) < 16:
        d = c.recv(64)
        if not d: break
        got += d
    if got != b"HTTP/1.0 200 OK\n":
        sys.exit("connection %d: reply %r" % (i, got))
    if not client_first:            # utcp closes first: read its FIN
        if c.recv(64) != b"":
            sys.exit("connection %d: data after the reply" % i)
    c.close()
# a request cut short: 8 bytes, then FIN
c = conn(); c.sendall(req[:8]); c.shutdown(socket.SHUT_WR)
if c.recv(64) != b"":
    sys.exit("short request: got a reply")
c.close()
# a reset after the reply
c = conn(); c.sendall(req)
got = b""
while len(got) < 16:
    got += c.recv(64)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
PY

# value NAME FILE: the server's counter NAME
value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

for mode in server-first client-first; do
  note "$mode: 300 connections, a short request, a reset"
  bg_ns "$SERVER" "${MODE_ARGS[@]}" --dev "$DEV" --addr "$UADDR" --port 8081 "--$mode" \
    > "$TMP/$mode.out" 2> "$TMP/$mode.log"
  srv=$!
  wait_for_line "$TMP/$mode.log" "listening on"
  in_ns python3 "$TMP/client.py" 300 "$mode" || fail "$mode: client failed"
  sleep 0.3 # the last ACKs and the RST reach utcp
  kill -TERM "$srv"
  wait_pid "$srv" 10
  [ "$WAIT_RC" -eq 0 ] || fail "$mode: SIGTERM exit status $WAIT_RC, not 0"
  out=$TMP/$mode.out
  [ "$(value mode "$out")" = "$mode" ] || fail "$mode: mode line $(value mode "$out")"
  [ "$(value accepted "$out")" = 302 ] || fail "$mode: accepted $(value accepted "$out"), not 302"
  [ "$(value completed "$out")" = 300 ] || fail "$mode: completed $(value completed "$out"), not 300"
  [ "$(value short_requests "$out")" = 1 ] || fail "$mode: short_requests $(value short_requests "$out"), not 1"
  [ "$(value resets "$out")" = 1 ] || fail "$mode: resets $(value resets "$out"), not 1"
  [ "$(value errors "$out")" = 0 ] || fail "$mode: errors $(value errors "$out")"
  [ "$(value PassiveOpens "$out")" = 302 ] || fail "$mode: PassiveOpens $(value PassiveOpens "$out")"
  [ "$(value IllegalTransitions "$out")" = 0 ] || fail "$mode: IllegalTransitions"
  [ "$(value live_at_exit "$out")" = 0 ] || fail "$mode: live_at_exit $(value live_at_exit "$out")"
  if [ "$MODE" = plain ]; then
    [ "$(value kernel_gro "$out")" = 1 ] || fail "$mode: kernel GRO is off"
    [ "$(value dev_tx_gro "$out")" = 0 ] ||
      fail "$mode: $(value dev_tx_gro "$out") packets through the NAPI queue"
  fi
  tw=$(value timewait_at_exit "$out")
  if [ "$mode" = server-first ]; then
    # utcp closed first: each clean connection left a TIME_WAIT record
    # (60 s); the short one closed second, the reset one has none
    [ "$tw" = 300 ] || fail "$mode: timewait_at_exit $tw, not 300"
  else
    [ "$tw" = 0 ] || fail "$mode: timewait_at_exit $tw, not 0"
  fi
done
note "ok"
