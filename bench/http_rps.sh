#!/usr/bin/env bash
# Requests per second of `utcp http` for a small file under a concurrent
# client, beside a kernel server in the same run. The client is wrk (Debian
# package wrk): CONNS connections, one thread, SECS seconds, keep-alive and
# with "Connection: close" (a new connection per request). utcp http
# (--no-log) serves over TUN (client in the namespace, 198.18.0.1 -> .2);
# the kernel reference is bench/kernel_httpd.c (one thread, epoll, built
# here with cc -O2) over a veth pair between two namespaces (198.19.0.1 ->
# .2, MTU 1500, TSO/GSO/GRO off), as in bench/tun_throughput.sh. Needs root;
# namespaces utcp-bench-* only, deleted at the end, also on failure.
# usage: bench/http_rps.sh [BUILD_DIR] [SECS] [CONNS] [SIZE_BYTES]
set -euo pipefail
BUILD=${1:-build}; SECS=${2:-10}; CONNS=${3:-50}; SIZE=${4:-1024}
SRC=$(cd "$(dirname "$0")/.." && pwd)
UTCP=$(cd "$BUILD" && pwd)/tools/utcp
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 77; }
[ -x "$UTCP" ] || { echo "no $UTCP (build first)" >&2; exit 1; }
for t in ip wrk ethtool cc ss; do command -v $t >/dev/null || { echo "needs $t (scripts/deps.sh --bench)" >&2; exit 1; }; done

T=utcp-bench-http-$$; A=utcp-bench-ha-$$; B=utcp-bench-hb-$$
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in $T $A $B; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
export UTCP_RUN_DIR=$TMP/run
mkdir -p "$TMP/www"
head -c "$SIZE" /dev/urandom > "$TMP/www/small.bin"
cc -O2 -Wall -Wextra -o "$TMP/kernel_httpd" "$SRC/bench/kernel_httpd.c"

ip netns add $T; ip -n $T link set lo up
ip -n $T tuntap add dev ut0 mode tun multi_queue
ip -n $T addr add 198.18.0.1/24 dev ut0; ip -n $T link set ut0 mtu 1500 up
ip netns add $A; ip netns add $B
ip link add vhA type veth peer name vhB; ip link set vhA netns $A; ip link set vhB netns $B
ip -n $A addr add 198.19.0.1/24 dev vhA; ip -n $B addr add 198.19.0.2/24 dev vhB
ip -n $A link set vhA mtu 1500 up; ip -n $B link set vhB mtu 1500 up
ip netns exec $A ethtool -K vhA tso off gso off gro off >/dev/null
ip netns exec $B ethtool -K vhB tso off gso off gro off >/dev/null

wait_listen() { for _ in $(seq 100); do ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return; sleep 0.05; done; echo "no listener" >&2; exit 1; }

ip netns exec $T "$UTCP" http --dev ut0 --root "$TMP/www" --port 8080 --no-log 2> "$TMP/utcp.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q serving "$TMP/utcp.log" && break; sleep 0.05; done
ip netns exec $B "$TMP/kernel_httpd" 198.19.0.2 8080 "$TMP/www" &
PIDS+=($!)
wait_listen $B 8080

# rps NS URL [wrk args]: requests per second, and the error line if any
rps() {
  local ns=$1 url=$2; shift 2
  ip netns exec "$ns" wrk -t1 -c"$CONNS" -d"${SECS}s" "$@" "$url" > "$TMP/wrk.txt" 2>&1
  local r e
  r=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$TMP/wrk.txt")
  e=$(grep -E "Socket errors|Non-2xx" "$TMP/wrk.txt" | tr -s ' ' | tr '\n' ';' || true)
  echo "$r${e:+ ($e)}"
}
echo "wrk -t1 -c$CONNS -d${SECS}s, a $SIZE-byte file, requests per second:"
echo "  utcp http over TUN, keep-alive          $(rps $T http://198.18.0.2:8080/small.bin)"
echo "  kernel_httpd over veth, keep-alive      $(rps $A http://198.19.0.2:8080/small.bin)"
echo "  utcp http over TUN, Connection: close   $(rps $T http://198.18.0.2:8080/small.bin -H 'Connection: close')"
echo "  kernel_httpd over veth, Connection: close $(rps $A http://198.19.0.2:8080/small.bin -H 'Connection: close')"
