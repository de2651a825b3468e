#!/usr/bin/env bash
# Checks `utcp pcapdemo` against an independent decoder: tshark must read the
# pcap it writes, find every checksum good, report nothing malformed and no
# expert warning but the RST's, and decode exactly the expected ports, flags,
# sequence numbers, windows, options and ICMP fields. Also checks the tool's
# exit codes. Usage: test_pcap_tshark.sh BUILD_DIR SOURCE_DIR
#
# tshark 4.0 (Debian 12) prints checksum status fields as numbers:
# 0 = Bad, 1 = Good, 2 = Unverified (checking off), 3 = Not present. The
# "Good" value is read from `tshark -G values` to stay right if that changes.
set -euo pipefail

build=${1:?usage: test_pcap_tshark.sh BUILD_DIR SOURCE_DIR}
utcp=$build/tools/utcp

fail() {
    echo "test_pcap_tshark: FAIL: $*" >&2
    exit 1
}

# tshark is installed by scripts/deps.sh: missing means a broken setup, not
# a reason to skip.
command -v tshark >/dev/null ||
    fail "tshark not found: run 'bash scripts/deps.sh' (it installs tshark)"
[ -x "$utcp" ] || fail "$utcp not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/utcp-tshark.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A private, empty profile: no user preference changes what tshark prints.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config
mkdir -p "$HOME"
pcap=$tmp/demo.pcap

# ---- the tool's command line ----
"$utcp" pcapdemo --help >"$tmp/help" || fail "pcapdemo --help exited $?"
grep -q '^usage: utcp pcapdemo FILE' "$tmp/help" || fail "--help prints no usage"
rc=0
"$utcp" pcapdemo >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "pcapdemo without FILE exited $rc, want 2"
grep -q 'missing FILE' "$tmp/err" || fail "no clear error for a missing FILE"
rc=0
"$utcp" pcapdemo "$tmp/no/such/dir/x.pcap" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "pcapdemo on an unwritable path exited $rc, want 1"
grep -q "cannot write '$tmp/no/such/dir/x.pcap': No such file or directory" \
    "$tmp/err" || fail "unclear error for an unwritable path: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "pcapdemo printed packets although it failed"

# ---- write the demo ----
"$utcp" pcapdemo "$pcap" >"$tmp/summary" 2>"$tmp/err" ||
    fail "pcapdemo exited $?: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/summary")" -eq 10 ] ||
    fail "pcapdemo printed $(wc -l <"$tmp/summary") lines, want 10"
echo "--- utcp pcapdemo output"
cat "$tmp/summary"

# Classic pcap, microseconds, LINKTYPE_RAW: magic and link type in host
# order (little-endian on the machines CI runs on).
hdr=$(od -An -tx1 -N24 "$pcap" | tr -d ' \n')
if [ "$(printf '\001\000' | od -An -tx2 | tr -d ' ')" = 0001 ]; then
    want_hdr=d4c3b2a1020004000000000000000000ffff000065000000
else
    want_hdr=a1b2c3d40002000400000000000000000000ffff00000065
fi
[ "$hdr" = "$want_hdr" ] || fail "pcap global header is $hdr, want $want_hdr"

tshark_fields() { # tshark_fields [tshark options]: the demo, decoded
    tshark -n -r "$pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
        -o tcp.relative_sequence_numbers:FALSE "$@" 2>>"$tmp/tshark.err" ||
        fail "tshark failed: $(cat "$tmp/tshark.err")"
}

status=0
compare() { # compare NAME: expected table on stdin vs $tmp/NAME.got
    cat >"$tmp/$1.want"
    if ! diff -u "$tmp/$1.want" "$tmp/$1.got" >"$tmp/$1.diff"; then
        echo "test_pcap_tshark: MISMATCH in $1 (- expected, + tshark):" >&2
        cat "$tmp/$1.diff" >&2
        status=1
    else
        echo "ok: $1 ($(wc -l <"$tmp/$1.want") lines match)"
    fi
}
table() { # table NAME FILTER FIELD...: tshark's fields for frames matching
    local name=$1 filter=$2
    shift 2
    local args=()
    for f in "$@"; do args+=(-e "$f"); done
    tshark_fields -Y "$filter" -T fields -E header=y -E separator='|' \
        -E occurrence=a -E aggregator=, "${args[@]}" >"$tmp/$name.got"
}

good=$(tshark -G values 2>/dev/null |
    awk -F'\t' '$1 == "V" && $2 == "tcp.checksum.status" && $4 == "Good" {print $3}')
good=${good:-1}
echo "$(tshark --version 2>/dev/null | head -n1): checksum status Good = $good"

# ---- IPv4 headers and checksum status of every frame ----
table ip frame frame.number frame.time_epoch ip.src ip.dst ip.proto ip.ttl \
    ip.flags.df ip.id ip.len ip.checksum.status tcp.checksum.status \
    icmp.checksum.status
g=$good
compare ip <<EOF
frame.number|frame.time_epoch|ip.src|ip.dst|ip.proto|ip.ttl|ip.flags.df|ip.id|ip.len|ip.checksum.status|tcp.checksum.status|icmp.checksum.status
1|1704067200.000000000|192.0.2.1|192.0.2.2|6|64|1|0x04d2|60|$g|$g|
2|1704067200.020000000|192.0.2.2|192.0.2.1|6|64|1|0x162e|60|$g|$g|
3|1704067200.020100000|192.0.2.1|192.0.2.2|6|64|1|0x04d3|52|$g|$g|
4|1704067200.020200000|192.0.2.1|192.0.2.2|6|64|1|0x04d4|152|$g|$g|
5|1704067200.030300000|192.0.2.2|192.0.2.1|6|64|1|0x162f|64|$g|$g|
6|1704067200.040000000|192.0.2.1|192.0.2.2|6|64|1|0x04d5|52|$g|$g|
7|1704067200.050000000|192.0.2.2|192.0.2.1|6|64|1|0x1630|52|$g|$g|
8|1704067200.060000000|192.0.2.2|192.0.2.1|6|64|1|0x1631|40|$g|$g|
9|1704067200.100000000|192.0.2.1|192.0.2.2|1|64|0|0x04d6|84|$g||$g
10|1704067200.120000000|192.0.2.2|192.0.2.1|1|64|0|0x1632|84|$g||$g
EOF

# ---- TCP headers (absolute sequence numbers) ----
table tcp tcp frame.number tcp.srcport tcp.dstport tcp.flags tcp.seq tcp.ack \
    tcp.len tcp.window_size_value tcp.hdr_len tcp.urgent_pointer
compare tcp <<'EOF'
frame.number|tcp.srcport|tcp.dstport|tcp.flags|tcp.seq|tcp.ack|tcp.len|tcp.window_size_value|tcp.hdr_len|tcp.urgent_pointer
1|40000|80|0x0002|3000000000|0|0|64240|40|0
2|80|40000|0x0012|1234567890|3000000001|0|65160|40|0
3|40000|80|0x0010|3000000001|1234567891|0|502|32|0
4|40000|80|0x0018|3000000001|1234567891|100|502|32|0
5|80|40000|0x0010|1234567891|3000000101|0|128|44|0
6|40000|80|0x0011|3000000101|1234567891|0|502|32|0
7|80|40000|0x0010|1234567891|3000000102|0|128|32|0
8|80|40000|0x0004|1234567891|0|0|0|20|0
EOF

# ---- TCP options, in wire order, and their values ----
table opts tcp frame.number tcp.option_kind tcp.options.mss_val \
    tcp.options.wscale.shift tcp.options.sack_le tcp.options.sack_re \
    tcp.options.timestamp.tsval tcp.options.timestamp.tsecr
compare opts <<'EOF'
frame.number|tcp.option_kind|tcp.options.mss_val|tcp.options.wscale.shift|tcp.options.sack_le|tcp.options.sack_re|tcp.options.timestamp.tsval|tcp.options.timestamp.tsecr
1|2,4,8,1,3|1460|7|||4000000|0
2|2,4,8,1,3|1460|9|||9000010|4000000
3|1,1,8|||||4000020|9000010
4|1,1,8|||||4000020|9000010
5|1,1,8,1,1,5|||3000000201|3000000301|9000020|4000020
6|1,1,8|||||4000040|9000020
7|1,1,8|||||9000040|4000040
8|||||||
EOF

# SACK-permitted exactly on the SYN and the SYN-ACK.
tshark_fields -Y tcp.options.sack_perm -T fields -e frame.number >"$tmp/sackperm.got"
compare sackperm <<'EOF'
1
2
EOF

# ---- ICMP ----
table icmp icmp frame.number icmp.type icmp.code icmp.ident icmp.seq \
    data.len icmp.resp_to
compare icmp <<'EOF'
frame.number|icmp.type|icmp.code|icmp.ident|icmp.seq|data.len|icmp.resp_to
9|8|0|4660|1|56|
10|0|0|4660|1|56|9
EOF

# ---- nothing malformed; no expert warning or error except the RST ----
tshark_fields -Y _ws.malformed -T fields -e frame.number >"$tmp/malformed.got"
compare malformed </dev/null
# Severity values: chat 0x200000, note 0x400000, warning 0x600000, error
# 0x800000. A bad checksum would be an error in group "Checksum".
tshark_fields -Y '_ws.expert.severity >= 0x600000' -T fields \
    -e frame.number -e _ws.expert.message >"$tmp/expert.got"
compare expert <<'EOF'
8	Connection reset (RST)
EOF

# The summary the tool prints agrees with tshark on the essentials.
for n in 1 5 8 9; do
    line=$(sed -n "${n}p" "$tmp/summary")
    case $n in
    1) want='192.0.2.1:40000 > 192.0.2.2:80 TCP [SYN] seq=3000000000 ack=0 len=0 win=64240 <mss 1460, sackOK, TS val 4000000 ecr 0, wscale 7>' ;;
    5) want='192.0.2.2:80 > 192.0.2.1:40000 TCP [ACK] seq=1234567891 ack=3000000101 len=0 win=128 <TS val 9000020 ecr 4000020, sack 1 {3000000201:3000000301}>' ;;
    8) want='192.0.2.2:80 > 192.0.2.1:40000 TCP [RST] seq=1234567891 ack=0 len=0 win=0' ;;
    9) want='192.0.2.1 > 192.0.2.2 ICMP echo request id=0x1234 seq=1 len=56' ;;
    esac
    case $line in
    *"$want") ;;
    *) echo "test_pcap_tshark: summary line $n is '$line', want '...$want'" >&2
       status=1 ;;
    esac
done

if [ "$status" -ne 0 ]; then
    fail "tshark disagrees with the expected decoding (diffs above)"
fi
echo "test_pcap_tshark: PASS"
