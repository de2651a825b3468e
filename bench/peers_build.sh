#!/usr/bin/env bash
# Builds the peer harnesses of ../shared/peers (the Linux-kernel and lwIP
# measurement programs utcp is compared with) into OUT_DIR, so benchmark
# scripts can run them beside utcp in one run. Prints OUT_DIR on success.
# Exits 77 (skip) when the peers directory is not there: the harnesses are
# reference tools kept beside the project, not part of it.
# usage: bench/peers_build.sh OUT_DIR [PEERS_DIR]
set -euo pipefail
OUT=${1:?usage: bench/peers_build.sh OUT_DIR [PEERS_DIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS=${2:-${UTCP_PEERS_DIR:-$HERE/../../shared/peers}}
[ -d "$PEERS" ] || { echo "peers_build: no peer harnesses at $PEERS (set UTCP_PEERS_DIR)" >&2; exit 77; }
mkdir -p "$OUT"
for p in connrate tcpbulk tunbench tuntcpsink; do
  gcc -O2 -pthread -o "$OUT/$p" "$PEERS/$p.c"
done
if pkg-config --exists lwip 2>/dev/null; then
  # shellcheck disable=SC2046
  gcc -O2 -pthread $(pkg-config --cflags lwip) -o "$OUT/lwip_peer" \
      "$PEERS/lwip_peer.c" $(pkg-config --libs lwip)
else
  echo "peers_build: liblwip-dev missing (scripts/deps.sh --bench): no lwip_peer" >&2
fi
echo "$OUT"
