/*
 * Writes the seed corpus of fuzz_ipv4_tcp: valid packets built with the wire
 * layer (SYN, SYN-ACK, data, SACK, FIN, RST, ICMP echo and unreachable) and
 * hand-made malformed ones, one file each, named after what they are.
 * Deterministic: the same sources give the same files. Regenerate with
 *   cmake --build build-fuzz --target make_corpus
 *   build-fuzz/fuzz/make_corpus fuzz/corpus/ipv4_tcp
 * Must never: depend on a clock or randomness.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utcp/wire.h"

#define A_ADDR 0xc0000201u /* 192.0.2.1 */
#define B_ADDR 0xc0000202u /* 192.0.2.2 */

static const char *outdir;
static int nfiles;

/* The verdict of the parsers on buf, to show which path a seed exercises. */
static const char *verdict(const uint8_t *buf, size_t len)
{
    struct utcp_ipv4 ip;
    enum utcp_wire_reason r = utcp_ipv4_parse(buf, len, &ip);
    if (r == UTCP_WIRE_OK && ip.proto == UTCP_IPPROTO_TCP) {
        struct utcp_tcp t;
        r = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                           &t);
    } else if (r == UTCP_WIRE_OK && ip.proto == UTCP_IPPROTO_ICMP) {
        struct utcp_icmp m;
        r = utcp_icmp_parse(ip.payload, ip.payload_len, &m);
    }
    return utcp_wire_reason_name(r);
}

static void emit(const char *name, const uint8_t *buf, size_t len)
{
    printf("%-28s %5zu bytes  %s\n", name, len, verdict(buf, len));
    char path[512];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    nfiles++;
}

static struct utcp_ipv4 ip_hdr(bool a_to_b, uint16_t id)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = a_to_b ? A_ADDR : B_ADDR;
    ip.dst = a_to_b ? B_ADDR : A_ADDR;
    ip.id = id;
    ip.ttl = 64;
    ip.df = true;
    ip.proto = UTCP_IPPROTO_TCP;
    return ip;
}

static struct utcp_tcp tcp_hdr(bool a_to_b, uint8_t flags, uint32_t seq,
                               uint32_t ack, uint16_t win)
{
    struct utcp_tcp t;
    memset(&t, 0, sizeof t);
    t.sport = a_to_b ? 40000 : 80;
    t.dport = a_to_b ? 80 : 40000;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.win = win;
    return t;
}

static size_t build_tcp(uint8_t *buf, size_t cap, bool a_to_b,
                        const struct utcp_tcp *t, const uint8_t *payload,
                        size_t plen)
{
    struct utcp_ipv4 ip = ip_hdr(a_to_b, (uint16_t)(0x100 + nfiles));
    size_t n = utcp_ipv4_tcp_build(buf, cap, &ip, t, payload, plen);
    if (n == 0) {
        fprintf(stderr, "make_corpus: build failed for file %d\n", nfiles);
        exit(1);
    }
    return n;
}

/* Recomputes the IPv4 header checksum and the TCP/ICMP checksum in place. */
static void fix_checksums(uint8_t *buf, size_t len)
{
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    buf[10] = buf[11] = 0;
    utcp_put16(buf + 10, utcp_csum(buf, hl));
    size_t total = utcp_get16(buf + 2);
    if (total > len || total < hl)
        return;
    uint8_t *l4 = buf + hl;
    size_t l4len = total - hl;
    if (buf[9] == UTCP_IPPROTO_TCP && l4len >= 20) {
        l4[16] = l4[17] = 0;
        uint32_t s = utcp_csum_pseudo(utcp_get32(buf + 12), utcp_get32(buf + 16),
                                      UTCP_IPPROTO_TCP, (uint16_t)l4len);
        utcp_put16(l4 + 16, utcp_csum_fold(utcp_csum_partial(l4, l4len, s)));
    } else if (buf[9] == UTCP_IPPROTO_ICMP && l4len >= 8) {
        l4[2] = l4[3] = 0;
        utcp_put16(l4 + 2, utcp_csum(l4, l4len));
    }
}

/* A TCP segment with hand-written option bytes (optlen a multiple of 4),
 * checksums correct. Returns the packet length. */
static size_t raw_tcp(uint8_t *buf, const uint8_t *opts, size_t optlen,
                      size_t plen)
{
    size_t hl = 20 + optlen;
    size_t total = 20 + hl + plen;
    memset(buf, 0, total);
    buf[0] = 0x45;
    utcp_put16(buf + 2, (uint16_t)total);
    utcp_put16(buf + 4, 0x777);
    buf[6] = 0x40; /* DF */
    buf[8] = 64;
    buf[9] = UTCP_IPPROTO_TCP;
    utcp_put32(buf + 12, A_ADDR);
    utcp_put32(buf + 16, B_ADDR);
    uint8_t *t = buf + 20;
    utcp_put16(t, 40000);
    utcp_put16(t + 2, 80);
    utcp_put32(t + 4, 1000);
    utcp_put32(t + 8, 2000);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = UTCP_TH_ACK;
    utcp_put16(t + 14, 1000);
    if (optlen)
        memcpy(t + 20, opts, optlen);
    for (size_t i = 0; i < plen; i++)
        t[hl + i] = (uint8_t)('a' + i % 26);
    fix_checksums(buf, total);
    return total;
}

static struct utcp_tcp_opts ts(uint32_t val, uint32_t ecr)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS;
    o.ts_val = val;
    o.ts_ecr = ecr;
    return o;
}

static void valid_tcp(void)
{
    static uint8_t b[2048];
    static uint8_t data[1460];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    struct utcp_tcp t;
    size_t n;

    t = tcp_hdr(true, UTCP_TH_SYN, 3000000000u, 0, 64240);
    t.opts = ts(4000000, 0);
    t.opts.present |= UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_WSCALE;
    t.opts.mss = 1460;
    t.opts.wscale = 7;
    n = build_tcp(b, sizeof b, true, &t, NULL, 0);
    emit("tcp_syn", b, n);

    t = tcp_hdr(false, UTCP_TH_SYN | UTCP_TH_ACK, 1234567890u, 3000000001u,
                65160);
    t.opts = ts(9000010, 4000000);
    t.opts.present |= UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_WSCALE;
    t.opts.mss = 1460;
    t.opts.wscale = 9;
    n = build_tcp(b, sizeof b, false, &t, NULL, 0);
    emit("tcp_synack", b, n);

    t = tcp_hdr(true, UTCP_TH_SYN | UTCP_TH_ECE | UTCP_TH_CWR, 77, 0, 8192);
    t.opts.present = UTCP_OPT_MSS;
    t.opts.mss = 536;
    n = build_tcp(b, sizeof b, true, &t, NULL, 0);
    emit("tcp_syn_ecn_mss_only", b, n);

    t = tcp_hdr(true, UTCP_TH_ACK, 3000000001u, 1234567891u, 502);
    t.opts = ts(4000020, 9000010);
    n = build_tcp(b, sizeof b, true, &t, NULL, 0);
    emit("tcp_ack_ts", b, n);

    t = tcp_hdr(true, UTCP_TH_ACK, 5, 6, 65535);
    n = build_tcp(b, sizeof b, true, &t, NULL, 0);
    emit("tcp_ack_plain", b, n);

    t = tcp_hdr(true, UTCP_TH_PSH | UTCP_TH_ACK, 3000000001u, 1234567891u, 502);
    t.opts = ts(4000020, 9000010);
    n = build_tcp(b, sizeof b, true, &t, data, 100);
    emit("tcp_data_100", b, n);

    t = tcp_hdr(false, UTCP_TH_ACK, 0xfffffff0u, 0x10, 1024);
    n = build_tcp(b, sizeof b, false, &t, data, sizeof data);
    emit("tcp_data_1460_seq_wrap", b, n);

    t = tcp_hdr(true, UTCP_TH_URG | UTCP_TH_ACK | UTCP_TH_PSH, 100, 200, 4096);
    t.urg = 3;
    n = build_tcp(b, sizeof b, true, &t, data, 10);
    emit("tcp_urg", b, n);

    t = tcp_hdr(false, UTCP_TH_ACK, 1234567891u, 3000000001u, 128);
    t.opts = ts(9000020, 4000020);
    t.opts.present |= UTCP_OPT_SACK;
    t.opts.sack_count = 1;
    t.opts.sack[0].left = 3000000101u;
    t.opts.sack[0].right = 3000000201u;
    n = build_tcp(b, sizeof b, false, &t, NULL, 0);
    emit("tcp_sack_1_ts", b, n);

    t.opts.sack_count = 3;
    t.opts.sack[1].left = 3000000301u;
    t.opts.sack[1].right = 3000000401u;
    t.opts.sack[2].left = 3000000501u;
    t.opts.sack[2].right = 3000000601u;
    n = build_tcp(b, sizeof b, false, &t, NULL, 0);
    emit("tcp_sack_3_ts", b, n);

    t.opts.present = UTCP_OPT_SACK;
    t.opts.sack_count = 4;
    t.opts.sack[3].left = 3000000701u;
    t.opts.sack[3].right = 3000000801u;
    n = build_tcp(b, sizeof b, false, &t, NULL, 0);
    emit("tcp_sack_4", b, n);

    t = tcp_hdr(true, UTCP_TH_FIN | UTCP_TH_ACK, 3000000101u, 1234567891u, 502);
    t.opts = ts(4000040, 9000020);
    n = build_tcp(b, sizeof b, true, &t, NULL, 0);
    emit("tcp_fin_ack", b, n);

    t = tcp_hdr(false, UTCP_TH_RST, 1234567891u, 0, 0);
    n = build_tcp(b, sizeof b, false, &t, NULL, 0);
    emit("tcp_rst", b, n);

    t = tcp_hdr(false, UTCP_TH_RST | UTCP_TH_ACK, 0, 3000000001u, 0);
    n = build_tcp(b, sizeof b, false, &t, NULL, 0);
    emit("tcp_rst_ack", b, n);
}

static void malformed_tcp(void)
{
    static uint8_t b[2048];
    size_t n;

    static const uint8_t unknown[] = {30, 6, 1, 2, 3, 4, 1, 0};
    n = raw_tcp(b, unknown, sizeof unknown, 5);
    emit("tcp_opt_unknown_kind", b, n);

    static const uint8_t eol[] = {0, 2, 0, 1, 9, 9, 9, 9};
    n = raw_tcp(b, eol, sizeof eol, 0);
    emit("tcp_opt_eol_then_garbage", b, n);

    static const uint8_t len0[] = {1, 1, 99, 0};
    n = raw_tcp(b, len0, sizeof len0, 0);
    emit("tcp_opt_len_zero", b, n);

    static const uint8_t overrun[] = {1, 1, 2, 4, 5, 0xb4, 8, 10};
    n = raw_tcp(b, overrun, sizeof overrun, 0);
    emit("tcp_opt_overrun", b, n);

    static const uint8_t mss3[] = {2, 3, 5, 0};
    n = raw_tcp(b, mss3, sizeof mss3, 0);
    emit("tcp_opt_mss_bad_size", b, n);

    static const uint8_t sack_odd[] = {1, 1, 5, 6, 0, 0, 0, 1};
    n = raw_tcp(b, sack_odd, sizeof sack_odd, 0);
    emit("tcp_opt_sack_bad_size", b, n);

    n = raw_tcp(b, NULL, 0, 4);
    b[20 + 16] ^= 0x55;
    emit("tcp_bad_checksum", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    b[20 + 12] = 4 << 4; /* data offset 4 */
    fix_checksums(b, n);
    emit("tcp_doff_below_5", b, n);

    n = raw_tcp(b, NULL, 0, 8);
    b[20 + 12] = 15 << 4; /* 60-byte header in a 28-byte segment */
    fix_checksums(b, n);
    emit("tcp_doff_beyond_segment", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    b[20] = b[21] = 0; /* source port 0 */
    fix_checksums(b, n);
    emit("tcp_port_zero", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    utcp_put16(b + 2, 20 + 12); /* a 12-byte "segment" */
    fix_checksums(b, 20 + 12);
    emit("tcp_truncated", b, 20 + 12);
}

static void ipv4(void)
{
    static uint8_t b[2048];
    size_t n;

    n = raw_tcp(b, NULL, 0, 0);
    b[0] = 0x65;
    emit("ip_version_6", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    b[10] ^= 0xff;
    emit("ip_bad_checksum", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    b[6] = 0x20; /* MF */
    fix_checksums(b, n);
    emit("ip_fragment_mf", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    utcp_put32(b + 12, 0xe0000001u); /* 224.0.0.1 */
    fix_checksums(b, n);
    emit("ip_src_multicast", b, n);

    n = raw_tcp(b, NULL, 0, 0);
    utcp_put16(b + 2, (uint16_t)(n + 100));
    fix_checksums(b, n);
    emit("ip_total_len_beyond_buffer", b, n);

    n = raw_tcp(b, NULL, 0, 3);
    memset(b + n, 0, 6); /* Ethernet minimum-frame padding */
    emit("ip_link_padding", b, n + 6);

    emit("ip_truncated", b, 12);

    /* A 24-byte header with options NOP NOP NOP EOL, then a TCP ACK. */
    n = raw_tcp(b, NULL, 0, 0);
    memmove(b + 24, b + 20, n - 20);
    b[20] = 1;
    b[21] = 1;
    b[22] = 1;
    b[23] = 0;
    b[0] = 0x46;
    utcp_put16(b + 2, (uint16_t)(n + 4));
    fix_checksums(b, n + 4);
    emit("ip_options_nop", b, n + 4);
}

static void icmp(void)
{
    static uint8_t b[2048];
    static uint8_t orig[128];
    uint8_t echo[56];
    for (size_t i = 0; i < sizeof echo; i++)
        echo[i] = (uint8_t)(0x10 + i);
    struct utcp_ipv4 ip = ip_hdr(true, 0x4242);
    ip.proto = UTCP_IPPROTO_ICMP;
    ip.df = false;
    struct utcp_icmp m;
    memset(&m, 0, sizeof m);
    m.type = UTCP_ICMP_ECHO_REQUEST;
    m.id = 0x1234;
    m.seq = 1;
    m.data = echo;
    m.data_len = sizeof echo;
    size_t n = utcp_icmp_echo_build(b + 20, sizeof b - 20, &m);
    utcp_ipv4_build(b, sizeof b, &ip, n);
    emit("icmp_echo_request", b, 20 + n);

    b[20 + 2] ^= 1;
    emit("icmp_bad_checksum", b, 20 + n);

    b[20] = 13; /* timestamp request: unsupported */
    fix_checksums(b, 20 + n);
    emit("icmp_unsupported_type", b, 20 + n);

    m.type = UTCP_ICMP_ECHO_REPLY;
    ip.src = B_ADDR;
    ip.dst = A_ADDR;
    n = utcp_icmp_echo_build(b + 20, sizeof b - 20, &m);
    utcp_ipv4_build(b, sizeof b, &ip, n);
    emit("icmp_echo_reply", b, 20 + n);

    /* Port unreachable quoting a SYN that B sent to A. */
    struct utcp_tcp t = tcp_hdr(false, UTCP_TH_SYN, 42, 0, 1000);
    size_t on = build_tcp(orig, sizeof orig, false, &t, NULL, 0);
    n = utcp_icmp_unreach_build(b + 20, sizeof b - 20, UTCP_ICMP_UNREACH_PORT,
                                0, orig, on);
    utcp_ipv4_build(b, sizeof b, &ip, n);
    emit("icmp_unreach_port", b, 20 + n);

    n = utcp_icmp_unreach_build(b + 20, sizeof b - 20,
                                UTCP_ICMP_UNREACH_FRAG_NEEDED, 1400, orig, on);
    utcp_ipv4_build(b, sizeof b, &ip, n);
    emit("icmp_frag_needed_mtu_1400", b, 20 + n);

    b[20 + 8] = 0x65; /* the quoted header claims version 6 */
    fix_checksums(b, 20 + n);
    emit("icmp_unreach_bad_quote", b, 20 + n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    valid_tcp();
    malformed_tcp();
    ipv4();
    icmp();
    printf("make_corpus: wrote %d files to %s\n", nfiles, outdir);
    return 0;
}
