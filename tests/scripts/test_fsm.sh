#!/usr/bin/env bash
# `utcp fsm`: the table lists every state, --dot is accepted by Graphviz's
# dot, bad arguments exit 2.
set -euo pipefail
build=$1
utcp=$build/tools/utcp
out=$("$utcp" fsm)
for st in CLOSED LISTEN SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 \
          CLOSE_WAIT CLOSING LAST_ACK TIME_WAIT; do
    grep -q "^$st " <<<"$out" || { echo "fsm: state $st missing from the table"; exit 1; }
done
grep -qE '^FIN_WAIT_1 +TIME_WAIT +RCV_FIN_ACK_OF_FIN' <<<"$out" || { echo "fsm: FIN_WAIT_1 -> TIME_WAIT missing"; exit 1; }
grep -qE '^SYN_RECEIVED +LISTEN +RCV_RST' <<<"$out" || { echo "fsm: SYN_RECEIVED -> LISTEN missing"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$utcp" fsm --dot >"$tmp/fsm.dot"
dot -Tsvg "$tmp/fsm.dot" -o "$tmp/fsm.svg"
xmllint --noout "$tmp/fsm.svg"
grep -q 'TIME_WAIT' "$tmp/fsm.svg"
"$utcp" fsm --svg "$tmp/direct.svg"
xmllint --noout "$tmp/direct.svg"
grep -q 'FIN_WAIT_2' "$tmp/direct.svg"
set +e
"$utcp" fsm --svg >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || { echo "fsm: --svg without a file exited $rc, expected 2"; exit 1; }
"$utcp" fsm --bogus >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "fsm: bad argument exited $rc, expected 2"; exit 1; }
echo "fsm: ok"
