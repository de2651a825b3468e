#!/usr/bin/env bash
# Plain-TUN transfers in several setups, each round interleaved with the
# device ceiling (../shared/peers tunbench tx), so each figure has a
# ceiling from the same moment: on a shared machine whose ceiling moves by
# a third between minutes, the per-round ratio is the figure to compare.
# A setup is NAME:up|down:NC_OPTIONS (utcp nc options after --no-offload;
# up: utcp sends --gen MB to socat, down: socat sends MB to utcp). Prints,
# per setup, the median Gbit/s (TCP payload), the median of the per-round
# ratios to the ceiling (Gbit/s of IP bytes), and every round.
# Needs root; everything happens in namespaces utcp-cmp-* (198.18.0.0/15),
# deleted at the end.
# usage: bench/tun_upload_cmp.sh BUILD_DIR ROUNDS MB SETUP...
#   e.g. bench/tun_upload_cmp.sh /work/rel 5 600 "p:up:" \
#          "gro:up:--kernel-gro" "gro-cubic:up:--kernel-gro --cc cubic"
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
BUILD=$1; ROUNDS=$2; MB=$3; shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
UTCP=$(cd "$BUILD" && pwd)/tools/utcp
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
[ -x "$UTCP" ] || { echo "no $UTCP (build first)" >&2; exit 1; }
for s in "$@"; do
  case "$s" in *:up:*|*:down:*) ;; *) echo "bad setup '$s' (NAME:up|down:OPTIONS)" >&2; exit 2;; esac
done
T=utcp-cmp-t-$$; C=utcp-cmp-c-$$
TMP=$(mktemp -d)
cleanup() {
  for n in $T $C; do
    for p in $(ip netns pids $n 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    ip netns del $n 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
bash "$HERE/peers_build.sh" "$TMP/peers" > /dev/null
export UTCP_RUN_DIR=$TMP/run
head -c $((MB * 1048576)) /dev/urandom > "$TMP/src"
ip netns add $C
ip netns add $T; ip -n $T link set lo up
ip -n $T tuntap add dev ut0 mode tun multi_queue
ip -n $T addr add 198.18.0.1/24 dev ut0; ip -n $T link set ut0 mtu 1500 up

wait_listen() { for _ in $(seq 100); do ip netns exec $T ss -Htln "sport = :$1" | grep -q . && return; sleep 0.02; done; }
gbps() { awk -v mb="$MB" -v ns="$1" 'BEGIN { printf "%.2f", mb * 1048576 * 8 / (ns / 1e9) / 1e9 }'; }
transfer() { # $1 up|down, then nc options; prints Gbit/s
  local dir=$1 s t0 t1; shift
  if [ "$dir" = up ]; then
    ip netns exec $T socat -b 65536 -u TCP-LISTEN:5002,reuseaddr OPEN:/dev/null & s=$!
    wait_listen 5002; t0=$(date +%s%N)
    # shellcheck disable=SC2068
    ip netns exec $T "$UTCP" nc --no-offload $@ --gen "${MB}m" --dev ut0 198.18.0.1 5002 < /dev/null > /dev/null
    wait $s; t1=$(date +%s%N)
  else
    ip netns exec $T socat -b 65536 -u OPEN:"$TMP/src" TCP-LISTEN:5001,reuseaddr & s=$!
    wait_listen 5001; t0=$(date +%s%N)
    # shellcheck disable=SC2068
    ip netns exec $T "$UTCP" nc --no-offload $@ --dev ut0 198.18.0.1 5001 < /dev/null > /dev/null
    t1=$(date +%s%N); wait $s
  fi
  gbps $((t1 - t0))
}
declare -A G Q
for r in $(seq "$ROUNDS"); do
  echo "round $r of $ROUNDS" >&2
  c=$(ip netns exec $C "$TMP/peers/tunbench" tx 1500 2 | sed -n 's/.*wrote .*= \([0-9.]*\) Gbit.*kernel.*/\1/p')
  G[ceiling]="${G[ceiling]:-}$c "
  for s in "$@"; do
    name=${s%%:*}; rest=${s#*:}; dir=${rest%%:*}; opts=${rest#*:}
    g=$(transfer "$dir" $opts)
    G[$name]="${G[$name]:-}$g "
    Q[$name]="${Q[$name]:-}$(awk -v g="$g" -v c="$c" 'BEGIN { printf "%.2f", g / c }') "
  done
done
median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
printf "%-16s %7s %8s   %s\n" "" "Gbit/s" "/ceiling" "rounds (Gbit/s | ratio to the round's ceiling)"
printf "%-16s %7s %8s   %s\n" ceiling "$(echo "${G[ceiling]}" | median)" 1.00 "${G[ceiling]}"
for s in "$@"; do
  name=${s%%:*}
  printf "%-16s %7s %8s   %s| %s\n" "$name" "$(echo "${G[$name]}" | median)" "$(echo "${Q[$name]}" | median)" "${G[$name]}" "${Q[$name]}"
done
echo "reproduce: bench/tun_upload_cmp.sh $BUILD $ROUNDS $MB$(printf ' "%s"' "$@")"
