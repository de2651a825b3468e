#!/usr/bin/env bash
# Bulk throughput over TUN: kernel -> utcp and utcp -> kernel (utcp nc against
# socat, MTU 1500), beside kernel -> kernel over a veth pair (MTU 1500, TSO,
# GSO and GRO off), measured in the same run. Each figure is the median of
# RUNS transfers of SIZE_MB, timed from connect to the receiver's end of
# stream (wall clock). Needs root; everything happens in namespaces
# utcp-bench-* (198.18.0.0/15) that are deleted at the end.
# usage: bench/tun_throughput.sh [BUILD_DIR] [SIZE_MB] [RUNS]
set -euo pipefail
BUILD=${1:-build}; SIZE_MB=${2:-200}; RUNS=${3:-3}
UTCP=$(cd "$BUILD" && pwd)/tools/utcp
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
[ -x "$UTCP" ] || { echo "no $UTCP (build first)" >&2; exit 1; }
for t in ip socat ethtool; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 1; }; done

T=utcp-bench-tun-$$; A=utcp-bench-a-$$; B=utcp-bench-b-$$
TMP=$(mktemp -d)
cleanup() { ip netns del $T 2>/dev/null || true; ip netns del $A 2>/dev/null || true
            ip netns del $B 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
head -c $((SIZE_MB * 1048576)) /dev/urandom > "$TMP/src"
export UTCP_RUN_DIR=$TMP/run

ip netns add $T; ip -n $T link set lo up
ip -n $T tuntap add dev ut0 mode tun
ip -n $T addr add 198.18.0.1/24 dev ut0; ip -n $T link set ut0 mtu 1500 up
ip netns add $A; ip netns add $B
ip link add vA type veth peer name vB; ip link set vA netns $A; ip link set vB netns $B
ip -n $A addr add 198.19.0.1/24 dev vA; ip -n $B addr add 198.19.0.2/24 dev vB
ip -n $A link set vA mtu 1500 up; ip -n $B link set vB mtu 1500 up
ip netns exec $A ethtool -K vA tso off gso off gro off >/dev/null
ip netns exec $B ethtool -K vB tso off gso off gro off >/dev/null

now() { date +%s%N; }
wait_listen() { for _ in $(seq 100); do ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return; sleep 0.02; done; }
mbps() { echo "$SIZE_MB $1" | awk '{ printf "%.0f", $1 * 1048576 / ($2 / 1e9) / 1e6 }'; }
median() { tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

k2u=(); u2k=(); k2k=()
for r in $(seq "$RUNS"); do
  ip netns exec $T socat -u OPEN:"$TMP/src" TCP-LISTEN:5001,reuseaddr & s=$!
  wait_listen $T 5001; t0=$(now)
  ip netns exec $T "$UTCP" nc --dev ut0 198.18.0.1 5001 < /dev/null > /dev/null
  k2u+=("$(mbps $(( $(now) - t0 )))"); wait $s

  ip netns exec $T socat -u TCP-LISTEN:5002,reuseaddr OPEN:/dev/null & s=$!
  wait_listen $T 5002; t0=$(now)
  ip netns exec $T "$UTCP" nc --dev ut0 198.18.0.1 5002 < "$TMP/src" > /dev/null
  wait $s; u2k+=("$(mbps $(( $(now) - t0 )))")

  ip netns exec $B socat -u TCP-LISTEN:5003,reuseaddr OPEN:/dev/null & s=$!
  wait_listen $B 5003; t0=$(now)
  ip netns exec $A socat -u OPEN:"$TMP/src" TCP:198.19.0.2:5003
  wait $s; k2k+=("$(mbps $(( $(now) - t0 )))")
done
echo "bulk throughput, $SIZE_MB MB per transfer, median of $RUNS (MB/s = 10^6 bytes/s):"
echo "  kernel -> utcp over TUN (utcp receives)  $(echo "${k2u[*]}" | median) MB/s   runs: ${k2u[*]}"
echo "  utcp -> kernel over TUN (utcp sends)     $(echo "${u2k[*]}" | median) MB/s   runs: ${u2k[*]}"
echo "  kernel -> kernel over veth, offloads off $(echo "${k2k[*]}" | median) MB/s   runs: ${k2k[*]}"
