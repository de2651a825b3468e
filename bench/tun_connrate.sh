#!/usr/bin/env bash
# Connections per second with a Linux client (the peers' connrate: connect,
# 16-byte request, 16-byte reply, close) against utcp over TUN
# (bench/tun_connserver), lwIP over TUN (the peers' lwip_peer) and the
# Linux kernel over a veth pair (MTU 1500, TSO/GSO/GRO off) and over
# loopback, in both close orders, all in one run: the runs of the servers
# are interleaved, so load changes hit all of them alike. Reports medians,
# the ratios utcp/lwIP and utcp/Linux, and, from the client kernel's TCP
# counters sampled every second, the rate per 1-second interval: a collapse
# (an interval under a tenth of the run's best) or a client that must be
# killed is reported as a stall. Needs root; namespaces utcp-bench-*
# (198.18.0.0/15 only), deleted on every exit; kills only its own PIDs.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/tun_connrate.sh [OPTIONS] [BUILD_DIR]

Connection rate of a Linux client against utcp over TUN, lwIP over TUN and
the Linux kernel (veth MTU 1500 with offloads off, and loopback), in both
close orders, medians of RUNS runs of SECONDS each, runs interleaved.
BUILD_DIR (default: build) must hold bench/tun_connserver (a Release build
for figures).

options:
  --seconds N        length of one client run (default 10)
  --runs N           runs per server and close order (default 3)
  --threads N        connrate client threads (default 2: the machine's 2
                     cores; each thread has one connection in flight)
  --server-threads N threads of the Linux connrate server (default 2)
  --ports "LO HI"    ephemeral port range in the client namespaces (default
                     "1024 65535": 64,512 ports, so a run longer than
                     64512/rate seconds makes the client reuse ports; a
                     narrow range forces reuse sooner; use it with
                     --orders server-first: closing first, the client
                     itself keeps up to --tw-buckets ports in TIME_WAIT)
  --tw-buckets N     net.ipv4.tcp_max_tw_buckets in the client namespaces
                     (default 4096, as the peers' lwip_runs.sh: without a
                     cap, a client that closes first holds every port in
                     TIME_WAIT for 60 s and cannot go past 64512/60 conn/s)
  --parts LIST       comma-separated subset of utcp,lwip,veth,lo (default all)
  --orders LIST      comma-separated subset of server-first,client-first
                     (default both; server-first: the server, e.g. utcp,
                     closes first)
  --peers DIR        built peer harnesses (connrate, lwip_peer); default:
                     built now with bench/peers_build.sh into a temp dir
  --out DIR          keep every log there (default: a temp dir, deleted)
  --server-args ARGS more options for tun_connserver, e.g. "--tx-thread on"
                     or "--no-offload" (default: none)
  -h, --help         this text

exit status: 0 done (a stall is a result, not a failure), 1 error, 2 bad
usage, 77 not root or no peer harnesses.
EOF
}

SECS=10; RUNS=3; THREADS=2; STHREADS=2; PORTS="1024 65535"; TWB=4096
PARTS=utcp,lwip,veth,lo; ORDERS=server-first,client-first; PEERS=""; OUT=""
BUILD=build; SARGS=""
die_usage() { echo "tun_connrate: $*" >&2; echo "see --help" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die_usage "$1 needs a value"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "${2:-1}" ]; }
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --seconds) need_arg "$@"; SECS=$2; shift ;;
    --runs) need_arg "$@"; RUNS=$2; shift ;;
    --threads) need_arg "$@"; THREADS=$2; shift ;;
    --server-threads) need_arg "$@"; STHREADS=$2; shift ;;
    --ports) need_arg "$@"; PORTS=$2; shift ;;
    --tw-buckets) need_arg "$@"; TWB=$2; shift ;;
    --parts) need_arg "$@"; PARTS=$2; shift ;;
    --orders) need_arg "$@"; ORDERS=$2; shift ;;
    --peers) need_arg "$@"; PEERS=$2; shift ;;
    --out) need_arg "$@"; OUT=$2; shift ;;
    --server-args) need_arg "$@"; SARGS=$2; shift ;;
    -*) die_usage "unknown option $1" ;;
    *) BUILD=$1 ;;
  esac
  shift
done
is_uint "$SECS" 3 || die_usage "--seconds must be an integer >= 3"
is_uint "$RUNS" || die_usage "--runs must be a positive integer"
{ is_uint "$THREADS" && [ "$THREADS" -le 64 ]; } || die_usage "--threads must be 1..64"
{ is_uint "$STHREADS" && [ "$STHREADS" -le 64 ]; } || die_usage "--server-threads must be 1..64"
is_uint "$TWB" 0 || die_usage "--tw-buckets must be a number"
read -r PLO PHI <<<"$PORTS"
{ is_uint "${PLO:-}" 1024 && is_uint "${PHI:-}" && [ "$PHI" -le 65535 ] && [ "$PLO" -lt "$PHI" ]; } ||
  die_usage "--ports must be \"LO HI\" with 1024 <= LO < HI <= 65535"
NPORTS=$((PHI - PLO + 1))
declare -A WANT=()
IFS=, read -r -a _p <<<"$PARTS"
for p in "${_p[@]}"; do
  case $p in utcp|lwip|veth|lo) WANT[$p]=1 ;; *) die_usage "unknown part '$p' (utcp,lwip,veth,lo)" ;; esac
done
IFS=, read -r -a ORDER_LIST <<<"$ORDERS"
for o in "${ORDER_LIST[@]}"; do
  case $o in server-first|client-first) ;; *) die_usage "unknown order '$o'" ;; esac
done

[ "$(id -u)" -eq 0 ] || { echo "tun_connrate: needs root (namespaces, TUN)" >&2; exit 77; }
for t in ip ethtool timeout ss awk; do
  command -v $t >/dev/null || { echo "tun_connrate: needs $t (scripts/deps.sh --interop)" >&2; exit 1; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER=""
if [ -n "${WANT[utcp]:-}" ]; then
  [ -d "$BUILD" ] || { echo "tun_connrate: no build directory $BUILD" >&2; exit 1; }
  SERVER=$(cd "$BUILD" && pwd)/bench/tun_connserver
  [ -x "$SERVER" ] || { echo "tun_connrate: no $SERVER (build first)" >&2; exit 1; }
fi

TMP=$(mktemp -d /tmp/utcp-bench-connrate.XXXXXX)
LOG=${OUT:-$TMP/log}
mkdir -p "$LOG"
NS_T=utcp-bench-crt-$$; NS_L=utcp-bench-crl-$$; NS_A=utcp-bench-cra-$$
NS_B=utcp-bench-crb-$$; NS_O=utcp-bench-cro-$$
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in $NS_T $NS_L $NS_A $NS_B $NS_O; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
export UTCP_RUN_DIR=$TMP/run

if [ -z "$PEERS" ]; then
  PEERS=$TMP/peers
  "$HERE/peers_build.sh" "$PEERS" >/dev/null
fi
CONNRATE=$PEERS/connrate; LWIP=$PEERS/lwip_peer
[ -x "$CONNRATE" ] || { echo "tun_connrate: no $CONNRATE" >&2; exit 77; }
if [ -n "${WANT[lwip]:-}" ] && [ ! -x "$LWIP" ]; then
  echo "tun_connrate: no $LWIP (liblwip-dev: scripts/deps.sh --bench)" >&2; exit 77
fi

# ---- namespaces ----
client_sysctls() {
  ip netns exec "$1" sysctl -q -w net.ipv4.ip_local_port_range="$PLO $PHI" \
    net.ipv4.tcp_max_tw_buckets="$TWB"
}
tun_ns() { # NS DEV KERNEL_ADDR/24 [multi_queue]
  ip netns add "$1"; ip -n "$1" link set lo up
  ip -n "$1" tuntap add dev "$2" mode tun ${4:-}
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" link set "$2" mtu 1500 up
  client_sysctls "$1"
}
[ -n "${WANT[utcp]:-}" ] && tun_ns $NS_T ut0 198.18.0.1/24 multi_queue
# lwip_peer's addresses are fixed: lwIP 198.18.3.2, the kernel 198.18.3.1
[ -n "${WANT[lwip]:-}" ] && tun_ns $NS_L lw0 198.18.3.1/24
if [ -n "${WANT[veth]:-}" ]; then
  ip netns add $NS_A; ip netns add $NS_B
  ip -n $NS_A link set lo up; ip -n $NS_B link set lo up
  ip link add cvA-$$ type veth peer name cvB-$$
  ip link set cvA-$$ netns $NS_A name vA; ip link set cvB-$$ netns $NS_B name vB
  ip -n $NS_A addr add 198.19.0.1/24 dev vA; ip -n $NS_B addr add 198.19.0.2/24 dev vB
  ip -n $NS_A link set vA mtu 1500 up; ip -n $NS_B link set vB mtu 1500 up
  ip netns exec $NS_A ethtool -K vA tso off gso off gro off >/dev/null
  ip netns exec $NS_B ethtool -K vB tso off gso off gro off >/dev/null
  client_sysctls $NS_B
fi
if [ -n "${WANT[lo]:-}" ]; then
  ip netns add $NS_O; ip -n $NS_O link set lo up; client_sysctls $NS_O
fi

# ---- servers ----
wait_for() { # FILE PATTERN PID: until FILE has PATTERN (5 s)
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  echo "tun_connrate: server did not start, see $1:" >&2; cat "$1" >&2; exit 1
}
wait_listen() { # NS PORT PID
  for _ in $(seq 100); do
    ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  echo "tun_connrate: no listener on port $2 in $1" >&2; exit 1
}
declare -A SPID=()
start_servers() { # ORDER
  local o=$1 pid
  if [ -n "${WANT[utcp]:-}" ]; then
    # shellcheck disable=SC2086 # SARGS: words on purpose
    ip netns exec $NS_T "$SERVER" --dev ut0 --port 8081 --backlog 4096 \
      --"$o" --interval 1000 $SARGS > "$LOG/utcp-$o.server.out" 2> "$LOG/utcp-$o.server.err" &
    pid=$!; PIDS+=("$pid"); SPID[utcp]=$pid
    wait_for "$LOG/utcp-$o.server.err" "listening on" "$pid"
  fi
  if [ -n "${WANT[lwip]:-}" ]; then
    local arg=""; [ "$o" = client-first ] && arg=client-closes
    # shellcheck disable=SC2086
    ip netns exec $NS_L env LWIP_TUN=lw0 "$LWIP" 100000 $arg \
      > "$LOG/lwip-$o.server.out" 2>&1 &
    pid=$!; PIDS+=("$pid"); SPID[lwip]=$pid
    wait_for "$LOG/lwip-$o.server.out" "up on" "$pid"
  fi
  local smode=""; [ "$o" = client-first ] && smode="wait"
  if [ -n "${WANT[veth]:-}" ]; then
    # shellcheck disable=SC2086
    ip netns exec $NS_A "$CONNRATE" server 198.19.0.1 8081 "$STHREADS" $smode \
      > "$LOG/veth-$o.server.out" 2>&1 &
    pid=$!; PIDS+=("$pid"); SPID[veth]=$pid
    wait_listen $NS_A 8081 "$pid"
  fi
  if [ -n "${WANT[lo]:-}" ]; then
    # shellcheck disable=SC2086
    ip netns exec $NS_O "$CONNRATE" server 127.0.0.1 8081 "$STHREADS" $smode \
      > "$LOG/lo-$o.server.out" 2>&1 &
    pid=$!; PIDS+=("$pid"); SPID[lo]=$pid
    wait_listen $NS_O 8081 "$pid"
  fi
  sleep 0.5
}
stop_servers() {
  local p
  for p in "${!SPID[@]}"; do
    kill -TERM "${SPID[$p]}" 2>/dev/null || true
    wait "${SPID[$p]}" 2>/dev/null || true
  done
  SPID=()
}

# ---- one client run ----
# The sampler: the client kernel's TCP counters (ActiveOpens, AttemptFails,
# RetransSegs) once a second, with the time.
start_sampler() { # NS FILE
  # shellcheck disable=SC2016
  ip netns exec "$1" bash -c 'while :; do
      while read -r -a f; do
        [ "${f[0]}" = Tcp: ] && [ "${f[1]}" != RtoAlgorithm ] && v="${f[5]} ${f[7]} ${f[12]}"
      done < /proc/net/snmp
      echo "$EPOCHREALTIME $v"; sleep 1; done' > "$2" &
  SAMPLER=$!; PIDS+=("$SAMPLER")
}
stop_sampler() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }
# Intervals of a sampler file: connections established per second (opens
# minus failed attempts); the last interval (the client's end) left out.
analyse() { # FILE -> "N a,b,c MIN MAX COLLAPSED OPENS RETRANS"
  awk '{ t[NR] = $1; a[NR] = $2 - $3; r[NR] = $4 }
    END {
      n = 0; list = ""; min = -1; max = 0
      for (i = 2; i < NR; i++) {
        v = (a[i] - a[i-1]) / (t[i] - t[i-1]); n++
        list = list (n > 1 ? "," : "") sprintf("%.0f", v)
        if (min < 0 || v < min) min = v; if (v > max) max = v; val[n] = v
      }
      c = 0; for (i = 1; i <= n; i++) if (val[i] < max / 10) c++
      printf "%d %s %.0f %.0f %d %d %d\n", n, (n ? list : "-"),
             (min < 0 ? 0 : min), max, c, a[NR] - a[1], r[NR] - r[1]
    }' "$1"
}
declare -A VALS=() STALLS=()
run_one() { # PART ORDER RUN NS ADDR
  local part=$1 o=$2 run=$3 ns=$4 addr=$5 cf="" out rc=0 v stalled=no
  [ "$o" = client-first ] && cf=cfirst
  local tag=$part-$o-run$run
  start_sampler "$ns" "$LOG/$tag.samples"
  sleep 0.05
  # connrate checks its clock only between connections: a thread stuck in
  # connect (SYN retries) or read would hold it for minutes
  # (in the background: a signal to this script is handled at once)
  # shellcheck disable=SC2086
  ip netns exec "$ns" timeout -k 2 $((SECS + 10)) "$CONNRATE" client "$addr" 8081 \
    "$THREADS" "$SECS" $cf > "$LOG/$tag.client" 2>&1 &
  local cpid=$!; PIDS+=("$cpid")
  wait "$cpid" || rc=$?
  out=$(cat "$LOG/$tag.client")
  sleep 1.1
  stop_sampler
  local n list min max collapsed opens retrans
  read -r n list min max collapsed opens retrans < <(analyse "$LOG/$tag.samples")
  if [ "$rc" -eq 0 ] && [[ $out =~ ^([0-9]+)\ conn/s ]]; then
    v=${BASH_REMATCH[1]}
  else
    # killed: the figure is what its kernel established, over the run
    v=$(( opens / SECS )); stalled="yes (client killed after $((SECS + 10)) s)"
    out="client exit $rc; $opens connections established by its kernel"
  fi
  [ "$collapsed" -gt 0 ] && [ "$stalled" = no ] && stalled="yes ($collapsed of $n intervals under a tenth of the best)"
  VALS[$part,$o]+="$v "
  [ "$stalled" != no ] && STALLS[$part,$o]=$(( ${STALLS[$part,$o]:-0} + 1 ))
  local wrap=""
  [ "$opens" -gt "$NPORTS" ] && wrap=", ports reused: $opens connections > $NPORTS ports"
  printf '  %-5s %-12s run %d: %s\n' "$part" "$o" "$run" "$out"
  printf '        per 1-s interval (client kernel): %s (min %s, max %s); %s established, %s retransmitted segments%s; stall: %s\n' \
    "$list" "$min" "$max" "$opens" "$retrans" "$wrap" "$stalled"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ---- the run ----
echo "tun_connrate: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  client: connrate, $THREADS threads, $SECS s per run, $RUNS runs per server and order, ports $PLO-$PHI ($NPORTS), tcp_max_tw_buckets $TWB"
echo "  servers: utcp tun_connserver (one thread, TUN 198.18.0.2), lwip_peer (lwIP 2.1.3 over TUN 198.18.3.2), Linux connrate server ($STHREADS threads) over veth (MTU 1500, offloads off) and loopback"
echo "  logs: $LOG"
for o in "${ORDER_LIST[@]}"; do
  echo "== $o"
  start_servers "$o"
  for r in $(seq "$RUNS"); do
    [ -n "${WANT[utcp]:-}" ] && run_one utcp "$o" "$r" $NS_T 198.18.0.2
    [ -n "${WANT[lwip]:-}" ] && run_one lwip "$o" "$r" $NS_L 198.18.3.2
    [ -n "${WANT[veth]:-}" ] && run_one veth "$o" "$r" $NS_B 198.19.0.1
    [ -n "${WANT[lo]:-}" ] && run_one lo "$o" "$r" $NS_O 127.0.0.1
  done
  stop_servers
  if [ -n "${WANT[utcp]:-}" ]; then
    f=$LOG/utcp-$o.server.out
    echo "  utcp server counters ($o):" \
      "$(grep -E '^(accepted|completed|resets|errors|short_requests|live_at_exit|timewait_at_exit|TimeWaitRecycled|RetransSegs|Timeouts|ListenOverflows|ListenDrops|OutRsts|InRsts|PawsDrops|DroppedSegs|ChallengeAcks|IllegalTransitions|InErrs|dev_tx_dropped) ' "$f" | tr '\n' ' ')"
    echo "  TUN device, kernel side: $(ip -n $NS_T -s link show ut0 | awk '/TX:/ { getline; print "TX packets " $2 ", dropped " $4 }')"
  fi
  if [ -n "${WANT[lwip]:-}" ]; then
    echo "  lwIP TUN device, kernel side: $(ip -n $NS_L -s link show lw0 | awk '/TX:/ { getline; print "TX packets " $2 ", dropped " $4 }')"
  fi
done

echo
echo "| server | path | close order | conn/s (median) | runs | stalls | utcp / this |"
echo "|---|---|---|---:|---|---|---:|"
declare -A PATHS=([utcp]="utcp over TUN" [lwip]="lwIP over TUN" [veth]="Linux, veth MTU 1500, offloads off" [lo]="Linux, loopback")
for o in "${ORDER_LIST[@]}"; do
  u=""; [ -n "${WANT[utcp]:-}" ] && u=$(median <<<"${VALS[utcp,$o]}")
  for p in utcp lwip veth lo; do
    [ -n "${WANT[$p]:-}" ] || continue
    m=$(median <<<"${VALS[$p,$o]}")
    rt="-"; [ -n "$u" ] && [ "$p" != utcp ] && rt=$(ratio "$u" "$m")
    # a peer that stalled in most runs has no rate to compare with
    [ "$p" != utcp ] && [ $((2 * ${STALLS[$p,$o]:-0})) -gt "$RUNS" ] && rt="n/a ($p stalled)"
    echo "| ${p} | ${PATHS[$p]} | $o | $m | ${VALS[$p,$o]% } | ${STALLS[$p,$o]:-0} of $RUNS | $rt |"
    echo "result part=$p order=$o median=$m runs=\"${VALS[$p,$o]% }\" stalls=${STALLS[$p,$o]:-0}" >> "$LOG/results.txt"
  done
done
echo
echo "stall: the client had to be killed, or a 1-second interval fell under a tenth of the run's best; a killed client's figure (marked by its stall) is what its kernel established over the run"
