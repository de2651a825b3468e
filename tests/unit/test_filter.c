/*
 * The impairment filter (utcp/filter.h): loss rates for a seed, bursty loss,
 * n-th match rules, determinism, MTU, delay/jitter/reordering/duplication,
 * and corruption that the wire parsers (RFC 791, RFC 9293 3.1 checksums)
 * always catch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "utcp/errors.h"
#include "utcp/filter.h"
#include "utcp/wire.h"

#define ADDR_A 0xC0000201u
#define ADDR_B 0xC0000202u

/* Builds an IPv4/TCP packet with the given flags and payload length. */
static size_t make_pkt(uint8_t *buf, size_t cap, uint8_t flags,
                       size_t payload_len)
{
    static uint8_t payload[1500];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 13 + 7);
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = ADDR_A;
    ip.dst = ADDR_B;
    ip.ttl = 64;
    ip.id = 1;
    ip.df = true;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = 40000;
    th.dport = 80;
    th.seq = 1000;
    th.ack = (flags & UTCP_TH_ACK) ? 2000 : 0;
    th.flags = flags;
    th.win = 65535;
    if (flags & UTCP_TH_SYN) {
        th.opts.present = UTCP_OPT_MSS;
        th.opts.mss = 1460;
    }
    size_t len = utcp_ipv4_tcp_build(buf, cap, &ip, &th, payload, payload_len);
    assert_true(len > 0);
    return len;
}

static void rng_is_deterministic_and_bounded(void **state)
{
    (void)state;
    struct utcp_prng a, b;
    utcp_prng_seed(&a, 42);
    utcp_prng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(utcp_prng_next(&a), utcp_prng_next(&b));
    utcp_prng_seed(&b, 43);
    assert_int_not_equal(utcp_prng_next(&a), utcp_prng_next(&b));
    for (int i = 0; i < 10000; i++)
        assert_true(utcp_prng_below(&a, 7) < 7);
    assert_int_equal(utcp_prng_below(&a, 0), 0);
    assert_false(utcp_prng_chance(&a, 0));
    assert_true(utcp_prng_chance(&a, UTCP_PPM));
}

static void no_impairment_delivers_at_now_plus_delay(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    f.dir[1].delay_us = 5000;
    struct utcp_prng r;
    utcp_prng_seed(&r, 1);
    uint8_t pkt[1600];
    size_t len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 10);
    struct utcp_filter_verdict v;
    utcp_filter_decide(&f, &r, 0, 100, pkt, len, &v);
    assert_false(v.drop);
    assert_int_equal(v.copies, 1);
    assert_int_equal(v.at[0], 100);
    assert_int_equal(v.rule, -1);
    utcp_filter_decide(&f, &r, 1, 100, pkt, len, &v);
    assert_int_equal(v.at[0], 5100);
    assert_false(v.corrupted);
}

static void loss_rate_within_bounds_for_a_seed(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    f.dir[0].loss_ppm = 100000; /* 10 % */
    struct utcp_prng r;
    utcp_prng_seed(&r, 2024);
    uint8_t pkt[1600];
    size_t len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 100);
    unsigned lost = 0, other_dir_lost = 0;
    const unsigned n = 100000;
    for (unsigned i = 0; i < n; i++) {
        struct utcp_filter_verdict v;
        utcp_filter_decide(&f, &r, 0, i, pkt, len, &v);
        if (v.drop) {
            assert_int_equal(v.reason, UTCP_FILTER_LOSS);
            assert_int_equal(v.copies, 0);
            lost++;
        }
        utcp_filter_decide(&f, &r, 1, i, pkt, len, &v);
        other_dir_lost += v.drop;
    }
    /* 10 % of 100000 with sd ~95: +-1000 is over 10 sd. */
    if (lost < 9000 || lost > 11000)
        fail_msg("lost %u of %u, expected about 10000", lost, n);
    assert_int_equal(other_dir_lost, 0);
}

static void gilbert_elliott_loss_is_bursty(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    /* Gilbert: p = 1 %, r = 10 %, loss only in BAD: mean 1/11 = 9.1 %,
     * mean burst 10 packets. */
    f.dir[0].ge_p_ppm = 10000;
    f.dir[0].ge_r_ppm = 100000;
    f.dir[0].ge_loss_bad_ppm = UTCP_PPM;
    struct utcp_prng r;
    utcp_prng_seed(&r, 7);
    uint8_t pkt[1600];
    size_t len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 0);
    unsigned lost = 0, bursts = 0;
    bool prev = false;
    const unsigned n = 200000;
    for (unsigned i = 0; i < n; i++) {
        struct utcp_filter_verdict v;
        utcp_filter_decide(&f, &r, 0, i, pkt, len, &v);
        if (v.drop) {
            assert_int_equal(v.reason, UTCP_FILTER_BURST);
            lost++;
            if (!prev)
                bursts++;
        }
        prev = v.drop;
    }
    if (lost < 16000 || lost > 20500)
        fail_msg("lost %u of %u, expected about 18200", lost, n);
    double mean_burst = (double)lost / bursts;
    if (mean_burst < 8.0 || mean_burst > 12.0)
        fail_msg("mean burst %.2f, expected about 10", mean_burst);
}

static void nth_match_rule_drops_only_that_segment(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    struct utcp_filter_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.match = utcp_filter_match_ack_only(0);
    rule.nth = 2;
    rule.action = UTCP_FILTER_ACT_DROP;
    assert_int_equal(utcp_filter_add_rule(&f, &rule), 0);
    struct utcp_prng r;
    utcp_prng_seed(&r, 1);
    uint8_t ack[1600], data[1600], fin[1600], syn[1600];
    size_t la = make_pkt(ack, sizeof ack, UTCP_TH_ACK, 0);
    size_t ld = make_pkt(data, sizeof data, UTCP_TH_ACK | UTCP_TH_PSH, 100);
    size_t lf = make_pkt(fin, sizeof fin, UTCP_TH_ACK | UTCP_TH_FIN, 0);
    size_t ls = make_pkt(syn, sizeof syn, UTCP_TH_SYN, 0);
    struct utcp_filter_verdict v;
    /* Data, FIN, SYN and the other direction do not count. */
    utcp_filter_decide(&f, &r, 0, 0, data, ld, &v);
    assert_false(v.drop);
    utcp_filter_decide(&f, &r, 0, 0, fin, lf, &v);
    assert_false(v.drop);
    utcp_filter_decide(&f, &r, 0, 0, syn, ls, &v);
    assert_false(v.drop);
    utcp_filter_decide(&f, &r, 1, 0, ack, la, &v);
    assert_false(v.drop);
    utcp_filter_decide(&f, &r, 0, 0, ack, la, &v); /* 1st ACK-only */
    assert_false(v.drop);
    utcp_filter_decide(&f, &r, 0, 0, ack, la, &v); /* 2nd: dropped */
    assert_true(v.drop);
    assert_int_equal(v.reason, UTCP_FILTER_RULE);
    assert_int_equal(v.rule, 0);
    utcp_filter_decide(&f, &r, 0, 0, ack, la, &v); /* 3rd */
    assert_false(v.drop);
    assert_int_equal(f.rules[0].seen, 3);
}

static void rule_every_match_and_delay(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    f.dir[0].delay_us = 1000;
    struct utcp_filter_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.match = utcp_filter_match_syn(UTCP_FILTER_ANY);
    rule.nth = 0; /* every SYN */
    rule.action = UTCP_FILTER_ACT_DROP;
    assert_int_equal(utcp_filter_add_rule(&f, &rule), 0);
    rule.match = utcp_filter_match_fin(0);
    rule.nth = 1;
    rule.count = 2; /* the 1st and 2nd FIN */
    rule.action = UTCP_FILTER_ACT_DELAY;
    rule.delay_us = 50000;
    assert_int_equal(utcp_filter_add_rule(&f, &rule), 1);
    struct utcp_prng r;
    utcp_prng_seed(&r, 1);
    uint8_t syn[1600], fin[1600];
    size_t ls = make_pkt(syn, sizeof syn, UTCP_TH_SYN, 0);
    size_t lf = make_pkt(fin, sizeof fin, UTCP_TH_FIN | UTCP_TH_ACK, 0);
    struct utcp_filter_verdict v;
    for (int i = 0; i < 5; i++) {
        utcp_filter_decide(&f, &r, i % 2, 0, syn, ls, &v);
        assert_true(v.drop);
    }
    for (int i = 0; i < 3; i++) {
        utcp_filter_decide(&f, &r, 0, 10, fin, lf, &v);
        assert_false(v.drop);
        if (i < 2) {
            assert_int_equal(v.rule, 1);
            assert_int_equal(v.at[0], 10 + 1000 + 50000);
            assert_int_equal(v.held_us, 50000);
        } else {
            assert_int_equal(v.rule, -1);
            assert_int_equal(v.at[0], 10 + 1000);
        }
    }
}

static void add_rule_rejects_bad_rules(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    struct utcp_filter_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.match = utcp_filter_match_any(2);
    assert_int_equal(utcp_filter_add_rule(&f, &rule), UTCP_EINVAL);
    rule.match = utcp_filter_match_any(0);
    rule.action = (enum utcp_filter_action)7;
    assert_int_equal(utcp_filter_add_rule(&f, &rule), UTCP_EINVAL);
    rule.action = UTCP_FILTER_ACT_DROP;
    for (int i = 0; i < UTCP_FILTER_MAX_RULES; i++)
        assert_int_equal(utcp_filter_add_rule(&f, &rule), i);
    assert_int_equal(utcp_filter_add_rule(&f, &rule), UTCP_ENOBUFS);
}

static void mtu_drops_larger_packets(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    f.dir[0].mtu = 576;
    struct utcp_prng r;
    utcp_prng_seed(&r, 1);
    uint8_t pkt[1600];
    struct utcp_filter_verdict v;
    size_t len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 576 - 40);
    assert_int_equal(len, 576);
    utcp_filter_decide(&f, &r, 0, 0, pkt, len, &v);
    assert_false(v.drop);
    len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 576 - 39);
    utcp_filter_decide(&f, &r, 0, 0, pkt, len, &v);
    assert_true(v.drop);
    assert_int_equal(v.reason, UTCP_FILTER_MTU);
    utcp_filter_decide(&f, &r, 1, 0, pkt, len, &v); /* other direction */
    assert_false(v.drop);
}

/* The sequence of verdicts for a seed. */
/* 8 Mbit/s is one byte a microsecond: three 1000-byte packets sent at
 * once leave 1, 2 and 3 ms later; a queue of 3000 bytes holds those three
 * and drops the fourth; once the link has drained, a packet fits again. */
static void rate_limit_spaces_packets_and_tail_drops(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    f.dir[0].delay_us = 10000;
    f.dir[0].rate_bps = 8000000;
    f.dir[0].queue_bytes = 3000;
    struct utcp_prng r;
    utcp_prng_seed(&r, 1);
    uint8_t pkt[1100];
    size_t len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 1000 - 40);
    assert_int_equal(len, 1000);
    struct utcp_filter_verdict v;
    for (uint64_t k = 1; k <= 3; k++) {
        utcp_filter_decide(&f, &r, 0, 0, pkt, len, &v);
        assert_false(v.drop);
        assert_int_equal(v.held_us, 1000 * k);
        assert_int_equal(v.at[0], 10000 + 1000 * k);
    }
    utcp_filter_decide(&f, &r, 0, 0, pkt, len, &v);
    assert_true(v.drop);
    assert_int_equal(v.reason, UTCP_FILTER_QUEUE);
    assert_string_equal(utcp_filter_reason_name(v.reason), "QUEUE");
    /* Half a packet later there is room for one more behind the rest. */
    utcp_filter_decide(&f, &r, 0, 1500, pkt, len, &v);
    assert_false(v.drop);
    assert_int_equal(v.at[0], 10000 + 4000);
    /* The other direction is not limited. */
    utcp_filter_decide(&f, &r, 1, 0, pkt, len, &v);
    assert_false(v.drop);
    assert_int_equal(v.held_us, 0);
    /* Long after, the link is idle again: only serialisation. */
    utcp_filter_decide(&f, &r, 0, 1000000, pkt, len, &v);
    assert_int_equal(v.held_us, 1000);
}

static void run_mix(uint64_t seed, struct utcp_filter_verdict *out, size_t n)
{
    struct utcp_filter f;
    utcp_filter_init(&f);
    for (int d = 0; d < 2; d++) {
        f.dir[d].delay_us = 10000;
        f.dir[d].jitter_us = 3000;
        f.dir[d].loss_ppm = 50000;
        f.dir[d].dup_ppm = 50000;
        f.dir[d].reorder_ppm = 50000;
        f.dir[d].reorder_us = 20000;
        f.dir[d].corrupt_ppm = 50000;
    }
    struct utcp_prng r;
    utcp_prng_seed(&r, seed);
    uint8_t pkt[1600];
    size_t len = make_pkt(pkt, sizeof pkt, UTCP_TH_ACK, 200);
    for (size_t i = 0; i < n; i++)
        utcp_filter_decide(&f, &r, (int)(i % 2), i * 100, pkt, len, &out[i]);
}

static void same_seed_same_verdicts(void **state)
{
    (void)state;
    static struct utcp_filter_verdict a[2000], b[2000], c[2000];
    run_mix(99, a, 2000);
    run_mix(99, b, 2000);
    run_mix(100, c, 2000);
    assert_memory_equal(a, b, sizeof a);
    assert_true(memcmp(a, c, sizeof a) != 0);
    /* Every impairment shows up, within its bounds. */
    size_t dup = 0, reo = 0, cor = 0, lost = 0;
    for (size_t i = 0; i < 2000; i++) {
        if (a[i].drop) {
            lost++;
            continue;
        }
        uint64_t base = i * 100 + 10000;
        assert_true(a[i].at[0] >= base);
        assert_true(a[i].at[0] <= base + 3000 + 20000);
        assert_int_equal(a[i].at[0], base + a[i].held_us);
        if (a[i].copies == 2) {
            dup++;
            assert_int_equal(a[i].at[1], a[i].at[0] + 1);
        }
        reo += a[i].reordered;
        cor += a[i].corrupted;
    }
    assert_true(lost > 40 && lost < 200);
    assert_true(dup > 40 && dup < 200);
    assert_true(reo > 40 && reo < 200);
    assert_true(cor > 40 && cor < 200);
}

static void corruption_is_caught_by_checksums(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    f.dir[0].corrupt_ppm = UTCP_PPM; /* every packet */
    struct utcp_prng r;
    utcp_prng_seed(&r, 5);
    uint8_t pkt[1600], copy[1600];
    unsigned ip_caught = 0, tcp_caught = 0;
    for (int i = 0; i < 3000; i++) {
        size_t len = make_pkt(pkt, sizeof pkt,
                              i % 3 ? UTCP_TH_ACK : UTCP_TH_SYN,
                              (size_t)(i % 3) * 200);
        struct utcp_filter_verdict v;
        utcp_filter_decide(&f, &r, 0, 0, pkt, len, &v);
        assert_true(v.corrupted);
        assert_true(v.corrupt_bit < len * 8);
        memcpy(copy, pkt, len);
        utcp_filter_corrupt(&v, copy, len);
        assert_true(memcmp(copy, pkt, len) != 0);
        struct utcp_ipv4 ip;
        enum utcp_wire_reason wr = utcp_ipv4_parse(copy, len, &ip);
        if (wr != UTCP_WIRE_OK) {
            ip_caught++;
            continue;
        }
        struct utcp_tcp th;
        wr = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                            &th);
        if (wr == UTCP_WIRE_OK)
            fail_msg("bit %zu flipped in a %zu-byte packet went unnoticed",
                     v.corrupt_bit, len);
        tcp_caught++;
    }
    assert_true(ip_caught > 0);
    assert_true(tcp_caught > 0);
}

static void non_tcp_packets_match_only_any(void **state)
{
    (void)state;
    struct utcp_filter f;
    utcp_filter_init(&f);
    struct utcp_filter_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.match = utcp_filter_match_ack_only(UTCP_FILTER_ANY);
    rule.action = UTCP_FILTER_ACT_DROP;
    utcp_filter_add_rule(&f, &rule);
    struct utcp_prng r;
    utcp_prng_seed(&r, 1);
    uint8_t junk[40] = {0x45};
    struct utcp_filter_verdict v;
    utcp_filter_decide(&f, &r, 0, 0, junk, sizeof junk, &v);
    assert_false(v.drop);
    rule.match = utcp_filter_match_any(UTCP_FILTER_ANY);
    utcp_filter_add_rule(&f, &rule);
    utcp_filter_decide(&f, &r, 0, 0, junk, sizeof junk, &v);
    assert_true(v.drop);
    assert_int_equal(v.rule, 1);
    assert_string_equal(utcp_filter_reason_name(UTCP_FILTER_RULE), "RULE");
    assert_string_equal(utcp_filter_reason_name(99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_is_deterministic_and_bounded),
        cmocka_unit_test(no_impairment_delivers_at_now_plus_delay),
        cmocka_unit_test(loss_rate_within_bounds_for_a_seed),
        cmocka_unit_test(gilbert_elliott_loss_is_bursty),
        cmocka_unit_test(nth_match_rule_drops_only_that_segment),
        cmocka_unit_test(rule_every_match_and_delay),
        cmocka_unit_test(add_rule_rejects_bad_rules),
        cmocka_unit_test(mtu_drops_larger_packets),
        cmocka_unit_test(rate_limit_spaces_packets_and_tail_drops),
        cmocka_unit_test(same_seed_same_verdicts),
        cmocka_unit_test(corruption_is_caught_by_checksums),
        cmocka_unit_test(non_tcp_packets_match_only_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
