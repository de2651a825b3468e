#!/usr/bin/env bash
# The README demo: runs the `classic` scenario (handshake, data both ways,
# active close, TIME_WAIT expiry) on the simulator, prints its ladder, writes
# classic.svg (the ladder as a picture) and classic.pcap in the current
# directory and, when tshark is installed, shows how Wireshark decodes it.
# Usage: scripts/demo.sh BUILD_DIR. Exits non-zero if the simulation fails.
set -euo pipefail

build=${1:?usage: scripts/demo.sh BUILD_DIR}
utcp=$build/tools/utcp
if [ ! -x "$utcp" ]; then
    echo "demo.sh: $utcp not built (run 'make build')" >&2
    exit 1
fi

"$utcp" sim classic --pcap classic.pcap --svg classic.svg
echo
echo "wrote classic.svg (open it in a browser) and classic.pcap"

if command -v tshark >/dev/null; then
    echo
    echo "--- tshark -r classic.pcap"
    tshark -n -r classic.pcap
else
    echo
    echo "(tshark not installed: open classic.pcap with Wireshark)"
fi
