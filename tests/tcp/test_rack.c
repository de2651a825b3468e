/*
 * RACK-TLP (RFC 8985) at the segment level: one stack sending, a scripted
 * peer that permits SACK and acknowledges what the test decides, on virtual
 * time. The tail loss probe (7.2-7.3: when, which segment, one per
 * episode, then the RTO), the time-based loss marking (6.2: not before
 * RACK.rtt + reo_wnd, then at once), a lost retransmission found without
 * an RTO (6.2 step 5, 9.3), a reordered segment inside reo_wnd, TLP loss
 * detection (7.4.2) reducing cwnd once; then two stacks with a lost tail.
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
#define SMSS 1460u
#define RTT (30 * MS) /* the handshake's, so SRTT and min_RTT */

static uint8_t buf[65536];

/* Segment k of our data. */
static uint32_t S(const struct seg_h *h, uint32_t k)
{
    return seg_our_seq(h, k, SMSS);
}

/* An ACK from the peer of segments below ack_k, with SACK blocks given as
 * segment indexes [l, r). */
static void sack_ack(struct seg_h *h, uint32_t ack_k, unsigned n,
                     const uint32_t *lr)
{
    seg_send_sack(h, P0, S(h, ack_k), n, lr, SMSS);
}

/* ESTABLISHED by an active open (RTT 30 ms), the peer permitting SACK, its
 * window 65535; `segs` full segments queued, of which the initial window
 * (10) goes out at once, at h->now. */
static utcp_sock sender(struct seg_h *h, uint32_t segs)
{
    h->pwin = 65535;
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_SACK_PERM;
    utcp_sock sk = seg_open_active_opts(h, PISS, RTT, &o);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 9));
    assert_int_equal(utcp_send(h->st, sk, buf, segs * SMSS),
                     (long)(segs * SMSS));
    for (uint32_t k = 0; k < 10 && k < segs; k++)
        expect_seg(h, k + 1 == segs ? F_PSH | F_ACK : F_ACK, S(h, k), P0, SMSS,
                   SEG_ANY);
    expect_nothing(h);
    return sk;
}

/* ---- TLP (RFC 8985 7) ---- */

static void established_tail_loss_sends_tlp_probe(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    /* 0-7 arrive, the tail 8-9 is lost */
    seg_run(&h, RTT);
    sack_ack(&h, 8, 0, NULL);
    uint64_t acked_at = h.now;
    expect_nothing(&h);
    /* 7.2: PTO = 2 * SRTT (two segments out) after the ACK; 7.3: nothing
     * new to send, so the highest segment again */
    seg_run(&h, 2 * RTT - 1);
    expect_nothing(&h);
    seg_run(&h, 1);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 9), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(h.now - acked_at, 2 * RTT);
    assert_int_equal(h.timer_fires[UTCP_TIMER_TLP], 1);
    assert_int_equal(SEG_CTR(&h, TlpProbes), 1);
    /* one probe per episode: the next timer is the RTO, from the probe */
    uint64_t probe_at = h.now;
    seg_run_to_next_timer(&h);
    assert_int_equal(h.timer_fires[UTCP_TIMER_TLP], 1);
    assert_int_equal(SEG_CTR(&h, Timeouts), 1);
    assert_true(h.now - probe_at >= 200 * MS);
    expect_seg(&h, F_ACK, S(&h, 8), P0, SMSS, SEG_ANY);
    seg_destroy(&h);
}

static void established_tlp_probe_ack_exposes_tail_loss(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    seg_run(&h, RTT);
    sack_ack(&h, 8, 0, NULL);
    seg_run(&h, 2 * RTT);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 9), P0, SMSS, SEG_ANY);
    /* 7.4.1: the probe's SACK arrives; segment 8, sent long before it, is
     * lost by RACK at once: a fast retransmission, no RTO */
    seg_run(&h, RTT);
    sack_ack(&h, 8, 1, (const uint32_t[]){9, 10});
    expect_seg(&h, F_ACK, S(&h, 8), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 1);
    assert_int_equal(SEG_CTR(&h, RackLost), 1);
    sack_ack(&h, 10, 0, NULL);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 2);
    seg_destroy(&h);
}

static void established_tlp_probe_carries_new_data_when_available(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 12); /* 10-11 wait for the window */
    /* no ACK at all: 7.3 sends the first unsent segment, beyond cwnd */
    seg_run(&h, 2 * RTT - 1);
    expect_nothing(&h);
    seg_run(&h, 1);
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, TlpProbes), 1);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 0);
    /* its ACK (7.4.2: a probe of new data ends the episode) */
    seg_run(&h, RTT);
    sack_ack(&h, 11, 0, NULL);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 11), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_tlp_repairs_single_loss_reduces_cwnd_once(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = sender(&h, 10);
    /* 0-8 arrive, 9 is lost */
    seg_run(&h, RTT);
    sack_ack(&h, 9, 0, NULL);
    struct utcp_info i = seg_info(&h, sk);
    uint32_t cwnd = i.cwnd;
    assert_int_equal(cwnd, 11 * SMSS); /* slow start: one SMSS per ACK */
    /* one segment out: PTO = 2 * SRTT + 200 ms, but not after the RTO
     * (7.2): the probe goes at the RTO's instant and the RTO is re-armed */
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 9), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, TlpProbes), 1);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    /* the probe arrives: its ACK covers TLP.end_seq exactly; no verdict
     * yet (a duplicate ACK could still say both copies arrived) */
    seg_run(&h, RTT);
    sack_ack(&h, 10, 0, NULL);
    assert_int_equal(SEG_CTR(&h, TlpRecoveries), 0);
    /* new data, and an ACK beyond TLP.end_seq: the probe repaired a loss
     * (7.4.2): ssthresh and cwnd halve, once */
    assert_int_equal(utcp_send(h.st, sk, buf, 2 * SMSS), (long)(2 * SMSS));
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 11), P0, SMSS, SEG_ANY);
    seg_run(&h, RTT);
    sack_ack(&h, 11, 0, NULL);
    i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, TlpRecoveries), 1);
    assert_int_equal(i.ssthresh, cwnd / 2);
    assert_int_equal(i.cwnd, cwnd / 2);
    sack_ack(&h, 12, 0, NULL);
    i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, TlpRecoveries), 1);
    assert_int_equal(i.ssthresh, cwnd / 2);
    assert_true(i.cwnd >= cwnd / 2); /* growing again, not reduced */
    assert_int_equal(SEG_CTR(&h, FastRetrans), 0);
    seg_destroy(&h);
}

/* ---- RACK (RFC 8985 6) ---- */

/* The first connection of the stack (the tests have one). */
static struct utcp_conn *conn_of(struct utcp_stack *st)
{
    size_t b = 0;
    struct utcp_hnode *hn = utcp__ht_iter(&st->conns, &b, NULL);
    assert_non_null(hn);
    return UTCP_CONTAINER_OF(hn, struct utcp_conn, hnode);
}

/* The indexes of the SACKed records of c, relative to segment base, as a
 * bit mask. */
static uint64_t sacked_mask(const struct seg_h *h, const struct utcp_conn *c,
                            uint32_t base)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < c->rack.n; i++) {
        const struct utcp_txrec *t = &c->rack.rec[c->rack.head + i];
        uint32_t k = (t->seq - S(h, base)) / SMSS;
        if ((t->flags & UTCP_TX_SACKED) && k < 64)
            m |= 1ull << k;
    }
    return m;
}

/* The record of our segment k, checked to be the i-th outstanding. */
static void expect_rec(const struct seg_h *h, const struct utcp_conn *c,
                       uint32_t i, uint32_t k)
{
    assert_in_range(i, 0, c->rack.n - 1);
    const struct utcp_txrec *t = &c->rack.rec[c->rack.head + i];
    assert_int_equal(t->seq, S(h, k));
    assert_int_equal(t->len, SMSS);
}

static void established_two_records_in_place_third_takes_array(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = sender(&h, 2);
    struct utcp_conn *c = conn_of(h.st);
    /* RFC 8985 6.1: a record per segment; a flight of two is held in the
     * connection itself */
    assert_int_equal(c->rack.n, 2);
    assert_ptr_equal(c->rack.rec, c->rack.in_place);
    expect_rec(&h, c, 0, 0);
    expect_rec(&h, c, 1, 1);
    /* the first ACKed, one more sent: still two, moved to the front */
    seg_run(&h, RTT);
    sack_ack(&h, 1, 0, NULL);
    assert_int_equal(utcp_send(h.st, sk, buf, SMSS), (long)SMSS);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 2), P0, SMSS, SEG_ANY);
    assert_int_equal(c->rack.n, 2);
    assert_ptr_equal(c->rack.rec, c->rack.in_place);
    expect_rec(&h, c, 0, 1);
    expect_rec(&h, c, 1, 2);
    /* a third in flight: the records move to an array, in order */
    assert_int_equal(utcp_send(h.st, sk, buf, SMSS), (long)SMSS);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 3), P0, SMSS, SEG_ANY);
    assert_int_equal(c->rack.n, 3);
    assert_true(c->rack.rec != c->rack.in_place);
    expect_rec(&h, c, 0, 1);
    expect_rec(&h, c, 1, 2);
    expect_rec(&h, c, 2, 3);
    assert_int_equal(utcp__rack_pipe(c), 3 * SMSS);
    /* all acknowledged: the array is returned */
    seg_run(&h, RTT);
    sack_ack(&h, 4, 0, NULL);
    assert_int_equal(c->rack.n, 0);
    assert_null(c->rack.rec);
    seg_destroy(&h);
}

static void established_sack_blocks_beyond_scoreboard_all_counted(
    void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.sndbuf = 1 << 20;
    seg_init(&h, &cfg);
    utcp_sock sk = sender(&h, 10);
    struct utcp_conn *c = conn_of(h.st);
    for (int i = 0; i < 3; i++)
        assert_int_equal(utcp_send(h.st, sk, buf, sizeof buf),
                         (long)sizeof buf);
    /* slow start, an ACK per segment: 10, 20, 40 rounds, then the peer's
     * window (44 SMSS) from 70 */
    uint32_t base = 0;
    for (uint32_t n = 10; base < 70; n = 2 * n) {
        seg_run(&h, RTT);
        for (uint32_t k = base + 1; k <= base + n; k++)
            sack_ack(&h, k, 0, NULL);
        base += n;
    }
    seg_run(&h, RTT);
    while (seg_take(&h))
        ;
    assert_int_equal(c->rack.n, 44);
    /* every other segment SACKed, one block an ACK: 16 disjoint ranges
     * fill the scoreboard (1, 3, ... 31) */
    for (uint32_t k = 1; k < 32; k += 2)
        sack_ack(&h, base, 1, (const uint32_t[]){base + k, base + k + 1});
    assert_int_equal(c->sacked->n, 16);
    assert_int_equal(c->rack.segs_sacked, 16);
    /* blocks beyond it (RFC 2018 8: dropped from the scoreboard): the
     * records carry the marks, and RACK.segs_sacked counts them */
    sack_ack(&h, base, 3,
             (const uint32_t[]){base + 33, base + 34, base + 35, base + 36,
                                base + 37, base + 38});
    assert_int_equal(c->sacked->n, 16);
    assert_int_equal(c->rack.segs_sacked, 19);
    /* the next ACK repeats one and adds two: every SACKed record counts,
     * those marked by an earlier ACK beyond the scoreboard too */
    sack_ack(&h, base, 3,
             (const uint32_t[]){base + 41, base + 42, base + 39, base + 40,
                                base + 33, base + 34});
    assert_int_equal(c->sacked->n, 16);
    assert_int_equal(c->rack.segs_sacked, 21);
    /* the marks: exactly the odd segments 1-41 */
    uint64_t odd = 0;
    for (uint32_t k = 1; k < 42; k += 2)
        odd |= 1ull << k;
    assert_int_equal(sacked_mask(&h, c, base), odd);
    seg_destroy(&h);
}

static void established_rack_marks_lost_after_reo_wnd_not_before(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = sender(&h, 14);
    uint64_t sent_at = h.now;
    /* 0 missing, 1 SACKed: one segment is below DupThresh, so reo_wnd is
     * min_RTT / 4 = 7.5 ms (6.2 step 4); limited transmit sends 10 */
    seg_run(&h, RTT);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 2});
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    /* step 5: lost when xmit_ts + RACK.rtt + reo_wnd <= now: not at
     * 37.4 ms, at 37.5 ms, by the reordering timer */
    seg_run(&h, 7 * MS + 400);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RackLost), 0);
    seg_run(&h, 100);
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(h.now - sent_at, RTT + RTT / 4);
    assert_int_equal(h.timer_fires[UTCP_TIMER_RACK], 1);
    assert_int_equal(SEG_CTR(&h, RackLost), 1);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 1);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    /* RFC 6675 (4.2): FlightSize / 2 without limited transmit's segment */
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(i.ssthresh, 10 * SMSS / 2);
    assert_int_equal(i.cwnd, 10 * SMSS / 2);
    seg_destroy(&h);
}

static void established_reordered_segment_within_reo_wnd_not_resent(
    void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 14);
    seg_run(&h, RTT);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 2});
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    /* 0 was only late: it arrives 5 ms later, inside reo_wnd (7.5 ms) */
    seg_run(&h, 5 * MS);
    sack_ack(&h, 2, 0, NULL);
    /* the ACK clock sends on; nothing is retransmitted, ever */
    expect_seg(&h, F_ACK, S(&h, 11), P0, SMSS, SEG_ANY);
    expect_seg(&h, F_ACK, S(&h, 12), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    seg_run(&h, 10 * MS);
    expect_nothing(&h);
    sack_ack(&h, 13, 0, NULL);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 13), P0, SMSS, SEG_ANY);
    sack_ack(&h, 14, 0, NULL);
    seg_run(&h, 2 * SEC);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 0);
    assert_int_equal(SEG_CTR(&h, RackLost), 0);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 0);
    seg_destroy(&h);
}

static void established_lost_retransmission_resent_without_rto(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = sender(&h, 20);
    seg_run(&h, RTT);
    /* three SACKed segments above 0 (reo_wnd 0): recovery, 0 resent */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 4});
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h); /* pipe 7 segments > cwnd 5 */
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(i.cwnd, 5 * SMSS);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 6});
    expect_nothing(&h); /* pipe 5 */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 8});
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    expect_seg(&h, F_ACK, S(&h, 11), P0, SMSS, SEG_ANY);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 10});
    expect_seg(&h, F_ACK, S(&h, 12), P0, SMSS, SEG_ANY);
    expect_seg(&h, F_ACK, S(&h, 13), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    /* the retransmission of 0 is lost; 10 and 11, sent after it, are
     * SACKed a round trip later: 0 is lost again (RACK.xmit_ts is later
     * than its retransmission), resent at once, and the window reduced
     * again (9.3): min(FlightSize, cwnd) / 2 */
    seg_run(&h, RTT);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 12});
    assert_int_equal(SEG_CTR(&h, RackLostRetrans), 1);
    i = seg_info(&h, sk);
    assert_int_equal(i.ssthresh, 5 * SMSS / 2);
    assert_int_equal(i.cwnd, 5 * SMSS / 2);
    /* ... and resent as soon as the pipe (12-13) lets it: RFC 6675 (C) */
    expect_nothing(&h);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 13});
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RackLostRetrans), 1);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 2);
    /* it arrives: all of 0-13 acknowledged, recovery ends */
    seg_run(&h, RTT);
    sack_ack(&h, 14, 0, NULL);
    i = seg_info(&h, sk);
    assert_int_equal(i.snd_una, S(&h, 14));
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 1);
    seg_destroy(&h);
}

static void established_rto_recovery_resends_lost_retransmission(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    /* nothing comes back: the probe, then the RTO */
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 9), P0, SMSS, SEG_ANY);
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, Timeouts), 1);
    /* 6.3: all is marked lost; slow start resends by the marks, past
     * what the receiver SACKs (the probe's copy of 9) */
    seg_run(&h, RTT);
    sack_ack(&h, 1, 1, (const uint32_t[]){9, 10});
    expect_seg(&h, F_ACK, S(&h, 1), P0, SMSS, SEG_ANY);
    expect_seg(&h, F_ACK, S(&h, 2), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    /* 1 is lost again, 2 (sent after it) arrives: RACK resends 1 at once,
     * no second timeout (go-back-N would wait for one, backed off) */
    seg_run(&h, RTT);
    sack_ack(&h, 1, 2, (const uint32_t[]){2, 3, 9, 10});
    expect_seg(&h, F_ACK, S(&h, 1), P0, SMSS, SEG_ANY);
    expect_seg(&h, F_ACK, S(&h, 3), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, Timeouts), 1);
    assert_int_equal(SEG_CTR(&h, RackLost), 1);
    /* all arrives: the RecoveryPoint is acknowledged */
    seg_run(&h, RTT);
    sack_ack(&h, 4, 1, (const uint32_t[]){9, 10});
    expect_seg(&h, F_ACK, S(&h, 4), P0, SMSS, SEG_ANY);
    seg_destroy(&h);
}

static void established_no_rack_keeps_rfc6675_dupthresh(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.no_rack = true;
    seg_init(&h, &cfg);
    sender(&h, 14);
    seg_run(&h, RTT);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 2});
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    /* no reordering timer, no probe: the RTO resends 0 */
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, Timeouts), 1);
    assert_int_equal(h.timer_fires[UTCP_TIMER_RACK], 0);
    assert_int_equal(h.timer_fires[UTCP_TIMER_TLP], 0);
    seg_destroy(&h);
}

/* ---- two stacks ---- */

struct tail {
    uint32_t base; /* the client's ISS + 1 */
    uint32_t from; /* drop once every data segment at or above (bytes) */
    bool seen[64];
};

static int drop_tail(struct tnet *n, int from, const struct utcp_tcp *th,
                     const uint8_t *pkt, size_t len, uint64_t *extra,
                     void *ctx)
{
    (void)n, (void)pkt, (void)len, (void)extra;
    struct tail *t = ctx;
    if (from != 0 || th->payload_len == 0)
        return TNET_PASS;
    uint32_t off = th->seq - t->base;
    if (off < t->from)
        return TNET_PASS;
    uint32_t k = (off - t->from) / 1448u;
    if (k >= 64 || t->seen[k])
        return TNET_PASS;
    t->seen[k] = true;
    return TNET_DROP;
}

/* A sends 30 segments to B; the last 3 are lost once. Returns the time
 * until B has them all and A's counters. */
static uint64_t tail_transfer(bool rack, struct utcp_counters *k)
{
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 9;
    cfg.no_rack = !rack;
    cfg.sndbuf = cfg.rcvbuf = 262144;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    utcp_sock l = tnet_listen(n, 1, 80, 4);
    utcp_sock a = tnet_connect(n, 0, 80), b;
    tnet_run_for(n, 100 * MS);
    assert_int_equal(utcp_accept(n->st[1], l, &b), 0);
    struct utcp_info ia;
    utcp_getinfo(n->st[0], a, &ia);
    enum { LEN = 30 * 1448 };
    struct tail t = {ia.snd_una, 27 * 1448, {false}};
    n->filter = drop_tail;
    n->filter_ctx = &t;
    static uint8_t src[LEN], got[LEN];
    tnet_pattern(src, LEN, 6);
    assert_int_equal(utcp_send(n->st[0], a, src, LEN), LEN);
    uint64_t t0 = n->now;
    size_t rcvd = 0;
    while (rcvd < LEN) {
        long m = utcp_recv(n->st[1], b, got + rcvd, LEN - rcvd);
        if (m > 0)
            rcvd += (size_t)m;
        tnet_run_for(n, 1 * MS);
        assert_true(n->now - t0 < 60 * SEC);
    }
    uint64_t took = n->now - t0;
    assert_memory_equal(got, src, LEN);
    utcp_get_counters(n->st[0], k);
    assert_int_equal(tnet_finish(n, a, b, l), 0);
    return took;
}

static void two_stacks_lost_tail_probed_not_timed_out(void **state)
{
    (void)state;
    struct utcp_counters kr, k6;
    uint64_t tr = tail_transfer(true, &kr);
    uint64_t t6 = tail_transfer(false, &k6);
    print_message("lost tail repaired after %llu us with RACK-TLP, %llu us "
                  "with RFC 6675\n",
                  (unsigned long long)tr, (unsigned long long)t6);
    print_message("rack: probes %llu timeouts %llu retrans %llu lost %llu "
                  "fast %llu\n",
                  (unsigned long long)kr.TlpProbes,
                  (unsigned long long)kr.Timeouts,
                  (unsigned long long)kr.RetransSegs,
                  (unsigned long long)kr.RackLost,
                  (unsigned long long)kr.FastRetrans);
    /* RACK-TLP: a probe, its SACK exposes the other two; no timeout */
    assert_int_equal(kr.TlpProbes, 1);
    assert_int_equal(kr.Timeouts, 0);
    assert_int_equal(kr.RetransSegs, 3);
    /* RFC 6675 alone waits for the RTO */
    assert_int_equal(k6.Timeouts, 1);
    assert_true(tr + 100 * MS <= t6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_tail_loss_sends_tlp_probe),
        cmocka_unit_test(established_two_records_in_place_third_takes_array),
        cmocka_unit_test(
            established_sack_blocks_beyond_scoreboard_all_counted),
        cmocka_unit_test(established_tlp_probe_ack_exposes_tail_loss),
        cmocka_unit_test(established_tlp_probe_carries_new_data_when_available),
        cmocka_unit_test(established_tlp_repairs_single_loss_reduces_cwnd_once),
        cmocka_unit_test(established_rack_marks_lost_after_reo_wnd_not_before),
        cmocka_unit_test(established_reordered_segment_within_reo_wnd_not_resent),
        cmocka_unit_test(established_lost_retransmission_resent_without_rto),
        cmocka_unit_test(established_rto_recovery_resends_lost_retransmission),
        cmocka_unit_test(established_no_rack_keeps_rfc6675_dupthresh),
        cmocka_unit_test(two_stacks_lost_tail_probed_not_timed_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
