/*
 * CUBIC (RFC 9438), selected by utcp_config.congestion_control: the
 * multiplicative decrease by beta_cubic = 0.7 (4.6), fast convergence
 * (4.7), the Reno-friendly growth of alpha_cubic = 9/17 SMSS per RTT near
 * a small W_max (4.3), and a lossy two-stack transfer that stays intact.
 * NewReno stays the default.
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
#define P0 (PISS + 1)
#define SMSS 1460u
#define RTT (30 * MS)

static uint8_t buf[1 << 20];

static uint32_t S(const struct seg_h *h, uint32_t k)
{
    return seg_our_seq(h, k, SMSS);
}

static void sack_ack(struct seg_h *h, uint32_t ack, unsigned n,
                     const uint32_t *lr)
{
    seg_send_sack(h, P0, ack, n, lr, SMSS);
}

/* ESTABLISHED with SACK, the peer's window 65535, congestion control cc,
 * `bytes` queued; the initial window goes out. */
static utcp_sock sender(struct seg_h *h, uint8_t cc, uint32_t bytes)
{
    struct utcp_config cfg = seg_default_cfg();
    cfg.congestion_control = cc;
    cfg.sndbuf = 1 << 20;
    seg_init(h, &cfg);
    h->pwin = 65535;
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_SACK_PERM;
    utcp_sock sk = seg_open_active_opts(h, PISS, RTT, &o);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 9));
    assert_int_equal(utcp_send(h->st, sk, buf, bytes), (long)bytes);
    return sk;
}

/* The end of the highest segment sent so far (consumes the captures). */
static uint32_t sent_up_to(struct seg_h *h, uint32_t prev)
{
    const struct seg_cap *c;
    while ((c = seg_take(h)) != NULL)
        if ((int32_t)(c->seq + c->len - prev) > 0)
            prev = c->seq + c->len;
    return prev;
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
    utcp_close(n->st[0], a);
    utcp_close(n->st[1], b);
    utcp_close(n->st[1], l);
    tnet_run_for(n, 300 * SEC);
    assert_int_equal(n->bad_transitions, 0);
    tnet_destroy(n);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_cubic_loss_reduces_by_beta_0_7),
        cmocka_unit_test(
            established_cubic_grows_reno_friendly_near_small_w_max),
        cmocka_unit_test(two_stacks_cubic_lossy_transfer_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
