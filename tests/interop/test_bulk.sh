#!/usr/bin/env bash
# Interop (a) and (e): utcp nc downloads 50 MB from a kernel socat server and
# uploads 50 MB to one, SHA-256 equal both ways (and 8 MiB of its --gen
# pattern, equal to the pattern); meanwhile tshark captures the TUN device,
# and the capture must hold no malformed packet and no bad IPv4 or TCP
# checksum in either direction (offload mode: partial checksums exactly as
# the virtio-net header means them, see check_capture), nor may the kernel
# count one; then, BBR's RTprop in utcp stat during a 512 MiB upload is
# never 1 us (packets timed when read). Plain mode: the uploads in the
# capture run with --no-kernel-gro (the capture point sees what GRO
# merged); after it, 50 MB more with kernel GRO as by default, which the
# kernel must merge (4 writes or more per IP packet) and which must leave
# the device's sysfs as it was; the download must have written only its
# SYN and FIN to the merging queue (ACKs go straight in); and a
# single-queue device must run plain without it, saying why. Prints the
# throughput each way.
. "$(dirname "$0")/lib.sh" "$@"
command -v tshark >/dev/null || skip "needs tshark (scripts/deps.sh)"
SIZE_MB=${UTCP_INTEROP_MB:-50}

ns_up
head -c $((SIZE_MB * 1048576)) /dev/urandom > "$TMP/src.bin"
want=$(sha "$TMP/src.bin")

bg_ns tshark -q -n -i "$DEV" -w "$TMP/cap.pcapng" 2> "$TMP/tshark.log"
tshark_pid=$!
for _ in $(seq 100); do
  grep -q "Capturing on" "$TMP/tshark.log" 2>/dev/null && break
  sleep 0.05
done

note "download: kernel socat sends $SIZE_MB MB, utcp nc receives"
bg_ns socat -u OPEN:"$TMP/src.bin" TCP-LISTEN:5001,reuseaddr
server=$!
wait_kernel_listen 5001
unc -v 198.18.0.1 5001 < /dev/null > "$TMP/down.bin" 2> "$TMP/down.log" ||
  fail "utcp nc (download) exited $?"
wait_pid $server 10
[ "$WAIT_RC" -eq 0 ] || fail "socat (download server) exited $WAIT_RC"
got=$(sha "$TMP/down.bin")
[ "$got" = "$want" ] || fail "download: SHA-256 $got, want $want ($(stat -c %s "$TMP/down.bin") bytes)"
grep "MB/s" "$TMP/down.log"

note "upload: utcp nc sends $SIZE_MB MB, kernel socat receives"
bg_ns socat -u TCP-LISTEN:5002,reuseaddr CREATE:"$TMP/up.bin"
server=$!
wait_kernel_listen 5002
# the capture point is after GRO: in plain mode it would see merged packets
NOGRO=(); [ "$MODE" = plain ] && NOGRO=(--no-kernel-gro)
unc -v "${NOGRO[@]}" 198.18.0.1 5002 < "$TMP/src.bin" > /dev/null 2> "$TMP/up.log" ||
  fail "utcp nc (upload) exited $?"
wait_pid $server 10
[ "$WAIT_RC" -eq 0 ] || fail "socat (upload server) exited $WAIT_RC"
got=$(sha "$TMP/up.bin")
[ "$got" = "$want" ] || fail "upload: SHA-256 $got, want $want ($(stat -c %s "$TMP/up.bin") bytes)"
grep "MB/s" "$TMP/up.log"

note "upload of a generated pattern: utcp nc --gen 8m (as iperf3 -n), kernel socat receives"
bg_ns socat -u TCP-LISTEN:5003,reuseaddr CREATE:"$TMP/gen.bin"
server=$!
wait_kernel_listen 5003
unc -v "${NOGRO[@]}" --gen 8m 198.18.0.1 5003 < /dev/null > /dev/null 2> "$TMP/gen.log" ||
  fail "utcp nc --gen exited $?"
wait_pid $server 10
[ "$WAIT_RC" -eq 0 ] || fail "socat (--gen server) exited $WAIT_RC"
# the pattern: a 64 KiB block of xorshift64 bytes (the top byte of each
# state, seed 1), repeated
want_gen=$(python3 -c '
import hashlib
x, b = 1, bytearray()
M = (1 << 64) - 1
for _ in range(65536):
    x ^= (x << 13) & M; x ^= x >> 7; x ^= (x << 17) & M
    b.append(x >> 56)
print(hashlib.sha256(bytes(b) * 128).hexdigest())')
got=$(sha "$TMP/gen.bin")
[ "$got" = "$want_gen" ] || fail "--gen: SHA-256 $got, want $want_gen ($(stat -c %s "$TMP/gen.bin") bytes)"
grep "MB/s" "$TMP/gen.log"


grep -q "device $DEV: $MODE mode" "$TMP/down.log" ||
  fail "utcp nc did not run in $MODE mode: $(grep 'device ut0:' "$TMP/down.log")"
grep -q "device $DEV: $MODE mode" "$TMP/up.log" || fail "upload not in $MODE mode"
grep "offload:" "$TMP/down.log" "$TMP/up.log" || true

note "capture: malformed packets and bad checksums"
sleep 0.3
kill -INT $tshark_pid
wait_pid $tshark_pid 20

note "BBR's RTprop during an upload (utcp stat): more than 1 us"
# The loop reads ACKs in bursts while its transmit thread (plain mode)
# writes: timed with the clock of the wakeup, an ACK late in a burst
# covering a segment sent earlier in it gave RTT samples of 0 (1 us), and
# BBR's RTprop was 1 us. Each packet is timed when it is read. (Plain
# mode: without kernel GRO, so with the transmit thread, where it showed.)
bg_ns socat -u TCP-LISTEN:5005,reuseaddr OPEN:/dev/null
server=$!
wait_kernel_listen 5005
bg_unc "${NOGRO[@]}" --cc bbr --gen 512m 198.18.0.1 5005 < /dev/null > /dev/null 2> "$TMP/rtprop.log"
ncpid=$!
rtprops=
while kill -0 $ncpid 2>/dev/null; do
  r=$("$UTCP" stat --pid $ncpid 2>/dev/null |
      awk '$1 == "ESTABLISHED" && $3 == "198.18.0.1:5005" && $12 == "bbr:probe_bw" { print $14 }' ||
      true) # no answer yet, or gone
  [ -n "$r" ] && rtprops="$rtprops $r"
  sleep 0.02
done
wait_pid $ncpid 60
[ "$WAIT_RC" -eq 0 ] || fail "utcp nc --gen 512m exited $WAIT_RC"
wait_pid $server 10
echo "RTprop samples (us):$rtprops"
[ -n "$rtprops" ] || fail "utcp stat never showed the upload in probe_bw"
for r in $rtprops; do
  [ "$r" -gt 1 ] || fail "BBR's RTprop was $r us during the upload"
done

# After the capture: GRO hands the capture point merged packets, whose
# TCP checksum is the first segment's (the kernel has verified each one).
if [ "$MODE" = plain ]; then
  note "upload with kernel GRO (plain mode's default): the kernel merges utcp's data"
  in_ns nstat -n > /dev/null
  bg_ns socat -u TCP-LISTEN:5004,reuseaddr CREATE:"$TMP/gro.bin"
  server=$!
  wait_kernel_listen 5004
  unc -v 198.18.0.1 5004 < "$TMP/src.bin" > /dev/null 2> "$TMP/gro.log" ||
    fail "utcp nc (kernel GRO) exited $?"
  wait_pid $server 10
  [ "$WAIT_RC" -eq 0 ] || fail "socat (kernel GRO server) exited $WAIT_RC"
  got=$(sha "$TMP/gro.bin")
  [ "$got" = "$want" ] || fail "kernel GRO: SHA-256 $got, want $want"
  grep -q "kernel GRO: data to a second queue with IFF_NAPI" "$TMP/gro.log" ||
    fail "kernel GRO not on: $(grep 'GRO' "$TMP/gro.log")"
  written=$(sed -n 's/.*device: [0-9]* packets read, \([0-9]*\) written.*/\1/p' "$TMP/gro.log")
  napi=$(sed -n 's/.*kernel GRO: \([0-9]*\) packets written to the NAPI queue.*/\1/p' "$TMP/gro.log")
  ipin=$(in_ns nstat | awk '$1 == "IpInReceives" { print $2 }')
  echo "kernel GRO: $written packets written ($napi to the NAPI queue), $ipin IP packets received by the kernel"
  [ -n "$written" ] && [ "${ipin:-0}" -gt 0 ] && [ "$ipin" -lt $((written / 4)) ] ||
    fail "kernel GRO merged too little: $written written, ${ipin:-?} received"
  # every data segment (36k of 50 MB) through the merging queue
  [ "${napi:-0}" -ge $((SIZE_MB * 1048576 / 1448)) ] ||
    fail "only ${napi:-?} packets went to the NAPI queue"
  [ "$(in_ns cat /sys/class/net/$DEV/threaded)" = 0 ] &&
    [ "$(in_ns cat /sys/class/net/$DEV/gro_flush_timeout)" = 0 ] ||
    fail "the device's sysfs 'threaded' or 'gro_flush_timeout' was not restored"
  grep "MB/s" "$TMP/gro.log"

  # The download (in the capture) sent only ACKs besides its SYN and FIN:
  # those go straight in, not through the NAPI thread.
  dnapi=$(sed -n 's/.*kernel GRO: \([0-9]*\) packets written to the NAPI queue.*/\1/p' "$TMP/down.log")
  echo "download: ${dnapi:-?} packets to the NAPI queue"
  [ -n "$dnapi" ] && [ "$dnapi" -le 3 ] ||
    fail "the download wrote ${dnapi:-?} packets to the NAPI queue (want its SYN and FIN)"

  note "a single-queue device: plain mode without kernel GRO, and why"
  ip -n "$NS" tuntap add dev ut1 mode tun
  ip -n "$NS" addr add 198.18.1.1/24 dev ut1
  ip -n "$NS" link set ut1 mtu 1500 up
  bg_ns socat -u TCP-LISTEN:5006,reuseaddr CREATE:"$TMP/sq.bin"
  server=$!
  wait_kernel_listen 5006
  ip netns exec "$NS" "$UTCP" nc "${MODE_ARGS[@]}" -v --dev ut1 --addr 198.18.1.2 \
    198.18.1.1 5006 < "$TMP/src.bin" > /dev/null 2> "$TMP/sq.log" ||
    fail "utcp nc (single-queue device) exited $?"
  wait_pid $server 10
  [ "$WAIT_RC" -eq 0 ] || fail "socat (single-queue server) exited $WAIT_RC"
  got=$(sha "$TMP/sq.bin")
  [ "$got" = "$want" ] || fail "single-queue device: SHA-256 $got, want $want"
  grep "kernel GRO refused: 'ut1' is a single-queue device" "$TMP/sq.log" ||
    fail "no reason given: $(grep -i 'gro' "$TMP/sq.log")"
fi
# One pass: source, malformed marker, IPv4 and TCP checksum status
# (0 bad, 1 good, 2 unverified), with checksum verification on. The payload
# is decoded as plain data and TCP sequence analysis is off: only the IPv4
# and TCP layers matter here, and the pass stays a few seconds.
# A TCP checksum sent as 0xffff where the computation gives 0x0000 is the
# same value in one's complement (RFC 1624 3; the kernel's incremental
# update writes it now and then): receivers accept it, and so does this
# check, which counts them apart.
# Offload mode: the capture on the TUN device sees packets as the kernel
# holds them, before any checksum is completed: the kernel's GSO frames (up
# to 64 KiB) and utcp's TSO segments and data packets carry, in place of
# the TCP checksum, the pseudo-header sum over their whole TCP length
# (CHECKSUM_PARTIAL; virtio-net NEEDS_CSUM). Such a packet is counted as
# "partial" when its field is exactly that sum, and it is bad otherwise; in
# plain mode no partial checksum is allowed at all (PARTIAL_OK=0). Whether
# the completed checksums were right is checked on the kernel's side
# (TcpInCsumErrors, see below) and end to end by the SHA-256.
# Prints: packets bad from_kernel from_utcp tcp_checksums_verified_good ffff
# partial.
PARTIAL_OK=$([ "$MODE" = offload ] && echo 1 || echo 0)
check_capture() {
  tshark -n -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
    -o tcp.analyze_sequence_numbers:FALSE -o tcp.desegment_tcp_streams:FALSE \
    -d tcp.port==5001,data -d tcp.port==5002,data \
    -T fields -E separator=, -E occurrence=f \
    -e frame.number -e ip.src -e _ws.malformed -e ip.checksum.status -e tcp.checksum.status \
    -e tcp.checksum.ffff -e ip.dst -e ip.len -e ip.hdr_len -e tcp.checksum 2>/dev/null |
    python3 -c '
import sys
partial_ok = sys.argv[1] == "1"
n = b = k = u = g = f = p = 0
def pseudo(src, dst, tcplen):
    s = 6 + tcplen
    for a in (src, dst):
        o = [int(x) for x in a.split(".")]
        s += (o[0] << 8 | o[1]) + (o[2] << 8 | o[3])
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s
for line in sys.stdin:
    c = line.rstrip().split(",")
    n += 1
    frame, src, mal, ipst, tcpst, ffff, dst, iplen, ihl, tcpsum = (c + [""] * 10)[:10]
    if tcpst == "0" and ffff != "":
        f += 1
        print("0xffff for 0x0000 (RFC 1624) in frame %s from %s" % (frame, src), file=sys.stderr)
        continue
    if (partial_ok and mal == "" and ipst != "0" and tcpst == "0" and tcpsum
            and int(tcpsum, 16) == pseudo(src, dst, int(iplen) - int(ihl))):
        p += 1
        tcpst = "partial"
    elif mal != "" or ipst == "0" or tcpst == "0":
        b += 1
        if b <= 10:
            print("bad: " + ",".join(c[:6]), file=sys.stderr)
    if src == "198.18.0.1": k += 1
    if src == "198.18.0.2": u += 1
    if tcpst == "1": g += 1
print(n, b, k, u, g, f, p)
' "$PARTIAL_OK"
}

# First the checker itself: a truncated TCP header and a bad TCP checksum
# must both be caught.
python3 - "$TMP/bad.pcap" <<'PY'
import struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, 6, 0,
                    bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
short = struct.pack("!HHIIBBHHH", 5001, 40000, 1, 0, 15 << 4, 0x10, 1000, 0, 0)
badsum = struct.pack("!HHIIBBHHH", 5001, 40000, 1, 1, 5 << 4, 0x10, 1000, 0x1234, 0)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    for p in (ip(short, 1), ip(badsum, 2)):
        f.write(struct.pack("<IIII", 0, 0, len(p), len(p)) + p)
PY
read -r _ selfbad _ < <(check_capture "$TMP/bad.pcap" 2>/dev/null)
[ "$selfbad" -eq 2 ] || fail "the capture checker caught $selfbad of 2 bad packets"

read -r total bad from_k from_u good ffff partial < <(check_capture "$TMP/cap.pcapng")
echo "capture ($MODE): $total packets ($from_k from the kernel, $from_u from utcp), $bad malformed or with a bad checksum, $ffff with 0xffff for 0x0000, $partial with a partial checksum (offload)"
[ "$total" -gt 1000 ] || fail "capture holds only $total packets"
if [ "$bad" -ne 0 ]; then
  # Show the first bad packets in full, and keep the capture if asked.
  check_capture "$TMP/cap.pcapng" 2>&1 >/dev/null | head -3 | while IFS=, read -r frame _; do
    frame=${frame#bad: }
    tshark -n -r "$TMP/cap.pcapng" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
      -d tcp.port==5001,data -d tcp.port==5002,data -Y "frame.number == $frame" -V -x 2>/dev/null |
      grep -E "^Frame|Checksum|Flags:|Sequence Number:|Acknowledgment Number:|Len|^[0-9a-f]{4} " | head -40
  done
  if [ -n "${UTCP_INTEROP_KEEP:-}" ]; then
    cp "$TMP/cap.pcapng" "$UTCP_INTEROP_KEEP" && echo "capture kept in $UTCP_INTEROP_KEEP"
  fi
  fail "$bad bad packets in the capture"
fi
[ "$from_k" -gt 100 ] && [ "$from_u" -gt 100 ] || fail "one direction is missing from the capture"
if [ "$MODE" = plain ]; then
  [ "$good" -gt 1000 ] || fail "only $good TCP checksums were verified"
else
  # control segments (ACKs) still carry full checksums; data mostly not
  [ "$good" -gt 100 ] || fail "only $good TCP checksums were verified"
  [ "$partial" -gt 100 ] || fail "offload mode, but only $partial partial checksums: were the offloads used?"
fi
# The kernel's side: every checksum it verified (utcp's packets with
# complete checksums, and the ones it completed itself) was good.
in_ns cat /proc/net/snmp > "$TMP/snmp.txt"
csum_err=$(awk '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
  $1 == "Tcp:" { print $col["InCsumErrors"] }' "$TMP/snmp.txt")
hdr_err=$(awk '$1 == "Ip:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
  $1 == "Ip:" { print $col["InHdrErrors"] }' "$TMP/snmp.txt")
echo "kernel: TcpInCsumErrors $csum_err, IpInHdrErrors $hdr_err"
[ "$csum_err" = 0 ] && [ "$hdr_err" = 0 ] || fail "the kernel counted bad packets from utcp"
echo "PASS: $TEST_NAME"
