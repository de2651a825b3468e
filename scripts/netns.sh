#!/usr/bin/env bash
# A network namespace with a TUN device for utcp: the kernel side of the device
# gets 198.18.0.1/24, utcp uses 198.18.0.2 (`utcp nc --dev utcp0` attaches to
# the device). Nothing leaves the namespace; `run` deletes everything at the
# end, also on failure or Ctrl-C. Needs root.
#
# usage: scripts/netns.sh [--ns NAME] [--dev DEV] run -- CMD [ARGS...]
#        scripts/netns.sh [--ns NAME] [--dev DEV] up     (create, leave it)
#        scripts/netns.sh [--ns NAME] down               (delete)
#        scripts/netns.sh [--ns NAME] exec CMD [ARGS...] (run in an existing one)
# NAME must start with "utcp-" (default utcp-demo); DEV defaults to utcp0.
set -euo pipefail

ns=utcp-demo
dev=utcp0
kernel_addr=198.18.0.1/24
die() { echo "netns.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --ns) [ $# -ge 2 ] || die "--ns needs a name"; ns=$2; shift 2 ;;
    --dev) [ $# -ge 2 ] || die "--dev needs a name"; dev=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "need a command: run, up, down or exec (see --help)"
case "$ns" in utcp-*) ;; *) die "namespace name must start with 'utcp-': $ns" ;; esac
[ "$(id -u)" -eq 0 ] || die "needs root (creates a namespace and a TUN device)"
[ -c /dev/net/tun ] || die "no /dev/net/tun (modprobe tun?)"
command -v ip >/dev/null || die "needs ip (Debian package iproute2)"

up() {
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # no IPv6 chatter (router solicitations, MLD) on the device
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
  ip -n "$ns" tuntap add dev "$dev" mode tun multi_queue
  ip -n "$ns" addr add "$kernel_addr" dev "$dev"
  ip -n "$ns" link set "$dev" mtu 1500 up
}
down() {
  ip netns del "$ns" 2>/dev/null || true  # takes the device with it
}

cmd=$1; shift
case "$cmd" in
  up)
    trap down EXIT  # a half-made namespace is deleted
    up
    trap - EXIT
    echo "namespace $ns: device $dev, kernel $kernel_addr, utcp 198.18.0.2" ;;
  down) down ;;
  exec) exec ip netns exec "$ns" "$@" ;;
  run)
    [ "${1:-}" = "--" ] && shift
    [ $# -ge 1 ] || die "run needs a command after --"
    ip netns list | grep -qw "^$ns" && die "namespace $ns exists already (scripts/netns.sh --ns $ns down)"
    trap down EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    up
    set +e
    ip netns exec "$ns" "$@"
    exit $?
    ;;
  *) die "unknown command '$cmd' (run, up, down, exec)" ;;
esac
