/*
 * RFC 7323 timestamps at the segment level (one stack, a scripted peer):
 * negotiation in the SYNs (3.2), TSopt in every segment, the clock and its
 * per-connection offset (5.4), TS.Recent and Last.ACK.sent (4.3), PAWS
 * (5.3, 5.5), RTTM (4.1) and the MSS left to data (RFC 9293 3.7.1); then
 * two stacks back to back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "tnet.h"

#define MS SEG_MS
#define SEC SEG_SEC
#define PISS 50000u
#define P0 (PISS + 1) /* the peer's first data byte */
#define PTS 7000u     /* the peer's TSval in its SYN */

static uint8_t buf[8192];

static struct utcp_tcp_opts ts_opts(uint32_t val, uint32_t ecr)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS;
    o.ts_val = val;
    o.ts_ecr = ecr;
    return o;
}

/* Our TSval now, from the offset the SYN revealed (sent at time 0). */
static uint32_t our_ts(const struct seg_h *h)
{
    return h->syn_opts.ts_val + (uint32_t)(h->now / 1000u);
}

/* ESTABLISHED by an active open (RTT 30 ms), the peer offering TSopt (and
 * SACK-permitted when sack). */
static utcp_sock est_ts(struct seg_h *h, bool sack)
{
    struct utcp_tcp_opts o = ts_opts(PTS, 0);
    if (sack)
        o.present |= UTCP_OPT_SACK_PERM;
    return seg_open_active_opts(h, PISS, 30 * MS, &o);
}

/* Sends data from the peer with TSval val (TSecr: our clock). */
static void send_data(struct seg_h *h, uint32_t seq, size_t len, uint32_t val)
{
    struct utcp_tcp_opts o = ts_opts(val, our_ts(h));
    seg_send_opts(h, F_ACK, seq, h->iss + 1, 16384, &o, buf, len);
}

static void expect_ts(const struct seg_cap *c, uint32_t val, uint32_t ecr)
{
    assert_non_null(c);
    assert_true(c->opts.present & UTCP_OPT_TS);
    assert_int_equal(c->opts.ts_val, val);
    assert_int_equal(c->opts.ts_ecr, ecr);
}

/* ---- negotiation (RFC 7323 3.2, RFC 2018 2) ---- */

static void closed_connect_syn_offers_ts_and_sack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_run(&h, 5 * SEC);
    utcp_sock sk;
    assert_int_equal(utcp_socket(h.st, &sk), 0);
    assert_int_equal(utcp_bind(h.st, sk, 0, 80), 0);
    assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, 40000), UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(&h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    uint8_t want =
        UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM | UTCP_OPT_TS;
    assert_int_equal(c->opts.present, want);
    assert_int_equal(c->opts.ts_ecr, 0); /* 3.2: no ACK, TSecr zero */
    /* 20 bytes of header and 20 of options: MSS, SACK-permitted + TS, WS */
    assert_int_equal(c->raw_len, 20 + 40);
    /* RFC 7323 5.4 / 7.1: a random offset, not the stack's uptime */
    assert_int_not_equal(c->opts.ts_val, 5000);
    /* the clock runs in milliseconds: the retransmitted SYN tells */
    seg_run_to_next_timer(&h);
    const struct seg_cap *r = expect_seg(&h, F_SYN, c->seq, 0, 0, SEG_ANY);
    assert_int_equal(r->opts.ts_val - c->opts.ts_val, 1000);
    seg_destroy(&h);
}

static void syn_sent_synack_with_ts_enables_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, true);
    /* the handshake's ACK echoes the SYN+ACK's TSval */
    const struct seg_cap *a = &h.cap[h.next - 1];
    expect_ts(a, our_ts(&h), PTS);
    struct utcp_info i = seg_info(&h, sk);
    assert_true(i.ts_ok);
    assert_true(i.sack_ok);
    assert_int_equal(i.mss, 1460 - 12); /* RFC 7323: TSopt comes out of it */
    long v;
    assert_int_equal(utcp_getopt(h.st, sk, UTCP_OPT_MAXSEG, &v), 0);
    assert_int_equal(v, 1448);
    seg_destroy(&h);
}

static void syn_sent_synack_without_ts_disables_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = seg_open_active(&h, PISS, 30 * MS);
    const struct seg_cap *a = &h.cap[h.next - 1];
    assert_int_equal(a->opts.present, 0); /* no TSopt, no SACK blocks */
    assert_int_equal(a->raw_len, 40);
    struct utcp_info i = seg_info(&h, sk);
    assert_false(i.ts_ok);
    assert_false(i.sack_ok);
    assert_int_equal(i.mss, 1460);
    /* 3.2: a TSopt on a connection that did not negotiate it is ignored */
    struct utcp_tcp_opts o = ts_opts(1, 0);
    seg_send_opts(&h, F_ACK, P0, h.iss + 1, 16384, &o, "x", 1);
    seg_run(&h, 40 * MS);
    const struct seg_cap *c =
        expect_seg(&h, F_ACK, h.iss + 1, P0 + 1, 0, SEG_ANY);
    assert_int_equal(c->opts.present, 0);
    seg_destroy(&h);
}

static void listen_syn_with_ts_synack_carries_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    struct utcp_tcp_opts o = ts_opts(PTS, 0);
    o.present |= UTCP_OPT_SACK_PERM;
    utcp_sock l, sk = seg_open_passive_opts(&h, &l, PISS, 20 * MS, &o);
    const struct utcp_tcp_opts *so = &h.syn_opts;
    assert_true(so->present & UTCP_OPT_TS);
    assert_true(so->present & UTCP_OPT_SACK_PERM);
    assert_int_equal(so->ts_ecr, PTS); /* TS.Recent from the SYN */
    struct utcp_info i = seg_info(&h, sk);
    assert_true(i.ts_ok);
    assert_true(i.sack_ok);
    seg_destroy(&h);
}

static void listen_syn_without_options_synack_offers_none(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l, sk = seg_open_passive(&h, &l, PISS, 20 * MS);
    /* RFC 7323 3.2 / RFC 2018 2: a SYN+ACK answers what the SYN offered */
    assert_int_equal(h.syn_opts.present, UTCP_OPT_MSS);
    assert_false(seg_info(&h, sk).ts_ok);
    assert_false(seg_info(&h, sk).sack_ok);
    seg_destroy(&h);
}

static void closed_config_off_syn_offers_neither(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.no_timestamps = true;
    cfg.no_sack = true;
    seg_init(&h, &cfg);
    struct utcp_tcp_opts o = ts_opts(PTS, 0);
    o.present |= UTCP_OPT_SACK_PERM;
    utcp_sock sk = seg_open_active_opts(&h, PISS, 30 * MS, &o);
    assert_int_equal(h.syn_opts.present, UTCP_OPT_MSS | UTCP_OPT_WSCALE);
    assert_false(seg_info(&h, sk).ts_ok);
    assert_false(seg_info(&h, sk).sack_ok);
    assert_int_equal(seg_info(&h, sk).mss, 1460);
    seg_destroy(&h);
}

static void closed_sockopt_off_syn_offers_neither_and_fixed_after(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk;
    long v;
    assert_int_equal(utcp_socket(h.st, &sk), 0);
    assert_int_equal(utcp_getopt(h.st, sk, UTCP_OPT_TIMESTAMPS, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_TIMESTAMPS, 2),
                     UTCP_EINVAL);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_TIMESTAMPS, 0), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_SELECTIVE_ACKS, 0), 0);
    assert_int_equal(utcp_getopt(h.st, sk, UTCP_OPT_SELECTIVE_ACKS, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(utcp_bind(h.st, sk, 0, 80), 0);
    assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, 40000), UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(&h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    assert_int_equal(c->opts.present, UTCP_OPT_MSS | UTCP_OPT_WSCALE);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_TIMESTAMPS, 1),
                     UTCP_EISCONN);
    seg_destroy(&h);
}

static void listen_sockopt_off_child_answers_without_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    assert_int_equal(utcp_socket(h.st, &l), 0);
    assert_int_equal(utcp_setopt(h.st, l, UTCP_OPT_TIMESTAMPS, 0), 0);
    assert_int_equal(utcp_bind(h.st, l, 0, 80), 0);
    assert_int_equal(utcp_listen(h.st, l, 4), 0);
    struct utcp_tcp_opts o = ts_opts(PTS, 0);
    o.present |= UTCP_OPT_SACK_PERM | UTCP_OPT_MSS;
    o.mss = 1460;
    seg_send_opts(&h, F_SYN, PISS, 0, 16384, &o, NULL, 0);
    const struct seg_cap *c =
        expect_seg(&h, F_SYN | F_ACK, SEG_ANY, PISS + 1, 0, SEG_ANY);
    assert_int_equal(c->opts.present, UTCP_OPT_MSS | UTCP_OPT_SACK_PERM);
    seg_destroy(&h);
}

/* ---- every segment carries TSopt; the clock ---- */

static void established_any_segment_sent_carries_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    seg_run(&h, 100 * MS);
    assert_int_equal(utcp_send(h.st, sk, "hello", 5), 5);
    expect_ts(expect_seg(&h, F_PSH | F_ACK, U, P0, 5, SEG_ANY), our_ts(&h),
              PTS);
    /* the retransmission: a fresh TSval */
    seg_run_to_next_timer(&h);
    expect_ts(expect_seg(&h, F_PSH | F_ACK, U, P0, 5, SEG_ANY), our_ts(&h),
              PTS);
    send_data(&h, P0, 0, PTS + 300);
    assert_int_equal(utcp_shutdown(h.st, sk, UTCP_SHUT_WR), 0);
    /* TSecr = TS.Recent, from the ACK just received */
    expect_ts(expect_seg(&h, F_FIN | F_ACK, U + 5, P0, 0, SEG_ANY), our_ts(&h),
              PTS + 300);
    /* keep-alive-like probes and RSTs too (5.2: SHOULD on an abort) */
    assert_int_equal(utcp_abort(h.st, sk), 0);
    const struct seg_cap *r = seg_take(&h);
    assert_non_null(r);
    assert_true(r->flags & F_RST);
    expect_ts(r, our_ts(&h), PTS + 300);
    seg_destroy(&h);
}

static void closed_connect_offset_differs_per_tuple(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_ts(&h, false);
    uint32_t first = h.syn_opts.ts_val;
    h.lport = 81;
    est_ts(&h, false);
    /* both SYNs at time 0: only the offsets differ (RFC 7323 5.4) */
    assert_int_not_equal(first, h.syn_opts.ts_val);
    seg_destroy(&h);
}

/* ---- TS.Recent (RFC 7323 4.3) ---- */

static void established_delayed_ack_echoes_earliest_unacked(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_ts(&h, false);
    uint32_t U = h.iss + 1;
    /* (A): two segments, one ACK: the earlier TSval is echoed */
    send_data(&h, P0, 100, PTS + 10);
    seg_run(&h, 5 * MS);
    send_data(&h, P0 + 100, 100, PTS + 20);
    expect_nothing(&h);
    seg_run(&h, 35 * MS); /* the delayed ACK, 40 ms after the first */
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 200, 0, SEG_ANY), our_ts(&h),
              PTS + 10);
    /* the next segment starts at Last.ACK.sent: it becomes TS.Recent */
    send_data(&h, P0 + 200, 100, PTS + 30);
    seg_run(&h, 40 * MS);
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 300, 0, SEG_ANY), our_ts(&h),
              PTS + 30);
    seg_destroy(&h);
}

static void established_hole_echoes_last_in_order_then_filler(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_ts(&h, false);
    uint32_t U = h.iss + 1;
    send_data(&h, P0, 100, PTS + 1);
    seg_run(&h, 40 * MS);
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 100, 0, SEG_ANY), our_ts(&h),
              PTS + 1);
    /* (B): C arrives before B: the ACK echoes A's TSval */
    send_data(&h, P0 + 200, 100, PTS + 3);
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 100, 0, SEG_ANY), our_ts(&h),
              PTS + 1);
    /* (C): B fills the hole: its TSval is echoed */
    send_data(&h, P0 + 100, 100, PTS + 2);
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 300, 0, SEG_ANY), our_ts(&h),
              PTS + 2);
    seg_destroy(&h);
}

/* ---- PAWS (RFC 7323 5.3, 5.5) ---- */

static void established_old_tsval_dropped_by_paws_and_acked(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    send_data(&h, P0, 10, PTS - 1); /* in the window, but older */
    /* R1: an ACK in reply (TS.Recent unchanged), and the data dropped */
    expect_ts(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), our_ts(&h), PTS);
    expect_nothing(&h);
    char b[16];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), UTCP_EAGAIN);
    assert_int_equal(SEG_CTR(&h, PawsDrops), 1);
    assert_int_equal(h.drops[UTCP_DROP_PAWS], 1);
    /* a TSval equal to TS.Recent is not older */
    send_data(&h, P0, 10, PTS);
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 10);
    /* wrap-around: 0x80000000 ahead of TS.Recent counts as older */
    send_data(&h, P0 + 10, 10, PTS + 0x80000001u);
    assert_int_equal(SEG_CTR(&h, PawsDrops), 2);
    seg_destroy(&h);
}

static void established_rst_with_old_tsval_not_subject_to_paws(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    struct utcp_tcp_opts o = ts_opts(1, 0);
    seg_send_opts(&h, F_RST, P0, 0, 0, &o, NULL, 0);
    assert_int_equal(seg_state(&h, sk), UTCP_CLOSED);
    assert_int_equal(SEG_CTR(&h, PawsDrops), 0);
    seg_destroy(&h);
}

static void established_idle_24_days_old_tsval_accepted(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    seg_run(&h, 24ull * 24 * 3600 * SEC - 1 * SEC);
    send_data(&h, P0, 10, PTS - 1000);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY); /* still PAWS */
    seg_run(&h, 2 * SEC);
    /* RFC 7323 5.5: TS.Recent idle for more than 24 days is invalid: the
     * segment is accepted and its TSval becomes TS.Recent */
    send_data(&h, P0, 10, PTS - 1000);
    seg_run(&h, 40 * MS);
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 10, 0, SEG_ANY), our_ts(&h),
              PTS - 1000);
    char b[16];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 10);
    assert_int_equal(SEG_CTR(&h, PawsDrops), 1);
    seg_destroy(&h);
}

static void established_segment_without_ts_accepted(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    /* RFC 7323 3.2 says SHOULD drop; accepted as Linux and BSD do, and
     * TS.Recent stays */
    seg_send(&h, F_ACK, P0, h.iss + 1, 16384, "abc", 3);
    seg_run(&h, 40 * MS);
    expect_ts(expect_seg(&h, F_ACK, h.iss + 1, P0 + 3, 0, SEG_ANY), our_ts(&h),
              PTS);
    char b[16];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 3);
    seg_destroy(&h);
}

/* ---- RTTM (RFC 7323 4) ---- */

static void established_ack_of_retransmission_gives_ts_sample(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    assert_int_equal(seg_info(&h, sk).srtt_us, 30000);
    assert_int_equal(utcp_send(h.st, sk, "a", 1), 1);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    seg_run_to_next_timer(&h);
    const struct seg_cap *r = expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    seg_run(&h, 20 * MS);
    /* the echo names the retransmission: Karn's rule does not apply */
    struct utcp_tcp_opts o = ts_opts(PTS + 1, r->opts.ts_val);
    seg_send_opts(&h, F_ACK, P0, U + 1, 16384, &o, NULL, 0);
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 1);
    /* RFC 6298 (2.3) with R = 20 ms */
    assert_int_equal(i.srtt_us, (7 * 30000 + 20000) / 8);
    assert_int_equal(i.rttvar_us, (3 * 15000 + 10000) / 4);
    seg_destroy(&h);
}

static void established_echo_older_than_retransmission_not_sampled(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "a", 1), 1);
    const struct seg_cap *c = expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    uint32_t first = c->opts.ts_val;
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    seg_run(&h, 20 * MS);
    /* the original arrived, its ACK was lost: the ACK that the
     * retransmission draws echoes the original's TSval (4.3): that sample
     * would count the RTO in */
    struct utcp_tcp_opts o = ts_opts(PTS + 1, first);
    seg_send_opts(&h, F_ACK, P0, U + 1, 16384, &o, NULL, 0);
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 0);
    assert_int_equal(seg_info(&h, sk).srtt_us, 30000);
    seg_destroy(&h);
}

static void
established_ack_of_untimed_segment_gives_weighted_sample(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_NODELAY, 1), 0);
    assert_int_equal(utcp_send(h.st, sk, "a", 1), 1); /* timed */
    const struct seg_cap *a = expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    uint32_t ta = a->opts.ts_val;
    seg_run(&h, 10 * MS);
    assert_int_equal(utcp_send(h.st, sk, "b", 1), 1); /* not timed */
    const struct seg_cap *b =
        expect_seg(&h, F_PSH | F_ACK, U + 1, P0, 1, SEG_ANY);
    uint32_t tb = b->opts.ts_val;
    seg_run(&h, 10 * MS);
    struct utcp_tcp_opts o = ts_opts(PTS + 1, ta);
    seg_send_opts(&h, F_ACK, P0, U + 1, 16384, &o, NULL, 0);
    /* the timed segment: the microsecond clock sample, 20 ms */
    assert_int_equal(seg_info(&h, sk).srtt_us, (7 * 30000 + 20000) / 8);
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 0);
    seg_run(&h, 30 * MS);
    o = ts_opts(PTS + 2, tb);
    seg_send_opts(&h, F_ACK, P0, U + 2, 16384, &o, NULL, 0);
    /* RFC 7323 4.1: from the echo, 40 ms (appendix G: one sample
     * expected for a one-byte flight) */
    assert_int_equal(SEG_CTR(&h, TsRttSamples), 1);
    uint32_t srtt = (7 * 30000 + 20000) / 8;
    assert_int_equal(seg_info(&h, sk).srtt_us, (7 * srtt + 40000) / 8);
    seg_destroy(&h);
}

/* ---- MSS and full-sized segments (RFC 9293 3.7.1) ---- */

static void established_data_segments_leave_room_for_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, buf, 3000), 3000);
    const struct seg_cap *c = expect_seg(&h, F_ACK, U, P0, 1448, SEG_ANY);
    /* 20 + 20 + 12 + 1448 = 1500: the MTU exactly */
    assert_int_equal(c->raw_len, 1500);
    expect_seg(&h, F_ACK, U + 1448, P0, 1448, SEG_ANY);
    expect_nothing(&h); /* Nagle holds the last 104 bytes */
    seg_destroy(&h);
}

static void established_two_full_ts_segments_acked_at_once(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.rcvbuf = 16384;
    seg_init(&h, &cfg);
    est_ts(&h, false);
    uint32_t U = h.iss + 1;
    /* RFC 1122 4.2.3.2: every second full-sized segment, and with TSopt
     * full-sized is the MSS less 12 */
    send_data(&h, P0, 1448, PTS + 1);
    expect_nothing(&h);
    send_data(&h, P0 + 1448, 1448, PTS + 2);
    expect_ts(expect_seg(&h, F_ACK, U, P0 + 2896, 0, SEG_ANY), our_ts(&h),
              PTS + 1);
    seg_destroy(&h);
}

/* ---- RST replies and TIME-WAIT ---- */

static void closed_segment_with_ts_rst_carries_no_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    struct utcp_tcp_opts o = ts_opts(4242, 99);
    seg_send_opts(&h, F_ACK, 1000, 2000, 1024, &o, NULL, 0);
    const struct seg_cap *r = expect_seg(&h, F_RST, 2000, 0, 0, SEG_ANY);
    /* RFC 7323 5.2 would put TSval 0 here; Linux PAWS-checks RSTs and
     * drops such a one, so the reply RST goes without TSopt, as Linux's. */
    assert_false(r->opts.present & UTCP_OPT_TS);
    seg_destroy(&h);
}

static void time_wait_record_acks_fin_with_ts(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_ts(&h, false);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_close(h.st, sk), 0);
    expect_ts(expect_seg(&h, F_FIN | F_ACK, U, P0, 0, SEG_ANY), our_ts(&h),
              PTS);
    struct utcp_tcp_opts o = ts_opts(PTS + 5, our_ts(&h));
    seg_send_opts(&h, F_FIN | F_ACK, P0, U + 1, 16384, &o, NULL, 0);
    expect_ts(expect_seg(&h, F_ACK, U + 1, P0 + 1, 0, SEG_ANY), our_ts(&h),
              PTS + 5);
    /* the socket is gone: a 64-byte record answers the FIN again */
    seg_run(&h, 1 * SEC);
    o = ts_opts(PTS + 1005, our_ts(&h));
    seg_send_opts(&h, F_FIN | F_ACK, P0, U + 1, 16384, &o, NULL, 0);
    expect_ts(expect_seg(&h, F_ACK, U + 1, P0 + 1, 0, SEG_ANY), our_ts(&h),
              PTS + 1005);
    seg_destroy(&h);
}

/* ---- two stacks ---- */

static void two_stacks_negotiate_and_transfer(bool no_ts_b)
{
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 11;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    n->delay = 5 * MS;
    if (no_ts_b) {
        struct utcp_config cb = cfg;
        cb.no_timestamps = true;
        tnet_restart(n, 1, &cb);
    }
    utcp_sock l = tnet_listen(n, 1, 80, 4);
    utcp_sock a = tnet_connect(n, 0, 80), b;
    tnet_run_for(n, 100 * MS);
    assert_int_equal(utcp_accept(n->st[1], l, &b), 0);
    struct utcp_info ia, ib;
    utcp_getinfo(n->st[0], a, &ia);
    utcp_getinfo(n->st[1], b, &ib);
    assert_int_equal(ia.ts_ok, !no_ts_b);
    assert_int_equal(ib.ts_ok, !no_ts_b);
    assert_true(ia.sack_ok && ib.sack_ok);
    assert_int_equal(ia.mss, no_ts_b ? 1460 : 1448);
    static uint8_t big[200000], got[200000];
    for (size_t k = 0; k < sizeof big; k++)
        big[k] = (uint8_t)(k * 13 + 7);
    assert_true(n->now < 60 * SEC);
    uint64_t left = 60 * SEC - n->now;
    assert_true(tnet_transfer(n, a, b, big, got, sizeof big, left, 0, NULL) <
                left);
    assert_memory_equal(got, big, sizeof big);
    utcp_getinfo(n->st[0], a, &ia);
    /* RTT 10 ms; the samples keep the estimate there */
    assert_true(ia.srtt_us >= 9000 && ia.srtt_us <= 15000);
    struct utcp_counters k;
    utcp_get_counters(n->st[0], &k);
    /* with SACK, RACK's records time every segment delivered (RFC 8985
     * 6.2); nothing was retransmitted, so no ACK fell back on its echo
     * (RFC 7323 4.1), with timestamps or without */
    assert_true(k.RecRttSamples > 0);
    assert_int_equal(k.RetransSegs, 0);
    assert_int_equal(k.TsRttSamples, 0);
    assert_int_equal(k.PawsDrops, 0);
    assert_int_equal(tnet_finish(n, a, b, l), 0);
}

static void two_stacks_both_offering_use_timestamps(void **state)
{
    (void)state;
    two_stacks_negotiate_and_transfer(false);
}

static void two_stacks_one_without_ts_use_none(void **state)
{
    (void)state;
    two_stacks_negotiate_and_transfer(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_connect_syn_offers_ts_and_sack),
        cmocka_unit_test(syn_sent_synack_with_ts_enables_ts),
        cmocka_unit_test(syn_sent_synack_without_ts_disables_ts),
        cmocka_unit_test(listen_syn_with_ts_synack_carries_ts),
        cmocka_unit_test(listen_syn_without_options_synack_offers_none),
        cmocka_unit_test(closed_config_off_syn_offers_neither),
        cmocka_unit_test(closed_sockopt_off_syn_offers_neither_and_fixed_after),
        cmocka_unit_test(listen_sockopt_off_child_answers_without_ts),
        cmocka_unit_test(established_any_segment_sent_carries_ts),
        cmocka_unit_test(closed_connect_offset_differs_per_tuple),
        cmocka_unit_test(established_delayed_ack_echoes_earliest_unacked),
        cmocka_unit_test(established_hole_echoes_last_in_order_then_filler),
        cmocka_unit_test(established_old_tsval_dropped_by_paws_and_acked),
        cmocka_unit_test(established_rst_with_old_tsval_not_subject_to_paws),
        cmocka_unit_test(established_idle_24_days_old_tsval_accepted),
        cmocka_unit_test(established_segment_without_ts_accepted),
        cmocka_unit_test(established_ack_of_retransmission_gives_ts_sample),
        cmocka_unit_test(
            established_echo_older_than_retransmission_not_sampled),
        cmocka_unit_test(
            established_ack_of_untimed_segment_gives_weighted_sample),
        cmocka_unit_test(established_data_segments_leave_room_for_ts),
        cmocka_unit_test(established_two_full_ts_segments_acked_at_once),
        cmocka_unit_test(closed_segment_with_ts_rst_carries_no_ts),
        cmocka_unit_test(time_wait_record_acks_fin_with_ts),
        cmocka_unit_test(two_stacks_both_offering_use_timestamps),
        cmocka_unit_test(two_stacks_one_without_ts_use_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
