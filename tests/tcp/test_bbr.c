/*
 * BBR v1 (draft-cardwell-iccrg-bbr-congestion-control, Linux tcp_bbr.c),
 * selected by utcp_config.congestion_control = UTCP_CC_BBR: the delivery
 * rate samples (draft-cheng-iccrg-delivery-rate-estimation), STARTUP's exit
 * when the bandwidth stops growing, DRAIN, the PROBE_BW gain cycle,
 * PROBE_RTT after 10 s without a new minimum RTT, pacing, packet
 * conservation in the first round of recovery and the cwnd restored at its
 * end (draft 4.2.3.4), no reduction for a loss a tail loss probe repaired
 * (RFC 8985 7.4.2), and a lossy two-stack transfer where BBR keeps its rate
 * and NewReno cannot.
 * The tests read the connection's BBR state through the private headers.
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
#define SMSS 1460u

static uint8_t buf[1 << 20];

/* The first connection of a stack (the tests have one on the sender). */
static struct utcp_conn *conn_of(struct utcp_stack *st)
{
    size_t b = 0;
    struct utcp_hnode *h = utcp__ht_iter(&st->conns, &b, NULL);
    assert_non_null(h);
    return UTCP_CONTAINER_OF(h, struct utcp_conn, hnode);
}

/* ---------------------------------------------------------------------
 * The wire: random loss, and a bottleneck of a given rate
 * --------------------------------------------------------------------- */

struct wire {
    uint64_t rng;
    unsigned loss_pm;    /* per mille, each way */
    unsigned reorder_pm; /* per mille held 15 ms longer, each way */
    uint64_t rate;       /* bytes per second from A (0: unlimited) */
    uint64_t link_free;  /* when the bottleneck is next idle */
    uint64_t ack_batch;  /* B's segments held to the next multiple of
                            this (0: none): ACKs that arrive in bursts */
};

static int wire_filter(struct tnet *n, int from, const struct utcp_tcp *th,
                       const uint8_t *pkt, size_t len, uint64_t *extra,
                       void *ctx)
{
    (void)th, (void)pkt;
    struct wire *w = ctx;
    w->rng = w->rng * 6364136223846793005ull + 1442695040888963407ull;
    if ((w->rng >> 33) % 1000 < w->loss_pm)
        return TNET_DROP;
    w->rng = w->rng * 6364136223846793005ull + 1442695040888963407ull;
    if ((w->rng >> 33) % 1000 < w->reorder_pm)
        *extra = 15 * MS; /* as utcp nc --reorder at a 20 ms delay */
    if (from == 0 && w->rate) {
        /* a FIFO bottleneck: serialised at rate, queued behind the last */
        uint64_t start = w->link_free > n->now ? w->link_free : n->now;
        w->link_free = start + (uint64_t)len * 1000000u / w->rate;
        *extra = w->link_free - n->now;
    }
    if (from == 1 && w->ack_batch)
        *extra = w->ack_batch - n->now % w->ack_batch;
    return TNET_PASS;
}

/* Two stacks, delay one way, connected (A sends to B), with cc. */
static struct tnet *pair(uint8_t cc, uint64_t delay, struct wire *w,
                         utcp_sock *a, utcp_sock *b)
{
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 4;
    cfg.congestion_control = cc;
    cfg.sndbuf = cfg.rcvbuf = 4u << 20;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    n->delay = delay;
    utcp_sock l = tnet_listen(n, 1, 80, 4);
    *a = tnet_connect(n, 0, 80);
    tnet_run_for(n, 4 * delay + 10 * MS);
    assert_int_equal(utcp_accept(n->st[1], l, b), 0);
    utcp_close(n->st[1], l);
    n->filter = wire_filter;
    n->filter_ctx = w;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 13 + (i >> 11));
    return n;
}

/* Keeps A's send queue full and B's receive queue empty for d; checks
 * every byte B reads against the pattern; returns the bytes read. step:
 * the callback after each millisecond (may be NULL). */
static size_t pump(struct tnet *n, utcp_sock a, utcp_sock b, uint64_t d,
                   size_t *sent, size_t *rcvd,
                   void (*step)(struct tnet *, void *), void *ctx)
{
    static uint8_t got[65536];
    uint64_t end = n->now + d;
    size_t before = *rcvd;
    while (n->now < end) {
        for (;;) {
            size_t off = *sent % sizeof buf;
            long m = utcp_send(n->st[0], a, buf + off, sizeof buf - off);
            if (m <= 0)
                break;
            *sent += (size_t)m;
        }
        for (;;) {
            long m = utcp_recv(n->st[1], b, got, sizeof got);
            if (m <= 0)
                break;
            for (long i = 0; i < m; i++)
                if (got[i] != buf[(*rcvd + (size_t)i) % sizeof buf])
                    fail_msg("byte %zu differs", *rcvd + (size_t)i);
            *rcvd += (size_t)m;
        }
        tnet_run_for(n, 1 * MS);
        if (step)
            step(n, ctx);
    }
    return *rcvd - before;
}

static void finish(struct tnet *n, utcp_sock a, utcp_sock b)
{
    utcp_close(n->st[0], a);
    utcp_close(n->st[1], b);
    n->filter = NULL;
    tnet_run_for(n, 300 * SEC);
    assert_int_equal(n->bad_transitions, 0);
    tnet_destroy(n);
    free(n);
}

/* ---------------------------------------------------------------------
 * Delivery rate samples (draft-cheng-iccrg-delivery-rate-estimation)
 * --------------------------------------------------------------------- */

#define PISS 50000u
#define P0 (PISS + 1)
#define RTT (30 * MS)

static uint32_t S(const struct seg_h *h, uint32_t k)
{
    return seg_our_seq(h, k, SMSS);
}

/* ESTABLISHED with SACK (no timestamps: MSS 1460), BBR, bytes queued. */
static utcp_sock bbr_sender(struct seg_h *h, uint32_t bytes)
{
    struct utcp_config cfg = seg_default_cfg();
    cfg.congestion_control = UTCP_CC_BBR;
    cfg.sndbuf = 1 << 20;
    seg_init(h, &cfg);
    h->pwin = 65535;
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_SACK_PERM;
    utcp_sock sk = seg_open_active_opts(h, PISS, RTT, &o);
    assert_int_equal(utcp_send(h->st, sk, buf, bytes), (long)bytes);
    return sk;
}

static void ack(struct seg_h *h, uint32_t a)
{
    seg_send_opts(h, F_ACK, P0, a, h->pwin, NULL, NULL, 0);
}

static void established_bbr_rate_sample_follows_draft(void **state)
{
    (void)state;
    struct seg_h h;
    bbr_sender(&h, 20 * SMSS);
    struct utcp_conn *c = conn_of(h.st);
    assert_ptr_equal(c->cc, &utcp__cc_bbr);
    assert_non_null(c->bbr);
    uint64_t t0 = h.now; /* the initial window (10 segments) left now */
    assert_int_equal(c->rack.n, 10);
    assert_true(c->rack.rec[c->rack.head].delivered_ts == t0);
    /* 3.3-3.4: half the window ACKed one RTT later: 5 segments over the
     * ACK interval (the send interval is 0: one burst) */
    seg_run(&h, RTT);
    ack(&h, S(&h, 5));
    const struct utcp_rate_sample *rs = &h.st->rs; /* this ACK's */
    assert_true(rs->valid);
    assert_int_equal(rs->delivered, 5 * SMSS);
    assert_int_equal(rs->prior_delivered, 0);
    assert_int_equal(rs->send_elapsed, 0);
    assert_int_equal(rs->ack_elapsed, RTT);
    assert_int_equal(rs->interval, RTT);
    assert_int_equal(rs->rtt, RTT);
    assert_int_equal(c->bbr->max_bw, 5ull * SMSS * SEC / RTT);
    uint64_t t1 = h.now; /* 5 more segments (at least) left now */
    /* the rest of the first flight 10 ms later: measured from the same
     * packet state (P.delivered 0), 10 segments over RTT + 10 ms */
    seg_run(&h, 10 * MS);
    ack(&h, S(&h, 10));
    assert_true(rs->valid);
    assert_int_equal(rs->prior_delivered, 0);
    assert_int_equal(rs->delivered, 10 * SMSS);
    assert_int_equal(rs->interval, RTT + 10 * MS);
    /* BtlBw: the max of the samples (this one: 10 over 40 ms) */
    assert_int_equal(c->bbr->max_bw, 10ull * SMSS * SEC / (RTT + 10 * MS));
    /* segments 10-14 left after the first ACK, paced: the last of them
     * carries the delivery state of its departure (P.delivered 5 or 10
     * segments, P.first_sent_time t0 from the first ACK) and decides the
     * next sample: send interval from t0 to its departure, ACK interval
     * from its P.delivered_time */
    const struct utcp_txrec *last = NULL;
    for (uint32_t i = 0; i < c->rack.n; i++) {
        const struct utcp_txrec *t = &c->rack.rec[c->rack.head + i];
        if (t->seq == S(&h, 14))
            last = t;
    }
    assert_non_null(last);
    assert_true(last->xmit_ts > t1); /* paced, not at once */
    assert_int_equal(last->first_tx_ts, t0);
    uint64_t pdel = last->delivered, send_el = last->xmit_ts - t0;
    utcp_time pts = last->delivered_ts;
    seg_run(&h, RTT);
    ack(&h, S(&h, 15));
    assert_true(rs->valid);
    assert_int_equal(rs->prior_delivered, pdel);
    assert_int_equal(rs->send_elapsed, send_el);
    assert_int_equal(rs->ack_elapsed, h.now - pts);
    assert_int_equal(rs->delivered, 15 * SMSS - pdel);
    assert_int_equal(rs->interval,
                     send_el > h.now - pts ? send_el : h.now - pts);
    assert_false(rs->is_app_limited);
    seg_destroy(&h);
}

static void established_bbr_paces_segments(void **state)
{
    (void)state;
    struct seg_h h;
    bbr_sender(&h, 40 * SMSS);
    struct utcp_conn *c = conn_of(h.st);
    seg_run(&h, RTT);
    while (seg_take(&h))
        ;
    /* draft 4.2.1: after the first sample the pacing rate is high_gain *
     * BtlBw less 1%; the segments cwnd allows leave len / rate apart, not
     * in a burst (the first one at once) */
    ack(&h, S(&h, 5));
    uint64_t rate = c->bbr->pacing_rate;
    assert_int_equal(rate, 5ull * SMSS * SEC / RTT * 739 / 256 * 99 / 100);
    uint64_t gap = (uint64_t)SMSS * SEC / rate;
    seg_run(&h, 20 * MS);
    const struct seg_cap *p = seg_take(&h), *q;
    assert_non_null(p);
    size_t n = 1;
    while ((q = seg_take(&h)) != NULL) {
        assert_int_equal(q->len, SMSS);
        uint64_t d = q->at - p->at;
        /* output may run 1 ms ahead of the schedule (a burst per
         * wake-up): the second segment leaves 1 ms early, then every
         * one a gap after the one before */
        uint64_t want = n == 1 ? gap - 1 * MS : gap;
        assert_true(d + 1 >= want && d <= want + 1);
        p = q;
        n++;
    }
    print_message("%zu segments %llu us apart at %llu B/s\n", n,
                  (unsigned long long)gap, (unsigned long long)rate);
    assert_true(n >= 5);
    seg_destroy(&h);
}

/* An ACK of a with one SACK block [S(k), S(k + 1)). */
static void sack1(struct seg_h *h, uint32_t a, uint32_t k)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_SACK;
    o.sack_count = 1;
    o.sack[0].left = S(h, k);
    o.sack[0].right = S(h, k + 1);
    seg_send_opts(h, F_ACK, P0, a, h->pwin, &o, NULL, 0);
}

static void established_bbr_sack_beyond_scoreboard_not_resent(void **state)
{
    (void)state;
    struct seg_h h;
    bbr_sender(&h, 100 * SMSS);
    struct utcp_conn *c = conn_of(h.st);
    /* two rounds of STARTUP open cwnd to the peer's window (44 SMSS) */
    seg_run(&h, RTT);
    ack(&h, S(&h, 10));
    seg_run(&h, RTT);
    ack(&h, S(&h, 30));
    seg_run(&h, RTT);
    while (seg_take(&h))
        ;
    uint32_t base = 30, n = c->rack.n;
    assert_true(n >= 36);
    /* every other segment SACKed: 18 disjoint ranges, more than the
     * scoreboard's 16; the records keep all the marks */
    for (uint32_t k = 1; k < 36; k += 2)
        sack1(&h, S(&h, base), base + k);
    uint32_t sacked = 0;
    for (uint32_t i = 0; i < c->rack.n; i++)
        sacked += (c->rack.rec[c->rack.head + i].flags & UTCP_TX_SACKED) != 0;
    assert_int_equal(c->sacked->n, 16);
    assert_int_equal(sacked, 18);
    /* and nothing SACKed is ever resent */
    seg_run(&h, 2 * RTT);
    const struct seg_cap *q;
    size_t resent = 0;
    while ((q = seg_take(&h)) != NULL) {
        if ((int32_t)(q->seq - S(&h, base + 36)) >= 0)
            continue; /* new data */
        uint32_t k = (q->seq - S(&h, 0)) / SMSS - base;
        assert_int_equal(k % 2, 0);
        resent++;
    }
    assert_true(resent >= 1);
    seg_destroy(&h);
}

static void established_bbr_app_limited_sample_marked(void **state)
{
    (void)state;
    struct seg_h h;
    /* 3.3: two segments when cwnd allows ten: application-limited */
    bbr_sender(&h, 2 * SMSS);
    struct utcp_conn *c = conn_of(h.st);
    assert_true(c->rack.app_limited != 0);
    seg_run(&h, RTT);
    ack(&h, S(&h, 2));
    assert_true(h.st->rs.valid);
    assert_true(h.st->rs.is_app_limited);
    seg_destroy(&h);
}

/* An ACK of a with one SACK block [S(l), S(r)). */
static void sack_lr(struct seg_h *h, uint32_t a, uint32_t l, uint32_t r)
{
    seg_send_sack(h, P0, a, 1, (const uint32_t[]){l, r}, SMSS);
}

/* The end of the highest segment sent so far (consumes the captures). */
static uint32_t sent_up_to(struct seg_h *h, uint32_t prev)
{
    const struct seg_cap *q;
    while ((q = seg_take(h)) != NULL)
        if ((int32_t)(q->seq + q->len - prev) > 0)
            prev = q->seq + q->len;
    return prev;
}

/* bbr_sender, returning the connection. */
static struct utcp_conn *bbr_conn(struct seg_h *h, uint32_t bytes)
{
    bbr_sender(h, bytes);
    return conn_of(h->st);
}

static void recovery_bbr_first_round_conserves_then_restores_cwnd(
    void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_conn *c = bbr_conn(&h, 100 * SMSS);
    /* a round of STARTUP: cwnd 20 SMSS, 20 segments (10-29) out */
    seg_run(&h, RTT);
    ack(&h, S(&h, 10));
    seg_run(&h, RTT);
    uint32_t hi = sent_up_to(&h, S(&h, 0)), n = (hi - S(&h, 10)) / SMSS;
    uint32_t prior = c->cwnd;
    assert_int_equal(prior, 20 * SMSS);
    assert_int_equal(n, 20);
    /* 10 lost, 11-13 SACKed: recovery; 10 resent at once. Draft 4.2.3.4
     * (Linux bbr_set_cwnd_to_recover_or_restore): cwnd = pipe + the
     * octets this ACK delivered, what is in flight: one segment out per
     * segment delivered */
    sack_lr(&h, S(&h, 10), 11, 14);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 1);
    assert_true(c->in_recovery);
    uint32_t pipe = (n - 3) * SMSS; /* 10 resent, back in the pipe */
    assert_int_equal(c->cwnd, pipe + 3 * SMSS);
    /* the rest of the round: cwnd never below pipe + delivered, and
     * never grown, though STARTUP would grow it by what was delivered */
    uint32_t cwnd = c->cwnd;
    pipe = utcp__rack_pipe(c);
    sack_lr(&h, S(&h, 10), 11, n + 10);
    assert_true(c->in_recovery);
    assert_int_equal(c->cwnd, utcp_max_u32(cwnd, pipe));
    assert_int_equal(c->bbr->prior_cwnd, prior);
    /* the ACK of 10 (RecoveryPoint reached) ends recovery: the cwnd saved
     * at its start comes back, grown by the one segment delivered */
    sent_up_to(&h, hi);
    seg_run(&h, RTT);
    assert_in_range(c->ssthresh + SMSS, 0, prior - 1);
    ack(&h, hi);
    assert_false(c->in_recovery);
    assert_int_equal(c->cwnd, prior + SMSS);
    seg_destroy(&h);
}

static void recovery_bbr_entered_by_timer_cwnd_down_to_pipe_plus_acked(
    void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_conn *c = bbr_conn(&h, 3 * SMSS);
    /* 1 SACKed: 0 is lost once the reordering window has passed (RFC
     * 8985 6.2 step 5); the RACK timer starts the recovery, at the floor
     * of 4 SMSS (Linux bbr_ssthresh() keeps cwnd; the engine's reduction
     * stops at BBRMinPipeCwnd) */
    seg_run(&h, RTT);
    assert_int_equal(sent_up_to(&h, S(&h, 0)), S(&h, 3));
    sack_lr(&h, S(&h, 0), 1, 2);
    assert_false(c->in_recovery);
    seg_run(&h, RTT / 2);
    assert_true(c->in_recovery);
    assert_int_equal(c->cwnd, 4 * SMSS);
    /* the first ACK BBR sees in recovery (draft 4.2.3.4): cwnd = pipe
     * (0 resent) + delivered (2), not cwnd less the loss */
    sack_lr(&h, S(&h, 0), 1, 3);
    assert_int_equal(utcp__rack_pipe(c), SMSS);
    assert_int_equal(c->cwnd, SMSS + SMSS);
    seg_destroy(&h);
}

static void established_bbr_tlp_repaired_loss_keeps_cwnd(void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = bbr_sender(&h, 10 * SMSS);
    struct utcp_conn *c = conn_of(h.st);
    /* 0-8 arrive, 9 is lost; the loss probe resends it */
    seg_run(&h, RTT);
    uint32_t hi = sent_up_to(&h, S(&h, 0));
    assert_int_equal(hi, S(&h, 10));
    ack(&h, S(&h, 9));
    for (int i = 0; i < 10 && !SEG_CTR(&h, TlpProbes); i++)
        seg_run_to_next_timer(&h);
    assert_int_equal(SEG_CTR(&h, TlpProbes), 1);
    seg_run(&h, RTT);
    ack(&h, S(&h, 10));
    assert_int_equal(utcp_send(h.st, sk, buf, 12 * SMSS), 12 * SMSS);
    seg_run(&h, RTT);
    hi = sent_up_to(&h, hi);
    assert_in_range(hi, S(&h, 12), S(&h, 22));
    /* RFC 8985 7.4.2: the ACK beyond TLP.end_seq says the probe repaired
     * a loss; a model-based control does not reduce on a loss (draft 4.2.3
     * / Linux bbr_ssthresh() only saves cwnd): ssthresh and cwnd stay */
    uint32_t cwnd = c->cwnd, ssthresh = c->ssthresh;
    ack(&h, S(&h, 11));
    assert_int_equal(SEG_CTR(&h, TlpRecoveries), 1);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 0);
    assert_int_equal(c->ssthresh, ssthresh);
    assert_in_range(c->cwnd, cwnd, cwnd + SMSS);
    seg_destroy(&h);
}

/* ---------------------------------------------------------------------
 * The state machine on a bottleneck of 1.25 MB/s (10 Mbit/s), 40 ms RTT
 * --------------------------------------------------------------------- */

#define RATE 1250000u
#define LOG_MAX 20000

struct obs {
    size_t n;
    struct {
        uint64_t at, max_bw, full_bw, round, min_rtt_ts;
        uint32_t cwnd, pipe, min_rtt;
        uint16_t pacing_gain, cwnd_gain;
        uint8_t mode, cycle_idx, full_bw_cnt;
    } e[LOG_MAX];
};

static void observe(struct tnet *n, void *ctx)
{
    struct obs *o = ctx;
    if (o->n == LOG_MAX)
        return;
    struct utcp_conn *c = conn_of(n->st[0]);
    const struct utcp_bbr *b = c->bbr;
    o->e[o->n].at = n->now;
    o->e[o->n].max_bw = b->max_bw;
    o->e[o->n].full_bw = b->full_bw;
    o->e[o->n].round = b->round_count;
    o->e[o->n].min_rtt_ts = b->min_rtt_ts;
    o->e[o->n].min_rtt = b->min_rtt;
    o->e[o->n].cwnd = c->cwnd;
    o->e[o->n].pipe = utcp__rack_pipe(c);
    o->e[o->n].pacing_gain = b->pacing_gain;
    o->e[o->n].cwnd_gain = b->cwnd_gain;
    o->e[o->n].mode = b->mode;
    o->e[o->n].cycle_idx = b->cycle_idx;
    o->e[o->n].full_bw_cnt = b->full_bw_cnt;
    o->n++;
}

/* Runs BBR over the bottleneck for d, observing every millisecond. */
static struct obs *bottleneck_run(uint64_t d)
{
    static struct obs o;
    memset(&o, 0, sizeof o);
    struct wire w = {1, 0, 0, RATE, 0, 0};
    utcp_sock a, b;
    struct tnet *n = pair(UTCP_CC_BBR, 20 * MS, &w, &a, &b);
    size_t sent = 0, rcvd = 0;
    pump(n, a, b, d, &sent, &rcvd, observe, &o);
    print_message("%zu bytes in %.1f s over %u B/s\n", rcvd, (double)d / SEC,
                  RATE);
    finish(n, a, b);
    return &o;
}

/* The first observation in mode m at or after index from; o->n if none. */
static size_t first_in(const struct obs *o, size_t from, uint8_t m)
{
    while (from < o->n && o->e[from].mode != m)
        from++;
    return from;
}

static void startup_bbr_exits_when_bandwidth_plateaus(void **state)
{
    (void)state;
    const struct obs *o = bottleneck_run(3 * SEC);
    assert_int_equal(o->e[0].mode, UTCP_BBR_STARTUP);
    assert_int_equal(o->e[0].pacing_gain, 739); /* 2/ln 2 */
    size_t x = first_in(o, 0, UTCP_BBR_DRAIN);
    assert_true(x < o->n);
    /* draft 4.3.2.2: three rounds in a row without 25% growth of BtlBw
     * over full_bw before the exit */
    uint64_t ref = o->e[x - 1].full_bw, since = 0;
    for (size_t i = x; i-- > 0;)
        if (o->e[i].full_bw != ref) {
            since = o->e[i + 1].round;
            break;
        }
    print_message("STARTUP ended at %.3f s, round %llu; full_bw %llu B/s "
                  "since round %llu; BtlBw %llu B/s\n",
                  (double)o->e[x].at / SEC, (unsigned long long)o->e[x].round,
                  (unsigned long long)ref, (unsigned long long)since,
                  (unsigned long long)o->e[x].max_bw);
    assert_true(o->e[x].round >= since + 3);
    assert_true(o->e[x].max_bw < ref * 5 / 4);
    /* and the estimate is the bottleneck's payload rate (1460 of 1500
     * bytes), within 10% */
    assert_true(o->e[x].max_bw >= RATE * 85 / 100);
    assert_true(o->e[x].max_bw <= RATE * 110 / 100);
}

static void drain_bbr_empties_queue_then_probe_bw(void **state)
{
    (void)state;
    const struct obs *o = bottleneck_run(3 * SEC);
    size_t x = first_in(o, 0, UTCP_BBR_DRAIN);
    assert_true(x < o->n);
    /* draft 4.3.3: pacing at 1/high_gain, cwnd kept at high_gain */
    assert_int_equal(o->e[x].pacing_gain, 88);
    assert_int_equal(o->e[x].cwnd_gain, 739);
    size_t y = first_in(o, x, UTCP_BBR_PROBE_BW);
    assert_true(y < o->n);
    /* it ends once the flight is at most one BDP (BtlBw * RTprop) */
    uint64_t bdp = o->e[y].max_bw * o->e[y].min_rtt / SEC;
    print_message("DRAIN %.3f-%.3f s; pipe %u, BDP %llu at the end\n",
                  (double)o->e[x].at / SEC, (double)o->e[y].at / SEC,
                  o->e[y].pipe, (unsigned long long)bdp);
    assert_true(o->e[y].pipe <= bdp + 2 * SMSS);
    assert_true(o->e[y].at - o->e[x].at <= 500 * MS);
    /* the queue STARTUP built is gone: cwnd now targets 2 BDP */
    assert_int_equal(o->e[y].cwnd_gain, 512);
}

static void probe_bw_bbr_cycles_gains(void **state)
{
    (void)state;
    const struct obs *o = bottleneck_run(4 * SEC);
    size_t y = first_in(o, 0, UTCP_BBR_PROBE_BW);
    assert_true(y < o->n);
    /* draft 4.3.4.3: the phases go 5/4, 3/4, then 1 six times, each at
     * least one RTprop long */
    static const uint16_t gain[8] = {320, 192, 256, 256, 256, 256, 256, 256};
    size_t phases = 0;
    uint8_t idx = o->e[y].cycle_idx;
    assert_true(idx != 1); /* never starts in the draining phase */
    uint64_t start = o->e[y].at;
    for (size_t i = y; i < o->n && o->e[i].mode == UTCP_BBR_PROBE_BW; i++) {
        assert_int_equal(o->e[i].pacing_gain, gain[o->e[i].cycle_idx]);
        if (o->e[i].cycle_idx == idx)
            continue;
        assert_int_equal(o->e[i].cycle_idx, (idx + 1) % 8);
        /* (observed each millisecond: the change may be 1 ms older) */
        assert_true(o->e[i].at - start + MS > o->e[i].min_rtt);
        idx = o->e[i].cycle_idx;
        start = o->e[i].at;
        phases++;
    }
    print_message("%zu phase changes in PROBE_BW\n", phases);
    assert_true(phases >= 16); /* two full cycles */
}

static void probe_rtt_bbr_after_10s_without_new_min(void **state)
{
    (void)state;
    const struct obs *o = bottleneck_run(12 * SEC);
    size_t p = first_in(o, 0, UTCP_BBR_PROBE_RTT);
    assert_true(p < o->n);
    /* draft 4.3.5: entered when RTprop is 10 s old */
    uint64_t stamp = o->e[p - 1].min_rtt_ts;
    print_message("PROBE_RTT at %.3f s, RTprop taken at %.3f s\n",
                  (double)o->e[p].at / SEC, (double)stamp / SEC);
    assert_true(o->e[p].at >= stamp + 10 * SEC);
    assert_true(o->e[p].at <= stamp + 10 * SEC + 100 * MS);
    /* cwnd 4 segments for at least 200 ms (and a round trip) */
    size_t q = p;
    while (q < o->n && o->e[q].mode == UTCP_BBR_PROBE_RTT) {
        assert_true(o->e[q].cwnd <= 4 * SMSS);
        q++;
    }
    assert_true(q < o->n);
    assert_true(o->e[q].at - o->e[p].at >= 200 * MS);
    assert_true(o->e[q].at - o->e[p].at <= 400 * MS);
    /* then back to PROBE_BW with the cwnd from before, RTprop fresh */
    assert_int_equal(o->e[q].mode, UTCP_BBR_PROBE_BW);
    assert_true(o->e[q].cwnd >= o->e[p - 1].cwnd);
    assert_true(o->e[q].min_rtt_ts >= o->e[p].at + 200 * MS);
}

/* ACK aggregation (Linux bbr_update_ack_aggregation): over a 10 ms RTT
 * and a bottleneck, B's ACKs reach A in bursts every 40 ms. cwnd = 2 BDP
 * runs out long before the next burst; the excess each burst
 * acknowledges beyond BtlBw's share is added to cwnd, and the link stays
 * busy. */
static void probe_bw_bbr_ack_aggregation_keeps_link_busy(void **state)
{
    (void)state;
    struct wire w = {1, 0, 0, RATE, 0, 40 * MS};
    utcp_sock a, b;
    struct tnet *n = pair(UTCP_CC_BBR, 5 * MS, &w, &a, &b);
    size_t sent = 0, rcvd = 0;
    pump(n, a, b, 3 * SEC, &sent, &rcvd, NULL, NULL);
    size_t late = pump(n, a, b, 3 * SEC, &sent, &rcvd, NULL, NULL);
    struct utcp_conn *c = conn_of(n->st[0]);
    const struct utcp_bbr *bb = c->bbr;
    uint64_t bdp = bb->max_bw * bb->min_rtt / SEC;
    uint32_t extra = bb->extra_acked[0] > bb->extra_acked[1]
                         ? bb->extra_acked[0]
                         : bb->extra_acked[1];
    print_message("ACKs every 40 ms, RTT 10 ms: %zu B/s (link %u B/s); "
                  "BDP %llu, extra acked %u, cwnd %u\n",
                  late / 3, RATE, (unsigned long long)bdp, extra, c->cwnd);
    assert_int_equal(bb->mode, UTCP_BBR_PROBE_BW);
    /* a burst acknowledges most of 40 ms at the link's rate */
    assert_true(extra >= RATE * 25 / 1000);
    assert_true(c->cwnd >= 2 * bdp + extra);
    /* the payload rate is 1460/1500 of the link's */
    assert_true(late / 3 >= RATE * 90 / 100);
    finish(n, a, b);
}

/* utcp_getinfo reports the congestion control and BBR's model: the
 * mode, the pacing rate, BtlBw and RTprop as the connection holds them, and
 * RACK's minimum RTT; NewReno neither paces nor has a bandwidth model. */
static void established_bbr_info_reports_model(void **state)
{
    (void)state;
    struct wire w = {1, 0, 0, RATE, 0, 0};
    utcp_sock a, b;
    struct tnet *n = pair(UTCP_CC_BBR, 20 * MS, &w, &a, &b);
    size_t sent = 0, rcvd = 0;
    pump(n, a, b, 2 * SEC, &sent, &rcvd, NULL, NULL);
    struct utcp_conn *c = conn_of(n->st[0]);
    struct utcp_info i;
    assert_int_equal(utcp_getinfo(n->st[0], a, &i), 0);
    assert_int_equal(i.cc, UTCP_CC_BBR);
    assert_string_equal(utcp_cc_name(i.cc), "bbr");
    assert_int_equal(i.bbr_mode, c->bbr->mode);
    assert_int_equal(i.bbr_mode, UTCP_BBR_PROBE_BW);
    assert_string_equal(utcp_bbr_mode_name(i.bbr_mode), "probe_bw");
    assert_true(i.pacing_rate == c->bbr->pacing_rate);
    assert_true(i.btl_bw == c->bbr->max_bw);
    assert_true(i.btl_bw >= RATE * 85 / 100 && i.btl_bw <= RATE * 110 / 100);
    /* RTprop: 40 ms of propagation plus a segment's serialisation */
    assert_true(i.min_rtt_us >= 40 * MS && i.min_rtt_us <= 45 * MS);
    assert_int_equal(i.bbr_rtprop_us, c->bbr->min_rtt);
    assert_true(i.bbr_rtprop_us >= 40 * MS && i.bbr_rtprop_us <= 45 * MS);
    finish(n, a, b);
    n = pair(UTCP_CC_NEWRENO, 20 * MS, &w, &a, &b);
    sent = rcvd = 0;
    pump(n, a, b, 1 * SEC, &sent, &rcvd, NULL, NULL);
    assert_int_equal(utcp_getinfo(n->st[0], a, &i), 0);
    assert_int_equal(i.cc, UTCP_CC_NEWRENO);
    assert_string_equal(utcp_cc_name(i.cc), "newreno");
    assert_true(i.pacing_rate == 0 && i.btl_bw == 0 && i.bbr_rtprop_us == 0);
    assert_string_equal(utcp_cc_name(7), "?");
    finish(n, a, b);
}

/* Bytes moved in d by cc over 5% loss and 5% reordering each way and a
 * 40 ms RTT (the impairment of tests/interop/test_impaired.sh). */
static size_t lossy_run(uint8_t cc, uint64_t d, uint64_t seed)
{
    struct wire w = {seed, 50, 50, 0, 0, 0};
    utcp_sock a, b;
    struct tnet *n = pair(cc, 20 * MS, &w, &a, &b);
    size_t sent = 0, rcvd = 0;
    pump(n, a, b, d, &sent, &rcvd, NULL, NULL);
    finish(n, a, b);
    return rcvd;
}

static void two_stacks_bbr_random_loss_keeps_rate(void **state)
{
    (void)state;
    size_t bbr = 0, reno = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        size_t x = lossy_run(UTCP_CC_BBR, 20 * SEC, seed);
        size_t y = lossy_run(UTCP_CC_NEWRENO, 20 * SEC, seed);
        print_message("seed %llu: 20 s at 5%% loss, 5%% reordering, 40 ms "
                      "RTT: BBR %zu bytes, NewReno %zu\n",
                      (unsigned long long)seed, x, y);
        bbr += x;
        reno += y;
    }
    assert_true(bbr >= 4 * reno);
}

/* ---------------------------------------------------------------------
 * The model's own block (UTCP_OBJ_BBR): taken at the handshake, returned
 * with the connection
 * --------------------------------------------------------------------- */

/* An allocator counting the live blocks of the model's size, and failing
 * them when asked. */
struct model_alloc {
    long live;
    bool fail;
};

static void *model_alloc(void *ctx, size_t n)
{
    struct model_alloc *m = ctx;
    if (n == sizeof(struct utcp_bbr)) {
        if (m->fail)
            return NULL;
        m->live++;
    }
    return malloc(n);
}

static void model_free(void *ctx, void *p, size_t n)
{
    struct model_alloc *m = ctx;
    if (n == sizeof(struct utcp_bbr))
        m->live--;
    free(p);
}

/* ESTABLISHED with SACK and BBR over allocator al, active or passive. */
static utcp_sock bbr_open(struct seg_h *h, struct utcp_allocator *al,
                          uint32_t obj_cache, bool passive)
{
    struct utcp_config cfg = seg_default_cfg();
    cfg.congestion_control = UTCP_CC_BBR;
    cfg.allocator = al;
    cfg.obj_cache = obj_cache;
    seg_init(h, &cfg);
    h->pwin = 65535;
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_SACK_PERM;
    utcp_sock lsk;
    return passive ? seg_open_passive_opts(h, &lsk, PISS, RTT, &o)
                   : seg_open_active_opts(h, PISS, RTT, &o);
}

static void syn_sent_bbr_model_unallocatable_falls_back_to_newreno(
    void **state)
{
    (void)state;
    struct model_alloc m = {0, true};
    struct utcp_allocator al = {model_alloc, model_free, &m};
    struct seg_h h;
    utcp_sock sk = bbr_open(&h, &al, 0, false);
    struct utcp_conn *c = conn_of(h.st);
    assert_ptr_equal(c->cc, &utcp__cc_newreno);
    assert_int_equal(utcp__pacing_rate(c), 0);
    /* NewReno from here: the initial window at once, then slow start by
     * one SMSS for the ACK of five segments (RFC 5681 3.1 (2)) */
    assert_int_equal(utcp_send(h.st, sk, buf, 20 * SMSS), (long)(20 * SMSS));
    assert_int_equal(c->cwnd, 10 * SMSS);
    assert_int_equal(sent_up_to(&h, S(&h, 0)), S(&h, 10));
    seg_run(&h, RTT);
    ack(&h, S(&h, 5));
    assert_int_equal(c->cwnd, 11 * SMSS);
    assert_int_equal(sent_up_to(&h, S(&h, 10)), S(&h, 16));
    seg_destroy(&h);
    assert_int_equal(m.live, 0);
}

static void established_bbr_model_returned_with_connection(void **state)
{
    (void)state;
    /* no object cache: the block goes back to the allocator as the
     * aborted connection is freed */
    struct model_alloc m = {0, false};
    struct utcp_allocator al = {model_alloc, model_free, &m};
    struct seg_h h;
    utcp_sock sk = bbr_open(&h, &al, UINT32_MAX, false);
    assert_ptr_equal(conn_of(h.st)->cc, &utcp__cc_bbr);
    assert_int_equal(m.live, 1);
    assert_int_equal(utcp_abort(h.st, sk), 0);
    assert_int_equal(SEG_CTR(&h, ConnsFree), SEG_CTR(&h, ConnsAlloc));
    assert_int_equal(m.live, 0);
    seg_destroy(&h);
    /* the passive side takes it at the SYN; a connection still open,
     * and a block in the object cache, go at utcp_stack_destroy */
    m.live = 0;
    bbr_open(&h, &al, 0, true);
    struct utcp_conn *c = conn_of(h.st);
    assert_ptr_equal(c->cc, &utcp__cc_bbr);
    assert_non_null(c->bbr);
    assert_int_equal(m.live, 1);
    seg_destroy(&h);
    assert_int_equal(m.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_bbr_rate_sample_follows_draft),
        cmocka_unit_test(established_bbr_paces_segments),
        cmocka_unit_test(established_bbr_app_limited_sample_marked),
        cmocka_unit_test(established_bbr_sack_beyond_scoreboard_not_resent),
        cmocka_unit_test(
            recovery_bbr_first_round_conserves_then_restores_cwnd),
        cmocka_unit_test(
            recovery_bbr_entered_by_timer_cwnd_down_to_pipe_plus_acked),
        cmocka_unit_test(established_bbr_tlp_repaired_loss_keeps_cwnd),
        cmocka_unit_test(startup_bbr_exits_when_bandwidth_plateaus),
        cmocka_unit_test(drain_bbr_empties_queue_then_probe_bw),
        cmocka_unit_test(probe_bw_bbr_cycles_gains),
        cmocka_unit_test(probe_rtt_bbr_after_10s_without_new_min),
        cmocka_unit_test(probe_bw_bbr_ack_aggregation_keeps_link_busy),
        cmocka_unit_test(established_bbr_info_reports_model),
        cmocka_unit_test(two_stacks_bbr_random_loss_keeps_rate),
        cmocka_unit_test(
            syn_sent_bbr_model_unallocatable_falls_back_to_newreno),
        cmocka_unit_test(established_bbr_model_returned_with_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
