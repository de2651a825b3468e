# Shared by the interop tests (sourced): utcp against the Linux kernel's TCP
# over a TUN device, inside a network namespace the test creates and always
# deletes (trap), with addresses from 198.18.0.0/15 only: the kernel side of
# the device is 198.18.0.1/24, utcp is 198.18.0.2. Only processes this test
# started are ever killed, by PID.
# Usage in a test: . "$(dirname "$0")/lib.sh" "$@"   (args: BUILD_DIR SRC_DIR)
set -euo pipefail

BUILD_DIR=${1:?build dir}
SRC_DIR=${2:?source dir}
UTCP=$BUILD_DIR/tools/utcp
TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#test_}

skip() { echo "SKIP: $TEST_NAME: $*"; exit 77; }
fail() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
note() { echo "--- $TEST_NAME: $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, TUN)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for tool in ip socat python3 ss sha256sum; do
  command -v "$tool" >/dev/null || skip "needs $tool (scripts/deps.sh --interop)"
done
[ -x "$UTCP" ] || fail "no utcp binary at $UTCP"

# The TUN mode under test: UTCP_INTEROP_OFFLOAD=1 (default) lets the tools
# use the offload mode (virtio-net header, checksum and TSO4 offloads:
# docs/tun.md), 0 passes --no-offload (plain TUN). Every utcp nc and utcp
# http the tests start gets MODE_ARGS.
case "${UTCP_INTEROP_OFFLOAD:-1}" in
  1) MODE=offload; MODE_ARGS=() ;;
  0) MODE=plain; MODE_ARGS=(--no-offload) ;;
  *) fail "UTCP_INTEROP_OFFLOAD must be 0 or 1, not '${UTCP_INTEROP_OFFLOAD}'" ;;
esac
echo "--- $TEST_NAME: TUN mode $MODE"

# Short: namespace names are not limited, device names are (15 bytes).
NS="utcp-it-${TEST_NAME}-$$"
DEV=ut0
KADDR=198.18.0.1
UADDR=198.18.0.2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/utcp-interop-${TEST_NAME}.XXXXXX")
export UTCP_RUN_DIR=$TMP/run
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  # anything else still running in our namespace (a foreground command cut
  # short by a signal) was started by this test: end it by PID
  for p in $(ip netns pids "$NS" 2>/dev/null); do
    kill "$p" 2>/dev/null || true
  done
  ip netns del "$NS" 2>/dev/null || true
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for f in "$TMP"/*.log; do
      [ -f "$f" ] || continue
      echo "=== $f (last 30 lines)"; tail -n 30 "$f"
    done
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of a test run killed with SIGKILL (its trap never ran): only
# namespaces named utcp-it-NAME-PID whose PID is gone, and what runs in them.
for old in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^utcp-it-[a-z0-9_]+-[0-9]+$' || true); do
  kill -0 "${old##*-}" 2>/dev/null && continue
  for p in $(ip netns pids "$old" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  ip netns del "$old" 2>/dev/null || true
done

# Creates the namespace and a persistent TUN device whose kernel side has
# 198.18.0.1/24; utcp attaches to it with --dev ut0.
ns_up() {
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
  ip -n "$NS" tuntap add dev "$DEV" mode tun multi_queue
  ip -n "$NS" addr add "$KADDR/24" dev "$DEV"
  ip -n "$NS" link set "$DEV" mtu 1500 up
}
in_ns() { ip netns exec "$NS" "$@"; }

# Runs a command in the namespace in the background; its PID in $!; kept in
# PIDS so cleanup ends it.
bg_ns() {
  ip netns exec "$NS" "$@" &
  PIDS+=($!)
}

# utcp nc with the test's device and address.
unc() { ip netns exec "$NS" "$UTCP" nc "${MODE_ARGS[@]}" --dev "$DEV" --addr "$UADDR" "$@"; }

# Waits (up to $2 s, default 5) until a kernel TCP socket listens on port $1.
wait_kernel_listen() {
  local port=$1 t=${2:-5} i=0
  while [ $i -lt $((t * 20)) ]; do
    in_ns ss -Htln "sport = :$port" | grep -q . && return 0
    sleep 0.05; i=$((i + 1))
  done
  fail "no kernel listener on port $port after ${t}s"
}

# Waits until file $1 contains pattern $2 (up to $3 s, default 5).
wait_for_line() {
  local f=$1 pat=$2 t=${3:-5} i=0
  while [ $i -lt $((t * 20)) ]; do
    grep -q -- "$pat" "$f" 2>/dev/null && return 0
    sleep 0.05; i=$((i + 1))
  done
  fail "'$pat' did not appear in $f after ${t}s"
}

# Waits for PID $1 for up to $2 s; its exit status in WAIT_RC.
wait_pid() {
  local pid=$1 t=${2:-30} i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt $((t * 20)) ]; do
    sleep 0.05; i=$((i + 1))
  done
  kill -0 "$pid" 2>/dev/null && fail "process $pid still running after ${t}s"
  set +e; wait "$pid"; WAIT_RC=$?; set -e
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# utcp nc in the background (redirect at the call); PID in $!.
bg_unc() {
  # explicit <&0: a background job would get /dev/null as stdin otherwise
  ip netns exec "$NS" "$UTCP" nc "${MODE_ARGS[@]}" --dev "$DEV" --addr "$UADDR" "$@" <&0 &
  PIDS+=($!)
}
