/*
 * CUBIC (RFC 9438), selected by utcp_config.congestion_control: the
 * multiplicative decrease by beta_cubic = 0.7 (4.6), fast convergence
 * (4.7), the undo of a spurious congestion event (4.9, detected by RFC
 * 3522 Eifel), the response to a loss a tail loss probe repaired (RFC 8985
 * 7.4.2), the Reno-friendly growth of alpha_cubic = 9/17 SMSS per RTT near
 * a small W_max (4.3), and a lossy two-stack transfer that stays intact.
 * NewReno stays the default. W_max is read through the private headers.
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
#define P0 (PISS + 1)
#define SMSS 1460u
#define RTT (30 * MS)
#define PTS 7000u     /* the peer's first TSval */
#define SMSS_TS 1448u /* SMSS with the timestamps option */
#define MAX_SEGS 1024u

static uint8_t buf[1 << 20];

/* The sender's SMSS in this test; with timestamps, the peer's TSval and
 * the TSval each of our segments first went with (RFC 7323 3.2). */
static uint32_t mss_ = SMSS;
static bool ts_;
static uint32_t pts_;
static uint32_t ts_of[MAX_SEGS];
static uint32_t ts_last; /* of the latest segment sent */

static uint32_t S(const struct seg_h *h, uint32_t k)
{
    return seg_our_seq(h, k, mss_);
}

/* Segment k of ours holding sequence number x. */
static uint32_t K(const struct seg_h *h, uint32_t x)
{
    return (x - S(h, 0)) / mss_;
}

/* An ACK of `ack` with SACK blocks [S(lr[2i]), S(lr[2i + 1])); with
 * timestamps, a fresh TSval and TSecr ecr. */
static void sack_ack_ecr(struct seg_h *h, uint32_t ack, unsigned n,
                         const uint32_t *lr, uint32_t ecr)
{
    if (!ts_) {
        seg_send_sack(h, P0, ack, n, lr, mss_);
        return;
    }
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS | (n ? UTCP_OPT_SACK : 0);
    o.ts_val = ++pts_;
    o.ts_ecr = ecr;
    o.sack_count = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        o.sack[i].left = S(h, lr[2 * i]);
        o.sack[i].right = S(h, lr[2 * i + 1]);
    }
    seg_send_opts(h, F_ACK, P0, ack, h->pwin, &o, NULL, 0);
}

static void sack_ack(struct seg_h *h, uint32_t ack, unsigned n,
                     const uint32_t *lr)
{
    sack_ack_ecr(h, ack, n, lr, ts_of[0]);
}

/* ESTABLISHED with SACK (and timestamps when ts), the peer's window
 * 65535, congestion control cc, `bytes` queued; the initial window goes
 * out. */
static utcp_sock sender_ts(struct seg_h *h, uint8_t cc, uint32_t bytes,
                           bool ts)
{
    struct utcp_config cfg = seg_default_cfg();
    cfg.congestion_control = cc;
    cfg.sndbuf = 1 << 20;
    seg_init(h, &cfg);
    h->pwin = 65535;
    mss_ = ts ? SMSS_TS : SMSS;
    ts_ = ts;
    pts_ = PTS;
    memset(ts_of, 0, sizeof ts_of);
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_SACK_PERM;
    if (ts) {
        o.present |= UTCP_OPT_TS;
        o.ts_val = PTS;
    }
    utcp_sock sk = seg_open_active_opts(h, PISS, RTT, &o);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 9));
    assert_int_equal(utcp_send(h->st, sk, buf, bytes), (long)bytes);
    return sk;
}

static utcp_sock sender(struct seg_h *h, uint8_t cc, uint32_t bytes)
{
    return sender_ts(h, cc, bytes, false);
}

/* The end of the highest segment sent so far (consumes the captures,
 * noting the TSval of each original transmission). */
static uint32_t sent_up_to(struct seg_h *h, uint32_t prev)
{
    const struct seg_cap *c;
    while ((c = seg_take(h)) != NULL) {
        if (c->len && K(h, c->seq) < MAX_SEGS && !ts_of[K(h, c->seq)])
            ts_of[K(h, c->seq)] = c->opts.ts_val;
        ts_last = c->opts.ts_val;
        if ((int32_t)(c->seq + c->len - prev) > 0)
            prev = c->seq + c->len;
    }
    return prev;
}

/* The first connection of the stack (the tests have one). */
static struct utcp_conn *conn_of(struct utcp_stack *st)
{
    size_t b = 0;
    struct utcp_hnode *h = utcp__ht_iter(&st->conns, &b, NULL);
    assert_non_null(h);
    return UTCP_CONTAINER_OF(h, struct utcp_conn, hnode);
}

/* The first segment outstanding is lost: the peer SACKs the three after
 * it, and RACK (RFC 8985 6.2) starts a recovery at once. Returns the
 * segment's index. */
static uint32_t lose_first(struct seg_h *h, utcp_sock sk)
{
    uint32_t una = seg_info(h, sk).snd_una, k = K(h, una);
    sack_ack_ecr(h, una, 1, (const uint32_t[]){k + 1, k + 4}, ts_of[k]);
    return k;
}

/* A loss of segment 0 among 10: recovery; returns the ssthresh set. */
static uint32_t ssthresh_after_loss(uint8_t cc)
{
    struct seg_h h;
    utcp_sock sk = sender(&h, cc, 14 * SMSS);
    seg_run(&h, RTT);
    while (seg_take(&h))
        ;
    sack_ack(&h, S(&h, 0), 1, (const uint32_t[]){1, 4});
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 1);
    assert_int_equal(i.cwnd, i.ssthresh);
    seg_destroy(&h);
    return i.ssthresh;
}

static void established_cubic_loss_reduces_by_beta_0_7(void **state)
{
    (void)state;
    /* RFC 9438 4.6: FlightSize (10 segments) * 0.7; NewReno halves */
    assert_int_equal(ssthresh_after_loss(UTCP_CC_CUBIC), 7 * SMSS);
    assert_int_equal(ssthresh_after_loss(UTCP_CC_NEWRENO), 5 * SMSS);
}

/* After one loss, `rtts` round trips in which the peer acknowledges all
 * that was sent (no loss); returns cwnd growth in SMSS. */
static double growth_after_loss(uint8_t cc, int rtts)
{
    struct seg_h h;
    utcp_sock sk = sender(&h, cc, sizeof buf);
    uint32_t hi = sent_up_to(&h, h.iss + 1);
    seg_run(&h, RTT);
    sack_ack(&h, S(&h, 0), 1, (const uint32_t[]){1, 4});
    hi = sent_up_to(&h, hi);
    sack_ack(&h, hi, 0, NULL); /* the hole is filled: recovery ends */
    uint32_t start = seg_info(&h, sk).cwnd;
    for (int r = 0; r < rtts; r++) {
        hi = sent_up_to(&h, hi);
        seg_run(&h, RTT);
        /* an ACK per two segments, as a delayed-ACK receiver sends */
        uint32_t una = seg_info(&h, sk).snd_una;
        while ((int32_t)(hi - una) > 0) {
            uint32_t step = (int32_t)(hi - una) > (int32_t)(2 * SMSS)
                                ? 2 * SMSS
                                : hi - una;
            una += step;
            sack_ack(&h, una, 0, NULL);
        }
    }
    uint32_t end = seg_info(&h, sk).cwnd;
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    seg_destroy(&h);
    return ((double)end - (double)start) / SMSS;
}

static void established_cubic_grows_reno_friendly_near_small_w_max(
    void **state)
{
    (void)state;
    /* RFC 9438 4.3: near a W_max of 10 segments the cubic curve is flat
     * for seconds (K = cbrt(3 / 0.4) s); W_est grows by alpha_cubic =
     * 9/17 SMSS per RTT while below W_max (from 7 segments, 5.7 RTTs),
     * then by 1 SMSS; NewReno by 1 all along */
    double cubic5 = growth_after_loss(UTCP_CC_CUBIC, 5);
    double reno5 = growth_after_loss(UTCP_CC_NEWRENO, 5);
    double cubic17 = growth_after_loss(UTCP_CC_CUBIC, 17);
    print_message("after a loss: CUBIC +%.1f SMSS in 5 RTTs, +%.1f in 17; "
                  "NewReno +%.1f in 5\n",
                  cubic5, cubic17, reno5);
    assert_true(cubic5 >= 2.0 && cubic5 <= 3.5);
    assert_true(reno5 >= 4.5 && reno5 <= 5.5);
    assert_true(cubic17 >= 11.0 && cubic17 <= 15.0);
}

/* ---- fast convergence, undo (RFC 9438 4.7, 4.9) ---- */

/* A recovery from one real loss, ended by the ACK of everything sent
 * (echoing the newest TSval: no undo); returns the highest end sent. */
static uint32_t real_loss_recovered(struct seg_h *h, utcp_sock sk)
{
    uint32_t hi = sent_up_to(h, h->iss + 1);
    seg_run(h, RTT);
    lose_first(h, sk);
    hi = sent_up_to(h, hi);
    seg_run(h, RTT);
    sack_ack_ecr(h, hi, 0, NULL, ts_last);
    assert_int_equal(SEG_CTR(h, SackRecoveries), 1);
    assert_int_equal(SEG_CTR(h, SpuriousRecoveries), 0);
    return sent_up_to(h, hi);
}

static void established_cubic_loss_below_w_max_lowers_w_max_further(
    void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = sender(&h, UTCP_CC_CUBIC, sizeof buf);
    struct utcp_conn *c = conn_of(h.st);
    /* 4.7: the first congestion event, at cwnd 10 SMSS, above W_max
     * (none yet): W_max = cwnd */
    real_loss_recovered(&h, sk);
    assert_int_equal(c->cubic.w_max, 10 * SMSS);
    /* the second one below it: W_max = cwnd * (1 + beta_cubic) / 2, to
     * release bandwidth to a newer flow */
    seg_run(&h, RTT);
    uint32_t cwnd = seg_info(&h, sk).cwnd;
    assert_int_equal(cwnd, 7 * SMSS); /* ssthresh after the first */
    lose_first(&h, sk);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 2);
    assert_int_equal(c->cubic.w_max, cwnd * 17 / 20);
    assert_int_equal(c->cubic.w_max_prior, 10 * SMSS);
    seg_destroy(&h);
}

static void established_cubic_spurious_loss_undone_restores_w_max(
    void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = sender_ts(&h, UTCP_CC_CUBIC, sizeof buf, true);
    struct utcp_conn *c = conn_of(h.st);
    uint32_t hi = real_loss_recovered(&h, sk);
    seg_run(&h, RTT);
    hi = sent_up_to(&h, hi);
    struct utcp_info before = seg_info(&h, sk);
    uint32_t w_max = c->cubic.w_max;
    assert_int_equal(w_max, 10 * SMSS_TS);
    /* a segment is held back, not lost: recovery reduces all three */
    uint32_t k = lose_first(&h, sk);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 2);
    assert_int_equal(c->cubic.w_max, before.cwnd * 17 / 20);
    assert_in_range(seg_info(&h, sk).cwnd, 0, before.cwnd - 1);
    /* the original arrives: the ACK echoes its TSval, older than the
     * retransmission's (RFC 3522): spurious. 4.9: W_max, cwnd and
     * ssthresh as before the event (cwnd may grow by this ACK) */
    sent_up_to(&h, hi);
    sack_ack_ecr(&h, S(&h, k + 4), 0, NULL, ts_of[k]);
    assert_int_equal(SEG_CTR(&h, SpuriousRecoveries), 1);
    struct utcp_info after = seg_info(&h, sk);
    assert_int_equal(c->cubic.w_max, w_max);
    assert_int_equal(after.ssthresh, before.ssthresh);
    assert_in_range(after.cwnd, before.cwnd, before.cwnd + SMSS_TS);
    seg_destroy(&h);
}

/* ---- a loss repaired by a tail loss probe (RFC 8985 7.4.2) ---- */

struct tlp_run {
    struct utcp_info info; /* after the ACK that decides */
    uint32_t probe_cwnd;   /* cwnd when the probe went */
    uint32_t cwnd;         /* cwnd just before that ACK */
    uint32_t flight;       /* the flight that ACK leaves */
    uint32_t w_max;
};

/* Segment 9 of 10 is lost; the loss probe resends it, its ACK covers
 * TLP.end_seq exactly; `more` segments of new data go, and the ACK of
 * the first of them (beyond TLP.end_seq) says the probe repaired a
 * loss. */
static struct tlp_run tlp_repair(uint8_t cc, uint32_t more)
{
    struct seg_h h;
    struct tlp_run t;
    utcp_sock sk = sender(&h, cc, 10 * SMSS);
    struct utcp_conn *c = conn_of(h.st);
    uint32_t hi = sent_up_to(&h, h.iss + 1);
    seg_run(&h, RTT);
    sack_ack(&h, S(&h, 9), 0, NULL);
    t.probe_cwnd = seg_info(&h, sk).cwnd;
    seg_run_to_next_timer(&h);
    assert_int_equal(SEG_CTR(&h, TlpProbes), 1);
    hi = sent_up_to(&h, hi);
    seg_run(&h, RTT);
    sack_ack(&h, S(&h, 10), 0, NULL);
    assert_int_equal(SEG_CTR(&h, TlpRecoveries), 0);
    assert_int_equal(utcp_send(h.st, sk, buf, more * SMSS),
                     (long)(more * SMSS));
    hi = sent_up_to(&h, hi);
    assert_int_equal(hi, S(&h, 10 + more));
    seg_run(&h, RTT);
    t.cwnd = seg_info(&h, sk).cwnd;
    sack_ack(&h, S(&h, 11), 0, NULL);
    t.flight = hi - S(&h, 11);
    t.info = seg_info(&h, sk);
    t.w_max = c->cubic.w_max;
    assert_int_equal(SEG_CTR(&h, TlpRecoveries), 1);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 0);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    seg_destroy(&h);
    return t;
}

static void established_cubic_tlp_repaired_loss_reduces_by_beta(
    void **state)
{
    (void)state;
    /* a congestion event for CUBIC (RFC 9438 4.6): ssthresh = FlightSize
     * * beta_cubic, here above the floor of half the cwnd at the probe;
     * cwnd (one SMSS grown by this ACK, in slow start) down to it, and
     * W_max = that cwnd (4.7) */
    struct tlp_run t = tlp_repair(UTCP_CC_CUBIC, 12);
    assert_int_equal(t.flight, 11 * SMSS);
    assert_int_equal(t.probe_cwnd, 11 * SMSS);
    assert_int_equal(t.info.ssthresh, t.flight * 7 / 10);
    assert_int_equal(t.info.cwnd, t.info.ssthresh);
    assert_int_equal(t.w_max, t.cwnd + SMSS);
    /* with a flight of one segment, the floor: half the probe's cwnd */
    t = tlp_repair(UTCP_CC_CUBIC, 2);
    assert_int_equal(t.flight, SMSS);
    assert_int_equal(t.info.ssthresh, t.probe_cwnd / 2);
    assert_int_equal(t.info.cwnd, t.info.ssthresh);
}

/* ---- two stacks ---- */

struct loss {
    uint64_t s;
    unsigned pm;
};

static int lossy(struct tnet *n, int from, const struct utcp_tcp *th,
                 const uint8_t *pkt, size_t len, uint64_t *extra, void *ctx)
{
    (void)n, (void)from, (void)th, (void)pkt, (void)len, (void)extra;
    struct loss *l = ctx;
    l->s = l->s * 6364136223846793005ull + 1442695040888963407ull;
    return (l->s >> 33) % 1000 < l->pm ? TNET_DROP : TNET_PASS;
}

static void two_stacks_cubic_lossy_transfer_intact(void **state)
{
    (void)state;
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 4;
    cfg.congestion_control = UTCP_CC_CUBIC;
    cfg.sndbuf = cfg.rcvbuf = 262144;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    n->delay = 20 * MS;
    utcp_sock l = tnet_listen(n, 1, 80, 4);
    utcp_sock a = tnet_connect(n, 0, 80), b;
    tnet_run_for(n, 200 * MS);
    assert_int_equal(utcp_accept(n->st[1], l, &b), 0);
    struct loss lo = {77, 20};
    n->filter = lossy;
    n->filter_ctx = &lo;
    enum { LEN = 1000000 };
    static uint8_t got[LEN];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 13 + (i >> 11));
    assert_true(tnet_transfer(n, a, b, buf, got, LEN, 120 * SEC, 0, NULL) <
                120 * SEC);
    assert_memory_equal(got, buf, LEN);
    struct utcp_counters k;
    utcp_get_counters(n->st[0], &k);
    assert_true(k.SackRecoveries >= 1);
    assert_int_equal(tnet_finish(n, a, b, l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_cubic_loss_reduces_by_beta_0_7),
        cmocka_unit_test(
            established_cubic_grows_reno_friendly_near_small_w_max),
        cmocka_unit_test(
            established_cubic_loss_below_w_max_lowers_w_max_further),
        cmocka_unit_test(
            established_cubic_spurious_loss_undone_restores_w_max),
        cmocka_unit_test(
            established_cubic_tlp_repaired_loss_reduces_by_beta),
        cmocka_unit_test(two_stacks_cubic_lossy_transfer_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
