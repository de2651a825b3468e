/*
 * RTT measurement on virtual time: where each ACK's one sample comes from
 * (RACK's transmit records, RFC 8985 6.2 with Karn's rule, RFC 6298 3;
 * else the timed segment, RFC 6298; else the timestamp echo, RFC 7323 4.1,
 * whose clock ticks in milliseconds), and what SRTT, RTTVAR, the RTO and
 * RACK.min_RTT (6.2 step 1) make of it. First at the segment level (one
 * stack, a scripted peer), then two stacks over a sub-millisecond path,
 * where the echo can only say "under a millisecond".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "stack/stack.h"
#include "tcp/conn.h"
#include "tnet.h"

#define MS SEG_MS
#define SEC SEG_SEC
#define PISS 50000u
#define P0 (PISS + 1) /* the peer's first data byte */
#define PTS 7000u     /* the peer's TSval in its SYN+ACK */
#define SUB_MS 200u   /* a sub-millisecond RTT, microseconds */

static uint8_t buf[8192];

/* ESTABLISHED by an active open whose SYN+ACK comes `rtt` later (the
 * timed SYN: SRTT = rtt, RTTVAR = rtt / 2, min_RTT = rtt), the peer
 * offering timestamps, and SACK-permitted when sack (RACK on). */
static utcp_sock est(struct seg_h *h, bool sack, uint64_t rtt)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS | (sack ? UTCP_OPT_SACK_PERM : 0);
    o.ts_val = PTS;
    utcp_sock sk = seg_open_active_opts(h, PISS, rtt, &o);
    struct utcp_info i = seg_info(h, sk);
    assert_int_equal(i.srtt_us, rtt);
    assert_int_equal(i.min_rtt_us, rtt);
    return sk;
}

/* The peer's pure ACK of `ack`, echoing ecr (its TSval: PTS + 1). */
static void ack_echo(struct seg_h *h, uint32_t ack, uint32_t ecr)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS;
    o.ts_val = PTS + 1;
    o.ts_ecr = ecr;
    seg_send_opts(h, F_ACK, P0, ack, 16384, &o, NULL, 0);
}

/* The first connection of the stack (the tests have one). */
static struct utcp_conn *conn_of(struct utcp_stack *st)
{
    size_t b = 0;
    struct utcp_hnode *hn = utcp__ht_iter(&st->conns, &b, NULL);
    assert_non_null(hn);
    return UTCP_CONTAINER_OF(hn, struct utcp_conn, hnode);
}

/* ---- one stack, a scripted peer ---- */

static void
established_ack_of_untimed_original_sampled_from_its_record(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h, true, SUB_MS);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, buf, 2 * 1448), 2 * 1448);
    const struct seg_cap *a = expect_seg(&h, F_ACK, U, P0, 1448, SEG_ANY);
    uint32_t ta = a->opts.ts_val;
    const struct seg_cap *b =
        expect_seg(&h, F_PSH | F_ACK, U + 1448, P0, 1448, SEG_ANY);
    uint32_t tb = b->opts.ts_val;
    /* each segment acknowledged on its own, 200 and 300 us after it was
     * sent: the echoes differ from our clock by 0 ms; the records time
     * both in microseconds (RFC 8985 6.2, RFC 6298 (2.3); appendix G of
     * RFC 7323: one sample expected for a flight of 2 SMSS or less) */
    seg_run(&h, 200);
    ack_echo(&h, U + 1448, ta);
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(i.srtt_us, (7 * SUB_MS + 200) / 8);
    assert_int_equal(i.rttvar_us, (3 * (SUB_MS / 2) + 0) / 4);
    seg_run(&h, 100);
    ack_echo(&h, U + 2 * 1448, tb);
    uint32_t srtt = (7 * SUB_MS + 200) / 8, var = 3 * (SUB_MS / 2) / 4;
    i = seg_info(&h, sk);
    assert_int_equal(i.srtt_us, (7 * srtt + 300) / 8);
    assert_int_equal(i.rttvar_us, (3 * var + (300 - srtt)) / 4);
    /* 6.2 step 1: min_RTT stays at the handshake's 200 us */
    assert_int_equal(i.min_rtt_us, SUB_MS);
    assert_int_equal(SEG_CTR(&h, RecRttSamples), 2);
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 0);
    seg_destroy(&h);
}

static void established_flight_of_four_segments_weights_sample_by_two(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h, true, SUB_MS);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, buf, 4 * 1448), 4 * 1448);
    const struct seg_cap *a = expect_seg(&h, F_ACK, U, P0, 1448, SEG_ANY);
    uint32_t ta = a->opts.ts_val;
    expect_seg(&h, F_ACK, U + 1448, P0, 1448, SEG_ANY);
    expect_seg(&h, F_ACK, U + 2 * 1448, P0, 1448, SEG_ANY);
    expect_seg(&h, F_PSH | F_ACK, U + 3 * 1448, P0, 1448, SEG_ANY);
    /* RFC 7323 appendix G: a flight of 4 SMSS brings ceil(4 / 2) = 2
     * samples per RTT, so alpha = 1/16 and beta = 1/8 for each (the
     * unweighted update would give SRTT 225, RTTVAR 125) */
    seg_run(&h, 400);
    ack_echo(&h, U + 2 * 1448, ta);
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, RecRttSamples), 1);
    assert_int_equal(i.srtt_us, (15 * SUB_MS + 400) / 16);
    assert_int_equal(i.rttvar_us, (7 * (SUB_MS / 2) + (400 - SUB_MS)) / 8);
    seg_destroy(&h);
}

static void established_record_sample_rearms_rto_from_new_estimate(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.rto_min_ms = 1; /* so that the RTO follows SRTT and RTTVAR */
    seg_init(&h, &cfg);
    utcp_sock sk = est(&h, true, 30 * MS);
    uint32_t U = h.iss + 1;
    struct utcp_conn *c = conn_of(h.st);
    uint32_t rto0 = c->rto;
    assert_int_equal(rto0, 30000 + 4 * 15000); /* RFC 6298 (2.2) */
    assert_int_equal(utcp_send(h.st, sk, buf, 2 * 1448), 2 * 1448);
    const struct seg_cap *a = expect_seg(&h, F_ACK, U, P0, 1448, SEG_ANY);
    uint32_t ta = a->opts.ts_val;
    expect_seg(&h, F_PSH | F_ACK, U + 1448, P0, 1448, SEG_ANY);
    seg_run(&h, 10 * MS);
    ack_echo(&h, U + 1448, ta);
    /* the sample is taken after SND.UNA moved (the records are delivered
     * then), yet the RTO restarted by this ACK runs with the estimate it
     * made (RFC 6298 (2.3), (5.3)) */
    uint32_t srtt = (7 * 30000 + 10000) / 8;
    uint32_t var = (3 * 15000 + (30000 - 10000)) / 4;
    assert_int_equal(c->srtt, srtt);
    assert_int_equal(c->rto, srtt + 4 * var);
    assert_int_not_equal(c->rto, rto0);
    assert_int_equal(c->t_rtx, h.now + c->rto);
    seg_destroy(&h);
}

/* Sends one byte, lets a timer resend it (the RTO, or with RACK the loss
 * probe that goes at the RTO's instant), and acknowledges the copy 300 us
 * after it left, echoing its TSval: the same millisecond tick. */
static utcp_sock ack_retransmission_in_same_tick(struct seg_h *h, bool sack)
{
    utcp_sock sk = est(h, sack, SUB_MS);
    uint32_t U = h->iss + 1;
    assert_int_equal(utcp_send(h->st, sk, "a", 1), 1);
    expect_seg(h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    seg_run_to_next_timer(h);
    const struct seg_cap *r = expect_seg(h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    expect_nothing(h);
    uint32_t tr = r->opts.ts_val;
    assert_int_equal(SEG_CTR(h, RetransSegs), 1);
    seg_run(h, 300);
    assert_int_equal(h->now / 1000, r->at / 1000);
    ack_echo(h, U + 1, tr);
    return sk;
}

static void established_echo_in_same_tick_counts_one_ms(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    /* no SACK, so no records: Karn's rule leaves no timed segment, and
     * the echo gives the sample (RFC 7323 4.1). A difference of 0 ticks
     * says "under 1 ms": the tick is the sample, not 0 or 1 us */
    utcp_sock sk = ack_retransmission_in_same_tick(&h, false);
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 1);
    assert_int_equal(SEG_CTR(&h, RecRttSamples), 0);
    assert_int_equal(i.srtt_us, (7 * SUB_MS + 1000) / 8);
    assert_int_equal(i.rttvar_us, (3 * (SUB_MS / 2) + (1000 - SUB_MS)) / 4);
    /* the handshake's 200 us stay the minimum */
    assert_int_equal(i.min_rtt_us, SUB_MS);
    seg_destroy(&h);
}

static void established_ack_of_resent_record_falls_back_on_echo(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    /* with RACK the one record delivered was retransmitted (Karn: no
     * sample from it, RFC 6298 3); the segment was never timed apart from
     * its record, so nothing measures the first transmission: the echo
     * names the copy that arrived, counted as one tick */
    utcp_sock sk = ack_retransmission_in_same_tick(&h, true);
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 1);
    assert_int_equal(SEG_CTR(&h, RecRttSamples), 0);
    assert_int_equal(i.srtt_us, (7 * SUB_MS + 1000) / 8);
    assert_int_equal(i.min_rtt_us, SUB_MS);
    seg_destroy(&h);
}

/* ---- two stacks over a sub-millisecond path ---- */

/* Delays one data segment from A in `every` by `hold` us beyond the
 * others: they overtake it (a mild reordering; nothing is lost). */
struct reorder {
    unsigned every, seen, held;
    uint64_t hold;
};

static int hold_some(struct tnet *n, int from, const struct utcp_tcp *th,
                     const uint8_t *pkt, size_t len, uint64_t *extra, void *ctx)
{
    (void)n, (void)pkt, (void)len;
    struct reorder *r = ctx;
    if (from != 0 || th->payload_len == 0 || !r->every)
        return TNET_PASS;
    if (++r->seen % r->every == 0) {
        *extra = r->hold;
        r->held++;
    }
    return TNET_PASS;
}

/* A sends 400 KB to B over a path of 100 us each way (RTT 200 us, no
 * bottleneck, so no queue: every RTT is 200 us but for the delayed ACK);
 * returns A's info and counters at the end. */
static void sub_ms_transfer(bool sack, bool ts, struct reorder *reo,
                            struct utcp_info *ia, struct utcp_counters *k)
{
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 5;
    cfg.no_sack = !sack;
    cfg.no_timestamps = !ts;
    cfg.sndbuf = cfg.rcvbuf = 262144;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    n->delay = SUB_MS / 2;
    utcp_sock l = tnet_listen(n, 1, 80, 4);
    utcp_sock a = tnet_connect(n, 0, 80), b;
    tnet_run_for(n, 10 * MS);
    assert_int_equal(utcp_accept(n->st[1], l, &b), 0);
    utcp_getinfo(n->st[0], a, ia);
    assert_int_equal(ia->sack_ok, sack);
    assert_int_equal(ia->ts_ok, ts);
    if (reo) {
        n->filter = hold_some;
        n->filter_ctx = reo;
    }
    enum { LEN = 400000 };
    static uint8_t src[LEN], got[LEN];
    tnet_pattern(src, LEN, 4);
    assert_true(tnet_transfer(n, a, b, src, got, LEN, 10 * SEC, 0, NULL) <
                10 * SEC);
    assert_memory_equal(got, src, LEN);
    utcp_getinfo(n->st[0], a, ia);
    utcp_get_counters(n->st[0], k);
    print_message("sack %d ts %d reorder %u: srtt %u rttvar %u min_rtt %u; "
                  "samples: records %llu echoes %llu; retransmitted %llu\n",
                  sack, ts, reo ? reo->held : 0, ia->srtt_us, ia->rttvar_us,
                  ia->min_rtt_us, (unsigned long long)k->RecRttSamples,
                  (unsigned long long)k->TsRttSamples,
                  (unsigned long long)k->RetransSegs);
    assert_int_equal(tnet_finish(n, a, b, l), 0);
}

static void
two_stacks_sub_ms_path_sack_srtt_and_min_rtt_from_records(void **state)
{
    (void)state;
    struct utcp_info i;
    struct utcp_counters k;
    sub_ms_transfer(true, true, NULL, &i, &k);
    /* every ACK timed by its records, in microseconds; the echoes (0 or 1
     * ms) are not needed: nothing was retransmitted */
    assert_int_equal(k.RetransSegs, 0);
    assert_in_range(k.RecRttSamples, 101, UINT64_MAX);
    assert_int_equal(k.TsRttSamples, 0);
    assert_in_range(i.srtt_us, 150, 400);
    assert_in_range(i.min_rtt_us, 150, 400);
}

static void
two_stacks_sub_ms_path_no_sack_srtt_from_timed_segments(void **state)
{
    (void)state;
    struct utcp_info i;
    struct utcp_counters k;
    /* no records, no echoes: one segment timed per RTT (RFC 6298) */
    sub_ms_transfer(false, false, NULL, &i, &k);
    assert_int_equal(k.RecRttSamples, 0);
    assert_int_equal(k.TsRttSamples, 0);
    assert_in_range(i.srtt_us, 150, 400);
    assert_in_range(i.min_rtt_us, 150, 400);
}

static void two_stacks_sub_ms_path_no_sack_echo_never_below_a_tick(void **state)
{
    (void)state;
    struct utcp_info i;
    struct utcp_counters k;
    /* no records: the timed segment when an ACK covers it, the echo for
     * the others (RFC 7323 4.1), whose 0 ms count as 1 ms: the echoes
     * cannot drag the estimate toward 0, and the minimum stays the timed
     * segments' 200 us */
    sub_ms_transfer(false, true, NULL, &i, &k);
    assert_int_equal(k.RecRttSamples, 0);
    assert_in_range(k.TsRttSamples, 101, UINT64_MAX);
    assert_in_range(i.min_rtt_us, 150, 400);
    assert_in_range(i.srtt_us, 150, 1000);
}

static void
two_stacks_sub_ms_path_reordering_within_reo_wnd_not_resent(void **state)
{
    (void)state;
    struct utcp_info i;
    struct utcp_counters k;
    /* one data segment in 10 overtaken by the next ones, 30 us late:
     * within RACK's reordering window once reordering is seen, min_RTT / 4
     * = 50 us (RFC 8985 6.2 step 4). A min_RTT of 1 us (from echoes of 0
     * ms taken as 1 us) made that window 0 and every such segment lost */
    struct reorder r = {10, 0, 0, 30};
    sub_ms_transfer(true, true, &r, &i, &k);
    assert_in_range(r.held, 25, UINT32_MAX);
    assert_in_range(i.min_rtt_us, 150, 400);
    assert_in_range(i.srtt_us, 150, 400);
    /* the wire loses nothing: every retransmission is spurious. Before
     * reordering is seen, DupThresh SACKed segments make the window 0
     * (6.2 step 4): a first overtaken segment may be resent, then none */
    assert_in_range(k.RetransSegs, 0, 3);
    assert_in_range(k.SackRecoveries, 0, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            established_ack_of_untimed_original_sampled_from_its_record),
        cmocka_unit_test(
            established_record_sample_rearms_rto_from_new_estimate),
        cmocka_unit_test(
            established_flight_of_four_segments_weights_sample_by_two),
        cmocka_unit_test(established_echo_in_same_tick_counts_one_ms),
        cmocka_unit_test(established_ack_of_resent_record_falls_back_on_echo),
        cmocka_unit_test(
            two_stacks_sub_ms_path_sack_srtt_and_min_rtt_from_records),
        cmocka_unit_test(
            two_stacks_sub_ms_path_no_sack_srtt_from_timed_segments),
        cmocka_unit_test(
            two_stacks_sub_ms_path_no_sack_echo_never_below_a_tick),
        cmocka_unit_test(
            two_stacks_sub_ms_path_reordering_within_reo_wnd_not_resent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
