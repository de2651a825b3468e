#!/usr/bin/env bash
# Installs the Debian packages utcp's build, tests and tools need, only those
# missing. Idempotent; needs root (or sudo) only when something is missing.
# Usage: scripts/deps.sh [--fuzz] [--coverage] [--interop] [--bench]
set -euo pipefail

pkgs=(cmake make gcc pkg-config libcmocka-dev libhttp-parser-dev tshark libxml2-utils graphviz python3)
for arg in "$@"; do
  case "$arg" in
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --coverage) pkgs+=(gcovr) ;;
    --interop) pkgs+=(iproute2 socat curl tshark procps python3 iputils-ping ethtool apache2-utils) ;;
    --bench) pkgs+=(iproute2 socat ethtool wrk liblwip-dev pkg-config iperf3 valgrind) ;;
    *) echo "deps.sh: unknown option '$arg' (known: --fuzz --coverage --interop --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
