/*
 * Tests for the TCP header and option parser and builder (src/wire/tcp.c):
 * every rejection reason, every option's valid and wrong lengths, the order
 * of the checks, the builder's exact option layout, build->parse round trips
 * for every option combination, the built checksum against RFC 1071 with
 * random field values, IPv4+TCP building, and segments that end exactly at
 * a guard page.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "utcp/wire.h"

#define SRC 0xc0000201u /* 192.0.2.1 */
#define DST 0xc6120002u /* 198.18.0.2 */

/* Recomputes the checksum of the segment p[0..len) for SRC -> DST. */
static void fix_tcp_csum(uint8_t *p, size_t len)
{
    utcp_put16(p + 16, 0);
    uint32_t s = utcp_csum_pseudo(SRC, DST, UTCP_IPPROTO_TCP, (uint16_t)len);
    utcp_put16(p + 16, utcp_csum_fold(utcp_csum_partial(p, len, s)));
}

/* RFC 1071 as written, over big-endian 16-bit words (an odd byte padded
 * with zero), folded and complemented: the reference the builder's
 * checksum is compared to. */
static uint16_t naive_csum(const uint8_t *p, size_t len, uint64_t s)
{
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        s += (uint64_t)p[i] << 8 | p[i + 1];
    if (i < len)
        s += (uint64_t)p[i] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint32_t rnd32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

/* Writes a valid segment 1234 -> 80 with options opts[0..optlen) (a
 * multiple of 4) and payload_len bytes of 0x5a; returns its length. */
static size_t make_seg(uint8_t *p, const uint8_t *opts, size_t optlen,
                       size_t payload_len)
{
    size_t hl = UTCP_TCP_HDR_LEN + optlen;
    memset(p, 0, hl);
    utcp_put16(p, 1234);
    utcp_put16(p + 2, 80);
    utcp_put32(p + 4, 0x01020304);
    utcp_put32(p + 8, 0xa0b0c0d0);
    p[12] = (uint8_t)(hl / 4 << 4);
    p[13] = UTCP_TH_ACK | UTCP_TH_PSH;
    utcp_put16(p + 14, 29200);
    utcp_put16(p + 18, 7);
    if (optlen)
        memcpy(p + UTCP_TCP_HDR_LEN, opts, optlen);
    memset(p + hl, 0x5a, payload_len);
    fix_tcp_csum(p, hl + payload_len);
    return hl + payload_len;
}

static enum utcp_wire_reason parse(const uint8_t *p, size_t len)
{
    struct utcp_tcp t;
    return utcp_tcp_parse(p, len, SRC, DST, true, &t);
}

/* Parses a segment carrying only the given option bytes (padded to 4 with
 * EOL). */
static enum utcp_wire_reason parse_opts(const uint8_t *opts, size_t n,
                                        struct utcp_tcp *t)
{
    uint8_t o[40] = {0};
    uint8_t p[64];
    assert_true(n <= sizeof o);
    memcpy(o, opts, n);
    size_t len = make_seg(p, o, (n + 3) & ~(size_t)3, 0);
    return utcp_tcp_parse(p, len, SRC, DST, true, t);
}

static enum utcp_wire_reason opts_reason(const uint8_t *opts, size_t n)
{
    struct utcp_tcp t;
    return parse_opts(opts, n, &t);
}

/* ---- valid segments ---------------------------------------------------- */

static void tcp_parse_minimal_header_fills_every_field(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 11);
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t), UTCP_WIRE_OK);
    assert_int_equal(t.sport, 1234);
    assert_int_equal(t.dport, 80);
    assert_int_equal(t.seq, 0x01020304);
    assert_int_equal(t.ack, 0xa0b0c0d0);
    assert_int_equal(t.hdr_len, 20);
    assert_int_equal(t.flags, UTCP_TH_ACK | UTCP_TH_PSH);
    assert_int_equal(t.win, 29200);
    assert_int_equal(t.urg, 7);
    assert_int_equal(t.csum, utcp_get16(p + 16));
    assert_int_equal(t.opts.present, 0);
    assert_int_equal(t.opts.unknown_count, 0);
    assert_ptr_equal(t.payload, p + 20);
    assert_int_equal(t.payload_len, 11);
}

static void tcp_parse_every_flag_bit_reported(void **state)
{
    (void)state;
    uint8_t p[64];
    for (unsigned f = 0; f < 256; f++) {
        size_t n = make_seg(p, NULL, 0, 0);
        p[13] = (uint8_t)f;
        p[12] |= 0x0f; /* reserved bits: ignored */
        fix_tcp_csum(p, n);
        struct utcp_tcp t;
        assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t),
                         UTCP_WIRE_OK);
        assert_int_equal(t.flags, f);
        assert_int_equal(t.hdr_len, 20);
    }
}

static void tcp_parse_without_verify_accepts_bad_checksum(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 4);
    p[16] ^= 0xff;
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, false, &t), UTCP_WIRE_OK);
    assert_int_equal(t.csum, utcp_get16(p + 16));
    /* Nor are the addresses used. */
    assert_int_equal(utcp_tcp_parse(p, n, 0, 0, false, &t), UTCP_WIRE_OK);
}

static void tcp_parse_mss_option(void **state)
{
    (void)state;
    const uint8_t o[] = {2, 4, 0x05, 0xb4};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_MSS);
    assert_int_equal(t.opts.mss, 1460);
    assert_int_equal(t.hdr_len, 24);
}

static void tcp_parse_wscale_option_not_clamped(void **state)
{
    (void)state;
    const uint8_t o[] = {1, 3, 3, 15};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_WSCALE);
    assert_int_equal(t.opts.wscale, 15);
}

static void tcp_parse_sack_permitted_option(void **state)
{
    (void)state;
    const uint8_t o[] = {1, 1, 4, 2};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_SACK_PERM);
}

static void tcp_parse_timestamp_option(void **state)
{
    (void)state;
    const uint8_t o[] = {1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 9};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_TS);
    assert_int_equal(t.opts.ts_val, 0xdeadbeef);
    assert_int_equal(t.opts.ts_ecr, 9);
}

static void tcp_parse_sack_one_to_four_blocks(void **state)
{
    (void)state;
    for (unsigned nb = 1; nb <= 4; nb++) {
        uint8_t o[40] = {1, 1, 5, (uint8_t)(2 + 8 * nb)};
        for (unsigned b = 0; b < nb; b++) {
            utcp_put32(&o[4 + 8 * b], 1000 * (b + 1));
            utcp_put32(&o[8 + 8 * b], 1000 * (b + 1) + 500);
        }
        size_t n = 4 + 8 * (size_t)nb;
        struct utcp_tcp t;
        assert_int_equal(parse_opts(o, n, &t), UTCP_WIRE_OK);
        assert_int_equal(t.opts.present, UTCP_OPT_SACK);
        assert_int_equal(t.opts.sack_count, nb);
        for (unsigned b = 0; b < nb; b++) {
            assert_int_equal(t.opts.sack[b].left, 1000 * (b + 1));
            assert_int_equal(t.opts.sack[b].right, 1000 * (b + 1) + 500);
        }
    }
}

static void tcp_parse_linux_syn_options(void **state)
{
    (void)state;
    /* What Linux sends in a SYN: MSS, SACK_PERM+TS, NOP, WS. */
    const uint8_t o[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 1, 2, 3,
                         0, 0, 0, 0, 1, 3, 3, 7};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_MSS | UTCP_OPT_SACK_PERM |
                                         UTCP_OPT_TS | UTCP_OPT_WSCALE);
    assert_int_equal(t.opts.mss, 1460);
    assert_int_equal(t.opts.ts_val, 0x00010203);
    assert_int_equal(t.opts.ts_ecr, 0);
    assert_int_equal(t.opts.wscale, 7);
    assert_int_equal(t.hdr_len, 40);
}

static void tcp_parse_unknown_options_skipped_and_counted(void **state)
{
    (void)state;
    /* Kind 30 (MPTCP) length 6, kind 254 (experimental) length 2, kind 34
     * (TFO cookie) length 10, then MSS: all walked by length. */
    const uint8_t o[] = {30, 6, 1, 2, 3, 4, 254, 2, 34, 10, 9, 9, 9,
                         9,  9, 9, 9, 9, 2, 4,   0x02, 0x18};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.unknown_count, 3);
    assert_int_equal(t.opts.present, UTCP_OPT_MSS);
    assert_int_equal(t.opts.mss, 536);
}

static void tcp_parse_unknown_option_of_length_two_and_max(void **state)
{
    (void)state;
    uint8_t o[40] = {99, 40};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.unknown_count, 1);
}

static void tcp_parse_eol_ends_list_and_garbage_after_ignored(void **state)
{
    (void)state;
    const uint8_t o[] = {2, 4, 0x05, 0xb4, 0, 0xff, 0, 2, 5, 3, 0, 0};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_MSS);
    assert_int_equal(t.opts.unknown_count, 0);
}

static void tcp_parse_options_all_nop_accepted(void **state)
{
    (void)state;
    uint8_t o[40];
    memset(o, 1, sizeof o);
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, 0);
    assert_int_equal(t.hdr_len, 60);
}

static void tcp_parse_unaligned_options_accepted(void **state)
{
    (void)state;
    /* RFC 9293 3.2 (MUST-64): options need not start on a word. */
    const uint8_t o[] = {1, 2, 4, 0x01, 0x00, 3, 3, 2, 8, 10, 0, 0,
                         0, 5,  0, 0,    0,    6, 4, 2};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.present, UTCP_OPT_MSS | UTCP_OPT_WSCALE |
                                         UTCP_OPT_TS | UTCP_OPT_SACK_PERM);
    assert_int_equal(t.opts.mss, 256);
    assert_int_equal(t.opts.wscale, 2);
    assert_int_equal(t.opts.ts_val, 5);
    assert_int_equal(t.opts.ts_ecr, 6);
}

static void tcp_parse_repeated_option_last_one_wins(void **state)
{
    (void)state;
    const uint8_t o[] = {2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18};
    struct utcp_tcp t;
    assert_int_equal(parse_opts(o, sizeof o, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.mss, 536);
}

/* ---- each rejection reason ------------------------------------------ */

static void tcp_parse_shorter_than_20_truncated(void **state)
{
    (void)state;
    uint8_t p[64];
    make_seg(p, NULL, 0, 0);
    for (size_t len = 0; len < 20; len++)
        assert_int_equal(parse(p, len), UTCP_WIRE_TCP_TRUNCATED);
}

static void tcp_parse_data_offset_below_5_rejected(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 8);
    for (uint8_t off = 0; off < 5; off++) {
        p[12] = (uint8_t)(off << 4);
        fix_tcp_csum(p, n);
        assert_int_equal(parse(p, n), UTCP_WIRE_TCP_DATA_OFFSET);
    }
}

static void tcp_parse_data_offset_beyond_segment_rejected(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 3);
    p[12] = 6 << 4; /* 24 > 23 */
    fix_tcp_csum(p, n);
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_DATA_OFFSET);
    p[12] = 0xf0;
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_DATA_OFFSET);
}

static void tcp_parse_bad_checksum_rejected(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 13);
    /* Any single flipped bit outside the data offset byte. */
    for (size_t i = 0; i < n; i++) {
        if (i == 12)
            continue;
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(parse(p, n), UTCP_WIRE_TCP_CHECKSUM);
            p[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(parse(p, n), UTCP_WIRE_OK);
}

static void tcp_parse_checksum_covers_pseudo_header(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 13);
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(p, n, SRC + 1, DST, true, &t),
                     UTCP_WIRE_TCP_CHECKSUM);
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST ^ 0x100, true, &t),
                     UTCP_WIRE_TCP_CHECKSUM);
    /* Swapped addresses sum the same: not detectable, by design. */
    assert_int_equal(utcp_tcp_parse(p, n, DST, SRC, true, &t), UTCP_WIRE_OK);
    /* The length in the pseudo-header: one byte of link padding counts. */
    p[n] = 0x01;
    assert_int_equal(parse(p, n + 1), UTCP_WIRE_TCP_CHECKSUM);
}

static void tcp_parse_longer_than_65535_cannot_verify(void **state)
{
    (void)state;
    size_t n = 65536;
    uint8_t *p = calloc(1, n);
    assert_non_null(p);
    make_seg(p, NULL, 0, 0);
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t),
                     UTCP_WIRE_TCP_CHECKSUM);
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, false, &t), UTCP_WIRE_OK);
    assert_int_equal(t.payload_len, n - 20);
    /* 65535 bytes still verify. */
    fix_tcp_csum(p, 65535);
    assert_int_equal(utcp_tcp_parse(p, 65535, SRC, DST, true, &t),
                     UTCP_WIRE_OK);
    free(p);
}

static void tcp_parse_source_port_zero_rejected(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 0);
    utcp_put16(p, 0);
    fix_tcp_csum(p, n);
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_PORT_ZERO);
}

static void tcp_parse_destination_port_zero_rejected(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = make_seg(p, NULL, 0, 0);
    utcp_put16(p + 2, 0);
    fix_tcp_csum(p, n);
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_PORT_ZERO);
}

static void tcp_parse_option_len_zero_rejected(void **state)
{
    (void)state;
    const uint8_t o[] = {2, 0, 0, 0};
    assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_LEN);
    const uint8_t u[] = {1, 77, 0, 0};
    assert_int_equal(opts_reason(u, sizeof u), UTCP_WIRE_TCP_OPT_LEN);
}

static void tcp_parse_option_len_one_rejected(void **state)
{
    (void)state;
    const uint8_t o[] = {8, 1, 0, 0};
    assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_LEN);
    const uint8_t u[] = {1, 1, 200, 1};
    assert_int_equal(opts_reason(u, sizeof u), UTCP_WIRE_TCP_OPT_LEN);
}

static void tcp_parse_option_overrunning_header_rejected(void **state)
{
    (void)state;
    const uint8_t o[] = {1, 1, 8, 10}; /* TS needs 10, 2 left */
    assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_OVERRUN);
    const uint8_t u[] = {77, 5, 0, 0}; /* unknown kind, 5 > 4 */
    assert_int_equal(opts_reason(u, sizeof u), UTCP_WIRE_TCP_OPT_OVERRUN);
    uint8_t big[40] = {1, 99, 40}; /* 40 bytes starting at offset 1 */
    assert_int_equal(opts_reason(big, sizeof big), UTCP_WIRE_TCP_OPT_OVERRUN);
}

static void tcp_parse_option_kind_in_last_byte_overruns(void **state)
{
    (void)state;
    const uint8_t o[] = {1, 1, 1, 2}; /* MSS kind, length byte outside */
    assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_OVERRUN);
    const uint8_t u[] = {1, 1, 1, 66};
    assert_int_equal(opts_reason(u, sizeof u), UTCP_WIRE_TCP_OPT_OVERRUN);
}

static void tcp_parse_mss_wrong_length_rejected(void **state)
{
    (void)state;
    const uint8_t o3[] = {2, 3, 5, 0};
    const uint8_t o5[] = {2, 5, 5, 0xb4, 0, 0, 0, 0};
    const uint8_t o2[] = {2, 2, 0, 0};
    assert_int_equal(opts_reason(o3, sizeof o3), UTCP_WIRE_TCP_OPT_BAD_SIZE);
    assert_int_equal(opts_reason(o5, sizeof o5), UTCP_WIRE_TCP_OPT_BAD_SIZE);
    assert_int_equal(opts_reason(o2, sizeof o2), UTCP_WIRE_TCP_OPT_BAD_SIZE);
}

static void tcp_parse_wscale_wrong_length_rejected(void **state)
{
    (void)state;
    const uint8_t o2[] = {3, 2, 0, 0};
    const uint8_t o4[] = {3, 4, 7, 0};
    assert_int_equal(opts_reason(o2, sizeof o2), UTCP_WIRE_TCP_OPT_BAD_SIZE);
    assert_int_equal(opts_reason(o4, sizeof o4), UTCP_WIRE_TCP_OPT_BAD_SIZE);
}

static void tcp_parse_sack_permitted_wrong_length_rejected(void **state)
{
    (void)state;
    const uint8_t o3[] = {4, 3, 0, 0};
    const uint8_t o4[] = {4, 4, 0, 0};
    assert_int_equal(opts_reason(o3, sizeof o3), UTCP_WIRE_TCP_OPT_BAD_SIZE);
    assert_int_equal(opts_reason(o4, sizeof o4), UTCP_WIRE_TCP_OPT_BAD_SIZE);
}

static void tcp_parse_sack_wrong_length_rejected(void **state)
{
    (void)state;
    const uint8_t lens[] = {2, 3, 9, 11, 17, 19, 33, 35, 36};
    for (size_t i = 0; i < sizeof lens; i++) {
        uint8_t o[40] = {5, lens[i]};
        assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_BAD_SIZE);
    }
}

static void tcp_parse_timestamp_wrong_length_rejected(void **state)
{
    (void)state;
    const uint8_t lens[] = {2, 8, 9, 11, 12};
    for (size_t i = 0; i < sizeof lens; i++) {
        uint8_t o[16] = {8, lens[i]};
        assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_BAD_SIZE);
    }
}

static void tcp_parse_bad_option_after_good_ones_rejected(void **state)
{
    (void)state;
    const uint8_t o[] = {2, 4, 5, 0xb4, 1, 3, 3, 7, 77, 0, 0, 0};
    assert_int_equal(opts_reason(o, sizeof o), UTCP_WIRE_TCP_OPT_LEN);
}

/* ---- the order of the checks (wire.h) ---------------------------------- */

static void tcp_parse_checks_in_documented_order(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n;
    /* Bad data offset and bad checksum: data offset first. */
    n = make_seg(p, NULL, 0, 0);
    p[12] = 0x40;
    p[16] ^= 1;
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_DATA_OFFSET);
    /* Bad checksum and port zero: checksum first. */
    n = make_seg(p, NULL, 0, 0);
    utcp_put16(p, 0);
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_CHECKSUM);
    /* Port zero and bad option: port first. */
    const uint8_t bad[] = {2, 0, 0, 0};
    n = make_seg(p, bad, sizeof bad, 0);
    utcp_put16(p, 0);
    fix_tcp_csum(p, n);
    assert_int_equal(parse(p, n), UTCP_WIRE_TCP_PORT_ZERO);
    /* Options are checked even when the checksum is not. */
    n = make_seg(p, bad, sizeof bad, 0);
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(p, n, 0, 0, false, &t),
                     UTCP_WIRE_TCP_OPT_LEN);
}

static void tcp_parse_failure_leaves_out_untouched(void **state)
{
    (void)state;
    const uint8_t o[] = {2, 4, 5, 0xb4, 8, 3, 0, 0};
    uint8_t p[64];
    size_t n = make_seg(p, o, sizeof o, 0);
    struct utcp_tcp t, before;
    memset(&t, 0x77, sizeof t);
    before = t;
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t),
                     UTCP_WIRE_TCP_OPT_BAD_SIZE);
    assert_memory_equal(&t, &before, sizeof t);
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

/* Copies pkt so that its last byte is the last byte before the guard. */
static uint8_t *guard_place(struct guard *g, const uint8_t *pkt, size_t len)
{
    uint8_t *p = g->map + g->page - len;
    memcpy(p, pkt, len);
    return p;
}

static void guard_close(struct guard *g)
{
    munmap(g->map, 2 * g->page);
}

static void tcp_parse_at_guard_page_reads_nothing_past_end(void **state)
{
    (void)state;
    struct guard g;
    guard_open(&g);
    /* Options that end on the last header byte, no payload: the option
     * walk touches the very last byte before the guard. */
    const uint8_t o[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
                         5, 6, 7, 8, 1, 3, 3, 9};
    uint8_t seg[64];
    size_t n = make_seg(seg, o, sizeof o, 0);
    struct utcp_tcp t;
    uint8_t *p = guard_place(&g, seg, n);
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t), UTCP_WIRE_OK);
    assert_int_equal(t.opts.wscale, 9);
    assert_int_equal(t.payload_len, 0);
    for (size_t len = 0; len < n; len++) {
        p = guard_place(&g, seg, len);
        assert_int_not_equal(utcp_tcp_parse(p, len, SRC, DST, true, &t),
                             UTCP_WIRE_OK);
        assert_int_not_equal(utcp_tcp_parse(p, len, SRC, DST, false, &t),
                             UTCP_WIRE_OK);
    }
    p = guard_place(&g, seg, n - 1);
    assert_int_equal(utcp_tcp_parse(p, n - 1, SRC, DST, false, &t),
                     UTCP_WIRE_TCP_DATA_OFFSET);

    /* An option kind in the last byte before the guard. */
    const uint8_t last[] = {1, 1, 1, 8};
    n = make_seg(seg, last, sizeof last, 0);
    p = guard_place(&g, seg, n);
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t),
                     UTCP_WIRE_TCP_OPT_OVERRUN);

    /* With an odd-length payload ending at the guard. */
    n = make_seg(seg, NULL, 0, 7);
    p = guard_place(&g, seg, n);
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t), UTCP_WIRE_OK);
    assert_int_equal(t.payload_len, 7);
    guard_close(&g);
}

/* ---- builder ----------------------------------------------------------- */

static void tcp_parse_random_mutations_keep_invariants(void **state)
{
    (void)state;
    /* Deterministic mutations of a valid segment with every option: the
     * parser returns a known reason, and on success its output stays inside
     * the input. (Run under ASan/UBSan in the sanitizer build.) */
    const uint8_t o[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
                         5, 6, 7, 8, 1, 3, 3, 9};
    uint8_t base[64], p[64];
    size_t n = make_seg(base, o, sizeof o, 9);
    uint64_t x = 88172645463325252u;
    unsigned ok = 0;
    for (int iter = 0; iter < 200000; iter++) {
        memcpy(p, base, n);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int flips = 1 + (int)(x % 4);
        for (int f = 0; f < flips; f++)
            p[(x >> (8 + 8 * f)) % n] = (uint8_t)(x >> (40 + 4 * f));
        size_t len = (x >> 60) < 2 ? (size_t)((x >> 32) % (n + 1)) : n;
        bool verify = (x >> 59) & 1;
        struct utcp_tcp t;
        enum utcp_wire_reason r = utcp_tcp_parse(p, len, SRC, DST, verify, &t);
        assert_true(r < UTCP_WIRE_REASON_COUNT);
        if (r != UTCP_WIRE_OK)
            continue;
        ok++;
        assert_true(t.hdr_len >= 20 && t.hdr_len <= len);
        assert_ptr_equal(t.payload, p + t.hdr_len);
        assert_int_equal(t.payload_len, len - t.hdr_len);
        assert_true(t.opts.sack_count <= UTCP_MAX_SACK_BLOCKS);
    }
    assert_true(ok > 0);
}

static struct utcp_tcp base_header(void)
{
    struct utcp_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = 40000;
    h.dport = 443;
    h.seq = 0xfffffff0;
    h.ack = 0x12345678;
    h.flags = UTCP_TH_SYN | UTCP_TH_ACK;
    h.win = 65535;
    h.urg = 0;
    return h;
}

static void tcp_build_option_bytes_exact_layout(void **state)
{
    (void)state;
    struct {
        uint8_t present;
        uint8_t sack_count;
        size_t len;
        uint8_t bytes[40];
    } cases[] = {
        {UTCP_OPT_MSS, 0, 4, {2, 4, 0x05, 0xb4}},
        {UTCP_OPT_SACK_PERM | UTCP_OPT_TS, 0, 12,
         {4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
        {UTCP_OPT_TS, 0, 12, {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
        {UTCP_OPT_SACK_PERM, 0, 4, {1, 1, 4, 2}},
        {UTCP_OPT_WSCALE, 0, 4, {1, 3, 3, 7}},
        {UTCP_OPT_SACK, 1, 12, {1, 1, 5, 10, 0, 0, 0, 10, 0, 0, 0, 20}},
        /* A Linux-style SYN: MSS, SACK_PERM+TS, NOP+WS. */
        {UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_TS | UTCP_OPT_WSCALE,
         0, 20, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
                 1, 3, 3, 7}},
        /* An established ACK with TS and two SACK blocks. */
        {UTCP_OPT_TS | UTCP_OPT_SACK, 2, 32,
         {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 18,
          0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct utcp_tcp h = base_header();
        h.opts.present = cases[i].present;
        h.opts.mss = 1460;
        h.opts.wscale = 7;
        h.opts.ts_val = 1;
        h.opts.ts_ecr = 2;
        h.opts.sack_count = cases[i].sack_count;
        h.opts.sack[0] = (struct utcp_sack_block){10, 20};
        h.opts.sack[1] = (struct utcp_sack_block){30, 40};
        assert_int_equal(utcp_tcp_opts_len(&h.opts), cases[i].len);
        uint8_t p[80];
        size_t n = utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0);
        assert_int_equal(n, 20 + cases[i].len);
        assert_int_equal(p[12] >> 4, (20 + cases[i].len) / 4);
        assert_memory_equal(p + 20, cases[i].bytes, cases[i].len);
    }
}

static void tcp_csum_ok_accepts_built_rejects_changed_or_oversized(
    void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    static uint8_t p[70000];
    uint8_t data[33];
    memset(data, 0x5a, sizeof data);
    size_t n = utcp_tcp_build(p, sizeof p, &h, SRC, DST, data, sizeof data);
    assert_int_equal(n, 20 + sizeof data);
    assert_true(utcp_tcp_csum_ok(p, n, SRC, DST));
    /* another address in the pseudo-header, a changed byte (the odd last
     * one too): wrong */
    assert_false(utcp_tcp_csum_ok(p, n, SRC + 1, DST));
    p[n - 1] ^= 1;
    assert_false(utcp_tcp_csum_ok(p, n, SRC, DST));
    p[n - 1] ^= 1;
    /* longer than the 16-bit TCP Length of the pseudo-header: never */
    assert_false(utcp_tcp_csum_ok(p, 0x10000, SRC, DST));
}

static void tcp_build_fixed_header_bytes(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    h.urg = 0x0102;
    h.flags = UTCP_TH_CWR | UTCP_TH_ECE | UTCP_TH_FIN;
    uint8_t p[20];
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0), 20);
    const uint8_t want[20] = {0x9c, 0x40, 0x01, 0xbb, 0xff, 0xff, 0xff,
                              0xf0, 0x12, 0x34, 0x56, 0x78, 0x50, 0xc1,
                              0xff, 0xff, p[16],  p[17], 0x01, 0x02};
    assert_memory_equal(p, want, 20);
    assert_int_equal(parse(p, 20), UTCP_WIRE_OK);
}

static void tcp_build_then_parse_every_option_combination(void **state)
{
    (void)state;
    const uint8_t all = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM |
                        UTCP_OPT_SACK | UTCP_OPT_TS;
    unsigned built = 0, refused = 0;
    for (unsigned present = 0; present <= all; present++) {
        unsigned max_blocks = (present & UTCP_OPT_SACK) ? 4 : 0;
        for (unsigned nb = 0; nb <= max_blocks; nb++) {
            for (size_t plen = 0; plen <= 3; plen += 3) {
                struct utcp_tcp h = base_header();
                h.opts.present = (uint8_t)present;
                h.opts.mss = 1400;
                h.opts.wscale = 14;
                h.opts.ts_val = 0x11223344;
                h.opts.ts_ecr = 0x55667788;
                h.opts.sack_count = (uint8_t)nb;
                for (unsigned b = 0; b < nb; b++) {
                    h.opts.sack[b].left = 0x10000000u * b + 1;
                    h.opts.sack[b].right = 0x10000000u * b + 101;
                }
                const uint8_t payload[3] = {'a', 'b', 'c'};
                uint8_t p[128];
                size_t olen = utcp_tcp_opts_len(&h.opts);
                assert_int_equal(olen % 4, 0);
                size_t n = utcp_tcp_build(p, sizeof p, &h, SRC, DST, payload,
                                          plen);
                if (olen > 40) {
                    assert_int_equal(n, 0);
                    refused++;
                    continue;
                }
                built++;
                assert_int_equal(n, 20 + olen + plen);
                struct utcp_tcp t;
                assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t),
                                 UTCP_WIRE_OK);
                assert_int_equal(t.sport, h.sport);
                assert_int_equal(t.dport, h.dport);
                assert_int_equal(t.seq, h.seq);
                assert_int_equal(t.ack, h.ack);
                assert_int_equal(t.flags, h.flags);
                assert_int_equal(t.win, h.win);
                assert_int_equal(t.hdr_len, 20 + olen);
                assert_int_equal(t.payload_len, plen);
                assert_memory_equal(t.payload, payload, plen);
                /* SACK with no blocks is not sent at all. */
                uint8_t want = (uint8_t)present;
                if (nb == 0)
                    want &= (uint8_t)~UTCP_OPT_SACK;
                assert_int_equal(t.opts.present, want);
                assert_int_equal(t.opts.unknown_count, 0);
                if (want & UTCP_OPT_MSS)
                    assert_int_equal(t.opts.mss, 1400);
                if (want & UTCP_OPT_WSCALE)
                    assert_int_equal(t.opts.wscale, 14);
                if (want & UTCP_OPT_TS) {
                    assert_int_equal(t.opts.ts_val, 0x11223344);
                    assert_int_equal(t.opts.ts_ecr, 0x55667788);
                }
                if (want & UTCP_OPT_SACK) {
                    assert_int_equal(t.opts.sack_count, nb);
                    for (unsigned b = 0; b < nb; b++) {
                        assert_int_equal(t.opts.sack[b].left,
                                         h.opts.sack[b].left);
                        assert_int_equal(t.opts.sack[b].right,
                                         h.opts.sack[b].right);
                    }
                }
            }
        }
    }
    assert_true(built > 100);
    assert_true(refused > 0);
}

/* The checksum the builder stores (summed from the values it writes, not
 * read back) equals RFC 1071 over the bytes written, for every option
 * combination with random field values, extreme ones included, with the
 * payload copied, in place, or summed by the caller. */
static void tcp_build_checksum_equals_naive_random_fields(void **state)
{
    (void)state;
    const uint8_t all = UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM |
                        UTCP_OPT_SACK | UTCP_OPT_TS;
    for (int round = 0; round < 40; round++) {
        for (unsigned present = 0; present <= all; present++) {
            struct utcp_tcp h = base_header();
            uint32_t fill = round == 0 ? 0 : round == 1 ? 0xffffffffu : 1;
            h.sport = (uint16_t)(fill ? fill | rnd32() : 1);
            h.dport = (uint16_t)(fill ? fill | rnd32() : 1);
            h.seq = round < 2 ? fill : rnd32();
            h.ack = round < 2 ? fill : rnd32();
            h.flags = (uint8_t)(round < 2 ? fill : rnd32());
            h.win = (uint16_t)(round < 2 ? fill : rnd32());
            h.urg = (uint16_t)(round < 2 ? fill : rnd32());
            h.opts.present = (uint8_t)present;
            h.opts.mss = (uint16_t)(round < 2 ? fill : rnd32());
            h.opts.wscale = (uint8_t)(round < 2 ? fill : rnd32());
            h.opts.ts_val = round < 2 ? fill : rnd32();
            h.opts.ts_ecr = round < 2 ? fill : rnd32();
            h.opts.sack_count = (uint8_t)(1 + rnd32() % 4);
            for (unsigned b = 0; b < 4; b++) {
                h.opts.sack[b].left = round < 2 ? fill : rnd32();
                h.opts.sack[b].right = round < 2 ? fill : rnd32();
            }
            while (utcp_tcp_opts_len(&h.opts) > 40)
                h.opts.sack_count--;
            uint8_t payload[301], p[400];
            size_t plen = (size_t)(rnd32() % sizeof payload);
            for (size_t i = 0; i < plen; i++)
                payload[i] = (uint8_t)(round < 2 ? fill : rnd32());
            uint32_t src = rnd32() | 1u, dst = rnd32() | 1u;
            size_t hl = 20 + utcp_tcp_opts_len(&h.opts);
            for (int mode = 0; mode < 3; mode++) {
                memset(p, 0xa5, sizeof p);
                size_t n;
                if (mode == 0) {
                    n = utcp_tcp_build(p, sizeof p, &h, src, dst, payload,
                                       plen);
                } else {
                    memcpy(p + hl, payload, plen);
                    uint32_t ps = utcp_csum_partial(payload, plen, 0);
                    n = utcp_tcp_build_ex(
                        p, sizeof p, &h, src, dst, plen ? p + hl : NULL,
                        plen, mode == 2 ? UTCP_BUILD_PAYLOAD_SUMMED : 0, ps);
                }
                assert_int_equal(n, hl + plen);
                uint16_t stored = utcp_get16(p + 16);
                utcp_put16(p + 16, 0);
                uint64_t ph = (src >> 16) + (src & 0xffff) + (dst >> 16) +
                              (dst & 0xffff) + UTCP_IPPROTO_TCP + n;
                assert_int_equal(stored, naive_csum(p, n, ph));
            }
        }
    }
}

static void tcp_build_sack_with_zero_blocks_emits_nothing(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    h.opts.present = UTCP_OPT_SACK;
    h.opts.sack_count = 0;
    assert_int_equal(utcp_tcp_opts_len(&h.opts), 0);
    uint8_t p[64];
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0), 20);
}

static void tcp_build_more_than_four_sack_blocks_returns_zero(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    h.opts.present = UTCP_OPT_SACK;
    h.opts.sack_count = 5;
    assert_true(utcp_tcp_opts_len(&h.opts) > 40);
    uint8_t p[128];
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0), 0);
    h.opts.sack_count = 255;
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0), 0);
}

static void tcp_build_options_over_40_bytes_returns_zero(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    /* MSS 4 + TS 12 + WS 4 + 3 blocks 28 = 48. */
    h.opts.present =
        UTCP_OPT_MSS | UTCP_OPT_TS | UTCP_OPT_WSCALE | UTCP_OPT_SACK;
    h.opts.sack_count = 3;
    assert_int_equal(utcp_tcp_opts_len(&h.opts), 48);
    uint8_t p[128];
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0), 0);
    /* TS + 3 blocks = 40: the most that fits. */
    h.opts.present = UTCP_OPT_TS | UTCP_OPT_SACK;
    assert_int_equal(utcp_tcp_opts_len(&h.opts), 40);
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 0), 60);
}

static void tcp_build_cap_too_small_returns_zero(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    h.opts.present = UTCP_OPT_MSS;
    const uint8_t payload[10] = {0};
    uint8_t p[64];
    memset(p, 0xcd, sizeof p);
    assert_int_equal(utcp_tcp_build(p, 33, &h, SRC, DST, payload, 10), 0);
    assert_int_equal(utcp_tcp_build(p, 0, &h, SRC, DST, NULL, 0), 0);
    assert_int_equal(utcp_tcp_build(p, 23, &h, SRC, DST, NULL, 0), 0);
    for (size_t i = 0; i < sizeof p; i++)
        assert_int_equal(p[i], 0xcd);
    assert_int_equal(utcp_tcp_build(p, 34, &h, SRC, DST, payload, 10), 34);
    for (size_t i = 34; i < sizeof p; i++)
        assert_int_equal(p[i], 0xcd);
}

static void tcp_build_payload_size_limit(void **state)
{
    (void)state;
    size_t cap = 70000;
    uint8_t *p = malloc(cap);
    uint8_t *payload = calloc(1, cap);
    assert_non_null(p);
    assert_non_null(payload);
    struct utcp_tcp h = base_header();
    h.opts.present = UTCP_OPT_TS;
    /* 65535 - 20 (IP) - 32 (TCP with TS). */
    size_t max = 65535 - 20 - 32;
    assert_int_equal(utcp_tcp_build(p, cap, &h, SRC, DST, payload, max),
                     max + 32);
    assert_int_equal(parse(p, max + 32), UTCP_WIRE_OK);
    assert_int_equal(utcp_tcp_build(p, cap, &h, SRC, DST, payload, max + 1),
                     0);
    assert_int_equal(utcp_tcp_build(p, cap, &h, SRC, DST, payload, SIZE_MAX),
                     0);
    free(p);
    free(payload);
}

static void tcp_build_null_payload_with_length_returns_zero(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    uint8_t p[64];
    assert_int_equal(utcp_tcp_build(p, sizeof p, &h, SRC, DST, NULL, 1), 0);
}

static void tcp_build_payload_in_place_is_summed_not_copied(void **state)
{
    (void)state;
    struct utcp_tcp h = base_header();
    h.opts.present = UTCP_OPT_MSS;
    h.opts.mss = 1200;
    uint8_t p[128];
    for (size_t i = 0; i < 41; i++)
        p[24 + i] = (uint8_t)(i * 7 + 1);
    size_t n = utcp_tcp_build(p, sizeof p, &h, SRC, DST, p + 24, 41);
    assert_int_equal(n, 65);
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(p, n, SRC, DST, true, &t), UTCP_WIRE_OK);
    for (size_t i = 0; i < 41; i++)
        assert_int_equal(t.payload[i], (uint8_t)(i * 7 + 1));
}

static void tcp_build_odd_payload_checksum_verifies(void **state)
{
    (void)state;
    uint8_t payload[1500], p[1600];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 31 + 3);
    struct utcp_tcp h = base_header();
    for (size_t len = 0; len <= sizeof payload; len += 97) {
        size_t n = utcp_tcp_build(p, sizeof p, &h, SRC, DST, payload, len);
        assert_int_equal(n, 20 + len);
        assert_int_equal(parse(p, n), UTCP_WIRE_OK);
        assert_memory_equal(p + 20, payload, len);
    }
}

static void ipv4_tcp_build_round_trips_through_both_parsers(void **state)
{
    (void)state;
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SRC;
    ip.dst = DST;
    ip.id = 77;
    ip.ttl = 64;
    ip.tos = 0;
    ip.df = true;
    ip.proto = UTCP_IPPROTO_ICMP; /* forced to TCP */
    struct utcp_tcp h = base_header();
    h.opts.present = UTCP_OPT_TS;
    h.opts.ts_val = 5;
    const uint8_t payload[] = "hello, world";
    uint8_t p[128];
    size_t n = utcp_ipv4_tcp_build(p, sizeof p, &ip, &h, payload, 12);
    assert_int_equal(n, 20 + 32 + 12);
    struct utcp_ipv4 iph;
    assert_int_equal(utcp_ipv4_parse(p, n, &iph), UTCP_WIRE_OK);
    assert_int_equal(iph.proto, UTCP_IPPROTO_TCP);
    assert_int_equal(iph.total_len, n);
    assert_true(iph.df);
    struct utcp_tcp t;
    assert_int_equal(utcp_tcp_parse(iph.payload, iph.payload_len, iph.src,
                                    iph.dst, true, &t),
                     UTCP_WIRE_OK);
    assert_int_equal(t.opts.ts_val, 5);
    assert_memory_equal(t.payload, payload, 12);
}

static void ipv4_tcp_build_cap_too_small_returns_zero(void **state)
{
    (void)state;
    struct utcp_ipv4 ip = {.src = SRC, .dst = DST, .ttl = 64};
    struct utcp_tcp h = base_header();
    uint8_t p[64];
    assert_int_equal(utcp_ipv4_tcp_build(p, 19, &ip, &h, NULL, 0), 0);
    assert_int_equal(utcp_ipv4_tcp_build(p, 39, &ip, &h, NULL, 0), 0);
    assert_int_equal(utcp_ipv4_tcp_build(p, 40, &ip, &h, NULL, 0), 40);
}

/* UTCP_BUILD_CSUM_PARTIAL: the field holds the folded pseudo-header sum;
 * summing the segment from the TCP header on (field included), folding and
 * complementing gives the full checksum, as a NIC does. */
static void tcp_build_csum_partial_completes_to_valid_checksum(void **state)
{
    (void)state;
    uint8_t payload[333], full[600], part[600];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = 0xC0000201u;
    ip.dst = 0xC0000202u;
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = 4000;
    th.dport = 80;
    th.seq = 0xfffffff0u;
    th.ack = 12345;
    th.flags = UTCP_TH_ACK | UTCP_TH_PSH;
    th.win = 1000;
    th.opts.present = UTCP_OPT_TS;
    th.opts.ts_val = 77;
    th.opts.ts_ecr = 88;
    size_t n1 = utcp_ipv4_tcp_build(full, sizeof full, &ip, &th, payload,
                                    sizeof payload);
    size_t n2 = utcp_ipv4_tcp_build_ex(part, sizeof part, &ip, &th, payload,
                                       sizeof payload, UTCP_BUILD_CSUM_PARTIAL,
                                       0);
    assert_int_equal(n1, n2);
    /* the partial segment does not verify, and differs only in the field */
    struct utcp_ipv4 pip;
    struct utcp_tcp pth;
    assert_int_equal(utcp_ipv4_parse(part, n2, &pip), UTCP_WIRE_OK);
    assert_int_equal(utcp_tcp_parse(pip.payload, pip.payload_len, pip.src,
                                    pip.dst, true, &pth),
                     UTCP_WIRE_TCP_CHECKSUM);
    assert_memory_equal(part, full, 20 + 16);
    assert_memory_equal(part + 20 + 18, full + 20 + 18, n1 - 20 - 18);
    uint16_t pseudo = (uint16_t)~utcp_csum_fold(utcp_csum_pseudo(
        ip.src, ip.dst, UTCP_IPPROTO_TCP, (uint16_t)(n1 - 20)));
    assert_int_equal(utcp_get16(part + 20 + 16), pseudo);
    /* completion */
    utcp_put16(part + 20 + 16, utcp_csum(part + 20, n2 - 20));
    assert_memory_equal(part, full, n1);
    /* UTCP_BUILD_PAYLOAD_SUMMED: payload in place, its sum given */
    uint8_t pre[600];
    size_t hl = 20 + 20 + utcp_tcp_opts_len(&th.opts);
    uint32_t ps = utcp_csum_copy(pre + hl, payload, sizeof payload, 0);
    size_t n3 = utcp_ipv4_tcp_build_ex(pre, sizeof pre, &ip, &th, pre + hl,
                                       sizeof payload,
                                       UTCP_BUILD_PAYLOAD_SUMMED, ps);
    assert_int_equal(n3, n1);
    assert_memory_equal(pre, full, n1);
    /* the flag with a payload not in place is refused */
    assert_int_equal(utcp_ipv4_tcp_build_ex(pre, sizeof pre, &ip, &th, payload,
                                            sizeof payload,
                                            UTCP_BUILD_PAYLOAD_SUMMED, ps),
                     0);
}

/* xorshift32 for the field values below: a fixed sequence, no clock. */
static uint32_t plain_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* utcp_ipv4_tcp_build_plain writes the bytes of utcp_ipv4_tcp_build_ex for
 * the same fields, with and without timestamps, payloads of every small
 * length (odd ones included) and extreme field values. */
static void ipv4_tcp_build_plain_matches_general_builder(void **state)
{
    (void)state;
    uint32_t x = 0x12345678u;
    for (int i = 0; i < 4000; i++) {
        struct utcp_tcp_plain h;
        bool edge = i % 7 == 0;
        h.src = edge ? 0xffffffffu : plain_rand(&x);
        h.dst = edge ? 0xfffffffeu : plain_rand(&x);
        h.seq = edge ? 0xffffffffu : plain_rand(&x);
        h.ack = edge ? 0xffffffffu : plain_rand(&x);
        h.ts_val = edge ? 0xffffffffu : plain_rand(&x);
        h.ts_ecr = edge ? 0xffffffffu : plain_rand(&x);
        h.ip_id = (uint16_t)(edge ? 0xffffu : plain_rand(&x));
        h.sport = (uint16_t)(edge ? 0xffffu : plain_rand(&x));
        h.dport = (uint16_t)(edge ? 0xffffu : plain_rand(&x));
        h.win = (uint16_t)(edge ? 0xffffu : plain_rand(&x));
        h.ttl = (uint8_t)(edge ? 0xffu : plain_rand(&x));
        h.flags = (uint8_t)(plain_rand(&x) &
                            ~(UTCP_TH_SYN | UTCP_TH_RST | UTCP_TH_URG));
        h.df = (i & 1) != 0;
        h.ts = (i & 2) != 0;
        size_t plen = (size_t)(i % 130);
        uint8_t payload[130];
        for (size_t k = 0; k < plen; k++)
            payload[k] = (uint8_t)(edge ? 0xff : plain_rand(&x));

        struct utcp_ipv4 ip = {0};
        ip.src = h.src;
        ip.dst = h.dst;
        ip.id = h.ip_id;
        ip.ttl = h.ttl;
        ip.df = h.df;
        ip.proto = UTCP_IPPROTO_TCP;
        struct utcp_tcp th;
        memset(&th, 0, sizeof th);
        th.sport = h.sport;
        th.dport = h.dport;
        th.seq = h.seq;
        th.ack = h.ack;
        th.flags = h.flags;
        th.win = h.win;
        if (h.ts) {
            th.opts.present = UTCP_OPT_TS;
            th.opts.ts_val = h.ts_val;
            th.opts.ts_ecr = h.ts_ecr;
        }
        uint8_t want[256], got[256];
        memset(got, 0xa5, sizeof got);
        size_t n1 = utcp_ipv4_tcp_build(want, sizeof want, &ip, &th, payload,
                                        plen);
        size_t hl = 40 + (h.ts ? 12u : 0u);
        uint32_t ps = utcp_csum_copy(got + hl, payload, plen, 0);
        size_t n2 = utcp_ipv4_tcp_build_plain(got, sizeof got, &h, plen, ps);
        assert_int_equal(n1, hl + plen);
        assert_int_equal(n2, n1);
        assert_memory_equal(got, want, n1);
        /* too small a buffer: refused */
        assert_int_equal(utcp_ipv4_tcp_build_plain(got, n1 - 1, &h, plen, ps),
                         0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_parse_minimal_header_fills_every_field),
        cmocka_unit_test(tcp_parse_every_flag_bit_reported),
        cmocka_unit_test(tcp_parse_without_verify_accepts_bad_checksum),
        cmocka_unit_test(tcp_parse_mss_option),
        cmocka_unit_test(tcp_parse_wscale_option_not_clamped),
        cmocka_unit_test(tcp_parse_sack_permitted_option),
        cmocka_unit_test(tcp_parse_timestamp_option),
        cmocka_unit_test(tcp_parse_sack_one_to_four_blocks),
        cmocka_unit_test(tcp_parse_linux_syn_options),
        cmocka_unit_test(tcp_parse_unknown_options_skipped_and_counted),
        cmocka_unit_test(tcp_parse_unknown_option_of_length_two_and_max),
        cmocka_unit_test(tcp_parse_eol_ends_list_and_garbage_after_ignored),
        cmocka_unit_test(tcp_parse_options_all_nop_accepted),
        cmocka_unit_test(tcp_parse_unaligned_options_accepted),
        cmocka_unit_test(tcp_parse_repeated_option_last_one_wins),
        cmocka_unit_test(tcp_parse_shorter_than_20_truncated),
        cmocka_unit_test(tcp_parse_data_offset_below_5_rejected),
        cmocka_unit_test(tcp_parse_data_offset_beyond_segment_rejected),
        cmocka_unit_test(tcp_parse_bad_checksum_rejected),
        cmocka_unit_test(tcp_parse_checksum_covers_pseudo_header),
        cmocka_unit_test(tcp_parse_longer_than_65535_cannot_verify),
        cmocka_unit_test(tcp_parse_source_port_zero_rejected),
        cmocka_unit_test(tcp_parse_destination_port_zero_rejected),
        cmocka_unit_test(tcp_parse_option_len_zero_rejected),
        cmocka_unit_test(tcp_parse_option_len_one_rejected),
        cmocka_unit_test(tcp_parse_option_overrunning_header_rejected),
        cmocka_unit_test(tcp_parse_option_kind_in_last_byte_overruns),
        cmocka_unit_test(tcp_parse_mss_wrong_length_rejected),
        cmocka_unit_test(tcp_parse_wscale_wrong_length_rejected),
        cmocka_unit_test(tcp_parse_sack_permitted_wrong_length_rejected),
        cmocka_unit_test(tcp_parse_sack_wrong_length_rejected),
        cmocka_unit_test(tcp_parse_timestamp_wrong_length_rejected),
        cmocka_unit_test(tcp_parse_bad_option_after_good_ones_rejected),
        cmocka_unit_test(tcp_parse_checks_in_documented_order),
        cmocka_unit_test(tcp_parse_failure_leaves_out_untouched),
        cmocka_unit_test(tcp_parse_at_guard_page_reads_nothing_past_end),
        cmocka_unit_test(tcp_parse_random_mutations_keep_invariants),
        cmocka_unit_test(tcp_build_option_bytes_exact_layout),
        cmocka_unit_test(tcp_build_fixed_header_bytes),
        cmocka_unit_test(tcp_build_then_parse_every_option_combination),
        cmocka_unit_test(tcp_build_checksum_equals_naive_random_fields),
        cmocka_unit_test(tcp_build_sack_with_zero_blocks_emits_nothing),
        cmocka_unit_test(tcp_build_more_than_four_sack_blocks_returns_zero),
        cmocka_unit_test(tcp_build_options_over_40_bytes_returns_zero),
        cmocka_unit_test(tcp_build_cap_too_small_returns_zero),
        cmocka_unit_test(tcp_build_payload_size_limit),
        cmocka_unit_test(tcp_build_null_payload_with_length_returns_zero),
        cmocka_unit_test(tcp_build_payload_in_place_is_summed_not_copied),
        cmocka_unit_test(tcp_build_odd_payload_checksum_verifies),
        cmocka_unit_test(ipv4_tcp_build_round_trips_through_both_parsers),
        cmocka_unit_test(ipv4_tcp_build_cap_too_small_returns_zero),
        cmocka_unit_test(tcp_build_csum_partial_completes_to_valid_checksum),
        cmocka_unit_test(ipv4_tcp_build_plain_matches_general_builder),
        cmocka_unit_test(
            tcp_csum_ok_accepts_built_rejects_changed_or_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
