/*
 * Tests for the ICMP parser and builders (src/wire/icmp.c): echo request and
 * reply, destination unreachable with its quoted IPv4 header and TCP ports,
 * every rejection reason, the order of the checks, build->parse round trips,
 * and messages that end exactly at a guard page.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "utcp/wire.h"

#define SRC 0xc0000201u /* 192.0.2.1 */
#define DST 0xc6120002u /* 198.18.0.2 */

static void fix_icmp_csum(uint8_t *m, size_t len)
{
    utcp_put16(m + 2, 0);
    utcp_put16(m + 2, utcp_csum(m, len));
}

/* Writes an echo message by hand; returns its length. */
static size_t make_echo(uint8_t *m, uint8_t type, uint16_t id, uint16_t seq,
                        const uint8_t *data, size_t data_len)
{
    m[0] = type;
    m[1] = 0;
    utcp_put16(m + 4, id);
    utcp_put16(m + 6, seq);
    if (data_len > 0)
        memcpy(m + 8, data, data_len);
    fix_icmp_csum(m, 8 + data_len);
    return 8 + data_len;
}

/* Writes a destination unreachable by hand, quoting an IPv4 header with
 * opt_words words of options (NOPs) carrying proto, followed by quote_data
 * bytes of the quoted transport header (a TCP header 5555 -> 80, seq
 * 0xcafef00d, then 0xee). Returns its length. */
static size_t make_unreach(uint8_t *m, uint8_t code, uint16_t word2,
                           uint8_t proto, size_t opt_words, size_t quote_data)
{
    memset(m, 0, 8);
    m[0] = UTCP_ICMP_DEST_UNREACH;
    m[1] = code;
    utcp_put16(m + 6, word2);
    uint8_t *q = m + 8;
    size_t hl = 20 + 4 * opt_words;
    memset(q, 0, hl);
    q[0] = (uint8_t)(0x40 | hl / 4);
    utcp_put16(q + 2, 1500); /* unrelated to the quote: not checked */
    utcp_put16(q + 4, 0x4242);
    utcp_put16(q + 6, 0x4000);
    q[8] = 3;
    q[9] = proto;
    utcp_put16(q + 10, 0xdead); /* bad on purpose: not checked */
    utcp_put32(q + 12, DST);
    utcp_put32(q + 16, SRC);
    memset(q + 20, 1, 4 * opt_words);
    uint8_t th[8];
    utcp_put16(th, 5555);
    utcp_put16(th + 2, 80);
    utcp_put32(th + 4, 0xcafef00d);
    for (size_t i = 0; i < quote_data; i++)
        q[hl + i] = i < 8 ? th[i] : 0xee;
    size_t len = 8 + hl + quote_data;
    fix_icmp_csum(m, len);
    return len;
}

static enum utcp_wire_reason parse(const uint8_t *m, size_t len)
{
    struct utcp_icmp out;
    return utcp_icmp_parse(m, len, &out);
}

/* ---- echo -------------------------------------------------------------- */

static void icmp_parse_echo_request_fills_fields(void **state)
{
    (void)state;
    const uint8_t data[] = "abcdefghijklmnopqrstuvw"; /* 24 bytes */
    uint8_t m[64];
    size_t n = make_echo(m, UTCP_ICMP_ECHO_REQUEST, 0x1234, 7, data, 24);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.type, UTCP_ICMP_ECHO_REQUEST);
    assert_int_equal(out.code, 0);
    assert_int_equal(out.id, 0x1234);
    assert_int_equal(out.seq, 7);
    assert_ptr_equal(out.data, m + 8);
    assert_int_equal(out.data_len, 24);
    assert_int_equal(out.next_mtu, 0);
}

static void icmp_parse_echo_reply_with_odd_length_data(void **state)
{
    (void)state;
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    uint8_t m[64];
    size_t n = make_echo(m, UTCP_ICMP_ECHO_REPLY, 1, 0xffff, data, 5);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.type, UTCP_ICMP_ECHO_REPLY);
    assert_int_equal(out.seq, 0xffff);
    assert_int_equal(out.data_len, 5);
    assert_memory_equal(out.data, data, 5);
}

static void icmp_parse_echo_without_data(void **state)
{
    (void)state;
    uint8_t m[8];
    size_t n = make_echo(m, UTCP_ICMP_ECHO_REQUEST, 9, 9, NULL, 0);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.data_len, 0);
}

/* ---- destination unreachable ------------------------------------------- */

static void icmp_parse_unreach_port_quoting_tcp(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, UTCP_ICMP_UNREACH_PORT, 0, UTCP_IPPROTO_TCP, 0,
                            8);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.type, UTCP_ICMP_DEST_UNREACH);
    assert_int_equal(out.code, UTCP_ICMP_UNREACH_PORT);
    assert_int_equal(out.next_mtu, 0);
    assert_ptr_equal(out.data, m + 8);
    assert_int_equal(out.data_len, 28);
    assert_int_equal(out.quoted.src, DST);
    assert_int_equal(out.quoted.dst, SRC);
    assert_int_equal(out.quoted.proto, UTCP_IPPROTO_TCP);
    assert_int_equal(out.quoted.hdr_len, 20);
    assert_int_equal(out.quoted.total_len, 1500);
    assert_int_equal(out.quoted.id, 0x4242);
    assert_int_equal(out.quoted.ttl, 3);
    assert_true(out.quoted.df);
    assert_ptr_equal(out.quoted.payload, m + 28);
    assert_int_equal(out.quoted.payload_len, 8);
    assert_int_equal(out.q_sport, 5555);
    assert_int_equal(out.q_dport, 80);
    assert_int_equal(out.q_seq, 0xcafef00d);
}

static void icmp_parse_unreach_frag_needed_reads_next_mtu(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, UTCP_ICMP_UNREACH_FRAG_NEEDED, 1280,
                            UTCP_IPPROTO_TCP, 0, 8);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.next_mtu, 1280);
}

static void icmp_parse_unreach_other_codes_ignore_mtu_field(void **state)
{
    (void)state;
    const uint8_t codes[] = {0, 1, 2, 3, 5, 13, 255};
    for (size_t i = 0; i < sizeof codes; i++) {
        uint8_t m[128];
        size_t n = make_unreach(m, codes[i], 1280, UTCP_IPPROTO_TCP, 0, 8);
        struct utcp_icmp out;
        assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
        assert_int_equal(out.code, codes[i]);
        assert_int_equal(out.next_mtu, 0);
    }
}

static void icmp_parse_unreach_quoting_udp_has_no_tcp_fields(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, UTCP_ICMP_UNREACH_PORT, 0, 17, 0, 8);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.quoted.proto, 17);
    assert_int_equal(out.q_sport, 0);
    assert_int_equal(out.q_dport, 0);
    assert_int_equal(out.q_seq, 0);
}

static void icmp_parse_unreach_quote_with_options_and_long_data(void **state)
{
    (void)state;
    uint8_t m[256];
    size_t n = make_unreach(m, UTCP_ICMP_UNREACH_HOST, 0, UTCP_IPPROTO_TCP,
                            10, 100);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.quoted.hdr_len, 60);
    assert_ptr_equal(out.quoted.payload, m + 8 + 60);
    assert_int_equal(out.quoted.payload_len, 100);
    assert_int_equal(out.q_sport, 5555);
    assert_int_equal(out.q_seq, 0xcafef00d);
}

/* ---- each rejection reason ------------------------------------------ */

static void icmp_parse_shorter_than_8_truncated(void **state)
{
    (void)state;
    uint8_t m[16];
    make_echo(m, UTCP_ICMP_ECHO_REQUEST, 1, 1, NULL, 0);
    for (size_t len = 0; len < 8; len++)
        assert_int_equal(parse(m, len), UTCP_WIRE_ICMP_TRUNCATED);
}

static void icmp_parse_bad_checksum_rejected(void **state)
{
    (void)state;
    const uint8_t data[7] = {9, 8, 7, 6, 5, 4, 3};
    uint8_t m[32];
    size_t n = make_echo(m, UTCP_ICMP_ECHO_REQUEST, 3, 4, data, 7);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            m[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_CHECKSUM);
            m[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(parse(m, n), UTCP_WIRE_OK);
    /* A dropped trailing byte changes the sum too. */
    assert_int_equal(parse(m, n - 1), UTCP_WIRE_ICMP_CHECKSUM);
}

static void icmp_parse_unsupported_types_rejected(void **state)
{
    (void)state;
    uint8_t m[64];
    for (unsigned type = 0; type < 256; type++) {
        if (type == UTCP_ICMP_ECHO_REPLY || type == UTCP_ICMP_ECHO_REQUEST ||
            type == UTCP_ICMP_DEST_UNREACH)
            continue;
        size_t n = make_echo(m, (uint8_t)type, 1, 1, NULL, 0);
        assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_UNSUPPORTED);
    }
}

static void icmp_parse_unreach_quote_shorter_than_ip_header(void **state)
{
    (void)state;
    uint8_t m[128];
    make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, 8);
    for (size_t qlen = 0; qlen < 20; qlen++) {
        fix_icmp_csum(m, 8 + qlen);
        assert_int_equal(parse(m, 8 + qlen), UTCP_WIRE_ICMP_QUOTE);
    }
}

static void icmp_parse_unreach_quote_version_not_4(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, 8);
    m[8] = 0x65;
    fix_icmp_csum(m, n);
    assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_QUOTE);
}

static void icmp_parse_unreach_quote_ihl_below_5(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, 8);
    m[8] = 0x44;
    fix_icmp_csum(m, n);
    assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_QUOTE);
}

static void icmp_parse_unreach_quote_ihl_beyond_message(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, 8);
    m[8] = 0x4f; /* 60-byte header in a 28-byte quote */
    fix_icmp_csum(m, n);
    assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_QUOTE);
}

static void icmp_parse_unreach_quote_without_8_data_bytes(void **state)
{
    (void)state;
    uint8_t m[128];
    for (size_t qd = 0; qd < 8; qd++) {
        size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, qd);
        assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_QUOTE);
    }
    /* Options eat into the room: 24-byte header + 7 bytes. */
    size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 1, 7);
    assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_QUOTE);
    n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 1, 8);
    assert_int_equal(parse(m, n), UTCP_WIRE_OK);
}

static void icmp_parse_checks_in_documented_order(void **state)
{
    (void)state;
    uint8_t m[128];
    /* Bad checksum on an unsupported type: checksum first. */
    size_t n = make_echo(m, 13, 1, 1, NULL, 0);
    m[2] ^= 1;
    assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_CHECKSUM);
    /* Bad checksum and bad quote: checksum first. */
    n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, 2);
    m[2] ^= 1;
    assert_int_equal(parse(m, n), UTCP_WIRE_ICMP_CHECKSUM);
}

static void icmp_parse_failure_leaves_out_untouched(void **state)
{
    (void)state;
    uint8_t m[128];
    size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 0, 4);
    struct utcp_icmp out, before;
    memset(&out, 0x77, sizeof out);
    before = out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_ICMP_QUOTE);
    assert_memory_equal(&out, &before, sizeof out);
}

/* ---- guard page -------------------------------------------------------- */

struct guard {
    uint8_t *map;
    size_t page;
};

static void guard_open(struct guard *g)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    g->map = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + g->page, g->page, PROT_NONE), 0);
}

/* Copies msg so that its last byte is the last byte before the guard. */
static uint8_t *guard_place(struct guard *g, const uint8_t *msg, size_t len)
{
    uint8_t *p = g->map + g->page - len;
    memcpy(p, msg, len);
    return p;
}

static void guard_close(struct guard *g)
{
    munmap(g->map, 2 * g->page);
}

static void icmp_parse_at_guard_page_reads_nothing_past_end(void **state)
{
    (void)state;
    struct guard g;
    guard_open(&g);
    uint8_t m[128];
    struct utcp_icmp out;

    /* Unreachable whose 8 quoted TCP bytes end at the guard. */
    size_t n = make_unreach(m, 3, 0, UTCP_IPPROTO_TCP, 1, 8);
    uint8_t *p = guard_place(&g, m, n);
    assert_int_equal(utcp_icmp_parse(p, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.q_seq, 0xcafef00d);
    for (size_t len = 0; len < n; len++) {
        p = guard_place(&g, m, len);
        assert_int_not_equal(utcp_icmp_parse(p, len, &out), UTCP_WIRE_OK);
    }
    /* Truncated by one but with a checksum that matches the shorter
     * message: the quote check must catch it. */
    uint8_t t[128];
    memcpy(t, m, n - 1);
    fix_icmp_csum(t, n - 1);
    p = guard_place(&g, t, n - 1);
    assert_int_equal(utcp_icmp_parse(p, n - 1, &out), UTCP_WIRE_ICMP_QUOTE);

    /* Echo with odd data ending at the guard, and its truncations. */
    const uint8_t data[3] = {1, 2, 3};
    n = make_echo(m, UTCP_ICMP_ECHO_REQUEST, 1, 2, data, 3);
    p = guard_place(&g, m, n);
    assert_int_equal(utcp_icmp_parse(p, n, &out), UTCP_WIRE_OK);
    p = guard_place(&g, m, 7);
    assert_int_equal(utcp_icmp_parse(p, 7, &out), UTCP_WIRE_ICMP_TRUNCATED);
    guard_close(&g);
}

static void icmp_parse_random_mutations_keep_invariants(void **state)
{
    (void)state;
    /* Deterministic mutations of a valid unreachable; the checksum is
     * recomputed so the type and quote checks are reached. On success the
     * output stays inside the input. */
    uint8_t base[128], m[128];
    size_t n = make_unreach(base, UTCP_ICMP_UNREACH_FRAG_NEEDED, 1280,
                            UTCP_IPPROTO_TCP, 1, 12);
    uint64_t x = 88172645463325252u;
    unsigned ok = 0;
    for (int iter = 0; iter < 200000; iter++) {
        memcpy(m, base, n);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int flips = 1 + (int)(x % 3);
        for (int f = 0; f < flips; f++)
            m[(x >> (8 + 8 * f)) % n] = (uint8_t)(x >> (40 + 4 * f));
        if ((x >> 60) < 8 && m[0] != UTCP_ICMP_DEST_UNREACH)
            m[0] = UTCP_ICMP_DEST_UNREACH;
        size_t len = (x >> 60) < 4 ? (size_t)((x >> 32) % (n + 1)) : n;
        if (len >= 8)
            fix_icmp_csum(m, len);
        struct utcp_icmp out;
        enum utcp_wire_reason r = utcp_icmp_parse(m, len, &out);
        assert_true(r < UTCP_WIRE_REASON_COUNT);
        if (r != UTCP_WIRE_OK)
            continue;
        ok++;
        assert_ptr_equal(out.data, m + 8);
        assert_int_equal(out.data_len, len - 8);
        if (out.type == UTCP_ICMP_DEST_UNREACH) {
            assert_true(out.quoted.hdr_len >= 20);
            assert_ptr_equal(out.quoted.payload, m + 8 + out.quoted.hdr_len);
            assert_true(out.quoted.payload_len >= 8);
            assert_int_equal(8 + out.quoted.hdr_len + out.quoted.payload_len,
                             len);
        }
    }
    assert_true(ok > 0);
}

/* ---- builders ---------------------------------------------------------- */

static void icmp_echo_build_then_parse_round_trips(void **state)
{
    (void)state;
    uint8_t data[100];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    const uint8_t types[] = {UTCP_ICMP_ECHO_REQUEST, UTCP_ICMP_ECHO_REPLY};
    for (size_t ti = 0; ti < 2; ti++) {
        for (size_t len = 0; len <= sizeof data; len += 33) {
            struct utcp_icmp in;
            memset(&in, 0, sizeof in);
            in.type = types[ti];
            in.code = 9; /* ignored: echo code is 0 */
            in.id = 0xabcd;
            in.seq = (uint16_t)len;
            in.data = data;
            in.data_len = len;
            uint8_t m[128];
            size_t n = utcp_icmp_echo_build(m, sizeof m, &in);
            assert_int_equal(n, 8 + len);
            assert_int_equal(utcp_csum(m, n), 0);
            struct utcp_icmp out;
            assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
            assert_int_equal(out.type, types[ti]);
            assert_int_equal(out.code, 0);
            assert_int_equal(out.id, 0xabcd);
            assert_int_equal(out.seq, len);
            assert_int_equal(out.data_len, len);
            assert_memory_equal(out.data, data, len);
        }
    }
}

static void icmp_echo_build_reply_in_place_over_request(void **state)
{
    (void)state;
    const uint8_t data[] = "ping payload!"; /* 14 bytes */
    uint8_t m[64];
    size_t n = make_echo(m, UTCP_ICMP_ECHO_REQUEST, 5, 6, data, 14);
    struct utcp_icmp req;
    assert_int_equal(utcp_icmp_parse(m, n, &req), UTCP_WIRE_OK);
    req.type = UTCP_ICMP_ECHO_REPLY;
    assert_int_equal(utcp_icmp_echo_build(m, sizeof m, &req), n);
    struct utcp_icmp rep;
    assert_int_equal(utcp_icmp_parse(m, n, &rep), UTCP_WIRE_OK);
    assert_int_equal(rep.type, UTCP_ICMP_ECHO_REPLY);
    assert_int_equal(rep.id, 5);
    assert_int_equal(rep.seq, 6);
    assert_memory_equal(rep.data, data, 14);
}

static void icmp_echo_build_non_echo_type_returns_zero(void **state)
{
    (void)state;
    struct utcp_icmp in;
    memset(&in, 0, sizeof in);
    uint8_t m[64];
    const uint8_t bad[] = {UTCP_ICMP_DEST_UNREACH, 1, 11, 255};
    for (size_t i = 0; i < sizeof bad; i++) {
        in.type = bad[i];
        assert_int_equal(utcp_icmp_echo_build(m, sizeof m, &in), 0);
    }
}

static void icmp_echo_build_cap_too_small_returns_zero(void **state)
{
    (void)state;
    const uint8_t data[10] = {0};
    struct utcp_icmp in;
    memset(&in, 0, sizeof in);
    in.type = UTCP_ICMP_ECHO_REQUEST;
    in.data = data;
    in.data_len = 10;
    uint8_t m[32];
    memset(m, 0xcd, sizeof m);
    assert_int_equal(utcp_icmp_echo_build(m, 17, &in), 0);
    assert_int_equal(utcp_icmp_echo_build(m, 7, &in), 0);
    assert_int_equal(utcp_icmp_echo_build(m, 0, &in), 0);
    for (size_t i = 0; i < sizeof m; i++)
        assert_int_equal(m[i], 0xcd);
    assert_int_equal(utcp_icmp_echo_build(m, 18, &in), 18);
    in.data_len = SIZE_MAX;
    assert_int_equal(utcp_icmp_echo_build(m, sizeof m, &in), 0);
}

static void icmp_echo_build_null_data_with_length_returns_zero(void **state)
{
    (void)state;
    struct utcp_icmp in;
    memset(&in, 0, sizeof in);
    in.type = UTCP_ICMP_ECHO_REPLY;
    in.data_len = 4;
    uint8_t m[32];
    assert_int_equal(utcp_icmp_echo_build(m, sizeof m, &in), 0);
    in.data_len = 0;
    assert_int_equal(utcp_icmp_echo_build(m, sizeof m, &in), 8);
}

/* An IPv4+TCP packet to be answered with an unreachable. */
static size_t offending_packet(uint8_t *p, size_t cap)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SRC;
    ip.dst = DST;
    ip.ttl = 64;
    ip.id = 99;
    struct utcp_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = 33000;
    h.dport = 22;
    h.seq = 0x01020304;
    h.flags = UTCP_TH_SYN;
    h.opts.present = UTCP_OPT_MSS;
    h.opts.mss = 1460;
    const uint8_t payload[16] = {0};
    return utcp_ipv4_tcp_build(p, cap, &ip, &h, payload, sizeof payload);
}

static void icmp_unreach_build_then_parse_round_trips(void **state)
{
    (void)state;
    uint8_t orig[128];
    size_t olen = offending_packet(orig, sizeof orig);
    assert_true(olen > 28);
    const uint8_t codes[] = {UTCP_ICMP_UNREACH_NET, UTCP_ICMP_UNREACH_PORT,
                             UTCP_ICMP_UNREACH_FRAG_NEEDED};
    for (size_t i = 0; i < sizeof codes; i++) {
        uint8_t m[128];
        size_t n = utcp_icmp_unreach_build(m, sizeof m, codes[i], 1400, orig,
                                           olen);
        /* RFC 792: header + 64 bits of data, no more. */
        assert_int_equal(n, 8 + 20 + 8);
        assert_int_equal(utcp_csum(m, n), 0);
        assert_int_equal(utcp_get16(m + 4), 0);
        assert_memory_equal(m + 8, orig, 28);
        struct utcp_icmp out;
        assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
        assert_int_equal(out.type, UTCP_ICMP_DEST_UNREACH);
        assert_int_equal(out.code, codes[i]);
        assert_int_equal(out.next_mtu,
                         codes[i] == UTCP_ICMP_UNREACH_FRAG_NEEDED ? 1400 : 0);
        assert_int_equal(utcp_get16(m + 6), out.next_mtu);
        assert_int_equal(out.quoted.src, SRC);
        assert_int_equal(out.quoted.dst, DST);
        assert_int_equal(out.quoted.proto, UTCP_IPPROTO_TCP);
        assert_int_equal(out.quoted.total_len, olen);
        assert_int_equal(out.q_sport, 33000);
        assert_int_equal(out.q_dport, 22);
        assert_int_equal(out.q_seq, 0x01020304);
    }
}

static void icmp_unreach_build_quotes_header_options(void **state)
{
    (void)state;
    uint8_t orig[64];
    memset(orig, 0, sizeof orig);
    orig[0] = 0x46; /* 24-byte header */
    orig[9] = UTCP_IPPROTO_TCP;
    memset(orig + 20, 1, 4);
    utcp_put16(orig + 24, 1111);
    utcp_put16(orig + 26, 2222);
    utcp_put32(orig + 28, 3333);
    uint8_t m[64];
    size_t n = utcp_icmp_unreach_build(m, sizeof m, UTCP_ICMP_UNREACH_PROTO,
                                       0, orig, 32);
    assert_int_equal(n, 8 + 24 + 8);
    struct utcp_icmp out;
    assert_int_equal(utcp_icmp_parse(m, n, &out), UTCP_WIRE_OK);
    assert_int_equal(out.quoted.hdr_len, 24);
    assert_int_equal(out.q_sport, 1111);
    assert_int_equal(out.q_dport, 2222);
    assert_int_equal(out.q_seq, 3333);
}

static void icmp_unreach_build_rejects_short_or_bad_original(void **state)
{
    (void)state;
    uint8_t orig[128];
    size_t olen = offending_packet(orig, sizeof orig);
    uint8_t m[128];
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, NULL, 0), 0);
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, orig, 19), 0);
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, orig, 27), 0);
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, orig, 28),
                     36);
    orig[0] = 0x65;
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, orig, olen),
                     0);
    orig[0] = 0x44;
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, orig, olen),
                     0);
    orig[0] = 0x4f; /* 60-byte header: 68 > olen */
    assert_true(olen < 68);
    assert_int_equal(utcp_icmp_unreach_build(m, sizeof m, 3, 0, orig, olen),
                     0);
}

static void icmp_unreach_build_cap_too_small_returns_zero(void **state)
{
    (void)state;
    uint8_t orig[128];
    size_t olen = offending_packet(orig, sizeof orig);
    uint8_t m[64];
    memset(m, 0xcd, sizeof m);
    assert_int_equal(utcp_icmp_unreach_build(m, 35, 3, 0, orig, olen), 0);
    for (size_t i = 0; i < sizeof m; i++)
        assert_int_equal(m[i], 0xcd);
    assert_int_equal(utcp_icmp_unreach_build(m, 36, 3, 0, orig, olen), 36);
    for (size_t i = 36; i < sizeof m; i++)
        assert_int_equal(m[i], 0xcd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(icmp_parse_echo_request_fills_fields),
        cmocka_unit_test(icmp_parse_echo_reply_with_odd_length_data),
        cmocka_unit_test(icmp_parse_echo_without_data),
        cmocka_unit_test(icmp_parse_unreach_port_quoting_tcp),
        cmocka_unit_test(icmp_parse_unreach_frag_needed_reads_next_mtu),
        cmocka_unit_test(icmp_parse_unreach_other_codes_ignore_mtu_field),
        cmocka_unit_test(icmp_parse_unreach_quoting_udp_has_no_tcp_fields),
        cmocka_unit_test(icmp_parse_unreach_quote_with_options_and_long_data),
        cmocka_unit_test(icmp_parse_shorter_than_8_truncated),
        cmocka_unit_test(icmp_parse_bad_checksum_rejected),
        cmocka_unit_test(icmp_parse_unsupported_types_rejected),
        cmocka_unit_test(icmp_parse_unreach_quote_shorter_than_ip_header),
        cmocka_unit_test(icmp_parse_unreach_quote_version_not_4),
        cmocka_unit_test(icmp_parse_unreach_quote_ihl_below_5),
        cmocka_unit_test(icmp_parse_unreach_quote_ihl_beyond_message),
        cmocka_unit_test(icmp_parse_unreach_quote_without_8_data_bytes),
        cmocka_unit_test(icmp_parse_checks_in_documented_order),
        cmocka_unit_test(icmp_parse_failure_leaves_out_untouched),
        cmocka_unit_test(icmp_parse_at_guard_page_reads_nothing_past_end),
        cmocka_unit_test(icmp_parse_random_mutations_keep_invariants),
        cmocka_unit_test(icmp_echo_build_then_parse_round_trips),
        cmocka_unit_test(icmp_echo_build_reply_in_place_over_request),
        cmocka_unit_test(icmp_echo_build_non_echo_type_returns_zero),
        cmocka_unit_test(icmp_echo_build_cap_too_small_returns_zero),
        cmocka_unit_test(icmp_echo_build_null_data_with_length_returns_zero),
        cmocka_unit_test(icmp_unreach_build_then_parse_round_trips),
        cmocka_unit_test(icmp_unreach_build_quotes_header_options),
        cmocka_unit_test(icmp_unreach_build_rejects_short_or_bad_original),
        cmocka_unit_test(icmp_unreach_build_cap_too_small_returns_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
