#!/usr/bin/env bash
# Bulk throughput over TUN, all in one run so the figures compare:
#   utcp in both TUN modes (offload: virtio-net header, checksum and TSO4
#   offloads; plain: --no-offload, as by default with kernel GRO (a second
#   queue with IFF_NAPI for data, threaded NAPI, a 20 us hold; no transmit
#   thread), and without it (--no-kernel-gro: with its transmit thread and,
#   "one thread", without), kernel -> utcp and utcp -> kernel
#   (utcp nc against socat, MTU 1500; utcp sends data it generates
#   (--gen, as iperf3 -n, lwIP's tcpbulk and tunbench do), and once per
#   round in plain mode a file from stdin, and with CUBIC for BBR; socat
#   moves 64 KiB per read() or
#   write(), as the peers' tcpbulk and tuntcpsink do: with socat's default
#   8 KiB writes the kernel sends ~6 KB GSO frames and is itself the
#   bottleneck, at about 1.7 Gbit/s whoever receives);
#   kernel -> kernel over a veth pair (MTU 1500, TSO, GSO and GRO off);
#   the plain TUN device ceiling (../shared/peers tunbench: one read() or
#   write() per 1500-byte packet, no TCP) and a do-nothing TCP sink over TUN
#   with offloads (tuntcpsink vnet: what the kernel can push up);
#   lwIP over TUN both ways (../shared/peers lwip_peer + tcpbulk).
# RUNS rounds, each measuring every row once (interleaved, so a noisy
# machine's slow phases hit all rows alike); each figure is the median over
# the rounds. A utcp or veth transfer moves SIZE_MB, timed from connect to
# the receiver's end of stream (wall clock); a peer run lasts SECS seconds. Gbit/s = 10^9 bit/s
# of TCP payload (tunbench: of IP bytes). Needs root; everything happens in
# namespaces utcp-bench-* (198.18.0.0/15), deleted at the end. The peers are
# built with bench/peers_build.sh; without them their rows are skipped.
# usage: bench/tun_throughput.sh [BUILD_DIR] [SIZE_MB] [RUNS] [SECS]
set -euo pipefail
BUILD=${1:-build}; SIZE_MB=${2:-200}; RUNS=${3:-3}; SECS=${4:-3}
BS=65536 # socat's block: the size of the kernel side's read() and write()
HERE=$(cd "$(dirname "$0")" && pwd)
UTCP=$(cd "$BUILD" && pwd)/tools/utcp
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
[ -x "$UTCP" ] || { echo "no $UTCP (build first)" >&2; exit 1; }
for t in ip socat ethtool; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 1; }; done

T=utcp-bench-tun-$$; A=utcp-bench-a-$$; B=utcp-bench-b-$$
C=utcp-bench-c-$$; L=utcp-bench-l-$$; S=utcp-bench-s-$$
TMP=$(mktemp -d)
LPID=
cleanup() {
  [ -n "$LPID" ] && { kill "$LPID" 2>/dev/null || true; wait "$LPID" 2>/dev/null || true; }
  for n in $T $A $B $C $L $S; do
    for p in $(ip netns pids $n 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    ip netns del $n 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
head -c $((SIZE_MB * 1048576)) /dev/urandom > "$TMP/src"
export UTCP_RUN_DIR=$TMP/run

PEERS=
if bash "$HERE/peers_build.sh" "$TMP/peers" > /dev/null 2> "$TMP/peers.log"; then
  PEERS=$TMP/peers
else
  echo "(peer harnesses not built: $(tail -1 "$TMP/peers.log"); their rows are skipped)"
fi

ip netns add $T; ip -n $T link set lo up
ip -n $T tuntap add dev ut0 mode tun multi_queue
ip -n $T addr add 198.18.0.1/24 dev ut0; ip -n $T link set ut0 mtu 1500 up
ip netns add $A; ip netns add $B
ip link add vA type veth peer name vB; ip link set vA netns $A; ip link set vB netns $B
ip -n $A addr add 198.19.0.1/24 dev vA; ip -n $B addr add 198.19.0.2/24 dev vB
ip -n $A link set vA mtu 1500 up; ip -n $B link set vB mtu 1500 up
ip netns exec $A ethtool -K vA tso off gso off gro off >/dev/null
ip netns exec $B ethtool -K vB tso off gso off gro off >/dev/null

now() { date +%s%N; }
wait_listen() { for _ in $(seq 100); do ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return; sleep 0.02; done; }
gbps() { echo "$SIZE_MB $1" | awk '{ printf "%.2f", $1 * 1048576 * 8 / ($2 / 1e9) / 1e9 }'; }
median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

# One round measures every row once, so slow phases of a noisy machine hit
# all of them alike; each figure is the median over the rounds.
declare -A res runs
add() { runs[$1]="${runs[$1]:-}${runs[$1]:+ }$2"; }
utcp_round() { # $1 = offload|plain|plainng|plainng1
  # plain: as by default (kernel GRO, no transmit thread); plainng: without
  # kernel GRO (then with the transmit thread); plainng1: neither
  local mode=$1 args=() s t0
  [ "$mode" = plain ] && args=(--no-offload)
  [ "$mode" = plainng ] && args=(--no-offload --no-kernel-gro)
  [ "$mode" = plainng1 ] && args=(--no-offload --no-kernel-gro --tx-thread off)
  ip netns exec $T socat -b $BS -u OPEN:"$TMP/src" TCP-LISTEN:5001,reuseaddr & s=$!
  wait_listen $T 5001; t0=$(now)
  ip netns exec $T "$UTCP" nc "${args[@]}" --dev ut0 198.18.0.1 5001 < /dev/null > /dev/null
  add k2u_$mode "$(gbps $(( $(now) - t0 )))"; wait $s

  # utcp sends data generated in memory (--gen, as iperf3 -n; as lwIP's
  # tcpbulk peer and the ceiling's tunbench do), not read from a file
  ip netns exec $T socat -b $BS -u TCP-LISTEN:5002,reuseaddr OPEN:/dev/null & s=$!
  wait_listen $T 5002; t0=$(now)
  ip netns exec $T "$UTCP" nc "${args[@]}" --gen "${SIZE_MB}m" --dev ut0 198.18.0.1 5002 < /dev/null > /dev/null
  wait $s; add u2k_$mode "$(gbps $(( $(now) - t0 )))"
}
utcp_up_round() { # plain mode, utcp sending ($1: its name, then nc options)
  local name=$1 s t0
  shift
  ip netns exec $T socat -b $BS -u TCP-LISTEN:5002,reuseaddr OPEN:/dev/null & s=$!
  wait_listen $T 5002; t0=$(now)
  ip netns exec $T "$UTCP" nc --no-offload "$@" --gen "${SIZE_MB}m" --dev ut0 198.18.0.1 5002 < /dev/null > /dev/null
  wait $s; add "u2k_$name" "$(gbps $(( $(now) - t0 )))"
}
utcp_file_round() { # plain mode, utcp sending the file from stdin, as before
  local s t0
  ip netns exec $T socat -b $BS -u TCP-LISTEN:5002,reuseaddr OPEN:/dev/null & s=$!
  wait_listen $T 5002; t0=$(now)
  ip netns exec $T "$UTCP" nc --no-offload --dev ut0 198.18.0.1 5002 < "$TMP/src" > /dev/null
  wait $s; add u2k_plainfile "$(gbps $(( $(now) - t0 )))"
}
mode_line=$(ip netns exec $T "$UTCP" nc -v --dev ut0 198.18.0.1 9 < /dev/null 2>&1 | grep "device ut0:" || true)

if [ -n "$PEERS" ] && [ -x "$PEERS/lwip_peer" ]; then
  ip netns add $L; ip -n $L link set lo up
  ip -n $L tuntap add dev btun1 mode tun
  ip -n $L addr add 198.18.3.1/24 dev btun1; ip -n $L link set btun1 mtu 1500 up
  ip netns exec $L "$PEERS/lwip_peer" 3600 > "$TMP/lwip.log" 2>&1 & LPID=$!
  sleep 1
fi
for r in $(seq "$RUNS"); do
  echo "round $r of $RUNS" >&2
  utcp_round offload
  utcp_round plain
  utcp_round plainng
  utcp_round plainng1
  utcp_file_round
  utcp_up_round plaincubic --cc cubic
  ip netns exec $B socat -b $BS -u TCP-LISTEN:5003,reuseaddr OPEN:/dev/null & s=$!
  wait_listen $B 5003; t0=$(now)
  ip netns exec $A socat -b $BS -u OPEN:"$TMP/src" TCP:198.19.0.2:5003
  wait $s; add k2k "$(gbps $(( $(now) - t0 )))"
  if [ -n "$PEERS" ]; then
    # The device ceiling: tunbench makes btun0 (198.18.1.0/24) in a fresh
    # namespace each time; tuntcpsink btun2 (198.18.4.0/24).
    ip netns add $C; ip -n $C link set lo up
    add ceil_rx "$(ip netns exec $C "$PEERS/tunbench" rx 1500 "$SECS" | sed -n 's/.*= \([0-9.]*\) Gbit.*/\1/p')"
    ip netns del $C; ip netns add $C; ip -n $C link set lo up
    add ceil_tx "$(ip netns exec $C "$PEERS/tunbench" tx 1500 "$SECS" | sed -n 's/.*wrote .*= \([0-9.]*\) Gbit.*kernel.*/\1/p')"
    ip netns del $C
    ip netns add $S; ip -n $S link set lo up
    add sink "$(ip netns exec $S "$PEERS/tuntcpsink" vnet "$SECS" | sed -n 's/^vnet: \([0-9.]*\) Gbit.*/\1/p')"
    ip netns del $S
    if [ -n "$LPID" ]; then
      add lwip_rx "$(ip netns exec $L timeout $((SECS + 10)) "$PEERS/tcpbulk" send 198.18.3.2 5001 "$SECS" | awk '{print $1}')"
      add lwip_tx "$(ip netns exec $L timeout $((SECS + 10)) "$PEERS/tcpbulk" recv 198.18.3.2 5002 "$SECS" | awk '{print $1}')"
      sleep 0.5
    fi
  fi
done
[ -n "$LPID" ] && { kill $LPID; wait $LPID 2>/dev/null || true; LPID=; }
for k in k2u_offload u2k_offload k2u_plain u2k_plain k2u_plainng u2k_plainng k2u_plainng1 u2k_plainng1 u2k_plainfile u2k_plaincubic k2k ceil_rx ceil_tx sink lwip_rx lwip_tx; do
  res[$k]=$(echo "${runs[$k]:-}" | median)
  res[${k}_runs]=${runs[$k]:-}
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
echo "TUN bulk throughput, MTU 1500, $SIZE_MB MB per utcp/veth transfer, $SECS s per peer run, median of $RUNS (Gbit/s of TCP payload)"
echo "utcp default mode here: ${mode_line#utcp nc: }"
printf "%-44s %7s %8s %8s   %s\n" "" "Gbit/s" "/lwIP" "/ceiling" "runs"
row() { printf "%-44s %7s %8s %8s   %s\n" "$1" "$2" "$3" "$4" "$5"; }
row "kernel -> utcp, offload" "${res[k2u_offload]}" "$(ratio "${res[k2u_offload]}" "${res[lwip_rx]}")" "$(ratio "${res[k2u_offload]}" "${res[ceil_rx]}")" "${res[k2u_offload_runs]}"
row "kernel -> utcp, plain" "${res[k2u_plain]}" "$(ratio "${res[k2u_plain]}" "${res[lwip_rx]}")" "$(ratio "${res[k2u_plain]}" "${res[ceil_rx]}")" "${res[k2u_plain_runs]}"
row "kernel -> utcp, plain, no kernel GRO" "${res[k2u_plainng]}" "$(ratio "${res[k2u_plainng]}" "${res[lwip_rx]}")" "$(ratio "${res[k2u_plainng]}" "${res[ceil_rx]}")" "${res[k2u_plainng_runs]}"
row "kernel -> utcp, plain, no GRO, one thread" "${res[k2u_plainng1]}" "$(ratio "${res[k2u_plainng1]}" "${res[lwip_rx]}")" "$(ratio "${res[k2u_plainng1]}" "${res[ceil_rx]}")" "${res[k2u_plainng1_runs]}"
row "kernel -> lwIP (plain TUN)" "${res[lwip_rx]}" "1.00" "$(ratio "${res[lwip_rx]}" "${res[ceil_rx]}")" "${res[lwip_rx_runs]:-}"
row "utcp -> kernel, offload" "${res[u2k_offload]}" "$(ratio "${res[u2k_offload]}" "${res[lwip_tx]}")" "$(ratio "${res[u2k_offload]}" "${res[ceil_tx]}")" "${res[u2k_offload_runs]}"
row "utcp -> kernel, plain" "${res[u2k_plain]}" "$(ratio "${res[u2k_plain]}" "${res[lwip_tx]}")" "$(ratio "${res[u2k_plain]}" "${res[ceil_tx]}")" "${res[u2k_plain_runs]}"
row "utcp -> kernel, plain, no kernel GRO" "${res[u2k_plainng]}" "$(ratio "${res[u2k_plainng]}" "${res[lwip_tx]}")" "$(ratio "${res[u2k_plainng]}" "${res[ceil_tx]}")" "${res[u2k_plainng_runs]}"
row "utcp -> kernel, plain, no GRO, one thread" "${res[u2k_plainng1]}" "$(ratio "${res[u2k_plainng1]}" "${res[lwip_tx]}")" "$(ratio "${res[u2k_plainng1]}" "${res[ceil_tx]}")" "${res[u2k_plainng1_runs]}"
row "utcp -> kernel, plain, stdin from a file" "${res[u2k_plainfile]}" "$(ratio "${res[u2k_plainfile]}" "${res[lwip_tx]}")" "$(ratio "${res[u2k_plainfile]}" "${res[ceil_tx]}")" "${res[u2k_plainfile_runs]}"
row "utcp -> kernel, plain, CUBIC" "${res[u2k_plaincubic]}" "$(ratio "${res[u2k_plaincubic]}" "${res[lwip_tx]}")" "$(ratio "${res[u2k_plaincubic]}" "${res[ceil_tx]}")" "${res[u2k_plaincubic_runs]}"
row "lwIP -> kernel (plain TUN)" "${res[lwip_tx]}" "1.00" "$(ratio "${res[lwip_tx]}" "${res[ceil_tx]}")" "${res[lwip_tx_runs]:-}"
row "kernel -> kernel, veth, offloads off" "${res[k2k]}" "" "" "${res[k2k_runs]}"
row "TUN ceiling rx (tunbench, IP bytes)" "${res[ceil_rx]}" "" "1.00" "${res[ceil_rx_runs]:-}"
row "TUN ceiling tx (tunbench, IP bytes)" "${res[ceil_tx]}" "" "1.00" "${res[ceil_tx_runs]:-}"
row "kernel -> null TCP sink, offload (tuntcpsink)" "${res[sink]}" "" "" "${res[sink_runs]:-}"
echo "ceiling: 1500-byte packets, one read()/write() each; a plain-TUN TCP stream carries 1448/1500 of it as payload"
echo "reproduce: bench/tun_throughput.sh $BUILD $SIZE_MB $RUNS $SECS"
