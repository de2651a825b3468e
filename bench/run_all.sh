#!/usr/bin/env bash
# The "same run" driver: every utcp benchmark and the peers it is compared
# with (the Linux kernel, lwIP), one after the other on this machine, each
# one's output captured in a results directory, then a markdown summary:
# utcp's figures beside the peers' with ratios, the date, the machine, the
# load and the exact commands. Builds nothing: BUILD_DIR must be a Release
# build with the benches, tools/utcp and bench/tun_connserver. The parts
# that need namespaces and TUN run as root only (else they are skipped).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run_all.sh [OPTIONS] BUILD_DIR

Runs, in sequence: bench_bulk (0% and 1% loss), bench_lifecycle (both close
orders), bench_million, bench_checksum, the Linux peers (iperf3 over
loopback and over a veth pair with MTU 1500 and offloads off; connrate over
loopback, both orders), bench/tun_throughput.sh, bench/tun_connrate.sh, a
port-reuse run of it (utcp closes first, the client's ports narrowed to
60000-60999, so every SYN meets one of utcp's TIME_WAIT records) and
bench/http_rps.sh; then prints a markdown summary (also written to
OUT/summary.md). BUILD_DIR: a Release build (cmake -DCMAKE_BUILD_TYPE=Release).

options:
  --quick            short runs, about 2 minutes in all (default)
  --full             the durations of bench/RESULTS.md (about 8-10 minutes
                     on 2 cores)
  --parts LIST       comma-separated subset of bulk,instr,lifecycle,million,
                     checksum,linux,tun_throughput,tun_connrate,tun_reuse,
                     http
                     (default: all)
  --runs N           override the number of runs of every part
  --out DIR          results directory (default: bench-results-DATE in
                     the current directory); must not exist or be empty
  --peers DIR        built peer harnesses (default: built into OUT/peers
                     with bench/peers_build.sh)
  --any-build        accept a build that is not Release (figures are then
                     not comparable; the summary says so)
  -h, --help         this text

exit status: 0 every part ran (a part skipped for want of root, lwIP or
the peers counts as ran, and is marked), 1 a part failed (the summary
still prints; see its output file), 2 bad usage.
EOF
}

# Internal: the Linux peers, run as a process of its own (so that errors
# stop it, its namespaces go on any exit and a time limit applies):
# bench/run_all.sh --linux-peers PEERS IPERF_SECS IPERF_RUNS CR_SECS CR_RUNS

# iperf3: receiver Gbit/s of one stream
iperf_once() { # NS_SERVER NS_CLIENT ADDR SECS
  ip netns exec "$2" iperf3 -c "$3" -p 5201 -t "$4" -f g | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) == "Gbits/sec") print $i }'
}
linux_peers() { # PEERS IPERF_SECS IPERF_RUNS CR_SECS CR_RUNS
  local PEERS=$1 IPERF_SECS=$2 IPERF_RUNS=$3 CR_SECS=$4 CR_RUNS=$5 r pid o
  # globals: the EXIT trap needs them
  NS_LO=utcp-bench-ral-$$; NS_A=utcp-bench-raa-$$; NS_B=utcp-bench-rab-$$
  PIDS=()
  # shellcheck disable=SC2317
  lp_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for n in $NS_LO $NS_A $NS_B; do ip netns del "$n" 2>/dev/null || true; done
  }
  trap lp_cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
  for t in ip iperf3 ethtool ss; do command -v $t >/dev/null || { echo "needs $t (scripts/deps.sh --bench)"; return 1; }; done
  ip netns add $NS_LO; ip -n $NS_LO link set lo up
  ip netns exec $NS_LO sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_max_tw_buckets=4096
  ip netns add $NS_A; ip netns add $NS_B
  ip link add raA-$$ type veth peer name raB-$$
  ip link set raA-$$ netns $NS_A name vA; ip link set raB-$$ netns $NS_B name vB
  ip -n $NS_A addr add 198.19.0.1/24 dev vA; ip -n $NS_B addr add 198.19.0.2/24 dev vB
  ip -n $NS_A link set vA mtu 1500 up; ip -n $NS_B link set vB mtu 1500 up
  ip -n $NS_A link set lo up; ip -n $NS_B link set lo up
  ip netns exec $NS_A ethtool -K vA tso off gso off gro off >/dev/null
  ip netns exec $NS_B ethtool -K vB tso off gso off gro off >/dev/null
  echo "iperf3 -t $IPERF_SECS, one stream, loopback (namespace $NS_LO, 127.0.0.1):"
  ip netns exec $NS_LO iperf3 -s -B 127.0.0.1 -p 5201 > /dev/null 2>&1 & pid=$!; PIDS+=("$pid")
  sleep 0.5
  for r in $(seq "$IPERF_RUNS"); do echo "linux_lo_gbps $(iperf_once $NS_LO $NS_LO 127.0.0.1 "$IPERF_SECS")"; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "iperf3 -t $IPERF_SECS, one stream, veth MTU 1500, TSO/GSO/GRO off (198.19.0.2 -> 198.19.0.1):"
  ip netns exec $NS_A iperf3 -s -B 198.19.0.1 -p 5201 > /dev/null 2>&1 & pid=$!; PIDS+=("$pid")
  sleep 0.5
  for r in $(seq "$IPERF_RUNS"); do echo "linux_veth_gbps $(iperf_once $NS_A $NS_B 198.19.0.1 "$IPERF_SECS")"; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "connrate over loopback, 4 client threads, 2 server threads, $CR_SECS s (namespace $NS_LO; ports 1024-65535, tcp_max_tw_buckets 4096):"
  for o in server-first client-first; do
    local smode="" cmode=""
    [ $o = client-first ] && { smode="wait"; cmode="cfirst"; }
    # shellcheck disable=SC2086
    ip netns exec $NS_LO "$PEERS/connrate" server 127.0.0.1 8081 2 $smode > /dev/null 2>&1 & pid=$!; PIDS+=("$pid")
    for _ in $(seq 100); do ip netns exec $NS_LO ss -Htln "sport = :8081" | grep -q . && break; sleep 0.05; done
    for r in $(seq "$CR_RUNS"); do
      # shellcheck disable=SC2086
      echo "linux_connrate_lo_$o $(ip netns exec $NS_LO timeout -k 2 $((CR_SECS + 10)) "$PEERS/connrate" client 127.0.0.1 8081 4 "$CR_SECS" $cmode)"
      sleep 1
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}

if [ "${1:-}" = --linux-peers ]; then
  [ $# -eq 6 ] || { echo "run_all: --linux-peers PEERS IPERF_SECS IPERF_RUNS CR_SECS CR_RUNS" >&2; exit 2; }
  shift; linux_peers "$@"; exit 0
fi

MODE=quick; PARTS=bulk,instr,lifecycle,million,checksum,linux,tun_throughput,tun_connrate,tun_reuse,http
RUNS_OVERRIDE=""; OUT=""; PEERS=""; ANY_BUILD=""; BUILD=""
die_usage() { echo "run_all: $*" >&2; echo "see --help" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --parts) [ $# -ge 2 ] || die_usage "--parts needs a value"; PARTS=$2; shift ;;
    --runs) [ $# -ge 2 ] || die_usage "--runs needs a value"; RUNS_OVERRIDE=$2; shift ;;
    --out) [ $# -ge 2 ] || die_usage "--out needs a value"; OUT=$2; shift ;;
    --peers) [ $# -ge 2 ] || die_usage "--peers needs a value"; PEERS=$2; shift ;;
    --any-build) ANY_BUILD=1 ;;
    -*) die_usage "unknown option $1" ;;
    *) [ -z "$BUILD" ] || die_usage "one BUILD_DIR only"; BUILD=$1 ;;
  esac
  shift
done
[ -n "$BUILD" ] || die_usage "BUILD_DIR is required"
[ -d "$BUILD" ] || die_usage "no build directory $BUILD"
if [ -n "$RUNS_OVERRIDE" ]; then
  [[ $RUNS_OVERRIDE =~ ^[1-9][0-9]*$ ]] || die_usage "--runs must be a positive integer"
fi
declare -A WANT=()
IFS=, read -r -a _p <<<"$PARTS"
for p in "${_p[@]}"; do
  case $p in
    bulk|instr|lifecycle|million|checksum|linux|tun_throughput|tun_connrate|tun_reuse|http) WANT[$p]=1 ;;
    *) die_usage "unknown part '$p'" ;;
  esac
done

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
BTYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
# UTCP_LTO (on by default in Release) and whether the compiler took it
LTO=$(sed -n 's/^UTCP_LTO_ACTIVE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
case "$LTO" in ON|TRUE|1) LTO="LTO" ;; *) LTO="no LTO" ;; esac
if [ "$BTYPE" != Release ] && [ -z "$ANY_BUILD" ]; then
  echo "run_all: $BUILD is a '${BTYPE:-unknown}' build, not Release (cmake -DCMAKE_BUILD_TYPE=Release; or --any-build)" >&2
  exit 2
fi
for b in bench_bulk bench_lifecycle bench_million bench_checksum; do
  [ -z "${WANT[bulk]:-}${WANT[lifecycle]:-}${WANT[million]:-}${WANT[checksum]:-}" ] && break
  [ -x "$BUILD/bench/$b" ] || { echo "run_all: no $BUILD/bench/$b (build first)" >&2; exit 1; }
done
OUT=${OUT:-$PWD/bench-results-$(date -u +%Y%m%d-%H%M%S)}
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "run_all: $OUT exists and is not empty" >&2; exit 2
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT=""; [ "$(id -u)" -eq 0 ] && ROOT=1

# durations: quick | full
if [ $MODE = quick ]; then
  BULK_MIB=64; BULK_RUNS=1; LC_SECS=2; LC_RUNS=1; MILLION_ARGS=(--conns 100000)
  CK_SECS=0.05; IPERF_SECS=3; IPERF_RUNS=1; CR_SECS=3; CR_RUNS=1
  TT_MB=50; TT_RUNS=1; TCR_SECS=3; TCR_RUNS=1; REUSE_SECS=10; HTTP_SECS=2; PART_LIMIT=600
else
  BULK_MIB=256; BULK_RUNS=3; LC_SECS=5; LC_RUNS=3; MILLION_ARGS=()
  CK_SECS=0.3; IPERF_SECS=5; IPERF_RUNS=3; CR_SECS=5; CR_RUNS=3
  TT_MB=200; TT_RUNS=3; TCR_SECS=10; TCR_RUNS=3; REUSE_SECS=30; HTTP_SECS=10; PART_LIMIT=3600
fi
if [ -n "$RUNS_OVERRIDE" ]; then
  BULK_RUNS=$RUNS_OVERRIDE; LC_RUNS=$RUNS_OVERRIDE; IPERF_RUNS=$RUNS_OVERRIDE
  CR_RUNS=$RUNS_OVERRIDE; TT_RUNS=$RUNS_OVERRIDE; TCR_RUNS=$RUNS_OVERRIDE
fi

CURRENT=""
# shellcheck disable=SC2317
stop_current() { [ -z "$CURRENT" ] || { kill -TERM "$CURRENT" 2>/dev/null; wait "$CURRENT" 2>/dev/null; } || true; }
trap stop_current EXIT; trap 'exit 130' INT; trap 'exit 143' TERM

CMDS=$OUT/commands.txt; : > "$CMDS"
declare -A STATUS=() LOAD_FIRST=() LOAD_LAST=()
FAILED=""
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# part NAME FILE CMD...: runs CMD, output to OUT/FILE, notes the command,
# the load before and after and the exit status (77: skipped).
part() {
  local name=$1 file=$2 rc=0 l0; shift 2
  l0=$(loadavg)
  { printf '%q ' "$@"; echo; } | sed 's/ $//' >> "$CMDS"
  echo "run_all: [$(date -u +%H:%M:%S)] $name: $*" >&2
  # in the background, so that a signal to run_all is handled at once
  # (timeout passes it on to the part, whose own traps clean up)
  timeout -k 10 "$PART_LIMIT" "$@" > "$OUT/$file" 2>&1 &
  CURRENT=$!
  wait "$CURRENT" || rc=$?
  CURRENT=""
  [ $rc -eq 124 ] && echo "# killed after $PART_LIMIT s" >> "$OUT/$file"
  echo "# exit $rc, load before $l0, after $(loadavg)" >> "$OUT/$file"
  if [ $rc -eq 77 ]; then STATUS[$name]="skipped (see $file)"
  elif [ $rc -ne 0 ]; then STATUS[$name]="FAILED (exit $rc, see $file)"; FAILED=1
  else STATUS[$name]=${STATUS[$name]:-ok}; fi
  LOAD_FIRST[$name]=${LOAD_FIRST[$name]:-$l0}; LOAD_LAST[$name]=$(loadavg)
  return 0
}
skip() { STATUS[$1]="skipped: $2"; echo "run_all: $1 skipped: $2" >&2; }

T0=$(date -u '+%Y-%m-%d %H:%M:%S UTC'); LOAD0=$(loadavg)
GITREV=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
GITDIRTY=""
if git -C "$SRC" status --porcelain 2>/dev/null | grep -qv '^??'; then GITDIRTY=" (uncommitted changes)"; fi

# ---- in-memory benches ----
if [ -n "${WANT[bulk]:-}" ]; then
  for r in $(seq "$BULK_RUNS"); do
    part bulk "bulk-$r.txt" "$BUILD/bench/bench_bulk" --mib "$BULK_MIB"
    # as Linux's loopback works: no checksum work on a wire that cannot
    # corrupt, the applications reading and writing in place, the sender
    # writing 64 KiB at a time while the receiver reads (as iperf does)
    # the default copying, checksumming mode with 256 KiB buffers: what
    # the stack costs when its data stays in the cache (4 MiB rings, a 4
    # MiB wire queue and the application's copies do not fit a core's L2)
    part bulk "bulkbuf256-$r.txt" "$BUILD/bench/bench_bulk" --mib "$BULK_MIB" --loss 0 --buf 256
    # the default mode with the sender writing 128 KiB per turn of the
    # loop, as iperf3 writes to Linux's loopback (where each write reaches
    # the receiver before the next): the data is still in the cache
    part bulk "bulkw2-$r.txt" "$BUILD/bench/bench_bulk" --mib "$BULK_MIB" --alloc pool --writes 2
    part bulk "bulkzc-$r.txt" "$BUILD/bench/bench_bulk" --mib "$BULK_MIB" --loss 0 --zerocopy --offload --writes 4
    part bulk "bulkzc256-$r.txt" "$BUILD/bench/bench_bulk" --mib "$BULK_MIB" --loss 0 --zerocopy --offload --buf 256
  done
fi
# instructions per byte, noise-free: callgrind counts every instruction of
# the process (the benchmark's own checks of every byte included)
INSTR_MIB=32
if [ -n "${WANT[instr]:-}" ]; then
  if ! command -v valgrind >/dev/null; then skip instr "needs valgrind (scripts/deps.sh --bench)"
  else
    part instr instr-default.txt valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$BUILD/bench/bench_bulk" --mib "$INSTR_MIB" --loss 0 --alloc pool
    part instr instr-zc.txt valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$BUILD/bench/bench_bulk" --mib "$INSTR_MIB" --loss 0 --alloc pool --zerocopy --offload --writes 4
  fi
fi
if [ -n "${WANT[lifecycle]:-}" ]; then
  for r in $(seq "$LC_RUNS"); do
    part lifecycle "lifecycle-cfirst-$r.txt" "$BUILD/bench/bench_lifecycle" --seconds "$LC_SECS"
    part lifecycle "lifecycle-sfirst-$r.txt" "$BUILD/bench/bench_lifecycle" --seconds "$LC_SECS" --server-first
  done
fi
[ -n "${WANT[million]:-}" ] && part million million.txt "$BUILD/bench/bench_million" "${MILLION_ARGS[@]}"
[ -n "${WANT[checksum]:-}" ] && part checksum checksum.txt "$BUILD/bench/bench_checksum" --seconds "$CK_SECS"

# ---- the peers need root, namespaces, the harnesses ----
need_peers() {
  [ -n "$PEERS" ] && return 0
  PEERS=$OUT/peers
  local rc=0
  "$SRC/bench/peers_build.sh" "$PEERS" > "$OUT/peers_build.txt" 2>&1 || rc=$?
  [ $rc -eq 0 ] || { PEERS=""; return 1; }
}

if [ -n "${WANT[linux]:-}" ]; then
  if [ -z "$ROOT" ]; then skip linux "needs root (namespaces)"
  elif ! need_peers; then skip linux "no peer harnesses (see peers_build.txt)"
  else part linux linux.txt bash "$SRC/bench/run_all.sh" --linux-peers "$PEERS" "$IPERF_SECS" "$IPERF_RUNS" "$CR_SECS" "$CR_RUNS"; fi
fi
if [ -n "${WANT[tun_throughput]:-}" ]; then
  if [ -z "$ROOT" ]; then skip tun_throughput "needs root"
  else part tun_throughput tun_throughput.txt "$SRC/bench/tun_throughput.sh" "$BUILD" "$TT_MB" "$TT_RUNS"; fi
fi
if [ -n "${WANT[tun_connrate]:-}" ]; then
  if [ -z "$ROOT" ]; then skip tun_connrate "needs root"
  elif ! need_peers; then skip tun_connrate "no peer harnesses (see peers_build.txt)"
  else part tun_connrate tun_connrate.txt "$SRC/bench/tun_connrate.sh" --seconds "$TCR_SECS" \
         --runs "$TCR_RUNS" --peers "$PEERS" --out "$OUT/tun_connrate" "$BUILD"; fi
fi
if [ -n "${WANT[tun_reuse]:-}" ]; then
  if [ -z "$ROOT" ]; then skip tun_reuse "needs root"
  elif ! need_peers; then skip tun_reuse "no peer harnesses (see peers_build.txt)"
  else part tun_reuse tun_reuse.txt "$SRC/bench/tun_connrate.sh" --parts utcp --orders server-first \
         --ports "60000 60999" --seconds "$REUSE_SECS" --runs 1 --peers "$PEERS" --out "$OUT/tun_reuse" "$BUILD"; fi
fi
if [ -n "${WANT[http]:-}" ]; then
  if [ -z "$ROOT" ]; then skip http "needs root"
  else part http http_rps.txt "$SRC/bench/http_rps.sh" "$BUILD" "$HTTP_SECS" 50 1024; fi
fi
T1=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# ---- the summary ----
med() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
vals() { # FILE-GLOB KEY: every figure after KEY in those files, one a line
  # shellcheck disable=SC2086
  { cat "$OUT"/$1 2>/dev/null || true; } | awk -v k="$2" '$1 == k && $2 ~ /^[0-9.]+$/ { print $2 }'
}
vals_col() { # FILE-GLOB COL1 COL2 N: column N of the lines starting COL1 COL2
  # shellcheck disable=SC2086
  { cat "$OUT"/$1 2>/dev/null || true; } | awk -v a="$2" -v b="$3" -v n="$4" '$1 == a && $2 == b { print $n }'
}
list() { tr '\n' ' ' | sed 's/ $//'; }

summary() {
  set +e # a missing figure prints as empty or n/a, never ends the summary
  echo "# utcp benchmarks, one run ($MODE)"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $T0 to $T1 |"
  echo "| machine | $(nproc) CPUs (\`nproc\`), $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r) |"
  echo "| load average | $LOAD0 at the start, $(loadavg) at the end (per part below) |"
  echo "| build | $BUILD ($BTYPE, $LTO${ANY_BUILD:+, accepted with --any-build}), source $SRC at $GITREV$GITDIRTY, $(${CC:-cc} --version 2>/dev/null | head -1) |"
  echo "| results | $OUT (every part's output; the commands in commands.txt) |"
  echo
  echo "| part | status |"
  echo "|---|---|"
  local p
  for p in bulk instr lifecycle million checksum linux tun_throughput tun_connrate tun_reuse http; do
    [ -n "${WANT[$p]:-}" ] || continue
    echo "| $p | ${STATUS[$p]:-not run}${LOAD_FIRST[$p]:+ (load ${LOAD_FIRST[$p]} before, ${LOAD_LAST[$p]} after)} |"
  done

  local lo veth
  lo=$(vals linux.txt linux_lo_gbps | med); veth=$(vals linux.txt linux_veth_gbps | med)
  if [ -n "${WANT[bulk]:-}" ]; then
    echo
    echo "## Bulk, in-memory wire (\`bench_bulk --mib $BULK_MIB\`, median of $BULK_RUNS) against Linux TCP (iperf3, one stream)"
    echo
    echo "Linux: loopback ${lo:-n/a} Gbit/s ($(vals linux.txt linux_lo_gbps | list)), veth MTU 1500 offloads off ${veth:-n/a} Gbit/s ($(vals linux.txt linux_veth_gbps | list))."
    echo
    echo "| loss | alloc | utcp Gbit/s | runs | utcp / Linux loopback | utcp / Linux veth |"
    echo "|---|---|---:|---|---:|---:|"
    local loss alloc g
    for loss in 0.00 1.00; do for alloc in malloc pool; do
      g=$(vals_col "bulk-*.txt" $loss $alloc 5)
      [ -n "$g" ] || continue
      echo "| $loss% | $alloc | $(med <<<"$g") | $(list <<<"$g") | $(ratio "$(med <<<"$g")" "$lo") | $(ratio "$(med <<<"$g")" "$veth") |"
    done; done
    local v label
    for loss in 0.00 1.00; do
      g=$(vals_col "bulkw2-*.txt" $loss pool 5)
      [ -n "$g" ] || continue
      echo "| $loss% \`--writes 2\` | pool | $(med <<<"$g") | $(list <<<"$g") | $(ratio "$(med <<<"$g")" "$lo") | $(ratio "$(med <<<"$g")" "$veth") |"
    done
    for v in bulkbuf256 bulkzc bulkzc256; do
      case $v in
        bulkbuf256) label="--buf 256" ;;
        bulkzc) label="--zerocopy --offload --writes 4" ;;
        *) label="--zerocopy --offload --buf 256" ;;
      esac
      for alloc in malloc pool; do
        g=$(vals_col "$v-*.txt" 0.00 $alloc 5)
        [ -n "$g" ] || continue
        echo "| 0.00% \`$label\` | $alloc | $(med <<<"$g") | $(list <<<"$g") | $(ratio "$(med <<<"$g")" "$lo") | $(ratio "$(med <<<"$g")" "$veth") |"
      done
    done
  fi
  if [ -n "${WANT[instr]:-}" ] && [ -f "$OUT/instr-default.txt" ]; then
    echo
    echo "## Instructions per byte (callgrind, \`bench_bulk --mib $INSTR_MIB --loss 0 --alloc pool [--zerocopy --offload --writes 4]\`)"
    echo
    echo "Every instruction of the process per payload byte delivered, the benchmark's own checks of each byte (memcmp and a ones'-complement sum) included."
    echo
    echo "| run | instructions | per byte |"
    echo "|---|---:|---:|"
    local f n
    for f in default zc; do
      n=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$OUT/instr-$f.txt" | head -1)
      [ -n "$n" ] || continue
      echo "| $f | $n | $(awk -v n="$n" -v b="$INSTR_MIB" 'BEGIN { printf "%.2f", n / (b * 1048576) }') |"
    done
  fi
  if [ -n "${WANT[lifecycle]:-}" ]; then
    echo
    echo "## Lifecycles, in-memory wire (\`bench_lifecycle --seconds $LC_SECS [--server-first]\`, median of $LC_RUNS) against Linux connrate over loopback (4 client threads, 2 server threads)"
    echo
    echo "| close order | utcp lifecycles/s | runs | Linux conn/s | runs | utcp / Linux |"
    echo "|---|---:|---|---:|---|---:|"
    local u k f o
    for o in client-first server-first; do
      f=cfirst; [ $o = server-first ] && f=sfirst
      u=$(vals "lifecycle-$f-*.txt" lifecycles/s)
      k=$(vals linux.txt "linux_connrate_lo_$o")
      echo "| $o | $(med <<<"$u") | $(list <<<"$u") | $(med <<<"$k") | $(list <<<"$k") | $(ratio "$(med <<<"$u")" "$(med <<<"$k")") |"
    done
  fi
  if [ -n "${WANT[million]:-}" ] && [ -f "$OUT/million.txt" ]; then
    echo
    echo "## Idle connections (\`bench_million${MILLION_ARGS[*]:+ ${MILLION_ARGS[*]}}\`)"
    echo
    echo '```'
    grep -E '^(command|set up|resident|allocator|utcp_tick|close all|TIME_WAIT|leak check|result)' "$OUT/million.txt" || true
    echo '```'
  fi
  if [ -n "${WANT[checksum]:-}" ] && [ -f "$OUT/checksum.txt" ]; then
    echo
    echo "## Checksum (\`bench_checksum --seconds $CK_SECS\`), GB/s"
    echo
    echo '```'
    grep -E '^(function|memcpy|plain|utcp_|ratio)' "$OUT/checksum.txt" || true
    echo '```'
  fi
  if [ -n "${WANT[tun_throughput]:-}" ] && [ -f "$OUT/tun_throughput.txt" ]; then
    echo
    echo "## Bulk over TUN (\`bench/tun_throughput.sh $BUILD $TT_MB $TT_RUNS\`)"
    echo
    echo '```'
    sed -n '/^TUN bulk throughput/,/^reproduce/p' "$OUT/tun_throughput.txt" || true
    echo '```'
    local k2u u2k k2k
    k2u=$(awk '/kernel -> utcp over TUN/ { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") { print $i; exit } }' "$OUT/tun_throughput.txt")
    u2k=$(awk '/utcp -> kernel over TUN/ { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") { print $i; exit } }' "$OUT/tun_throughput.txt")
    k2k=$(awk '/kernel -> kernel over veth/ { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") { print $i; exit } }' "$OUT/tun_throughput.txt")
    if [ -n "$k2k" ]; then
      echo
      echo "Ratios against kernel -> kernel over veth ($k2k MB/s): utcp receives $(ratio "$k2u" "$k2k"), utcp sends $(ratio "$u2k" "$k2k")."
    fi
  fi
  if [ -n "${WANT[tun_connrate]:-}" ] && [ -f "$OUT/tun_connrate.txt" ]; then
    echo
    echo "## Connection rate over TUN, Linux client (\`bench/tun_connrate.sh --seconds $TCR_SECS --runs $TCR_RUNS\`)"
    echo
    grep -E '^\|' "$OUT/tun_connrate.txt" || true
    echo
    grep -E '^  (client|utcp server counters)' "$OUT/tun_connrate.txt" | sed 's/^  /- /' || true
  fi
  if [ -n "${WANT[tun_reuse]:-}" ] && [ -f "$OUT/tun_reuse.txt" ]; then
    echo
    echo "## Port reuse over TUN: utcp closes first, client ports 60000-60999 (\`bench/tun_connrate.sh --parts utcp --orders server-first --ports \"60000 60999\" --seconds $REUSE_SECS --runs 1\`)"
    echo
    grep -E '^  (utcp  server-first run|      |utcp server counters)' "$OUT/tun_reuse.txt" | sed 's/^ *//; s/^/- /' || true
  fi
  if [ -n "${WANT[http]:-}" ] && [ -f "$OUT/http_rps.txt" ]; then
    echo
    echo "## HTTP requests per second (\`bench/http_rps.sh $BUILD $HTTP_SECS 50 1024\`)"
    echo
    echo '```'
    grep -E 'req|utcp http|kernel_httpd' "$OUT/http_rps.txt" || true
    echo '```'
    local a b
    for kind in "keep-alive" "Connection: close"; do
      a=$(grep -F "utcp http over TUN, $kind" "$OUT/http_rps.txt" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' || true)
      b=$(grep -F "kernel_httpd over veth, $kind" "$OUT/http_rps.txt" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' || true)
      [ -n "$a$b" ] && echo "utcp http / kernel_httpd, $kind: $(ratio "$a" "$b")"
    done
  fi
  echo
  echo "## Commands"
  echo
  echo '```'
  cat "$CMDS"
  echo '```'
}
summary | tee "$OUT/summary.md"
[ -z "$FAILED" ]
